"""The compliance report as one self-contained HTML page (plots embedded, nothing fetched).

Sections, in order: summary (verdict lines), how to read this report, model card,
evaluation (the HTML of :mod:`synthkit.evaluate.report`, nested one heading level down),
interpretability (:mod:`synthkit.explain`'s tables, scores and plots), reproducing.
The print stylesheet keeps tables, rows and plots whole and starts each main section on a
new page, so the browser's "Print to PDF" (or ``--pdf``) gives a readable document.
"""

from __future__ import annotations

import base64
import html
import shlex
from typing import Any

from synthkit.evaluate.privacy import DCR_SHARE_BAR
from synthkit.evaluate.report import _CSS as _EVAL_CSS
from synthkit.evaluate.report import render_sections as _render_evaluation
from synthkit.report.compliance import MARKS as STATUS_WORD

_CSS = """
:root{--ok:#176117;--warn:#8a5a00;--bad:#a40000;--info:#2b4f7a}
body{max-width:1120px;padding:0 1.2em}
header h1{margin-bottom:.1em}
nav.toc{background:#f6f8fb;border:1px solid #e1e6ee;padding:.5em 1em;margin:1em 0;font-size:.95em}
nav.toc a{margin-right:1.2em;color:#2b4f7a;text-decoration:none}
section{margin-top:1.5em}
h3{font-size:1.08em;margin:1.4em 0 .3em}h4{font-size:.98em;margin:1.1em 0 .3em;color:#333}
table.notes td:last-child{min-width:28em}
ul.verdicts{list-style:none;padding:0;margin:.6em 0}
ul.verdicts li{border-left:5px solid #ccc;background:#fafafa;padding:.5em .8em;margin:.45em 0}
ul.verdicts li.st-ok{border-color:var(--ok)}ul.verdicts li.st-warn{border-color:var(--warn)}
ul.verdicts li.st-bad{border-color:var(--bad)}ul.verdicts li.st-info{border-color:var(--info)}
.badge{display:inline-block;min-width:3.6em;text-align:center;font-size:.78em;font-weight:700;color:#fff;border-radius:3px;
  padding:.05em .4em;margin-right:.6em;vertical-align:1px}
.badge.b-ok{background:var(--ok)}.badge.b-warn{background:var(--warn)}.badge.b-bad{background:var(--bad)}.badge.b-info{background:var(--info)}.badge.b-none{background:#8a8a8a}
.wrap{overflow-x:auto;max-width:100%}
.cols{display:flex;flex-wrap:wrap;gap:0 2.5em}
table.kv th{width:16em;background:#f7f7f7;font-weight:600}
td.code,span.code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.86em;word-break:break-all}
pre{background:#f6f8fb;border:1px solid #e1e6ee;padding:.6em .8em;white-space:pre-wrap;word-break:break-all;font-size:.86em}
table.heat td{text-align:right;font-variant-numeric:tabular-nums;min-width:3.2em}
table.heat th{white-space:nowrap}table.heat th.inactive{color:#888;font-weight:400}
.note{font-size:.92em;color:#333;background:#fffbea;border:1px solid #f0e2a8;padding:.4em .7em}
figure{margin:.8em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.88em;color:#555}
dl.read dt{font-weight:600;margin-top:.5em}dl.read dd{margin-left:1.2em}
.evaluation h3:first-child{margin-top:.4em}
@page{size:A4;margin:14mm 12mm}
@media print{
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  body{max-width:none;margin:0;padding:0;font-size:9.5pt}
  nav.toc{display:none}
  section.major{break-before:page}
  h2,h3,h4{break-after:avoid}
  h3+p.muted,h4+p.muted{break-after:avoid}
  table,tr,img,figure,ul.verdicts li,pre,.note,dl.read dd{break-inside:avoid}
  table.long{break-inside:auto}
  thead{display:table-header-group}
  .wrap{overflow:visible}
  td,th{font-size:8.5pt;padding:.2em .4em}
  .grid img{width:31%}
  figure img{max-width:100%;max-height:230mm}
  a{color:inherit;text-decoration:none}
}
"""



# ---------------------------------------------------------------------------------------
# Small pieces
# ---------------------------------------------------------------------------------------


def esc(x: Any) -> str:
    return html.escape(str(x))


def table(header: list[str], rows: list[list[Any]], *, numeric: tuple[int, ...] = (), cls: str = "",
          raw: bool = False) -> str:
    """An HTML table with a repeated-on-every-page header; cells escaped unless `raw`."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            text = str(c) if raw else esc(c)
            cells.append(f"<td class='num'>{text}</td>" if i in numeric else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    # Long tables may break between rows (headers repeat); short ones move to the next page whole.
    cls = (cls + " long").strip() if len(rows) > 14 or "notes" in cls else cls
    cls_attr = f" class='{cls}'" if cls else ""
    return f"<div class='wrap'><table{cls_attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"


def kv_table(pairs: list[tuple[str, str]], raw_values: bool = False) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{v if raw_values else esc(v)}</td></tr>" for k, v in pairs)
    return f"<div class='wrap'><table class='kv'><tbody>{rows}</tbody></table></div>"


def img(png: bytes, alt: str, caption: str | None = None) -> str:
    data = base64.b64encode(png).decode("ascii")
    tag = f"<img alt='{esc(alt)}' src='data:image/png;base64,{data}'>"
    return f"<figure>{tag}<figcaption>{esc(caption)}</figcaption></figure>" if caption else f"<figure>{tag}</figure>"


def fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if x != x:  # NaN
            return "–"
        return f"{x:.{digits}f}" if abs(x) >= 10 ** -digits or x == 0 else f"{x:.2e}"
    if isinstance(x, (list, tuple)):
        return ", ".join(fmt(v, digits) for v in x)
    return str(x)


def setting(v: Any) -> str:
    """A configuration value as written: 7.0 → 7, 1e-05 → 1e-05, None → default/none."""
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(setting(x) for x in v)
    return str(v)


def heat(r: float | None, threshold: float = 0.75) -> str:
    """A correlation cell, shaded by |r|, bold at or above `threshold`."""
    if r is None or r != r:
        return "<td>–</td>"
    a = min(abs(float(r)), 1.0)
    color = f"rgba(31,78,121,{a * 0.75:.2f})" if r >= 0 else f"rgba(192,80,30,{a * 0.75:.2f})"
    fg = "#fff" if a >= 0.55 else "#1b1b1b"
    weight = "font-weight:700;" if a >= threshold else ""
    return f"<td style='background:{color};color:{fg};{weight}'>{r:+.2f}</td>"


# ---------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------


def render_report(report: Any) -> str:
    """The whole page for a :class:`~synthkit.report.compliance.ComplianceReport`."""
    card = report.model_card
    ins = report.inputs
    sections = [
        ("summary", "Summary", _summary(report)),
        ("how-to-read", "How to read this report", _how_to_read(report)),
        ("model-card", "Model card", _model_card(card)),
        ("evaluation", "Fidelity, detection, utility and privacy", _evaluation(report)),
        ("interpretability", "Interpretability: what the latents control", _interpretability(report)),
        ("reproduce", "Reproducing this report", _reproduce(report)),
    ]
    subtitle = (
        f"{esc(card['method_name'])} model"
        + (f" <span class='code'>{esc(card['model_path'])}</span>" if card.get("model_path") else "")
        + f" · data: {esc(ins['data'])}" + ("" if "rows" in ins["data"] else f", {ins['rows']:,} rows")
        + ((f" · holdout: {esc(ins['holdout'])}" + ("" if "rows" in ins["holdout"] else f", {ins['holdout_rows']:,} rows"))
           if ins.get("holdout") else " · no holdout")
        + f" · generated {esc(report.generated)}"
    )
    toc = "".join(f"<a href='#{sid}'>{esc(title)}</a>" for sid, title, _ in sections)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(report.title)}</title><style>{_EVAL_CSS}{_CSS}</style></head><body>",
        f"<header><h1>{esc(report.title)}</h1><p class='muted'>{subtitle}</p></header>",
        f"<nav class='toc'>{toc}</nav>",
    ]
    for i, (sid, title, body) in enumerate(sections):
        # Evaluation and interpretability start on a new page when printed.
        cls = "major" if sid in ("evaluation", "interpretability") else ""
        parts.append(f"<section id='{sid}' class='{cls}'><h2>{esc(title)}</h2>{body}</section>")
    parts.append("<p class='muted'>Generated by synthkit. Definitions: docs/report.md and docs/evaluation.md.</p></body></html>")
    return "".join(parts)


def _summary(report: Any) -> str:
    items = []
    for v in report.verdicts:
        s = v["status"]
        items.append(f"<li class='st-{s}'><span class='badge b-{s}'>{STATUS_WORD.get(s, s.upper())}</span>"
                     f"<b>{esc(v['topic'])}.</b> {esc(v['text'])}</li>")
    card = report.model_card
    lead = (f"<p>{esc(card['method_description'])}. Trained on {fmt(card['training']['rows'])} rows; this report draws "
            f"{report.inputs['synthetic_rows']:,} synthetic rows with the model's seed ({card['seed']}) and compares them with "
            f"the data below.</p>")
    return lead + f"<ul class='verdicts'>{''.join(items)}</ul>"


def _how_to_read(report: Any) -> str:
    method = report.model_card["method"]
    latent_words = {
        "msvae": "MS-VAE has two sets of latents. C (stage one) is pushed towards independent factors: each coordinate "
                 "should drive a separate group of features, which is what makes the model explainable. Z (stage two) "
                 "only adds the detail C misses and is not meant to be interpretable; the M1–M4 checks confirm that the "
                 "final output still follows C.",
        "betatcvae": "β-TCVAE's latents C are pushed towards independent factors: each coordinate should drive a separate "
                     "group of features.",
        "tvae": "TVAE's latents are not encouraged to be independent: expect weak, spread-out correlations. It is included "
                "as a baseline, and its latents should not be read as business factors.",
    }.get(method, "")
    return (
        "<dl class='read'>"
        "<dt>Status marks</dt><dd><span class='badge b-ok'>OK</span> within the usual bar · "
        "<span class='badge b-warn'>CHECK</span> worth a look · <span class='badge b-bad'>FAIL</span> outside the bar · "
        "<span class='badge b-info'>NOTE</span> information.</dd>"
        "<dt>Model card</dt><dd>What was trained, on what, with which settings and how long; the data fingerprint "
        "(SHA-256 of the training table) identifies the data without storing them; the seed makes every figure here "
        "reproducible.</dd>"
        "<dt>Fidelity</dt><dd>Per-column Jensen–Shannon divergence (0 = identical distributions, 1 = disjoint) and the "
        "correlation difference (how much the relationships between columns differ; 0 = the same).</dd>"
        "<dt>Detection (C2ST)</dt><dd>Classifiers try to tell real rows from synthetic ones. An AUC of 0.5 means they "
        "cannot; 0.7 is very good for synthetic data, above 0.9 the synthetic rows are easy to spot. The columns the "
        "classifier relies on show where the synthetic data differ.</dd>"
        "<dt>Utility</dt><dd>A model trained on synthetic rows and tested on real unseen rows, against the same model "
        "trained on real rows: a ratio near 1 means the synthetic data are as useful.</dd>"
        f"<dt>Privacy</dt><dd>The DCR share is the share of synthetic rows lying closer to a training row than to an "
        f"unseen real row: 0.5 means no memorisation; the bar is {DCR_SHARE_BAR}. Exact copies of training rows are "
        "compared with how often real unseen rows repeat training rows anyway.</dd>"
        "<dt>Interpretability</dt><dd>Each latent coordinate is correlated with each feature (paper 001 §7.1: "
        "|r| ≥ 0.75 counts as significant), its mutual information with the data is measured (near 0: an inactive "
        "latent, unused by the model), and it is perturbed to see which features move (§7.2). "
        f"{esc(latent_words)} With ground-truth factors (simulated data), MIG and the FactorVAE score measure how "
        "cleanly latents and factors pair up (1 = one latent per factor).</dd>"
        "<dt>Confidence</dt><dd>Correlations and shifts are measured on the rows given; with small tables or few epochs "
        "they are noisy. The notes on each latent say how sure the reading is.</dd>"
        "</dl>"
    )


def _model_card(card: dict[str, Any]) -> str:
    t = card["training"]
    match = card.get("data_matches_training")
    match_text = {True: "yes — the data given are the training data",
                  False: "no — the data given differ from the training data",
                  None: "not checked"}[match]
    from synthkit.core.priors import prior_sentence  # lazily: it imports torch

    identity = [
        ("method", esc(card["method"])),
        ("what it is", esc(card["method_description"])),
        ("model folder", f"<span class='code'>{esc(card['model_path'])}</span>" if card.get("model_path") else "(in memory)"),
        ("latent dimensions", esc(", ".join(f"{k}: {v}" for k, v in card.get("latent_dims", {}).items()) or "–")),
        ("column encoding", esc(card["transformer"]) + f" ({fmt(card['model_columns'])} model columns)"),
        ("seed", esc(card["seed"])),
        ("training threads", esc(t.get("cpu_threads") or "–")
         + (" (CPU; the same seed and thread count refit the same model: <span class='code'>synthkit fit "
            f"--seed {esc(card['seed'])} --threads {esc(t['cpu_threads'])}</span>)" if t.get("cpu_threads") else "")),
        *([("sampling prior", esc(prior_sentence(t["sampling_prior"])))] if t.get("sampling_prior") else []),
        ("training data fingerprint (SHA-256)", f"<span class='code'>{esc(card.get('data_fingerprint') or '–')}</span>"),
        ("data given match the training data", esc(match_text)),
    ]
    if card.get("mlflow_run_id"):
        identity.append(("MLflow run id", f"<span class='code'>{esc(card['mlflow_run_id'])}</span>"))
        if card.get("mlflow_tracking_uri"):
            identity.append(("MLflow tracking URI", f"<span class='code'>{esc(card['mlflow_tracking_uri'])}</span>"))
    for k, v in card["versions"].items():
        if v:
            identity.append((k, esc(v)))
    out = ["<h3>Identity</h3>", kv_table(identity, raw_values=True)]

    fit_s = t.get("fit_seconds")
    out.append("<h3>Training</h3>")
    out.append(kv_table([
        ("rows × columns", f"{fmt(t.get('rows'))} × {fmt(t.get('columns'))}"),
        ("training time", "–" if fit_s is None else f"{fit_s:.1f} s"),
        ("device", fmt(t.get("device"))),
    ]))
    stage_rows = []
    for name, st in (t.get("stages") or {}).items():
        stage_rows.append([
            _stage_label(name), fmt(st.get("epochs_run")), fmt(st.get("best_epoch")), st.get("stopped_because", ""),
            "–" if st.get("seconds") is None else f"{st['seconds']:.1f}",
            fmt((st.get("final_train") or {}).get("loss")), fmt((st.get("best_validation") or {}).get("loss")),
        ])
    if stage_rows:
        out.append(table(["stage", "epochs run", "best epoch", "stopped because", "seconds", "final training loss",
                          "best validation loss"], stage_rows, numeric=(1, 2, 4, 5, 6)))

    out.append("<div class='cols'><div><h3>Hyperparameters</h3>")
    out.append(table(["setting", "value"], [[k, setting(v)] for k, v in card["hyperparameters"].items()], numeric=(1,)))
    out.append("</div><div><h3>Trainer settings</h3>")
    out.append(table(["setting", "value"], [[k, setting(v)] for k, v in card["trainer"].items()], numeric=(1,)))
    out.append("</div></div>")
    out.append("<h3>Schema: each column's kind</h3><p class='muted'>continuous: real values; mixed: continuous with point "
               "masses (e.g. many zeros); discrete: few numeric values, modelled as categories; categorical/boolean: labels; "
               "identifier and constant columns are not modelled.</p>")
    out.append(table(["column", "kind", "unique values", "missing", "details"],
                     [[r["column"], r["kind"], r["unique"], r["missing"], r["details"]] for r in card["schema"]],
                     numeric=(2, 3)))
    return "".join(out)


def _stage_label(name: str) -> str:
    return {"stage1": "stage one (β-TCVAE, latents C)", "stage2": "stage two (conditional VAE, latents Z)",
            "model": "model"}.get(name, name)


def _evaluation(report: Any) -> str:
    """The evaluation's own HTML (synthkit.evaluate), one heading level down."""
    ins = report.inputs
    body = _render_evaluation(report.evaluation, level=3, titles={
        "Summary": "Headline figures", "How this was computed": "How long each part of the evaluation took"})
    same = ins["synthetic_rows"] == ins["rows"]
    intro = (f"<p>{ins['synthetic_rows']:,} synthetic rows{' (as many as the data have)' if same else ''} drawn with the "
             f"model's seed ({ins['sampling_seed']}), compared with the data"
             + (" and with the holdout of real rows the model never saw" if ins.get("holdout") else
                " (no holdout: detection against unseen rows, utility and privacy need --holdout)")
             + ". Definitions: docs/evaluation.md.</p>")
    return intro + f"<div class='evaluation'>{body}</div>"


def _reproduce(report: Any) -> str:
    card, ins = report.model_card, report.inputs
    builtin, paths = ins.get("builtin", False), ins.get("paths") or {}
    cmd = ["synthkit", "report", card.get("model_path") or "MODEL"]
    if not builtin:
        cmd.append(paths.get("data", "DATA.csv"))
    cmd += ["-o", "report.html"]
    if ins.get("holdout") and (paths.get("holdout") or not builtin):
        cmd += ["--holdout", paths.get("holdout", "HOLDOUT.csv")]
    if ins.get("target"):
        cmd += ["--target", ins["target"]]
    if ins.get("factors") and not builtin:
        cmd += ["--factors", paths.get("factors", "FACTORS.csv")]
    cmd = " ".join(shlex.quote(str(c)) for c in cmd)
    rows = [[k, f"{v:.1f}"] for k, v in report.timings.items()]
    return (f"<p>Every figure depends only on the model folder, the data and the model's seed; to regenerate:</p>"
            f"<pre>{esc(cmd)}</pre>" + table(["part", "seconds"], rows, numeric=(1,)))


# ---------------------------------------------------------------------------------------
# Interpretability (synthkit.explain)
# ---------------------------------------------------------------------------------------


def _interpretability(report: Any) -> str:
    ex = report.explanation
    if ex is None:
        return f"<p class='note'>Not included: {esc(report.explain_error or 'not requested')}.</p>"
    return render_explanation(ex, report.model_card["method"])


BLOCK_TITLES = {
    "msvae": {"c": "C — stage one: the disentangled factors (the interpretable part)",
              "z": "Z — stage two: residual detail (not meant to be read as factors)"},
    "betatcvae": {"c": "C — the disentangled factors"},
    "tvae": {"z": "z — TVAE's latents (not encouraged to be disentangled)"},
}
CONFIDENCE = {"high": ("b-ok", "HIGH"), "medium": ("b-info", "MEDIUM"), "low": ("b-warn", "LOW"), "none": ("b-none", "INACTIVE")}
#: The block whose latents carry the meaning, per method (MS-VAE and β-TCVAE: C).
PRIMARY_BLOCK = {"msvae": "c", "betatcvae": "c", "tvae": "z"}


def _results(ex: Any) -> dict[str, Any]:
    return ex.to_dict() if hasattr(ex, "to_dict") else dict(ex)


def _block_title(method: str, block: str) -> str:
    return BLOCK_TITLES.get(method, {}).get(block, f"block {block}")


def _conf_badge(conf: str) -> str:
    cls, word = CONFIDENCE.get(conf, ("b-info", conf.upper()))
    return f"<span class='badge {cls}'>{esc(word)}</span>"


def render_explanation(ex: Any, method: str) -> str:
    """The interpretability section from a :class:`synthkit.explain.Explanation`."""
    r = _results(ex)
    figures: dict[str, bytes] = dict(getattr(ex, "figures", {}) or {})
    used: set[str] = set()

    def fig(name: str, caption: str) -> str:
        if name not in figures:
            return ""
        used.add(name)
        return img(figures[name], name, caption)

    blocks: dict[str, int] = r.get("blocks", {})
    settings = r.get("settings", {})
    threshold, floor = settings.get("threshold", 0.75), settings.get("floor", 0.2)
    out = [
        f"<p>Measured on {fmt(r.get('rows'))} of the {fmt(r.get('rows_given'))} data rows"
        + (" (a seeded subsample)" if r.get("rows") != r.get("rows_given") else "")
        + ". Latent coordinates are named as in the paper's Table 3: "
        + ", ".join(f"{b}1–{b}{d}" for b, d in blocks.items())
        + {"msvae": ". For MS-VAE, C carries the meaning and Z the residual detail.",
           "tvae": ". TVAE's latents are not encouraged to be independent: a link found below describes this fit, "
                   "it does not make the latent a business factor."}.get(method, ".")
        + " Definitions: docs/report.md and docs/interpretability.md.</p>"
    ]
    if hasattr(ex, "headline"):
        out.append("<h3>Headline figures</h3>")
        out.append(table(["measure", "value", "what it means"], [list(x) for x in ex.headline()], numeric=(1,)))

    # -- notes ---------------------------------------------------------------------------
    notes = r.get("notes", {})
    out.append("<h3>What each latent appears to control</h3><p class='muted'>Confidence: HIGH — the latent is used, "
               f"correlates with a feature at |r| ≥ {threshold:g} and perturbing it moves that feature; MEDIUM — a clear "
               "but weaker or non-linear link; LOW — used, but its effect is weak or diffuse; INACTIVE — the model ignores "
               "this coordinate, so it means nothing.</p>")
    dis = r.get("disentanglement") or {}
    for block in blocks:
        rows = []
        for label, note in notes.items():
            if label.rstrip("0123456789") != block:
                continue
            top = note.get("top_features") or []
            strongest = f"{top[0]['feature']} ({top[0]['value']:+.2f})" if top else "–"
            factor = note.get("factor")
            if factor and block in dis:
                nmi = ((dis[block].get("matches") or {}).get("by_latent") or {}).get(label, {}).get("normalized_mi")
                factor = f"{factor} ({nmi:.2f})" if nmi is not None else factor
            rows.append([esc(label), _conf_badge(note.get("confidence", "")), esc(strongest)]
                        + ([esc(factor or "–")] if dis else []) + [esc(note.get("text", ""))])
        if rows:
            if len(blocks) > 1:
                out.append(f"<h4>{esc(_block_title(method, block))}</h4>")
            out.append(table(["latent", "confidence", "strongest correlation"]
                             + (["closest factor (normalized MI)"] if dis else []) + ["note"], rows, raw=True,
                             cls="notes"))

    # -- information -----------------------------------------------------------------------
    info = r.get("information") or {}
    if info.get("blocks"):
        out.append("<h3>Is each latent used? Information per coordinate</h3>")
        out.append(f"<p class='muted'>A coordinate is active when its posterior differs from the N(0, 1) prior by a mean "
                   f"KL of at least {info.get('inactive_below', 0.01):g} nats; an inactive coordinate is ignored by the "
                   "decoder. Mutual information: how much the coordinate tells about which row it encodes "
                   f"(at most {fmt(info.get('max_nats'), 2)} nats here).</p>")
        rows = []
        for block, items in info["blocks"].items():
            for x in items:
                rows.append([x["latent"], "yes" if x.get("active") else "no", fmt(x.get("kl_to_prior")),
                             fmt(x.get("mutual_information")), fmt(x.get("aggregate_std"))])
        out.append(table(["latent", "active", "mean KL to prior (nats)", "mutual information (nats)",
                          "spread of its codes (sd; 1 = prior)"], rows, numeric=(2, 3, 4)))
        out.append(fig("information", "Information carried by each latent coordinate."))

    # -- correlations ----------------------------------------------------------------------
    corrs = r.get("correlations") or {}
    if corrs:
        out.append("<h3>Latent ↔ feature correlations (paper §7.1)</h3>")
        out.append(f"<p class='muted'>Pearson's r between each latent's posterior mean and each feature over the rows "
                   f"analysed (Spearman's ρ beside it; categorical features: the correlation ratio η, unsigned). "
                   f"The paper calls |r| ≥ {threshold:g} significant (Table 3) and lists everything down to "
                   f"{floor:g} (Table 7). The sign of a latent is arbitrary; the signs between features driven by the "
                   "same latent are not. Correlations of inactive latents are encoder artefacts.</p>")
        for block, c in corrs.items():
            title = _block_title(method, block)
            sig = c.get("significant") or []
            out.append(f"<h4>Significant pairs, |r| ≥ {c.get('threshold', threshold):g} — {esc(title)}</h4>")
            if sig:
                out.append(table(["latent", "feature", "r", "Spearman ρ", "latent active"],
                                 [[p["latent"], p["feature"], f"{p['value']:+.3f}",
                                   "–" if p.get("spearman") is None else f"{p['spearman']:+.3f}",
                                   "yes" if p.get("latent_active", True) else "no (artefact)"] for p in sig],
                                 numeric=(2, 3)))
            else:
                out.append(f"<p>No latent–feature pair reaches |r| ≥ {c.get('threshold', threshold):g}.</p>")
            by_latent: dict[str, list[str]] = {}
            for p in c.get("table") or []:
                by_latent.setdefault(p["latent"], []).append(f"{p['feature']} {p['value']:+.2f}")
            out.append(f"<h4>All pairs down to |r| ≥ {c.get('floor', floor):g} (Table 7) — {esc(title)}</h4>")
            out.append(table(["latent", "features (r)"],
                             [[lat, "; ".join(by_latent.get(lat, [])) or "none above the floor"]
                              for lat in c.get("latents", by_latent)]))
            matrix = c.get("matrix") or {}
            if matrix:
                latents = list(matrix)
                features = list(next(iter(matrix.values())))
                inactive = {x["latent"] for xs in (info.get("blocks") or {}).values() for x in xs if not x.get("active")}
                head = "".join(f"<th>{esc(lat)}</th>" if lat not in inactive else
                               f"<th class='inactive'>{esc(lat)}<br><span class='muted'>inactive</span></th>"
                               for lat in latents)
                body = "".join(
                    f"<tr><th>{esc(f)}</th>" + "".join(heat(matrix[lat].get(f), threshold) for lat in latents) + "</tr>"
                    for f in features)
                out.append(f"<h4>Full matrix — {esc(title)}</h4><div class='wrap'><table class='heat long'><thead><tr>"
                           f"<th>feature</th>{head}</tr></thead><tbody>{body}</tbody></table></div>")
            used.add(f"correlation_{block}")  # the table above shows the same numbers

    # -- perturbation ----------------------------------------------------------------------
    effects = r.get("effects") or {}
    if effects:
        out.append("<h3>Perturbation: what moves when one latent moves (paper §7.2)</h3>")
        first = next(iter(effects.values()))
        out.append(f"<p class='muted'>Each row is encoded, one coordinate is changed ({esc(first.get('description', ''))} "
                   "for the first one, likewise for the others), and the rows are decoded again with the same seed. "
                   "JSD compares each feature's distribution before and after (0 = unchanged); the mean shift is in the "
                   "feature's standard deviations. A latent that controls a feature moves it and little else.</p>")
        rows = []
        for label, e in effects.items():
            shifts = sorted(e.get("shifts") or [], key=lambda x: -(x.get("jsd") or 0))[:3]
            moved = "; ".join(f"{x['feature']} (JSD {x['jsd']:.3f}, mean {x.get('mean_shift_sd') or 0:+.2f} sd)"
                              for x in shifts)
            conf = (notes.get(label) or {}).get("confidence", "")
            rows.append([esc(label), _conf_badge(conf) if conf else "", esc(moved or "–")])
        out.append(table(["latent", "confidence", "features moved most"], rows, raw=True))
        for label in (r.get("illustrated") or {}):
            out.append(f"<h4>{esc(label)}: perturbation and traversal</h4>")
            out.append(fig(f"perturbation_{label}", f"Fig. 12 style: each feature before (blue) and after (orange) "
                                                    f"shifting {label}; JSD in each title."))
            out.append(fig(f"traversal_{label}", f"Traversal: the mean of the features {label} moves most, as {label} "
                                                 "runs from −3 to +3 sd (shaded: ±1 sd; dashed: the unperturbed mean)."))

    # -- disentanglement -------------------------------------------------------------------
    if dis:
        from synthkit.explain.notes import CREDIT_FACTOR_NAMES

        out.append("<h3>Disentanglement against the ground-truth factors</h3>")
        out.append("<p class='muted'>With the generating factors known (simulated data), MIG (Chen et al. 2018) is the "
                   "mean over factors of the gap in normalized mutual information between the two latents that know "
                   "most about the factor: 1 = each factor has a latent of its own, 0 = none does. The FactorVAE score "
                   "is the accuracy of a majority-vote classifier that names the factor held fixed from the latent "
                   "that varies least; compare it with chance and with the ceiling the active latents allow.</p>")
        out.append(table(["latents", "MIG", "FactorVAE score", "chance", "ceiling", "active latents used"],
                         [[b, fmt(d.get("mig")), fmt((d.get("factorvae") or {}).get("score")),
                           fmt((d.get("factorvae") or {}).get("chance")), fmt((d.get("factorvae") or {}).get("ceiling")),
                           ", ".join((d.get("factorvae") or {}).get("active_latents") or []) or "none"]
                          for b, d in dis.items()], numeric=(1, 2, 3, 4)))
        main = PRIMARY_BLOCK.get(method, next(iter(dis)))
        per = (dis.get(main) or {}).get("mig_per_factor") or {}
        if per:
            out.append(f"<h4>Which latent knows most about each factor — {esc(_block_title(method, main))}</h4>")
            out.append(table(["factor", "best latent", "normalized MI", "second latent", "MIG gap"],
                             [[CREDIT_FACTOR_NAMES.get(f, f), x.get("top_latent", "–"), fmt(x.get("top_normalized_mi")),
                               x.get("second_latent", "–"), fmt(x.get("gap"))] for f, x in per.items()],
                             numeric=(2, 4)))
        # The joint block (c+z) holds every latent: one figure instead of three.
        joint = [b for b in dis if "+" in b and f"factor_mi_{b}" in figures]
        for b in joint or list(dis):
            out.append(fig(f"factor_mi_{b}", f"Normalized mutual information (MI / entropy of the factor) between each "
                                             f"latent of {b} and each ground-truth factor."))
        used.update(f"factor_mi_{b}" for b in dis)

    # -- conditioning (MS-VAE) -------------------------------------------------------------
    cond = r.get("conditioning")
    if cond:
        out.append("<h3>MS-VAE conditioning checks M1–M4 (paper §4)</h3>")
        out.append("<p class='muted'>Does MS-VAE's output still follow its interpretable latents C once stage two adds Z? "
                   "Stage one's encoder reads C back from different reconstructions, and M1–M4 measure how much that "
                   "agrees with C read from the real row (normalized MI). The paper expects "
                   f"{esc(cond.get('expected', 'M2 > M1 > M3 ≫ M4'))}: Z improves the rows (M2 > M1), replacing Z by noise "
                   "keeps most of C (M3 close to M1) and replacing Y destroys it (M4 near the floor of two unrelated "
                   "codes).</p>")
        values = cond.get("values")
        if values:
            defs = cond.get("definitions") or {}
            rows = [[k, defs.get(k, ""), fmt(values.get(k))] for k in ("M1", "M2", "M3", "M4")]
            if cond.get("floor") is not None:
                rows.append(["floor", defs.get("floor", ""), fmt(cond["floor"])])
            out.append(table(["measure", "definition", "value"], rows, numeric=(2,)))
            checks = cond.get("checks") or {}
            if checks:
                out.append(table(["check", "result"], [[k, "passes" if v else "fails"] for k, v in checks.items()]))
            holds = cond.get("holds")
            out.append(f"<p><b>{'The expected order holds' if holds else 'The expected order does not fully hold'}</b>"
                       + (f" (M3 / M1 = {cond['m3_over_m1']:.2f})" if cond.get("m3_over_m1") is not None else "")
                       + ".</p>")
        if cond.get("note"):
            out.append(f"<p class='note'>{esc(cond['note'])}</p>")
        out.append(fig("conditioning", "M1–M4 beside the floor of two unrelated codes."))

    rest = [name for name in figures if name not in used]
    if rest:
        out.append("<h3>Other figures</h3>")
        out.extend(img(figures[name], name, name) for name in rest)
    return "".join(out)


def latent_summary(ex: Any, method: str) -> tuple[str, str]:
    """One verdict line on what the latents mean, and its status (ok, warn, info)."""
    r = _results(ex)
    notes = r.get("notes", {})
    blocks = list(r.get("blocks", {}))
    main = PRIMARY_BLOCK.get(method, blocks[0] if blocks else "c")
    own = {k: v for k, v in notes.items() if k.rstrip("0123456789") == main}
    info = {x["latent"]: x for x in ((r.get("information") or {}).get("blocks") or {}).get(main, [])}
    n_active = sum(1 for x in info.values() if x.get("active"))
    by_conf: dict[str, list[str]] = {}
    for label, note in own.items():
        by_conf.setdefault(note.get("confidence", ""), []).append(label)

    high, medium = by_conf.get("high", []), by_conf.get("medium", [])
    dis = (r.get("disentanglement") or {}).get(main)
    mig = "" if not dis or dis.get("mig") is None else f" MIG against the ground-truth factors: {dis['mig']:.2f} (1 = one latent per factor)."
    if method == "tvae":
        sig = len(((r.get("correlations") or {}).get(main) or {}).get("significant") or [])
        return (f"TVAE's latents are not designed to be interpretable: {n_active} of {len(own)} are used and "
                f"{sig} latent–feature pair(s) reach |r| ≥ 0.75; do not read them as business factors." + mig, "info")
    block_name = main.upper()
    parts = [f"{n_active} of {len(own)} {block_name} latents are used."]
    # Group the clearly linked latents by the feature they track most: one feature held by
    # several latents is one factor spread over them (not cleanly disentangled).
    groups: dict[str, list[tuple[str, float]]] = {}
    for label in high:
        top = own[label].get("top_features") or []
        if top:
            groups.setdefault(top[0]["feature"], []).append((label, float(top[0]["value"])))
    shared = [f for f, xs in groups.items() if len(xs) > 1]
    if groups:
        shown = []
        for feature, xs in sorted(groups.items(), key=lambda kv: -max(abs(v) for _, v in kv[1])):
            if len(xs) == 1:
                shown.append(f"{xs[0][0]} → {feature} (r {xs[0][1]:+.2f})")
            else:
                shown.append(f"{feature} ← {', '.join(x for x, _ in xs)} (|r| up to {max(abs(v) for _, v in xs):.2f}; "
                             "one factor spread over several latents)")
        parts.append("Clearly linked (high confidence): " + "; ".join(shown) + ".")
    if medium:
        parts.append(f"Plausibly linked (medium): {', '.join(medium)}.")
    if not high and not medium:
        parts.append("None is clearly linked to a feature (a short fit or a small table leave latents weak).")
    status = "ok" if high and not shared else "warn"
    if own and n_active < len(own) / 2:
        # Most of the code unused: the model summarises the table with few factors, and a
        # reviewer should know the remaining ones carry nothing (not "no effect found").
        parts.append(f"Most {block_name} latents carry no information: the model summarises the table "
                     f"with {n_active} factor(s).")
        status = "warn"
    if method == "msvae":
        z_info = ((r.get("information") or {}).get("blocks") or {}).get("z", [])
        parts.append(f"Z (residual detail, not meant to be read): {sum(1 for x in z_info if x.get('active'))} of {len(z_info)} used.")
        cond = r.get("conditioning") or {}
        if cond.get("values"):
            failed = [k for k, v in (cond.get("checks") or {}).items() if not v]
            if cond.get("holds"):
                parts.append(f"The output follows C as the paper expects ({cond.get('expected')}).")
            else:
                parts.append(f"The paper's order {cond.get('expected')} does not fully hold (fails: {', '.join(failed)}).")
                status = "warn"  # any failed check is worth a reviewer's look
        elif cond.get("note"):
            parts.append(f"Conditioning not measured: {cond['note']}.")
    return " ".join(parts) + mig, status
