"""A messy "bank loan export" table with the ground truth of every defect in it.

:func:`simulate_messy_credit` returns ``(frame, truth)``. ``frame`` looks like what
``pd.read_csv`` gives for a loan-book CSV pulled out of a bank's systems: 51 columns,
formatted columns are Python strings, missing cells are NaN, plain numbers are int64 or
float64 (float64 where the column has missing cells, as ``read_csv`` would give). It
keeps seven bureau features of :func:`synthkit.datasets.simulate_credit` (same
``n_rows`` and ``seed``, so they equal that function's columns exactly) and adds the
loan-application columns a lender holds. Those are generated from latent quantities, so
the columns are correlated the way real ones are: income and the mortgage balance share a
wealth latent, income drives the loan amount, liquid assets and housing payment; bureau
utilization, delinquency and inquiries drive the credit score, the score drives the
sub-grade, the sub-grade drives the rate, amount + rate + term drive the instalment,
delinquency drives late fees, missed payments and hardship plans.

``truth`` is JSON-serialisable (str/int/float/bool/list/dict/None only) and lists every
defect planted in ``frame``. Where a number depends on the draw (support sizes, shares,
exception rows) it is computed from the returned frame, so every claim holds exactly.

Defects, their columns, and why real tables have them
-----------------------------------------------------
1. Heaped / lattice numerics (``truth["heaped"]``). People ask for round amounts and
   clerks key in round incomes, and rate sheets only have so many rates.

   * ``loan_amount``: on multiples of 25; ~60 % on multiples of 1,000, a quarter of those
     on multiples of 5,000. ``funded_amount`` inherits the lattice.
   * ``annual_income`` (and ``joint_income`` = applicant + co-borrower income): whole
     dollars, ~85 % stated to the thousand.
   * ``interest_rate`` (percent, 2 decimals) and ``interest_rate_frac``: a finite support
     of at most 55 rates (one rate sheet of 35 sub-grades, repriced for grades D-G from
     Apr-2018).
   * ``total_acc``: an integer count in 0..40 (capped at 40 by the bureau feed).

2. Sentinel codes and isolated outliers (``truth["sentinels"]``, ``truth["outliers"]``).
   Legacy systems store "unknown" as an impossible number.

   * ``num_open_lines`` = 999 in ~0.5 % of rows ("not reported").
   * ``months_since_last_delinq`` = -1 in ~3 % of its non-missing rows ("delinquent, date
     unknown").
   * ``term_months`` = 9999 in a few rows (``max(3, n_rows // 2000)``; a conversion
     default of the loan servicing system); the true term (36 or 60) is hidden there.
   * ``liquid_assets``: exactly one row at 1,000,000.00 (a fat-fingered entry), all other
     rows < 100,000.

3. Deterministic relations (``truth["relations"]``). Exports are denormalised joins, so
   derived and duplicated fields sit next to their sources.

   * ``sub_grade`` (A1..G5) -> ``grade`` (A..G): exact functional dependency.
   * ``state`` (US codes) -> ``region`` (Census region): holds except in ``min(3, n_rows)``
     rows, whose region is a different one (the branch region was keyed instead).
   * ``interest_rate`` = rate sheet[``sub_grade``, ``issue_month``] exactly (issue months
     "Jan-2018".."Jun-2018").
   * ``installment`` = annuity(``loan_amount``, ``interest_rate`` / 1200, ``term_months``)
     rounded to cents; broken only in the rows where ``term_months`` holds 9999.
   * ``total_paid`` = ``paid_principal`` + ``paid_interest`` + ``paid_late_fees`` to the cent.
   * ``funded_amount`` <= ``loan_amount`` (equal in ~90 % of rows);
     ``annual_income`` <= ``joint_income`` where both are present;
     ``num_open_lines`` <= ``total_acc`` except in the 999-sentinel rows.
   * ``interest_rate_frac`` = ``interest_rate`` / 100; formatted twins
     ``loan_amount_display`` (= ``loan_amount``), ``revol_util`` (= 100 ``Utilization``,
     1 decimal) and ``balance_fmt`` (= ``Balance`` to the dollar).
   * ``approved`` = 1 - ``rejected`` (0/1 ints).

4. Missingness (``truth["missingness"]``, expected missing share per column).

   * ``joint_income``, ``joint_dti``, ``joint_credit_score`` are missing together, exactly
     when ``application_type`` == "individual" (~85 %): structural.
   * ``months_since_last_delinq`` is missing exactly when ``delinq_2y`` == 0: structural.
   * ``emp_length``: missing completely at random, 5 %.
   * ``emp_title``: missing completely at random, 6 %.
   * ``monthly_housing_payment``: missing at random given income, 30 % overall, with
     probability 0.6 (1 - income percentile): low earners skip the field.

5. Formats (``truth["formats"]``), all Python strings:
   ``loan_amount_display`` "$12,500.00" (currency), ``revol_util`` "45.3%" (percent),
   ``balance_fmt`` "1,234" (thousands), ``adjustment_amount`` "(500.00)" / "1,250.00" /
   "0.00" (accounting: credits in parentheses), ``application_ts``
   "2018-03-05 10:22:11-05:00" (local time with UTC offset from one of +00:00, +01:00,
   -05:00, -08:00; its local year-month is the issue month).

6. Categories literally named like missing values (``truth["na_categories"]``), real levels
   that ``pd.read_csv``'s default NA list would wrongly turn into NaN:
   ``home_ownership_code`` "NA" (not applicable: lives with family), ``verification``
   "None" (income not verified), ``hardship_status`` "N/A" (no hardship plan, most rows),
   ``promo_code`` "null" (no promotion, written by a JSON-to-CSV step).

7. High-cardinality free text (``truth["free_text"]``): ``emp_title``, Zipf-distributed
   over ~70 common titles ("Teacher", "RN", "Driver", ...) and 28,800 combinatorial ones
   (seniority x field x role x level, e.g. "Senior Software Engineer II"), with lower- and
   upper-case variants; thousands of distinct values, most seen once.

8. Identifiers (``truth["identifiers"]``): ``loan_id`` "LN-0001234" (increasing with the
   application time, gaps between numbers) and ``member_ref`` "M8812-AB"; unique per row.

Plain columns without a planted defect: ``purpose``, ``application_type``, ``sub_grade``,
``state``, ``dti``, ``credit_score``, ``delinq_2y``, ``Mortgage``, ``Utilization``,
``Balance``, ``Amount Past Due``, ``Credit Inquiry``, ``Open Trade``, ``Delinquency Status``.

Schema of ``truth``
-------------------
* ``"n_rows"``: int, ``"seed"``: int.
* ``"heaped"``: ``{column: {"steps": [float, ...], "shares": [float, ...],
  "support_size": int | None}}``: the lattice step first, then coarser heaps; ``shares[i]``
  is the share of non-missing values that are multiples of ``steps[i]`` in this frame;
  ``support_size`` is the number of distinct values when the support is finite by design.
* ``"sentinels"``: ``{column: [code, ...]}``; ``"sentinel_counts"``: ``{column: {str(code):
  rows}}``; ``"outliers"``: ``{column: [value, ...]}``.
* ``"relations"``: a list of dicts; each has ``"type"``, ``"exceptions"`` (rows breaking
  it) and ``"exception_rows"`` (their row positions, sorted). Per type:

  - ``"fd"``: ``"determinant"`` [columns], ``"dependent"`` column, ``"mapping"``
    {determinant value: dependent value} (the rule the exceptions break).
  - ``"lookup"``: ``"target"`` (numeric), ``"keys"`` [categorical columns], ``"table"``
    [[key values..., target value], ...] over every key combination.
  - ``"linear"``: ``target = sum(coefficients[i] * terms[i]) + intercept`` within
    ``"tolerance"``; fields ``"target"``, ``"terms"``, ``"coefficients"``, ``"intercept"``.
  - ``"annuity"``: ``target = round(P r / (1 - (1 + r) ** -n), decimals)`` with
    ``P = principal``, ``r = rate_scale * rate``, ``n = periods``; fields ``"target"``,
    ``"principal"``, ``"rate"``, ``"rate_scale"``, ``"periods"``, ``"decimals"``.
  - ``"order"``: ``lesser <= greater`` on rows where both are present; fields
    ``"lesser"``, ``"greater"``, ``"equal_share"`` (share of rows with equality).
  - ``"copy"`` / ``"rescale"``: ``target = round(factor * source, decimals)``; fields
    ``"target"``, ``"source"``, ``"factor"``, ``"decimals"``, ``"target_format"`` (a
    ``truth["formats"]`` kind when the target is a formatted string, else None).
  - ``"missing_together"``: ``"columns"``: each row has all of them missing or none.
  - ``"missing_iff"``: ``"columns"`` are missing exactly when ``"condition"``
    ``{"column": c, "equals": v}`` holds.

* ``"missingness"``: ``{column: expected missing share}`` (the design rate; for
  ``months_since_last_delinq`` the share of ``delinq_2y == 0`` rows in this frame);
  ``"missing_mechanism"``: ``{column: {"kind": "MCAR" | "MAR" | "structural",
  "driver": column | None}}``.
* ``"formats"``: ``{column: {"kind": "currency" | "percent" | "thousands" | "accounting" |
  "tz_datetime", "example": str, "source": column | None, "scale": float | None,
  "decimals": int | None}}``: where ``source`` is set, the parsed string equals
  ``round(scale * source, decimals)``; ``tz_datetime`` also has ``"offsets"``.
* ``"na_categories"``: ``{column: [literal level, ...]}``.
* ``"free_text"``: [columns]; ``"identifiers"``: [columns].
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.special import ndtr

from synthkit.datasets.credit import _check_int, simulate_credit

# Bureau features kept from simulate_credit, under their own names.
_KEPT_BUREAU = (
    "Mortgage",
    "Utilization",
    "Amount Past Due",
    "Balance",
    "Credit Inquiry",
    "Open Trade",
    "Delinquency Status",
)

# --- the rate sheet ----------------------------------------------------------------
_GRADES = "ABCDEFG"
_SUB_GRADES = tuple(f"{g}{k}" for g in _GRADES for k in range(1, 6))
_GRADE_SHARES = (0.17, 0.29, 0.28, 0.15, 0.07, 0.03, 0.01)
_ISSUE_MONTHS = ("Jan-2018", "Feb-2018", "Mar-2018", "Apr-2018", "May-2018", "Jun-2018")
_ISSUE_MONTH_STARTS = np.array(
    ["2018-01-01", "2018-02-01", "2018-03-01", "2018-04-01", "2018-05-01", "2018-06-01"], dtype="datetime64[s]"
)
_ISSUE_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30])
_ISSUE_MONTH_SHARES = (0.14, 0.15, 0.17, 0.17, 0.18, 0.19)
_REPRICE_MONTH = 3  # Apr-2018: grades D-G repriced
_REPRICE_FROM_SUB_GRADE = 15  # D1
# Loan age at the export date (Dec-2020): payments due since the issue month.
_AGE_AT_EXPORT = 35

# --- geography: state -> Census region, with rough population weights (millions) -----
_STATES = (
    ("CT", "Northeast", 3.6), ("ME", "Northeast", 1.3), ("MA", "Northeast", 6.9),
    ("NH", "Northeast", 1.4), ("RI", "Northeast", 1.1), ("VT", "Northeast", 0.6),
    ("NJ", "Northeast", 8.9), ("NY", "Northeast", 19.5), ("PA", "Northeast", 12.8),
    ("IL", "Midwest", 12.7), ("IN", "Midwest", 6.7), ("MI", "Midwest", 10.0),
    ("OH", "Midwest", 11.7), ("WI", "Midwest", 5.8), ("IA", "Midwest", 3.2),
    ("KS", "Midwest", 2.9), ("MN", "Midwest", 5.6), ("MO", "Midwest", 6.1),
    ("NE", "Midwest", 1.9), ("ND", "Midwest", 0.8), ("SD", "Midwest", 0.9),
    ("DE", "South", 1.0), ("FL", "South", 21.3), ("GA", "South", 10.5),
    ("MD", "South", 6.0), ("NC", "South", 10.4), ("SC", "South", 5.1),
    ("VA", "South", 8.5), ("DC", "South", 0.7), ("WV", "South", 1.8),
    ("AL", "South", 4.9), ("KY", "South", 4.5), ("MS", "South", 3.0),
    ("TN", "South", 6.8), ("AR", "South", 3.0), ("LA", "South", 4.7),
    ("OK", "South", 3.9), ("TX", "South", 28.7),
    ("AZ", "West", 7.2), ("CO", "West", 5.7), ("ID", "West", 1.8),
    ("MT", "West", 1.1), ("NV", "West", 3.0), ("NM", "West", 2.1),
    ("UT", "West", 3.2), ("WY", "West", 0.6), ("AK", "West", 0.7),
    ("CA", "West", 39.6), ("HI", "West", 1.4), ("OR", "West", 4.2),
    ("WA", "West", 7.5),
)  # fmt: skip
_REGIONS = ("Northeast", "Midwest", "South", "West")
_REGION_EXCEPTIONS = 3
_EXCEPTION_STATES = ("CA", "TX", "FL", "NY", "PA")  # exceptions go to populous states

# --- categorical levels -------------------------------------------------------------
_PURPOSES = (
    ("debt_consolidation", 0.55), ("credit_card", 0.20), ("home_improvement", 0.07),
    ("other", 0.06), ("major_purchase", 0.04), ("medical", 0.02), ("car", 0.02),
    ("small_business", 0.02), ("moving", 0.01), ("vacation", 0.01),
)  # fmt: skip
_PROMO_CODES = (("null", 0.70), ("WEB10", 0.12), ("REFI5", 0.10), ("SPRING18", 0.08))
_HOME_OWNERSHIP = ("OWN", "RENT", "MORTGAGE", "NA")
_VERIFICATION = ("None", "Source Verified", "Verified")
_HARDSHIP = ("N/A", "ACTIVE", "COMPLETED", "BROKEN")
_EMP_LENGTHS = (
    ("< 1 year", 0.08), ("1 year", 0.07), ("2 years", 0.09), ("3 years", 0.08),
    ("4 years", 0.06), ("5 years", 0.06), ("6 years", 0.05), ("7 years", 0.05),
    ("8 years", 0.05), ("9 years", 0.04), ("10+ years", 0.37),
)  # fmt: skip
_TZ_OFFSETS = (("+00:00", 0, 0.20), ("+01:00", 60, 0.10), ("-05:00", -300, 0.50), ("-08:00", -480, 0.20))

# --- heaping, sentinels, missingness --------------------------------------------------
_AMOUNT_MIN, _AMOUNT_MAX = 1_000.0, 40_000.0
_P_ROUND_5000 = 0.01  # asked for a multiple of 5,000
_P_ROUND_1000 = 0.57  # asked for a multiple of 1,000 (a quarter of these land on 5,000s)
_P_INCOME_EXACT = 0.15  # income stated to the dollar
_P_FUNDED_LESS = 0.10
_P_JOINT = 0.15
_P_EMP_LENGTH_MISSING = 0.05
_P_EMP_TITLE_MISSING = 0.06
_HOUSING_MISSING_MAX = 0.60  # P(missing) = 0.6 * (1 - income percentile), mean 0.30
_OPEN_LINES_SENTINEL = 999
_P_OPEN_LINES_SENTINEL = 0.005
_TERM_SENTINEL = 9999
_DELINQ_SENTINEL = -1
_P_DELINQ_SENTINEL = 0.03
_LIQUID_OUTLIER = 1_000_000.0
_LIQUID_CAP = 100_000.0
_MAX_ACCOUNTS = 40

# --- emp_title vocabulary -------------------------------------------------------------
_COMMON_TITLES = (
    "Teacher", "Manager", "Owner", "Registered Nurse", "RN", "Driver", "Supervisor", "Sales",
    "Project Manager", "Office Manager", "General Manager", "Director", "Truck Driver", "Engineer",
    "President", "Nurse", "Sales Manager", "Police Officer", "Operations Manager", "Store Manager",
    "Accountant", "Administrative Assistant", "Software Engineer", "Technician", "Mechanic",
    "Electrician", "Attorney", "Cashier", "Server", "Analyst", "Vice President", "Account Manager",
    "Customer Service", "Consultant", "Paralegal", "Pharmacist", "Bartender", "Clerk", "Foreman",
    "Machine Operator", "Firefighter", "Social Worker", "Professor", "Physician", "Dental Hygienist",
    "Mail Carrier", "Letter Carrier", "Bus Driver", "Welder", "Carpenter", "Plumber", "Chef", "Cook",
    "Receptionist", "Bookkeeper", "Controller", "CEO", "LPN", "CNA", "Pastor", "Realtor",
    "Loan Officer", "Underwriter", "Program Manager", "Branch Manager", "Marketing Manager",
    "Executive Assistant", "Medical Assistant", "Security Officer", "Warehouse Associate",
    "Mgr", "Manger", "Sr. Manager", "Teacher Aide",
)  # fmt: skip
_SENIORITY = ("", "Senior ", "Sr. ", "Junior ", "Lead ", "Chief ", "Assistant ", "Associate ",
              "Principal ", "Head ", "Staff ", "Regional ")  # fmt: skip
_FIELDS = ("Software", "Sales", "Marketing", "Accounting", "Nursing", "Warehouse", "Customer Service",
           "IT", "HR", "Operations", "Project", "Finance", "Maintenance", "Logistics", "Quality", "Data",
           "Network", "Retail", "Construction", "Medical", "Billing", "Claims", "Payroll", "Facilities",
           "Production", "Research", "Systems", "Security", "Training", "Design")  # fmt: skip
_ROLES = ("Engineer", "Manager", "Analyst", "Specialist", "Technician", "Assistant", "Coordinator",
          "Supervisor", "Representative", "Clerk", "Director", "Consultant", "Administrator", "Officer",
          "Associate", "Developer", "Planner", "Auditor", "Lead", "Agent")  # fmt: skip
_LEVELS = ("", " I", " II", " III")
_TITLE_VOCAB_SEED = 20_180_101  # fixed: the vocabulary is the same for every seed
_ZIPF_OFFSET = 10.0
_ZIPF_EXPONENT = 1.0
_P_TITLE_LOWER = 0.12
_P_TITLE_UPPER = 0.04


def simulate_messy_credit(n_rows: int = 10_000, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Simulate a messy bank loan export; return ``(frame, truth)``.

    ``frame`` has ``n_rows`` rows and 51 columns (see the module docstring for every
    column, defect and the schema of ``truth``). The seven bureau columns equal
    ``simulate_credit(n_rows, seed)[0]``'s columns of the same names; everything else comes
    from ``np.random.default_rng([seed, 1])``. The same seed gives an identical frame and
    truth. Raises :class:`SynthkitError` if ``n_rows`` is not an int >= 1 or ``seed`` not
    an int >= 0.
    """
    _check_int("n_rows", n_rows, minimum=1)
    _check_int("seed", seed, minimum=0)
    n = int(n_rows)
    bureau, _ = simulate_credit(n, int(seed))
    rng = np.random.default_rng([int(seed), 1])

    mortgage = bureau["Mortgage"].to_numpy()
    utilization = bureau["Utilization"].to_numpy()
    balance = bureau["Balance"].to_numpy()
    inquiries = bureau["Credit Inquiry"].to_numpy()
    open_trade = bureau["Open Trade"].to_numpy()
    status = [bureau[f"Delinquency Status{s}"].to_numpy() for s in ("", "_3m", "_6m", "_12m")]

    # --- latents: wealth (shared with the mortgage balance) and credit risk ----------
    z_mortgage = (np.log(mortgage) - np.log(200_000.0)) / 0.6
    z_income = 0.4 * z_mortgage + np.sqrt(1 - 0.16) * rng.standard_normal(n)
    income_pct = ndtr(z_income)
    z_util = (utilization - 0.4) / 0.3
    risk = (
        0.6 * z_util
        + 0.6 * (status[0] > 0)
        + 0.25 * status[0]
        + 0.3 * (status[3] > 0)
        + 0.12 * inquiries
        - 0.25 * z_income
        + 0.7 * rng.standard_normal(n)
    )
    credit_score = np.clip(np.round(712.0 - 38.0 * risk), 300, 850).astype(np.int64)

    # --- application -------------------------------------------------------------------
    application_type = np.where(rng.random(n) < _P_JOINT, "joint", "individual")
    joint = application_type == "joint"
    purpose = _draw_levels(rng, n, _PURPOSES)
    promo_code = _draw_levels(rng, n, _PROMO_CODES)

    income_raw = np.clip(np.exp(np.log(65_000.0) + 0.55 * z_income), 8_000.0, 3_000_000.0)
    annual_income = _heap_income(rng, income_raw)

    amount_raw = income_raw * np.exp(np.log(0.17) + 0.40 * rng.standard_normal(n)) * np.where(joint, 1.3, 1.0)
    amount_raw = np.clip(amount_raw, _AMOUNT_MIN, _AMOUNT_MAX)
    loan_amount = _heap_amount(rng, amount_raw)
    cut = np.maximum(25.0, np.round(loan_amount * rng.uniform(0.02, 0.30, n) / 25.0) * 25.0)
    funded_amount = np.where(rng.random(n) < _P_FUNDED_LESS, loan_amount - cut, loan_amount)

    long_term = rng.random(n) < ndtr(-1.2 + 2.0 * loan_amount / _AMOUNT_MAX)
    true_term = np.where(long_term, 60, 36).astype(np.int64)

    # Sub-grade from the score (plus underwriter judgement), rate from the sheet.
    t = (credit_score - 700.0) / 50.0
    g = -(0.85 * t + 0.53 * rng.standard_normal(n))
    sub_grade_cum = np.cumsum(np.repeat(np.asarray(_GRADE_SHARES) / 5.0, 5))
    sub_grade_idx = np.minimum(np.searchsorted(sub_grade_cum, ndtr(g)), len(_SUB_GRADES) - 1)
    month_idx = rng.choice(len(_ISSUE_MONTHS), size=n, p=_ISSUE_MONTH_SHARES)
    rate_sheet = _rate_sheet()
    interest_rate = rate_sheet[sub_grade_idx, month_idx]
    interest_rate_frac = np.round(interest_rate / 100.0, 6)
    sub_grade = np.asarray(_SUB_GRADES, dtype=object)[sub_grade_idx]
    grade = np.asarray([s[0] for s in _SUB_GRADES], dtype=object)[sub_grade_idx]
    issue_month = np.asarray(_ISSUE_MONTHS, dtype=object)[month_idx]

    monthly_rate = interest_rate / 1200.0
    installment = np.round(_annuity(loan_amount, monthly_rate, true_term), 2)
    term_months = true_term.copy()
    term_sentinel_rows = _pick_rows(rng, n, min(n, max(3, n // 2000)))
    term_months[term_sentinel_rows] = _TERM_SENTINEL

    # --- borrower ----------------------------------------------------------------------
    emp_title = _emp_titles(rng, n)
    emp_title[rng.random(n) < _P_EMP_TITLE_MISSING] = np.nan
    emp_length = _draw_levels(rng, n, _EMP_LENGTHS)
    emp_length[rng.random(n) < _P_EMP_LENGTH_MISSING] = np.nan

    big = loan_amount / _AMOUNT_MAX
    verification = _draw_softmax(
        rng, _VERIFICATION, np.stack([0.3 - 2.0 * big, np.zeros(n), -0.5 + 2.0 * big], axis=1)
    )
    home_logits = np.stack(
        [-1.2 + 0.3 * z_income, -0.6 * z_income, 0.1 + 0.8 * z_income, np.full(n, -2.6)], axis=1
    )
    home_idx = _draw_softmax_index(rng, home_logits)
    home_ownership_code = np.asarray(_HOME_OWNERSHIP, dtype=object)[home_idx]
    noise = np.exp(0.15 * rng.standard_normal(n))
    housing = np.select(
        [home_idx == 2, home_idx == 1, home_idx == 0],
        [mortgage * 0.0055 * noise, income_raw / 12.0 * 0.28 * noise**1.5, 250.0 * noise**2.5],
        default=0.0,
    )
    monthly_housing_payment = np.round(housing, 2)
    monthly_housing_payment[rng.random(n) < _HOUSING_MISSING_MAX * (1.0 - income_pct)] = np.nan

    state_weights = np.array([w for _, _, w in _STATES])
    state_idx = rng.choice(len(_STATES), size=n, p=state_weights / state_weights.sum())
    state = np.asarray([s for s, _, _ in _STATES], dtype=object)[state_idx]
    region_of_state = np.asarray([_REGIONS.index(r) for _, r, _ in _STATES])
    region_idx = region_of_state[state_idx]
    populous = np.flatnonzero(np.isin(state, _EXCEPTION_STATES))
    pool = populous if populous.size >= _REGION_EXCEPTIONS else np.arange(n)
    region_exception_rows = np.sort(rng.choice(pool, size=min(_REGION_EXCEPTIONS, pool.size), replace=False))
    shift = rng.integers(1, len(_REGIONS), size=region_exception_rows.size)
    region_idx[region_exception_rows] = (region_idx[region_exception_rows] + shift) % len(_REGIONS)
    region = np.asarray(_REGIONS, dtype=object)[region_idx]

    other_debt = np.exp(np.log(150.0) + 0.8 * rng.standard_normal(n))
    debts = installment + 0.03 * balance + other_debt
    dti = np.round(100.0 * debts / (income_raw / 12.0), 2)

    co_income_raw = np.clip(np.exp(np.log(45_000.0) + 0.6 * rng.standard_normal(n)), 5_000.0, 1_000_000.0)
    joint_income = np.where(joint, annual_income + _heap_income(rng, co_income_raw), np.nan)
    co_debts = np.exp(np.log(600.0) + 0.7 * rng.standard_normal(n))
    joint_dti = np.where(joint, np.round(100.0 * (debts + co_debts) / (joint_income / 12.0), 2), np.nan)
    co_score = np.clip(credit_score + np.round(35.0 * rng.standard_normal(n)), 300, 850)
    joint_credit_score = np.where(joint, np.round((credit_score + co_score) / 2.0), np.nan)

    liquid = income_raw * np.exp(np.log(0.12) + 1.0 * rng.standard_normal(n))
    liquid_assets = np.minimum(np.round(_LIQUID_CAP * (1.0 - np.exp(-liquid / _LIQUID_CAP)), 2), 99_999.99)
    liquid_outlier_row = int(rng.integers(n))
    liquid_assets[liquid_outlier_row] = _LIQUID_OUTLIER

    # --- bureau-style counts -------------------------------------------------------------
    mu = 11.0 * np.exp(0.2 * z_income) + open_trade
    total_acc = np.minimum(rng.negative_binomial(5, 5.0 / (5.0 + mu)), _MAX_ACCOUNTS).astype(np.int64)
    num_open_lines = rng.binomial(total_acc, 0.55).astype(np.int64)
    open_sentinel_rows = _pick_rows(rng, n, max(1, round(_P_OPEN_LINES_SENTINEL * n)))
    num_open_lines[open_sentinel_rows] = _OPEN_LINES_SENTINEL

    delinquent = [s > 0 for s in status]
    older = rng.poisson(0.08, n)  # delinquencies 13-24 months ago
    delinq_2y = (sum(d.astype(np.int64) for d in delinquent) + older).astype(np.int64)
    months_since = np.select(
        delinquent,
        [rng.integers(0, 3, n), rng.integers(3, 6, n), rng.integers(6, 12, n), rng.integers(12, 24, n)],
        default=rng.integers(13, 25, n),
    ).astype(np.float64)
    months_since[delinq_2y == 0] = np.nan
    has_delinq = np.flatnonzero(delinq_2y > 0)
    delinq_sentinel_rows = np.sort(
        rng.choice(has_delinq, size=max(1, round(_P_DELINQ_SENTINEL * has_delinq.size)), replace=False)
        if has_delinq.size
        else np.empty(0, dtype=np.int64)
    )
    months_since[delinq_sentinel_rows] = _DELINQ_SENTINEL

    # --- payments to the export date, in cents so that the identity is exact -----------
    age = _AGE_AT_EXPORT - month_idx
    missed = np.minimum(rng.poisson(0.4 * status[0] + 0.15 * delinq_2y), age)
    paid_count = np.minimum(age - missed, true_term)
    prepaid = rng.random(n) < 0.08
    paid_count = np.where(prepaid, rng.integers(1, age + 1), paid_count)
    growth = (1.0 + monthly_rate) ** paid_count
    remaining = loan_amount * growth - installment * (growth - 1.0) / monthly_rate
    principal = np.where(prepaid, loan_amount, loan_amount - remaining)
    interest = paid_count * installment - (loan_amount - remaining)
    principal_cents = np.round(principal * 100.0).astype(np.int64)
    interest_cents = np.maximum(np.round(interest * 100.0), 0).astype(np.int64)
    fee_cents = missed * np.round(100.0 * np.maximum(15.0, 0.05 * installment)).astype(np.int64)
    paid_principal = principal_cents / 100.0
    paid_interest = interest_cents / 100.0
    paid_late_fees = fee_cents / 100.0
    total_paid = (principal_cents + interest_cents + fee_cents) / 100.0

    adjustment_kind = rng.choice(3, size=n, p=(0.60, 0.25, 0.15))
    magnitude = np.minimum(np.round(np.exp(np.log(150.0) + 1.1 * rng.standard_normal(n)), 2), 25_000.0)
    adjustment = np.select([adjustment_kind == 1, adjustment_kind == 2], [-magnitude, magnitude], default=0.0)

    hardship_p = 0.02 + 0.10 * delinquent[0] + 0.04 * delinquent[1]
    hardship_u = rng.random(n)
    hardship_pick = rng.choice(3, size=n, p=(0.35, 0.45, 0.20)) + 1
    hardship_status = np.asarray(_HARDSHIP, dtype=object)[np.where(hardship_u < hardship_p, hardship_pick, 0)]

    approved = (rng.random(n) < ndtr((credit_score - 640.0) / 40.0)).astype(np.int64)
    rejected = 1 - approved

    # --- timestamps and identifiers ------------------------------------------------------
    day = rng.integers(0, _ISSUE_MONTH_DAYS[month_idx])
    seconds = np.clip(np.round(3600.0 * (14.0 + 3.5 * rng.standard_normal(n))), 0, 86_399).astype(np.int64)
    local = _ISSUE_MONTH_STARTS[month_idx] + (day * 86_400 + seconds).astype("timedelta64[s]")
    zone = rng.choice(len(_TZ_OFFSETS), size=n, p=[p for _, _, p in _TZ_OFFSETS])
    offset_text = np.asarray([o for o, _, _ in _TZ_OFFSETS])[zone]
    offset_minutes = np.asarray([m for _, m, _ in _TZ_OFFSETS])[zone]
    local_text = np.char.replace(np.datetime_as_string(local, unit="s"), "T", " ")
    application_ts = np.array(np.char.add(local_text, offset_text).tolist(), dtype=object)
    utc = local.astype(np.int64) - 60 * offset_minutes

    order = np.argsort(utc, kind="stable")
    numbers = np.empty(n, dtype=np.int64)
    numbers[order] = int(rng.integers(100_000, 2_000_000)) + np.cumsum(rng.geometric(0.4, n))
    loan_id = np.array([f"LN-{k:07d}" for k in numbers.tolist()], dtype=object)
    member_ref = _member_refs(rng, n)

    columns = {
        "loan_id": loan_id,
        "member_ref": member_ref,
        "application_ts": application_ts,
        "issue_month": issue_month,
        "application_type": application_type.astype(object),
        "purpose": purpose,
        "promo_code": promo_code,
        "loan_amount": loan_amount,
        "loan_amount_display": _format(loan_amount, "${:,.2f}"),
        "funded_amount": funded_amount,
        "term_months": term_months,
        "sub_grade": sub_grade,
        "grade": grade,
        "interest_rate": interest_rate,
        "interest_rate_frac": interest_rate_frac,
        "installment": installment,
        "emp_title": emp_title,
        "emp_length": emp_length,
        "annual_income": annual_income,
        "verification": verification,
        "home_ownership_code": home_ownership_code,
        "monthly_housing_payment": monthly_housing_payment,
        "state": state,
        "region": region,
        "dti": dti,
        "credit_score": credit_score,
        "joint_income": joint_income,
        "joint_dti": joint_dti,
        "joint_credit_score": joint_credit_score,
        "liquid_assets": liquid_assets,
        "total_acc": total_acc,
        "num_open_lines": num_open_lines,
        "delinq_2y": delinq_2y,
        "months_since_last_delinq": months_since,
        "Mortgage": mortgage,
        "Utilization": utilization,
        "revol_util": _format(np.round(100.0 * utilization, 1), "{:.1f}%"),
        "Balance": balance,
        "balance_fmt": _format(np.round(balance), "{:,.0f}"),
        "Amount Past Due": bureau["Amount Past Due"].to_numpy(),
        "Credit Inquiry": inquiries,
        "Open Trade": open_trade,
        "Delinquency Status": status[0],
        "paid_principal": paid_principal,
        "paid_interest": paid_interest,
        "paid_late_fees": paid_late_fees,
        "total_paid": total_paid,
        "adjustment_amount": _format_accounting(adjustment),
        "hardship_status": hardship_status,
        "approved": approved,
        "rejected": rejected,
    }
    frame = pd.DataFrame(columns)

    truth = _truth(
        frame,
        n=n,
        seed=int(seed),
        rate_sheet=rate_sheet,
        term_sentinel_rows=term_sentinel_rows,
        open_sentinel_rows=open_sentinel_rows,
        region_exception_rows=region_exception_rows,
    )
    return frame, truth


# --- generation helpers --------------------------------------------------------------------


def _rate_sheet() -> np.ndarray:
    """Rates (percent) per sub-grade (rows) and issue month (columns); D-G repriced in Apr."""
    i = np.arange(len(_SUB_GRADES), dtype=np.float64)
    base = np.round(5.32 + 0.55 * i + 0.004 * i**2, 2)
    bump = np.where(i >= _REPRICE_FROM_SUB_GRADE, np.round(0.30 + 0.02 * (i - _REPRICE_FROM_SUB_GRADE), 2), 0.0)
    sheet = np.repeat(base[:, None], len(_ISSUE_MONTHS), axis=1)
    sheet[:, _REPRICE_MONTH:] = np.round(base + bump, 2)[:, None]
    return sheet


def _annuity(principal: np.ndarray, rate: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """Level payment that repays ``principal`` in ``periods`` at per-period ``rate`` (> 0)."""
    return principal * rate / (1.0 - (1.0 + rate) ** (-periods.astype(np.float64)))


def _heap_amount(rng: np.random.Generator, raw: np.ndarray) -> np.ndarray:
    """Requested amounts: multiples of 5,000 / 1,000 by choice, else of 25, in [1,000, 40,000]."""
    u = rng.random(raw.shape[0])
    to_5000 = np.clip(np.round(raw / 5_000.0) * 5_000.0, 5_000.0, _AMOUNT_MAX)
    to_1000 = np.clip(np.round(raw / 1_000.0) * 1_000.0, _AMOUNT_MIN, _AMOUNT_MAX)
    to_25 = np.clip(np.round(raw / 25.0) * 25.0, _AMOUNT_MIN, _AMOUNT_MAX)
    return np.where(u < _P_ROUND_5000, to_5000, np.where(u < _P_ROUND_5000 + _P_ROUND_1000, to_1000, to_25))


def _heap_income(rng: np.random.Generator, raw: np.ndarray) -> np.ndarray:
    """Stated incomes: whole dollars, to the nearest thousand unless stated exactly."""
    exact = rng.random(raw.shape[0]) < _P_INCOME_EXACT
    return np.where(exact, np.round(raw), np.maximum(1_000.0, np.round(raw / 1_000.0) * 1_000.0))


def _pick_rows(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """``k`` distinct row positions out of ``n``, sorted."""
    return np.sort(rng.choice(n, size=min(k, n), replace=False))


def _draw_levels(rng: np.random.Generator, n: int, levels: tuple[tuple[str, float], ...]) -> np.ndarray:
    """``n`` draws of the levels with their probabilities, as an object array of str."""
    names = np.asarray([name for name, _ in levels], dtype=object)
    probs = np.asarray([p for _, p in levels])
    return names[rng.choice(len(levels), size=n, p=probs / probs.sum())]


def _draw_softmax_index(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """One index per row drawn from the softmax of that row's ``logits``."""
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    cum = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(logits.shape[0])[:, None]
    return np.minimum((u > cum).sum(axis=1), logits.shape[1] - 1)


def _draw_softmax(rng: np.random.Generator, levels: tuple[str, ...], logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax draw of ``levels``, as an object array of str."""
    return np.asarray(levels, dtype=object)[_draw_softmax_index(rng, logits)]


@lru_cache(maxsize=1)
def _title_vocabulary() -> tuple[np.ndarray, np.ndarray]:
    """Job titles in Zipf-rank order and their cumulative probabilities."""
    combos = [f"{s}{f} {r}{lv}" for s, f, r, lv in itertools.product(_SENIORITY, _FIELDS, _ROLES, _LEVELS)]
    combos = [c for c in combos if c not in _COMMON_TITLES]
    np.random.default_rng(_TITLE_VOCAB_SEED).shuffle(combos)
    vocab = np.asarray([*_COMMON_TITLES, *combos], dtype=object)
    weights = (np.arange(vocab.size) + _ZIPF_OFFSET) ** -_ZIPF_EXPONENT
    cum = np.cumsum(weights / weights.sum())
    return vocab, cum


def _emp_titles(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` Zipf draws of job titles, some typed in lower or upper case."""
    vocab, cum = _title_vocabulary()
    titles = vocab[np.minimum(np.searchsorted(cum, rng.random(n)), vocab.size - 1)]
    case = rng.random(n)
    lower = case < _P_TITLE_LOWER
    upper = (case >= _P_TITLE_LOWER) & (case < _P_TITLE_LOWER + _P_TITLE_UPPER)
    titles = titles.copy()
    titles[lower] = [t.lower() for t in titles[lower]]
    titles[upper] = [t.upper() for t in titles[upper]]
    return titles


def _member_refs(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unique member references like "M8812-AB" (more digits once 4 cannot hold ``n``)."""
    digits = 4
    while 10**digits * 676 < n:
        digits += 1
    codes = rng.choice(10**digits * 676, size=n, replace=False)
    number, letters = np.divmod(codes, 676)
    first, second = np.divmod(letters, 26)
    return np.array(
        [f"M{k:0{digits}d}-{chr(65 + a)}{chr(65 + b)}" for k, a, b in zip(number.tolist(), first, second)],
        dtype=object,
    )


def _format(values: np.ndarray, pattern: str) -> np.ndarray:
    """``pattern.format(v)`` per value, as an object array of str."""
    return np.array([pattern.format(v) for v in values.tolist()], dtype=object)


def _format_accounting(values: np.ndarray) -> np.ndarray:
    """Accounting strings: "1,250.00", credits in parentheses "(500.00)", zero "0.00"."""
    return np.array([f"({-v:,.2f})" if v < 0 else f"{v:,.2f}" for v in values.tolist()], dtype=object)


# --- ground truth ----------------------------------------------------------------------------


def _truth(
    frame: pd.DataFrame,
    *,
    n: int,
    seed: int,
    rate_sheet: np.ndarray,
    term_sentinel_rows: np.ndarray,
    open_sentinel_rows: np.ndarray,
    region_exception_rows: np.ndarray,
) -> dict:
    """The JSON-serialisable ground truth of every defect in ``frame``."""
    heaped = {
        "loan_amount": _heap_entry(frame["loan_amount"], [25, 1000, 5000], finite=False),
        "funded_amount": _heap_entry(frame["funded_amount"], [25, 1000, 5000], finite=False),
        "annual_income": _heap_entry(frame["annual_income"], [1, 1000], finite=False),
        "joint_income": _heap_entry(frame["joint_income"], [1, 1000], finite=False),
        "interest_rate": _heap_entry(frame["interest_rate"], [0.01], finite=True),
        "interest_rate_frac": _heap_entry(frame["interest_rate_frac"], [0.0001], finite=True),
        "total_acc": _heap_entry(frame["total_acc"], [1], finite=True),
    }
    sentinels = {
        "num_open_lines": [_OPEN_LINES_SENTINEL],
        "months_since_last_delinq": [_DELINQ_SENTINEL],
        "term_months": [_TERM_SENTINEL],
    }
    sentinel_counts = {
        column: {str(code): int((frame[column] == code).sum()) for code in codes}
        for column, codes in sentinels.items()
    }
    region_mapping = {state: region for state, region, _ in _STATES}
    joint_columns = ["joint_income", "joint_dti", "joint_credit_score"]
    open_rows = _rows(open_sentinel_rows)
    term_rows = _rows(term_sentinel_rows)
    rate_table = [
        [sub_grade, month, float(rate_sheet[i, j])]
        for i, sub_grade in enumerate(_SUB_GRADES)
        for j, month in enumerate(_ISSUE_MONTHS)
    ]
    relations: list[dict] = [
        {
            "type": "fd",
            "determinant": ["sub_grade"],
            "dependent": "grade",
            "mapping": {s: s[0] for s in _SUB_GRADES},
            **_exceptions([]),
        },
        {
            "type": "fd",
            "determinant": ["state"],
            "dependent": "region",
            "mapping": region_mapping,
            **_exceptions(_rows(region_exception_rows)),
        },
        {
            "type": "lookup",
            "target": "interest_rate",
            "keys": ["sub_grade", "issue_month"],
            "table": rate_table,
            **_exceptions([]),
        },
        {
            "type": "annuity",
            "target": "installment",
            "principal": "loan_amount",
            "rate": "interest_rate",
            "rate_scale": 1.0 / 1200.0,
            "periods": "term_months",
            "decimals": 2,
            **_exceptions(term_rows),
        },
        {
            "type": "linear",
            "target": "total_paid",
            "terms": ["paid_principal", "paid_interest", "paid_late_fees"],
            "coefficients": [1.0, 1.0, 1.0],
            "intercept": 0.0,
            "tolerance": 0.005,
            **_exceptions([]),
        },
        {
            "type": "linear",
            "target": "approved",
            "terms": ["rejected"],
            "coefficients": [-1.0],
            "intercept": 1.0,
            "tolerance": 0.0,
            **_exceptions([]),
        },
        _order(frame, "funded_amount", "loan_amount", []),
        _order(frame, "annual_income", "joint_income", []),
        _order(frame, "num_open_lines", "total_acc", open_rows),
        _scaled("rescale", "interest_rate_frac", "interest_rate", 0.01, 6, None),
        _scaled("copy", "loan_amount_display", "loan_amount", 1.0, 2, "currency"),
        _scaled("rescale", "revol_util", "Utilization", 100.0, 1, "percent"),
        _scaled("copy", "balance_fmt", "Balance", 1.0, 0, "thousands"),
        {"type": "missing_together", "columns": joint_columns, **_exceptions([])},
        {
            "type": "missing_iff",
            "columns": joint_columns,
            "condition": {"column": "application_type", "equals": "individual"},
            **_exceptions([]),
        },
        {
            "type": "missing_iff",
            "columns": ["months_since_last_delinq"],
            "condition": {"column": "delinq_2y", "equals": 0},
            **_exceptions([]),
        },
    ]
    missingness = {
        "joint_income": 1.0 - _P_JOINT,
        "joint_dti": 1.0 - _P_JOINT,
        "joint_credit_score": 1.0 - _P_JOINT,
        "months_since_last_delinq": float((frame["delinq_2y"] == 0).mean()),
        "emp_length": _P_EMP_LENGTH_MISSING,
        "emp_title": _P_EMP_TITLE_MISSING,
        "monthly_housing_payment": _HOUSING_MISSING_MAX / 2.0,
    }
    missing_mechanism = {
        "joint_income": {"kind": "structural", "driver": "application_type"},
        "joint_dti": {"kind": "structural", "driver": "application_type"},
        "joint_credit_score": {"kind": "structural", "driver": "application_type"},
        "months_since_last_delinq": {"kind": "structural", "driver": "delinq_2y"},
        "emp_length": {"kind": "MCAR", "driver": None},
        "emp_title": {"kind": "MCAR", "driver": None},
        "monthly_housing_payment": {"kind": "MAR", "driver": "annual_income"},
    }
    formats = {
        "loan_amount_display": _format_entry(frame, "loan_amount_display", "currency", "loan_amount", 1.0, 2),
        "revol_util": _format_entry(frame, "revol_util", "percent", "Utilization", 100.0, 1),
        "balance_fmt": _format_entry(frame, "balance_fmt", "thousands", "Balance", 1.0, 0),
        "adjustment_amount": _format_entry(frame, "adjustment_amount", "accounting", None, None, 2),
        "application_ts": {
            **_format_entry(frame, "application_ts", "tz_datetime", None, None, None),
            "offsets": [o for o, _, _ in _TZ_OFFSETS],
        },
    }
    return {
        "n_rows": n,
        "seed": seed,
        "heaped": heaped,
        "sentinels": sentinels,
        "sentinel_counts": sentinel_counts,
        "outliers": {"liquid_assets": [_LIQUID_OUTLIER]},
        "relations": relations,
        "missingness": missingness,
        "missing_mechanism": missing_mechanism,
        "formats": formats,
        "na_categories": {
            "home_ownership_code": ["NA"],
            "verification": ["None"],
            "hardship_status": ["N/A"],
            "promo_code": ["null"],
        },
        "free_text": ["emp_title"],
        "identifiers": ["loan_id", "member_ref"],
    }


def _rows(rows: np.ndarray) -> list[int]:
    """Sorted row positions as a list of Python ints."""
    return sorted(int(r) for r in rows)


def _exceptions(rows: list[int]) -> dict:
    """The ``exceptions`` / ``exception_rows`` fields of a relation."""
    return {"exceptions": len(rows), "exception_rows": list(rows)}


def _heap_entry(series: pd.Series, steps: list[float], *, finite: bool) -> dict:
    """Steps, observed share of values on each step, and the support size if finite."""
    values = series.dropna().to_numpy(np.float64)
    shares = []
    for step in steps:
        ratio = values / step
        shares.append(float(np.isclose(ratio, np.round(ratio), rtol=0.0, atol=1e-6).mean()) if values.size else 0.0)
    return {
        "steps": [float(s) if isinstance(s, float) else int(s) for s in steps],
        "shares": shares,
        "support_size": int(np.unique(values).size) if finite else None,
    }


def _order(frame: pd.DataFrame, lesser: str, greater: str, exception_rows: list[int]) -> dict:
    """An order relation ``lesser <= greater`` with its share of equal rows."""
    both = frame[[lesser, greater]].dropna()
    equal = float((both[lesser] == both[greater]).mean()) if len(both) else 0.0
    return {"type": "order", "lesser": lesser, "greater": greater, "equal_share": equal, **_exceptions(exception_rows)}


def _scaled(kind: str, target: str, source: str, factor: float, decimals: int, target_format: str | None) -> dict:
    """A copy/rescale relation ``target = round(factor * source, decimals)``."""
    return {
        "type": kind,
        "target": target,
        "source": source,
        "factor": factor,
        "decimals": decimals,
        "target_format": target_format,
        **_exceptions([]),
    }


def _format_entry(
    frame: pd.DataFrame, column: str, kind: str, source: str | None, scale: float | None, decimals: int | None
) -> dict:
    """A ``truth["formats"]`` entry with the column's first non-missing value as example."""
    present = frame[column].dropna()
    example = str(present.iloc[0]) if len(present) else ""
    return {"kind": kind, "example": example, "source": source, "scale": scale, "decimals": decimals}
