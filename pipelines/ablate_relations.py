"""Ablation: what enforcing one type of relation changes, on fixed models.

Run:  python pipelines/ablate_relations.py --tables lending --types threshold
      python pipelines/ablate_relations.py --tables credit_card,mortgage --types threshold --fit-seeds 0,1

For each table (as in bench_real_tables.py: split 80/20 with seed 0, read as `synthkit fit`
reads a CSV) and fit seed, a default `Synthesizer("msvae")` is fitted once; then it samples
as many rows as the test split holds, for each sampling seed, twice: with every detected
relation enforced, and with the relations of `--types` left out. The XGBoost C2ST AUC of
each sample against the test split is printed. The model and the sampling seeds are the
same on both sides, so the difference is the enforcement alone, and the spread over
sampling seeds says how much of a difference is noise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_real_tables import as_read, load, split  # noqa: E402

from synthkit.evaluate.detection import c2st  # noqa: E402
from synthkit.tabular.schema import infer_schema  # noqa: E402
from synthkit.tabular.synthesizer import Synthesizer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tables", default="lending")
    ap.add_argument("--types", default="threshold", help="relation types to leave out, comma-separated")
    ap.add_argument("--fit-seeds", default="0")
    ap.add_argument("--sample-seeds", default="0,1,2")
    ap.add_argument("--threads", type=int, default=2, help="training threads (see bench_real_tables.py --threads)")
    args = ap.parse_args()
    types = set(args.types.split(","))
    for table in args.tables.split(","):
        train, test = split(as_read(load(table)), 0)
        schema = infer_schema(train)
        for fit_seed in [int(s) for s in args.fit_seeds.split(",")]:
            synth = Synthesizer("msvae", seed=fit_seed, **({"cpu_threads": args.threads} if args.threads else {})).fit(train, track=False)
            every = synth.transformer.schema.relations or []
            left = [r for r in every if r.type not in types]
            print(f"{table} fit seed {fit_seed}: {len(every) - len(left)} relation(s) of {sorted(types)} among {len(every)}")
            for label, rels in (("with", every), ("without", left)):
                synth.transformer.schema.relations = rels
                aucs = [c2st(test, synth.sample(len(test), seed=int(k)), schema, classifiers=("xgboost",), seed=0)["auc"]["xgboost"]
                        for k in args.sample_seeds.split(",")]
                print(f"  {label:8s} " + " ".join(f"{a:.3f}" for a in aucs) + f"  (mean {np.mean(aucs):.3f})", flush=True)
            synth.transformer.schema.relations = every


if __name__ == "__main__":
    main()
