"""Evaluation of synthetic tables: fidelity, detection, utility, privacy (paper 001 §6.3)."""

from synthkit.evaluate.report import Evaluation, evaluate

__all__ = ["Evaluation", "evaluate"]
