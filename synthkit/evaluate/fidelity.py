"""Statistical similarity of a synthetic table to the real one (paper 001 §6.3.1).

Two metrics of the paper, plus SDMetrics' quality report as an outside reference:

* **JSD** — Jensen–Shannon divergence between the real and synthetic distribution of each
  column (:func:`column_jsd`), log base 2 so that it lies in [0, 1]; the paper reports the
  mean over columns.
* **CD** — correlation difference: the Frobenius norm of the difference between the real
  and synthetic association matrices (:func:`association_matrix`), which use Pearson's r
  for numeric pairs, Theil's uncertainty coefficient for categorical pairs and the
  correlation ratio for mixed pairs, as §6.3.1 prescribes.
* **SDMetrics** — the single-table QualityReport (Column Shapes, Column Pair Trends), so
  that scores can be set beside those other tools publish (:func:`sdmetrics_quality`).

Every function works on tables as :func:`synthkit.evaluate.encoding.prepare` returns them.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import rel_entr

from synthkit.errors import SynthkitError
from synthkit.evaluate.encoding import EvalColumns, prepare
from synthkit.tabular.schema import ColumnKind, Schema


def column_jsd(real: pd.Series, synth: pd.Series, numeric: bool, bins: int = 20) -> float:
    """Jensen–Shannon divergence of one column, log base 2, in [0, 1] (paper §6.3.1, JSD).

    JSD(P, Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M) with M = ½ (P + Q); 0 means identical
    distributions, 1 disjoint supports. The distributions compared are:

    * categorical (``numeric=False``): the frequencies of each category, over the union of
      the categories seen in either column; a missing value is a category of its own;
    * numeric (``numeric=True``): the frequencies of ``bins`` equal-width bins spanning the
      **real** column's [min, max]. Synthetic values outside that range are clipped into
      the first or last bin, so that values the real data never take count against the
      edge bins rather than being dropped. Missing values (NaN) form one extra bin in both
      columns, so a wrong missing rate raises the divergence too.

    The binning depends on the real column only, so the same real data always give the
    same bins whatever synthetic table is compared with it.
    """
    name = real.name if real.name is not None else synth.name
    if len(real) == 0 or len(synth) == 0:
        raise SynthkitError(f"column {name!r}: no rows to compare")
    if numeric:
        if not isinstance(bins, int) or isinstance(bins, bool) or bins < 1:
            raise SynthkitError(f"bins must be an integer >= 1, got {bins!r}")
        p, q = _binned(real, synth, bins)
    else:
        p, q = _category_counts(real, synth)
    p = p / p.sum()
    q = q / q.sum()
    m = 0.5 * (p + q)
    jsd = 0.5 * (rel_entr(p, m).sum() + rel_entr(q, m).sum()) / math.log(2.0)
    # Rounding can leave a hair outside [0, 1]; the divergence itself cannot be.
    return float(min(max(jsd, 0.0), 1.0))


def _binned(real: pd.Series, synth: pd.Series, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts over `bins` equal-width bins of the real range plus one bin of missing values."""
    r = pd.to_numeric(real, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    s = pd.to_numeric(synth, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    finite = r[np.isfinite(r)]
    # A real column with no finite value has no range: every synthetic value is then
    # "outside" it and lands in one bin, so only the missing rates are compared.
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 0.0)
    inner = np.linspace(lo, hi, bins + 1)[1:-1]

    def counts(v: np.ndarray) -> np.ndarray:
        missing = np.isnan(v)
        idx = np.searchsorted(inner, np.clip(v[~missing], lo, hi), side="right")
        return np.append(np.bincount(idx, minlength=bins), missing.sum()).astype(float)

    return counts(r), counts(s)


def _category_counts(real: pd.Series, synth: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Counts of each category in the union of both columns' categories."""
    rc = real.value_counts(dropna=False)
    sc = synth.value_counts(dropna=False)
    union = rc.index.union(sc.index, sort=False)
    return (
        rc.reindex(union, fill_value=0).to_numpy(dtype=float),
        sc.reindex(union, fill_value=0).to_numpy(dtype=float),
    )


def association_matrix(frame: pd.DataFrame, cols: EvalColumns) -> pd.DataFrame:
    """Pairwise association matrix over ``cols.all`` (paper §6.3.1, the matrices of CD).

    * numeric–numeric: Pearson's r on the rows where both values are present;
    * categorical–categorical: Theil's uncertainty coefficient. It is asymmetric; the cell
      in row ``a``, column ``b`` is U(a | b) = (H(a) − H(a | b)) / H(a), the share of the
      uncertainty about the row column ``a`` removed by knowing the column ``b`` (the
      convention of dython's ``associations``). Missing is a category;
    * categorical–numeric: the correlation ratio η of the numeric column grouped by the
      categorical one, on the rows where the numeric value is present; the same value in
      both cells.

    The diagonal is 1. A column without variation (a single value, as a collapsed
    synthetic column may be) has association 0 with every other column: it carries no
    information about them, and NaN would make CD undefined.
    """
    names = cols.all
    if len(frame) == 0:
        raise SynthkitError("the table has no rows: associations are undefined")
    out = np.eye(len(names))
    pos = {name: i for i, name in enumerate(names)}
    numeric = {name: frame[name].to_numpy(dtype=float) for name in cols.numeric}
    # NaN as a code of its own, for frames that did not come through prepare().
    codes = {name: pd.factorize(frame[name], use_na_sentinel=False)[0] for name in cols.categorical}
    for i, a in enumerate(cols.numeric):
        for b in cols.numeric[i + 1 :]:
            out[pos[a], pos[b]] = out[pos[b], pos[a]] = _pearson(numeric[a], numeric[b])
    for i, a in enumerate(cols.categorical):
        for b in cols.categorical[i + 1 :]:
            u_ab, u_ba = _theils_u(codes[a], codes[b])
            out[pos[a], pos[b]] = u_ab
            out[pos[b], pos[a]] = u_ba
    for a in cols.categorical:
        for b in cols.numeric:
            out[pos[a], pos[b]] = out[pos[b], pos[a]] = _correlation_ratio(codes[a], numeric[b])
    return pd.DataFrame(out, index=names, columns=names)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    both = ~(np.isnan(x) | np.isnan(y))
    x, y = x[both], y[both]
    # max == min, not a zero variance: the mean of equal floats need not equal them, so
    # a constant column can show a tiny spurious spread.
    if len(x) < 2 or x.max() == x.min() or y.max() == y.min():
        return 0.0
    xc, yc = x - x.mean(), y - y.mean()
    r = float(xc @ yc / math.sqrt(float(xc @ xc) * float(yc @ yc)))
    return min(max(r, -1.0), 1.0)


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def _theils_u(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(U(a | b), U(b | a)) from integer codes."""
    # Counts of the pairs that occur, not a dense na × nb table: two columns of thousands
    # of categories each would need a table of millions of mostly empty cells.
    _, joint = np.unique(a.astype(np.int64) * (int(b.max()) + 1) + b, return_counts=True)
    h_a = _entropy(np.bincount(a).astype(float))
    h_b = _entropy(np.bincount(b).astype(float))
    mutual = h_a + h_b - _entropy(joint.astype(float))

    def share(h: float) -> float:
        return 0.0 if h == 0.0 else min(max(mutual / h, 0.0), 1.0)

    return share(h_a), share(h_b)


def _correlation_ratio(groups: np.ndarray, values: np.ndarray) -> float:
    present = ~np.isnan(values)
    g, v = groups[present], values[present]
    if len(v) < 2 or v.max() == v.min():
        return 0.0
    counts = np.bincount(g).astype(float)
    used = counts > 0
    # One group explains nothing; computed, its mean would differ from the overall mean
    # by rounding and give a spurious η of order 1e-15 instead of 0.
    if used.sum() < 2:
        return 0.0
    means = np.bincount(g, weights=v)[used] / counts[used]
    mean = v.mean()
    between = float((counts[used] * (means - mean) ** 2).sum())
    total = float(((v - mean) ** 2).sum())
    return math.sqrt(min(max(between / total, 0.0), 1.0))


def correlation_difference(real_assoc: pd.DataFrame, synth_assoc: pd.DataFrame) -> float:
    """CD: the Frobenius norm of the difference of two association matrices (paper §6.3.1).

    Both matrices are full (each pair counted in both of its cells), as
    :func:`association_matrix` returns them; the synthetic one is aligned on the real
    one's column order.
    """
    names = list(real_assoc.columns)
    missing = [c for c in names if c not in synth_assoc.columns]
    if missing:
        raise SynthkitError(f"column {missing[0]!r} is missing from the synthetic association matrix")
    extra = [c for c in synth_assoc.columns if c not in names]
    if extra:
        raise SynthkitError(f"column {extra[0]!r} of the synthetic association matrix is not in the real one")
    diff = real_assoc.loc[names, names].to_numpy() - synth_assoc.loc[names, names].to_numpy()
    return float(np.linalg.norm(diff, "fro"))


def sdmetrics_quality(real: pd.DataFrame, synth: pd.DataFrame, schema: Schema | None = None) -> dict[str, Any]:
    """SDMetrics' single-table QualityReport: overall score and its two property scores.

    Not a metric of paper 001; it is reported so that results can be compared with tools
    that publish it. The metadata come from the schema: continuous and mixed columns are
    "numerical", datetime columns "datetime", categorical, discrete and boolean columns
    "categorical"; identifiers and constants are left out. Returns
    ``{"score", "column_shapes", "column_pair_trends"}``, each in [0, 1], or None where
    SDMetrics scores nothing: with its default thresholds, Column Pair Trends only scores
    pairs whose real correlation exceeds 0.5 (numeric) or association 0.3 (Cramér's V),
    so a table without such a pair has none, and the overall score is then Column Shapes.

    SDMetrics takes about 1.5 s on 20,000 rows × 19 columns (2 cores), so it runs on all
    rows; its cost grows with the number of column pairs.
    """
    schema, cols, (r, s) = prepare(real, synth, schema=schema)
    return _sdmetrics_prepared(r, s, schema, cols)


def _sdmetrics_prepared(real: pd.DataFrame, synth: pd.DataFrame, schema: Schema, cols: EvalColumns) -> dict[str, Any]:
    # Imported here: sdmetrics takes seconds to import and only this metric needs it.
    # The single-table report is deprecated in favour of a unified one; it scores single
    # tables the same way, and its deprecation notice is no concern of our users.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from sdmetrics.reports.single_table import QualityReport

    columns: dict[str, dict[str, str]] = {}
    for name in cols.numeric:
        columns[name] = {"sdtype": "datetime" if schema[name].kind is ColumnKind.DATETIME else "numerical"}
    for name in cols.categorical:
        columns[name] = {"sdtype": "categorical"}
    report = QualityReport()
    report.generate(
        _for_sdmetrics(real, schema, cols), _for_sdmetrics(synth, schema, cols), {"columns": columns}, verbose=False
    )
    props = report.get_properties().set_index("Property")["Score"]
    return {
        "score": _finite_or_none(report.get_score()),
        "column_shapes": _finite_or_none(props.get("Column Shapes")),
        "column_pair_trends": _finite_or_none(props.get("Column Pair Trends")),
    }


def _for_sdmetrics(frame: pd.DataFrame, schema: Schema, cols: EvalColumns) -> pd.DataFrame:
    """A prepared frame with datetime columns back as native datetimes.

    Native datetimes need no format in the metadata, and values a text format failed to
    parse are already missing (NaT) rather than text SDMetrics would choke on.
    """
    out = frame[cols.all].copy()
    for name in cols.numeric:
        if schema[name].kind is ColumnKind.DATETIME:
            out[name] = pd.to_datetime(out[name], unit="D")
    return out


def _finite_or_none(v: Any) -> float | None:
    return float(v) if v is not None and np.isfinite(v) else None


def fidelity(real: pd.DataFrame, synth: pd.DataFrame, schema: Schema | None = None, bins: int = 20) -> dict[str, Any]:
    """Statistical similarity of `synth` to `real` (paper §6.3.1).

    Returns ``{"jsd": {column: JSD}, "jsd_mean": float, "cd": float, "assoc_real":
    DataFrame, "assoc_synth": DataFrame, "sdmetrics": {"score", "column_shapes",
    "column_pair_trends"}}``. The two association matrices are for plotting; everything
    else is JSON-ready. Columns are those of :func:`~synthkit.evaluate.encoding.prepare`
    (identifiers and constants left out), the schema inferred from `real` if not given.
    """
    schema, cols, (r, s) = prepare(real, synth, schema=schema)
    numeric = set(cols.numeric)
    jsd = {name: column_jsd(r[name], s[name], numeric=name in numeric, bins=bins) for name in cols.all}
    assoc_real = association_matrix(r, cols)
    assoc_synth = association_matrix(s, cols)
    return {
        "jsd": jsd,
        "jsd_mean": float(np.mean(list(jsd.values()))),
        "cd": correlation_difference(assoc_real, assoc_synth),
        "assoc_real": assoc_real,
        "assoc_synth": assoc_synth,
        "sdmetrics": _sdmetrics_prepared(r, s, schema, cols),
    }
