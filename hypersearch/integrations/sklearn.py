"""scikit-learn integration: :class:`HyperSearchCV`, a hyperparameter search that is
itself a scikit-learn estimator.

It is a drop-in alternative to ``RandomizedSearchCV`` whose candidates come from a
hypersearch sampler (Bayesian optimisation by default, so later candidates learn
from earlier ones) and whose cross-validation can be cut short: after each fold the
running mean score is reported to the study's scheduler, which may prune a poor
configuration after a few folds instead of paying for all of them::

    import hypersearch as hs
    from hypersearch.integrations.sklearn import HyperSearchCV
    from sklearn.svm import SVC

    search = HyperSearchCV(
        SVC(),
        {"C": hs.loguniform(1e-2, 1e3), "gamma": hs.loguniform(1e-5, 1e-1),
         "kernel": ["rbf", "sigmoid"]},
        n_trials=40,
        cv=5,
        scheduler=hs.schedulers.MedianStoppingRule(n_startup_trials=5),
        random_state=0,
    )
    search.fit(X, y)
    search.best_params_, search.best_score_, search.predict(X_test)

Needs scikit-learn (``pip install 'hypersearch[sklearn]'``).
"""

from __future__ import annotations

import copy
import io
import math
import numbers
import pickle
import threading
import time
import uuid
import warnings
import weakref
from collections import ChainMap
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
    from sklearn.exceptions import FitFailedWarning, NotFittedError
    from sklearn.metrics import check_scoring
    from sklearn.model_selection import check_cv
    from sklearn.utils import _safe_indexing, check_random_state, get_tags
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.validation import check_is_fitted, indexable
except ImportError as _e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "hypersearch.integrations.sklearn needs scikit-learn: pip install 'hypersearch[sklearn]'"
    ) from _e

from hypersearch.analysis.rigour import cross_validate
from hypersearch.samplers.base import BaseSampler
from hypersearch.schedulers.base import BaseScheduler
from hypersearch.space.declarative import (
    Domain,
    SearchSpace,
    _has_domain,
    _is_scipy_frozen,
    choice,
)
from hypersearch.space.distributions import CategoricalDistribution
from hypersearch.study._direction import StudyDirection
from hypersearch.study._study import Study, create_study
from hypersearch.trial._frozen import FrozenTrial
from hypersearch.trial._state import TrialState

__all__ = ["FitFailed", "HyperSearchCV"]

#: System attribute tying a trial to the ``fit`` call that ran it (a study passed
#: by the user may hold trials of earlier fits or of other programs).
FIT_ATTR = "sklearn:fit_id"


class FitFailed(Exception):  # noqa: N818 - it names the outcome, as in "fit failed"
    """A fold's fit or scoring raised and ``error_score`` is NaN: the trial fails
    (its remaining folds are not evaluated, since its mean would be NaN anyway)."""


# -- search space --------------------------------------------------------------------------------


class _Options(Domain):
    """Candidates given as a list of values that cannot be categorical parameters
    (estimators, tuples, dicts, ...): the sampler chooses a position in the list."""

    def __init__(self, options: Sequence[Any]) -> None:
        self.options = list(options)

    def suggest(self, trial: Any, name: str) -> Any:
        positions = list(range(len(self.options)))
        return self.options[trial.suggest(name, CategoricalDistribution(positions, name=name))]

    def __repr__(self) -> str:
        return f"options({self.options!r})"


class _Fixed(Domain):
    """A value that is not searched but set on every candidate (e.g. ``max_iter``)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def suggest(self, trial: Any, name: str) -> Any:
        return self.value

    def __repr__(self) -> str:
        return f"fixed({self.value!r})"


def _plain_choices(options: list[Any]) -> bool:
    try:
        CategoricalDistribution(options)
    except (TypeError, ValueError):
        return False
    return True


def _domain_of(name: str, value: Any) -> Any:
    """The declarative domain searched for the estimator parameter ``name``."""
    if isinstance(value, Domain) or _is_scipy_frozen(value):
        return value  # hs.loguniform(...), hs.choice([...]), scipy.stats.loguniform(...)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            raise ValueError(f"param_distributions[{name!r}] is an empty list: give at least one value")
        options = [v.item() if isinstance(v, np.generic) else v for v in value]
        if _has_domain(options) or _plain_choices(options):
            return choice(options)
        return _Options(options)
    if isinstance(value, Mapping) and _has_domain(value):
        return value  # a nested space; the parameter receives the sampled dict
    if hasattr(value, "rvs"):
        raise ValueError(
            f"param_distributions[{name!r}] has an rvs method but is not a scipy.stats frozen "
            "distribution; use a hypersearch domain (hs.uniform, hs.loguniform, hs.randint, ...)"
        )
    return _Fixed(value)


def _compile_space(param_distributions: Any, estimator: Any) -> SearchSpace:
    """``param_distributions`` as a declarative space whose configurations are
    ``set_params`` keyword arguments; unknown parameter names are an error."""
    constraints: list[Callable[[dict[str, Any]], bool]] = []
    if isinstance(param_distributions, SearchSpace):
        constraints = list(param_distributions.constraints)
        config = param_distributions.config
    elif isinstance(param_distributions, Mapping):
        config = param_distributions
    else:
        raise ValueError(
            "param_distributions must be a dict {estimator parameter: domain or list of values} "
            f"or an hs.SearchSpace, got {type(param_distributions).__name__} (a list of dicts "
            "is not supported: use one dict, with hs.choice for alternatives)"
        )
    if len(config) == 0:
        raise ValueError("param_distributions is empty: there is nothing to search")
    valid = set(estimator.get_params(deep=True))
    space: dict[str, Any] = {}
    for name, value in config.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"param_distributions keys must be parameter names, got {name!r}")
        space[name] = _domain_of(name, value)
    for name in space:
        parts = name.split("__")
        # "clf__C" is fine when "clf" itself is searched (its estimator is only known later)
        if name in valid or any("__".join(parts[:i]) in space for i in range(1, len(parts))):
            continue
        raise ValueError(
            f"param_distributions has {name!r}, which is not a parameter of "
            f"{type(estimator).__name__}; its parameters are {sorted(valid)}"
        )
    return SearchSpace(space, constraints)


class _Replay:
    """Stands in for a trial to rebuild a trial's configuration from its stored
    parameters (a list position becomes the value, a quantile the scipy value)."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = dict(params)

    def suggest(self, name: str, distribution: Any) -> Any:
        return self.params[name]


def _config_of(space: SearchSpace, trial: FrozenTrial) -> dict[str, Any] | None:
    try:
        return space.sample(_Replay(trial.params))  # type: ignore[arg-type]
    except Exception:  # the trial failed before all its parameters were drawn
        return None


# -- copies of samplers and schedulers -------------------------------------------------------------


def _recreate(factory: Callable[[], Any]) -> Callable[[Any], tuple[Any, tuple[()]]]:
    return lambda _obj: (factory, ())


_FRESH = {
    type(threading.Lock()): _recreate(threading.Lock),
    type(threading.RLock()): _recreate(threading.RLock),
    weakref.WeakKeyDictionary: _recreate(weakref.WeakKeyDictionary),
    weakref.WeakValueDictionary: _recreate(weakref.WeakValueDictionary),
    weakref.WeakSet: _recreate(weakref.WeakSet),
}


def _fresh_dumps(obj: Any) -> bytes:
    """Pickle ``obj`` by value (cloudpickle), with locks recreated and weak-reference
    caches (per-study caches of samplers) emptied: samplers and schedulers hold both,
    so neither ``copy.deepcopy`` nor ``pickle`` can copy them."""
    import cloudpickle

    class _Pickler(cloudpickle.Pickler):
        dispatch_table = ChainMap(_FRESH, cloudpickle.Pickler.dispatch_table)

    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def _fresh_copy(obj: Any, what: str) -> Any:
    """An independent copy of a sampler or scheduler, so that a fit never changes the
    estimator's parameters and every fit starts from the same state (scikit-learn's
    convention; a scheduler also keeps per-study statistics that must not leak from
    one fit into the next).  Falls back to ``obj`` itself, with a warning."""
    if obj is None:
        return None
    try:
        return pickle.loads(_fresh_dumps(obj))
    except Exception as e:
        warnings.warn(
            f"HyperSearchCV could not copy the {what} ({type(e).__name__}: {e}); it is used as "
            "is, so what it learns in this fit carries over to later fits",
            RuntimeWarning,
            stacklevel=3,
        )
        return obj


class _ByValue:
    """A parameter pickled with :func:`_fresh_dumps` (see ``HyperSearchCV.__getstate__``)."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


# -- the objective ---------------------------------------------------------------------------------


def _n_samples(X: Any) -> int:
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    return len(X)


def _split_fit_params(fit_params: Mapping[str, Any], n: int, idx: np.ndarray) -> dict[str, Any]:
    """Per-sample fit parameters (``sample_weight``, ...) indexed like the fold;
    others passed unchanged."""
    out = {}
    for k, v in fit_params.items():
        try:
            per_sample = not isinstance(v, (str, bytes)) and _n_samples(v) == n
        except TypeError:
            per_sample = False
        out[k] = _safe_indexing(v, idx) if per_sample else v
    return out


def _is_nan(v: Any) -> bool:
    return isinstance(v, numbers.Real) and math.isnan(v)


def _takes_sample_weight(scorer: Any, estimator: Any) -> bool:
    """Whether ``scorer`` can weigh its score: what it scores with (the metric of a
    ``make_scorer``, an estimator's ``score`` for ``scoring=None``) takes
    ``sample_weight``.  Scikit-learn's scorers themselves accept any keyword, so
    their own signature says nothing."""
    import inspect

    accept = getattr(scorer, "_accept_sample_weight", None)
    if callable(accept):
        try:
            return bool(accept())
        except Exception:  # noqa: BLE001 - an older scikit-learn's private API
            pass
    fn = getattr(scorer, "_score_func", None)
    if fn is None and type(scorer).__name__ == "_PassthroughScorer":
        fn = getattr(estimator, "score", None)
    if fn is None:
        fn = scorer  # a plain callable: only an explicit sample_weight parameter counts
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "sample_weight" in params

class _CrossValObjective:
    """Evaluate one configuration fold by fold (``hs.cross_validate``), recording the
    per-fold scores and times in the trial's user attributes, which is where
    ``cv_results_`` is built from; it holds no reference to the search estimator,
    so it can be sent to worker processes (``n_jobs > 1``)."""

    def __init__(
        self,
        *,
        estimator: Any,
        space: SearchSpace,
        X: Any,
        y: Any,
        splits: list[tuple[np.ndarray, np.ndarray]],
        scorer: Callable[..., float],
        fit_params: Mapping[str, Any],
        error_score: Any,
        return_train_score: bool,
        pairwise: bool,
        fit_id: str,
    ) -> None:
        self.estimator = estimator
        self.space = space
        self.X, self.y = X, y
        self.splits = splits
        self.scorer = scorer
        self.fit_params = dict(fit_params)
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.pairwise = pairwise
        self.fit_id = fit_id

    def _subset(self, rows: np.ndarray, cols: np.ndarray | None = None) -> Any:
        X = _safe_indexing(self.X, rows)
        if self.pairwise:  # a precomputed kernel: columns are training samples
            X = _safe_indexing(X, cols if cols is not None else rows, axis=1)
        return X

    def __call__(self, trial: Any) -> float:
        trial.set_system_attr(FIT_ATTR, self.fit_id)
        config = self.space.sample(trial)
        n = _n_samples(self.X)
        fit_times: list[float] = []
        score_times: list[float] = []
        train_scores: list[float] = []
        test_scores: list[float] = []
        errors: list[str] = []

        def fold_value(k: int) -> float:
            train, test = self.splits[k]
            est = clone(self.estimator).set_params(**clone(config, safe=False))
            X_train, X_test = self._subset(train), self._subset(test, train)
            y_train = None if self.y is None else _safe_indexing(self.y, train)
            y_test = None if self.y is None else _safe_indexing(self.y, test)
            params = _split_fit_params(self.fit_params, n, train)
            # sample weights weigh the scores too, as in scikit-learn's searches
            w_test = _split_fit_params(self.fit_params, n, test).get("sample_weight")
            start = time.perf_counter()
            score_time = 0.0
            try:
                if y_train is None:
                    est.fit(X_train, **params)
                else:
                    est.fit(X_train, y_train, **params)
                fit_time = time.perf_counter() - start
                start = time.perf_counter()
                test_score = self._score(est, X_test, y_test, w_test)
                score_time = time.perf_counter() - start
            except Exception as e:
                if isinstance(self.error_score, str):  # "raise"
                    raise
                fit_time = time.perf_counter() - start
                test_score = float(self.error_score)
                if self.return_train_score and len(train_scores) <= k:
                    train_scores.append(test_score)
                errors.append(f"fold {k + 1}: {type(e).__name__}: {e}")
                trial.set_user_attr("cv_errors", errors)
                if _is_nan(self.error_score):
                    fit_times.append(fit_time)
                    score_times.append(score_time)
                    self._record(trial, fit_times, score_times, train_scores)
                    # cross_validate records completed folds only; show the failed one too
                    trial.set_user_attr("fold_values", [*test_scores, test_score])
                    raise FitFailed(
                        f"fit failed on fold {k + 1} of {len(self.splits)} "
                        f"({type(e).__name__}: {e}); error_score=nan fails the trial"
                    ) from e
            if self.return_train_score and len(train_scores) <= k:
                # scored apart: a failure here costs the train score only, never a
                # valid test score
                try:
                    train_scores.append(self._score(est, X_train, y_train, params.get("sample_weight")))
                except Exception as e:
                    if isinstance(self.error_score, str):  # "raise"
                        raise
                    train_scores.append(float(self.error_score))
                    errors.append(f"fold {k + 1} (train score): {type(e).__name__}: {e}")
                    trial.set_user_attr("cv_errors", errors)
            fit_times.append(fit_time)
            score_times.append(score_time)
            self._record(trial, fit_times, score_times, train_scores)
            test_scores.append(test_score)
            return test_score

        return cross_validate(trial, fold_value, len(self.splits))

    def _score(self, est: Any, X: Any, y: Any, sample_weight: Any) -> float:
        if sample_weight is None or not _takes_sample_weight(self.scorer, est):
            return float(self.scorer(est, X, y))
        return float(self.scorer(est, X, y, sample_weight=sample_weight))


    def _record(self, trial: Any, fit_times: list, score_times: list, train_scores: list) -> None:
        trial.set_user_attr("cv_fit_times", fit_times)
        trial.set_user_attr("cv_score_times", score_times)
        if self.return_train_score:
            trial.set_user_attr("cv_train_scores", train_scores)


# -- cv_results_ -----------------------------------------------------------------------------------


def _ranks(mean: np.ndarray, states: list[TrialState]) -> np.ndarray:
    """Rank 1 is the best mean score among COMPLETE trials; trials stopped early
    (PRUNED, ranked by the mean of the folds they got) and failed trials follow, so
    ``rank_test_score == 1`` always points to a fully cross-validated configuration."""

    finite = np.isfinite(mean)
    complete = np.array([s == TrialState.COMPLETE for s in states], dtype=bool)
    group = np.where(finite, np.where(complete, 0, 1), 2)
    neg = np.where(finite, -np.where(finite, mean, 0.0), 0.0)
    order = np.lexsort((neg, group))
    ranks = np.empty(len(mean), dtype=np.int32)
    previous, rank = None, 0
    for position, i in enumerate(order):
        key = (group[i], neg[i])
        if key != previous:  # ties share the smallest rank, as in scikit-learn
            previous, rank = key, position + 1
        ranks[i] = rank
    return ranks


def _param_column(values: list[Any], present: list[bool]) -> np.ma.MaskedArray:
    numeric = all(
        isinstance(v, numbers.Number) and not isinstance(v, bool)
        for v, p in zip(values, present)
        if p
    )
    if numeric and any(present):
        filled = [v if p else 0 for v, p in zip(values, present)]
        return np.ma.MaskedArray(np.asarray(filled), mask=[not p for p in present])
    col = np.ma.MaskedArray(np.empty(len(values), dtype=object), mask=[not p for p in present])
    for i, (v, p) in enumerate(zip(values, present)):
        if p:
            col[i] = v
    return col


def _mean_std(arr: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = np.full(len(arr), np.nan)
    std = np.full(len(arr), np.nan)
    for i, c in enumerate(counts):
        if c > 0:
            mean[i] = float(np.mean(arr[i, :c]))
            std[i] = float(np.std(arr[i, :c]))
    return mean, std


def _cv_results(
    trials: list[FrozenTrial], configs: list[dict[str, Any]], n_splits: int, train: bool
) -> dict[str, Any]:
    n = len(trials)
    test = np.full((n, n_splits), np.nan)
    train_arr = np.full((n, n_splits), np.nan)
    fit_t = np.full((n, n_splits), np.nan)
    score_t = np.full((n, n_splits), np.nan)
    counts = np.zeros(n, dtype=int)
    for i, t in enumerate(trials):
        folds = list(t.user_attrs.get("fold_values", []))[:n_splits]
        counts[i] = len(folds)
        test[i, : len(folds)] = folds
        for arr, key in ((fit_t, "cv_fit_times"), (score_t, "cv_score_times"), (train_arr, "cv_train_scores")):
            vals = list(t.user_attrs.get(key, []))[:n_splits]
            arr[i, : len(vals)] = vals
    results: dict[str, Any] = {}
    results["mean_fit_time"], results["std_fit_time"] = _mean_std(fit_t, counts)
    results["mean_score_time"], results["std_score_time"] = _mean_std(score_t, counts)
    names: list[str] = []
    for c in configs:
        names.extend(k for k in c if k not in names)
    for name in names:
        results[f"param_{name}"] = _param_column(
            [c.get(name) for c in configs], [name in c for c in configs]
        )
    results["params"] = configs
    for k in range(n_splits):
        results[f"split{k}_test_score"] = test[:, k]
    mean, std = _mean_std(test, counts)
    results["mean_test_score"], results["std_test_score"] = mean, std
    states = [t.state for t in trials]
    results["rank_test_score"] = _ranks(mean, states)
    if train:
        for k in range(n_splits):
            results[f"split{k}_train_score"] = train_arr[:, k]
        results["mean_train_score"], results["std_train_score"] = _mean_std(train_arr, counts)
    results["trial_number"] = np.array([t.number for t in trials], dtype=int)
    results["state"] = np.array([t.state.name for t in trials], dtype=object)
    results["n_evaluated_folds"] = counts
    return results


# -- the estimator ---------------------------------------------------------------------------------


def _delegate_has(attr: str) -> Callable[[Any], bool]:
    """``available_if`` check: the refit best estimator (or, before fit, the wrapped
    estimator) has ``attr``."""

    def check(self: HyperSearchCV) -> bool:
        if self.refit is False:
            raise AttributeError(
                f"{type(self).__name__} was created with refit=False: {attr} is available only "
                "after refitting the best configuration (refit=True)"
            )
        if hasattr(self, "best_estimator_"):
            getattr(self.best_estimator_, attr)
        else:
            getattr(self.estimator, attr)
        return True

    return check


class HyperSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Hyperparameter search over ``param_distributions`` by cross-validation, run as
    a hypersearch study, with folds that a scheduler can prune.

    Each trial samples a configuration, then fits and scores it fold by fold; after
    each fold the running mean score is reported (step = fold index, 0-based), so a
    scheduler such as ``hs.schedulers.MedianStoppingRule`` or
    ``hs.schedulers.ASHA(max_t=n_splits)`` stops a poor configuration after a few
    folds.  All trials use the same splits.  Scores follow scikit-learn's
    greater-is-better convention: the study maximises the mean test score.

    Args:
        estimator: The scikit-learn estimator (or pipeline) to tune.
        param_distributions: ``{parameter: domain}``: hypersearch domains
            (``hs.loguniform(1e-3, 1e2)``, ``hs.randint(1, 10)``, ``hs.choice([...])``),
            scipy.stats frozen distributions, or lists of candidate values
            (categorical; any objects, e.g. estimators for a pipeline step).  Other
            values are fixed and set on every candidate.  An ``hs.SearchSpace`` adds
            constraints.  Keys are ``estimator.get_params()`` names (``"svc__C"``).
        n_trials: Configurations to evaluate.
        cv: Folds: an int, a splitter or an iterable of splits (``check_cv``; stratified
            for classifiers).
        scoring: One scorer: a name (``"roc_auc"``), a callable
            ``scorer(estimator, X, y)``, or ``None`` for ``estimator.score``.
            Multi-metric scoring is not supported (``multimetric_`` is ``False``).
        refit: Refit the best configuration on all the data (``best_estimator_``;
            needed for ``predict`` and the other delegated methods).
        sampler: Search strategy (default: hypersearch's ``AutoSampler``).
        scheduler: Scheduler that prunes trials between folds.
        study: Where trials are recorded: ``None`` (a new in-memory study per fit), a
            mapping of :func:`hypersearch.create_study` arguments (e.g.
            ``{"storage": "sqlite:///hs.db", "study_name": "svc", "load_if_exists":
            True}``; clone-safe), or a :class:`~hypersearch.Study` (used as is; it must
            maximise, and it brings its own sampler and scheduler; clones of the search
            share it).  Earlier trials of a shared study inform the sampler, but
            ``cv_results_`` and ``best_*`` describe only the trials of this fit.
        n_jobs: Trials evaluated at once (``-1``: one per CPU); more than one runs
            them in worker processes (results are then not reproducible).
        timeout: Seconds after which no new trial starts.
        random_state: Seed of the default sampler (int or ``RandomState``); with an
            explicit ``sampler``, seed the sampler itself.
        error_score: Score of a fold whose fit or scoring fails, or ``"raise"``.  With
            NaN (the default) the trial fails at the first failing fold; a
            ``FitFailedWarning`` summarises failures at the end of ``fit``.
        return_train_score: Also score each fold's training data.
        verbose: ``> 0`` prints one line per finished trial.

    Attributes:
        cv_results_: ``GridSearchCV``-style dict of arrays, one entry per trial
            (``params``, ``param_<name>`` masked arrays, ``split<k>_test_score``,
            ``mean_test_score``, ``std_test_score``, ``rank_test_score``, fit and score
            times), plus ``trial_number``, ``state`` and ``n_evaluated_folds``.  Folds a
            pruned trial never reached are NaN, and its mean and standard deviation are
            over the folds it did evaluate; ranks put COMPLETE trials first, then pruned
            ones, then failed ones.
        best_index_, best_params_, best_score_: The best COMPLETE trial.
        best_estimator_, refit_time_: The refit model (``refit=True``).
        best_trial_: The best trial as a :class:`~hypersearch.FrozenTrial`.
        study_: The study (not pickled: a study holds a live storage connection;
            after unpickling it is ``None``; reopen persistent studies with
            ``hs.load_study(study_name_, storage)``).
        study_name_: Its name.
        scorer_, n_splits_, multimetric_: As in scikit-learn's searches.
    """

    def __init__(
        self,
        estimator: Any,
        param_distributions: Mapping[str, Any] | SearchSpace,
        *,
        n_trials: int = 10,
        cv: Any = 5,
        scoring: str | Callable[..., float] | None = None,
        refit: bool = True,
        sampler: BaseSampler | None = None,
        scheduler: BaseScheduler | None = None,
        study: Study | Mapping[str, Any] | None = None,
        n_jobs: int = 1,
        timeout: float | None = None,
        random_state: int | np.random.RandomState | None = None,
        error_score: float | str = np.nan,
        return_train_score: bool = False,
        verbose: int = 0,
    ) -> None:
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.sampler = sampler
        self.scheduler = scheduler
        self.study = study
        self.n_jobs = n_jobs
        self.timeout = timeout
        self.random_state = random_state
        self.error_score = error_score
        self.return_train_score = return_train_score
        self.verbose = verbose

    # -- validation ----------------------------------------------------------------------------
    def _check_params(self) -> None:
        if not (hasattr(self.estimator, "fit") and hasattr(self.estimator, "get_params")):
            raise ValueError(
                f"estimator must be a scikit-learn estimator (with fit and get_params), got "
                f"{self.estimator!r}"
            )
        n = self.n_trials
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"n_trials must be a positive integer, got {n!r}")
        if not isinstance(self.refit, (bool, np.bool_)):
            raise ValueError(
                f"refit must be True or False, got {self.refit!r} (choosing the best candidate "
                "with a custom rule is not supported)"
            )
        es = self.error_score
        if not (es == "raise" if isinstance(es, str) else isinstance(es, numbers.Real)):
            raise ValueError(f"error_score must be a number or 'raise', got {es!r}")
        if not isinstance(self.return_train_score, (bool, np.bool_)):
            raise ValueError(f"return_train_score must be True or False, got {self.return_train_score!r}")
        v = self.verbose
        if not isinstance(v, numbers.Integral) or v < 0:
            raise ValueError(f"verbose must be a non-negative integer, got {v!r}")
        j = self.n_jobs
        if isinstance(j, bool) or not isinstance(j, numbers.Integral) or not (j == -1 or j >= 1):
            raise ValueError(f"n_jobs must be a positive integer or -1, got {j!r}")
        t = self.timeout
        if t is not None and (isinstance(t, bool) or not isinstance(t, numbers.Real) or not t > 0):
            raise ValueError(f"timeout must be a positive number of seconds or None, got {t!r}")
        s = self.scoring
        if isinstance(s, (list, tuple, set, dict)):
            raise ValueError(
                "scoring: multi-metric scoring is not supported by HyperSearchCV; pass one "
                f"scorer (a name or a callable), got {s!r}"
            )
        if s is not None and not isinstance(s, str) and not callable(s):
            raise ValueError(f"scoring must be a scorer name, a callable or None, got {s!r}")
        if self.sampler is not None and not isinstance(self.sampler, BaseSampler):
            raise ValueError(f"sampler must be a hypersearch sampler, got {self.sampler!r}")
        if self.scheduler is not None and not isinstance(self.scheduler, BaseScheduler):
            raise ValueError(f"scheduler must be a hypersearch scheduler, got {self.scheduler!r}")
        if isinstance(self.study, Study):
            if self.sampler is not None or self.scheduler is not None:
                raise ValueError(
                    "study: a Study brings its own sampler and scheduler; pass them to "
                    "hs.create_study, or give study as a dict of create_study arguments"
                )
            if self.study.directions != [StudyDirection.MAXIMIZE]:
                raise ValueError(
                    "study must maximise a single objective: scikit-learn scores are "
                    "greater-is-better"
                )
        elif self.study is not None and not isinstance(self.study, Mapping):
            raise ValueError(
                "study must be None, a hypersearch Study or a dict of create_study arguments, "
                f"got {type(self.study).__name__}"
            )

    def _make_study(self) -> Study:
        if isinstance(self.study, Study):
            return self.study
        seed = None
        if self.random_state is not None:
            rs = self.random_state
            if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
                seed = int(rs)
            else:
                seed = int(check_random_state(rs).randint(np.iinfo(np.int32).max))
        kwargs: dict[str, Any] = dict(self.study or {})
        for key in ("direction", "directions"):
            given = kwargs.get(key)
            if given is not None and (
                key == "directions" or StudyDirection.parse(given) != StudyDirection.MAXIMIZE
            ):
                raise ValueError(
                    f"study: {key}={given!r} is not allowed; scikit-learn scores are "
                    "greater-is-better, so the study maximises"
                )
        kwargs["direction"] = "maximize"
        if "sampler" not in kwargs:
            kwargs["sampler"] = _fresh_copy(self.sampler, "sampler")
        if "scheduler" not in kwargs:
            kwargs["scheduler"] = _fresh_copy(self.scheduler, "scheduler")
        if seed is not None and "seed" not in kwargs:
            kwargs["seed"] = seed
        return create_study(**kwargs)

    # -- fit -------------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None, groups: Any = None, **fit_params: Any) -> HyperSearchCV:
        """Search: one trial per configuration, then refit the best (``refit=True``).

        Args:
            X: Training data.
            y: Targets (``None`` for unsupervised estimators).
            groups: Group labels for group-aware splitters (``GroupKFold``).
            **fit_params: Passed to the estimator's ``fit``; per-sample arrays such as
                ``sample_weight`` are split with the folds.
        """
        self._check_params()
        estimator = self.estimator
        space = _compile_space(self.param_distributions, estimator)
        tags = get_tags(estimator)
        if y is None and tags.target_tags.required:
            raise ValueError(
                f"{type(estimator).__name__} requires y to be passed, but the target y is None"
            )
        X, y, groups = indexable(X, y, groups)
        cv = check_cv(self.cv, y, classifier=is_classifier(estimator))
        splits = [(np.asarray(tr), np.asarray(te)) for tr, te in cv.split(X, y, groups)]
        if not splits:
            raise ValueError(f"cv={self.cv!r} gave no train/test split")
        scorer = check_scoring(estimator, scoring=self.scoring)
        study = self._make_study()
        fit_id = uuid.uuid4().hex
        objective = _CrossValObjective(
            estimator=estimator,
            space=space,
            X=X,
            y=y,
            splits=splits,
            scorer=scorer,
            fit_params=fit_params,
            error_score=self.error_score,
            return_train_score=bool(self.return_train_score),
            pairwise=bool(tags.input_tags.pairwise),
            fit_id=fit_id,
        )
        callbacks = [self._print_trial] if self.verbose else []
        study.optimize(
            objective,
            n_trials=int(self.n_trials),
            timeout=self.timeout,
            n_jobs=int(self.n_jobs),
            catch=(FitFailed,),
            callbacks=callbacks,
            show_progress_bar=False,
        )

        trials, configs = [], []
        for t in study.get_trials():
            if t.system_attrs.get(FIT_ATTR) != fit_id:
                continue
            config = _config_of(space, t)
            if config is not None:
                trials.append(t)
                configs.append(config)
        self._warn_failures(trials)
        results = _cv_results(trials, configs, len(splits), bool(self.return_train_score))
        mean = results["mean_test_score"]
        complete = [
            i for i, t in enumerate(trials) if t.state == TrialState.COMPLETE and np.isfinite(mean[i])
        ]
        if not complete:
            raise ValueError(self._no_result_message(trials))
        best = min(complete, key=lambda i: (results["rank_test_score"][i], i))

        self.study_ = study
        self.study_name_ = study.study_name
        self.cv_results_ = results
        self.best_index_ = int(best)
        self.best_params_ = dict(configs[best])
        self.best_score_ = float(mean[best])
        self.best_trial_ = trials[best]
        self.n_splits_ = len(splits)
        self.scorer_ = scorer
        self.multimetric_ = False
        if self.refit:
            est = clone(estimator).set_params(**clone(self.best_params_, safe=False))
            start = time.perf_counter()
            if y is None:
                est.fit(X, **fit_params)
            else:
                est.fit(X, y, **fit_params)
            self.refit_time_ = time.perf_counter() - start
            self.best_estimator_ = est
            if hasattr(est, "feature_names_in_"):
                self.feature_names_in_ = est.feature_names_in_
        return self

    def _print_trial(self, study: Study, t: FrozenTrial) -> None:
        folds = t.user_attrs.get("fold_values", [])
        mean = f"{np.mean(folds):.4f}" if folds else "nan"
        print(
            f"[HyperSearchCV] trial {t.number} {t.state.name}: mean score {mean} over "
            f"{len(folds)} fold(s), params {t.params}",
            flush=True,
        )

    def _warn_failures(self, trials: list[FrozenTrial]) -> None:
        failed = [t for t in trials if t.user_attrs.get("cv_errors")]
        if not failed:
            return
        n_folds = sum(len(t.user_attrs["cv_errors"]) for t in failed)
        first = failed[0].user_attrs["cv_errors"][0]
        warnings.warn(
            f"{n_folds} fit(s) failed in {len(failed)} of {len(trials)} trial(s); the score of "
            f"a failed fit is error_score={self.error_score!r}. First failure (trial "
            f"{failed[0].number}, {first}). Pass error_score='raise' to see the traceback.",
            FitFailedWarning,
            stacklevel=3,
        )

    @staticmethod
    def _no_result_message(trials: list[FrozenTrial]) -> str:
        counts: dict[str, int] = {}
        for t in trials:
            counts[t.state.name] = counts.get(t.state.name, 0) + 1
        summary = ", ".join(f"{v} {k.lower()}" for k, v in sorted(counts.items())) or "none ran"
        reason = next((t.fail_reason for t in trials if t.fail_reason), None)
        msg = f"HyperSearchCV: no trial was fully cross-validated with a finite score ({summary})"
        if reason:
            msg += f"; first failure: {reason}"
        return msg

    # -- delegation to the best estimator ----------------------------------------------------------
    def _best(self) -> Any:
        check_is_fitted(self)
        if not self.refit:
            raise AttributeError(
                f"{type(self).__name__} was fitted with refit=False; refit the best "
                "configuration (refit=True) to predict"
            )
        return self.best_estimator_

    @available_if(_delegate_has("predict"))
    def predict(self, X: Any) -> Any:
        """Predictions of the refit best estimator."""
        return self._best().predict(X)

    @available_if(_delegate_has("predict_proba"))
    def predict_proba(self, X: Any) -> Any:
        """Class probabilities of the refit best estimator."""
        return self._best().predict_proba(X)

    @available_if(_delegate_has("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> Any:
        """Log class probabilities of the refit best estimator."""
        return self._best().predict_log_proba(X)

    @available_if(_delegate_has("decision_function"))
    def decision_function(self, X: Any) -> Any:
        """Decision function of the refit best estimator."""
        return self._best().decision_function(X)

    @available_if(_delegate_has("score_samples"))
    def score_samples(self, X: Any) -> Any:
        """Per-sample scores of the refit best estimator."""
        return self._best().score_samples(X)

    @available_if(_delegate_has("transform"))
    def transform(self, X: Any) -> Any:
        """Transform with the refit best estimator."""
        return self._best().transform(X)

    @available_if(_delegate_has("inverse_transform"))
    def inverse_transform(self, X: Any) -> Any:
        """Inverse transform with the refit best estimator."""
        return self._best().inverse_transform(X)

    def score(self, X: Any, y: Any = None, **params: Any) -> float:
        """Score of the refit best estimator on ``X`` with the search's scorer."""
        best = self._best()
        return float(self.scorer_(best, X, y, **params))

    @property
    def classes_(self) -> np.ndarray:
        """Class labels (classifiers, ``refit=True``)."""
        return self._best().classes_

    @property
    def n_features_in_(self) -> int:
        """Number of features seen by the refit best estimator."""
        try:
            check_is_fitted(self)
        except NotFittedError as e:
            raise AttributeError(f"{type(self).__name__} is not fitted: no n_features_in_") from e
        return self._best().n_features_in_

    def __sklearn_tags__(self):  # noqa: D105 - the wrapped estimator's kind of data and task
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = copy.deepcopy(inner.classifier_tags)
        tags.regressor_tags = copy.deepcopy(inner.regressor_tags)
        tags.transformer_tags = copy.deepcopy(inner.transformer_tags)
        # X and y go to the wrapped estimator unchanged: it decides what data it takes
        tags.target_tags = copy.deepcopy(inner.target_tags)
        tags.input_tags = copy.deepcopy(inner.input_tags)
        return tags

    # -- copies and pickles ------------------------------------------------------------------------
    def __sklearn_clone__(self) -> HyperSearchCV:
        """An unfitted copy with the same parameters.  Samplers and schedulers hold
        locks, which ``copy.deepcopy`` (scikit-learn's default for non-estimator
        parameters) cannot copy; they are copied by value here, and a ``Study`` object
        is shared (it is a handle to a storage)."""
        params = self.get_params(deep=False)
        new: dict[str, Any] = {}
        for name, value in params.items():
            if name in ("sampler", "scheduler"):
                new[name] = _fresh_copy(value, name)
            elif name == "study" and isinstance(value, Study):
                new[name] = value
            else:
                new[name] = clone(value, safe=False)
        return type(self)(**new)

    def __getstate__(self) -> dict[str, Any]:
        if isinstance(self.study, Study):
            raise TypeError(
                "a HyperSearchCV whose study parameter is a Study object cannot be pickled "
                "(a study holds a live storage connection); give study as a dict of "
                "create_study arguments instead, e.g. {'storage': url, 'study_name': name}"
            )
        state = super().__getstate__()
        state = dict(state)
        if "study_" in state:
            state["study_"] = None
        for key in ("sampler", "scheduler", "param_distributions"):
            value = state.get(key)
            if value is None:
                continue
            try:
                pickle.dumps(value)
            except Exception:  # locks, lambdas of hs domains: pickle by value
                state[key] = _ByValue(_fresh_dumps(value))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        for key, value in list(state.items()):
            if isinstance(value, _ByValue):
                state[key] = pickle.loads(value.payload)
        super().__setstate__(state)
