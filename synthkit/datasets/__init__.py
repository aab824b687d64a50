"""Built-in simulated data sets."""

from synthkit.datasets.credit import CREDIT_FACTORS, CREDIT_FEATURES, simulate_credit

__all__ = ["CREDIT_FACTORS", "CREDIT_FEATURES", "simulate_credit"]
