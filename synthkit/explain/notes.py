"""Plain-language notes on each latent coordinate, for a compliance reviewer.

Each note says what the coordinate appears to control and how sure that is, from four
pieces of evidence:

* **activity** — the coordinate's mean KL to its prior (≥ 0.01 nats: active). An inactive
  coordinate is ignored by the model; the note says so and attaches no meaning to it;
* **correlation** — its strongest correlations with the features (|r| ≥ floor, with
  sign: "higher c2 → higher Mortgage");
* **perturbation** — the features that move most when it is shifted by +k sd (JSD and
  mean shift in standard deviations), when effects were computed;
* **ground truth** — the generating factor it shares most information with (MI / H of
  the factor), when factors were given.

Confidence, stated in each note:

* **high** — active, a correlation of at least `threshold` (0.75, the paper's
  "significant"), and (when the perturbation was measured) the feature the perturbation
  moves most is one the coordinate correlates with (|r| ≥ floor): the two kinds of
  evidence agree;
* **medium** — active, and a strongest correlation of at least 0.5 or a perturbation that
  moves some feature by JSD ≥ 0.1 (a clear but possibly non-linear effect: a coordinate
  can move a feature without correlating with it, e.g. through a mode of the feature);
* **low** — active, with neither (its effect is weak or diffuse);
* **none** — inactive (**low** if the decoder nevertheless responds to it, JSD ≥ 0.1: the
  note then warns that values set there are not explained by the data). The posterior mean of an inactive coordinate can still correlate
  with features (it varies by a few hundredths, as a deterministic function of the row),
  but the decoder does not respond to it; the note says so rather than reporting the
  correlation as a meaning.

A factor match is called *clear* from a normalized MI of 0.3, *partial* from 0.1.
"""

from __future__ import annotations

import math
from typing import Any

#: Readable names of the simulated credit data's factors (docs/credit_data.md).
CREDIT_FACTOR_NAMES = {
    "L": "gender (L)",
    "M": "race group (M)",
    "Ub": "card-utilization propensity now (Ub)",
    "Ub_1": "card-utilization propensity 3 months ago (Ub_1)",
    "Ub_2": "card-utilization propensity 6 months ago (Ub_2)",
    "Ub_3": "card-utilization propensity 12 months ago (Ub_3)",
    "S": "debt stress now (S)",
    "S_1": "debt stress 3 months ago (S_1)",
    "S_2": "debt stress 6 months ago (S_2)",
    "S_3": "debt stress 12 months ago (S_3)",
    "T": "debt-stress threshold, i.e. resilience (T)",
}

CLEAR_MATCH = 0.3
PARTIAL_MATCH = 0.1
MEDIUM = 0.5
#: A perturbation that moves some feature by at least this JSD is a clear effect.
EFFECT = 0.1


def confidence(active: bool, strongest: float, threshold: float = 0.75, *, effect_jsd: float | None = None,
               effect_agrees: bool | None = None) -> str:
    """"high", "medium", "low" or "none" (see the module notes). `effect_jsd` is the
    largest JSD of the perturbation, `effect_agrees` whether its most moved feature is
    one the coordinate correlates with (|r| ≥ floor)."""
    if not active:
        # An ignored coordinate, unless the decoder visibly responds to it all the same.
        return "low" if effect_jsd is not None and effect_jsd >= EFFECT else "none"
    if strongest >= threshold and effect_agrees is not False:
        return "high"
    if strongest >= MEDIUM or (effect_jsd is not None and effect_jsd >= EFFECT):
        return "medium"
    return "low"


def _action(effect: dict[str, Any] | None) -> str:
    if effect is None:
        return "perturbing it"
    if effect.get("kind") == "set":
        return f"setting it to {effect['amount']:g}"
    return f"shifting it by {effect['amount']:+g} sd"


def _symbol(pair: dict[str, Any]) -> str:
    return "η" if pair["measure"] == "correlation_ratio" else "r"


def _factor_name(name: str, names: dict[str, str] | None) -> str:
    return (names or {}).get(name) or CREDIT_FACTOR_NAMES.get(name) or name


def latent_note(
    label: str,
    *,
    info: dict[str, Any] | None,
    correlations: list[dict[str, Any]],
    effect: dict[str, Any] | None = None,
    match: dict[str, Any] | None = None,
    threshold: float = 0.75,
    floor: float = 0.2,
    factor_names: dict[str, str] | None = None,
    top: int = 3,
) -> dict[str, Any]:
    """The note on one coordinate: ``{"latent", "confidence", "text", "top_features",
    "factor"}``. `info` is its entry of :func:`~synthkit.explain.correlations.latent_information`,
    `correlations` its pairs from the correlation ``table`` (|r| ≥ floor, strongest
    first), `effect` its entry of :func:`~synthkit.explain.perturbation.latent_effects`,
    `match` its entry of ``matches["by_latent"]``."""
    active = True if info is None else bool(info["active"])
    strongest = max((abs(p["value"]) for p in correlations), default=0.0)
    effect_jsd = effect_agrees = None
    if effect is not None and effect["shifts"]:
        effect_jsd = max(s["jsd"] for s in effect["shifts"])
        top_moved = max(effect["shifts"], key=lambda s: s["jsd"])["feature"]
        effect_agrees = top_moved in {p["feature"] for p in correlations}
    conf = confidence(active, strongest, threshold, effect_jsd=effect_jsd, effect_agrees=effect_agrees)
    parts: list[str] = []
    if not active:
        assert info is not None
        parts.append(
            f"{label} is inactive: its posterior is the prior for every row (mean KL {info['kl_to_prior']:.3f} nats "
            f"< {info.get('threshold', 0.01):g}), so the model ignores it and it controls nothing; no meaning "
            "should be attached to it."
        )
        if effect_jsd is not None and effect_jsd >= EFFECT:
            top_moved = max(effect["shifts"], key=lambda s: s["jsd"])  # type: ignore[index]
            parts.append(
                f"Yet {_action(effect)} moves {top_moved['feature']} (JSD {top_moved['jsd']:.3f}): the decoder responds "
                "to it although the encoder never uses it, so a value set there is not explained by the data."
            )
        elif correlations:
            p = correlations[0]
            sd = math.sqrt(max(info.get("mean_variance", 0.0), 0.0))
            moved = ""
            if effect_jsd is not None:
                moved = f" and {_action(effect)} moves no feature by more than JSD {effect_jsd:.3f}"
            parts.append(
                f"Its posterior mean still correlates with {p['feature']} ({_symbol(p)} = {p['value']:+.2f}), "
                f"but that mean varies by only sd {sd:.2f} against the prior's 1{moved}: an artefact of the "
                "encoder, not a control."
            )
    else:
        if info is not None:
            parts.append(f"{label} is active (it carries {info['mutual_information']:.2f} nats of information about "
                         f"a row; mean KL to its prior {info['kl_to_prior']:.2f} nats).")
        if correlations:
            phrases = []
            for p in correlations[:top]:
                if p["measure"] == "correlation_ratio":
                    phrases.append(f"{p['feature']} (η = {p['value']:.2f}, the category shifts it)")
                else:
                    direction = "higher" if p["value"] > 0 else "lower"
                    phrases.append(
                        f"{p['feature']} (r = {p['value']:+.2f}: higher {label}, {direction} {p['feature']})"
                    )
            strength = {"high": "strongly", "medium": "moderately", "low": "weakly"}[conf]
            parts.append(f"It tracks {strength} " + "; ".join(phrases) + ".")
        else:
            parts.append(f"No feature correlates with it at |r| ≥ {floor:g}.")
    if effect is not None and active:
        moved = [s for s in effect["shifts"] if s["jsd"] >= 0.01][:top]
        if moved:
            bits = []
            for s in moved:
                shift = "" if s.get("mean_shift_sd") is None else f", mean {s['mean_shift_sd']:+.2f} sd"
                bits.append(f"{s['feature']} (JSD {s['jsd']:.3f}{shift})")
            rest = [s["jsd"] for s in effect["shifts"][len(moved):]]
            tail = f"; every other feature moves by JSD ≤ {max(rest):.3f}" if rest else ""
            parts.append(f"{_action(effect).capitalize()} moves mostly " + ", ".join(bits) + tail + ".")
        else:
            parts.append(f"{_action(effect).capitalize()} moves no feature by JSD ≥ 0.01.")
    factor = None
    if match is not None:
        factor = match["factor"]
    if match is not None and active:
        nmi = match["normalized_mi"]
        kind = "clearly" if nmi >= CLEAR_MATCH else "partly" if nmi >= PARTIAL_MATCH else None
        if kind:
            parts.append(f"Against the known generating factors it {kind} matches {_factor_name(factor, factor_names)} "
                         f"(MI {nmi:.2f} of the factor's entropy).")
        else:
            parts.append(f"It matches no generating factor clearly (best: {_factor_name(factor, factor_names)}, "
                         f"MI {nmi:.2f} of its entropy).")
    parts.append(f"Confidence: {conf}.")
    return {
        "latent": label,
        "confidence": conf,
        "text": " ".join(parts),
        "top_features": [
            {"feature": p["feature"], "value": p["value"], "measure": p["measure"]} for p in correlations[:top]
        ],
        "factor": factor,
    }


def latent_notes(
    correlations: dict[str, Any],
    information: dict[str, Any] | None = None,
    effects: dict[str, dict[str, Any]] | None = None,
    matches: dict[str, dict[str, Any]] | None = None,
    *,
    factor_names: dict[str, str] | None = None,
    top: int = 3,
) -> dict[str, dict[str, Any]]:
    """Notes on every latent of a correlation result ({label: note}); `information` from
    :func:`~synthkit.explain.correlations.latent_information`, `effects` from
    :func:`~synthkit.explain.perturbation.latent_effects`, `matches` the ``by_latent``
    factor matches (optional, any block)."""
    infos: dict[str, dict[str, Any]] = {}
    if information is not None:
        for rows in information["blocks"].values():
            for r in rows:
                infos[r["latent"]] = {**r, "threshold": information["inactive_below"]}
    by_latent: dict[str, list[dict[str, Any]]] = {n: [] for n in correlations["latents"]}
    for p in correlations["table"]:
        if p["latent"] in by_latent:
            by_latent[p["latent"]].append(p)
    return {
        n: latent_note(
            n,
            info=infos.get(n),
            correlations=by_latent[n],
            effect=(effects or {}).get(n),
            match=(matches or {}).get(n),
            threshold=correlations["threshold"],
            floor=correlations["floor"],
            factor_names=factor_names,
            top=top,
        )
        for n in correlations["latents"]
    }
