"""Preprocessing plus model: the scikit-learn Pipeline a configuration stands for.

Preprocessing is part of every pipeline, so it is fitted on the training part of
each cross-validation fold only (no information leaks from the validation part)
and the final pipeline takes raw inputs:

* missing values are imputed (median for numeric columns) in every pipeline;
* numeric inputs are standardised for the scale-sensitive families (linear,
  k-NN, SVM, MLP), never for trees, which do not need it;
* when ``X`` is a pandas DataFrame with non-numeric (object, string, category)
  columns, those are one-hot encoded (missing values become their own
  category; rare categories beyond the 20 most frequent are pooled, and
  categories unseen in training encode as all zeros).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from hypersearch.automl._deps import require_sklearn
from hypersearch.automl._families import FAMILIES, TaskContext, build_estimator

#: Most one-hot columns per categorical input column.
MAX_CATEGORIES = 20


@dataclass(frozen=True)
class ColumnLayout:
    """Numeric and categorical columns of a pandas DataFrame input."""

    numeric: tuple[Hashable, ...]
    categorical: tuple[Hashable, ...]


def column_layout(X: Any) -> ColumnLayout | None:
    """The layout of a DataFrame with categorical columns, or ``None`` when every
    input is numeric (arrays, numeric DataFrames): then no one-hot step is needed."""
    if not (hasattr(X, "dtypes") and hasattr(X, "columns") and hasattr(X, "iloc")):
        return None
    from pandas.api.types import is_numeric_dtype

    numeric = tuple(c for c in X.columns if is_numeric_dtype(X[c]))
    categorical = tuple(c for c in X.columns if not is_numeric_dtype(X[c]))
    return ColumnLayout(numeric, categorical) if categorical else None


def build_pipeline(
    params: Mapping[str, Any], ctx: TaskContext, layout: ColumnLayout | None = None
) -> Any:
    """The unfitted pipeline (preprocessing + model) of a configuration.

    Args:
        params: A configuration: ``{"model": family, "<family>.<name>": value, ...}``.
        ctx: The task (see :class:`TaskContext`).
        layout: Column layout of DataFrame inputs with categorical columns
            (:func:`column_layout`); ``None`` for numeric inputs.
    """
    require_sklearn()
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    estimator = build_estimator(params, ctx)  # checks params["model"]
    scale = FAMILIES[params["model"]].scale_sensitive

    def numeric_steps() -> list[tuple[str, Any]]:
        steps: list[tuple[str, Any]] = [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True))
        ]
        if scale:
            steps.append(("scale", StandardScaler()))
        return steps

    if layout is None:
        return Pipeline([*numeric_steps(), ("model", estimator)])

    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            (
                "onehot",
                OneHotEncoder(
                    handle_unknown="infrequent_if_exist",
                    max_categories=MAX_CATEGORIES,
                    sparse_output=False,
                ),
            ),
        ]
    )
    transformers: list[tuple[str, Any, list[Hashable]]] = [
        ("categorical", categorical, list(layout.categorical))
    ]
    if layout.numeric:
        transformers.insert(0, ("numeric", Pipeline(numeric_steps()), list(layout.numeric)))
    prep = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
    return Pipeline([("prep", prep), ("model", estimator)])


def fit_pipeline(pipeline: Any, X: Any, y: Any) -> Any:
    """Fit ``pipeline`` on ``(X, y)``, first adapting what cannot exceed the data
    (k-NN's ``n_neighbors`` on a small fidelity subset).  Returns the pipeline."""
    model = pipeline.named_steps["model"]
    k = getattr(model, "n_neighbors", None)
    if isinstance(k, int) and k > len(y):
        pipeline.set_params(model__n_neighbors=max(1, len(y)))
    return pipeline.fit(X, y)
