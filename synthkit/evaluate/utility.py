"""Machine-learning utility: train on synthetic, test on real (TSTR).

Paper 001 §6.3 sets C2ST apart from "ML-efficacy, which measures the (test) performance
gap between predictive models trained on real versus synthetic data"; this module is
that measure. One XGBoost model is trained on the synthetic table and one on the real
training table, with the same fixed settings (:data:`~synthkit.evaluate.detection.XGBOOST_PARAMS`),
and both are scored on the same real holdout. A ratio synthetic / real near 1 means the
synthetic data serve a model as well as the real data would.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, mean_squared_error, r2_score, roc_auc_score
from xgboost import XGBClassifier, XGBRegressor

from synthkit.errors import SynthkitError
from synthkit.evaluate.detection import XGBOOST_PARAMS
from synthkit.evaluate.encoding import MISSING, EvalColumns, model_matrix, prepare
from synthkit.tabular.schema import NUMERIC_KINDS, ColumnKind, Schema, infer_schema


def tstr(
    train_real: pd.DataFrame,
    synth: pd.DataFrame,
    holdout: pd.DataFrame,
    target: str,
    schema: Schema | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Train-on-synthetic / test-on-real utility for predicting `target` (paper §6.3, ML-efficacy).

    The features are every other evaluated column, encoded by
    :func:`~synthkit.evaluate.encoding.model_matrix` fitted on the three tables together
    so that the encodings agree. Rows whose target is missing are left out. The task
    follows the target's kind:

    * categorical, boolean or discrete → classification: ROC AUC (binary) or the macro
      average of one-vs-rest AUCs (multiclass) over the classes of the holdout, plus
      accuracy. A class a model never saw gets probability 0; a class only a training
      table has can still be predicted (and is then wrong);
    * continuous, mixed or datetime → regression: R², plus RMSE.

    Returns ``{"task": "classification" | "regression", "target", "metric": "roc_auc" |
    "roc_auc_ovr_macro" | "r2", "real": score, "synthetic": score, "ratio": synthetic /
    real (None when the real score is not positive), "secondary_metric": "accuracy" |
    "rmse", "secondary": {"real", "synthetic"}, "n_rows": {"train_real", "synthetic",
    "holdout"}}``.
    """
    schema = schema or infer_schema(train_real)
    if target not in schema.names:
        raise SynthkitError(f"target column {target!r} is not in the data")
    kind = schema[target].kind
    if kind in (ColumnKind.IDENTIFIER, ColumnKind.CONSTANT):
        raise SynthkitError(f"target column {target!r} is {kind.value}: there is nothing to predict")
    schema, cols, frames = prepare(train_real, synth, holdout, schema=schema)
    features = EvalColumns(
        numeric=[c for c in cols.numeric if c != target],
        categorical=[c for c in cols.categorical if c != target],
    )
    if not features.all:
        raise SynthkitError(f"no feature column to predict target {target!r} from")
    matrices, _ = model_matrix(frames, features)

    numeric = kind in NUMERIC_KINDS
    xs, ys = [], []
    for which, frame, x in zip(("real training", "synthetic", "holdout"), frames, matrices):
        y = frame[target].to_numpy()
        known = ~np.isnan(y) if numeric else y != MISSING
        if not known.any():
            raise SynthkitError(f"target column {target!r} is missing in every row of the {which} data")
        xs.append(x[known])
        ys.append(y[known])
    (x_real, x_syn, x_hold), (y_real, y_syn, y_hold) = xs, ys

    if numeric:
        result = _regression(x_real, y_real, x_syn, y_syn, x_hold, y_hold, seed)
    else:
        result = _classification(x_real, y_real, x_syn, y_syn, x_hold, y_hold, seed, target)
    real_score, syn_score = result["real"], result["synthetic"]
    return {
        "task": "regression" if numeric else "classification",
        "target": target,
        **result,
        "ratio": syn_score / real_score if real_score > 0 else None,
        "n_rows": {"train_real": len(y_real), "synthetic": len(y_syn), "holdout": len(y_hold)},
    }


def _regression(
    x_real: np.ndarray,
    y_real: np.ndarray,
    x_syn: np.ndarray,
    y_syn: np.ndarray,
    x_hold: np.ndarray,
    y_hold: np.ndarray,
    seed: int,
) -> dict[str, Any]:
    scores, rmse = {}, {}
    for which, x, y in (("real", x_real, y_real), ("synthetic", x_syn, y_syn)):
        pred = XGBRegressor(**XGBOOST_PARAMS, random_state=seed).fit(x, y).predict(x_hold)
        scores[which] = float(r2_score(y_hold, pred))
        rmse[which] = math.sqrt(float(mean_squared_error(y_hold, pred)))
    return {
        "metric": "r2",
        "real": scores["real"],
        "synthetic": scores["synthetic"],
        "secondary_metric": "rmse",
        "secondary": rmse,
    }


def _classification(
    x_real: np.ndarray,
    y_real: np.ndarray,
    x_syn: np.ndarray,
    y_syn: np.ndarray,
    x_hold: np.ndarray,
    y_hold: np.ndarray,
    seed: int,
    target: str,
) -> dict[str, Any]:
    classes = np.unique(y_hold)
    if len(classes) < 2:
        raise SynthkitError(f"target column {target!r} has a single class in the holdout data: AUC is undefined")
    scores, accuracy = {}, {}
    for which, x, y in (("real", x_real, y_real), ("synthetic", x_syn, y_syn)):
        labels, proba = _fit_predict_proba(x, y, x_hold, seed)
        # Probabilities over the holdout's classes; a class the model never saw has none.
        column = {c: i for i, c in enumerate(labels)}
        p = np.column_stack([proba[:, column[c]] if c in column else np.zeros(len(x_hold)) for c in classes])
        if len(classes) == 2:
            scores[which] = float(roc_auc_score(y_hold == classes[1], p[:, 1]))
        else:
            # Macro one-vs-rest, as sklearn's multi_class="ovr" computes it, but tolerant of
            # probabilities that do not sum to 1 over the holdout's classes.
            scores[which] = float(np.mean([roc_auc_score(y_hold == c, p[:, i]) for i, c in enumerate(classes)]))
        accuracy[which] = float(accuracy_score(y_hold, labels[proba.argmax(axis=1)]))
    return {
        "metric": "roc_auc" if len(classes) == 2 else "roc_auc_ovr_macro",
        "real": scores["real"],
        "synthetic": scores["synthetic"],
        "secondary_metric": "accuracy",
        "secondary": accuracy,
    }


def _fit_predict_proba(x: np.ndarray, y: np.ndarray, x_new: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The classes of `y` and their predicted probabilities for `x_new`.

    XGBoost wants classes coded 0..k-1, so each table's own classes are coded; a table
    with a single class (a collapsed synthetic target) predicts it with certainty.
    """
    labels, codes = np.unique(y, return_inverse=True)
    if len(labels) == 1:
        return labels, np.ones((len(x_new), 1))
    model = XGBClassifier(**XGBOOST_PARAMS, random_state=seed).fit(x, codes)
    return labels, model.predict_proba(x_new)
