"""AutoML: search model families, their hyperparameters and preprocessing at once.

::

    from hypersearch import automl

    result = automl.fit(X, y, task="classification", time_budget=60)
    print(result.summary())
    result.predict(X_new)

:func:`fit` searches a joint conditional space: the parameter ``model`` picks a
family and only that family's parameters (``<family>.<name>``) are suggested:

=========  ================================  ==============================================
family     model                             parameters
=========  ================================  ==============================================
linear     LogisticRegression / Ridge        C (log), penalty l1/l2 / alpha (log)
knn        KNeighbors*                       n_neighbors (log), weights, p
svm        SVC / SVR                         C (log), kernel rbf/linear, gamma (rbf, log),
                                             epsilon (SVR)
hgb        HistGradientBoosting*             learning_rate (log), max_leaf_nodes, max_depth,
                                             min_samples_leaf, l2_regularization, max_iter
rf         RandomForest*                     n_estimators, max_depth, max_features,
                                             min_samples_leaf
mlp        MLP*                              n_layers, width, alpha (log),
                                             learning_rate_init (log)
=========  ================================  ==============================================

Each trial is cross-validated on growing parts of the training folds and
hypersearch's ASHA stops poor configurations early (multi-fidelity); TPE picks
the configurations; every family's default configuration goes first.

The building blocks are public too, for searching the same space in your own
study: :func:`suggest_config`, :func:`default_configs`, :func:`build_pipeline`.

scikit-learn is imported only when a function needs it (``pip install
'hypersearch[sklearn]'``).
"""

from __future__ import annotations

from hypersearch.automl._deps import INSTALL_HINT, require_sklearn
from hypersearch.automl._families import FAMILIES, FAMILY_NAMES, TASKS, Family, TaskContext
from hypersearch.automl._fidelity import Rungs, plan_rungs
from hypersearch.automl._fit import fit
from hypersearch.automl._metrics import Metric, resolve_metric
from hypersearch.automl._pipeline import build_pipeline, column_layout
from hypersearch.automl._result import AutoMLResult, make_leaderboard
from hypersearch.automl._space import default_configs, resolve_families, suggest_config

__all__ = [
    "FAMILIES",
    "FAMILY_NAMES",
    "INSTALL_HINT",
    "TASKS",
    "AutoMLResult",
    "Family",
    "Metric",
    "Rungs",
    "TaskContext",
    "build_pipeline",
    "column_layout",
    "default_configs",
    "fit",
    "make_leaderboard",
    "plan_rungs",
    "require_sklearn",
    "resolve_families",
    "resolve_metric",
    "suggest_config",
]
