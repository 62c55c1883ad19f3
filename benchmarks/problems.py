"""Benchmark problems for samplers: synthetic functions, mixed/conditional spaces, real models.

Every problem is an objective ``fn(trial) -> float`` (to be minimised) written
against the suggest API that hypersearch and Optuna share
(``suggest_float``, ``suggest_int``, ``suggest_categorical``), so both
libraries run exactly the same code.  ``optimum`` is the known global minimum
where there is one (``None`` for the real models: their regret is measured
against the best value any run ever found).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np


@dataclass(frozen=True)
class Problem:
    name: str
    kind: str  # "synthetic", "mixed", "real"
    objective: Callable
    optimum: float | None
    dim: int


# -- synthetic functions ------------------------------------------------------------------


def _floats(trial, n: int, low: float, high: float) -> np.ndarray:
    return np.array([trial.suggest_float(f"x{i}", low, high) for i in range(n)])


def branin(trial) -> float:
    x1 = trial.suggest_float("x1", -5.0, 10.0)
    x2 = trial.suggest_float("x2", 0.0, 15.0)
    b, c, r, s, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


_H_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_H_P = 1e-4 * np.array(
    [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
     [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
)
_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(trial) -> float:
    x = _floats(trial, 6, 0.0, 1.0)
    return float(-np.sum(_H_ALPHA * np.exp(-np.sum(_H_A * (x - _H_P) ** 2, axis=1))))


def rosenbrock4(trial) -> float:
    x = _floats(trial, 4, -5.0, 10.0)
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def ackley5(trial) -> float:
    x = _floats(trial, 5, -32.768, 32.768)
    n = len(x)
    return float(
        -20 * np.exp(-0.2 * np.sqrt(np.sum(x**2) / n)) - np.exp(np.sum(np.cos(2 * np.pi * x)) / n) + 20 + np.e
    )


def levy6(trial) -> float:
    x = _floats(trial, 6, -10.0, 10.0)
    w = 1 + (x - 1) / 4
    term = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(np.pi * w[:-1] + 1) ** 2))
    return float(np.sin(np.pi * w[0]) ** 2 + term + (w[-1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[-1]) ** 2))


def styblinski_tang8(trial) -> float:
    x = _floats(trial, 8, -5.0, 5.0)
    return float(np.sum(x**4 - 16 * x**2 + 5 * x) / 2)


# -- mixed, log-scaled and conditional spaces ------------------------------------------------


def lr_wd_batch(trial) -> float:
    """A training-like response on log scales: the best learning rate grows with the
    square root of the batch size, weight decay has its own optimum, very large
    batches cost a little."""
    lr = trial.suggest_float("lr", 1e-6, 1.0, log=True)
    wd = trial.suggest_float("weight_decay", 1e-7, 1e-1, log=True)
    bs = trial.suggest_int("batch_size", 8, 2048, log=True)
    best_lr = -3.0 + 0.5 * math.log10(bs / 32)
    return (
        (math.log10(lr) - best_lr) ** 2
        + 0.3 * (math.log10(wd) + 4.0) ** 2
        + 0.05 * (math.log2(bs) - 7.0) ** 2
        + 0.1 * abs(math.log10(lr) - best_lr) * abs(math.log10(wd) + 4.0)
    )


def mixed(trial) -> float:
    """Floats, ints and categoricals that interact."""
    x = trial.suggest_float("x", -5.0, 5.0)
    y = trial.suggest_float("y", 1e-3, 1e2, log=True)
    n = trial.suggest_int("n", 1, 20)
    k = trial.suggest_int("k", 0, 100, step=5)
    act = trial.suggest_categorical("act", ["relu", "tanh", "gelu", "sigmoid"])
    norm = trial.suggest_categorical("norm", [True, False])
    shift = {"relu": 0.5, "tanh": 1.0, "gelu": 0.0, "sigmoid": 2.0}[act]
    return (
        (x - 1.5 - (0.5 if norm else 0.0)) ** 2
        + (math.log10(y) - 0.5) ** 2
        + 0.05 * (n - 12) ** 2
        + 0.001 * (k - 35) ** 2
        + shift
        + (0.0 if norm else 0.3)
    )


def conditional_optimizer(trial) -> float:
    """Optimizer choice with branch-specific hyperparameters (minimum 0 with adam)."""
    opt = trial.suggest_categorical("optimizer", ["sgd", "adam", "rmsprop"])
    lr = trial.suggest_float("lr", 1e-5, 1.0, log=True)
    if opt == "sgd":
        mom = trial.suggest_float("momentum", 0.0, 0.99)
        return 0.3 + (math.log10(lr) + 1.5) ** 2 + 4 * (mom - 0.9) ** 2
    if opt == "adam":
        b1 = trial.suggest_float("beta1", 0.5, 0.999)
        b2 = trial.suggest_float("beta2", 0.9, 0.9999)
        return (math.log10(lr) + 3.2) ** 2 + 6 * (b1 - 0.88) ** 2 + 200 * (b2 - 0.995) ** 2
    alpha = trial.suggest_float("alpha", 0.8, 0.999)
    return 0.15 + (math.log10(lr) + 2.7) ** 2 + 10 * (alpha - 0.95) ** 2


# -- real models on scikit-learn's bundled data, fixed CV folds ---------------------------------


@cache
def _data(name: str):
    from sklearn import datasets

    loader = {
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "diabetes": datasets.load_diabetes,
        "digits": datasets.load_digits,
    }[name]
    return loader(return_X_y=True)


def _cv_error(model, name: str, classification: bool, folds: int = 5) -> float:
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

    X, y = _data(name)
    if classification:
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
        return 1.0 - float(cross_val_score(model, X, y, cv=cv, scoring="accuracy").mean())
    cv = KFold(n_splits=folds, shuffle=True, random_state=0)
    return -float(cross_val_score(model, X, y, cv=cv, scoring="neg_mean_squared_error").mean())


def svm_breast_cancer(trial) -> float:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    C = trial.suggest_float("C", 1e-3, 1e3, log=True)
    gamma = trial.suggest_float("gamma", 1e-5, 1e0, log=True)
    return _cv_error(make_pipeline(StandardScaler(), SVC(C=C, gamma=gamma)), "breast_cancer", True)


def rf_wine(trial) -> float:
    from sklearn.ensemble import RandomForestClassifier

    model = RandomForestClassifier(
        n_estimators=trial.suggest_int("n_estimators", 5, 100, log=True),
        max_depth=trial.suggest_int("max_depth", 1, 12),
        min_samples_split=trial.suggest_int("min_samples_split", 2, 20),
        max_features=trial.suggest_float("max_features", 0.05, 1.0),
        random_state=0,
        n_jobs=1,
    )
    return _cv_error(model, "wine", True)


def kernel_ridge_diabetes(trial) -> float:
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    kernel = trial.suggest_categorical("kernel", ["rbf", "laplacian", "polynomial"])
    alpha = trial.suggest_float("alpha", 1e-4, 1e2, log=True)
    gamma = trial.suggest_float("gamma", 1e-4, 1e0, log=True)
    kw = {"degree": trial.suggest_int("degree", 2, 4)} if kernel == "polynomial" else {}
    model = make_pipeline(StandardScaler(), KernelRidge(alpha=alpha, kernel=kernel, gamma=gamma, **kw))
    return _cv_error(model, "diabetes", False) / 1000.0


def mlp_digits(trial) -> float:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        StandardScaler(),
        MLPClassifier(
            hidden_layer_sizes=(trial.suggest_int("hidden", 8, 128, log=True),),
            alpha=trial.suggest_float("alpha", 1e-6, 1e-1, log=True),
            learning_rate_init=trial.suggest_float("lr", 1e-4, 1e-1, log=True),
            batch_size=trial.suggest_categorical("batch_size", [32, 64, 128, 256]),
            max_iter=30,
            random_state=0,
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _cv_error(model, "digits", True, folds=3)


PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in [
        Problem("branin", "synthetic", branin, 0.397887357729739, 2),
        Problem("hartmann6", "synthetic", hartmann6, -3.32236801141551, 6),
        Problem("rosenbrock4", "synthetic", rosenbrock4, 0.0, 4),
        Problem("ackley5", "synthetic", ackley5, 0.0, 5),
        Problem("levy6", "synthetic", levy6, 0.0, 6),
        Problem("styblinski_tang8", "synthetic", styblinski_tang8, -39.16616570377142 * 8, 8),
        Problem("lr_wd_batch", "mixed", lr_wd_batch, 0.0, 3),
        Problem("mixed", "mixed", mixed, 0.0, 6),
        Problem("conditional_optimizer", "mixed", conditional_optimizer, 0.0, 4),
        Problem("svm_breast_cancer", "real", svm_breast_cancer, None, 2),
        Problem("rf_wine", "real", rf_wine, None, 4),
        Problem("kernel_ridge_diabetes", "real", kernel_ridge_diabetes, None, 4),
        Problem("mlp_digits", "real", mlp_digits, None, 4),
    ]
}
