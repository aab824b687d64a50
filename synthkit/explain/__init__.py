"""Interpretability of fitted synthesizers (paper 001 §7 and §4; docs/interpretability.md).

* :func:`explain` — everything at once, as an :class:`Explanation` (JSON-ready results,
  PNG figures);
* :func:`latent_feature_correlations`, :func:`latent_information` — §7.1;
* :func:`mig`, :func:`factorvae_score`, :func:`factor_matches`, :func:`disentanglement` —
  against ground-truth factors;
* :func:`perturb`, :func:`traverse`, :func:`latent_effects` — §7.2;
* :func:`conditioning_checks` — MS-VAE's M1–M4 (§4);
* :func:`latent_notes` — plain-language notes;
* :func:`posteriors` — posterior means and log-variances of every block.
"""

from synthkit.explain.conditioning import conditioning_checks
from synthkit.explain.correlations import latent_feature_correlations, latent_information
from synthkit.explain.disentanglement import disentanglement, factor_matches, factorvae_score, mig
from synthkit.explain.explanation import MAX_ROWS, Explanation, explain
from synthkit.explain.latents import Posterior, posteriors, resolve_latent
from synthkit.explain.notes import latent_notes
from synthkit.explain.perturbation import Perturbation, Traversal, latent_effects, perturb, traverse

__all__ = [
    "MAX_ROWS",
    "Explanation",
    "Perturbation",
    "Posterior",
    "Traversal",
    "conditioning_checks",
    "disentanglement",
    "explain",
    "factor_matches",
    "factorvae_score",
    "latent_effects",
    "latent_feature_correlations",
    "latent_information",
    "latent_notes",
    "mig",
    "perturb",
    "posteriors",
    "resolve_latent",
    "traverse",
]
