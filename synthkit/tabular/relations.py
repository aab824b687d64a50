"""Relations between columns: found in the data, confirmed or declared by the user, enforced.

A bank table is full of columns that other columns determine: a grade implied by the
sub-grade, a rate set from a grade table per issue month, a total that is the sum of its
parts, a monthly instalment given by the annuity formula, joint-applicant fields missing
exactly when the application is individual, an amount funded never above the amount asked.
A generator that learns each column's distribution and their correlations still breaks
these in a share of rows, and a detector sees it at once. synthkit finds them itself
(:func:`detect_relations`), reports them (``synthkit schema``), saves them with the schema so
a user can confirm, drop or add one (a ``"relations"`` list in the metadata file), and on
output generates the free columns and computes the determined ones (:func:`enforce`).

Relation types (``Relation.type``; ``target`` is the determined column, ``sources`` what
determines it):

=================  ===================================================================
lookup             target is a function of one or two category-like sources (categorical,
                   boolean, discrete): ``params["table"]`` lists ``[key..., value]``
conditional        target is mostly determined by one or two category-like sources (the
                   key's most frequent value in ≥ 90 % of rows — a rate set from a grade
                   table per issue month, with a few rows on the previous table): drawn
                   from its distribution given the key, ``params["table"]`` lists
                   ``[key..., value, rows]`` (values seen in fewer than five rows of a key
                   are counted with the key's most frequent value, never emitted)
linear             target = Σ coefficient·source + intercept (totals, copies, rescalings)
ratio              target = factor · Π source^exponent, exponents ±1 (a loan-to-price ratio)
annuity            target = amount·i / (1 − (1 + i)^−n), the level payment of a loan, with
                   i = rate / rate_scale (1200 for a yearly percentage paid monthly) and
                   n = term · term_scale; sources are [amount, rate, term]
schedule           target is the principal repaid (or the balance left) on a level-payment
                   loan after a whole number k of payments: sources are [amount, rate,
                   installment, term], ``params["form"]`` is "repaid" or "balance", and
                   k — in no column of the table — is modelled as a hidden column
                   ``params["count"]`` (empty in the rows the schedule does not fit)
proportion         target = source × r, where the ratio r of the two positive columns varies
                   little against the target itself (an appraised value and the price: equal
                   in 40 % of the mortgage table's rows, within 0.99–1.28 of it in 90 %); r —
                   in no column — is modelled as a hidden column ``params["ratio"]`` and kept
                   to its range in the data, [``params["low"]``, ``params["high"]``]
difference         target = source + d, where the two numeric columns are equal in far more
                   rows than their marginals make them (a count of satisfactory accounts
                   equal to the open lines in 97.8 % of the lending table's rows, 5.6 % by
                   chance); d — in no column — is modelled as a hidden column
                   ``params["difference"]`` (its point mass at 0 gives back the tied rows),
                   kept to its range in the data, and the target to its own
date_part          target (a label) is the source datetime written as ``params["format"]``
                   (strftime on the local wall time: an issue month ``May-2018`` of the
                   application timestamp ``2018-05-23 13:20:49-08:00``); ``params["labels"]``
                   are the target's labels in the data (a generated date in a month the data
                   never had keeps the model's label)
order              target ≤ source (both numeric, or both datetimes), between values: rows where a
                   side holds one of ``params["codes"][column]`` (its sentinel codes) are outside it
threshold          target lies on one side of ``params["threshold"]`` exactly when the source
                   is at its minimum ``params["at"]`` (a count of zero) and on the other when
                   it is above: months since the last inquiry ≤ 12 exactly when inquiries in
                   the last 12 months > 0. ``params["positive"]`` ("low" or "high") is the
                   side of the rows with source > at; ``params["missing"]`` ("zero",
                   "positive" or "any") where the target may be empty
missing_together   target is missing exactly when the source is
missing_iff        target is missing exactly when the source takes one of
                   ``params["values"]``
=================  ===================================================================

``holds`` is the share of the rows a relation applies to in which it held in the training
data. A relation holding in 99.9 % of rows is a relation with exceptions, not noise
(`min_holds`, default 0.999): it is kept, and the exceptions counted in the report.

Choices, and why:

* Detection runs on the whole table for category relations and missingness (cheap counts)
  and on a seeded sample of at most 5,000 rows for the numeric searches, whose results are
  then checked on every row: a 10,000 × 55 table is searched in about a second.
* A relation must be informative: the determined column varies (its majority value leaves
  at least 1 % of rows), the exceptions are at most a tenth of that variation, and each key
  level of a lookup is seen in five rows or more on average (20+ for two-key lookups) — a
  key unique per row "determines" everything, and a lookup table of near-unique keys would
  carry rare labels into the model file.
* Linear identities are found by forward selection of up to four terms per target, totals
  first (the column with the most distinct values is the one computed: it is the least
  structured, so computing it loses no heaping or lattice of its parts); coefficients and
  intercepts are snapped to round values (1, −1, 0.01, 1/12 …) when those fit as well.
* Each column is determined by at most one relation, and the relations form no cycle (a ↔
  b copies keep the earlier column free).
* Threshold relations are found between a numeric source with a point mass at its minimum
  (1–99 % of rows) and a numeric target whose values in those rows and in the others lie on
  two sides of one threshold, in at least `min_threshold_holds` of rows (99.5 %: bureau
  fields disagree in a few rows — 0.2 % of the lending table's delinquencies — and the rule
  is about a side, not a value). The target must be free of every other relation, so that
  fixing it, last, breaks none: a row on the wrong side takes the target value of another
  synthetic row of its own group that keeps the rule.
* Enforcement: missingness first (a follower takes its leader's mask; a row that needs a
  value the model left empty takes one from another synthetic row — never a real row),
  then order relations between free columns (a row breaking an isolated one takes the pair
  of another synthetic row that keeps it; chained ones raise the high side), then computed columns in dependency order, then order
  relations involving a computed column (adjusting the free side). A quotient (``loanprc =
  loanamt / price``) is generated and its numerator solved from it before it is recomputed,
  and a total on one of its point masses keeps it the same way (:func:`_solve_source`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthkit.errors import SynthkitError
from synthkit.tabular.schema import ColumnKind, Schema, column_numbers

RELATION_TYPES = (
    "lookup", "conditional", "linear", "ratio", "annuity", "schedule", "proportion", "difference", "date_part",
    "order", "threshold", "missing_together", "missing_iff",
)
VALUE_TYPES = ("lookup", "conditional", "linear", "ratio", "annuity", "schedule", "proportion", "difference",
               "date_part")

#: What a date part of a datetime column is written as, tried in this order (month-year
#: first: a loan's issue month). strftime codes, on the timestamp's local wall time.
DATE_PART_FORMATS = ("%b-%Y", "%Y-%m", "%m/%Y", "%b %Y", "%B %Y", "%Y%m", "%b-%y", "%Y-Q", "%Y", "%b", "%B",
                     "%A", "%a")
CATEGORY_LIKE = (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN, ColumnKind.DISCRETE)
NUMBER_KINDS = (ColumnKind.CONTINUOUS, ColumnKind.MIXED, ColumnKind.DISCRETE)

_NAN_KEY = "\x00missing"


@dataclass
class Relation:
    """One relation; see the module docstring for the types and their params."""

    type: str
    target: str
    sources: list[str]
    holds: float = 1.0
    params: dict[str, Any] = field(default_factory=dict)
    #: "inferred" (found in the data) or "metadata" (declared by the user).
    source: str = "inferred"
    #: Rows the relation applied to in the training data, and how many broke it.
    n_rows: int = 0
    exceptions: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "type": self.type,
            "target": self.target,
            "sources": list(self.sources),
            "holds": self.holds,
            "params": _jsonable(self.params),
            "source": self.source,
            "n_rows": self.n_rows,
            "exceptions": self.exceptions,
            "description": self.describe(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "metadata") -> Relation:
        """A relation from its dict (as saved, or as a user writes it; see :func:`parse_relations`)."""
        return cls(
            type=d["type"],
            target=str(d["target"]),
            sources=[str(c) for c in d.get("sources", [])],
            holds=float(d.get("holds", 1.0)),
            params=dict(d.get("params") or {}),
            source=d.get("source", source),
            n_rows=int(d.get("n_rows", 0)),
            exceptions=int(d.get("exceptions", 0)),
        )

    def describe(self) -> str:
        """The relation in words: 'paid_total = paid_principal + paid_interest'."""
        t, s, p = self.target, self.sources, self.params
        if self.type == "lookup":
            text = f"{t} is determined by " + (s[0] if len(s) == 1 else "(" + ", ".join(s) + ")")
        elif self.type == "conditional":
            key = s[0] if len(s) == 1 else "(" + ", ".join(s) + ")"
            text = f"{t} is drawn given {key}"
            if "mode_share" in p:
                text += f" (the key's most frequent value in {float(p['mode_share']):.1%} of rows)"
        elif self.type == "linear":
            text = f"{t} = " + _linear_text(s, p.get("coefficients", [1.0] * len(s)), p.get("intercept", 0.0))
        elif self.type == "ratio":
            num = [c for c, e in zip(s, p.get("exponents", [])) if e > 0]
            den = [c for c, e in zip(s, p.get("exponents", [])) if e < 0]
            factor = p.get("factor", 1.0)
            text = f"{t} = " + (f"{factor:g} · " if factor != 1 else "") + (" · ".join(num) or "1")
            if den:
                text += " / " + " / ".join(den)
        elif self.type == "annuity":
            text = f"{t} = annuity payment of {s[0]} at rate {s[1]} over {s[2]}"
        elif self.type == "schedule":
            what = "principal repaid" if p.get("form", "repaid") == "repaid" else "balance left"
            text = (f"{t} = {what} on {s[0]} at rate {s[1]} after a whole number of payments of {s[2]} "
                    f"(the count modelled as {p.get('count', '?')!r})")
        elif self.type == "proportion":
            text = (f"{t} = {s[0]} × ratio, ratio in {_number_text(p.get('low', 0))}–{_number_text(p.get('high', 0))} "
                    f"(modelled as {p.get('ratio', '?')!r})")
        elif self.type == "difference":
            text = (f"{t} = {s[0]} + difference, difference in {_number_text(p.get('low', 0))}–"
                    f"{_number_text(p.get('high', 0))} (modelled as {p.get('difference', '?')!r})")
        elif self.type == "date_part":
            text = f"{t} = {s[0]} written as {p.get('format', '?')!r}"
        elif self.type == "order":
            text = f"{t} ≤ {s[0]}"
            codes = p.get("codes") or {}
            if codes:
                text += " (" + "; ".join(f"{c} = {', '.join(_number_text(v) for v in vs)}" for c, vs in codes.items())
                text += " aside: codes, not values)"
        elif self.type == "threshold":
            at, thr = _number_text(p.get("at", 0)), _number_text(p.get("threshold", 0))
            pos, other = ("≤", ">") if p.get("positive", "low") == "low" else (">", "≤")
            empty_zero = " or empty" if p.get("missing") == "zero" else ""
            empty_pos = " or empty" if p.get("missing") == "positive" else ""
            text = (f"{t} {pos} {thr}{empty_pos} exactly when {s[0]} > {at} "
                    f"({other} {thr}{empty_zero} when {s[0]} = {at})")
        elif self.type == "missing_together":
            text = f"{t} is missing exactly when {s[0]} is"
        elif self.type == "missing_iff":
            values = ", ".join(repr(v) for v in p.get("values", [])[:5])
            text = f"{t} is missing exactly when {s[0]} is {values}"
        else:
            text = f"{t} ← {', '.join(s)} ({self.type})"
        if self.exceptions:
            share = f"{self.holds:.2%}" if self.holds < 0.99995 else "over 99.99%"
            text += f" (holds in {share} of rows: {self.exceptions} exception(s))"
        return text


def _number_text(v: Any) -> str:
    return f"{float(v):g}"


def _linear_text(sources: list[str], coefs: list[float], intercept: float) -> str:
    parts = []
    order = sorted(range(len(sources)), key=lambda i: coefs[i] < 0)  # positive terms first
    sources, coefs = [sources[i] for i in order], [coefs[i] for i in order]
    for c, a in zip(sources, coefs):
        sign = "-" if a < 0 else "+"
        mag = abs(a)
        term = c if mag == 1 else f"{mag:g}·{c}"
        parts.append((sign, term))
    text = ("-" if parts[0][0] == "-" else "") + parts[0][1]
    for sign, term in parts[1:]:
        text += f" {sign} {term}"
    if intercept:
        text += f" {'-' if intercept < 0 else '+'} {abs(intercept):g}"
    return text


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return str(v)


# ---------------------------------------------------------------------------------------
# Column views used by detection and checking
# ---------------------------------------------------------------------------------------


def _codes(s: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes with missing as a level of its own."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    codes = codes.astype(np.int64)
    n = len(uniques)
    if (codes < 0).any():
        codes[codes < 0] = n
        n += 1
    return codes, n


def _key(v: Any) -> Any:
    """A lookup-table key for a value (missing values share one key; numbers compare as floats)."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
        return _NAN_KEY
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    return v


def _key_series(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        out = s.astype(object)
    elif pd.api.types.is_numeric_dtype(s.dtype):
        out = s.astype(float).astype(object)
    else:
        out = s.astype(object)
    return out.where(s.notna(), _NAN_KEY)


def _decimals_of(x: np.ndarray) -> int | None:
    from synthkit.tabular.support import decimals

    f = x[np.isfinite(x)]
    return decimals(f) if len(f) else None


def _tolerance(x: np.ndarray) -> np.ndarray | float:
    d = _decimals_of(x)
    return 0.5 * 10.0 ** (-d) if d is not None else 0.0


# ---------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelationOptions:
    """Thresholds of :func:`detect_relations`."""

    #: A relation holding in at least this share of its rows is kept (with exceptions).
    min_holds: float = 0.999
    #: Rows sampled for the numeric searches (checked afterwards on every row).
    sample_rows: int = 5000
    #: Largest number of terms in a linear identity.
    max_terms: int = 4
    #: Keys of a lookup have at most this many levels ...
    max_key_levels: int = 1000
    #: ... two-key lookups at most this many levels each.
    max_pair_levels: int = 60
    #: Discrete numbers with more levels than this are never keys.
    max_discrete_key_levels: int = 20
    #: A target whose key's most frequent value holds in at least this share of rows, and
    #: whose exceptions are at most `conditional_residual` of its variation (the rows off
    #: its own majority value), is drawn given the key (a "conditional" relation). The
    #: second condition keeps a near-constant column from being "explained" by any key.
    min_conditional_holds: float = 0.9
    conditional_residual: float = 0.2
    #: Only targets with at least this many levels are drawn given a key. A model learns a
    #: few-level column's dependence on every other column well, and drawing it given the
    #: key alone would cut the rest (the mortgage table's 3-level `action` given `reject`:
    #: C2ST AUC 0.827 drawn against 0.783 modelled); where it fails is the fine joint of two
    #: wide blocks (56 rates × 94 (sub-grade, month) keys on the lending table).
    min_conditional_levels: int = 10
    #: Values seen in fewer rows of a key than this are never emitted for it.
    conditional_min_count: int = 5
    #: A loan schedule (principal repaid after a whole number of payments) is kept when it
    #: fits at least this share of rows. Rows off the schedule are real — loans paid early,
    #: late, in grace — and stay as the model generates them: 9 % of the lending table's,
    #: which is why this threshold is not `min_holds`. The schedule is a rule for the rows
    #: on it, and the hidden payment count says which rows those are.
    min_schedule_holds: float = 0.8
    #: A threshold relation (see the module docstring) is kept when it holds in this share of rows.
    min_threshold_holds: float = 0.995
    #: A proportion (see the module docstring) is found when the ratio's log varies at most
    #: this share of the target's log, over the middle 90 % of rows and over the middle half
    #: (`proportion_spread`, `proportion_iqr`). The mortgage table's appraised value to price:
    #: 0.17 and 0.07; a column and another merely correlated with it (an income and a loan
    #: amount) are far above.
    proportion_spread: float = 0.25
    proportion_iqr: float = 0.1
    #: A difference (see the module docstring) is found when the two columns are equal in at
    #: least `min_tie_share` of the rows with both, and — off their most frequent tied value
    #: — still in that share and in `min_excess_ties` more of them than two independent
    #: columns with the same marginals would be. The lending table's satisfactory accounts
    #: and open lines: 0.976 against 0.058 by chance, the months since the last delinquency
    #: and since the last 90-day late payment 0.596 against 0.012, active debit accounts and
    #: cards carrying a balance 0.238 against 0.108. Not tied by it: two columns both 0 in
    #: most rows (the messy data's amount past due and delinquency status, 0 together in 75 %
    #: of rows and never equal otherwise; bankruptcies and failures to pay, 0.814 against
    #: 0.755 off 0).
    min_tie_share: float = 0.2
    min_excess_ties: float = 0.1
    seed: int = 0


def detect_relations(df: pd.DataFrame, schema: Schema, options: RelationOptions | None = None) -> list[Relation]:
    """Find the relations of `df` (see the module docstring). Deterministic."""
    opts = options or RelationOptions()
    n = len(df)
    if n < 50:
        return []
    specs = {c.name: c for c in schema.columns if c.kind not in (ColumnKind.IDENTIFIER, ColumnKind.CONSTANT)}
    names = [c for c in schema.names if c in specs]
    graph = _Graph()
    found: list[Relation] = []
    found += _missingness(df, names, specs, opts, graph)
    lookups, near = _lookups(df, names, specs, opts, graph)
    found += lookups
    numbers = {
        c: column_numbers(df[c], specs[c])
        for c in names
        if specs[c].kind in NUMBER_KINDS or specs[c].kind is ColumnKind.DATETIME
    }
    found += _numeric(df, names, specs, numbers, opts, graph)
    found += _schedules(names, specs, numbers, opts, graph, found)
    found += _date_parts(df, names, specs, opts, graph, found)
    found += _conditionals(df, names, near, opts, graph, found)
    # Before the orders: a proportion's ratio range implies any order between its two
    # columns (an appraisal never below the price), and an order found first would leave
    # the pair to be fixed by moving one side.
    found += _proportions(names, specs, numbers, opts, graph, found)
    # Likewise a difference's range implies its pair's order.
    found += _differences(names, specs, numbers, opts, graph, found)
    found += _orders(names, specs, numbers, opts, graph, found)
    found += _thresholds(names, specs, numbers, opts, graph, found)
    return found


class _Graph:
    """Dependency edges source → target; keeps relations acyclic, one determiner per column."""

    def __init__(self) -> None:
        self.parents: dict[str, set[str]] = {}

    def determined(self, column: str) -> bool:
        return column in self.parents

    def can_add(self, target: str, sources: list[str]) -> bool:
        if target in self.parents or target in sources:
            return False
        # A cycle: target is an ancestor of a source.
        stack, seen = list(sources), set()
        while stack:
            c = stack.pop()
            if c == target:
                return False
            if c in seen:
                continue
            seen.add(c)
            stack.extend(self.parents.get(c, ()))
        return True

    def add(self, target: str, sources: list[str]) -> None:
        self.parents[target] = set(sources)


def _informative(exceptions: int, n: int, majority: int, opts: RelationOptions) -> bool:
    varied = n - majority
    return varied >= 0.01 * n and exceptions <= 0.1 * varied and exceptions <= (1 - opts.min_holds) * n + 1e-9


def _missingness(df, names, specs, opts, graph) -> list[Relation]:
    n = len(df)
    masks = {c: df[c].isna().to_numpy() for c in names}
    partial = [c for c in names if 0 < masks[c].sum() < n]
    out: list[Relation] = []
    followers: set[str] = set()
    # Missing together: a follower takes the mask of the first column of its group.
    for i, lead in enumerate(partial):
        if lead in followers:
            continue
        m = masks[lead]
        for c in partial[i + 1 :]:
            if c in followers:
                continue
            wrong = int((masks[c] != m).sum())
            majority = max(int(masks[c].sum()), n - int(masks[c].sum()))
            if _informative(wrong, n, majority, opts):
                followers.add(c)
                out.append(Relation("missing_together", c, [lead], 1 - wrong / n, n_rows=n, exceptions=wrong))
    # Missing exactly when a category-like column takes some values.
    keys = {c: _codes(df[c]) for c in names if specs[c].kind in CATEGORY_LIKE}
    for b in partial:
        if b in followers:
            continue
        m = masks[b]
        best = None
        for a, (codes, k) in keys.items():
            if a == b or k > 50 or k < 2:
                continue
            per = np.bincount(codes, weights=m, minlength=k)
            tot = np.bincount(codes, minlength=k)
            share = np.divide(per, tot, out=np.zeros(k), where=tot > 0)
            chosen = share >= 0.5
            if not chosen.any() or chosen[tot > 0].all():
                continue
            wrong = int(np.sum(np.where(chosen, tot - per, per)))
            majority = max(int(m.sum()), n - int(m.sum()))
            if _informative(wrong, n, majority, opts) and (best is None or wrong < best[0]):
                best = (wrong, a, chosen)
        if best is not None:
            wrong, a, chosen = best
            _, uniques = pd.factorize(df[a], use_na_sentinel=True)
            levels = list(uniques) + [None]
            values = [levels[j] for j in np.flatnonzero(chosen)]
            out.append(
                Relation(
                    "missing_iff", b, [a], 1 - wrong / n, params={"values": _jsonable(values)}, n_rows=n, exceptions=wrong
                )
            )
    return out


def _lookups(df, names, specs, opts, graph) -> tuple[list[Relation], dict[str, tuple[int, list[str]]]]:
    n = len(df)
    codes = {c: _codes(df[c]) for c in names}
    distinct = {c: k for c, (_, k) in codes.items()}
    majority = {c: int(np.bincount(codes[c][0]).max()) for c in names}
    # Keys are labels (categorical, boolean, small discrete codes); a number on a finite
    # support (rates from a grade table) is what a lookup computes, not what it is keyed on.
    keys = [
        c
        for c in names
        if specs[c].kind in CATEGORY_LIKE
        and 2 <= distinct[c] <= min(opts.max_key_levels, n / 5)
        and not (specs[c].kind is ColumnKind.DISCRETE and distinct[c] > opts.max_discrete_key_levels)
    ]
    slack = int((1 - opts.min_holds) * n)
    out: list[Relation] = []
    # Per target, the best near-determining key (fewest rows off its most frequent value).
    near: dict[str, tuple[int, list[str]]] = {}

    def consider(t: str, key: list[str], wrong: int) -> None:
        varied = n - majority[t]
        if (
            n - wrong >= opts.min_conditional_holds * n
            and wrong <= opts.conditional_residual * varied
            and varied >= 0.01 * n
            and (t not in near or wrong < near[t][0])
        ):
            near[t] = (wrong, key)

    def holds(key_codes: np.ndarray, n_key: int, target: str) -> int:
        tc, nt = codes[target]
        if n_key * nt <= 4_000_000:
            table = np.bincount(key_codes * nt + tc, minlength=n_key * nt).reshape(n_key, nt)
            return int(table.max(axis=1).sum())
        pairs = pd.DataFrame({"k": key_codes, "t": tc}).value_counts()
        return int(pairs.groupby(level=0).max().sum())

    # One key.
    for t in names:
        if distinct[t] < 2:
            continue
        best = None
        for k in keys:
            if k == t or distinct[t] > distinct[k] + slack:
                continue
            kc, nk = codes[k]
            ok = holds(kc, nk, t)
            wrong = n - ok
            # Fewest exceptions; then a label before a number (a grade follows from the
            # sub-grade, not from the rate set by it); then the coarser key.
            rank = (wrong, specs[k].kind is ColumnKind.DISCRETE, distinct[k])
            if _informative(wrong, n, majority[t], opts) and (best is None or rank < best[0]):
                best = (rank, k)
            elif specs[t].kind in CATEGORY_LIKE and distinct[t] >= opts.min_conditional_levels:
                consider(t, [k], wrong)
        if best is not None and graph.can_add(t, [best[1]]):
            graph.add(t, [best[1]])
            out.append(_lookup_relation(df, t, [best[1]], n - best[0][0], n))
    # Two keys, for targets no single key determines.
    pair_keys = [c for c in keys if distinct[c] <= opts.max_pair_levels]
    for i, k1 in enumerate(pair_keys):
        for k2 in pair_keys[i + 1 :]:
            c1, n1 = codes[k1]
            c2, n2 = codes[k2]
            combined, n_comb = _codes(pd.Series(c1 * n2 + c2))
            if n_comb > n / 20:
                continue
            for t in names:
                if t in (k1, k2) or graph.determined(t):
                    continue
                if not (max(n1, n2) < distinct[t] <= n_comb + slack):
                    continue
                ok = holds(combined, n_comb, t)
                wrong = n - ok
                if _informative(wrong, n, majority[t], opts) and graph.can_add(t, [k1, k2]):
                    graph.add(t, [k1, k2])
                    out.append(_lookup_relation(df, t, [k1, k2], ok, n))
                elif specs[t].kind in CATEGORY_LIKE and distinct[t] >= opts.min_conditional_levels:
                    consider(t, [k1, k2], wrong)
    return out, near


def _conditionals(df, names, near, opts, graph, found) -> list[Relation]:
    """Near-determined targets no exact relation took (those run first: a count that is the
    sum of two others is computed, not drawn), drawn given their key. A column that decides
    another's missingness is not drawn: missingness is settled before computed columns."""
    leaders = {r.sources[0] for r in found if r.type in ("missing_iff", "missing_together")}
    out = []
    for t in names:
        if t in near and t not in leaders and graph.can_add(t, near[t][1]):
            graph.add(t, near[t][1])
            out.append(_conditional_relation(df, t, near[t][1], opts.conditional_min_count))
    return out


def _conditional_relation(df: pd.DataFrame, target: str, keys: list[str], min_count: int = 5) -> Relation:
    """A conditional relation: each key's values with their row counts; a value seen in fewer
    than `min_count` rows of its key is counted with the key's most frequent value."""
    kcols = [f"k{i}" for i in range(len(keys))]
    frame = pd.DataFrame({c: _key_series(df[k]) for c, k in zip(kcols, keys)})
    frame["v"] = _key_series(df[target])
    counts = frame.value_counts(sort=False).reset_index(name="n")
    counts = counts.sort_values("n", ascending=False, kind="stable")
    mode = ~counts.duplicated(kcols)
    n = len(df)
    mode_share = float(counts.loc[mode, "n"].sum()) / n
    rare = (counts["n"] < min_count) & ~mode
    pooled = counts[rare].groupby(kcols)["n"].sum()
    kept = counts[~rare].copy()
    in_support = int(kept["n"].sum())
    if len(pooled):
        extra = kept[mode[~rare]].set_index(kcols).index.map(pooled.to_dict()).to_numpy(dtype=float)
        kept.loc[mode[~rare].to_numpy(), "n"] += np.nan_to_num(extra).astype(np.int64)
    table = [
        [None if v == _NAN_KEY else v for v in row[:-1]] + [int(row[-1])]
        for row in kept.itertuples(index=False, name=None)
    ]
    table.sort(key=lambda r: tuple(str(v) for v in r[:-1]))
    return Relation(
        "conditional", target, list(keys), in_support / n,
        params={"table": _jsonable(table), "mode_share": round(mode_share, 4)},
        n_rows=n, exceptions=n - in_support,
    )


def _conditional_draw(df: pd.DataFrame, rel: Relation, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A value per row of `df` drawn from the table's distribution given the row's key, and
    whether the key is in the table."""
    table = rel.params["table"]
    k = len(rel.sources)
    # Table rows grouped by key (stable), each key's cumulative probabilities offset by the
    # key's index: one searchsorted draws every row.
    keys = [tuple(_key(v) for v in row[:k]) for row in table]
    key_ids: dict[tuple, int] = {}
    ids = np.array([key_ids.setdefault(key, len(key_ids)) for key in keys])
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    weights = np.array([float(table[i][k + 1]) for i in order])
    values = np.empty(len(table) + 1, dtype=object)
    values[: len(table)] = [table[i][k] for i in order]
    values[len(table)] = None
    totals = np.bincount(ids, weights=weights)
    cum = np.cumsum(weights) - np.concatenate([[0.0], np.cumsum(totals)[:-1]])[ids]
    edges = ids + cum / totals[ids]
    edges[np.r_[ids[1:] != ids[:-1], True]] = ids[np.r_[ids[1:] != ids[:-1], True]] + 1.0  # exact key ends
    row_keys = pd.MultiIndex.from_arrays([_key_series(df[c]) for c in rel.sources]) if k > 1 else None
    if k == 1:
        pos = pd.Index([key[0] for key in key_ids], dtype=object).get_indexer(_key_series(df[rel.sources[0]]))
    else:
        assert row_keys is not None
        pos = pd.MultiIndex.from_tuples(list(key_ids)).get_indexer(row_keys)
    known = pos >= 0
    pick = np.searchsorted(edges, np.where(known, pos, 0) + rng.random(len(df)) * (1 - 1e-12), side="right")
    pick = np.where(known, np.minimum(pick, len(table) - 1), len(table))
    return values[pick], known


def _lookup_relation(df: pd.DataFrame, target: str, keys: list[str], ok: int, n: int) -> Relation:
    """A lookup relation whose table maps each key combination to its most frequent value."""
    frame = pd.DataFrame({f"k{i}": _key_series(df[k]) for i, k in enumerate(keys)})
    frame["v"] = _key_series(df[target])
    counts = frame.value_counts(sort=False).reset_index(name="n")
    counts = counts.sort_values("n", ascending=False, kind="stable").drop_duplicates([f"k{i}" for i in range(len(keys))])
    table = [
        [None if v == _NAN_KEY else v for v in row] for row in counts.drop(columns="n").itertuples(index=False, name=None)
    ]
    table.sort(key=lambda r: tuple(str(v) for v in r))
    return Relation("lookup", target, keys, ok / n, params={"table": _jsonable(table)}, n_rows=n, exceptions=n - ok)


def _numeric(df, names, specs, numbers, opts, graph) -> list[Relation]:
    n = len(df)
    rng = np.random.default_rng(opts.seed)
    rows = np.sort(rng.choice(n, size=min(n, opts.sample_rows), replace=False))
    # Terms may be two-valued (a flat fee charged or not); targets vary more.
    terms = [
        c
        for c in names
        if specs[c].kind in NUMBER_KINDS and np.isfinite(numbers[c]).sum() >= 50 and len(np.unique(numbers[c][np.isfinite(numbers[c])])) >= 2
    ]
    distinct = {c: len(np.unique(numbers[c][np.isfinite(numbers[c])])) for c in terms}
    cols = [c for c in terms if distinct[c] >= 3]
    scale = {c: float(np.nanmean(np.abs(numbers[c]))) for c in cols}
    order = sorted(cols, key=lambda c: (-distinct[c], -scale[c], names.index(c)))
    tol = {c: _tolerance(numbers[c]) for c in terms}
    out: list[Relation] = []
    for y in order:
        if graph.determined(y):
            continue
        rel = _linear_for(y, [c for c in terms if c != y], numbers, rows, tol, opts, graph, log=False)
        if rel is None:
            positive = [c for c in cols if c != y and np.nanmin(numbers[c]) > 0]
            if np.nanmin(numbers[y]) > 0:
                rel = _linear_for(y, positive, numbers, rows, tol, opts, graph, log=True)
        if rel is not None and rel.type == "linear":
            rel = _best_target(rel, specs, numbers, scale, tol, graph, opts)
        elif rel is not None and rel.type == "ratio":
            rel = _best_ratio_target(rel, specs, numbers, tol, graph, opts)
        if rel is not None and graph.can_add(rel.target, rel.sources):
            graph.add(rel.target, rel.sources)
            out.append(rel)
    small_cols = [c for c in names if specs[c].kind in NUMBER_KINDS and np.isfinite(numbers[c]).sum() >= 50]
    tol.update({c: _tolerance(numbers[c]) for c in small_cols if c not in tol})
    out += _annuities(small_cols, numbers, rows, tol, opts, graph)
    return out


def _check_linear(y: np.ndarray, xs: list[np.ndarray], coefs: np.ndarray, intercept: float, tol_y, tol_x) -> tuple[int, int]:
    ok_rows = np.isfinite(y)
    for x in xs:
        ok_rows &= np.isfinite(x)
    if not ok_rows.any():
        return 0, 0
    pred = np.full(ok_rows.sum(), intercept)
    slack = np.full(ok_rows.sum(), tol_y)
    for a, x, t in zip(coefs, xs, tol_x):
        pred += a * x[ok_rows]
        slack += abs(a) * t
    slack += 1e-9 * (np.abs(y[ok_rows]) + 1) + 1e-7 * np.abs(y[ok_rows])
    good = np.abs(y[ok_rows] - pred) <= slack
    return int(good.sum()), int(ok_rows.sum())


_NICE = (1.0, 0.5, 0.25, 0.1, 0.01, 0.001, 100.0, 1000.0, 12.0, 1 / 12, 0.2, 10.0)


def _snap(v: float) -> list[float]:
    """Round candidates for a fitted coefficient, nearest first."""
    cands = {round(v), round(v, 2), round(v, 4)}
    for nice in _NICE:
        for sign in (1, -1):
            cands.add(sign * nice)
    return sorted(cands, key=lambda c: abs(c - v))[:4]


def _linear_for(y, cands, numbers, rows, tol, opts, graph, log: bool) -> Relation | None:
    """Forward selection of a linear (or, on logs, multiplicative) identity for `y`."""
    f = np.log if log else (lambda a: a)
    with np.errstate(divide="ignore", invalid="ignore"):
        ys = f(numbers[y][rows])
        xs_all = {c: f(numbers[c][rows]) for c in cands}
    chosen: list[str] = []
    max_terms = 2 if log else opts.max_terms
    for _ in range(max_terms):
        best = None
        for c in cands:
            if c in chosen or not graph.can_add(y, chosen + [c]):
                continue
            mask = np.isfinite(ys)
            for k in (*chosen, c):
                mask &= np.isfinite(xs_all[k])
            if mask.sum() < max(50, 10 * (len(chosen) + 2)):
                continue
            a = np.column_stack([xs_all[k][mask] for k in (*chosen, c)] + [np.ones(mask.sum())])
            # Plain least squares to rank candidates (fast); the chosen set is refitted
            # without its exceptions below.
            coef, *_ = np.linalg.lstsq(a, ys[mask], rcond=None)
            resid = ys[mask] - a @ coef
            sse = float(resid @ resid) / max(float(np.var(ys[mask])) * mask.sum(), 1e-300)
            if best is None or sse < best[0]:
                best = (sse, c, coef)
        if best is None:
            break
        chosen.append(best[1])
        # Terms that contribute nothing once the others are in (an instalment picked first
        # for its correlation with the principal) are dropped before checking.
        mask = np.isfinite(ys)
        for k in chosen:
            mask &= np.isfinite(xs_all[k])
        a = np.column_stack([xs_all[k][mask] for k in chosen] + [np.ones(mask.sum())])
        coef, _ = _fit_trimmed(a, ys[mask])
        spread = np.std(a[:, :-1], axis=0)
        keep = np.abs(coef[:-1]) * spread > 1e-7 * max(float(np.std(ys[mask])), 1e-300)
        if not keep.all():
            chosen = [k for k, kp in zip(chosen, keep) if kp]
            if not chosen:
                continue
            mask = np.isfinite(ys)
            for k in chosen:
                mask &= np.isfinite(xs_all[k])
            a = np.column_stack([xs_all[k][mask] for k in chosen] + [np.ones(mask.sum())])
            coef, _ = _fit_trimmed(a, ys[mask])
        # Worth checking on every row once the sample mostly fits (a few exceptions make
        # the residual sum large, so count rows instead).
        resid = np.abs(ys[mask] - a @ coef)
        loose = 1e-6 * (np.abs(ys[mask]) + 1)
        if not log:
            loose = loose + 2 * float(tol[y]) + sum(abs(c) * float(tol[k]) for c, k in zip(coef[:-1], chosen))
        if np.mean(resid <= loose) >= 0.99:
            rel = _confirm(y, chosen, coef, numbers, tol, opts, log)
            if rel is not None:
                return rel
    return None


def _structure(spec: Any, x: np.ndarray) -> float:
    """Share of a column's values on structure of its own — a lattice (1.0), heaps, point
    masses, few values (discrete: 1.0) — that computing it from other columns would lose."""
    from synthkit.tabular.support import Heaping, robust_decimals

    if spec.kind is ColumnKind.DISCRETE:
        return 1.0
    f = x[np.isfinite(x)]
    if len(f) == 0:
        return 0.0
    masses = np.asarray(spec.point_masses, dtype=float)
    on_mass = float(np.isin(f, masses).mean()) if len(masses) else 0.0
    bulk = f[~np.isin(f, masses)] if len(masses) else f
    h = Heaping.fit(bulk, robust_decimals(bulk), context=f) if len(bulk) >= 50 else None
    if h is None:
        return on_mass
    # Only steps that matter at the column's scale (multiples of 25 in amounts around
    # 14,000, not cents in totals around 2,000).
    coarse = 1e-3 * float(np.median(np.abs(bulk)))
    # The unit of the column's decimals is no structure: rounding restores it.
    shares = [share for step, share in zip(h.steps, h.shares) if step > 1 and step * h.resolution >= coarse]
    return max([on_mass, *shares])


def _best_target(rel: Relation, specs, numbers, scale, tol, graph, opts) -> Relation | None:
    """The same identity solved for the column best computed: one without heaps or lattice
    of its own, then the largest in magnitude (a total is computed from its parts; computing
    a small part as the difference of two large columns would turn the model's small errors
    in them into nonsense values). Returns the original when no other member is better."""
    members = [rel.target, *rel.sources]
    coefs = dict(zip(rel.sources, rel.params["coefficients"]))
    coefs[rel.target] = -1.0
    # Computing x = (y − Σ other terms) / a turns the model's errors in the other columns
    # into errors of size Σ|a_i|·scale_i: keep that within 3× the column's own scale.
    def amplification(c: str) -> float:
        return sum(abs(coefs[o] / coefs[c]) * scale.get(o, 0.0) for o in members if o != c) / max(scale.get(c, 0.0), 1e-300)

    stable = [c for c in members if amplification(c) <= 3.0] or members
    best = min(stable, key=lambda c: (round(_structure(specs[c], numbers[c]), 1), -scale.get(c, 0.0), members.index(c)))
    if best == rel.target:
        return rel
    a_k = coefs[best]
    others = [c for c in members if c != best]
    new_coefs = [float(-coefs[c] / a_k) for c in others]
    new_coefs = [min(_snap(c), key=lambda v: abs(v - c)) if abs(min(_snap(c), key=lambda v: abs(v - c)) - c) < 1e-9 else c for c in new_coefs]
    intercept = float(-rel.params.get("intercept", 0.0) / a_k)
    candidate_graph_ok = graph.can_add(best, others)
    if not candidate_graph_ok:
        return rel
    ok, total = _check_linear(numbers[best], [numbers[c] for c in others], np.asarray(new_coefs), intercept,
                              tol[best], [tol[c] for c in others])
    if total < 50 or ok / total < opts.min_holds or total < 0.95 * np.isfinite(numbers[best]).sum():
        return rel
    return Relation("linear", best, others, ok / total, params={"coefficients": new_coefs, "intercept": intercept},
                    n_rows=total, exceptions=total - ok)


def _best_ratio_target(rel: Relation, specs, numbers, tol, graph, opts) -> Relation | None:
    """A product or ratio solved for its least structured member: a loan-to-price ratio
    heaped at 0.80 and 0.90 keeps its heaps when the price is computed from it and the amount
    (relative errors add up in a ratio whichever member is computed, so only structure
    matters)."""
    members = [rel.target, *rel.sources]
    exps = dict(zip(rel.sources, rel.params["exponents"]))
    exps[rel.target] = -1.0
    best = min(members, key=lambda c: (round(_structure(specs[c], numbers[c]), 1), members.index(c)))
    if best == rel.target:
        return rel
    others = [c for c in members if c != best]
    # target = factor · Π x^e  ⇔  best = factor^(−1/e_b) · Π_{others} x^(−e_x/e_b)
    e_b = exps[best]
    new_exps = [float(-exps[c] / e_b) for c in others]
    factor = float(rel.params.get("factor", 1.0)) ** (-1.0 / e_b)
    if not graph.can_add(best, others) or any(abs(abs(e) - 1) > 1e-9 for e in new_exps):
        return rel
    ok, total = _check_ratio(numbers[best], [numbers[c] for c in others], new_exps, factor, tol[best])
    if total < max(50, 0.95 * np.isfinite(numbers[best]).sum()) or ok / total < opts.min_holds:
        return rel
    return Relation("ratio", best, others, ok / total, params={"exponents": new_exps, "factor": factor},
                    n_rows=total, exceptions=total - ok)


def _fit_trimmed(a: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least squares refitted without the 1 % largest residuals (a relation's exceptions
    would otherwise pull its coefficients off round values); residuals of the kept rows."""
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    resid = y - a @ coef
    if len(y) >= 100:
        keep = np.abs(resid) <= np.quantile(np.abs(resid), 0.99)
        if keep.sum() > a.shape[1]:
            coef, *_ = np.linalg.lstsq(a[keep], y[keep], rcond=None)
            resid = (y - a @ coef)[keep]
    return coef, resid


def _confirm(y, terms, coef, numbers, tol, opts, log: bool) -> Relation | None:
    """Snap coefficients to round values and check the identity on every row."""
    yv = numbers[y]
    xs = [numbers[c] for c in terms]
    if log:
        exps = []
        for e in coef[:-1]:
            if abs(abs(e) - 1) > 1e-3:
                return None
            exps.append(1.0 if e > 0 else -1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = np.exp(coef[-1])
        for factor in _snap(float(raw)) + [float(raw)]:
            if factor <= 0:
                continue
            ok, total = _check_ratio(yv, xs, exps, factor, tol[y])
            if total and ok / total >= opts.min_holds and total >= max(50, 0.95 * np.isfinite(yv).sum()):
                return Relation(
                    "ratio", y, list(terms), ok / total, params={"exponents": exps, "factor": factor},
                    n_rows=total, exceptions=total - ok,
                )
        return None
    fitted = [float(c) for c in coef[:-1]]
    options = [[c] + [s for s in _snap(c) if abs(s - c) <= 1e-4 * max(abs(c), 1e-12) + 1e-9] for c in fitted]
    snapped = [opt[-1] if len(opt) > 1 else opt[0] for opt in options]
    intercepts = [0.0, float(coef[-1])]
    best = None
    for coefs in (snapped, fitted):
        for b in intercepts:
            ok, total = _check_linear(yv, xs, np.asarray(coefs), b, tol[y], [tol[c] for c in terms])
            if total >= 50 and (best is None or ok > best[0]):
                best = (ok, total, coefs, b)
    if best is None:
        return None
    ok, total, coefs, b = best
    if ok / total < opts.min_holds or any(c == 0 for c in coefs):
        return None
    if len(np.unique(yv[np.isfinite(yv)])) <= 20 and any(abs(c - round(c, 2)) > 1e-9 for c in [*coefs, b]):
        return None  # codes (1, 2, 3) "fitted" by 1.96·flag + 1.04: a lookup's job, not an identity
    if total < 0.95 * np.isfinite(yv).sum():
        return None  # holds only where a sparse term is present: not the column's rule
    return Relation(
        "linear", y, list(terms), ok / total, params={"coefficients": list(coefs), "intercept": b},
        n_rows=total, exceptions=total - ok,
    )


def _check_ratio(y, xs, exps, factor, tol_y) -> tuple[int, int]:
    rows = np.isfinite(y)
    for x in xs:
        rows &= np.isfinite(x) & (x != 0)
    if not rows.any():
        return 0, 0
    pred = np.full(rows.sum(), factor)
    for x, e in zip(xs, exps):
        pred = pred * x[rows] ** e
    slack = tol_y + 1e-6 * np.abs(y[rows])
    good = np.abs(y[rows] - pred) <= slack
    return int(good.sum()), int(rows.sum())


def annuity_payment(amount: np.ndarray, rate: np.ndarray, term: np.ndarray, rate_scale: float, term_scale: float) -> np.ndarray:
    """The level payment of a loan: amount · i / (1 − (1 + i)^−n), i = rate / rate_scale,
    n = term · term_scale (amount / n when the rate is 0)."""
    i = rate / rate_scale
    n = term * term_scale
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pay = amount * i / (1 - (1 + i) ** (-n))
    zero = i == 0
    if np.any(zero):
        pay = np.where(zero, amount / n, pay)
    return pay


def _annuities(cols, numbers, rows, tol, opts, graph) -> list[Relation]:
    def finite_min(c):
        v = numbers[c][np.isfinite(numbers[c])]
        return (v.min(), v.max()) if len(v) else (np.nan, np.nan)

    ranges = {c: finite_min(c) for c in cols}
    rates = [c for c in cols if 0 <= ranges[c][0] and ranges[c][1] <= 100 and ranges[c][1] > 0]
    terms = []
    for c in cols:
        v = numbers[c][np.isfinite(numbers[c])]
        # Whole numbers of months or years, allowing a few codes (9999) beside them.
        if len(np.unique(v)) <= 30 and ranges[c][0] >= 1 and np.mean(v <= 600) >= 0.99 and np.all(np.mod(v, 1) == 0):
            terms.append(c)
    positives = [c for c in cols if ranges[c][0] > 0]
    out: list[Relation] = []
    small = rows[:500]
    for r in rates:
        rate_scales = (1200.0,) if ranges[r][1] > 1 else (12.0,)
        for t in terms:
            if t == r:
                continue
            term_scales = (1.0, 12.0) if ranges[t][1] <= 40 else (1.0,)
            for rs in rate_scales:
                for ts in term_scales:
                    factor = annuity_payment(1.0, numbers[r][small], numbers[t][small], rs, ts)
                    for a in positives:
                        if a in (r, t):
                            continue
                        pred = numbers[a][small] * factor
                        for y in positives:
                            if y in (a, r, t) or graph.determined(y):
                                continue
                            yv = numbers[y][small]
                            close = np.abs(yv - pred) <= 0.02 + 1e-3 * np.abs(yv)
                            valid = np.isfinite(yv) & np.isfinite(pred)
                            if valid.sum() < 30 or close[valid].mean() < 0.95:
                                continue
                            full = annuity_payment(numbers[a], numbers[r], numbers[t], rs, ts)
                            ok_rows = np.isfinite(full) & np.isfinite(numbers[y])
                            slack = 2 * tol[y] + 1e-6 * np.abs(numbers[y][ok_rows]) + 1e-9
                            good = np.abs(numbers[y][ok_rows] - full[ok_rows]) <= slack
                            total, ok = int(ok_rows.sum()), int(good.sum())
                            if total >= 50 and ok / total >= opts.min_holds and graph.can_add(y, [a, r, t]):
                                graph.add(y, [a, r, t])
                                out.append(
                                    Relation(
                                        "annuity", y, [a, r, t], ok / total,
                                        params={"rate_scale": rs, "term_scale": ts}, n_rows=total, exceptions=total - ok,
                                    )
                                )
    return out


def scheduled_balance(
    amount: np.ndarray, rate: np.ndarray, installment: np.ndarray, term: np.ndarray, k: np.ndarray,
    rate_scale: float, term_scale: float,
) -> np.ndarray:
    """The balance of a level-payment loan after k payments: A·(1 + i)^k − m·((1 + i)^k − 1)/i,
    i = rate / rate_scale (A − k·m at rate 0), and 0 once k reaches the term (paid off)."""
    i = rate / rate_scale
    with np.errstate(all="ignore"):
        growth = (1 + i) ** k
        left = np.where(i == 0, amount - k * installment, amount * growth - installment * (growth - 1) / i)
    return np.where(k >= term * term_scale, 0.0, np.maximum(left, 0.0))


def nearest_count(
    amount: np.ndarray, rate: np.ndarray, installment: np.ndarray, term: np.ndarray, target: np.ndarray,
    params: dict[str, Any],
) -> np.ndarray:
    """The whole number of payments k, in [0, n], whose scheduled value is nearest `target`
    (the schedule inverted and rounded); a zero balance is the loan paid off, k = n."""
    rs, ts = float(params.get("rate_scale", 1200.0)), float(params.get("term_scale", 1.0))
    left = amount - target if params.get("form", "repaid") == "repaid" else target
    i = rate / rs
    n = term * ts
    with np.errstate(all="ignore"):
        level = installment / i
        k = np.where(i == 0, (amount - left) / installment, np.log((level - left) / (level - amount)) / np.log1p(i))
        k = np.where(np.abs(left) < 0.005, n, k)
        # Past the last payment the log is undefined (NaN): the loan is paid off.
        k = np.where(np.isnan(k) & np.isfinite(left) & (left < amount), n, k)
        return np.clip(np.round(k), 0, n)


def schedule_count(
    amount: np.ndarray, rate: np.ndarray, installment: np.ndarray, term: np.ndarray, target: np.ndarray,
    params: dict[str, Any],
) -> np.ndarray:
    """The whole number of payments k after which a loan's schedule gives `target`, per row;
    NaN where no k does (to the cent, allowing half a cent a payment for the instalment's
    rounding)."""
    rs, ts = float(params.get("rate_scale", 1200.0)), float(params.get("term_scale", 1.0))
    left = amount - target if params.get("form", "repaid") == "repaid" else target
    k = nearest_count(amount, rate, installment, term, target, params)
    with np.errstate(all="ignore"):
        ok = np.abs(scheduled_balance(amount, rate, installment, term, k, rs, ts) - left) <= 0.01 + 0.005 * k
    return np.where(ok & np.isfinite(k), k, np.nan)


def _schedules(names, specs, numbers, opts, graph, found) -> list[Relation]:
    """For each annuity (installment from amount, rate and term): a column that is the
    principal repaid, or the balance left, after a whole number of payments in at least
    `min_schedule_holds` of the rows — in most of them before the last payment (a column
    equal to the amount, k = 0, or to zero is no schedule)."""
    out: list[Relation] = []
    for ann in [r for r in found if r.type == "annuity"]:
        amount, rate, term = ann.sources
        members = {amount, rate, term, ann.target}
        sources = [amount, rate, ann.target, term]
        xs = [numbers[c] for c in (amount, rate, ann.target, term)]
        best = None
        for y in names:
            if y in members or y not in numbers or specs[y].kind not in NUMBER_KINDS or graph.determined(y):
                continue
            if not graph.can_add(y, sources):
                continue
            rows = np.isfinite(numbers[y]) & np.all([np.isfinite(x) for x in xs], axis=0)
            if rows.sum() < 50:
                continue
            for form in ("repaid", "balance"):
                params = {**ann.params, "form": form}
                k = schedule_count(*[x[rows] for x in xs], numbers[y][rows], params)
                held = np.isfinite(k)
                share = float(held.mean())
                n = xs[3][rows] * float(ann.params.get("term_scale", 1.0))
                midway = float(((k >= 1) & (k < n))[held].mean()) if held.any() else 0.0
                if share >= opts.min_schedule_holds and midway >= 0.5 and (best is None or share > best[0]):
                    best = (share, y, params, int(rows.sum()), int(held.sum()))
        if best is not None:
            share, y, params, total, ok = best
            count = f"{y} (payments made)"
            while count in names:
                count += "_"
            params["count"] = count
            graph.add(y, sources)
            out.append(Relation("schedule", y, sources, share, params=params, n_rows=total, exceptions=total - ok))
    return out


def hidden_columns(df: pd.DataFrame, specs: dict, relations: list[Relation]) -> dict[str, pd.Series]:
    """Columns the relations need that the table does not have: the payment count of each
    schedule (NaN in rows off the schedule), the ratio of each proportion (NaN where either
    side is empty). The model learns them beside the table's columns; they are never
    written out."""
    out = {}
    for rel in relations:
        if not all(c in df.columns for c in (rel.target, *rel.sources)):
            continue
        if rel.type == "schedule":
            xs = [column_numbers(df[c], specs[c]) for c in (*rel.sources, rel.target)]
            out[rel.params["count"]] = pd.Series(schedule_count(*xs, rel.params), index=df.index)
        elif rel.type == "proportion":
            out[rel.params["ratio"]] = pd.Series(_proportion_ratio(column_numbers(df[rel.target], specs[rel.target]),
                                                                   column_numbers(df[rel.sources[0]], specs[rel.sources[0]])),
                                                 index=df.index)
        elif rel.type == "difference":
            out[rel.params["difference"]] = pd.Series(
                _difference(*_difference_sides(df, specs, rel)), index=df.index)
    return out


def _local_ns(s: pd.Series, params: dict[str, Any]) -> np.ndarray:
    """A datetime column's local wall time (float ns; NaN where empty): the written time of a
    timestamp with a UTC offset, not its UTC instant."""
    from synthkit.tabular.schema import datetime_ns, stripped_text

    if params.get("offset_format"):
        from synthkit.tabular.formats import OffsetDatetimeFormat

        utc, offset = OffsetDatetimeFormat.from_dict(params["offset_format"]).parse(stripped_text(s))
        return utc + offset * 60e9
    return datetime_ns(s, params.get("source_format"))


def _date_part_text(ns: np.ndarray, fmt: str) -> np.ndarray:
    """`ns` written as strftime `fmt` ("%Y-Q": year and quarter, 2018-Q2); None where empty."""
    out = np.full(len(ns), None, dtype=object)
    rows = np.isfinite(ns)
    if rows.any():
        t = pd.to_datetime(ns[rows].astype(np.int64))
        if fmt == "%Y-Q":
            out[rows] = (t.strftime("%Y-Q") + ((t.month - 1) // 3 + 1).astype(str)).to_numpy(dtype=object)
        else:
            out[rows] = t.strftime(fmt).to_numpy(dtype=object)
    return out


def _date_part_params(df: pd.DataFrame, specs: dict, target: str, source: str, formats=DATE_PART_FORMATS,
                      min_holds: float = 0.999, cache: dict | None = None) -> dict[str, Any] | None:
    """The format in which `target` writes `source` in at least `min_holds` of the rows with
    both, with what reading the source needs; None when no format does. `cache` keeps the
    source's local times and written forms between calls (one per label column tried)."""
    spec = specs[source]
    params: dict[str, Any] = {"source_format": spec.datetime_format, "offset_format": spec.offset_format}
    cache = {} if cache is None else cache
    if (source, None) not in cache:
        cache[(source, None)] = _local_ns(df[source], params)
    local = cache[(source, None)]
    labels = df[target].astype("string").str.strip().to_numpy(dtype=object, na_value=None)
    rows = np.isfinite(local) & np.array([v is not None for v in labels])
    if rows.sum() < 50:
        return None
    for fmt in formats:
        if (source, fmt) not in cache:
            cache[(source, fmt)] = _date_part_text(local, fmt)
        text = cache[(source, fmt)][rows]
        if np.mean(text == labels[rows]) >= min_holds:
            kept = sorted({v for v in labels if v is not None})
            return {"format": fmt, **params, "labels": kept}
    return None


def _date_parts(df: pd.DataFrame, names, specs, opts, graph, found) -> list[Relation]:
    """Label columns that write a datetime column's month, year, quarter or weekday (see
    :data:`DATE_PART_FORMATS`) in at least `min_holds` of rows, the target in no other value
    relation. A model learns the timestamp and the label apart and pairs them loosely: on
    the messy data (`issue_month` of `application_ts`) the pair alone was detected at AUC
    0.83, 0.27 above either column."""
    targets = {r.target for r in found}
    sources = [c for c in names if specs[c].kind is ColumnKind.DATETIME]
    labels = [c for c in names if specs[c].kind is ColumnKind.CATEGORICAL and c not in targets
              and 2 <= specs[c].n_unique <= opts.max_key_levels]
    out = []
    cache: dict = {}
    for tgt in labels:
        for src in sources:
            params = _date_part_params(df, specs, tgt, src, min_holds=opts.min_holds, cache=cache)
            if params is None or not graph.can_add(tgt, [src]):
                continue
            graph.add(tgt, [src])
            bad = violations(df, specs, Relation("date_part", tgt, [src], params=params))
            n = int((np.isfinite(_local_ns(df[src], params)) & df[tgt].notna().to_numpy()).sum())
            out.append(Relation("date_part", tgt, [src], 1 - int(bad.sum()) / max(n, 1), params, n_rows=n,
                                exceptions=int(bad.sum())))
            break
    return out


def _proportion_ratio(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """target / source, rounded to 12 significant digits (so that equal columns give exactly
    1, and the ratio's point masses are found); NaN where either is empty or not positive."""
    with np.errstate(all="ignore"):
        r = np.where((target > 0) & (source > 0), target / source, np.nan)
    scale = 10.0 ** (11 - np.floor(np.log10(np.where(np.isfinite(r), r, 1.0))))
    return np.round(r * scale) / scale


def _proportions(names, specs, numbers, opts, graph, found) -> list[Relation]:
    """Pairs of positive numeric columns whose ratio varies little against the target:
    the target is then generated as source × a modelled ratio (see the module docstring).
    Found after the other value relations and before orders and thresholds (which then
    leave the pair alone): the target is in no other value relation. Of the two directions,
    the target is the later column of the table; each column is the target of one."""
    busy = {c for r in found for c in (r.target, *r.sources)}
    cols = [c for c in names if c in numbers and specs[c].kind is not ColumnKind.DATETIME]
    logs: dict[str, np.ndarray] = {}
    for c in cols:
        x = numbers[c]
        fin = x[np.isfinite(x)]
        if len(fin) >= 50 and fin.min() > 0 and len(np.unique(fin)) >= 20:
            with np.errstate(all="ignore"):
                logs[c] = np.log(np.where(np.isfinite(x) & (x > 0), x, np.nan))
    out: list[Relation] = []
    taken: set[str] = set()
    for j, tgt in enumerate(names):
        if tgt not in logs or tgt in busy:
            continue
        lt = logs[tgt]
        t_fin = np.isfinite(lt)
        t_q = np.quantile(lt[t_fin], [0.05, 0.25, 0.75, 0.95])
        best = None
        for src in names[:j]:
            if src not in logs or src in taken:
                continue
            both = t_fin & np.isfinite(logs[src])
            # Where the target has a value, so does the source (else no ratio gives it).
            if both.sum() < 50 or (t_fin & ~both).sum() > (1 - opts.min_holds) * t_fin.sum():
                continue
            d = lt[both] - logs[src][both]
            q = np.quantile(d, [0.05, 0.25, 0.75, 0.95])
            spread, iqr = (q[3] - q[0]) / max(t_q[3] - t_q[0], 1e-12), (q[2] - q[1]) / max(t_q[2] - t_q[1], 1e-12)
            if spread <= opts.proportion_spread and iqr <= opts.proportion_iqr and (best is None or spread < best[0]):
                best = (spread, src)
        if best is None or not graph.can_add(tgt, [best[1]]):
            continue
        src = best[1]
        graph.add(tgt, [src])
        taken.add(tgt)
        busy.add(tgt)
        learned = _proportion_params(numbers[tgt], numbers[src])
        rows = int(learned.pop("rows"))
        out.append(Relation("proportion", tgt, [src], 1.0, {"ratio": f"{tgt} ÷ {src}", **learned}, n_rows=rows))
    return out


def _proportion_params(target: np.ndarray, source: np.ndarray) -> dict[str, float]:
    """A proportion's ratio range, the rows with a ratio, and the target's lattice (``step``; 0 for none): the target
    is computed on it, as the data have it — the messy data's funded amount is the loan
    amount less a cut on multiples of 25, and a product rounded to whole dollars would not
    be (a detector finds the off-lattice amounts)."""
    from synthkit.tabular.support import Heaping, decimals

    ratio = _proportion_ratio(target, source)
    fin = ratio[np.isfinite(ratio)]
    if len(fin) == 0:
        raise SynthkitError("no row has both columns positive")
    t = target[np.isfinite(target)]
    heaping = Heaping.fit(t, decimals(t))
    step = heaping.steps[0] * heaping.resolution if heaping is not None and heaping.steps[0] > 1 else 0.0
    return {"low": float(fin.min()), "high": float(fin.max()), "step": float(step), "rows": int(len(fin))}


def _difference(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """target − source, rounded to 12 significant digits of the larger side (so that equal
    columns give exactly 0 and a lattice of both gives the difference's); NaN where either is empty."""
    with np.errstate(all="ignore"):
        d = target - source
        size = np.maximum(np.abs(target), np.abs(source))
        scale = 10.0 ** (11 - np.floor(np.log10(np.where(np.isfinite(size) & (size > 0), size, 1.0))))
    return np.round(d * scale) / scale


def _difference_sides(df: pd.DataFrame, specs: dict, rel: Relation) -> tuple[np.ndarray, np.ndarray]:
    """A difference's target and source as numbers, their sentinel codes empty (a code is not a quantity)."""
    t, s = rel.target, rel.sources[0]
    return (_without_codes(column_numbers(df[t], specs[t]), specs[t].sentinels),
            _without_codes(column_numbers(df[s], specs[s]), specs[s].sentinels))


def _differences(names, specs, numbers, opts, graph, found) -> list[Relation]:
    """Pairs of numeric columns equal in far more rows than their marginals make them (see
    :class:`RelationOptions`): the target is then generated as source + a modelled difference,
    whose point mass at 0 gives back the ties. A model that learns each column's modes
    matches the two columns' values only loosely: on the lending table it made the
    satisfactory accounts equal to the open lines in 70 % of rows where the data have 97.8 %,
    and the months since the last delinquency equal to those since the last 90-day late
    payment in 1.6 % where the data have 60 % (the two most detectable pairs there, 0.10–0.14
    above either column alone). Found after the proportions, before orders and thresholds;
    the target is in no other value relation, and each column is the target of at most one.
    Of the two directions, the target is the column whose values more rarely lack the
    other's (those rows keep the model's value), the later one on a tie."""
    busy = {c for r in found for c in (r.target, *r.sources)}
    cols = [c for c in names if c in numbers and specs[c].kind is not ColumnKind.DATETIME]
    values = {c: _without_codes(numbers[c], specs[c].sentinels) for c in cols}
    values = {c: v for c, v in values.items() if len(np.unique(v[np.isfinite(v)])) >= 3}
    candidates = []
    names_v = [c for c in cols if c in values]
    for i, a in enumerate(names_v):
        for b in names_v[i + 1:]:
            x, y = values[a], values[b]
            both = np.isfinite(x) & np.isfinite(y)
            n = int(both.sum())
            if n < 50:
                continue
            xb, yb = x[both], y[both]
            tied = xb == yb
            if tied.mean() < opts.min_tie_share:
                continue
            # Off the most frequent tied value: two columns that are 0 together (an amount past due
            # and a delinquency status) share a point mass, not their values.
            tie_values, tie_counts = np.unique(xb[tied], return_counts=True)
            off = (xb != tie_values[np.argmax(tie_counts)]) | (yb != tie_values[np.argmax(tie_counts)])
            m = int(off.sum())
            if m < 50:
                continue
            ties = float(tied[off].mean())
            vx, cx = np.unique(xb[off], return_counts=True)
            vy, cy = np.unique(yb[off], return_counts=True)
            _, ix, iy = np.intersect1d(vx, vy, assume_unique=True, return_indices=True)
            chance = float((cx[ix] / m * cy[iy] / m).sum())
            if ties < opts.min_tie_share or ties - chance < opts.min_excess_ties:
                continue
            # Rows where one side has a value and the other none: the former cannot be computed there.
            lone_a, lone_b = int((np.isfinite(x) & ~np.isfinite(y)).sum()), int((np.isfinite(y) & ~np.isfinite(x)).sum())
            tgt, src = (b, a) if lone_b <= lone_a else (a, b)
            candidates.append((ties - chance, tgt, src))
    out: list[Relation] = []
    for _excess, tgt, src in sorted(candidates, key=lambda c: -c[0]):
        if tgt in busy or not graph.can_add(tgt, [src]):
            continue
        graph.add(tgt, [src])
        busy.add(tgt)
        params: dict[str, Any] = {"difference": f"{tgt} − {src}", **_difference_params(values[tgt], values[src])}
        codes = _sentinel_codes(specs, (tgt, src))
        if codes:
            params["codes"] = codes
        rows = int(params.pop("rows"))
        out.append(Relation("difference", tgt, [src], 1.0, params, n_rows=rows))
    return out


def _difference_params(target: np.ndarray, source: np.ndarray) -> dict[str, float]:
    """A difference's range, the target's range (the computed target is kept to both), the rows where the
    target has a value and the source none (``alone``: with none, the output has none either) and the rows with
    both."""
    d = _difference(target, source)
    fin = d[np.isfinite(d)]
    if len(fin) == 0:
        raise SynthkitError("no row has both columns")
    t = target[np.isfinite(target)]
    return {"low": float(fin.min()), "high": float(fin.max()), "target_low": float(t.min()),
            "target_high": float(t.max()), "alone": int((np.isfinite(target) & np.isnan(source)).sum()),
            "rows": int(len(fin))}


def _orders(names, specs, numbers, opts, graph, found) -> list[Relation]:
    rng = np.random.default_rng(opts.seed)
    linked = {(r.target, s) for r in found if r.type in VALUE_TYPES for s in r.sources}
    linked |= {(b, a) for a, b in linked}
    # A sentinel code (999 for "not reported") is not a quantity: an order holds between
    # values, and the rows where either side is a code are left out, as missing ones are
    # (on the messy data, open lines ≤ total accounts in every row but the 0.5 % coded 999:
    # missed at the 99.9 % bar while the codes counted, and the model broke it in 1 row of 7).
    values = {c: _without_codes(numbers[c], specs[c].sentinels) for c in names if c in numbers}
    cols = [c for c in names if c in values and len(np.unique(values[c][np.isfinite(values[c])])) >= 3]
    edges: dict[tuple[str, str], tuple[float, int, int]] = {}
    for i, a in enumerate(cols):
        for b in cols:
            if a == b or (a, b) in linked:
                continue
            if (specs[a].kind is ColumnKind.DATETIME) != (specs[b].kind is ColumnKind.DATETIME):
                continue
            x, y = values[a], values[b]
            rows = np.isfinite(x) & np.isfinite(y)
            total = int(rows.sum())
            if total < 50:
                continue
            le = x[rows] <= y[rows]
            ok = int(le.sum())
            if ok / total < opts.min_holds or np.array_equal(x[rows], y[rows]):
                continue
            shuffled = float(np.mean(x[rows] <= rng.permutation(y[rows])))
            if shuffled >= 0.95:
                continue  # implied by the two ranges, not a relation between rows
            edges[(a, b)] = (ok / total, total, total - ok)
    # Drop what transitivity implies (a ≤ b ≤ c makes a ≤ c redundant), counting the orders a
    # difference's range keeps by construction (a difference never above 0: target ≤ source).
    known = set(edges)
    for r in found:
        if r.type == "difference":
            if float(r.params["high"]) <= 0:
                known.add((r.target, r.sources[0]))
            if float(r.params["low"]) >= 0:
                known.add((r.sources[0], r.target))
    out = []
    for (a, b), (h, total, wrong) in edges.items():
        if any((a, m) in known and (m, b) in known for m in cols if m not in (a, b)):
            continue
        codes = _sentinel_codes(specs, (a, b))
        out.append(Relation("order", a, [b], h, params={"codes": codes} if codes else {}, n_rows=total,
                            exceptions=wrong))
    return out


def _without_codes(x: np.ndarray, codes: list[float] | None) -> np.ndarray:
    """`x` with its sentinel codes as NaN (they are not values an order compares)."""
    if not codes:
        return x
    return np.where(np.isin(x, np.asarray(codes, dtype=float)), np.nan, x)


def _threshold_fit(s: np.ndarray, x: np.ndarray) -> tuple[dict[str, Any], int, int] | None:
    """The best threshold rule for target `x` given source `s` (module docstring): (params, rows it
    applies to, exceptions), or None when `s` has no point mass at its minimum or `x` no two sides."""
    fin = np.isfinite(s)
    if fin.sum() < 50:
        return None
    at = float(np.min(s[fin]))
    zero, pos = fin & (s == at), fin & (s > at)
    xf = np.isfinite(x)
    values = np.unique(x[xf])
    if len(values) < 2 or (zero & xf).sum() == 0 or (pos & xf).sum() == 0:
        return None
    # Rows of each group at or below each candidate threshold (every value but the largest).
    order = np.sort(x[zero & xf]), np.sort(x[pos & xf])
    cut = values[:-1]
    z_le = np.searchsorted(order[0], cut, side="right")
    p_le = np.searchsorted(order[1], cut, side="right")
    nz, np_ = len(order[0]), len(order[1])
    best = None
    for positive, wrong in (("low", (np_ - p_le) + z_le), ("high", p_le + (nz - z_le))):
        i = int(np.argmin(wrong))
        if best is None or wrong[i] < best[0]:
            best = (int(wrong[i]), positive, i)
    assert best is not None
    wrong, positive, i = best
    nan_z, nan_p = int((zero & ~xf).sum()), int((pos & ~xf).sum())
    budget = 0.01 * fin.sum()
    if nan_z <= budget and nan_p <= budget:
        missing, wrong = "none", wrong + nan_z + nan_p
    elif nan_p <= budget:
        missing, wrong = "zero", wrong + nan_p
    elif nan_z <= budget:
        missing, wrong = "positive", wrong + nan_z
    else:
        missing = "any"
    rows = int(fin.sum()) if missing != "any" else int((fin & xf).sum())
    params = {"at": at, "threshold": float(cut[i]), "above": float(values[i + 1]), "positive": positive,
              "missing": missing}
    return params, rows, wrong


def _thresholds(names, specs, numbers, opts, graph, found) -> list[Relation]:
    # The target is free of every other relation: the rule is enforced last, by changing it.
    busy = {r.target for r in found} | {s for r in found if r.type in VALUE_TYPES for s in r.sources}
    busy |= {s for r in found if r.type in ("order", "missing_together", "missing_iff") for s in r.sources}
    cols = [c for c in names if c in numbers and specs[c].kind is not ColumnKind.DATETIME]
    distinct = {c: len(np.unique(numbers[c][np.isfinite(numbers[c])])) for c in cols}
    candidates = []
    for src in cols:
        s = numbers[src]
        fin = np.isfinite(s)
        if fin.sum() < 50 or distinct[src] < 2:
            continue
        at_min = fin & (s == np.min(s[fin]))
        if not 0.01 * fin.sum() <= at_min.sum() <= 0.99 * fin.sum():
            continue
        for tgt in cols:
            if tgt == src or tgt in busy or distinct[tgt] < 3:
                continue
            fit = _threshold_fit(s, numbers[tgt])
            if fit is None:
                continue
            params, rows, wrong = fit
            x = numbers[tgt]
            xf = np.isfinite(x)
            low = int((xf & (x <= params["threshold"])).sum())
            high = int((xf & (x > params["threshold"])).sum())
            smaller = min(int(at_min.sum()), int((fin & ~at_min).sum()))
            if (rows < 50 or wrong > (1 - opts.min_threshold_holds) * rows or wrong > 0.1 * smaller
                    or min(low, high) < 0.01 * rows):
                continue
            candidates.append((wrong / rows, -distinct[tgt], names.index(tgt), src, tgt, params, rows, wrong))
    out = []
    for _, _, _, src, tgt, params, rows, wrong in sorted(candidates, key=lambda c: c[:3]):
        if not graph.can_add(tgt, [src]):
            continue
        graph.add(tgt, [src])
        out.append(Relation("threshold", tgt, [src], 1 - wrong / rows, params, n_rows=rows, exceptions=wrong))
    return out


# ---------------------------------------------------------------------------------------
# Declared relations
# ---------------------------------------------------------------------------------------


def parse_relations(raw: Any, source: str = "metadata") -> list[Relation]:
    """Relations a user writes in a metadata file's ``"relations"`` list.

    Each entry names ``type``, ``target`` and ``sources`` (plus ``values`` for missing_iff,
    ``coefficients``/``intercept`` for linear, ``exponents``/``factor`` for ratio,
    ``rate_scale``/``term_scale`` for annuity, ``threshold``/``at``/``positive``/``missing`` for
    threshold, ``low``/``high`` for proportion, at the top level or under ``params``). A
    threshold or a proportion without them learns them. A
    linear relation without coefficients is a sum (all 1, no intercept); a lookup without
    a table learns it from the data.
    ``holds`` below 1 allows that share of exceptions; without it a declared relation must
    hold in every row."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise SynthkitError(f"{source}: 'relations' must be a list of relations")
    out = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or "type" not in entry or "target" not in entry:
            raise SynthkitError(f"{source}: relation {i + 1} must be a mapping with 'type', 'target' and 'sources'")
        if entry["type"] not in RELATION_TYPES:
            raise SynthkitError(
                f"{source}: relation {i + 1} has unknown type {entry['type']!r} (use one of: {', '.join(RELATION_TYPES)})"
            )
        sources = entry.get("sources", [])
        if isinstance(sources, str):
            sources = [sources]
        params = dict(entry.get("params") or {})
        for k in ("values", "coefficients", "intercept", "exponents", "factor", "rate_scale", "term_scale", "table",
                  "threshold", "at", "positive", "missing", "above", "low", "high", "format"):
            if k in entry:
                params[k] = entry[k]
        need = {"lookup": (1, 2), "conditional": (1, 2), "linear": (1, 8), "ratio": (1, 4), "annuity": (3, 3), "schedule": (4, 4),
                "proportion": (1, 1), "difference": (1, 1), "date_part": (1, 1), "order": (1, 1), "threshold": (1, 1),
                "missing_together": (1, 1), "missing_iff": (1, 1)}[entry["type"]]
        if not need[0] <= len(sources) <= need[1]:
            raise SynthkitError(
                f"{source}: relation {i + 1} ({entry['type']} of {entry['target']!r}) needs "
                f"{need[0] if need[0] == need[1] else f'{need[0]} to {need[1]}'} source column(s), got {len(sources)}"
            )
        rel = Relation.from_dict({**entry, "sources": sources, "params": params}, source=entry.get("source", source))
        out.append(rel)
    return out


def load_relations(path: Any) -> list[Relation] | None:
    """The ``"relations"`` list of a metadata file (a schema saved by ``synthkit schema -o``
    holds one), or None when the file has none — then relations are detected."""
    from synthkit.tabular.schema import read_metadata_document

    raw = read_metadata_document(path)
    if not isinstance(raw, dict) or "relations" not in raw:
        return None
    return parse_relations(raw["relations"], source=str(path))


def fit_declared(df: pd.DataFrame, schema: Schema, declared: list[Relation]) -> list[Relation]:
    """Fit the missing parts of declared relations and check the data keep them.

    A relation broken in more rows than its ``holds`` allows is a one-line SynthkitError
    naming the columns and the first row that breaks it."""
    specs = {c.name: c for c in schema.columns}
    graph = _Graph()
    out = []
    for rel in declared:
        for c in (rel.target, *rel.sources):
            if c not in specs:
                raise SynthkitError(f"relation '{rel.describe()}' names column {c!r}, which is not in the data")
        if not graph.can_add(rel.target, rel.sources) and rel.type in VALUE_TYPES:
            raise SynthkitError(
                f"relation '{rel.describe()}': {rel.target!r} is already determined by another relation, or the "
                "relations form a cycle"
            )
        if rel.type in VALUE_TYPES:
            graph.add(rel.target, rel.sources)
        if rel.type == "threshold" and any(
            rel.target in (o.target, *o.sources) for o in declared if o is not rel and o.type != "threshold"
        ):
            raise SynthkitError(f"relation '{rel.describe()}': a threshold's target {rel.target!r} must be in no other "
                                "relation (it is enforced last, by changing the target)")
        fitted = _fit_one(df, specs, rel)
        bad = violations(df, specs, fitted)
        allowed = math.floor((1 - rel.holds) * len(df) + 1e-9)
        # A conditional learned here is a distribution, not a rule the data can break (its
        # rare values, pooled away, are its only "exceptions").
        learned = rel.type == "conditional" and "table" not in rel.params
        if bad.sum() > allowed and not learned:
            row = int(np.flatnonzero(bad)[0])
            cols = ", ".join([rel.target, *rel.sources])
            raise SynthkitError(
                f"declared relation '{fitted.describe()}' does not hold in the data: {int(bad.sum())} row(s) break it, "
                f"first data row {row + 1} ({_row_text(df, [rel.target, *rel.sources], row)}); columns {cols}"
            )
        n_applies = len(df)
        fitted.exceptions = int(bad.sum())
        fitted.holds = 1 - fitted.exceptions / max(n_applies, 1)
        fitted.source = "metadata"
        out.append(fitted)
    return out


def _learn_missing(p: dict[str, Any], keys: tuple[str, ...], rel: Relation, qualifier: str,
                   learn: Callable[[], dict[str, Any]]) -> None:
    """Fill the params among `keys` a declared relation leaves out from `learn()` (which raises SynthkitError when
    no row has both sides: a one-line error naming them, `qualifier` saying what both must be)."""
    if all(k in p for k in keys):
        return
    try:
        learned = learn()
    except SynthkitError:
        both = f"both {rel.target!r} and {rel.sources[0]!r}" + (f" {qualifier}" if qualifier else "")
        raise SynthkitError(f"relation {rel.type} of {rel.target!r}: no row has {both}") from None
    learned.pop("rows", None)
    for k, v in learned.items():
        p.setdefault(k, v)


def _sentinel_codes(specs: dict, columns) -> dict[str, list[float]]:
    """The sentinel codes of those of `columns` that have any (an order's or a difference's ``params["codes"]``)."""
    return {c: [float(v) for v in specs[c].sentinels] for c in columns if specs[c].sentinels}


def _row_text(df: pd.DataFrame, cols: list[str], row: int) -> str:
    def plain(v: Any) -> str:
        if isinstance(v, np.generic):
            v = v.item()
        return "missing" if v is None or (isinstance(v, float) and math.isnan(v)) else repr(v)

    return ", ".join(f"{c}={plain(df[c].iloc[row])}" for c in cols)


def _fit_one(df: pd.DataFrame, specs, rel: Relation) -> Relation:
    p = dict(rel.params)
    if rel.type == "lookup" and "table" not in p:
        r = _lookup_relation(df, rel.target, rel.sources, 0, len(df))
        p["table"] = r.params["table"]
    if rel.type == "conditional" and "table" not in p:
        p.update(_conditional_relation(df, rel.target, rel.sources).params)
    if rel.type == "linear":
        # A declared identity without coefficients is a sum: target = source 1 + source 2 …
        p.setdefault("coefficients", [1.0] * len(rel.sources))
        p.setdefault("intercept", 0.0)
        if len(p["coefficients"]) != len(rel.sources):
            raise SynthkitError(f"relation linear of {rel.target!r}: {len(rel.sources)} sources but "
                                f"{len(p['coefficients'])} coefficients")
    if rel.type == "ratio":
        p.setdefault("exponents", [1.0] + [-1.0] * (len(rel.sources) - 1))
        p.setdefault("factor", 1.0)
    if rel.type in ("annuity", "schedule"):
        p.setdefault("rate_scale", 1200.0)
        p.setdefault("term_scale", 1.0)
    if rel.type == "schedule":
        if len(rel.sources) != 4:
            raise SynthkitError(f"relation schedule of {rel.target!r} needs 4 sources: amount, rate, installment, term")
        p.setdefault("form", "repaid")
        p.setdefault("count", f"{rel.target} (payments made)")
    if rel.type == "date_part":
        if specs[rel.sources[0]].kind is not ColumnKind.DATETIME:
            raise SynthkitError(f"relation date_part of {rel.target!r}: {rel.sources[0]!r} is not a datetime column")
        formats = [p["format"]] if "format" in p else list(DATE_PART_FORMATS)
        # Learn the format with no tolerance, then check the declared share below.
        learned = _date_part_params(df, specs, rel.target, rel.sources[0], formats, min_holds=0.0 if "format" in p else rel.holds)
        if learned is None:
            raise SynthkitError(f"relation date_part of {rel.target!r}: {rel.target!r} is not {rel.sources[0]!r} "
                                f"written in any of the formats {', '.join(DATE_PART_FORMATS)}")
        p = {**learned, **p}
    if rel.type == "proportion":
        p.setdefault("ratio", f"{rel.target} ÷ {rel.sources[0]}")
        _learn_missing(p, ("low", "high", "step"), rel, "positive", lambda: _proportion_params(
            column_numbers(df[rel.target], specs[rel.target]), column_numbers(df[rel.sources[0]], specs[rel.sources[0]])))
    if rel.type == "difference":
        for c in (rel.target, rel.sources[0]):
            if specs[c].kind not in NUMBER_KINDS:
                raise SynthkitError(f"relation difference of {rel.target!r}: {c!r} is not a numeric column "
                                    f"({specs[c].kind.value})")
        p.setdefault("difference", f"{rel.target} − {rel.sources[0]}")
        codes = _sentinel_codes(specs, (rel.target, rel.sources[0]))
        if codes:
            p.setdefault("codes", codes)
        _learn_missing(p, ("low", "high", "target_low", "target_high"), rel, "",
                       lambda: _difference_params(*_difference_sides(df, specs, rel)))
    if rel.type == "threshold" and "threshold" not in p:
        fit = _threshold_fit(column_numbers(df[rel.sources[0]], specs[rel.sources[0]]),
                             column_numbers(df[rel.target], specs[rel.target]))
        if fit is None:
            raise SynthkitError(f"relation threshold of {rel.target!r}: {rel.sources[0]!r} has no point mass at its "
                                f"minimum, or {rel.target!r} fewer than two values")
        p.update(fit[0])
    if rel.type == "threshold":
        p.setdefault("at", 0.0)
        p.setdefault("positive", "low")
        p.setdefault("missing", "any")
        p.setdefault("above", p["threshold"])
    if rel.type == "missing_iff" and "values" not in p:
        raise SynthkitError(f"relation missing_iff of {rel.target!r} needs 'values' (the levels of {rel.sources[0]!r})")
    return Relation(rel.type, rel.target, list(rel.sources), rel.holds, p, rel.source, len(df), 0)


def violations(df: pd.DataFrame, specs: dict, rel: Relation) -> np.ndarray:
    """Rows of `df` that break `rel` (rows it does not apply to — a source missing — do not)."""
    n = len(df)

    def num(c):
        return column_numbers(df[c], specs[c])

    if rel.type == "missing_together":
        return df[rel.target].isna().to_numpy() != df[rel.sources[0]].isna().to_numpy()
    if rel.type == "missing_iff":
        values = [_key(v) for v in rel.params.get("values", [])]
        hit = _key_series(df[rel.sources[0]]).isin(values).to_numpy()
        return df[rel.target].isna().to_numpy() != hit
    if rel.type == "lookup":
        got, known = _lookup_values(df, rel)
        have = _key_series(df[rel.target]).to_numpy()
        bad = np.zeros(n, dtype=bool)
        idx = np.flatnonzero(known)
        bad[idx] = [not _same(a, b) for a, b in zip(have[idx], got[idx])]
        return bad
    if rel.type == "conditional":
        # Broken where a key takes a value its table never gives it.
        table = rel.params["table"]
        k = len(rel.sources)
        support = {tuple(_key(v) for v in row[: k + 1]) for row in table}
        keys = {support_key[:k] for support_key in support}
        cols = [_key_series(df[c]).to_numpy() for c in (*rel.sources, rel.target)]
        return np.array([tuple(r[:k]) in keys and tuple(r) not in support for r in zip(*cols)], dtype=bool)
    if rel.type == "order":
        codes = rel.params.get("codes") or {}
        a = _without_codes(num(rel.target), codes.get(rel.target))
        b = _without_codes(num(rel.sources[0]), codes.get(rel.sources[0]))
        rows = np.isfinite(a) & np.isfinite(b)
        return rows & ~(a <= b)
    if rel.type == "threshold":
        return _threshold_wrong(num(rel.sources[0]), num(rel.target), rel.params)
    if rel.type == "schedule":
        xs = [num(c) for c in (*rel.sources, rel.target)]
        rows = np.all([np.isfinite(x) for x in xs], axis=0)
        return rows & ~np.isfinite(schedule_count(*xs, rel.params))
    if rel.type == "date_part":
        text = _date_part_text(_local_ns(df[rel.sources[0]], rel.params), rel.params["format"])
        have = df[rel.target].astype("string").str.strip().to_numpy(dtype=object, na_value=None)
        rows = np.array([a is not None and b is not None for a, b in zip(text, have)], dtype=bool)
        return rows & (text != have)
    if rel.type == "difference":
        # Broken where the difference leaves its range (beyond the sides' rounding).
        y, x = _difference_sides(df, specs, rel)
        tol = _tolerance(y) + _tolerance(x) + 1e-9 * np.abs(y)
        with np.errstate(all="ignore"):
            d = y - x
        return np.isfinite(d) & ((d < float(rel.params["low"]) - tol) | (d > float(rel.params["high"]) + tol))
    if rel.type == "proportion":
        # Broken where the ratio leaves its range by more than the target's rounding, or
        # where the target has a value the source cannot give (the source empty or ≤ 0).
        y, x = num(rel.target), num(rel.sources[0])
        tol = _tolerance(y) + 0.5 * float(rel.params.get("step", 0.0)) + 1e-9 * np.abs(y)
        lo, hi = float(rel.params["low"]), float(rel.params["high"])
        with np.errstate(all="ignore"):
            off = (y < lo * x - tol) | (y > hi * x + tol)
        return np.isfinite(y) & ((~np.isfinite(x) | (x <= 0)) | off)
    y = num(rel.target)
    pred = _compute(rel, [num(c) for c in rel.sources])
    rows = np.isfinite(y) & np.isfinite(pred)
    tol = _tolerance(y)
    slack = 2 * tol + 1e-6 * np.abs(y) + 1e-9
    if rel.type == "linear":
        slack = slack + sum(abs(a) * _tolerance(num(c)) for a, c in zip(rel.params["coefficients"], rel.sources))
    return rows & ~(np.abs(y - pred) <= slack)


def _threshold_wrong(s: np.ndarray, x: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    """Rows that break a threshold relation (rows with the source empty do not apply)."""
    fin = np.isfinite(s)
    pos = fin & (s > float(p["at"]))
    zero = fin & ~pos
    xf = np.isfinite(x)
    low = xf & (x <= float(p["threshold"]))
    high = xf & ~low
    pos_ok, zero_ok = (low, high) if p.get("positive", "low") == "low" else (high, low)
    missing = p.get("missing", "any")
    empty_pos = ~xf & (missing in ("positive", "any"))
    empty_zero = ~xf & (missing in ("zero", "any"))
    return (pos & ~(pos_ok | empty_pos)) | (zero & ~(zero_ok | empty_zero))


def _thresholds_fix(decoded: dict[str, pd.Series], rels: list[Relation], codec: Codec, rng: np.random.Generator) -> None:
    """Threshold relations, last (their targets are in no other relation): a row on the wrong side
    takes the target of a random synthetic row of its own group (source at its minimum, or above)
    that keeps the rule — the model's own values, in their proportions; where no row of the group
    does, the value nearest the right side (the threshold, or the first value above it seen in
    training)."""
    for rel in _topological(rels):
        try:
            to_x, from_x = codec(rel.target)
            to_s, _ = codec(rel.sources[0])
        except KeyError:
            continue
        x, src = to_x(decoded[rel.target]), to_s(decoded[rel.sources[0]])
        bad = _threshold_wrong(src, x, rel.params)
        if not bad.any():
            continue
        p = rel.params
        pos = np.isfinite(src) & (src > float(p["at"]))
        x2 = x.copy()
        for positive, group in ((True, pos), (False, np.isfinite(src) & ~pos)):
            need = np.flatnonzero(bad & group)
            if not len(need):
                continue
            donors = np.flatnonzero(group & ~bad)
            if len(donors):
                x2[need] = x[donors[rng.integers(0, len(donors), size=len(need))]]
            else:
                low_side = (p.get("positive", "low") == "low") == positive
                x2[need] = float(p["threshold"]) if low_side else float(p["above"])
        decoded[rel.target] = from_x(x2)


def _same(a: Any, b: Any) -> bool:
    return _key(a) == _key(b)


def _compute(rel: Relation, xs: list[np.ndarray]) -> np.ndarray:
    p = rel.params
    with np.errstate(all="ignore"):
        if rel.type == "linear":
            out = np.full(len(xs[0]), float(p.get("intercept", 0.0)))
            for a, x in zip(p["coefficients"], xs):
                out = out + float(a) * x
            return out
        if rel.type == "ratio":
            out = np.full(len(xs[0]), float(p.get("factor", 1.0)))
            for e, x in zip(p["exponents"], xs):
                out = out * x ** float(e)
            return out
        if rel.type == "annuity":
            return annuity_payment(xs[0], xs[1], xs[2], float(p["rate_scale"]), float(p["term_scale"]))
        if rel.type == "schedule":
            amount, rate, installment, term, k = xs
            left = scheduled_balance(amount, rate, installment, term, np.round(k), float(p["rate_scale"]),
                                     float(p["term_scale"]))
            return np.where(np.isfinite(k), amount - left if p.get("form", "repaid") == "repaid" else left, np.nan)
        if rel.type == "proportion":
            source, ratio = xs
            y = np.where(source > 0, source * np.clip(ratio, float(p["low"]), float(p["high"])), np.nan)
            step = float(p.get("step", 0.0))
            return np.round(y / step) * step if step > 0 else y
        if rel.type == "difference":
            source, d = xs
            y = _difference(source + np.clip(d, float(p["low"]), float(p["high"])), np.zeros(len(source)))
            return np.clip(y, float(p["target_low"]), float(p["target_high"]))
    raise AssertionError(rel.type)


def _lookup_values(df: pd.DataFrame, rel: Relation) -> tuple[np.ndarray, np.ndarray]:
    """The table's value for each row of `df`, and whether the row's key is in the table."""
    table = rel.params["table"]
    k = len(rel.sources)
    keys = [tuple(_key(v) for v in row[:k]) for row in table]
    values = np.empty(len(table) + 1, dtype=object)
    values[: len(table)] = [row[k] for row in table]
    values[len(table)] = None
    if k == 1:
        index = pd.Index([key[0] for key in keys], dtype=object)
        pos = index.get_indexer(_key_series(df[rel.sources[0]]))
    else:
        i1 = pd.Index(list(dict.fromkeys(key[0] for key in keys)), dtype=object)
        i2 = pd.Index(list(dict.fromkeys(key[1] for key in keys)), dtype=object)
        grid = np.full((len(i1), len(i2)), -1, dtype=np.int64)
        for j, key in enumerate(keys):
            grid[i1.get_loc(key[0]), i2.get_loc(key[1])] = j
        a = i1.get_indexer(_key_series(df[rel.sources[0]]))
        b = i2.get_indexer(_key_series(df[rel.sources[1]]))
        pos = np.where((a >= 0) & (b >= 0), grid[np.maximum(a, 0), np.maximum(b, 0)], -1)
    known = pos >= 0
    return values[np.where(known, pos, len(table))], known


def hold_rates(df: pd.DataFrame, schema: Schema, relations: list[Relation]) -> list[dict[str, Any]]:
    """Per relation, the share of `df`'s rows that keep it (for benchmarks and reports)."""
    specs = {c.name: c for c in schema.columns}
    out = []
    for rel in relations:
        if any(c not in df.columns for c in (rel.target, *rel.sources)):
            continue
        bad = violations(df, specs, rel)
        out.append({"relation": rel.describe(), "type": rel.type, "data": rel.holds, "output": 1 - float(bad.mean())})
    return out


# ---------------------------------------------------------------------------------------
# Enforcement
# ---------------------------------------------------------------------------------------

#: A codec per numeric column: column values → floats, and floats → column values (rounded,
#: typed, formatted as the column is), supplied by the transformer.
Codec = Callable[[str], tuple[Callable[[pd.Series], np.ndarray], Callable[[np.ndarray], pd.Series]]]


def drawn_columns(df: pd.DataFrame, relations: list[Relation]) -> list[str]:
    """Targets of conditional relations whose key is in the table in every row of `df` where
    the target has a value, and whose draw leaves the target empty exactly where it is
    empty: a model need not generate them (the transformer leaves them out; see
    TabularTransformer.fit for why only these)."""
    out = []
    for rel in relations:
        if rel.type != "conditional" or any(c not in df.columns for c in (rel.target, *rel.sources)):
            continue
        table = rel.params["table"]
        k = len(rel.sources)
        if any(row[k] is None for row in table):
            continue  # a key whose rows are sometimes empty: the model keeps the missingness
        _, known = _conditional_draw(df, rel, np.random.default_rng(0))
        if np.array_equal(known, df[rel.target].notna().to_numpy()):
            out.append(rel.target)
    return out


def enforce(
    decoded: dict[str, pd.Series],
    relations: list[Relation],
    codec: Codec,
    rng: np.random.Generator,
    derived: frozenset[str] = frozenset(),
    point_masses: dict[str, list[float]] | None = None,
) -> None:
    """Make decoded columns keep `relations` (in place; see the module docstring for the order).
    `derived` names columns the model did not generate (:func:`drawn_columns`): where a key
    never occurred in training, they take the value of another synthetic row whose key did,
    instead of the model's value. `point_masses` are the columns' point masses (the schema's):
    a computed column the model put on one of its point masses keeps it, and a source is
    solved instead (:func:`_solve_source`)."""
    if not relations:
        return
    value_targets = {r.target for r in relations if r.type in VALUE_TYPES}
    missing_rules = [r for r in relations if r.type in ("missing_iff", "missing_together")]
    masks: dict[str, np.ndarray] = {}
    # 1. Missingness: missing_iff before missing_together (a leader may follow a category).
    for rel in sorted(missing_rules, key=lambda r: r.type != "missing_iff"):
        if rel.type == "missing_iff":
            values = [_key(v) for v in rel.params.get("values", [])]
            want = _key_series(decoded[rel.sources[0]]).isin(values).to_numpy()
        else:
            want = decoded[rel.sources[0]].isna().to_numpy()
        decoded[rel.target] = _with_mask(decoded[rel.target], want, rng)
        masks[rel.target] = want
    orders = [r for r in relations if r.type == "order"]
    free_orders = [r for r in orders if r.target not in value_targets and r.sources[0] not in value_targets]
    computed_orders = [
        r for r in orders if (r.target in value_targets) != (r.sources[0] in value_targets)
    ]
    # A pair in no other order relation takes a donor pair; pairs in a chain (a ≤ b ≤ c) are
    # fixed by raising the high side, which settles: donor pairs would cascade along the
    # chain, each replacement breaking the next link (on the lending table, with ten chained
    # count relations, donors gave a C2ST AUC of 0.953 against 0.925 raising).
    degree: dict[str, int] = {}
    for r in orders:
        for c in (r.target, r.sources[0]):
            degree[c] = degree.get(c, 0) + 1
    mode = {id(r): "donor" if degree[r.target] == degree[r.sources[0]] == 1 else "high" for r in free_orders}
    for _round in range(3):
        # 2. Order relations between free columns: a row that breaks an isolated one takes
        # the pair of values of another synthetic row that keeps it. On the simulated credit
        # data (open trades ≤ inquiries, violated in many model rows) this gave an XGBoost
        # C2ST AUC of 0.711 where raising the high side gave 0.744 and no enforcement 0.724:
        # moving one side piles values onto the boundary, a donor pair does not.
        # Every relation in every pass (a generator inside any() would stop at the first
        # one fixed, and a long chain would run out of passes half-fixed).
        for _ in range(len(free_orders) + 1):
            fixed = [_order(decoded, rel, codec, adjust=mode[id(rel)], rng=rng) for rel in free_orders]
            if not any(fixed):
                break
        # 3. Computed columns, in dependency order.
        _compute_all(decoded, relations, masks, codec, derived, rng, point_masses or {})
        # 4. Order relations with one computed side: move the free side (raise the high side
        # above a computed total, lower the low side below a computed bound), then compute
        # again what depends on it.
        changed = False
        for rel in computed_orders:
            side = "high" if rel.target in value_targets else "low"
            changed |= _order(decoded, rel, codec, adjust=side)
        if not changed:
            break
    else:
        _compute_all(decoded, relations, masks, codec, derived, rng, point_masses or {})  # exact, always
    # 5. Threshold relations: their targets are in no other relation, so fixing them breaks none.
    _thresholds_fix(decoded, [r for r in relations if r.type == "threshold"], codec, rng)


def _compute_all(
    decoded: dict[str, pd.Series],
    relations: list[Relation],
    masks: dict[str, np.ndarray],
    codec: Codec,
    derived: frozenset[str],
    rng: np.random.Generator,
    point_masses: dict[str, list[float]],
) -> None:
    for rel in _topological([r for r in relations if r.type in VALUE_TYPES]):
        if rel.type == "date_part":
            src = rel.sources[0]
            got = _date_part_text(_local_ns(decoded[src], rel.params), rel.params["format"])
            known = np.isin(got, np.asarray(rel.params.get("labels", []), dtype=object))
            unknown = np.flatnonzero(~known & np.array([g is not None for g in got], dtype=bool))
            if len(unknown) and known.any() and not any(src in (o.target, *o.sources) for o in relations if o is not rel):
                # A generated date in a period the data never had (a timestamp at the edge of
                # the range, written with an offset that moves it into the month before: 1.8 %
                # of the messy data's rows): the row takes another synthetic row's timestamp,
                # so that its label is one the data have and still agrees with it.
                donors = np.flatnonzero(known)[rng.integers(0, int(known.sum()), size=len(unknown))]
                values = decoded[src].to_numpy(dtype=object).copy()
                values[unknown] = values[donors]
                decoded[src] = pd.Series(values, index=decoded[src].index, name=decoded[src].name).astype(decoded[src].dtype)
                got[unknown], known[unknown] = got[donors], True
            if known.any():
                decoded[rel.target] = _assign(decoded[rel.target], known, got, rel.target, codec)
        elif rel.type in ("lookup", "conditional"):
            df = pd.DataFrame({c: decoded[c] for c in rel.sources})
            got, known = _lookup_values(df, rel) if rel.type == "lookup" else _conditional_draw(df, rel, rng)
            if rel.target in derived and known.any() and not known.all():
                # A key never seen in training (two keys each seen, never together): the
                # model made no value, so another synthetic row's draw stands in.
                donors = np.flatnonzero(known)
                got = got.copy()
                got[~known] = got[donors[rng.integers(0, len(donors), size=int((~known).sum()))]]
                known = np.ones(len(known), dtype=bool)
            if known.any():
                decoded[rel.target] = _assign(decoded[rel.target], known, got, rel.target, codec)
        else:
            if rel.type in ("linear", "ratio"):
                _solve_source(decoded, rel, relations, codec, point_masses.get(rel.target, []))
            xs = [codec(c)[0](decoded[c]) for c in rel.sources]
            if rel.type == "schedule":
                # Rows the model put off the schedule (an empty count) keep its value.
                xs.append(_payment_counts(decoded, rel, xs, codec))
            elif rel.type in ("proportion", "difference"):
                # Rows the model left without a ratio or difference keep its value.
                name = rel.params["ratio" if rel.type == "proportion" else "difference"]
                xs.append(pd.to_numeric(decoded[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                          if name in decoded else np.full(len(xs[0]), np.nan))
            to_num, from_num = codec(rel.target)
            if rel.type == "difference":
                codes = rel.params.get("codes") or {}
                xs[0] = _without_codes(xs[0], codes.get(rel.sources[0]))
                # In the data the difference is empty where the source has a value exactly when the
                # target has none (or a code), and where the source is empty the target is too unless
                # the data have such rows (``alone``): the model's values there go, its codes stay.
                have = to_num(decoded[rel.target])
                valued = np.isfinite(_without_codes(have, codes.get(rel.target)))
                source_empty = np.isnan(to_num(decoded[rel.sources[0]]))
                drop = valued & ~np.isfinite(xs[1]) & np.isfinite(xs[0])
                if int(rel.params.get("alone", 1)) == 0:
                    drop |= valued & source_empty
                if drop.any():
                    decoded[rel.target] = from_num(np.where(drop, np.nan, have))
            y = _compute(rel, xs)
            rows = np.isfinite(y)
            if rows.any():
                decoded[rel.target] = from_num(np.where(rows, y, to_num(decoded[rel.target])))
        if rel.target in masks:
            decoded[rel.target] = decoded[rel.target].mask(masks[rel.target])


def _payment_counts(decoded: dict[str, pd.Series], rel: Relation, xs: list[np.ndarray], codec: Codec) -> np.ndarray:
    """A schedule's payment count per row: the model's hidden count; NaN (the row keeps the
    model's value) in no more rows than the relation's exceptions in the data. A model that
    leaves more counts empty than that has the excess rows nearest a schedule point put on
    it, at the count of that point, so the schedule holds at its rate in the data."""
    count = rel.params["count"]
    n = len(xs[0])
    k = (pd.to_numeric(decoded[count], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
         if count in decoded else np.full(n, np.nan))
    rows = np.all([np.isfinite(x) for x in xs], axis=0)
    empty = np.flatnonzero(rows & ~np.isfinite(k))
    excess = len(empty) - round((1.0 - rel.holds) * rows.sum())
    if excess > 0:
        target = codec(rel.target)[0](decoded[rel.target])[empty]
        sources = [x[empty] for x in xs]
        nearest = nearest_count(*sources, target, rel.params)
        p = rel.params
        left = scheduled_balance(*sources, nearest, float(p["rate_scale"]), float(p["term_scale"]))
        on_schedule = sources[0] - left if p.get("form", "repaid") == "repaid" else left
        with np.errstate(all="ignore"):
            gap = np.abs(on_schedule - target) / np.maximum(np.abs(sources[0]), 1.0)
        closest = np.argsort(np.where(np.isfinite(gap), gap, np.inf), kind="stable")[:excess]
        k[empty[closest]] = nearest[closest]
    return k


def _solvable_source(rel: Relation, relations: list[Relation]) -> int | None:
    """The source of a linear or ratio relation that may be solved for: one in no other
    relation (changing it can break nothing already enforced), preferring a numerator of a
    ratio and the largest coefficient of a sum (the least amplified: a small error in the
    target stays small in it)."""
    others = [r for r in relations if r is not rel]
    busy = {c for r in others for c in (r.target, *r.sources)} | {rel.target}
    weights = rel.params.get("exponents" if rel.type == "ratio" else "coefficients", [])
    best, best_key = None, None
    for j, (c, w) in enumerate(zip(rel.sources, weights)):
        if c in busy or rel.sources.count(c) > 1 or float(w) == 0:
            continue
        key = (float(w) > 0, abs(float(w)))
        if best_key is None or key > best_key:
            best, best_key = j, key
    return best


def _solve_source(
    decoded: dict[str, pd.Series], rel: Relation, relations: list[Relation], codec: Codec, masses: list[float]
) -> None:
    """Let the generated target stand and solve a source from it, in the rows where that is
    better; the target is then computed from the sources as usual, so the relation stays exact.

    * A quotient (a ratio with an exponent −1: ``loanprc = loanamt / price``), in every row: a
      numerator is solved as a product of the generated target and the other sources
      (``loanamt = loanprc · price``), rounded as its column is, and the quotient recomputed.
      A quotient of two generated columns compounds their errors — on the mortgage table the
      model's ``loanamt / price`` had a standard deviation of 0.28 where the model's own
      ``loanprc`` had 0.16 and the data 0.19 — and almost never lands on the ratio's heaps: an
      exact 0.80 in no row, where 12 % of applications ask for 80 % of the price. Solving the
      amount kept the heaps and took the table's C2ST AUC from 0.783 to 0.678; solving it only
      in the rows on a point mass gave 0.733 (``pipelines/bench_real_tables.py``, seed 0).
      Rounding the amount moves some ratios just off a heap (0.8 × 163 = 130.4 → 130, 0.798),
      as in the data, which has as many near-0.80 ratios as exact ones.
    * Otherwise (a sum or a product), in the rows whose generated target is on one of its
      point masses (`masses`), which a computed value would miss.

    Only a source in no other relation is solved (changing it can break nothing already
    enforced), and only in rows where the solved value lies in the range of the source's
    generated values."""
    j = _solvable_source(rel, relations)
    if j is None:
        return
    weights = rel.params["exponents" if rel.type == "ratio" else "coefficients"]
    # A quotient whose numerator is solved (solving the denominator would be a quotient again).
    quotient = rel.type == "ratio" and min(float(e) for e in weights) < 0 < float(weights[j])
    if not quotient and not masses:
        return
    target = codec(rel.target)[0](decoded[rel.target])
    on_mass = np.isfinite(target) if quotient else np.isin(target, np.asarray(masses, dtype=float))
    if not on_mass.any():
        return
    xs = [codec(c)[0](decoded[c]) for c in rel.sources]
    p = rel.params
    with np.errstate(all="ignore"):
        if rel.type == "ratio":
            rest = np.full(len(target), float(p.get("factor", 1.0)))
            for i, (e, x) in enumerate(zip(p["exponents"], xs)):
                if i != j:
                    rest = rest * x ** float(e)
            solved = (target / rest) ** (1.0 / float(p["exponents"][j]))
        else:
            rest = np.full(len(target), float(p.get("intercept", 0.0)))
            for i, (a, x) in enumerate(zip(p["coefficients"], xs)):
                if i != j:
                    rest = rest + float(a) * x
            solved = (target - rest) / float(p["coefficients"][j])
    own = xs[j]
    finite = own[np.isfinite(own)]
    if not len(finite):
        return
    # Only where the solved value is one the source's generated column could take (inside its
    # range): a ratio of 1.0 on a price far above any amount is not forced on the amount.
    rows = on_mass & np.isfinite(solved) & np.isfinite(own) & (solved >= finite.min()) & (solved <= finite.max())
    if rows.any():
        from_num = codec(rel.sources[j])[1]
        decoded[rel.sources[j]] = from_num(np.where(rows, solved, own))


def _topological(rels: list[Relation]) -> list[Relation]:
    by_target = {r.target: r for r in rels}
    done: set[str] = set()
    out: list[Relation] = []

    def visit(r: Relation, depth: int = 0) -> None:
        if r.target in done or depth > len(rels):
            return
        for s in r.sources:
            if s in by_target:
                visit(by_target[s], depth + 1)
        done.add(r.target)
        out.append(r)

    for r in rels:
        visit(r)
    return out


def _with_mask(s: pd.Series, want: np.ndarray, rng: np.random.Generator) -> pd.Series:
    """`s` missing exactly where `want`; rows that need a value the model left empty take one
    from another synthetic row that has one (a donor from the same sample)."""
    have = s.isna().to_numpy()
    need = ~want & have
    out = s
    if need.any():
        donors = np.flatnonzero(~have & ~want)
        if len(donors) == 0:
            donors = np.flatnonzero(~have)
        if len(donors):
            pick = donors[rng.integers(0, len(donors), size=int(need.sum()))]
            out = s.copy()
            idx = np.flatnonzero(need)
            out.iloc[idx] = s.iloc[pick].to_numpy()
    if want.any():
        out = out.mask(want)
    return out


def _assign(s: pd.Series, rows: np.ndarray, values: np.ndarray, column: str, codec: Codec) -> pd.Series:
    """`s` with `values` at `rows`, keeping the column's type."""
    vals = values[rows]
    try:
        to_num, from_num = codec(column)
    except KeyError:
        to_num = None
    if to_num is not None:
        x = to_num(s)
        x[rows] = np.array([np.nan if v is None else float(v) for v in vals], dtype=float)
        return from_num(x)
    out = s.astype(object).copy()
    out.iloc[np.flatnonzero(rows)] = [np.nan if v is None else v for v in vals]
    if s.dtype != object:
        try:
            return out.astype(s.dtype)
        except (TypeError, ValueError):
            return out
    return out


def _order(
    decoded: dict[str, pd.Series], rel: Relation, codec: Codec, adjust: str, rng: np.random.Generator | None = None
) -> bool:
    """Fix the rows of `decoded` that break an order relation; whether any did. `adjust`:
    "low" lowers the low side, "high" raises the high side, "donor" gives the row the pair
    of a random row that keeps the relation."""
    low, high = rel.target, rel.sources[0]
    try:
        to_low, from_low = codec(low)
        to_high, from_high = codec(high)
    except KeyError:
        return False
    a, b = to_low(decoded[low]), to_high(decoded[high])
    codes = rel.params.get("codes") or {}
    # Rows where a side holds a sentinel code are outside the relation (see _orders).
    va, vb = _without_codes(a, codes.get(low)), _without_codes(b, codes.get(high))
    bad = np.isfinite(va) & np.isfinite(vb) & (va > vb)
    if not bad.any():
        return False
    if adjust == "donor":
        donors = np.flatnonzero(np.isfinite(va) & np.isfinite(vb) & (va <= vb))
        if len(donors):
            assert rng is not None
            pick = donors[rng.integers(0, len(donors), size=int(bad.sum()))]
            a2, b2 = a.copy(), b.copy()
            a2[bad], b2[bad] = a[pick], b[pick]
            decoded[low], decoded[high] = from_low(a2), from_high(b2)
            return True
        adjust = "high"
    # Rounded away from the other side, so that a column kept to hundreds stays above an
    # amount of 29,525 (29,600, not 29,500).
    if adjust == "low":
        decoded[low] = from_low(np.where(bad, b, a), direction=-1)
    else:
        decoded[high] = from_high(np.where(bad, a, b), direction=1)
    return True
