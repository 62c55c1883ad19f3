"""Model families: each one's hyperparameter space, default configuration and estimator.

A family is one kind of model (linear, k-NN, SVM, random forest, gradient
boosting, MLP).  Its hyperparameters are named ``<family>.<name>`` and are only
suggested when the trial picked that family, so the joint space over all
families is conditional (see :mod:`hypersearch.automl._space`).

The ``suggest`` functions only call ``trial.suggest_float``, ``suggest_int`` and
``suggest_categorical``, so they work with any trial object that has them
(an Optuna trial included), which lets benchmarks search exactly the same space
with another library.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hypersearch.automl._deps import require_sklearn

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = (CLASSIFICATION, REGRESSION)


@dataclass(frozen=True)
class TaskContext:
    """What a family needs to know about the task to define and build its models.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        n_features: Number of input columns (before one-hot encoding).
        n_classes: Number of classes (0 for regression).
        random_state: Seed given to every randomised estimator, so that all
            trials of a run are compared under the same randomness.
        needs_proba: The metric needs ``predict_proba`` (e.g. ``neg_log_loss``):
            SVMs are then built with ``probability=True``.
    """

    task: str
    n_features: int
    n_classes: int = 0
    random_state: int = 0
    needs_proba: bool = False

    @property
    def is_classification(self) -> bool:
        return self.task == CLASSIFICATION


@dataclass(frozen=True)
class Family:
    """One model family of the search space.

    Attributes:
        name: Short name, the value of the ``model`` parameter and the prefix of
            the family's hyperparameters.
        label: Human-readable name.
        scale_sensitive: Whether inputs are standardised before the model
            (distance-, kernel- and gradient-based models need it; trees do not).
        suggest: ``suggest(trial, ctx) -> params`` (prefixed names).
        default: ``default(ctx) -> params``: a configuration known to work well
            without tuning, evaluated first so every family has a baseline.
        build: ``build(params, ctx) -> estimator`` (unfitted).
    """

    name: str
    label: str
    scale_sensitive: bool
    suggest: Callable[[Any, TaskContext], dict[str, Any]]
    default: Callable[[TaskContext], dict[str, Any]]
    build: Callable[[Mapping[str, Any], TaskContext], Any]


def _own(params: Mapping[str, Any], family: str) -> dict[str, Any]:
    """The family's hyperparameters without their ``<family>.`` prefix."""
    prefix = family + "."
    return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}


def _scaled_target(regressor: Any) -> Any:
    """Fit ``regressor`` on a standardised target: SVR's epsilon and an MLP's
    initialisation assume a target of unit scale."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.preprocessing import StandardScaler

    return TransformedTargetRegressor(regressor=regressor, transformer=StandardScaler())


# -- linear ---------------------------------------------------------------------------------


@functools.cache
def _penalty_is_deprecated() -> bool:
    """scikit-learn >= 1.8 selects the L1/L2 penalty of LogisticRegression with
    ``l1_ratio``; older versions with ``penalty``."""
    from sklearn.linear_model import LogisticRegression

    param = inspect.signature(LogisticRegression).parameters.get("penalty")
    return param is not None and param.default == "deprecated"


def _linear_suggest(trial: Any, ctx: TaskContext) -> dict[str, Any]:
    if ctx.is_classification:
        return {
            "linear.C": trial.suggest_float("linear.C", 1e-4, 1e4, log=True),
            "linear.penalty": trial.suggest_categorical("linear.penalty", ["l2", "l1"]),
        }
    return {"linear.alpha": trial.suggest_float("linear.alpha", 1e-4, 1e4, log=True)}


def _linear_default(ctx: TaskContext) -> dict[str, Any]:
    if ctx.is_classification:
        return {"linear.C": 1.0, "linear.penalty": "l2"}
    return {"linear.alpha": 1.0}


def _linear_build(params: Mapping[str, Any], ctx: TaskContext) -> Any:
    p = _own(params, "linear")
    if not ctx.is_classification:
        from sklearn.linear_model import Ridge

        return Ridge(alpha=p["alpha"])
    from sklearn.linear_model import LogisticRegression

    penalty = p["penalty"]
    if penalty == "l2":
        solver, max_iter = "lbfgs", 1000
    elif penalty == "l1":
        # liblinear is fast on small binary problems but cannot fit a multinomial
        # model; saga handles L1 for any number of classes.
        solver, max_iter = ("liblinear", 1000) if ctx.n_classes <= 2 else ("saga", 300)
    else:
        raise ValueError(f"linear.penalty must be 'l1' or 'l2', got {penalty!r}")
    kw: dict[str, Any] = {"C": p["C"], "solver": solver, "max_iter": max_iter}
    if _penalty_is_deprecated():
        kw["l1_ratio"] = 1.0 if penalty == "l1" else 0.0
    else:
        kw["penalty"] = penalty
    return LogisticRegression(random_state=ctx.random_state, **kw)


# -- k nearest neighbours ---------------------------------------------------------------------


def _knn_suggest(trial: Any, ctx: TaskContext) -> dict[str, Any]:
    return {
        "knn.n_neighbors": trial.suggest_int("knn.n_neighbors", 1, 50, log=True),
        "knn.weights": trial.suggest_categorical("knn.weights", ["uniform", "distance"]),
        "knn.p": trial.suggest_categorical("knn.p", [1, 2]),
    }


def _knn_default(ctx: TaskContext) -> dict[str, Any]:
    return {"knn.n_neighbors": 5, "knn.weights": "uniform", "knn.p": 2}


def _knn_build(params: Mapping[str, Any], ctx: TaskContext) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    p = _own(params, "knn")
    cls = KNeighborsClassifier if ctx.is_classification else KNeighborsRegressor
    return cls(n_neighbors=p["n_neighbors"], weights=p["weights"], p=p["p"])


# -- support vector machines ------------------------------------------------------------------


def _svm_suggest(trial: Any, ctx: TaskContext) -> dict[str, Any]:
    out = {
        "svm.C": trial.suggest_float("svm.C", 1e-3, 1e3, log=True),
        "svm.kernel": trial.suggest_categorical("svm.kernel", ["rbf", "linear"]),
    }
    if out["svm.kernel"] == "rbf":  # gamma only exists for the RBF kernel: nested condition
        out["svm.gamma"] = trial.suggest_float("svm.gamma", 1e-4, 10.0, log=True)
    if not ctx.is_classification:
        out["svm.epsilon"] = trial.suggest_float("svm.epsilon", 1e-3, 1.0, log=True)
    return out


def _svm_default(ctx: TaskContext) -> dict[str, Any]:
    # scikit-learn's gamma="scale" on standardised inputs is 1 / n_features.
    gamma = min(max(1.0 / max(ctx.n_features, 1), 1e-4), 10.0)
    out: dict[str, Any] = {"svm.C": 1.0, "svm.kernel": "rbf", "svm.gamma": gamma}
    if not ctx.is_classification:
        out["svm.epsilon"] = 0.1
    return out


def _svm_build(params: Mapping[str, Any], ctx: TaskContext) -> Any:
    from sklearn.svm import SVC, SVR

    p = _own(params, "svm")
    kw: dict[str, Any] = {"C": p["C"], "kernel": p["kernel"], "max_iter": 200_000}
    if p["kernel"] == "rbf":
        kw["gamma"] = p["gamma"]
    if ctx.is_classification:
        svc = SVC(random_state=ctx.random_state, **kw)
        return _with_probabilities(svc) if ctx.needs_proba else svc
    return _scaled_target(SVR(epsilon=p["epsilon"], **kw))


def _with_probabilities(svc: Any) -> Any:
    """An SVC that gives ``predict_proba`` (Platt scaling), for probability metrics.

    scikit-learn >= 1.9 deprecates ``SVC(probability=True)`` in favour of a
    calibration wrapper; older versions use the parameter.
    """
    from sklearn.svm import SVC

    if inspect.signature(SVC).parameters["probability"].default == "deprecated":
        from sklearn.calibration import CalibratedClassifierCV

        return CalibratedClassifierCV(svc, method="sigmoid", cv=3, ensemble=False)
    return svc.set_params(probability=True)


# -- random forest ----------------------------------------------------------------------------


def _rf_suggest(trial: Any, ctx: TaskContext) -> dict[str, Any]:
    return {
        "rf.n_estimators": trial.suggest_int("rf.n_estimators", 50, 400, log=True),
        "rf.max_depth": trial.suggest_categorical("rf.max_depth", [None, 4, 8, 16, 32]),
        "rf.max_features": trial.suggest_categorical("rf.max_features", ["sqrt", "log2", 0.5, 1.0]),
        "rf.min_samples_leaf": trial.suggest_int("rf.min_samples_leaf", 1, 20, log=True),
    }


def _rf_default(ctx: TaskContext) -> dict[str, Any]:
    return {
        "rf.n_estimators": 200,
        "rf.max_depth": None,
        "rf.max_features": "sqrt" if ctx.is_classification else 1.0,
        "rf.min_samples_leaf": 1,
    }


def _rf_build(params: Mapping[str, Any], ctx: TaskContext) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    p = _own(params, "rf")
    cls = RandomForestClassifier if ctx.is_classification else RandomForestRegressor
    return cls(
        n_estimators=p["n_estimators"],
        max_depth=p["max_depth"],
        max_features=p["max_features"],
        min_samples_leaf=p["min_samples_leaf"],
        n_jobs=1,
        random_state=ctx.random_state,
    )


# -- histogram gradient boosting --------------------------------------------------------------


def _hgb_suggest(trial: Any, ctx: TaskContext) -> dict[str, Any]:
    return {
        "hgb.learning_rate": trial.suggest_float("hgb.learning_rate", 0.01, 0.5, log=True),
        "hgb.max_leaf_nodes": trial.suggest_int("hgb.max_leaf_nodes", 4, 128, log=True),
        "hgb.max_depth": trial.suggest_categorical("hgb.max_depth", [None, 3, 5, 8, 12]),
        "hgb.min_samples_leaf": trial.suggest_int("hgb.min_samples_leaf", 2, 64, log=True),
        "hgb.l2_regularization": trial.suggest_float("hgb.l2_regularization", 1e-6, 10.0, log=True),
        "hgb.max_iter": trial.suggest_int("hgb.max_iter", 30, 500, log=True),
    }


def _hgb_default(ctx: TaskContext) -> dict[str, Any]:
    # scikit-learn's defaults (its l2_regularization=0 is the bottom of the log range)
    return {
        "hgb.learning_rate": 0.1,
        "hgb.max_leaf_nodes": 31,
        "hgb.max_depth": None,
        "hgb.min_samples_leaf": 20,
        "hgb.l2_regularization": 1e-6,
        "hgb.max_iter": 100,
    }


def _hgb_build(params: Mapping[str, Any], ctx: TaskContext) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    p = _own(params, "hgb")
    cls = HistGradientBoostingClassifier if ctx.is_classification else HistGradientBoostingRegressor
    # No internal early stopping: its validation split would make the number of
    # boosting rounds depend on the data subset of each fidelity.
    return cls(
        learning_rate=p["learning_rate"],
        max_leaf_nodes=p["max_leaf_nodes"],
        max_depth=p["max_depth"],
        min_samples_leaf=p["min_samples_leaf"],
        l2_regularization=p["l2_regularization"],
        max_iter=p["max_iter"],
        early_stopping=False,
        random_state=ctx.random_state,
    )


# -- multi-layer perceptron -------------------------------------------------------------------


def _mlp_suggest(trial: Any, ctx: TaskContext) -> dict[str, Any]:
    return {
        "mlp.n_layers": trial.suggest_int("mlp.n_layers", 1, 3),
        "mlp.width": trial.suggest_int("mlp.width", 16, 256, log=True),
        "mlp.alpha": trial.suggest_float("mlp.alpha", 1e-6, 1e-1, log=True),
        "mlp.learning_rate_init": trial.suggest_float(
            "mlp.learning_rate_init", 1e-4, 3e-2, log=True
        ),
    }


def _mlp_default(ctx: TaskContext) -> dict[str, Any]:
    return {"mlp.n_layers": 1, "mlp.width": 100, "mlp.alpha": 1e-4, "mlp.learning_rate_init": 1e-3}


def _mlp_build(params: Mapping[str, Any], ctx: TaskContext) -> Any:
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    p = _own(params, "mlp")
    kw = {
        "hidden_layer_sizes": (p["width"],) * p["n_layers"],
        "alpha": p["alpha"],
        "learning_rate_init": p["learning_rate_init"],
        "max_iter": 200,
        "random_state": ctx.random_state,
    }
    if ctx.is_classification:
        return MLPClassifier(**kw)
    return _scaled_target(MLPRegressor(**kw))


#: Every family, in the order their default configurations are evaluated
#: (cheap to fit first, so that a small time budget still covers several).
FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "linear",
            "logistic regression / ridge",
            True,
            _linear_suggest,
            _linear_default,
            _linear_build,
        ),
        Family("knn", "k nearest neighbours", True, _knn_suggest, _knn_default, _knn_build),
        Family("svm", "support vector machine", True, _svm_suggest, _svm_default, _svm_build),
        Family("hgb", "histogram gradient boosting", False, _hgb_suggest, _hgb_default, _hgb_build),
        Family("rf", "random forest", False, _rf_suggest, _rf_default, _rf_build),
        Family("mlp", "multi-layer perceptron", True, _mlp_suggest, _mlp_default, _mlp_build),
    )
}

FAMILY_NAMES: tuple[str, ...] = tuple(FAMILIES)


def build_estimator(params: Mapping[str, Any], ctx: TaskContext) -> Any:
    """The unfitted estimator of a configuration (``params["model"]`` names the family)."""
    require_sklearn()
    name = params.get("model")
    if name not in FAMILIES:
        raise ValueError(f"params['model'] must be one of {list(FAMILIES)}, got {name!r}")
    return FAMILIES[name].build(params, ctx)
