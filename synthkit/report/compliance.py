"""Build the compliance report of a fitted model: model card, evaluation, interpretability.

    from synthkit.report import build_report
    rep = build_report(synth, train_df, holdout=test_df, target="Balance", model_path="model/")
    rep.write("report.html")          # self-contained HTML (plots embedded, no URLs)
    rep.write_pdf("report.pdf")       # the same page printed by headless Chromium

The evaluation is :func:`synthkit.evaluate.evaluate` on as many synthetic rows as the data
have, drawn with the model's own seed, so the report is reproducible from the model folder
and the data alone. The interpretability part is :func:`synthkit.explain.explain` (latent ↔
feature correlations, mutual information, perturbations, MS-VAE's M1–M4 checks and, with
ground-truth factors, disentanglement scores).

Without data (``data=None`` in :func:`builtin_credit_data`, no DATA on the command line) a
model fitted on the built-in simulated credit data is reported on regenerated simulated
rows, their ground-truth factors and a fresh simulated holdout.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from synthkit.errors import SynthkitError
from synthkit.evaluate.privacy import DCR_SHARE_BAR
from synthkit.evaluate.report import Evaluation, auc_reading, evaluate
from synthkit.tabular.schema import describe_schema
from synthkit.tabular.synthesizer import Synthesizer, fingerprint

#: Seed of the simulated holdout generated for reports on the built-in credit data: rows
#: drawn from the same generator as the training rows (seed 0), never seen by the model.
BUILTIN_HOLDOUT_SEED = 10_001

#: A latent correlated with a feature at |r| at least this strongly is "significant"
#: (paper 001 §7.1, Table 3).
SIGNIFICANT_R = 0.75

#: The word shown for each verdict status.
MARKS = {"ok": "OK", "warn": "CHECK", "bad": "FAIL", "info": "NOTE"}

METHOD_NAMES = {"msvae": "MS-VAE", "betatcvae": "β-TCVAE", "tvae": "TVAE"}
CLASSIFIER_NAMES = {"logistic_regression": "logistic-regression", "random_forest": "random-forest", "xgboost": "XGBoost"}
METRIC_NAMES = {"r2": "R²", "roc_auc": "ROC AUC", "roc_auc_ovr_macro": "macro ROC AUC"}

METHOD_LABELS = {
    "msvae": "MS-VAE: a disentangled β-TCVAE (stage one, latents C) followed by a conditional VAE that adds "
    "the missing detail through AdaIN (stage two, latents Z) — paper 001 §3.2",
    "betatcvae": "β-TCVAE: a VAE whose total-correlation penalty pushes its latents C towards independent "
    "factors (MS-VAE's stage one alone)",
    "tvae": "TVAE (Xu et al. 2019): a plain VAE on mode-specific normalization; its latents are not "
    "encouraged to be disentangled",
}


@dataclass
class ReportInputs:
    """The tables a report is computed on, checked against the model."""

    data: pd.DataFrame
    holdout: pd.DataFrame | None = None
    factors: pd.DataFrame | None = None
    #: Where the data came from, in words (a file name, or the built-in simulator).
    data_label: str = "the data given"
    holdout_label: str | None = None
    factors_label: str | None = None
    #: The built-in simulated credit data (regenerated, not read from a file).
    builtin: bool = False
    #: Files the tables were read from ("data", "holdout", "factors"), for the command that
    #: reproduces the report.
    paths: dict[str, str] = field(default_factory=dict)
    #: Things the reader should know about the inputs (shown in the summary).
    notes: list[str] = field(default_factory=list)


@dataclass
class ComplianceReport:
    """Everything the report shows; :meth:`html` renders it, :meth:`write` saves it."""

    model_card: dict[str, Any]
    evaluation: Evaluation
    explanation: Any = None
    #: Why there is no interpretability section, when there is none.
    explain_error: str | None = None
    verdicts: list[dict[str, str]] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    generated: str = ""
    title: str = "synthkit compliance report"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready content (figures left out)."""
        ex = None
        if self.explanation is not None and hasattr(self.explanation, "to_dict"):
            ex = self.explanation.to_dict()
        return {
            "title": self.title,
            "generated": self.generated,
            "verdicts": self.verdicts,
            "model_card": self.model_card,
            "inputs": self.inputs,
            "evaluation": json.loads(self.evaluation.to_json()),
            "explanation": ex,
            "explain_error": self.explain_error,
            "timings_s": self.timings,
        }

    def html(self) -> str:
        """The self-contained HTML page."""
        from synthkit.report.html import render_report

        return render_report(self)

    def write(self, path: str | Path) -> Path:
        """Write the HTML page to `path` atomically (no half-written file on failure)."""
        from synthkit.tabular.io import write_text

        write_text(self.html(), path)
        return Path(path)

    def write_pdf(self, path: str | Path, chromium: str | None = None) -> Path:
        """Print the page to PDF with headless Chromium (see :mod:`synthkit.report.pdf`)."""
        from synthkit.report.pdf import html_to_pdf

        return html_to_pdf(self.html(), path, chromium=chromium)


# ---------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------


def check_columns(df: pd.DataFrame, synth: Synthesizer, label: str) -> pd.DataFrame:
    """`df` with the model's columns in the model's order; a one-line error when they differ."""
    assert synth.schema is not None
    expected = synth.schema.names
    missing = [c for c in expected if c not in df.columns]
    extra = [c for c in df.columns if c not in expected]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise SynthkitError(
            f"{label}: has no column {missing[0]!r}{more}, which the model was trained on — "
            "give the table the model was fitted on (or one with the same columns)"
        )
    if extra:
        more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
        raise SynthkitError(f"{label}: column {extra[0]!r}{more} is not one the model was trained on")
    return df[expected]


def check_factors(factors: pd.DataFrame, n_rows: int, label: str) -> pd.DataFrame:
    """Ground-truth factors: one numeric row per data row."""
    if len(factors) != n_rows:
        raise SynthkitError(f"{label}: has {len(factors):,} rows but the data have {n_rows:,}; factors must be row-aligned")
    bad = [c for c in factors.columns if not pd.api.types.is_numeric_dtype(factors[c])]
    if bad:
        raise SynthkitError(f"{label}: factor {bad[0]!r} is not numeric")
    return factors


def builtin_credit_data(synth: Synthesizer, holdout_rows: int | None = None) -> ReportInputs:
    """The built-in simulated credit data for a model fitted on them.

    The training rows are regenerated with seed 0 and the model's training row count (what
    ``synthkit fit`` without DATA uses, so the data fingerprint matches the model card's),
    with their 11 ground-truth factors; the holdout is fresh simulated rows (seed
    :data:`BUILTIN_HOLDOUT_SEED`, a quarter as many as the training rows unless
    `holdout_rows`), which the model never saw.
    """
    from synthkit.datasets import CREDIT_FEATURES, simulate_credit

    assert synth.schema is not None
    if sorted(synth.schema.names) != sorted(CREDIT_FEATURES):
        raise SynthkitError(
            "no DATA given, and the model was not fitted on the built-in simulated credit data "
            "(its columns differ): give the table the model was trained on"
        )
    n = int(synth.summary.get("rows") or 20_000)
    data, factors = simulate_credit(n_rows=n, seed=0)
    data = data[synth.schema.names]
    n_hold = int(holdout_rows or max(n // 4, 100))
    holdout, _ = simulate_credit(n_rows=n_hold, seed=BUILTIN_HOLDOUT_SEED)
    notes = []
    stored = synth.summary.get("data_fingerprint")
    if stored and stored != fingerprint(data):
        notes.append(
            f"The model was not fitted on the seed-0 simulated credit data of {n:,} rows (its data fingerprint differs): "
            "the rows below are fresh draws from the same simulator, so 'training' figures measure the fit to the "
            "simulator rather than to the exact training rows, and privacy figures are indicative only."
        )
    return ReportInputs(
        data=data,
        holdout=holdout[synth.schema.names],
        factors=factors,
        data_label=f"built-in simulated credit data ({n:,} rows, seed 0)",
        holdout_label=f"fresh simulated credit data ({n_hold:,} rows, seed {BUILTIN_HOLDOUT_SEED})",
        notes=notes,
        builtin=True,
    )


# ---------------------------------------------------------------------------------------
# The model card
# ---------------------------------------------------------------------------------------


def model_card(synth: Synthesizer, model_path: str | Path | None = None, data: pd.DataFrame | None = None) -> dict[str, Any]:
    """What a reviewer needs to know about the model, JSON-ready."""
    import torch

    from synthkit import __version__

    assert synth.schema is not None and synth.transformer is not None
    s = synth.summary or {}
    saved: dict[str, Any] = {}
    if model_path is not None:
        meta_path = Path(model_path) / "synthesizer.json"
        try:
            saved = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            saved = {}
    schema_rows = describe_schema(synth.schema)
    card: dict[str, Any] = {
        "method": synth.method_name,
        "method_name": METHOD_NAMES.get(synth.method_name, synth.method_name),
        "method_description": METHOD_LABELS.get(synth.method_name, synth.method_name),
        "model_path": None if model_path is None else str(model_path),
        "hyperparameters": synth.config.to_dict(),
        "trainer": asdict(synth.trainer),
        "transformer": synth.transformer_name,
        "latent_dims": synth.model.latent_dims() if synth.model is not None else {},
        "schema": schema_rows,
        "model_columns": s.get("model_columns", synth.transformer.output_dim),
        "training": {
            "rows": s.get("rows"),
            "columns": s.get("columns"),
            "fit_seconds": s.get("fit_seconds"),
            "device": s.get("device"),
            "cpu_threads": s.get("cpu_threads"),
            "sampling_prior": s.get("prior"),
            "stages": s.get("stages", {}),
        },
        "seed": synth.seed,
        "data_fingerprint": s.get("data_fingerprint"),
        "data_fingerprint_given": None,
        "data_matches_training": None,
        "mlflow_run_id": s.get("mlflow_run_id"),
        "mlflow_tracking_uri": s.get("mlflow_tracking_uri"),
        "versions": {
            "synthkit (fitted with)": saved.get("synthkit_version"),
            "torch (fitted with)": saved.get("torch"),
            "python (fitted with)": saved.get("python"),
            "synthkit (this report)": __version__,
            "torch (this report)": torch.__version__,
            "python (this report)": platform.python_version(),
        },
    }
    if data is not None:
        given = fingerprint(data)
        card["data_fingerprint_given"] = given
        if card["data_fingerprint"]:
            card["data_matches_training"] = given == card["data_fingerprint"]
    return card


# ---------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------


def build_report(
    synth: Synthesizer,
    data: pd.DataFrame | ReportInputs,
    holdout: pd.DataFrame | None = None,
    *,
    target: str | None = None,
    factors: pd.DataFrame | None = None,
    model_path: str | Path | None = None,
    anonymeter: bool = True,
    anonymeter_attacks: int = 500,
    explain: bool = True,
    explain_options: dict[str, Any] | None = None,
    plots: bool = True,
    evaluation: Evaluation | None = None,
    explanation: Any = None,
    title: str | None = None,
    on_step: Any = None,
) -> ComplianceReport:
    """Evaluate and explain a fitted synthesizer on `data` (the table it was trained on).

    `holdout` (real rows the model never saw) enables detection on unseen rows, utility
    (with `target`) and privacy; `factors` (ground-truth factors, row-aligned with `data`)
    enables disentanglement scores. `explain_options` go to :func:`synthkit.explain.explain`
    (e.g. ``max_rows``, ``shift``, ``illustrate``); `plots` False leaves every plot out
    (faster; for tests). `evaluation` and `explanation`, when given, are used as they are
    instead of being computed (a notebook that has run both already); for the report to be
    reproducible, the evaluation should compare ``synth.sample(len(data), seed=synth.seed)``
    with `data` and `holdout`, as :func:`build_report` itself does. `on_step(name)` is called
    before each part.
    """
    if synth.model is None or synth.schema is None:
        raise SynthkitError("the synthesizer is not fitted: call fit() or load() first")
    inputs = data if isinstance(data, ReportInputs) else ReportInputs(data=data, holdout=holdout, factors=factors)
    df = check_columns(inputs.data, synth, inputs.data_label)
    if inputs.holdout is not None and not inputs.holdout_label:
        inputs.holdout_label = "the holdout given"
    hold = None if inputs.holdout is None else check_columns(inputs.holdout, synth, inputs.holdout_label)
    facts = None if inputs.factors is None else check_factors(inputs.factors, len(df), "factors")
    if target is not None and target not in synth.schema.names:
        raise SynthkitError(f"--target {target!r}: no such column in the model (columns: {', '.join(synth.schema.names[:5])}, …)")
    if target is not None and hold is None:
        raise SynthkitError("--target needs --holdout: utility is measured on real rows the model never saw")
    step = on_step or (lambda _name: None)
    timings: dict[str, float] = {}

    step("model card")
    card = model_card(synth, model_path, df)

    if evaluation is None:
        step("sampling")
        t0 = time.perf_counter()
        synthetic = synth.sample(len(df), seed=synth.seed)
        timings["sampling"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ev = evaluate(df, synthetic, hold, target=target, schema=synth.schema, seed=synth.seed, anonymeter=anonymeter,
                      anonymeter_attacks=anonymeter_attacks, plots=plots,
                      on_step=lambda name: step(f"evaluation: {name}"))
        timings["evaluation"] = time.perf_counter() - t0
    else:
        ev = evaluation
    n_synthetic = int(ev.results["rows"]["synthetic"])

    explain_error = None
    if explanation is not None:
        pass
    elif explain:
        step("interpretability")
        t0 = time.perf_counter()
        options = {"plots": plots, "seed": synth.seed, **(explain_options or {})}
        options.setdefault("on_step", lambda name: step(f"interpretability: {name}"))
        explanation, explain_error = _explain(synth, df, facts, options)
        timings["interpretability"] = time.perf_counter() - t0
    else:
        explain_error = "not requested"

    report = ComplianceReport(
        model_card=card,
        evaluation=ev,
        explanation=explanation,
        explain_error=explain_error,
        inputs={
            "data": inputs.data_label,
            "rows": len(df),
            "holdout": inputs.holdout_label if hold is not None else None,
            "holdout_rows": None if hold is None else len(hold),
            "factors": None if facts is None else list(map(str, facts.columns)),
            "factors_label": inputs.factors_label,
            "builtin": inputs.builtin,
            "paths": dict(inputs.paths),
            "target": target,
            "synthetic_rows": n_synthetic,
            "sampling_seed": synth.seed,
            "notes": list(inputs.notes),
        },
        timings=timings,
        generated=_dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip(),
        title=title or f"Compliance report: {METHOD_NAMES.get(synth.method_name, synth.method_name)} model"
        + (f" “{Path(model_path).name or model_path}”" if model_path is not None else ""),
    )
    report.verdicts = [{**v, "mark": MARKS.get(v["status"], v["status"].upper())} for v in verdicts(report)]
    return report


def _explain(synth: Synthesizer, df: pd.DataFrame, factors: pd.DataFrame | None,
             options: dict[str, Any]) -> tuple[Any, str | None]:
    """Run synthkit.explain when it is there; a missing module is reported, not raised."""
    try:
        from synthkit.explain import explain
    except ImportError as exc:
        return None, f"the interpretability analyses (synthkit.explain) are not available: {exc}"
    try:
        return explain(synth, df, factors=factors, **options), None
    except SynthkitError as exc:  # e.g. too few rows: the rest of the report still stands
        return None, f"the interpretability analyses could not run: {exc}"


# ---------------------------------------------------------------------------------------
# Verdicts: the summary at the top
# ---------------------------------------------------------------------------------------


def _primary_detection(ev: Evaluation) -> tuple[str, dict[str, Any]]:
    det = ev.results["detection"]
    split = "holdout" if "holdout" in det else "train"
    return split, det[split]


def verdicts(report: ComplianceReport) -> list[dict[str, str]]:
    """Summary lines: {"topic", "status" (ok | warn | bad | info), "text"}; build_report adds
    "mark", the word shown for the status (OK, CHECK, FAIL, NOTE)."""
    ev = report.evaluation
    r = ev.results
    out: list[dict[str, str]] = []

    # Closeness: the classifier two-sample test is the hardest test; JSD and CD beside it.
    split, det = _primary_detection(ev)
    aucs = det["auc"]
    clf = "xgboost" if "xgboost" in aucs else max(aucs, key=lambda k: aucs[k])
    auc = float(aucs[clf])
    worst = max(aucs.values())
    fid = r["fidelity"]["train"]
    status = "ok" if worst < 0.75 else ("warn" if worst < 0.9 else "bad")
    top = ", ".join(f["column"] for f in (det.get("top_features") or [])[:3])
    out.append({
        "topic": "How close the synthetic data are",
        "status": status,
        "text": (
            f"The {CLASSIFIER_NAMES.get(clf, clf)} detector tells synthetic from real {split} rows apart with AUC {auc:.3f} "
            f"({auc_reading(auc)}; 0.5 = indistinguishable, the MS-VAE paper reached 0.738 and calls 0.7 very good). "
            f"Column distributions: mean JSD {fid['jsd_mean']:.3f} (0 = identical); relationships between columns: "
            f"correlation difference {fid['cd']:.3f} (0 = the same)."
            + (f" Where they differ most: {top}." if top else "")
        ),
    })

    if "utility" in r:
        u = r["utility"]
        ratio = u.get("ratio")
        status = "info" if ratio is None else ("ok" if ratio >= 0.9 else ("warn" if ratio >= 0.75 else "bad"))
        out.append({
            "topic": "Usefulness for modelling",
            "status": status,
            "text": (f"A model for {u['target']!r} trained on synthetic rows scores {METRIC_NAMES.get(u['metric'], u['metric'])} "
                     f"{u['synthetic']:.3f} on real "
                     f"holdout rows, against {u['real']:.3f} when trained on real rows"
                     + ("." if ratio is None else f" (ratio {ratio:.2f}; 1 = as useful as the real data).")),
        })

    if "privacy" in r:
        p = r["privacy"]
        ok = bool(p["dcr_share_ok"])
        copies = p["exact_copy_rate_train"]
        ref = p["exact_copy_rate_reference"]
        copy_ok = copies <= max(ref * 1.5, 0.001)
        out.append({
            "topic": "Privacy",
            "status": "ok" if ok and copy_ok else "bad",
            "text": (
                ("Bar met: " if ok else "Bar NOT met: ")
                + f"DCR share {p['dcr_share']:.3f} ({'at or below' if ok else 'above'} the {DCR_SHARE_BAR} bar; "
                "0.5 = synthetic rows are no closer to the training rows than to unseen rows). "
                f"Exact copies of training rows: {copies:.2%} (real unseen rows repeat training rows at {ref:.2%})."
                + ("" if copy_ok else " More copies than real data would explain: review before sharing.")
            ),
        })
    else:
        out.append({
            "topic": "Privacy",
            "status": "warn",
            "text": "Not assessed: privacy needs a holdout of real rows the model never saw (--holdout).",
        })

    out.append(_latent_verdict(report))

    card = report.model_card
    if card.get("data_matches_training") is False:
        out.append({
            "topic": "Data",
            "status": "warn",
            "text": "The data given are not the exact table the model was fitted on (the data fingerprint differs from the "
                    "model card's): 'training' figures compare with these data instead.",
        })
    for note in report.inputs.get("notes", []):
        out.append({"topic": "Data", "status": "warn", "text": note})
    return out


def _latent_verdict(report: ComplianceReport) -> dict[str, str]:
    method = report.model_card["method"]
    ex = report.explanation
    if ex is None:
        return {"topic": "What the latents mean", "status": "info",
                "text": f"Not analysed ({report.explain_error})." if report.explain_error else "Not analysed."}
    from synthkit.report.html import latent_summary

    text, status = latent_summary(ex, method)
    return {"topic": "What the latents mean", "status": status, "text": text}


def check_output(path: str | Path, what: str = "report") -> Path:
    """Fail early (before any slow work) when `path` cannot receive the output file."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise SynthkitError(f"{target}: the folder {parent} does not exist")
    if target.is_dir():
        raise SynthkitError(f"{target}: is a directory, expected a file name for the {what}")
    return target


def attach_to_mlflow(report: ComplianceReport, path: str | Path) -> tuple[str | None, str | None]:
    """Attach the written report to the model's MLflow run, when the model card names one.

    Returns (what was attached, in words, or None; a warning or None). Never raises: a report
    that cannot be attached is still a report.
    """
    run_id = report.model_card.get("mlflow_run_id")
    if not run_id:
        return None, None
    try:
        from synthkit.tracking import log_report
    except ImportError:
        return None, None
    try:
        dest = log_report(run_id, path, tracking_uri=report.model_card.get("mlflow_tracking_uri"))
    except Exception as exc:  # tracking must never break a report
        return None, f"the report was not attached to MLflow run {run_id}: {exc}"
    return f"attached to MLflow run {run_id} as {dest}", None
