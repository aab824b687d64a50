"""One call that runs every evaluation, and the JSON + self-contained HTML report.

    from synthkit.evaluate import evaluate
    ev = evaluate(train, synthetic, holdout, target="default_flag")
    ev.write("report/")        # report.json and report.html (plots embedded, no URLs)

Following paper 001 §6.3, fidelity and detection are reported against the training data
(what the model saw) and, when a holdout is given, against it too (the paper's "Train" and
"Test" columns of Tables 1–2); C2ST follows the paper's five steps with the holdout as
D_test. Utility needs a holdout and a target column; privacy needs a holdout. Per-column and
per-pair detectors (:func:`~synthkit.evaluate.detection.column_detectability`,
:func:`~synthkit.evaluate.detection.pair_detectability`) say which columns and which
relations between columns give the synthetic table away.
"""

from __future__ import annotations

import base64
import html
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthkit.errors import SynthkitError
from synthkit.evaluate.detection import ALL_PAIRS_UP_TO, c2st, column_detectability, pair_candidates, pair_detectability
from synthkit.evaluate.encoding import prepare
from synthkit.evaluate.fidelity import fidelity
from synthkit.evaluate.plots import association_plot, column_plot, detectability_plot
from synthkit.evaluate.privacy import DCR_SHARE_BAR, privacy
from synthkit.evaluate.utility import tstr
from synthkit.tabular.io import write_text
from synthkit.tabular.schema import Schema, infer_schema


@dataclass
class Evaluation:
    """JSON-ready results, the plots (PNG bytes) and how long each part took."""

    results: dict[str, Any]
    figures: dict[str, bytes] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        """The results and timings as indented JSON."""
        return json.dumps({**self.results, "timings_s": self.timings}, indent=2, default=_json_default)

    def write(self, folder: str | Path, title: str = "synthkit evaluation") -> Path:
        """Write report.json and report.html (self-contained) into `folder`."""
        out = Path(folder)
        if out.exists() and not out.is_dir():
            raise SynthkitError(f"{out}: exists and is not a folder")
        out.mkdir(parents=True, exist_ok=True)
        write_text(self.to_json() + "\n", out / "report.json")
        write_text(render_html(self, title), out / "report.html")
        return out


def evaluate(
    train: pd.DataFrame,
    synthetic: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    *,
    target: str | None = None,
    schema: Schema | None = None,
    seed: int = 0,
    anonymeter: bool = True,
    anonymeter_attacks: int = 500,
    plots: bool = True,
    detectability: bool = True,
    on_step: Any = None,
) -> Evaluation:
    """Fidelity, detection (C2ST), utility (TSTR) and privacy of `synthetic`.

    With `detectability` (the default), the detection results of the holdout (else of the
    training rows) also hold ``"columns"``, the per-column detectors'
    :func:`~synthkit.evaluate.detection.column_detectability` rows, and ``"pairs"``, the
    :func:`~synthkit.evaluate.detection.pair_detectability` rows: which columns, and which
    relations between two columns, give the synthetic table away.

    `on_step(name)` (optional) is called before each part, for progress display.
    """
    if target is not None and holdout is None:
        raise SynthkitError("--target needs --holdout: utility is measured on real rows the model never saw")
    schema = schema or infer_schema(train)
    # Checks columns once, up front: a missing column fails before any slow step.
    _, cols, _ = prepare(train, synthetic, *([holdout] if holdout is not None else []), schema=schema)
    step = on_step or (lambda _name: None)
    timings: dict[str, float] = {}
    results: dict[str, Any] = {
        "rows": {"train": len(train), "synthetic": len(synthetic), "holdout": None if holdout is None else len(holdout)},
        "columns": {"numeric": cols.numeric, "categorical": cols.categorical},
        "seed": seed,
    }

    def timed(name: str, fn: Any) -> Any:
        step(name)
        t0 = time.perf_counter()
        value = fn()
        timings[name] = time.perf_counter() - t0
        return value

    fid_train = timed("fidelity", lambda: fidelity(train, synthetic, schema))
    assoc = (fid_train.pop("assoc_real"), fid_train.pop("assoc_synth"))
    results["fidelity"] = {"train": fid_train}
    if holdout is not None:
        fid_test = timed("fidelity (holdout)", lambda: fidelity(holdout, synthetic, schema))
        fid_test.pop("assoc_real"), fid_test.pop("assoc_synth")
        results["fidelity"]["holdout"] = fid_test

    detection = {}
    if holdout is not None:
        detection["holdout"] = timed("detection", lambda: c2st(holdout, synthetic, schema, seed=seed))
    detection["train"] = timed("detection (train)", lambda: c2st(train, synthetic, schema, seed=seed))
    if detectability:
        # Against the rows of the headline C2ST only: the holdout (the paper's protocol), else
        # the training rows. Inside that split's results, so that results["detection"] keeps
        # one entry per split.
        real = holdout if holdout is not None else train
        det = detection["holdout" if holdout is not None else "train"]
        det["columns"] = timed("detection per column", lambda: column_detectability(real, synthetic, schema, seed=seed))
        # The C2ST's XGBoost detector just ran on these rows: its top columns are the
        # candidates' multivariate half, rather than a second fit inside pair_detectability.
        candidates = (None if len(cols.all) <= ALL_PAIRS_UP_TO
                      else pair_candidates(det["columns"], det.get("top_features")))
        det["pairs"] = timed("detection per pair", lambda: pair_detectability(
            real, synthetic, schema, seed=seed, candidates=candidates, univariate=det["columns"]))
    results["detection"] = detection

    if target is not None and holdout is not None:
        results["utility"] = timed("utility", lambda: tstr(train, synthetic, holdout, target, schema, seed=seed))
    if holdout is not None:
        results["privacy"] = timed(
            "privacy",
            lambda: privacy(train, synthetic, holdout, schema, seed=seed, anonymeter=anonymeter,
                            anonymeter_attacks=anonymeter_attacks),
        )

    figures: dict[str, bytes] = {}
    if plots:
        def draw() -> None:
            _, _, (r, s) = prepare(train, synthetic, schema=schema)
            numeric = set(cols.numeric)
            for name in cols.all:
                figures[f"column:{name}"] = column_plot(r[name], s[name], numeric=name in numeric)
            figures["associations"] = association_plot(*assoc)
            diagnosed = [d for d in results["detection"].values() if d.get("columns")]
            if diagnosed:
                figures["detectability"] = detectability_plot(diagnosed[0]["columns"], threshold=COLUMN_AUC_FLAG)

        timed("plots", draw)
    return Evaluation(results=results, figures=figures, timings=timings)


# ---------------------------------------------------------------------------------------
# Reading the figures
# ---------------------------------------------------------------------------------------


#: A per-column detector AUC above this is flagged in the report: the column alone gives the
#: synthetic rows away (two tables of 2,000 identical-distribution rows score 0.5 ± 0.03).
COLUMN_AUC_FLAG = 0.60
#: A pair's lift over its better column above this is flagged: a broken relation. On tables
#: of 2,000 rows a pair detector's AUC varies by about ±0.02 from noise alone.
PAIR_LIFT_FLAG = 0.05


def _diagnosis(r: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(split, detection results) of the split holding the per-column diagnosis, if any."""
    for split, det in r["detection"].items():
        if det.get("columns"):
            return split, det
    return None


def auc_reading(auc: float) -> str:
    """Plain words for a C2ST AUC (0.5: indistinguishable)."""
    if auc < 0.55:
        return "indistinguishable"
    if auc < 0.65:
        return "hard to tell apart"
    if auc < 0.75:
        return "distinguishable with effort"
    if auc < 0.9:
        return "readily distinguished"
    return "easily distinguished"


def headline(ev: Evaluation) -> list[tuple[str, str, str]]:
    """The figures a reader looks at first: (measure, value, what it means)."""
    r = ev.results
    rows: list[tuple[str, str, str]] = []
    fid = r["fidelity"]
    for split in ("train", "holdout"):
        if split in fid:
            f = fid[split]
            rows.append((f"mean JSD vs {split}", f"{f['jsd_mean']:.3f}", "0 = identical column distributions, 1 = disjoint"))
            rows.append((f"correlation difference vs {split}", f"{f['cd']:.3f}", "Frobenius norm of the association-matrix difference; 0 = same relationships"))
    sdm = fid["train"].get("sdmetrics", {})
    if sdm.get("score") is not None:
        rows.append(("SDMetrics quality score", f"{sdm['score']:.3f}", "SDMetrics' single-table score, 1 = best"))
    for split, det in r["detection"].items():
        for clf, auc in det["auc"].items():
            rows.append((f"C2ST AUC ({clf.replace('_', ' ')}, vs {split})", f"{auc:.3f}", auc_reading(auc)))
    diagnosis = _diagnosis(r)
    if diagnosis is not None:
        split, det = diagnosis
        c = det["columns"][0]
        rows.append((f"most detectable column (vs {split})", f"{c['column']}: AUC {c['auc']:.3f}",
                     f"a detector on this column alone; 0.5 = its distribution matches the real one, {auc_reading(c['auc'])}"))
        if det.get("pairs"):
            p = det["pairs"][0]
            reading = (f"above {PAIR_LIFT_FLAG:.2f}: the relation between the two is broken" if p["lift"] > PAIR_LIFT_FLAG
                       else f"at most {PAIR_LIFT_FLAG:.2f}: no broken relation between two columns stands out")
            rows.append((f"most detectable pair (vs {split})", f"{p['columns'][0]} + {p['columns'][1]}: AUC {p['auc']:.3f}",
                         f"lift {p['lift']:+.3f} over the better of the two alone; {reading}"))
    if "utility" in r:
        u = r["utility"]
        ratio = "n/a" if u["ratio"] is None else f"{u['ratio']:.2f}"
        rows.append((f"utility: {u['metric']} for {u['target']!r}", f"real {u['real']:.3f} / synthetic {u['synthetic']:.3f}",
                     f"ratio {ratio}: a model trained on synthetic rows, tested on real holdout rows"))
    if "privacy" in r:
        p = r["privacy"]
        verdict = "within" if p["dcr_share_ok"] else "ABOVE"
        rows.append(("DCR share", f"{p['dcr_share']:.3f}",
                     f"share of synthetic rows closer to a training row than to a holdout row; 0.5 = no leak, {verdict} the {DCR_SHARE_BAR} bar"))
        rows.append(("exact copies of training rows", f"{p['exact_copy_rate_train']:.2%}",
                     f"holdout rows that also occur in training: {p['exact_copy_rate_reference']:.2%} (reference)"))
    return rows


# ---------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top;font-size:.92em}
th{background:#f3f5f8}td.num{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#666;font-size:.9em}
.grid{display:flex;flex-wrap:wrap;gap:8px}.grid img{width:330px;border:1px solid #eee}img.wide{max-width:100%}
.bad{color:#a40000;font-weight:600}.ok{color:#176117;font-weight:600}
@media print{.grid img{width:45%}h2{page-break-after:avoid}}
"""


def _table(header: list[str], rows: list[list[str]], numeric_cols: tuple[int, ...] = ()) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(
            f"<td class='num'>{html.escape(c)}</td>" if i in numeric_cols else f"<td>{html.escape(c)}</td>"
            for i, c in enumerate(row)
        ) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(png: bytes, alt: str, css: str = "") -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<img class='{css}' alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"


def render_html(ev: Evaluation, title: str = "synthkit evaluation") -> str:
    """A self-contained HTML page: headline figures, details, plots (embedded PNGs)."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_CSS}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{render_sections(ev)}"
        "<p class='muted'>Generated by synthkit. Definitions: docs/evaluation.md.</p></body></html>"
    )


def render_sections(ev: Evaluation, level: int = 2, titles: dict[str, str] | None = None) -> str:
    """The evaluation's sections as HTML, headed at `level` (``<h2>`` by default), for a page
    of their own (:func:`render_html`) or inside another report; `titles` renames sections
    (e.g. {"Summary": "Headline figures"}). Styles: the page's CSS (``_CSS``)."""
    titles = titles or {}

    def h(text: str) -> str:
        return f"<h{level}>{html.escape(titles.get(text, text))}</h{level}>"

    r = ev.results
    parts = []
    rows = r["rows"]
    parts.append(
        f"<p class='muted'>{rows['train']:,} training rows, {rows['synthetic']:,} synthetic rows"
        + (f", {rows['holdout']:,} holdout rows" if rows["holdout"] else ", no holdout")
        + f"; {len(r['columns']['numeric'])} numeric and {len(r['columns']['categorical'])} categorical columns compared; seed {r['seed']}.</p>"
    )
    parts.append(h("Summary"))
    parts.append(_table(["measure", "value", "what it means"], [list(x) for x in headline(ev)], (1,)))

    parts.append(h("Fidelity per column (paper §6.3.1)") + "<p class='muted'>Jensen–Shannon divergence, log base 2. "
                 "Numeric columns: 20 equal-width bins over the real column's range, synthetic values outside it in the edge bins, "
                 "missing values a bin of their own. Categorical columns: category frequencies.</p>")
    fid = r["fidelity"]
    splits = [s for s in ("train", "holdout") if s in fid]
    jsd_rows = sorted(fid["train"]["jsd"], key=lambda c: -fid["train"]["jsd"][c])
    parts.append(_table(["column"] + [f"JSD vs {s}" for s in splits],
                        [[c] + [f"{fid[s]['jsd'][c]:.4f}" for s in splits] for c in jsd_rows], tuple(range(1, 1 + len(splits)))))

    parts.append(h("Detection: classifier two-sample test (paper §6.3.2)") + "<p class='muted'>Real rows labelled 1, "
                 "synthetic rows 0, split 70/30; AUC on the held-out 30 %. 0.5 means a classifier cannot tell them apart.</p>")
    for split, det in r["detection"].items():
        parts.append(f"<p>Against the {html.escape(split)} rows ({det['n_real']:,} real, {det['n_synthetic']:,} synthetic):</p>")
        parts.append(_table(["classifier", "AUC", "reading"],
                            [[k.replace("_", " "), f"{v:.3f}", auc_reading(v)] for k, v in det["auc"].items()], (1,)))
        if det.get("top_features"):
            parts.append("<p>What the XGBoost detector relies on most (share of its total gain) — the columns to look at first:</p>")
            parts.append(_table(["column", "importance"],
                                [[f["column"], f"{f['importance']:.1%}"] for f in det["top_features"]], (1,)))

    diagnosis = _diagnosis(r)
    if diagnosis is not None:
        parts.append(_detectability_html(*diagnosis, ev.figures.get("detectability"), h))

    if "utility" in r:
        u = r["utility"]
        parts.append(h("Utility: train on synthetic, test on real"))
        parts.append(_table(["target", "task", "metric", "trained on real", "trained on synthetic", "ratio"],
                            [[u["target"], u["task"], u["metric"], f"{u['real']:.4f}", f"{u['synthetic']:.4f}",
                              "n/a" if u["ratio"] is None else f"{u['ratio']:.3f}"]], (3, 4, 5)))
        parts.append(f"<p class='muted'>Secondary metric ({html.escape(u['secondary_metric'])}): real "
                     f"{u['secondary']['real']:.4f}, synthetic {u['secondary']['synthetic']:.4f}. XGBoost in both cases, tested on the holdout.</p>")

    if "privacy" in r:
        parts.append(_privacy_html(r["privacy"], h))

    if ev.figures:
        parts.append(h("Real against synthetic, column by column") + "<p class='muted'>Blue: real training data; orange: synthetic.</p><div class='grid'>")
        parts.extend(_img(png, name.split(":", 1)[1]) for name, png in ev.figures.items() if name.startswith("column:"))
        parts.append("</div>")
        if "associations" in ev.figures:
            parts.append(h("Associations") + _img(ev.figures["associations"], "association matrices", "wide"))
    parts.append(h("How this was computed"))
    parts.append(_table(["part", "seconds"], [[k, f"{v:.1f}"] for k, v in ev.timings.items()], (1,)))
    return "".join(parts)


def _detectability_html(split: str, det: dict[str, Any], png: bytes | None, h: Callable[[str], str],
                        n_pairs: int = 10) -> str:
    out = [h("Which columns give the table away"),
           f"<p class='muted'>The same test on one column at a time: an XGBoost detector (100 trees of depth 3) sees only "
           f"that column, on the {html.escape(split)} rows and split of the C2ST above. 0.5: the column's distribution "
           f"cannot be told from the real one; above {COLUMN_AUC_FLAG:.2f} (flagged) the column alone gives the synthetic "
           "rows away — fix it first.</p>"]
    if png is not None:
        out.append(_img(png, "per-column detector AUCs", "wide"))
    out.append(_table(["column", "kind", "AUC", "reading", "flag"],
                      [[c["column"], c["kind"], f"{c['auc']:.3f}", auc_reading(c["auc"]),
                        f"above {COLUMN_AUC_FLAG:.2f}" if c["auc"] > COLUMN_AUC_FLAG else ""] for c in det["columns"]], (2,)))
    pairs = det.get("pairs") or []
    if pairs:
        alone = {c["column"]: c["auc"] for c in det["columns"]}
        out.append("<p>Pairs of columns: a detector on two columns, and its lift over the better of the two alone. A pair "
                   "with a high lift is a relation the synthetic data break although each column looks right on its own "
                   f"(e.g. a total that no longer equals its parts); flagged above {PAIR_LIFT_FLAG:.2f}, below which it is "
                   f"noise. Top {min(n_pairs, len(pairs))} of {len(pairs)} pairs tried (every pair up to {ALL_PAIRS_UP_TO} "
                   "columns, else pairs among the columns the XGBoost detector above gains most from and the most "
                   "detectable columns):</p>")
        out.append(_table(["columns", "pair AUC", "first alone", "second alone", "lift", "flag"],
                          [[f"{a} + {b}", f"{p['auc']:.3f}", _auc_text(alone.get(a)), _auc_text(alone.get(b)), f"{p['lift']:+.3f}",
                            f"above {PAIR_LIFT_FLAG:.2f}" if p["lift"] > PAIR_LIFT_FLAG else ""]
                           for p in pairs[:n_pairs] for a, b in [p["columns"]]], (1, 2, 3, 4)))
    return "".join(out)


def _auc_text(auc: float | None) -> str:
    return "n/a" if auc is None else f"{auc:.3f}"


def _privacy_html(p: dict[str, Any], h: Callable[[str], str]) -> str:
    ok = "<span class='ok'>within</span>" if p["dcr_share_ok"] else "<span class='bad'>above</span>"
    out = [h("Privacy"),
           f"<p>DCR share {p['dcr_share']:.3f} ({ok} the {DCR_SHARE_BAR} bar): the share of synthetic rows lying closer to a "
           "training row than to a holdout row (equal numbers of each). 0.5 means the synthetic rows are no closer to the "
           "rows the model saw than to rows it never saw.</p>"]
    d, n = p["dcr"], p["nndr"]
    out.append(_table(
        ["figure", "synthetic → train", "holdout → train (reference)"],
        [["distance to closest record, 5th percentile", f"{d['synthetic_p5']:.4f}", f"{d['holdout_p5']:.4f}"],
         ["distance to closest record, median", f"{d['synthetic_median']:.4f}", f"{d['holdout_median']:.4f}"],
         ["nearest-neighbour distance ratio, mean", f"{n['synthetic_mean']:.3f}", f"{n['holdout_mean']:.3f}"],
         ["nearest-neighbour distance ratio, 5th percentile", f"{n['synthetic_p5']:.3f}", f"{n['holdout_p5']:.3f}"],
         ["exact copies of a training row", f"{p['exact_copy_rate_train']:.2%}", f"{p['exact_copy_rate_reference']:.2%}"]],
        (1, 2)))
    out.append(f"<p class='muted'>Exact copies of a holdout row: {p['exact_copy_rate_holdout']:.2%}. "
               + " ".join(html.escape(x) for x in p.get("notes", [])) + "</p>")
    a = p.get("anonymeter", {})
    if a.get("available"):
        rows = []
        for attack in ("singling_out", "linkability"):
            if attack in a:
                x = a[attack]
                rows.append([attack.replace("_", "-"), f"{x['risk']:.3f}", f"[{x['risk_ci'][0]:.3f}, {x['risk_ci'][1]:.3f}]",
                             f"{x['attack_rate']:.3f}"])
        for secret, x in a.get("inference", {}).items():
            rows.append([f"inference of {secret}", f"{x['risk']:.3f}", f"[{x['risk_ci'][0]:.3f}, {x['risk_ci'][1]:.3f}]",
                         f"{x['attack_rate']:.3f}"])
        out.append(f"<p>anonymeter {html.escape(str(a.get('version', '')))} risks ({a.get('n_attacks')} attacks; 0 = no risk "
                   "beyond what the holdout control allows):</p>")
        out.append(_table(["attack", "risk", "95% interval", "attack success rate"], rows, (1, 3)))
    else:
        out.append(f"<p class='muted'>anonymeter risks not computed: {html.escape(str(a.get('reason', 'not requested')))}</p>")
    return "".join(out)


def _json_default(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, pd.DataFrame):
        return o.to_dict()
    return str(o)
