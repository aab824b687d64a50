"""Evaluation of synthetic tables: fidelity, detection, utility, privacy (paper 001 §6.3)."""
