"""``hs.tune``: the Ray-Tune-style front door, a thin layer over a study.

``tune(trainable, config=space, ...)`` compiles the declarative space into a
define-by-run objective, runs it with ``study.optimize`` (the same sampler,
scheduler and storage machinery as every study) and gives back a
:class:`TuneResult`.  The trainable calls ``hs.report(...)`` every iteration;
the scheduler decides after each report.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hypersearch.exceptions import DuplicatedStudyError, TrialPaused, TrialPruned
from hypersearch.samplers.base import BaseSampler
from hypersearch.schedulers.base import BaseScheduler
from hypersearch.schedulers.pbt import CONFIG_ATTR as PBT_CONFIG_ATTR
from hypersearch.schedulers.pbt import PARAMS_ATTR as PBT_PARAMS_ATTR
from hypersearch.schedulers.pbt import PopulationBasedTraining, config_in_effect
from hypersearch.space.declarative import DERIVED_ATTR, SearchSpace, merge_config
from hypersearch.storage import BaseStorage
from hypersearch.storage._common import OneMore
from hypersearch.study._optimize import check_run_options, heartbeat_grace_of, run_optimize
from hypersearch.study._study import Study, create_study, load_study
from hypersearch.trial._frozen import FrozenTrial
from hypersearch.trial._state import TrialState
from hypersearch.tune._checkpoint import CheckpointStore, claim_root, default_root, release_root
from hypersearch.tune._results import ResultLog
from hypersearch.tune._session import Pause, Prune, Restart, Session, StopTrial, set_current

_SCOPES = ("last", "avg", "last-5-avg", "last-10-avg", "all")


class TuneResult:
    """Outcome of :func:`tune`: best configuration, every trial's results and checkpoints."""

    def __init__(self, study: Study, metric: str, mode: str, results: ResultLog,
                 checkpoints: CheckpointStore, space: SearchSpace | None = None) -> None:
        self.study = study
        self._space = space  # rebuilds what the stored configuration left out (objects)
        self.metric = metric
        self.mode = mode
        self._results = results
        self._checkpoints = checkpoints

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.study.trials

    def _best(self, metric: str | None, mode: str | None, scope: str = "last") -> FrozenTrial:
        metric = metric or self.metric
        mode = mode or self.mode
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if scope not in _SCOPES:
            raise ValueError(f"scope must be one of {list(_SCOPES)}, got {scope!r}")
        sign = 1.0 if mode == "min" else -1.0
        best, best_v = None, math.inf
        trials = self.study.get_trials(deepcopy=False)
        # Failed trials stopped part-way (an error, a lost worker): their last value is
        # not a trained model's.  They are candidates only when nothing else reported
        # (or for scope="all", the best value ever reported).
        ok = [t for t in trials if t.state != TrialState.FAIL]
        if scope != "all" and any(metric in r for t in ok for r in self._rows(t)):
            trials = ok
        for t in trials:
            if "requeued_as" in t.system_attrs:
                continue  # a failed attempt whose retry carries the trial on
            vals = [r[metric] for r in self._rows(t) if metric in r]
            if not vals:
                continue
            if scope == "all":  # the best value it ever reported
                finite = [sign * float(x) for x in vals if _finite(x)]
                if not finite:
                    continue
                v = min(finite)
            else:
                # A trial whose last values diverged (NaN, inf) is not a candidate:
                # its model and checkpoint are the diverged ones.
                window = {"last": 1, "last-5-avg": 5, "last-10-avg": 10, "avg": len(vals)}[scope]
                tail = vals[-window:]
                if not all(_finite(x) for x in tail):
                    continue
                v = sign * sum(float(x) for x in tail) / len(tail)
            if v < best_v:
                best, best_v = t, v
        if best is None:
            raise ValueError(f"no trial reported a finite value of {metric!r}")
        return best

    def _rows(self, t: FrozenTrial) -> list[dict]:
        rows = self._results.rows(t.number)
        if rows:
            return rows
        last = t.user_attrs.get("last_result")
        return [last] if last else []

    def get_best_trial(self, metric: str | None = None, mode: str | None = None, scope: str = "last") -> FrozenTrial:
        """Trial whose ``scope`` value of ``metric`` is best: ``"last"`` reported (the
        default), the average of all (``"avg"``) or of the last 5 or 10 reports
        (``"last-5-avg"``, ``"last-10-avg"``), or the best ever (``"all"``), as in
        Ray Tune.  Trials whose last values are NaN or infinite are left out,
        except with ``"all"``."""
        return self._best(metric, mode, scope).copy()

    def get_best_config(self, metric: str | None = None, mode: str | None = None, scope: str = "last") -> dict:
        """Configuration (as the trainable last received it) of the best trial."""
        t = self._best(metric, mode, scope)
        # after population-based training, the configuration the trial ended with
        stored = config_in_effect(t.user_attrs, t.system_attrs)
        if self._space is None:
            return stored
        # values that could not be stored (objects) come from the space again
        params = t.system_attrs.get(PBT_PARAMS_ATTR) or t.params  # a clone: its donor's
        return _with_objects(self._space, params, t.system_attrs.get(DERIVED_ATTR), stored, {})

    def get_best_result(self, metric: str | None = None, mode: str | None = None, scope: str = "last") -> dict:
        """Last reported result of the best trial (with the ``config`` in effect)."""
        rows = self._rows(self._best(metric, mode, scope))
        return dict(rows[-1])

    @property
    def best_config(self) -> dict:
        return self.get_best_config()

    @property
    def best_result(self) -> dict:
        return self.get_best_result()

    @property
    def best_checkpoint(self) -> Any:
        """The best trial's latest checkpoint, loaded (``None`` if it saved none)."""
        return self.get_checkpoint(self._best(None, None).number)

    def get_checkpoint(self, number: int) -> Any:
        t = self.study.get_trials(deepcopy=False)[number]
        path = t.system_attrs.get("checkpoint")
        return None if path is None else self._checkpoints.load(path)

    @property
    def results(self) -> list[dict]:
        """Every reported result row, with ``trial`` number and ``config/...`` columns
        (the configuration in effect at that report: population-based training
        changes it during a trial)."""
        rows = []
        for t in self.study.get_trials(deepcopy=False):
            own = _flatten(t.user_attrs.get("config", {}), "config/")
            for r in self._rows(t):
                r = dict(r)
                cfg = r.pop("config", None)
                rows.append({"trial": t.number, "state": t.state.name, **r,
                             **(own if not isinstance(cfg, Mapping) else _flatten(cfg, "config/"))})
        return rows

    @property
    def dataframe(self):
        """All reported results as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.results)

    def __repr__(self) -> str:
        return f"TuneResult(study={self.study.study_name!r}, trials={len(self.study.trials)})"


def _finite(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _flatten(d: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(_flatten(v, f"{prefix}{k}/"))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _stop_fn(stop: Any) -> Callable[[str, dict], bool] | None:
    """``stop`` as ``fn(trial_id, result) -> bool``.  A dict of thresholds applies to
    the results that carry its keys; a key missing from a result is warned about
    once (a misspelt key would never stop anything; a metric reported only every
    few iterations is fine), as Ray Tune does.  A callable takes ``result`` or,
    Ray Tune's other form, ``(trial_id, result)``."""
    if stop is None:
        return None
    if callable(stop):
        import inspect

        try:
            params = [
                p for p in inspect.signature(stop).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
            ]
            two = len(params) >= 2
        except (TypeError, ValueError):  # no signature (a builtin): the one-argument form
            two = False
        if two:
            return lambda trial_id, result: bool(stop(trial_id, result))
        return lambda trial_id, result: bool(stop(result))
    if isinstance(stop, Mapping):
        crit = {}
        for k, v in stop.items():
            if not isinstance(v, (int, float)) or v != v:  # bools too: {"done": True}
                raise ValueError(f"stop[{k!r}] must be a number (the threshold of {k!r}), got {v!r}")
            crit[k] = float(v)

        warned: set[str] = set()

        def fn(trial_id: str, result: dict) -> bool:
            for k in crit:
                if k not in result and k not in warned:
                    warned.add(k)
                    warnings.warn(
                        f"stop criterion {k!r} is not in the reported result (keys: {sorted(result)}); "
                        "it applies only to results that report it: check its name",
                        stacklevel=2,
                    )
            return any(k in result and _finite(result[k]) and float(result[k]) >= v for k, v in crit.items())

        return fn
    raise TypeError(f"stop must be a dict {{metric: threshold}} or a callable(result) -> bool, got {stop!r}")


def _warn_if_all_failed(study: Study) -> None:
    """Say so when no trial of the run got anywhere: every trainable raised (a typo
    in the trainable shows as one warning per trial otherwise, and an empty result)."""
    trials = study.get_trials(deepcopy=False)
    if trials and all(t.state == TrialState.FAIL for t in trials):
        warnings.warn(
            f"all {len(trials)} trials of {study.study_name!r} failed; the first with: "
            f"{trials[0].fail_reason}", UserWarning, stacklevel=3,
        )


def _driver_stop(stop: Any, fn: Callable[[str, dict], bool]) -> Callable[[str, dict], bool | str]:
    """The stop criterion as the driver evaluates it: serialised (a stateful
    criterion sees one result at a time) and with Ray Tune's ``stop_all()``,
    which ends the whole run (``"all"``)."""
    import threading

    lock = threading.Lock()
    stop_all = getattr(stop, "stop_all", None)

    def check(trial_id: str, result: dict) -> bool | str:
        with lock:
            this = fn(trial_id, result)
            if callable(stop_all) and stop_all():
                return "all"
            return this

    return check


class _WithParameters:
    """``trainable(config, **params)`` as a one-argument trainable (picklable when
    the trainable and the values are: worker processes receive it once)."""

    def __init__(self, trainable: Callable[..., Any], params: dict[str, Any]) -> None:
        self.trainable = trainable
        self.params = params
        self.__name__ = getattr(trainable, "__name__", type(trainable).__name__)
        self.__doc__ = getattr(trainable, "__doc__", None)

    def __call__(self, config: dict[str, Any]) -> Any:
        return self.trainable(config, **self.params)

    def __repr__(self) -> str:
        return f"with_parameters({self.__name__}, {', '.join(self.params)})"


def with_parameters(trainable: Callable[..., Any], **params: Any) -> Callable[[dict[str, Any]], Any]:
    """Bind extra arguments (datasets, models) to a trainable, as Ray Tune's
    ``tune.with_parameters``: ``hs.tune(hs.with_parameters(train, data=data), config=space)``
    calls ``train(config, data=data)``.  The values are not copied per trial:
    threads share them, and each long-lived worker process receives them once."""
    if not callable(trainable):
        raise TypeError(f"trainable must be callable, got {type(trainable).__name__}")
    if "config" in params:
        raise ValueError("with_parameters: 'config' is the trainable's first argument, not a parameter")
    return _WithParameters(trainable, params)


def tune(
    trainable: Callable[[dict[str, Any]], Any],
    config: Mapping[str, Any] | SearchSpace,
    *,
    metric: str | None = None,
    mode: str | None = None,
    num_samples: int = 1,
    scheduler: BaseScheduler | None = None,
    sampler: BaseSampler | None = None,
    storage: BaseStorage | str | None = None,
    max_concurrent: int = 1,
    resources_per_trial: Mapping[str, float] | None = None,
    stop: Mapping[str, float] | Callable[[dict], bool] | None = None,
    resume: bool = False,
    name: str | None = None,
    constraints: Sequence[Callable[[dict], bool]] = (),
    seed: int | None = None,
    storage_path: str | None = None,
    time_budget_s: float | None = None,
    show_progress_bar: bool | None = None,
    executor: str | Any | None = None,
    trial_timeout: float | None = None,
    retries: int = 0,
    heartbeat_interval: float | None = 30.0,
    heartbeat_grace: float | None = None,
    points_to_evaluate: Sequence[Mapping[str, Any]] = (),
) -> TuneResult:
    """Tune ``trainable(config)`` over a declarative search space.

    The trainable trains, calling ``hs.report(metric=value, ..., checkpoint=...)``
    each iteration, and may call ``hs.get_checkpoint()`` to resume.  The
    scheduler (e.g. ``hs.schedulers.ASHA(metric="loss", mode="min", max_t=10)``)
    decides after every report whether the trial goes on.

    Args:
        trainable: ``fn(config)``; its reports define the results.
        config: Search space (dict of ``hs.uniform``, ``hs.choice``, ``hs.grid``... or a
            :class:`~hypersearch.SearchSpace`).
        metric, mode: Metric to optimise and ``"min"``/``"max"``; taken from the
            scheduler when omitted.
        num_samples: Trials to run (with ``hs.grid`` axes: samples per grid point).
        scheduler, sampler, storage, seed: As for :func:`~hypersearch.create_study`.
        max_concurrent: Trials running at once.
        resources_per_trial: ``{"cpu": n, "gpu": k}`` (fractional GPUs allowed): at
            most as many trials run as the machine holds; each sees only its GPUs.
        stop: ``{"training_iteration": 10}``-style thresholds (on any reported key, or
            ``time_total_s``, which every result carries as in Ray Tune) or
            ``fn(result) -> bool`` / ``fn(trial_id, result) -> bool``; a trial that
            meets it finishes as complete.  A
            ``PopulationBasedTraining`` scheduler without ``max_t`` takes its
            ``training_iteration`` threshold as the last step of training.
        resume: Continue the study ``name`` in ``storage`` (its trials count toward
            ``num_samples``).
        name: Study name.
        constraints: Feasibility constraints on the configuration.
        storage_path: Directory for checkpoints (default: beside a SQLite file, else a
            temporary directory).
        time_budget_s: Seconds the run may take, as in Ray Tune: no trial starts
            after it, and running trials stop at their next report (they finish
            as complete with what they reported).
        executor, trial_timeout, retries, heartbeat_interval, heartbeat_grace: As for
            :meth:`~hypersearch.Study.optimize` (``max_concurrent > 1`` runs trainables
            in worker processes by default).  A retried trial resumes from the
            failed trial's last checkpoint.
        points_to_evaluate: Configurations (nested like ``config``) to evaluate first,
            e.g. a published recipe or ``hs.presets.defaults(...)``; each must lie in
            the space (``ValueError`` listing the problems otherwise).  They count
            toward ``num_samples``; with grid axes they run in addition to the grid.
    """
    t_start = time.monotonic()
    # wall clock: worker processes compare it too
    deadline = None if time_budget_s is None else time.time() + float(time_budget_s)
    if not callable(trainable):
        raise TypeError(f"trainable must be callable, got {type(trainable).__name__}")
    if metric is not None and not isinstance(metric, str) or isinstance(mode, (list, tuple)):
        raise ValueError(
            f"tune optimises one metric (a name such as 'loss'), got metric={metric!r}, mode={mode!r}; "
            "report the others too and compare them in result.dataframe, or use a "
            "multi-objective study (hs.create_study(directions=[...])) with study.optimize"
        )
    sched_metric = getattr(scheduler, "metric", None)
    sched_mode = getattr(scheduler, "mode", None)
    sched_mode = None if sched_mode is None else ("min" if sched_mode.sign() > 0 else "max")
    if metric is not None and sched_metric is not None and metric != sched_metric:
        raise ValueError(
            f"metric={metric!r} but the scheduler was given metric={sched_metric!r}: "
            "it would decide on another metric than the one tuned; give one of them"
        )
    if mode is not None and sched_mode is not None and mode != sched_mode:
        raise ValueError(
            f"mode={mode!r} but the scheduler was given mode={sched_mode!r}: it would keep "
            "the worst trials; give one of them"
        )
    metric = metric or sched_metric
    mode = mode or sched_mode
    if metric is None:
        raise ValueError("tune needs a metric: pass metric='loss' (or give the scheduler one)")
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive integer, got {num_samples!r}")
    check_run_options(  # every option checked before the study is created or changed
        n_trials=None, timeout=time_budget_s, n_jobs=max_concurrent, catch=(Exception,), executor=executor,
        resources_per_trial=resources_per_trial, trial_timeout=trial_timeout, retries=retries,
        heartbeat_interval=heartbeat_interval, heartbeat_grace=heartbeat_grace,
        labels={"n_jobs": "max_concurrent", "timeout": "time_budget_s"},
    )
    space = config if isinstance(config, SearchSpace) else SearchSpace(config, constraints)
    if isinstance(config, SearchSpace) and constraints:
        space = SearchSpace(config, constraints)
    stop_fn = _stop_fn(stop)
    # A callable stop criterion may keep state across trials (Ray Tune's Stopper): it
    # is evaluated in this process for every trial, whichever worker runs it.  A dict
    # of thresholds holds none and is evaluated where the trial runs.
    driver_stop = None if stop_fn is None or isinstance(stop, Mapping) else _driver_stop(stop, stop_fn)
    local_stop = stop_fn if driver_stop is None else None
    stop_in_driver = driver_stop is not None  # the objective (sent to workers) holds only this
    direction = "minimize" if mode == "min" else "maximize"

    grid = space.grid_axes()
    if grid and sampler is not None and not _is_grid_sampler(sampler):
        raise ValueError(
            f"the space has grid axes {sorted(grid)} (hs.grid / hs.grid_search), which only the "
            f"grid sampler visits, but sampler={type(sampler).__name__} was given: leave sampler "
            "out, or make those axes hs.choice([...])"
        )
    if sampler is None and grid:
        from hypersearch.samplers.grid import GridSampler

        # Ray Tune's grid semantics: every grid point num_samples times, the other
        # parameters drawn afresh each time
        sampler = GridSampler(grid, repeats=num_samples, seed=seed)
    first_params = [space.to_params(p) for p in points_to_evaluate]  # checked before any write
    if resume:
        if name is None:
            raise ValueError("resume=True needs the name of the study to continue")
        study = load_study(name, storage, sampler=sampler, scheduler=scheduler, seed=seed)
    else:
        try:
            study = create_study(name, storage, direction, sampler=sampler, scheduler=scheduler, seed=seed)
        except DuplicatedStudyError:
            raise DuplicatedStudyError(
                f"a study named {name!r} already exists in this storage: pass resume=True to "
                "continue it, or another name"
            ) from None
    for params in first_params:
        # Known configurations first (a recipe, a preset's defaults, last run's best);
        # on resume a point already in the study is not queued again.
        study.enqueue_trial(params, skip_if_exists=True)
    url = storage if isinstance(storage, str) else None
    if storage_path is not None:
        storage_path = str(Path(storage_path).expanduser())  # "~/ray_results" as Ray Tune takes it
    store = CheckpointStore(_artifact_root(study, storage_path, url))
    study._tune_log = log = ResultLog(store.root)

    def objective(trial):
        own = space.sample(trial)
        # stored before training starts: a worker killed before its first report
        # leaves a trial that is retried (on resume) with this configuration
        trial.flush()
        derived = trial.system_attrs.get(DERIVED_ATTR)
        # A trial resumed or retried after population-based training changed its
        # configuration trains on with that one (its checkpoint was trained with it).
        cfg = _with_objects(space, trial.system_attrs.get(PBT_PARAMS_ATTR), derived,
                            trial.system_attrs.get(PBT_CONFIG_ATTR) or {}, own)
        session = Session(trial, metric, max_t, local_stop, store, deadline=deadline,
                          driver_stop=stop_in_driver)
        set_current(session)
        try:
            while True:
                try:
                    try:
                        out = trainable(cfg)
                        if out is not None and session.signal is None:
                            _report_returned(session, out, metric)
                    except Exception:
                        if session.signal is None:
                            raise
                        # the trainable turned the signal into an error of its own
                    if session.signal is not None:  # caught by the trainable, which ended
                        raise session.signal
                    break
                except Restart as r:  # population-based training swapped the state
                    # values that could not be stored (objects) are the trial's own
                    cfg = _with_objects(space, r.base, derived, r.config, own)
                    session.signal = None
        except StopTrial:
            pass
        except Prune as e:
            raise TrialPruned(str(e)) from None
        except Pause as e:
            raise TrialPaused(str(e)) from None
        finally:
            set_current(None)
        if session.last_value is None or session.iteration < max(session.recorded_steps, default=0):
            done = trial.intermediate_values
            if done:
                # resumed after its last step (a paused member of a population taking
                # turns), or stopped while training again steps it had reported: its
                # last report is its result
                return done[max(done)]
            raise ValueError(f"the trainable reported no value of {metric!r} (call hs.report({metric}=...))")
        return session.last_value

    if resume:
        # Trials of a killed earlier run are taken up again from their checkpoints, as
        # Ray Tune's resume does (a retry each), before anything is counted: those
        # whose process on this machine is gone at once, others once their
        # heartbeat is stale.
        # Each resume grants every trial it takes up one more attempt, however many
        # earlier resumes used (a retry chain is otherwise bounded by ``retries``).
        study._reap(heartbeat_grace_of(heartbeat_interval, heartbeat_grace), OneMore(retries))
    total = num_samples
    if grid:
        # The grid sampler queued every evaluation still missing (num_samples per
        # point; on resume the ones a changed grid or num_samples adds); the extra
        # points come on top (without a grid they count toward num_samples, as in
        # Ray Tune).  Every queued trial runs.
        total = study._storage.count_trials(study._study_id, [TrialState.WAITING])
    elif resume:
        # Configurations already started (finished or paused) count toward num_samples;
        # a failed trial queued again for a retry counts once, through its retry.
        trials = study.get_trials(deepcopy=False)
        retried = {t.system_attrs.get("retry_of") for t in trials if "retry_of" in t.system_attrs}
        total -= sum(
            1
            for t in trials
            if (t.state.is_finished() or t.state == TrialState.PAUSED) and t.number not in retried
            # a trial that failed before it got a configuration (Ctrl-C while the
            # sampler proposed) evaluated nothing
            and not (t.state == TrialState.FAIL and not t.params)
        )
    lent_max_t = False
    if isinstance(scheduler, PopulationBasedTraining) and scheduler.max_t is None:
        # PBT must know the last step (no exploiting there, no copying a finished
        # model, no pausing a member that is done): take it from the stop criteria,
        # for this run only (the scheduler object may serve another run).
        last = stop.get("training_iteration") if isinstance(stop, Mapping) else None
        if last is not None and last >= 1:
            scheduler.max_t = math.ceil(last)
            lent_max_t = True
        elif num_samples > max_concurrent:
            warnings.warn(
                f"the PBT population ({num_samples}) is larger than max_concurrent "
                f"({max_concurrent}), so members take turns, but the scheduler does not know "
                "the last training step: give PopulationBasedTraining(max_t=...) or "
                "stop={'training_iteration': ...}, or a member may be paused at its last "
                "step and another may copy its finished model",
                stacklevel=2,
            )
    remaining = max(total, 0)
    max_t = getattr(scheduler, "max_t", None)
    study._tune_stop = driver_stop
    try:
        run_optimize(
            study,
            objective,
            n_trials=remaining,
            # what is left of the budget (setting up took some of it)
            timeout=None if deadline is None else max(deadline - time.time(), 1e-3),
            n_jobs=max_concurrent,
            catch=(Exception,),
            callbacks=(),
            show_progress_bar=show_progress_bar,
            resume_paused=True,
            executor=executor,
            resources_per_trial=resources_per_trial,
            trial_timeout=trial_timeout,
            retries=retries,
            heartbeat_interval=heartbeat_interval,
            heartbeat_grace=heartbeat_grace,
        )
        if not study._stop_requested and (
            time_budget_s is None or time.monotonic() - t_start < time_budget_s
        ):
            _close_paused(study)
        _warn_if_all_failed(study)
        return TuneResult(study, metric, mode, log, store, space=space)
    finally:
        study._tune_stop = None
        if lent_max_t:
            scheduler.max_t = None


def _with_objects(
    space: SearchSpace, params: Mapping[str, Any] | None, derived: Mapping[str, Any] | None,
    stored: Mapping[str, Any], fallback: dict[str, Any],
) -> dict[str, Any]:
    """A configuration in effect whose stored (JSON) values ``stored`` lie over the
    configuration of ``params``, which holds the values JSON cannot store (a model
    class, a function): after a population-based-training exploit, the donor's.
    ``fallback`` stands in for that configuration without ``params``, or when the
    space cannot build it (a space changed since, a failing ``sample_from``)."""
    full = fallback
    if params:
        try:
            full = space.config_from_params(params, derived)
        except Exception:  # noqa: BLE001 - see above
            full = fallback
    return merge_config(full, stored) if stored else full


ARTIFACTS_ATTR = "tune:artifacts"


def _artifact_root(study: Study, storage_path: str | None, url: str | None) -> Path:
    """The study's checkpoint directory: the one recorded when its first run began
    (while it exists), else ``<storage_path>/<name>`` (default: beside a SQLite
    file, or a temporary directory) or, for a study new to a directory that an
    earlier run of the same name filled, a fresh sibling (:func:`claim_root`)."""
    # read from the storage, not the study's snapshot: another process starting on the
    # same new study may have recorded its root since this one opened the study
    recorded = study._storage.get_study_attrs(study._study_id)[1].get(ARTIFACTS_ATTR)
    if isinstance(recorded, str) and Path(recorded).is_dir():
        if storage_path is None or Path(recorded).parent == Path(storage_path).resolve():
            return Path(recorded)
    base = Path(storage_path) / study.study_name if storage_path else default_root(url, study.study_name)
    started = study._storage.count_trials(study._study_id, [s for s in TrialState if s != TrialState.WAITING])
    if started == 0 and recorded is None:
        root = claim_root(base)
        # Processes starting on one new study at once: the first to record its
        # root wins, the others give theirs back and share it.
        stored = study._setdefault_system_attr(ARTIFACTS_ATTR, str(root.resolve()))
        if stored != str(root.resolve()):
            release_root(root)
            root = Path(stored)
        return root
    if recorded is not None:  # moved or gone: the checkpoints are where this run looks now
        study._set_system_attr(ARTIFACTS_ATTR, str(base.resolve()))
        return base
    # trials ran before: their checkpoints are here (unless a process starting on the
    # same new study recorded its own root a moment ago: that one)
    return Path(study._setdefault_system_attr(ARTIFACTS_ATTR, str(base.resolve())))


def _is_grid_sampler(sampler: BaseSampler) -> bool:
    from hypersearch.samplers.grid import GridSampler

    return isinstance(sampler, GridSampler)


def _close_paused(study: Study) -> None:
    """At the orderly end of a run, trials still PAUSED at a rung (never promoted)
    were stopped early: record them as PRUNED with their last value.  (After a
    crash or a time budget they stay PAUSED, so ``resume=True`` can promote them.)

    While another process still runs trials of the study, nothing is closed: it
    may yet promote them, and it closes them when it ends."""
    if study._storage.count_trials(study._study_id, [TrialState.RUNNING]) > 0:
        return
    for t in study.get_trials([TrialState.PAUSED], deepcopy=False):
        trial = study.resume_trial(t.number)
        if trial is not None:
            trial.set_system_attr("stopped_at_rung", True)
            study.tell(trial, state=TrialState.PRUNED)


__all__ = ["TuneResult", "tune", "with_parameters"]


def _report_returned(session: Session, out: Any, metric: str | None) -> None:
    """A trainable's return value as its last report, as Ray Tune takes it: a dict of
    metrics, or a number for the tuned metric."""
    if isinstance(out, Mapping):
        if out:
            session.report(dict(out), None)
        return
    if isinstance(out, (int, float, np.integer, np.floating)) and not isinstance(out, bool) and metric is not None:
        session.report({metric: out}, None)
        return
    warnings.warn(
        f"the trainable returned a {type(out).__name__}, which is ignored: return a dict of "
        "metrics (or a number for the tuned metric), or call hs.report(...)",
        UserWarning,
        stacklevel=2,
    )
