"""``automl.fit``: search model families, their hyperparameters and preprocessing
together, within a time budget, and return the best pipeline refitted."""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from hypersearch.automl._data import (
    check_budget,
    check_cv,
    check_data,
    check_n_jobs,
    check_seed,
    check_task,
    split_holdout,
)
from hypersearch.automl._deps import require_sklearn
from hypersearch.automl._families import TaskContext
from hypersearch.automl._fidelity import (
    STOP_ATTR,
    CVEvaluator,
    make_folds,
    plan_rungs,
    single_rung,
)
from hypersearch.automl._metrics import resolve_metric
from hypersearch.automl._pipeline import build_pipeline, fit_pipeline
from hypersearch.automl._result import (
    DEFAULT_ATTR,
    AutoMLResult,
    family_scores,
    make_leaderboard,
)
from hypersearch.automl._space import default_configs, resolve_families, suggest_config
from hypersearch.exceptions import TrialPruned
from hypersearch.trial._state import TrialState

_log = logging.getLogger("hypersearch")

#: Study user attribute recording what an AutoML study searches.
STUDY_ATTR = "automl"

#: Growth factor between fidelities (and ASHA's reduction factor).
ETA = 3

#: Default configurations are never pruned (an honest full-data baseline per family).
PROTECT_DEFAULTS = True


def fit(
    X: Any,
    y: Any,
    task: str = "auto",
    *,
    time_budget: float | None = 60.0,
    n_trials: int | None = None,
    metric: str | Any | None = None,
    cv: int = 3,
    families: Iterable[str] | None = None,
    seed: int | None = None,
    storage: Any = None,
    study_name: str | None = None,
    n_jobs: int = 1,
    holdout: float | tuple[Any, Any] | None = None,
    multi_fidelity: bool = True,
) -> AutoMLResult:
    """Find a good scikit-learn pipeline for ``(X, y)`` within a budget.

    The search space joins every model family (``families``) with its own
    hyperparameters: a trial first picks ``model`` (linear, knn, svm, hgb, rf,
    mlp), then suggests only that family's ``<family>.<name>`` parameters.
    Preprocessing is part of each pipeline (imputation always, scaling for
    scale-sensitive families, one-hot encoding of a DataFrame's categorical
    columns).  The sampler is TPE, which models such conditional spaces; each
    family's default configuration is evaluated first, so every family has a
    baseline before the model-based search starts.

    With ``multi_fidelity`` (default), a configuration is cross-validated on
    growing parts of the training folds (1/9, 1/3, all; fewer rungs for small
    data) and hypersearch's ASHA scheduler stops those in the bottom two thirds
    at a rung, so poor configurations cost a fraction of a full evaluation.
    Default configurations are never stopped early.

    A configuration that raises while fitting or scoring is recorded as a FAIL
    trial with the reason (see :attr:`AutoMLResult.leaderboard`); the search
    goes on.

    Args:
        X: Inputs, ``(n_samples, n_features)``: an array, or a pandas DataFrame
            (non-numeric columns are one-hot encoded).  Missing values (NaN)
            are imputed.
        y: Targets: class labels or numbers.
        task: ``"classification"``, ``"regression"``, or ``"auto"`` (default):
            regression when ``y`` holds continuous numbers (floats that are not
            all whole), classification otherwise.  Integer-valued numeric targets
            (counts) are taken as classes: pass ``task="regression"`` for them.
        time_budget: Wall-clock seconds for the search, counted from the call;
            no trial starts after it and running ones stop at their next fit.
            Until one configuration has been evaluated on the full data, a
            trial out of time goes straight to the full data instead of
            stopping, so the overrun is at most one cross-validation (plus the
            fit in progress).  The final refit of the chosen pipeline comes on
            top.  ``None``: no time limit.
        n_trials: Most trials to run (``None``: as many as the time allows).
            The search stops at whichever limit comes first.
        metric: A scikit-learn scorer name (greater is better, e.g. ``"f1_macro"``,
            ``"neg_root_mean_squared_error"``) or a callable ``scorer(estimator, X,
            y)``.  Default: accuracy (balanced accuracy when a class has under a
            tenth of the largest class's samples) or R^2 for regression.
        cv: Number of cross-validation folds (stratified for classification).
        families: Model families to search (default: all).
        seed: Seed of the sampler, the folds and the models: with ``n_jobs=1``
            and no time limit, runs with the same seed propose the same
            configurations.  ``None``: random.
        storage: Where the study is kept (``None``: in memory; e.g.
            ``"sqlite:///automl.db"``).  An existing study of the same name is
            continued.
        study_name: Name of the study (generated when ``None``).
        n_jobs: Trials evaluated at once, in threads of this process (-1: one
            per CPU).  Each fit runs its native libraries (OpenMP, BLAS) on one
            thread: on the small fits of a search, multi-threading costs more
            than it saves, so parallelism comes from running trials at once.
        holdout: Data held out of the search and the refit to score the chosen
            pipeline on (:attr:`AutoMLResult.holdout_score`): a fraction of
            ``(X, y)`` (stratified for classification) or an ``(X_test, y_test)``
            pair.  The score is recorded in the study as its test evaluation.
        multi_fidelity: Evaluate on growing data subsets with ASHA pruning.

    Returns:
        An :class:`AutoMLResult` with the fitted :attr:`~AutoMLResult.best_pipeline`.

    Raises:
        ValueError: An argument is invalid (the message names it).
        ImportError: scikit-learn is not installed.
        RuntimeError: No configuration could be evaluated (every trial failed).
    """
    require_sklearn()
    start = time.monotonic()
    task = check_task(task, y)
    time_budget, n_trials = check_budget(time_budget, n_trials)
    cv = check_cv(cv)
    seed = check_seed(seed)
    n_jobs = check_n_jobs(n_jobs)
    if not isinstance(multi_fidelity, bool):
        raise ValueError(f"multi_fidelity must be a bool, got {multi_fidelity!r}")
    names = resolve_families(families)
    random_state = (
        seed if seed is not None else int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    )

    data = check_data(X, y, task, cv)
    data, test = split_holdout(data, holdout, task, cv, random_state)
    resolved = resolve_metric(metric, task, data.codes)
    ctx = TaskContext(
        task=task,
        n_features=data.n_features,
        n_classes=0 if data.classes is None else len(data.classes),
        random_state=random_state,
        needs_proba=resolved.needs_proba,
    )
    folds = make_folds(data, cv, random_state)
    rungs = (
        plan_rungs(min(len(f.train) for f in folds), eta=ETA) if multi_fidelity else single_rung()
    )
    evaluator = CVEvaluator(data, folds, rungs, resolved, ctx)

    study = _open_study(storage, study_name, seed, rungs, task, resolved.name, names)
    if not study.get_trials(deepcopy=False):
        for params in default_configs(ctx, names):
            study.enqueue_trial(params, user_attrs={DEFAULT_ATTR: True})

    one_thread = _single_threaded()
    deadline = None if time_budget is None else start + time_budget
    state = {"complete": bool(study.get_trials([TrialState.COMPLETE], deepcopy=False))}

    def out_of_time() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    def owed() -> bool:  # no configuration evaluated on the full data yet
        return not state["complete"]

    # Configurations finished in this call: the evaluation is deterministic, so one
    # the sampler proposes again is answered from its first evaluation.
    seen: dict[tuple, Any] = {}

    def remember(t: Any) -> None:
        if t.state == TrialState.COMPLETE or (
            t.state == TrialState.PRUNED and t.user_attrs.get(STOP_ATTR) != "time budget"
        ):
            seen.setdefault(_key(t.params), t)

    def objective(trial: Any) -> float:
        params = suggest_config(trial, ctx, names)
        trial.set_user_attr("family", params["model"])
        earlier = seen.get(_key(params))
        if earlier is not None:
            trial.set_user_attr("duplicate_of", earlier.number)
            for attr in ("fidelity", "cv_std"):
                if attr in earlier.user_attrs:
                    trial.set_user_attr(attr, earlier.user_attrs[attr])
            if earlier.state == TrialState.COMPLETE:
                return float(earlier.values[0])
            for step, value in sorted(earlier.intermediate_values.items()):
                trial.report(value, step)
            raise TrialPruned(f"same configuration as pruned trial {earlier.number}")
        is_default = bool(trial.user_attrs.get(DEFAULT_ATTR))
        with one_thread():
            return evaluator.run(
                trial,
                params,
                prune=not (is_default and PROTECT_DEFAULTS),
                out_of_time=out_of_time,
                owed=owed,
            )

    def on_trial(_study: Any, frozen: Any) -> None:
        if frozen.state == TrialState.COMPLETE:
            state["complete"] = True
        remember(frozen)

    timeout = None if deadline is None else max(deadline - time.monotonic(), 0.1)
    with _quiet_sklearn():
        study.optimize(
            objective,
            n_trials=n_trials,
            timeout=timeout,
            n_jobs=n_jobs,
            catch=(Exception,),
            callbacks=[on_trial],
            show_progress_bar=False,
            executor="thread" if n_jobs != 1 else None,
        )
        trials = study.get_trials(deepcopy=False)
        with one_thread():
            chosen, pipeline = _refit(trials, data, ctx)

    holdout_score = None
    if test is not None:
        X_te, y_te = test
        holdout_score = study.evaluate_best(
            lambda _params: float(resolved.scorer(pipeline, X_te, y_te)), trial=chosen.number
        )
    return AutoMLResult(
        task=task,
        metric=resolved.name,
        best_pipeline=pipeline,
        best_params=dict(chosen.params),
        best_score=float(chosen.values[0]),
        best_trial=chosen.number,
        family_scores=family_scores(trials),
        leaderboard=make_leaderboard(trials),
        study=study,
        fidelities=rungs.fractions,
        elapsed_s=time.monotonic() - start,
        holdout_score=holdout_score,
        scorer=resolved.scorer,
    )


def _key(params: dict[str, Any]) -> tuple:
    return tuple(sorted(params.items()))


def _open_study(
    storage: Any,
    study_name: str | None,
    seed: int | None,
    rungs: Any,
    task: str,
    metric: str,
    names: tuple[str, ...],
) -> Any:
    """Create (or continue) the study: TPE sampler, ASHA over the rungs."""
    from hypersearch.samplers.tpe import TPESampler
    from hypersearch.schedulers.asha import ASHA
    from hypersearch.study._study import create_study

    scheduler = None
    if len(rungs) > 1:
        scheduler = ASHA(
            max_t=rungs.steps[-1], grace_period=rungs.steps[0], reduction_factor=rungs.eta
        )
    study = create_study(
        study_name=study_name,
        storage=storage,
        direction="maximize",
        sampler=TPESampler(seed=seed),
        scheduler=scheduler,
        load_if_exists=True,
        seed=seed,
    )
    record = {"task": task, "metric": metric, "families": list(names)}
    earlier = study.user_attrs.get(STUDY_ATTR)
    if earlier is None:
        study.set_user_attr(STUDY_ATTR, record)
    elif (earlier.get("task"), earlier.get("metric")) != (task, metric):
        raise ValueError(
            f"study_name={study.study_name!r} already holds an AutoML search for "
            f"task={earlier.get('task')!r}, metric={earlier.get('metric')!r}; its scores cannot be "
            f"compared with task={task!r}, metric={metric!r}: choose another study_name"
        )
    return study


def _refit(trials: list[Any], data: Any, ctx: TaskContext) -> tuple[Any, Any]:
    """Refit the best COMPLETE configuration on all the data (the next best if that
    fails).  Returns ``(trial, fitted pipeline)``."""
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.values]
    if not done:
        failed = [t for t in trials if t.state == TrialState.FAIL]
        reasons = sorted({t.fail_reason for t in failed if t.fail_reason})[:3]
        hint = f"; failures: {reasons}" if reasons else ""
        raise RuntimeError(
            f"no configuration was evaluated on the full data ({len(trials)} trials, "
            f"{len(failed)} failed){hint}"
        )
    done.sort(key=lambda t: (-t.values[0], t.number))
    errors = []
    for t in done:
        try:
            pipeline = build_pipeline(t.params, ctx, data.layout)
            return t, fit_pipeline(pipeline, data.X, data.y)
        except Exception as e:  # refit on more data can fail where the folds did not
            errors.append(f"trial {t.number}: {type(e).__name__}: {e}")
            _log.warning("refitting trial %d failed (%s); trying the next best", t.number, e)
    raise RuntimeError(f"no configuration could be refitted on all the data: {errors[:3]}")


@contextlib.contextmanager
def _quiet_sklearn() -> Iterator[None]:
    """Silence scikit-learn's ConvergenceWarning during the search: unconverged fits
    are ordinary in a search (their score says how good they are)."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _single_threaded() -> Callable[[], contextlib.AbstractContextManager]:
    """A factory of contexts in which native thread pools (OpenMP, BLAS) use one thread.

    Trials fit small models many times; a multi-threaded OpenMP runtime (gradient
    boosting) spends more time synchronising its threads than computing there, and
    on a busy machine it was measured 60 times slower than one thread.  Parallelism
    comes from running trials at once (``n_jobs``) instead.
    """
    try:
        import sklearn.ensemble  # noqa: F401 - loads the OpenMP runtime, so it can be limited
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl is a scikit-learn dependency
        return contextlib.nullcontext
    controller = ThreadpoolController()
    return lambda: controller.limit(limits=1)
