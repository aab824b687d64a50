"""Privacy of a synthetic table against the training data it was fitted on.

Every figure compares the synthetic rows with the training rows *and* with a holdout
(real rows the generator never saw), because real data sit close to each other anyway:
a synthetic row near a training row only signals a leak if it is nearer than real,
unseen rows are.

* DCR share — the share of synthetic rows closer to their nearest training row than to
  their nearest holdout row (ties count half), with as many training rows as holdout
  rows (the larger set is subsampled; over several training subsets, averaged); 0.5
  means no leak, and shares up to 0.52, the bar public benchmarks set for this "DCR
  share", pass.
* Distance to closest record (DCR) and nearest-neighbour distance ratio (NNDR: nearest
  over second-nearest training distance), beside the same figures for holdout rows
  (Zhao et al., "CTAB-GAN", ACML 2021).
* Exact-copy rates — synthetic rows identical to a training or holdout row.
* Optionally anonymeter's singling-out, linkability and inference attacks (Giomi et al.,
  "A Unified Framework for Quantifying Privacy Risk in Synthetic Data", PoPETs 2023).

Distances are Euclidean on :func:`~synthkit.evaluate.encoding.distance_matrix`, scaled by
the training data.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from synthkit.errors import SynthkitError
from synthkit.evaluate.encoding import EvalColumns, distance_matrix, prepare
from synthkit.tabular.schema import Schema, infer_schema

#: Pass mark for the DCR share (0.5 = no leak; the rest leaves room for sampling noise).
DCR_SHARE_BAR = 0.52

#: Distances closer than this count as a tie: far below any real difference (1e-6 of a
#: column's range) and far above float64 rounding (about 1e-13 here).
TIE_TOLERANCE = 1e-6

#: Scores per chunk in the nearest-neighbour search (float32: 16 MB).
_CHUNK_CELLS = 1 << 22

#: When the training rows outnumber the holdout, the DCR share is averaged over up to this
#: many random training subsets of the holdout's size, as long as the searches stay within
#: _DCR_PAIRS synthetic-to-training distances in all. One subset's draw moved the share of
#: an 800-row table by a few hundredths; the mean over several does not.
DCR_SUBSETS = 10
_DCR_PAIRS = 200_000_000

#: Secret columns the inference attack tries, at most.
MAX_SECRETS = 5

#: How to install anonymeter without its numpy<1.27 pin (it runs on numpy 2).
ANONYMETER_INSTALL = (
    'pip install "numba>=0.59,<1" "polars>=1.8" "pyarrow>=10,<22" && pip install --no-deps anonymeter==1.1.0'
)


def privacy(
    train: pd.DataFrame,
    synth: pd.DataFrame,
    holdout: pd.DataFrame,
    schema: Schema | None = None,
    seed: int = 0,
    max_rows: int = 20_000,
    anonymeter: bool = True,
    anonymeter_attacks: int = 500,
) -> dict[str, Any]:
    """Distance-based privacy figures of `synth` against `train`, with `holdout` as reference.

    Each table is capped at `max_rows` rows by seeded subsampling. The DCR share further
    subsamples the larger of train and holdout to the smaller's size, since a larger
    candidate set alone brings rows closer. Returns a JSON-ready dict; see the module
    docstring for the definitions. The schema is inferred from `train` unless given.
    """
    if max_rows < 2:
        raise SynthkitError(f"max_rows must be at least 2, got {max_rows}")
    if anonymeter_attacks < 1:
        raise SynthkitError(f"anonymeter_attacks must be at least 1, got {anonymeter_attacks}")
    for name, df in (("training", train), ("synthetic", synth), ("holdout", holdout)):
        if not isinstance(df, pd.DataFrame):
            raise SynthkitError(f"the {name} data must be a pandas DataFrame, got {type(df).__name__}")
        if len(df) < 2:
            raise SynthkitError(f"the {name} data needs at least 2 rows, got {len(df)}")
    schema = schema or infer_schema(train)
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    capped = []
    for name, df in (("training", train), ("synthetic", synth), ("holdout", holdout)):
        if len(df) > max_rows:
            notes.append(f"{name} data subsampled from {len(df)} to {max_rows} rows (max_rows)")
            df = df.iloc[_subsample(rng, len(df), max_rows)]
        capped.append(df)
    _, cols, frames = prepare(*capped, schema=schema)
    tr, sy, ho = distance_matrix(frames, cols)

    d_sy = _nearest(tr, sy, k=2)
    d_ho = _nearest(tr, ho, k=2)
    share, n_share = _dcr_share(tr, sy, ho, d_sy[:, 0], rng, notes)

    hash_tr, hash_sy, hash_ho = (_row_hashes(f, cols) for f in frames)
    result: dict[str, Any] = {
        "rows_used": {"train": len(tr), "synthetic": len(sy), "holdout": len(ho)},
        "dcr_share": share,
        "dcr_share_ok": bool(share <= DCR_SHARE_BAR),
        "dcr_share_rows": n_share,
        "dcr": {
            "synthetic_p5": float(np.percentile(d_sy[:, 0], 5)),
            "synthetic_median": float(np.median(d_sy[:, 0])),
            "holdout_p5": float(np.percentile(d_ho[:, 0], 5)),
            "holdout_median": float(np.median(d_ho[:, 0])),
        },
        "nndr": {
            "synthetic_mean": float(_nndr(d_sy).mean()),
            "synthetic_p5": float(np.percentile(_nndr(d_sy), 5)),
            "holdout_mean": float(_nndr(d_ho).mean()),
            "holdout_p5": float(np.percentile(_nndr(d_ho), 5)),
        },
        "exact_copy_rate_train": float(np.isin(hash_sy, hash_tr).mean()),
        "exact_copy_rate_holdout": float(np.isin(hash_sy, hash_ho).mean()),
        "exact_copy_rate_reference": float(np.isin(hash_ho, hash_tr).mean()),
        "notes": notes,
    }
    if anonymeter:
        result["anonymeter"] = _anonymeter(frames, cols, seed, anonymeter_attacks)
    else:
        result["anonymeter"] = {"available": False, "reason": "not requested (anonymeter=False)"}
    return result


def _subsample(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """`size` of `n` row positions, drawn without replacement, in table order."""
    return np.sort(rng.choice(n, size=size, replace=False))


def _nearest(reference: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    """Distances from each query row to its `k` nearest reference rows, ascending.

    Brute force, since trees do not help in ~100 dimensions: one float32 matrix product
    per chunk of queries ranks the reference rows by ‖r‖² − 2q·r (the query's own norm
    does not change the ranking), which took about 1.7x less CPU time than scikit-learn's
    NearestNeighbors (float64 products) here. The float32 ranking is off by ~1e-6 in
    squared distance, so k + 1 candidates are kept and their distances recomputed in
    float64 from the differences: an exact copy is exactly 0.
    """
    # Centring on the reference mean keeps the norms, hence the float32 rounding, small.
    mu = reference.mean(axis=0, dtype=np.float64)
    ref = reference - mu
    # ‖r‖² rides along as an extra column against a column of ones: the product alone
    # gives −2q·r + ‖r‖², with no pass over the chunk to add it.
    ref_aug = np.hstack([ref, np.einsum("ij,ij->i", ref, ref)[:, None]]).astype(np.float32).T.copy()
    query_aug = np.hstack([-2.0 * (query - mu), np.ones((len(query), 1))]).astype(np.float32)
    n_candidates = min(k + 1, len(reference))
    candidates = np.empty((len(query), n_candidates), dtype=np.int64)
    # About 16 MB of scores per chunk, whatever the reference size.
    step = max(1, _CHUNK_CELLS // len(reference))
    for start in range(0, len(query), step):
        scores = query_aug[start : start + step] @ ref_aug
        rows = np.arange(len(scores))
        for j in range(n_candidates):
            best = scores.argmin(axis=1)
            candidates[start : start + step, j] = best
            scores[rows, best] = np.inf
    diff = query[:, None, :].astype(np.float64) - reference[candidates].astype(np.float64)
    return np.sort(np.sqrt(np.einsum("ijk,ijk->ij", diff, diff)), axis=1)[:, :k]


def _dcr_share(
    tr: np.ndarray,
    sy: np.ndarray,
    ho: np.ndarray,
    d_sy_tr: np.ndarray,
    rng: np.random.Generator,
    notes: list[str],
) -> tuple[float, int]:
    """Share of synthetic rows nearer a training than a holdout row (ties half), on equal
    numbers of training and holdout rows; returns the share and that number."""
    n = min(len(tr), len(ho))
    if len(ho) > n:
        notes.append(f"DCR share: holdout rows subsampled from {len(ho)} to {n} to match the training data")
        ho = ho[_subsample(rng, len(ho), n)]
    d_sy_ho = _nearest(ho, sy, k=1)[:, 0]

    def share(d_sy_tr: np.ndarray) -> float:
        tie = np.abs(d_sy_tr - d_sy_ho) <= TIE_TOLERANCE
        return float(((d_sy_tr < d_sy_ho) & ~tie).mean() + 0.5 * tie.mean())

    if len(tr) == n:
        return share(d_sy_tr), n
    subsets = int(np.clip(_DCR_PAIRS // (n * len(sy)), 1, DCR_SUBSETS))
    notes.append(
        f"DCR share: training rows subsampled from {len(tr)} to {n} to match the holdout "
        f"(mean over {subsets} random subset{'s' if subsets > 1 else ''})"
    )
    return float(np.mean([share(_nearest(tr[_subsample(rng, len(tr), n)], sy, k=1)[:, 0]) for _ in range(subsets)])), n


def _nndr(d: np.ndarray) -> np.ndarray:
    """Nearest over second-nearest distance; 0 where both are 0 (the row sits on
    duplicated real rows, as close to them as it can be)."""
    second = d[:, 1]
    return np.divide(d[:, 0], second, out=np.zeros(len(d)), where=second > 0)


def _row_hashes(frame: pd.DataFrame, cols: EvalColumns) -> np.ndarray:
    """One 64-bit hash per row of a prepared frame over the evaluated columns."""
    parts = {}
    for name in cols.numeric:
        v = frame[name]
        # NaN payloads and −0.0 differ bitwise from the values they equal: hash a
        # missing flag and the value with both normalised instead.
        parts[f"{name}\0missing"] = v.isna()
        parts[name] = v.fillna(0.0) + 0.0
    for name in cols.categorical:
        parts[name] = frame[name]
    return pd.util.hash_pandas_object(pd.DataFrame(parts), index=False).to_numpy()


@contextmanager
def _seeded_global_rng(seed: int) -> Iterator[None]:
    """Seed numpy's global generator for the block and restore it afterwards: anonymeter
    draws its attack targets with ``DataFrame.sample`` and no seed of its own."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def _anonymeter(frames: list[pd.DataFrame], cols: EvalColumns, seed: int, n_attacks: int) -> dict[str, Any]:
    """anonymeter's three attacks on the prepared tables: the training data as the target,
    the holdout as the control, so each risk is the attack's success beyond what it
    achieves on unseen real rows (0 = no leak, 1 = every attack succeeds)."""
    try:
        from importlib.metadata import version

        from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator
    except Exception as e:  # noqa: BLE001 - an optional binary stack (numba, polars, pyarrow) fails in many ways
        return {
            "available": False,
            "reason": f"anonymeter is not importable ({type(e).__name__}: {e}); install it with: {ANONYMETER_INSTALL}",
        }
    train, synth, holdout = frames
    # Each attack samples its targets without replacement from every table.
    n = min(n_attacks, len(train), len(synth), len(holdout))
    out: dict[str, Any] = {"available": True, "version": version("anonymeter"), "n_attacks": n}
    with warnings.catch_warnings(record=True) as caught, _seeded_global_rng(seed):
        warnings.simplefilter("always")
        singling = SinglingOutEvaluator(ori=train, syn=synth, control=holdout, n_attacks=n, seed=seed)
        out["singling_out"] = _risk(singling.evaluate(mode="univariate"))
        if len(cols.all) < 2:
            reason = "needs at least 2 evaluated columns"
            out["linkability"] = {"available": False, "reason": reason}
            out["inference"] = {"available": False, "reason": reason}
        else:
            half = len(cols.all) // 2
            aux = (cols.all[:half], cols.all[half:])
            linkability = LinkabilityEvaluator(ori=train, syn=synth, control=holdout, aux_cols=aux, n_attacks=n)
            out["linkability"] = {**_risk(linkability.evaluate(n_jobs=-1)), "aux_columns": [aux[0], aux[1]]}
            out["inference"] = {}
            for secret in _secrets(cols):
                inference = InferenceEvaluator(
                    ori=train,
                    syn=synth,
                    control=holdout,
                    aux_cols=[c for c in cols.all if c != secret],
                    secret=secret,
                    # Numeric secrets count as guessed within anonymeter's 5 % tolerance.
                    regression=secret in cols.numeric,
                    n_attacks=n,
                )
                out["inference"][secret] = _risk(inference.evaluate(n_jobs=-1))
    # anonymeter warns when an attack does no better than guessing: keep that with the figures.
    out["warnings"] = sorted({str(w.message) for w in caught})
    out["note"] = (
        "anonymeter 1.1 draws the linkability baseline (random guessing) from an unseeded "
        "generator: that baseline rate can vary between runs; the risks do not depend on it"
    )
    return out


def _secrets(cols: EvalColumns) -> list[str]:
    """Up to MAX_SECRETS columns spread evenly over the numeric then categorical ones."""
    names = cols.all
    # Steps of at least one column, so no column is picked twice.
    picks = np.linspace(0, len(names) - 1, min(MAX_SECRETS, len(names))).round().astype(int)
    return [names[i] for i in picks]


def _risk(evaluator: Any) -> dict[str, Any]:
    """Risk with its 95 % interval and the success rates behind it."""
    risk = evaluator.risk()
    results = evaluator.results()
    return {
        "risk": float(risk.value),
        "risk_ci": [float(risk.ci[0]), float(risk.ci[1])],
        "attack_rate": float(results.attack_rate.value),
        "baseline_rate": float(results.baseline_rate.value),
        "control_rate": float(results.control_rate.value),
    }
