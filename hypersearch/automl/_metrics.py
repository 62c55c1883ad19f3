"""The metric a search maximises: a scikit-learn scorer (greater is better).

Defaults: accuracy for classification (balanced accuracy when the smallest
class has under a tenth of the largest one's samples, where plain accuracy
rewards predicting the majority class), R^2 for regression.  Any scorer name of
:func:`sklearn.metrics.get_scorer` (e.g. ``"f1_macro"``, ``"roc_auc"``,
``"neg_root_mean_squared_error"``) or a callable ``scorer(estimator, X, y)``
is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Smallest-to-largest class ratio below which the default metric is balanced accuracy.
IMBALANCE_RATIO = 0.1


@dataclass(frozen=True)
class Metric:
    """A resolved metric.

    Attributes:
        name: Scorer name (or the callable's name).
        scorer: ``scorer(fitted_estimator, X, y) -> float``, greater is better.
        needs_proba: The scorer calls ``predict_proba``.
    """

    name: str
    scorer: Callable[[Any, Any, Any], float]
    needs_proba: bool


def default_metric(task: str, codes: np.ndarray | None) -> str:
    if task == "regression":
        return "r2"
    counts = np.bincount(codes) if codes is not None else np.array([1])
    counts = counts[counts > 0]
    if counts.min() < IMBALANCE_RATIO * counts.max():
        return "balanced_accuracy"
    return "accuracy"


def resolve_metric(metric: Any, task: str, codes: np.ndarray | None) -> Metric:
    """Turn the ``metric`` argument into a :class:`Metric` (``ValueError`` if unknown)."""
    from sklearn.metrics import get_scorer

    if metric is None:
        metric = default_metric(task, codes)
    if isinstance(metric, str):
        try:
            scorer = get_scorer(metric)
        except (ValueError, KeyError):
            raise ValueError(
                f"metric {metric!r} is not a scikit-learn scorer name; see "
                "sklearn.metrics.get_scorer_names() (or pass a callable scorer(estimator, X, y))"
            ) from None
        response = getattr(scorer, "_response_method", None)
        if isinstance(response, (tuple, list)):
            response = response[0]
        needs_proba = response == "predict_proba" or type(scorer).__name__ == "_ProbaScorer"
        return Metric(metric, scorer, needs_proba)
    if callable(metric):
        return Metric(getattr(metric, "__name__", type(metric).__name__), metric, False)
    raise ValueError(f"metric must be a scorer name, a callable or None, got {metric!r}")
