"""MS-VAE's conditioning checks (paper 001 §4, "Measuring the conditioning on C"; Fig. 4):
does the final output still depend on C through Y, with Z only adding detail?

With E the mean of stage one's encoder and G stage two's decoder (its expected row, as Y
is stage one's expected row, App. E.1):

    C_R  = E(X)                   the code of the real row
    C_Y  = E(Y),  Y = dec₁(C_R)   stage one's reconstruction
    C_X  = E(G(Y, Z)),  Z = E[z | X, Y]
    C_zε = E(G(Y, ε)),  ε ~ N(0, I) in place of Z
    C_Yε = E(G(Y_ε, Z)),  noise in place of Y

    M1 = MI[C_R; C_Y]   M2 = MI[C_R; C_X]   M3 = MI[C_R; C_zε]   M4 = MI[C_R; C_Yε]

The paper expects **M2 > M1 > M3 ≫ M4** (§4–5): Z improves the reconstruction (M2 > M1);
replacing Z by noise loses little of C (M3 tracks M1); replacing Y by noise loses C
(M4 near 0) — were G to ignore Y, M3 would be near 0 and M4 high.

*Noise in Y's space.* For images the paper feeds ε ~ N(0, I) as the image. A table's Y
lives in transformer space (mode/category probabilities and offsets), where Gaussian noise
is not a row at all and would test G far outside its inputs. Y_ε is therefore **the Y of
another, randomly chosen row** (a random derangement of the rows): a valid Y that carries
no information about this row, from the distribution G was trained on. The variant
Y_ε = dec₁(ε_c), ε_c ~ N(0, I) (Y of a code drawn from the prior) is reported beside it.

*MI estimator.* Paper 001's Appendix H defines the normalized MI it reports between two
codes: MI[C_R, C] = (1/n) Σ_i I(c^i; c_R^i) / H(c_R^i), over the n coordinates. We use it
with each coordinate cut into 20 equal-width bins (as MIG, disentanglement_lib's
discretization), averaged over **stage one's active coordinates** (mean KL to the prior
≥ 0.01 nats): an inactive coordinate's posterior mean is a near-constant whose tiny
fluctuations would add encoder noise, not information about C. Values lie in [0, 1];
two independent codes score the ``floor`` (binning bias, about (20 − 1)² / (2N) nats per
coordinate before normalization), reported for reference. Beside it, the Gaussian MI of
the two active vectors jointly, −½ Σ_k log(1 − ρ_k²) over their canonical correlations
ρ_k (exact for jointly Gaussian codes; otherwise it measures linear dependence only;
in nats, unbounded, and large when one code is a near-linear function of the other).

"≫" is read as M3 ≥ 3 · M4 (parameter ``much_greater``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from synthkit.core.trainer import flush_denormals
from synthkit.errors import SynthkitError
from synthkit.explain.disentanglement import BINS, discrete_entropy, discrete_mutual_info, discretize
from synthkit.explain.latents import fitted, labels, threaded

EXPECTED = "M2 > M1 > M3 ≫ M4"


def normalized_mi(reference: np.ndarray, other: np.ndarray, bins: int = BINS) -> tuple[float, list[float]]:
    """Paper 001 App. H, Eq. 5: mean over coordinates i of I(c^i; c_R^i) / H(c_R^i), each
    coordinate binned into `bins` equal-width bins. Returns (mean, per coordinate)."""
    if reference.shape != other.shape:
        raise SynthkitError(f"codes of different shapes: {reference.shape} and {other.shape}")
    a, b = discretize(reference, bins), discretize(other, bins)
    per = []
    for i in range(a.shape[1]):
        h = float(discrete_entropy(a[:, [i]])[0])
        mi = float(discrete_mutual_info(a[:, [i]], b[:, [i]])[0, 0])
        per.append(mi / h if h > 0 else 0.0)
    return (float(np.mean(per)) if per else 0.0), per


def gaussian_mi(a: np.ndarray, b: np.ndarray) -> float:
    """−½ Σ_k log(1 − ρ_k²), the ρ_k the canonical correlations of `a` and `b` (rows ×
    dims each): the mutual information of jointly Gaussian vectors, in nats."""
    a = np.asarray(a, float) - np.mean(a, axis=0)
    b = np.asarray(b, float) - np.mean(b, axis=0)
    n = len(a)
    if n < 3 or a.shape[1] == 0 or b.shape[1] == 0:
        return 0.0

    def inv_sqrt(m: np.ndarray) -> np.ndarray:
        w, v = np.linalg.eigh(m)
        keep = w > max(w.max(), 0.0) * 1e-10
        return (v[:, keep] / np.sqrt(w[keep])) @ v[:, keep].T

    saa, sbb, sab = a.T @ a / n, b.T @ b / n, a.T @ b / n
    rho = np.linalg.svd(inv_sqrt(saa) @ sab @ inv_sqrt(sbb), compute_uv=False)
    rho = np.clip(rho, 0.0, 1.0 - 1e-12)
    return float(-0.5 * np.log1p(-(rho**2)).sum())


@threaded
def conditioning_checks(
    synth: Any,
    data: pd.DataFrame,
    *,
    seed: int = 0,
    bins: int = BINS,
    much_greater: float = 3.0,
    inactive_below: float = 0.01,
) -> dict[str, Any]:
    """M1–M4 of paper 001 §4 for a fitted MS-VAE on the rows of `data` (see the module
    notes). JSON-ready: ``{"expected", "values": {"M1".."M4"}, "floor", "m4_variants",
    "gaussian": {...}, "per_coordinate", "checks": {...}, "holds", "gaussian_holds",
    "active_latents", "rows", "estimator", "definitions"}``."""
    transformer, model = fitted(synth)
    stage1, stage2 = getattr(model, "stage1", None), getattr(model, "stage2", None)
    if stage1 is None or stage2 is None:
        method = getattr(synth, "method_name", "?")
        raise SynthkitError(f"the conditioning checks M1–M4 apply to MS-VAE only, not {method}")
    if len(data) < 10:
        raise SynthkitError(f"need at least 10 rows for the conditioning checks, got {len(data)}")
    x = torch.as_tensor(transformer.transform(data, dtype=np.float32))  # type: ignore[attr-defined]
    gen = torch.Generator().manual_seed(seed)
    n = len(x)
    with torch.no_grad(), flush_denormals():
        mu_c, lv_c = stage1.encoder(x)

        def enc(t: torch.Tensor) -> np.ndarray:
            return stage1.encoder(t)[0].numpy().astype(np.float64)

        def g(yy: torch.Tensor, zz: torch.Tensor) -> torch.Tensor:
            return stage2.heads.mean(stage2.decoder(yy, zz))

        y = stage1.heads.mean(stage1.decoder(mu_c))
        z = stage2._posterior(x, y)[0]
        order = torch.randperm(n, generator=gen)
        other = torch.empty(n, dtype=torch.long)
        other[order] = order.roll(1)  # row order[i] takes the Y of row order[i-1]: never its own
        eps_z = torch.randn(z.shape, generator=gen)
        eps_c = torch.randn(mu_c.shape, generator=gen)
        codes = {
            "C_R": mu_c.numpy().astype(np.float64),
            "M1": enc(y),
            "M2": enc(g(y, z)),
            "M3": enc(g(y, eps_z)),
            "M4": enc(g(y[other], z)),
            "M4_prior_y": enc(g(stage1.heads.mean(stage1.decoder(eps_c)), z)),
        }
        kl = 0.5 * (mu_c**2 + torch.exp(lv_c) - lv_c - 1.0).mean(dim=0).numpy()
    names = labels("c", mu_c.shape[1])
    active = [j for j in range(len(kl)) if kl[j] >= inactive_below]
    out: dict[str, Any] = {
        "expected": EXPECTED,
        "rows": n,
        "active_latents": [names[j] for j in active],
        "estimator": (
            f"normalized MI (paper 001 App. H, Eq. 5): mean over stage one's active coordinates of "
            f"I(c_R^i; c^i) / H(c_R^i), {bins} equal-width bins per coordinate; gaussian: −½ Σ log(1 − ρ²) "
            "over canonical correlations of the active coordinates (nats)"
        ),
        "definitions": {
            "M1": "MI[C_R; E(Y)], Y = dec₁(E(X)) (stage one's reconstruction)",
            "M2": "MI[C_R; E(G(Y, Z))], Z = E[z | X, Y] (MS-VAE's reconstruction)",
            "M3": "MI[C_R; E(G(Y, ε))], ε ~ N(0, I) in place of Z",
            "M4": "MI[C_R; E(G(Y′, Z))], Y′ the Y of another, random row in place of Y",
            "M4_prior_y": "MI[C_R; E(G(dec₁(ε), Z))], Y from a code ε ~ N(0, I) drawn from the prior",
            "floor": "MI[C_R; C_R of another random row]: the value of two independent codes",
        },
    }
    if not active:
        out.update(values=None, floor=None, m4_variants=None, gaussian=None, per_coordinate=None, checks=None,
                   holds=None, gaussian_holds=None, note="stage one has no active coordinate: nothing to condition on")
        return out
    ref = codes["C_R"][:, active]
    values, per = {}, {}
    for key in ("M1", "M2", "M3", "M4", "M4_prior_y"):
        values[key], p = normalized_mi(ref, codes[key][:, active], bins)
        per[key] = {names[j]: v for j, v in zip(active, p)}
    floor, _ = normalized_mi(ref, ref[other.numpy()], bins)
    gauss = {key: gaussian_mi(ref, codes[key][:, active]) for key in ("M1", "M2", "M3", "M4", "M4_prior_y")}
    gauss["floor"] = gaussian_mi(ref, ref[other.numpy()])

    def checks(v: dict[str, float]) -> dict[str, bool]:
        return {
            "M2 > M1": bool(v["M2"] > v["M1"]),
            "M1 > M3": bool(v["M1"] > v["M3"]),
            f"M3 ≥ {much_greater:g}·M4": bool(v["M3"] >= much_greater * v["M4"] and v["M3"] > v["M4"]),
        }

    out["values"] = {k: values[k] for k in ("M1", "M2", "M3", "M4")}
    out["floor"] = floor
    out["m4_variants"] = {"shuffled_y": values["M4"], "prior_y": values["M4_prior_y"]}
    out["gaussian"] = gauss
    out["per_coordinate"] = per
    out["much_greater"] = much_greater
    out["checks"] = checks(values)
    out["holds"] = all(out["checks"].values())
    out["gaussian_checks"] = checks(gauss)
    out["gaussian_holds"] = all(out["gaussian_checks"].values())
    out["m3_over_m1"] = values["M3"] / values["M1"] if values["M1"] > 0 else None
    return out


