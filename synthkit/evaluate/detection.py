"""Detection test: can a classifier tell synthetic rows from real ones? (paper 001 §6.3.2)

The classifier two-sample test (C2ST) of the paper, in its five steps:

1. split the real data into D_train and D_test;
2. train the generator on D_train and sample D_syn with as many rows as D_test;
3. label D_test 1 (real) and D_syn 0 (synthetic) and pool them into T;
4. split T into T_train and T_test and train a binary classifier on T_train;
5. score it on T_test by the area under the ROC curve.

Steps 1–2 happen before :func:`c2st` is called: it takes D_test and D_syn. An AUC of 0.5
means the classifier cannot tell the tables apart; the paper reads 0.7 as "very good"
synthetic data (§6.4, after Zein & Urvoy 2022). Besides the AUCs, :func:`c2st` names the
columns the XGBoost detector relies on most, which says *why* the data are detectable.

Two finer diagnoses run the same test on parts of the table: :func:`column_detectability`
trains one detector per column on that column alone (is its distribution wrong?), and
:func:`pair_detectability` one per pair of columns, reported with its lift over the better
of the two columns alone (is the relation between them wrong, though each looks right?).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

from synthkit.errors import SynthkitError
from synthkit.evaluate.encoding import EvalColumns, model_matrix, prepare
from synthkit.tabular.schema import Schema

#: Classifiers :func:`c2st` knows, in the order the paper reports them (§6.4, Table 2).
CLASSIFIERS: tuple[str, ...] = ("logistic_regression", "random_forest", "xgboost")

#: Fixed XGBoost settings for every evaluation model (detection here, TSTR in
#: :mod:`synthkit.evaluate.utility`): common defaults, not tuned, so scores are comparable
#: across generators and runs. One thread: XGBoost's OpenMP threads wait on each other at
#: every tree level, and on a machine whose cores are busy with other work one fit of
#: 28,000 rows took 9-23 s with all (2) cores against 1.0-1.3 s with one; the fitted
#: models, and so the scores, are the same either way.
XGBOOST_PARAMS: dict[str, Any] = {
    "n_estimators": 200,
    "max_depth": 6,
    "learning_rate": 0.1,
    "tree_method": "hist",
    "n_jobs": 1,
}

#: XGBoost settings of the per-column and per-pair detectors (:func:`column_detectability`,
#: :func:`pair_detectability`). Lighter than :data:`XGBOOST_PARAMS`: one or two columns hold
#: no deep interactions to find — depth 3 still lets a tree cut an interval of one column
#: inside an interval of the other — and a table of 55 columns needs 55 of these fits plus
#: up to 40 pairs, so each must take a few hundredths of a second, not a second.
COLUMN_XGBOOST_PARAMS: dict[str, Any] = {
    "n_estimators": 100,
    "max_depth": 3,
    "learning_rate": 0.1,
    "tree_method": "hist",
    "n_jobs": 1,
}

#: Fewest rows each table must have for the split of step 4 to leave both labels on
#: both sides.
MIN_ROWS = 10

#: :func:`pair_detectability` tries every pair of columns up to this many columns (9
#: columns: 36 pairs, within its default of 40); beyond, only pairs of likely suspects.
ALL_PAIRS_UP_TO = 9


def _classifier(name: str, seed: int) -> Any:
    if name == "logistic_regression":
        # Standardised, so that lbfgs converges on columns of very different scales
        # (mortgages in dollars beside 0/1 indicators).
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    if name == "random_forest":
        return RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=-1)
    return XGBClassifier(**XGBOOST_PARAMS, random_state=seed)


def c2st(
    real_test: pd.DataFrame,
    synth: pd.DataFrame,
    schema: Schema | None = None,
    classifiers: tuple[str, ...] | list[str] = CLASSIFIERS,
    test_size: float = 0.3,
    seed: int = 0,
    n_top_features: int = 10,
) -> dict[str, Any]:
    """Classifier two-sample test of `synth` against the real holdout `real_test` (§6.3.2).

    Step 2 asks for equal sizes: the larger table is subsampled (without replacement,
    seeded) to the smaller one's size. Step 4 splits T stratified by label, with one
    refinement: rows with identical features are kept on the same side. A row present in
    both tables would otherwise sit in T_train with one label and in T_test with the
    other, and a detector that memorises rows would score far *below* 0.5 (a table
    compared with itself gives AUC ≈ 0.05 for a random forest, not 0.5).

    Features are :func:`~synthkit.evaluate.encoding.model_matrix`'s encoding. Classifiers:
    ``"logistic_regression"`` (on standardised features), ``"random_forest"`` (100 trees)
    and ``"xgboost"`` (:data:`XGBOOST_PARAMS`), all seeded: same inputs and seed, same AUCs.

    Returns ``{"auc": {classifier: AUC}, "n_real": int, "n_synthetic": int,
    "subsampled": "real" | "synthetic" | None, "n_test": int, "top_features": [{"column",
    "importance"}, ...] | None}``: ``n_real``/``n_synthetic`` are the rows used,
    ``n_test`` the rows of T_test, ``top_features`` the `n_top_features` original columns
    the XGBoost detector gains most from (total gain of the column's features — one-hot
    categories and missing indicators included — as a share of the total, largest first;
    empty when the detector found no split worth making; None when XGBoost is not among
    `classifiers`). The AUC is that of the predicted probability of being real; the
    paper's probability of being fake ranks the rows the other way round and gives the
    same AUC.
    """
    names = (classifiers,) if isinstance(classifiers, str) else tuple(classifiers)
    if not names:
        raise SynthkitError(f"classifiers is empty; choose from {', '.join(CLASSIFIERS)}")
    unknown = [c for c in names if c not in CLASSIFIERS]
    if unknown:
        raise SynthkitError(f"unknown classifier {unknown[0]!r}; choose from {', '.join(CLASSIFIERS)}")
    _check_int("n_top_features", n_top_features)
    pool = _pool(real_test, synth, schema, seed, test_size, None, "C2ST")
    x, y, train, test = pool.x, pool.y, pool.train, pool.test

    auc: dict[str, float] = {}
    top: list[dict[str, Any]] | None = None
    for name in dict.fromkeys(names):
        model = _classifier(name, seed).fit(x[train], y[train])
        auc[name] = float(roc_auc_score(y[test], model.predict_proba(x[test])[:, 1]))
        if name == "xgboost":
            top = _top_features(model, pool.owners, n_top_features)
    return {
        "auc": auc,
        "n_real": pool.n,
        "n_synthetic": pool.n,
        "subsampled": pool.subsampled,
        "n_test": int(test.sum()),
        "top_features": top,
    }


def column_detectability(
    real_test: pd.DataFrame,
    synth: pd.DataFrame,
    schema: Schema | None = None,
    seed: int = 0,
    test_size: float = 0.3,
    max_rows: int = 5000,
) -> list[dict[str, Any]]:
    """Univariate C2ST: how well a detector tells real from synthetic on each column alone.

    The rows, labels and 70/30 split are those of :func:`c2st` (equal sizes, seeded
    subsampling; identical *rows* — all columns — kept on one side), except that each table
    is first subsampled to at most `max_rows` rows. Then for every compared column (see
    :func:`~synthkit.evaluate.encoding.eval_columns`) an XGBoost detector
    (:data:`COLUMN_XGBOOST_PARAMS`) is trained on that column's features only: a numeric
    value, NaN where missing, plus a missing indicator where any value is missing; a
    categorical column one-hot as in :func:`~synthkit.evaluate.encoding.model_matrix`.

    An AUC of 0.5 means the column's distribution cannot be told from the real one; a high
    AUC names a column whose marginal distribution (missing values included) is off.
    Returns ``[{"column", "auc", "kind"}, ...]`` (kind: the schema's column kind), highest
    AUC first. Same inputs and seed, same result.
    """
    pool = _pool(real_test, synth, schema, seed, test_size, max_rows, "column detectability")
    return _rank_columns(pool, {c: _fit_auc(pool, [c], seed) for c in pool.cols.all})


def pair_detectability(
    real_test: pd.DataFrame,
    synth: pd.DataFrame,
    schema: Schema | None = None,
    seed: int = 0,
    max_pairs: int = 40,
    candidates: list[str] | None = None,
    univariate: list[dict[str, Any]] | None = None,
    test_size: float = 0.3,
    max_rows: int = 5000,
) -> list[dict[str, Any]]:
    """The most detectable pairs of columns, and how much more the pair gives away than
    either column alone.

    A detector (:data:`COLUMN_XGBOOST_PARAMS`) is trained on the features of two columns,
    on the rows and split of :func:`column_detectability`. Its ``lift`` is its AUC minus
    the larger of the two columns' univariate AUCs: a pair with a high lift is a relation
    the synthetic data break although each column looks right on its own (a total that no
    longer equals principal plus interest, a balance that no longer follows its limit).

    Which pairs: among the `candidates` (column names, in order of interest); when not
    given, every column if there are at most :data:`ALL_PAIRS_UP_TO`, else
    :func:`pair_candidates` — the columns a multivariate XGBoost detector
    (:data:`XGBOOST_PARAMS`, all columns) gains most from, alternating with the columns of
    highest univariate AUC. A broken relation shows in the multivariate detector's gain but
    not in the univariate AUCs, a broken marginal in both; trying all of the 1,485 pairs of
    a 55-column table would take over a minute. Pairs are taken in candidate order (all pairs
    among the first k candidates before any with the k+1-th), at most `max_pairs`.

    `univariate`: :func:`column_detectability`'s result for the same tables, seed,
    test_size and max_rows, to reuse instead of refitting (columns it lacks are fitted).

    Returns ``[{"columns": [a, b], "auc", "lift"}, ...]``, a and b in the schema's order,
    highest lift first, then highest AUC; empty when there are fewer than two columns or
    `max_pairs` is 0.
    """
    _check_int("max_pairs", max_pairs)
    pool = _pool(real_test, synth, schema, seed, test_size, max_rows, "pair detectability")
    names = pool.cols.all
    uni: dict[str, float] = {}
    for row in univariate or []:
        if row.get("column") in names:
            uni[row["column"]] = float(row["auc"])

    def single(c: str) -> float:
        if c not in uni:
            uni[c] = _fit_auc(pool, [c], seed)
        return uni[c]

    if candidates is not None:
        order = list(dict.fromkeys([candidates] if isinstance(candidates, str) else candidates))
        unknown = [c for c in order if c not in names]
        if unknown:
            raise SynthkitError(f"candidate column {unknown[0]!r} is not among the compared columns")
    elif len(names) <= ALL_PAIRS_UP_TO:
        order = list(names)
    else:
        ranked = _rank_columns(pool, {c: single(c) for c in names})
        model = _classifier("xgboost", seed).fit(pool.x[pool.train], pool.y[pool.train])
        top = _top_features(model, pool.owners, len(names))
        order = pair_candidates(ranked, top, max_pairs)

    position = {c: i for i, c in enumerate(names)}
    rows = []
    for a, b in _pairs(order, max_pairs):
        a, b = sorted((a, b), key=position.__getitem__)
        auc = _fit_auc(pool, [a, b], seed)
        rows.append({"columns": [a, b], "auc": auc, "lift": auc - max(single(a), single(b))})
    return sorted(rows, key=lambda r: (-r["lift"], -r["auc"]))


def pair_candidates(
    univariate: list[dict[str, Any]], top_features: list[dict[str, Any]] | None, max_pairs: int = 40
) -> list[str]:
    """Columns worth pairing, most suspect first: alternately the multivariate detector's top
    columns (`top_features`, as :func:`c2st` returns them) and the top univariate ones
    (`univariate`, as :func:`column_detectability` returns them), without repeats, as many
    as `max_pairs` pairs need (10 columns for 40 pairs: 45 pairs among them)."""
    k = 0
    while k * (k - 1) // 2 < max_pairs:
        k += 1
    out: list[str] = []
    for a, b in zip_longest([f["column"] for f in top_features or []], [r["column"] for r in univariate]):
        for c in (a, b):
            if c is not None and c not in out:
                out.append(c)
    return out[:k]


def _check_int(name: str, v: Any) -> None:
    if not isinstance(v, Integral) or isinstance(v, bool) or v < 0:
        raise SynthkitError(f"{name} must be an integer >= 0, got {v!r}")


@dataclass
class _Pool:
    """T of steps 3-4: features, labels (1 real, 0 synthetic) and the train/test masks."""

    schema: Schema
    cols: EvalColumns
    n: int  # rows of each table used
    subsampled: str | None
    x: np.ndarray  # model_matrix features of the real rows, then the synthetic rows
    owners: list[str]  # for each feature of x, the column it encodes
    y: np.ndarray
    train: np.ndarray
    test: np.ndarray
    slices: dict[str, np.ndarray]  # column -> its features of x, NaN where missing


def _pool(
    real_test: pd.DataFrame,
    synth: pd.DataFrame,
    schema: Schema | None,
    seed: int,
    test_size: float,
    max_rows: int | None,
    what: str,
) -> _Pool:
    """Steps 2-4 shared by every detector: equal sizes, labels, features, split."""
    if not isinstance(test_size, (int, float)) or isinstance(test_size, bool) or not 0 < test_size < 1:
        raise SynthkitError(f"test_size must be a number strictly between 0 and 1, got {test_size!r}")
    _check_int("seed", seed)
    bad_rows = not isinstance(max_rows, Integral) or isinstance(max_rows, bool) or max_rows < MIN_ROWS
    if max_rows is not None and bad_rows:
        raise SynthkitError(f"max_rows must be an integer >= {MIN_ROWS}, got {max_rows!r}")

    schema, cols, (real, syn) = prepare(real_test, synth, schema=schema)
    n = min(len(real), len(syn))
    if n < MIN_ROWS:
        raise SynthkitError(
            f"{what} needs at least {MIN_ROWS} rows in each table, got {len(real)} real and {len(syn)} synthetic"
        )
    if max_rows is not None:
        n = min(n, int(max_rows))
    subsampled = "real" if len(real) > n else "synthetic" if len(syn) > n else None
    if len(real) > n and len(syn) > n:
        subsampled = "both"
    rng = np.random.default_rng(seed)
    real, syn = _subsample(real, n, rng), _subsample(syn, n, rng)

    (x_real, x_syn), owners = _features([real, syn], cols)
    x = np.vstack([x_real, x_syn])
    y = np.r_[np.ones(n), np.zeros(n)]
    train, test = _split(x, y, test_size, seed)

    # Per-column features for the small detectors: model_matrix's block of the column,
    # with the median it imputes turned back into NaN (XGBoost routes missing values
    # itself), the missing indicator kept.
    where: dict[str, list[int]] = {}
    for i, owner in enumerate(owners):
        where.setdefault(owner, []).append(i)
    slices = {}
    numeric = set(cols.numeric)
    for name, idx in where.items():
        block = x[:, idx].copy()
        if name in numeric and block.shape[1] == 2:
            block[block[:, 1] == 1, 0] = np.nan
        slices[name] = block
    return _Pool(schema, cols, n, subsampled, x, owners, y, train, test, slices)


def _fit_auc(pool: _Pool, columns: list[str], seed: int) -> float:
    """AUC on T_test of a light XGBoost detector trained on T_train's `columns` only."""
    x = pool.slices[columns[0]] if len(columns) == 1 else np.hstack([pool.slices[c] for c in columns])
    model = XGBClassifier(**COLUMN_XGBOOST_PARAMS, random_state=seed).fit(x[pool.train], pool.y[pool.train])
    return float(roc_auc_score(pool.y[pool.test], model.predict_proba(x[pool.test])[:, 1]))


def _rank_columns(pool: _Pool, auc: dict[str, float]) -> list[dict[str, Any]]:
    rows = [{"column": c, "auc": a, "kind": pool.schema[c].kind.value} for c, a in auc.items()]
    return sorted(rows, key=lambda r: -r["auc"])


def _pairs(order: list[str], limit: int) -> list[tuple[str, str]]:
    """Pairs of `order`, all pairs among its first k before any with its (k+1)-th."""
    out: list[tuple[str, str]] = []
    for j in range(1, len(order)):
        for i in range(j):
            if len(out) >= limit:
                return out
            out.append((order[i], order[j]))
    return out


def _subsample(frame: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) == n:
        return frame
    keep = np.sort(rng.choice(len(frame), size=n, replace=False))
    return frame.iloc[keep].reset_index(drop=True)


def _features(frames: list[pd.DataFrame], cols: EvalColumns) -> tuple[list[np.ndarray], list[str]]:
    """model_matrix's matrices and, for each feature, the column it encodes.

    Built one column at a time, so that each feature's owner is known without parsing
    feature names (a column may itself be called "a=b" or "x is missing").
    """
    blocks: list[list[np.ndarray]] = [[] for _ in frames]
    owners: list[str] = []
    for name in cols.all:
        one = EvalColumns(numeric=[name], categorical=[]) if name in cols.numeric else EvalColumns([], [name])
        mats, feature_names = model_matrix(frames, one)
        for b, m in zip(blocks, mats):
            b.append(m)
        owners.extend([name] * len(feature_names))
    return [np.hstack(b) for b in blocks], owners


def _split(x: np.ndarray, y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Step 4: boolean masks of T_train and T_test.

    Rows with identical features form a group that goes whole to one side. Groups are
    split stratified by their labels (all real, all synthetic, both), so each side keeps
    the classes balanced.
    """
    # 64-bit row hashes: a collision (odds ~ n² / 2⁶⁴) would only tie two rows together.
    hashes = pd.util.hash_pandas_object(pd.DataFrame(x), index=False).to_numpy()
    group = pd.factorize(hashes)[0]
    size = np.bincount(group)
    n_real = np.bincount(group, weights=y)
    composition = np.where(n_real == 0, 0, np.where(n_real == size, 1, 2))
    rng = np.random.default_rng(seed)
    in_test = np.zeros(len(size), dtype=bool)
    for k in range(3):
        members = rng.permutation(np.flatnonzero(composition == k))
        in_test[members[: int(round(test_size * len(members)))]] = True
    test = in_test[group]
    train = ~test
    if len(np.unique(y[test])) < 2 or len(np.unique(y[train])) < 2:
        raise SynthkitError(
            "the tables have too few distinct rows for training and test sets that both hold real and synthetic rows"
        )
    return train, test


def _top_features(model: XGBClassifier, owners: list[str], k: int) -> list[dict[str, Any]]:
    """The k columns with the largest share of the detector's total gain.

    Total gain, not XGBoost's default average gain per split: totals add up, so a
    column's one-hot categories and missing indicator sum into the column's share.
    """
    gain = model.get_booster().get_score(importance_type="total_gain")
    per_column: dict[str, float] = {}
    for feature, g in gain.items():
        # Features of a matrix without names are called f0, f1, ... in column order.
        owner = owners[int(feature[1:])]
        per_column[owner] = per_column.get(owner, 0.0) + float(g)
    total = sum(per_column.values())
    if total <= 0:
        return []
    ranked = sorted(per_column.items(), key=lambda kv: kv[1], reverse=True)[:k]
    return [{"column": c, "importance": g / total} for c, g in ranked]
