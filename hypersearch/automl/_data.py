"""Checking and preparing the inputs of :func:`hypersearch.automl.fit`.

Every problem found here raises a ``ValueError`` naming the offending argument,
before any model is trained: a mistake in the inputs should cost a stack trace
at once, not a search whose every trial failed.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from hypersearch.automl._families import TASKS
from hypersearch.automl._pipeline import ColumnLayout, column_layout


@dataclass
class Dataset:
    """Validated training data.

    Attributes:
        X: A float array, or the caller's pandas DataFrame.
        y: Targets (class labels or floats), 1-D.
        layout: Column layout of a DataFrame with categorical columns, else ``None``.
        classes: Sorted class labels (classification) or ``None``.
        codes: ``y`` as class indices into ``classes`` (classification) or ``None``.
    """

    X: Any
    y: np.ndarray
    layout: ColumnLayout | None
    classes: np.ndarray | None
    codes: np.ndarray | None

    @property
    def n_samples(self) -> int:
        return len(self.y)

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    def rows(self, idx: np.ndarray) -> tuple[Any, np.ndarray]:
        """``(X, y)`` restricted to the rows ``idx``."""
        return take_rows(self.X, idx), self.y[idx]


def take_rows(X: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of an array or a DataFrame (by position)."""
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def _plain(v: Any) -> Any:
    """A numpy scalar as the Python value it holds (for readable messages)."""
    return v.item() if isinstance(v, np.generic) else v


def _is_frame(X: Any) -> bool:
    return hasattr(X, "dtypes") and hasattr(X, "columns") and hasattr(X, "iloc")


def check_task(task: Any, y: Any = None) -> str:
    """``task``, or for ``"auto"`` the one ``y`` calls for: regression for floats
    (unless they are a few whole numbers, i.e. labels stored as floats) and for
    integers that are mostly distinct (counts, prices); classification for
    labels: strings, booleans, categories and integers with repeats."""
    if task == "auto":
        if y is None:
            raise ValueError("task='auto' needs y")
        arr = np.asarray(y)
        if arr.dtype.kind == "f":
            finite = arr[np.isfinite(arr)]
            labels = bool(np.all(finite == np.round(finite))) and len(np.unique(finite)) <= 20
            return "classification" if labels else "regression"
        if arr.dtype.kind in "iu":
            distinct = len(np.unique(arr))
            return "regression" if distinct > max(20, arr.size // 2) else "classification"
        return "classification"
    if task not in TASKS:
        raise ValueError(f"task must be 'auto', 'classification' or 'regression', got {task!r}")
    return task


def check_budget(time_budget: Any, n_trials: Any) -> tuple[float | None, int | None]:
    """Validate ``time_budget`` (seconds) and ``n_trials``; at least one must be set."""
    if time_budget is not None:
        if (
            isinstance(time_budget, bool)
            or not isinstance(time_budget, numbers.Real)
            or not math.isfinite(time_budget)
            or time_budget <= 0
        ):
            raise ValueError(
                f"time_budget must be a positive number of seconds or None, got {time_budget!r}"
            )
        time_budget = float(time_budget)
    if n_trials is not None and (
        isinstance(n_trials, bool) or not isinstance(n_trials, numbers.Integral) or n_trials < 1
    ):
        raise ValueError(f"n_trials must be a positive integer or None, got {n_trials!r}")
    if time_budget is None and n_trials is None:
        raise ValueError(
            "give time_budget or n_trials (or both): with neither the search never ends"
        )
    return time_budget, None if n_trials is None else int(n_trials)


def check_cv(cv: Any) -> int:
    if isinstance(cv, bool) or not isinstance(cv, numbers.Integral) or cv < 2:
        raise ValueError(f"cv must be an integer >= 2 (the number of folds), got {cv!r}")
    return int(cv)


def check_seed(seed: Any) -> int | None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ValueError(f"seed must be an integer or None, got {seed!r}")
    return None if seed is None else int(seed)


def check_n_jobs(n_jobs: Any) -> int:
    if (
        isinstance(n_jobs, bool)
        or not isinstance(n_jobs, numbers.Integral)
        or (n_jobs < 1 and n_jobs != -1)
    ):
        raise ValueError(f"n_jobs must be a positive integer or -1 (one per CPU), got {n_jobs!r}")
    return int(n_jobs)


def _check_X(X: Any, name: str) -> Any:
    if X is None:
        raise ValueError(f"{name} is None; pass a 2-D array or a pandas DataFrame")
    if hasattr(X, "tocsr"):
        raise ValueError(
            f"{name} is a sparse matrix, which is not supported; pass {name}.toarray()"
        )
    if _is_frame(X):
        if X.shape[1] == 0:
            raise ValueError(f"{name} has no columns")
        numeric = X.select_dtypes(include="number")
        if numeric.shape[1] and np.isinf(numeric.to_numpy(dtype=float)).any():
            raise ValueError(
                f"{name} contains infinite values; replace them (e.g. by NaN, which is imputed)"
            )
        return X
    try:
        arr = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be numeric; for categorical columns pass a pandas DataFrame "
            "(its non-numeric columns are one-hot encoded)"
        ) from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no columns")
    if np.isinf(arr).any():
        raise ValueError(
            f"{name} contains infinite values; replace them (e.g. by NaN, which is imputed)"
        )
    return arr


def _check_y(y: Any, n_rows: int, task: str, name: str, x_name: str) -> np.ndarray:
    if y is None:
        raise ValueError(f"{name} is None")
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one target per row), got shape {arr.shape}")
    if len(arr) != n_rows:
        raise ValueError(
            f"{x_name} and {name} have different numbers of samples: {x_name} has {n_rows} rows, "
            f"{name} has {len(arr)}"
        )
    if task == "regression":
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be numeric for task='regression'") from None
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinite values")
    elif arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN labels")
    elif arr.dtype.kind == "O" and any(v is None or (isinstance(v, float) and v != v) for v in arr):
        raise ValueError(f"{name} contains missing labels")
    return arr


def check_data(
    X: Any, y: Any, task: str, cv: int, *, names: tuple[str, str] = ("X", "y")
) -> Dataset:
    """Validate ``(X, y)`` for ``task`` and ``cv`` folds."""
    x_name, y_name = names
    X = _check_X(X, x_name)
    y_arr = _check_y(y, int(X.shape[0]), task, y_name, x_name)
    if task == "regression":
        if len(y_arr) < 2 * cv:
            raise ValueError(
                f"too few samples for cv={cv}: {len(y_arr)} (need at least {2 * cv}); lower cv"
            )
        return Dataset(X, y_arr, column_layout(X), None, None)
    try:
        classes, codes, counts = np.unique(y_arr, return_inverse=True, return_counts=True)
    except TypeError:
        raise ValueError(f"{y_name} mixes label types that cannot be compared") from None
    if len(classes) < 2:
        raise ValueError(
            f"{y_name} has a single class ({_plain(classes[0])!r}); "
            "classification needs two or more"
        )
    rare = [(_plain(c), int(n)) for c, n in zip(classes, counts) if n < cv]
    if rare:
        shown = ", ".join(f"{c!r}: {n}" for c, n in rare[:5])
        raise ValueError(
            f"too few samples per class for cv={cv}: every class needs at least {cv} "
            f"(found {shown}{', ...' if len(rare) > 5 else ''}); "
            "lower cv or merge or drop rare classes"
        )
    return Dataset(X, y_arr, column_layout(X), classes, codes.ravel())


def split_holdout(
    data: Dataset, holdout: Any, task: str, cv: int, random_state: int
) -> tuple[Dataset, tuple[Any, np.ndarray] | None]:
    """Set aside a test split: ``holdout`` is ``None``, a fraction in (0, 1) of the
    data (stratified for classification) or an ``(X_test, y_test)`` pair.

    Returns the data to search on and the test split (or ``None``)."""
    if holdout is None:
        return data, None
    if isinstance(holdout, tuple) and len(holdout) == 2:
        X_te = _check_X(holdout[0], "holdout[0]")
        y_te = _check_y(holdout[1], int(X_te.shape[0]), task, "holdout[1]", "holdout[0]")
        if X_te.shape[1] != data.n_features:
            raise ValueError(f"holdout[0] has {X_te.shape[1]} columns but X has {data.n_features}")
        return data, (X_te, y_te)
    if (
        isinstance(holdout, bool)
        or not isinstance(holdout, numbers.Real)
        or not 0.0 < float(holdout) < 1.0
    ):
        raise ValueError(
            "holdout must be None, a fraction in (0, 1) or an (X_test, y_test) pair, "
            f"got {holdout!r}"
        )
    from sklearn.model_selection import train_test_split

    idx = np.arange(data.n_samples)
    strat = data.codes if task == "classification" else None
    try:
        tr, te = train_test_split(
            idx, test_size=float(holdout), random_state=random_state, stratify=strat
        )
    except ValueError as e:
        raise ValueError(f"holdout={holdout!r} cannot be split off: {e}") from None
    X_tr, y_tr = data.rows(np.sort(tr))
    X_te, y_te = data.rows(np.sort(te))
    try:
        rest = check_data(X_tr, y_tr, task, cv)
    except ValueError as e:
        raise ValueError(f"after setting aside holdout={holdout!r}: {e}") from None
    return rest, (X_te, y_te)
