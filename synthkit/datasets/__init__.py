"""Built-in simulated data sets."""

from synthkit.datasets.credit import CREDIT_FACTORS, CREDIT_FEATURES, simulate_credit
from synthkit.datasets.german import GERMAN_TARGET, load_german_credit

__all__ = ["CREDIT_FACTORS", "CREDIT_FEATURES", "GERMAN_TARGET", "load_german_credit", "simulate_credit"]
