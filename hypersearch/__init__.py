"""hypersearch: hyperparameter optimization with durable studies.

Quick start::

    import hypersearch as hs

    def objective(trial):
        x = trial.suggest_float("x", -10, 10)
        return (x - 2) ** 2

    study = hs.create_study(storage="sqlite:///hs.db", study_name="demo", load_if_exists=True)
    study.optimize(objective, n_trials=50)
    print(study.best_params)
"""

from __future__ import annotations

__version__ = "0.1.0"

# Import order matters: ``study`` first (see hypersearch/study/__init__.py).
from hypersearch.study import (  # noqa: I001
    Study,
    StudyDirection,
    copy_study,
    create_study,
    delete_study,
    list_studies,
    load_study,
)
from hypersearch import (
    analysis,
    execution,
    gradient,
    logging,
    multiobjective,
    samplers,
    schedulers,
    storage,
)
from hypersearch.exceptions import (
    ConstraintError,
    DuplicatedStudyError,
    SchemaVersionError,
    SearchSpaceExhausted,
    StorageError,
    StudyNotFoundError,
    TrialPruned,
    TrialStateError,
)
from hypersearch.space import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    SearchSpace,
    choice,
    grid,
    grid_search,
    lograndint,
    loguniform,
    qloguniform,
    qrandint,
    quniform,
    randint,
    sample_from,
    uniform,
)
from hypersearch.analysis.rigour import cross_validate, repeat
from hypersearch.trial import FrozenTrial, Trial, TrialState
from hypersearch.tune import TuneResult, get_checkpoint, report, tune, with_parameters

__all__ = [
    "analysis",
    "automl",
    "presets",
    "training",
    "visualization",
    "CategoricalDistribution",
    "ConstraintError",
    "DuplicatedStudyError",
    "FloatDistribution",
    "FrozenTrial",
    "IntDistribution",
    "SchemaVersionError",
    "SearchSpace",
    "SearchSpaceExhausted",
    "StorageError",
    "Study",
    "StudyDirection",
    "StudyNotFoundError",
    "Trial",
    "TrialPruned",
    "TrialState",
    "TrialStateError",
    "TuneResult",
    "__version__",
    "choice",
    "copy_study",
    "create_study",
    "cross_validate",
    "delete_study",
    "execution",
    "get_checkpoint",
    "gradient",
    "grid",
    "grid_search",
    "list_studies",
    "load_study",
    "logging",
    "lograndint",
    "multiobjective",
    "loguniform",
    "qloguniform",
    "qrandint",
    "quniform",
    "randint",
    "repeat",
    "report",
    "sample_from",
    "samplers",
    "schedulers",
    "storage",
    "tune",
    "uniform",
    "with_parameters",
]


# Subpackages around the core, imported on first use so that ``import hypersearch``
# stays light: ``hs.visualization.plot_slice(...)`` works without an explicit import.
_LAZY = ("automl", "presets", "training", "visualization")


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return importlib.import_module(f"hypersearch.{name}")
    if name == "pruners":
        raise AttributeError(
            "module 'hypersearch' has no attribute 'pruners': hypersearch calls Optuna's pruners "
            "schedulers (hs.schedulers.MedianStoppingRule, PercentileStoppingRule, "
            "SuccessiveHalving, Hyperband, PatienceStopper, ThresholdStopper), passed as "
            "create_study(scheduler=...)"
        )
    raise AttributeError(f"module 'hypersearch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
