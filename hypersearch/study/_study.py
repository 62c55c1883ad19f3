"""Studies: an optimization task with its storage, sampler and scheduler."""

from __future__ import annotations

import copy
import datetime as _dt
import logging
import math
import os
import socket
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hypersearch.exceptions import DuplicatedStudyError, SearchSpaceExhausted, TrialStateError
from hypersearch.samplers.base import BaseSampler
from hypersearch.schedulers.base import BaseScheduler, NopScheduler
from hypersearch.space.distributions import BaseDistribution, CategoricalDistribution
from hypersearch.storage import BaseStorage, StudySummary, get_storage
from hypersearch.storage._common import check_json_value, check_key, retry_attrs
from hypersearch.study._direction import StudyDirection
from hypersearch.study._history import TrialHistory
from hypersearch.trial._frozen import FrozenTrial, constraints_satisfied
from hypersearch.trial._state import TrialState
from hypersearch.trial._trial import Trial

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

_log = logging.getLogger("hypersearch")

#: System attribute naming the worker that ran a trial (``host:pid:thread``).
WORKER_ATTR = "worker"
#: Boot and pid namespace of the worker's process: a pid means the same process only
#: within one (containers on one host, or hosts of one name, have their own).
WORKER_NS_ATTR = "worker_ns"

#: Seconds between heartbeats of trials driven by ask/tell (optimize's default too).
ASK_HEARTBEAT_INTERVAL = 30.0


_HOST_PID: tuple[int, str] | None = None


_PID_NS: str | None = None


def _pid_namespace() -> str:
    """``boot id:pid namespace inode`` of this process (Linux), looked up once; ``""``
    where the system does not tell."""
    global _PID_NS
    if _PID_NS is None:
        try:
            with open("/proc/sys/kernel/random/boot_id") as f:
                boot = f.read().strip()
            _PID_NS = f"{boot}:{os.stat('/proc/self/ns/pid').st_ino}"
        except OSError:
            _PID_NS = ""
    return _PID_NS


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine exists (a zombie or another user's
    process counts as existing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _worker_label() -> str:
    """``host:pid:thread`` of the caller; host and pid looked up once per process
    (asked on every trial)."""
    global _HOST_PID
    pid = os.getpid()
    if _HOST_PID is None or _HOST_PID[0] != pid:  # a forked child has a new pid
        _HOST_PID = (pid, f"{socket.gethostname()}:{pid}")
    return f"{_HOST_PID[1]}:{threading.current_thread().name}"

ObjectiveFn = Callable[[Trial], Any]


class Study:
    """An optimization task: a named set of trials in a storage, searched by a
    sampler and (optionally) early-stopped by a scheduler.

    Create one with :func:`create_study` or :func:`load_study`.
    """

    def __init__(
        self,
        storage: BaseStorage,
        info,
        sampler: BaseSampler | None = None,
        scheduler: BaseScheduler | None = None,
        seed: int | None = None,
    ) -> None:
        from hypersearch.samplers.auto import AutoSampler

        self._storage = storage
        self._study_id = info.study_id
        self.study_name: str = info.name
        self.directions: list[StudyDirection] = list(info.directions)
        self._user_attrs: dict[str, Any] = dict(info.user_attrs)
        self._system_attrs: dict[str, Any] = dict(info.system_attrs)
        if sampler is not None and not isinstance(sampler, BaseSampler):
            raise TypeError(f"sampler must be a BaseSampler, got {type(sampler).__name__}")
        if scheduler is not None and not isinstance(scheduler, BaseScheduler):
            raise TypeError(f"scheduler must be a BaseScheduler, got {type(scheduler).__name__}")
        if sampler is None and scheduler is not None:
            # e.g. BOHB's multi-fidelity TPE for the successive-halving schedulers
            sampler = scheduler.suggested_sampler(seed, len(self.directions))
        self.sampler: BaseSampler = sampler if sampler is not None else AutoSampler(seed=seed)
        self._scheduler: BaseScheduler | None = scheduler
        self.history = TrialHistory(storage, self._study_id, self.directions)
        self._stop_requested = False
        # hs.tune's stop criterion while a tune run is on (see Trial._tune_stop)
        self._tune_stop: Any = None
        self._live: dict[int, Trial] = {}  # trials running in this process
        # Heartbeat of trials driven by ask/tell outside optimize (see _keep_beating).
        self._beat_lock = threading.Lock()
        self._beat_thread: threading.Thread | None = None
        self._optimizing = 0  # optimize calls in progress in this process
        self._max_retries = 0  # of the optimize call in progress (retries of lost trials)
        self._tune_log: Any = None  # hypersearch.tune's ResultLog while tune() runs it
        # Finished trials stay in memory only for those that read them again.
        keep = self.sampler.needs_finished_trials or (
            self.scheduler is not None and self.scheduler.needs_finished_trials
        )
        # Without a scheduler and with a sampler that keeps its own statistics, the
        # study opens without reading its finished trials: only the count and the
        # unfinished ones.  The sampler is fed the finished trials on the first
        # ask (Study._listen), so opening a large study to look at it (best trial,
        # a few trials, the CLI) costs O(unfinished trials), not O(study).
        self._replay = type(self.sampler).on_trial_finished is not BaseSampler.on_trial_finished
        self._listen_lock = threading.Lock()
        self._listening = False
        primed = not keep and self.scheduler is None
        if primed:
            self.history.prime()
        else:
            self.history.refresh()
        self.sampler.attach(self)
        if not (primed and self._replay and self.history.trials):  # nothing stored to feed later
            self._listen(refresh=False)
        if self.scheduler is not None:
            if self.is_multi_objective and not isinstance(self.scheduler, NopScheduler):
                self.scheduler.direction(self)  # which objective it judges: said now, not at a report
            self.scheduler.attach(self)
        self.history.keep_finished = keep

    @property
    def scheduler(self) -> BaseScheduler | None:
        """The early-stopping scheduler (``trial.should_prune``, ``hs.tune``); may be
        set after the study is created."""
        return self._scheduler

    @scheduler.setter
    def scheduler(self, scheduler: BaseScheduler | None) -> None:
        if scheduler is not None and not isinstance(scheduler, BaseScheduler):
            raise TypeError(f"scheduler must be a BaseScheduler, got {type(scheduler).__name__}")
        self._scheduler = scheduler
        if scheduler is not None:
            # the same set-up as one given to create_study: brackets follow the
            # study's seed, and trials it reads again stay in memory
            scheduler.attach(self)
            if scheduler.needs_finished_trials:
                self.history.keep_finished = True

    def _listen(self, refresh: bool = True) -> None:
        """Feed the sampler every finished trial, then each trial seen finishing
        from now on (once per study; the history reads dropped trials back)."""
        if self._listening:
            return
        with self._listen_lock:
            if self._listening:
                return
            if refresh:
                # bring the view up to date first: a trial ingested after the replay is
                # then handed to the listener by the view, one replayed is not ingested again
                self.history.refresh()
            self.history.add_listener(lambda t: self.sampler.on_trial_finished(self, t), replay=self._replay)
            self._listening = True

    # -- basic properties ------------------------------------------------------------
    @property
    def direction(self) -> StudyDirection:
        """The direction of a single-objective study."""
        if len(self.directions) != 1:
            raise ValueError("this study has several objectives; use .directions")
        return self.directions[0]

    @property
    def is_multi_objective(self) -> bool:
        return len(self.directions) > 1

    @property
    def user_attrs(self) -> dict[str, Any]:
        return copy.deepcopy(self._user_attrs)

    @property
    def system_attrs(self) -> dict[str, Any]:
        return copy.deepcopy(self._system_attrs)

    def set_user_attr(self, key: str, value: Any) -> None:
        """Store JSON-compatible metadata on the study."""
        check_key("study user attribute key", key)
        value = check_json_value(f"study user attribute {key!r}", value)
        self._storage.set_study_attrs(self._study_id, user={key: value})
        self._user_attrs[key] = value

    def _set_system_attr(self, key: str, value: Any) -> None:
        check_key("study system attribute key", key)
        value = check_json_value(f"study system attribute {key!r}", value)
        self._storage.set_study_attrs(self._study_id, system={key: value})
        self._system_attrs[key] = value

    def _setdefault_system_attr(self, key: str, value: Any) -> Any:
        """Store ``value`` under ``key`` unless another process (or an earlier run)
        stored one first; returns the stored value."""
        check_key("study system attribute key", key)
        value = check_json_value(f"study system attribute {key!r}", value)
        stored = self._storage.setdefault_study_system_attr(self._study_id, key, value)
        self._system_attrs[key] = stored
        return stored

    # -- reading trials ----------------------------------------------------------------
    def get_trials(
        self, states: Iterable[TrialState | str] | None = None, deepcopy: bool = True
    ) -> list[FrozenTrial]:
        """All trials (optionally only those in ``states``), ordered by number."""
        self.history.refresh()
        sset = None if states is None else [TrialState.parse(s) for s in states]
        ts = self.history.all_trials(sset)
        return [t.copy() for t in ts] if deepcopy else ts

    @property
    def trials(self) -> list[FrozenTrial]:
        """All trials, ordered by number (copies: changing them changes nothing)."""
        return self.get_trials()

    def running_trials(self) -> list[FrozenTrial]:
        """Trials being evaluated now, with the parameters suggested so far.

        Trials running in this process are seen live (parameters not yet written to
        the storage included); trials of other workers as of the last refresh.
        Samplers use this to avoid proposing points that are already being
        evaluated (constant liar, pending points).
        """
        live = {n: t._snapshot() for n, t in list(self._live.items())}
        others = [t for t in self.history.running() if t.number not in live]
        return sorted([*live.values(), *others], key=lambda t: t.number)

    @property
    def best_trial(self) -> FrozenTrial:
        """The best COMPLETE trial of a single-objective study."""
        if self.is_multi_objective:
            raise ValueError(
                "best_trial is ambiguous with several objectives; use best_trials (the Pareto front)"
            )
        self.history.refresh()
        best = self.history.best_trial
        if best is None:
            done = self._storage.count_trials(self._study_id, [TrialState.COMPLETE])
            if done:
                raise ValueError(
                    f"study {self.study_name!r} has no feasible completed trial: all {done} completed "
                    "trials violate their constraints (see each trial's 'constraints' system attribute)"
                )
            raise ValueError(f"study {self.study_name!r} has no completed trial yet")
        return best.copy()

    @property
    def best_params(self) -> dict[str, Any]:
        """Parameters of :attr:`best_trial` (``ValueError`` as for it: no feasible
        COMPLETE trial yet, or several objectives)."""
        return self.best_trial.params

    @property
    def best_value(self) -> float:
        """Objective value of :attr:`best_trial` (``ValueError`` as for it)."""
        v = self.best_trial.value
        assert v is not None
        return v

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """The Pareto front: COMPLETE trials no other trial dominates."""
        self.history.refresh()
        return [t.copy() for t in self.history.pareto_front]

    def trials_dataframe(
        self,
        states: Iterable[TrialState | str] | None = None,
        *,
        attrs: Sequence[str] | None = None,
        multi_index: bool = False,
    ) -> pd.DataFrame:
        """One row per trial: number, state, values, times, ``params_*``,
        ``user_attrs_*`` (and ``fail_reason``).  Needs pandas (``pip install
        'hypersearch[pandas]'``).

        Args:
            states: Only trials in these states (default: all).
            attrs: Which groups of columns, named as in Optuna: ``"number"``,
                ``"value"``/``"values"``, ``"datetime_start"``, ``"datetime_complete"``,
                ``"duration"`` (a ``Timedelta``; ``duration_s`` holds seconds),
                ``"params"``, ``"user_attrs"``, ``"system_attrs"``,
                ``"intermediate_values"``, ``"state"`` (default: all of these but
                the system attributes and intermediate values).
            multi_index: Columns as ``(group, key)`` pairs, e.g. ``("params", "lr")``,
                instead of ``params_lr``.
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "trials_dataframe needs pandas: pip install 'hypersearch[pandas]'"
            ) from None
        if states is not None and not isinstance(states, (str, TrialState)):
            states = list(states)
            if states and all(isinstance(x, str) and x in _DF_ATTRS for x in states):
                raise TypeError(
                    f"trials_dataframe's first argument is the states to keep; {states} are column "
                    "groups: pass them as attrs=(...)"
                )
        trials = self.get_trials(states, deepcopy=False)
        if attrs is None and not multi_index:
            df = pd.DataFrame(trials_to_records(trials, self.directions))
            if "duration_s" in df:
                df.insert(list(df.columns).index("duration_s"), "duration", pd.to_timedelta(df["duration_s"], unit="s"))
            return df
        groups = _DF_DEFAULT if attrs is None else tuple(attrs)
        unknown = [a for a in groups if a not in _DF_ATTRS]
        if unknown:
            raise ValueError(f"unknown attrs {unknown}; known: {sorted(_DF_ATTRS)}")
        rows = []
        for t in trials:
            row: dict[tuple[str, str], Any] = {}
            for group in groups:
                row.update(_df_columns(t, group, len(self.directions)))
            rows.append(row)
        df = pd.DataFrame(rows)
        if multi_index:
            df.columns = pd.MultiIndex.from_tuples(list(df.columns)) if len(df.columns) else df.columns
        else:
            df.columns = [g if not k else f"{g}_{k}" for g, k in df.columns]
        return df

    # -- ask / tell ------------------------------------------------------------------------
    def ask(self, fixed_distributions: Mapping[str, BaseDistribution] | None = None) -> Trial:
        """Start a new trial (or claim an enqueued one) and return it.

        ``fixed_distributions`` are suggested at once, so a caller driving its own
        loop can read ``trial.params`` immediately.
        """
        self._listen()
        after, numbers = self.history.watermark()
        frozen, fresh = self._storage.start_trial_and_read(
            self._study_id,
            waiting_only=getattr(self.sampler, "waiting_only", False),
            after_number=after,
            numbers=numbers,
        )
        self.history.ingest(fresh)
        if frozen is None:
            raise SearchSpaceExhausted(f"{type(self.sampler).__name__} has no configuration left")
        self.history.ingest([frozen])
        trial = Trial(self, frozen)
        self._live[trial.number] = trial
        if not self._optimizing:  # optimize runs its own heartbeat
            self._keep_beating()
        # Who ran the trial (host:pid:thread), for the timeline plot and for failure
        # reports; written with the trial's first write, so it costs no round trip.
        trial._system_attrs[WORKER_ATTR] = _worker_label()
        trial._system_attrs[WORKER_NS_ATTR] = _pid_namespace()
        try:
            if self._max_retries and "max_retries" not in trial._system_attrs:
                # recorded with the trial, so that whichever process finds it orphaned
                # (see _fail_stale_trials) knows to queue it again
                trial._system_attrs["max_retries"] = self._max_retries
                trial._dirty = True
            trial._start_sampling()
            for name, dist in (fixed_distributions or {}).items():
                trial.suggest(name, dist)
            if trial._dirty:
                # What the sampler recorded about its proposal (e.g. the GP's pending
                # point) becomes visible to workers in other processes right away.
                trial.flush()
        except BaseException as e:
            self._record_failure(trial, e)
            raise
        return trial

    def resume_trial(self, number: int) -> Trial | None:
        """Take up the PAUSED trial ``number`` again (it becomes RUNNING) and return
        it, or ``None`` if another worker resumed it first or it is not paused.

        Its parameters are those it was paused with; no sampler is asked.  Used
        by the tune loop when a promotion scheduler promotes a paused trial.
        """
        # Who runs it now, set with the claim itself: the process that paused it, once
        # gone, is never taken for this trial's runner (see _fail_dead_trials).
        # The claim token tells this call's own resume (replayed after a dropped
        # connection) from another thread's of the same process.
        frozen = self._storage.resume_trial(
            self._study_id, number,
            {WORKER_ATTR: _worker_label(), WORKER_NS_ATTR: _pid_namespace(), "claim": uuid.uuid4().hex[:12]},
        )
        if frozen is None:
            self.history.reread([number])  # resumed or finished elsewhere: see its state
            return None
        frozen.system_attrs["resumed"] = int(frozen.system_attrs.get("resumed", 0)) + 1
        self.history.ingest([frozen])
        trial = Trial(self, frozen)
        trial._dirty = True  # the resume count is written with the next report
        self._live[trial.number] = trial
        return trial

    def _unresume(self, t: Trial) -> None:
        """Undo :meth:`resume_trial`: the trial is PAUSED again, unchanged."""
        t._system_attrs["resumed"] = int(t._system_attrs.get("resumed", 1)) - 1
        self._pause(t)

    def _pause(self, t: Trial) -> FrozenTrial:
        """Record ``t`` as PAUSED (a promotion scheduler stopped it at a rung)."""
        t._check_active()
        t._write(full=True, state=TrialState.PAUSED)
        t._finished = True  # this worker is done with it; a resume makes a new Trial
        self._live.pop(t.number, None)
        frozen = t._snapshot(TrialState.PAUSED)
        self.history.ingest([frozen])
        return frozen.copy()

    def tell(
        self,
        trial: Trial | int,
        values: float | Sequence[float] | None = None,
        state: TrialState | str | None = None,
        *,
        skip_if_finished: bool = False,
    ) -> FrozenTrial:
        """Finish a trial with its objective value(s) or another final state.

        Invalid values (NaN, inf, wrong type or count) turn the trial into a FAIL
        trial with the reason recorded and a warning; telling a trial that has
        already finished raises :class:`~hypersearch.exceptions.TrialStateError`,
        or, with ``skip_if_finished``, returns it as it is (a loop that may tell a
        trial twice, e.g. after a retry of its own).  A PRUNED trial's value is its
        last report; ``values`` given with it are ignored with a warning.
        """
        st = TrialState.COMPLETE if state is None else TrialState.parse(state)
        if not st.is_finished():
            raise ValueError(f"tell needs a final state (COMPLETE, PRUNED or FAIL), got {st.name}")
        if skip_if_finished:
            number = trial.number if isinstance(trial, Trial) else trial
            if isinstance(number, int) and not isinstance(number, bool):
                try:
                    stored = self._storage.get_trial(self._study_id, number)
                except KeyError:
                    stored = None
                if stored is not None and stored.state.is_finished():
                    return stored
        t = self._resolve(trial)
        if st == TrialState.PRUNED and values is not None:
            warnings.warn(
                f"trial {t.number}: values told with state PRUNED are ignored; a pruned trial's "
                "value is its last report", UserWarning, stacklevel=2,
            )
        vals: list[float] | None = None
        if st == TrialState.COMPLETE:
            vals, reason = self._check_values(values)
            if vals is None:
                st = TrialState.FAIL
                t._system_attrs["fail_reason"] = reason
                _log.warning("trial %d failed: %s", t.number, reason)
        elif st == TrialState.PRUNED:
            if not self.is_multi_objective and t._intermediate:
                last = t._intermediate[max(t._intermediate)]
                vals = [last] if math.isfinite(last) else None
        return self._finish(t, st, vals)

    def _resolve(self, trial: Trial | int) -> Trial:
        if isinstance(trial, Trial):
            if trial.study._study_id != self._study_id or trial.study._storage is not self._storage:
                raise ValueError(f"trial {trial.number} belongs to another study")
            return trial
        if isinstance(trial, bool) or not isinstance(trial, int):
            raise TypeError(f"tell takes a Trial or a trial number, got {type(trial).__name__}")
        try:
            frozen = self._storage.get_trial(self._study_id, trial)
        except KeyError:
            raise ValueError(f"study {self.study_name!r} has no trial number {trial}") from None
        if frozen.state != TrialState.RUNNING:
            raise TrialStateError(
                f"trial {trial} is {frozen.state.name}; only a RUNNING trial can be told"
            )
        return Trial(self, frozen)

    def _check_values(self, values: Any) -> tuple[list[float] | None, str]:
        n = len(self.directions)
        if values is None:
            return None, "the objective returned None; return a number (or one per objective)"
        if isinstance(values, (str, bytes)):
            return None, f"the objective returned a {type(values).__name__} ({values!r}), not a number"
        if isinstance(values, Mapping):
            return None, (
                f"the objective returned a dict ({sorted(values)!r}); return the value"
                f"{'s in the order of the directions, e.g. (acc, size)' if n > 1 else ''} instead"
            )
        if isinstance(values, (list, tuple)):
            seq = list(values)
        elif getattr(values, "ndim", 0) > 0:  # numpy / torch arrays
            seq = [v for v in values.reshape(-1)]
        else:
            seq = [values]
        if len(seq) != n:
            return None, (
                f"the objective returned {len(seq)} value(s) but the study has {n} objective(s)"
            )
        out = []
        for i, v in enumerate(seq):
            if isinstance(v, bool):
                return None, f"value {i} is a bool ({v!r}), not a number"
            try:
                f = float(v)
            except (TypeError, ValueError):
                return None, f"value {i} has type {type(v).__name__} ({v!r}), not a number"
            if math.isnan(f):
                return None, f"value {i} is NaN"
            if math.isinf(f):
                return None, f"value {i} is infinite ({f})"
            out.append(f)
        return out, ""

    def _finish(
        self, t: Trial, state: TrialState, values: list[float] | None, retry: dict[str, Any] | None = None
    ) -> FrozenTrial:
        if not t._finished:
            try:
                self.sampler.before_finish(self, t, state, values)
            except Exception as e:  # a sampler's bookkeeping must not lose the result
                _log.warning("trial %d: %s.before_finish failed: %s", t.number, type(self.sampler).__name__, e)
        try:
            t._finish(state, values, retry)
        except BaseException:
            # The finishing write failed for good (e.g. a full disk, an outage longer
            # than the storage's retry time): the trial stays RUNNING in the storage.
            # Stop heartbeating it, so that it is reaped like a lost worker's trial
            # and, with retries, run again, instead of staying RUNNING forever.
            self._live.pop(t.number, None)
            raise
        self._live.pop(t.number, None)
        unused = sorted(n for n in t._fixed if n not in t._distributions)
        if unused and state == TrialState.COMPLETE:
            _log.warning(
                "trial %d: enqueued parameter(s) %s were never suggested by the objective (a "
                "misspelt name, or a branch not taken); they are kept in its params but had no "
                "effect", t.number, unused,
            )
        frozen = t._snapshot(state, values)
        frozen.datetime_complete = t.datetime_complete
        self.history.ingest([frozen])
        self.sampler.after_trial(self, frozen)
        if state != TrialState.FAIL and _log.isEnabledFor(logging.INFO):  # failures warn already
            _log.info("%s", self._finished_line(frozen))
        return frozen.copy()

    def _finished_line(self, t: FrozenTrial) -> str:
        """The progress line of a finished trial (``hs.logging.set_verbosity(INFO)``)."""
        what = f"values {t.values}" if t.values and len(t.values) > 1 else (
            f"value {t.values[0]!r}" if t.values else t.state.name.lower()
        )
        line = f"trial {t.number} finished with {what} and parameters {t.params}"
        if t.state == TrialState.PRUNED:
            line = f"trial {t.number} pruned at step {t.last_step} ({what}); parameters {t.params}"
        if not self.is_multi_objective:
            best = self.history.best_trial
            if best is not None:
                line += f"; best is trial {best.number} with value {best.values[0]!r}"  # type: ignore[index]
        else:
            line += f"; the Pareto front holds {len(self.history.pareto_front)} trials"
        return line

    def _record_failure(
        self, t: Trial, exc: BaseException, retries: int | None = None
    ) -> FrozenTrial | None:
        """Record ``t`` as FAIL with the reason; with ``retries`` (its worker died),
        queue its retry while it has retries left, in the same storage write, so
        that no crash in between can lose the retry."""
        if t._finished:
            return None
        if isinstance(exc, KeyboardInterrupt):
            reason = "interrupted (KeyboardInterrupt)"
        else:
            reason = f"{type(exc).__name__}: {exc}"
        t._system_attrs["fail_reason"] = reason
        retry = retry_attrs(t._snapshot(), retries) if retries is not None else None
        frozen = self._finish(t, TrialState.FAIL, None, retry)
        if retry is not None:
            _log.warning(
                "trial %d is queued again as trial %s (retry %d of %d)",
                t.number, frozen.system_attrs.get("requeued_as"), retry["retry"], retry["max_retries"],
            )
        return frozen

    # -- held-out evaluation ------------------------------------------------------------
    def evaluate_best(self, test_fn: Callable[[dict[str, Any]], float], *, trial: int | None = None) -> float:
        """Evaluate the chosen configuration once on a test split the search never saw.

        ``test_fn(params) -> value`` trains (or loads) the chosen configuration and
        scores it on held-out data.  The result is recorded in the study apart from
        the validation values (:attr:`test_evaluations`), with the trial it belongs
        to; evaluating again warns, since every look at the test set makes it less
        of one.

        Args:
            test_fn: Scores a configuration on the test split.
            trial: Trial number to evaluate (default: the best trial; required for
                multi-objective studies, which have no single best).
        """
        if trial is None:
            chosen = self.best_trial
        else:
            self.history.refresh()
            chosen = self.history.get(trial)
            if chosen is None:
                raise ValueError(f"study {self.study_name!r} has no trial number {trial}")
        earlier = self.test_evaluations  # read again: another handle may have evaluated
        if earlier:
            warnings.warn(
                f"study {self.study_name!r} was already evaluated on the test set {len(earlier)} time(s); "
                "choosing between configurations by their test values overfits the test set",
                stacklevel=2,
            )
        value = float(test_fn(dict(chosen.params)))
        # read again after test_fn, which may have trained for hours: another handle's
        # evaluation recorded meanwhile is kept
        earlier = self.test_evaluations
        earlier.append({
            "trial": chosen.number,
            "value": value,
            "validation_values": chosen.values,
            "datetime": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        })
        self._set_system_attr("test_evaluations", earlier)
        return value

    @property
    def test_evaluations(self) -> list[dict[str, Any]]:
        """Held-out evaluations recorded by :meth:`evaluate_best`, oldest first."""
        self._system_attrs.update(self._storage.get_study_attrs(self._study_id)[1])
        return copy.deepcopy(list(self._system_attrs.get("test_evaluations", [])))

    # -- failures of workers ----------------------------------------------------------
    def _keep_beating(self) -> None:
        """Heartbeat this process's running trials while there are any, also when
        they are driven by ask/tell outside ``optimize`` (otherwise workers elsewhere
        would fail them as lost after their grace time).  One daemon thread per
        study, ended when no trial is left running here; a beat every
        ``ASK_HEARTBEAT_INTERVAL`` seconds (optimize's own heartbeat beats too)."""
        with self._beat_lock:
            if self._beat_thread is not None:
                return

            def loop() -> None:
                while True:
                    time.sleep(ASK_HEARTBEAT_INTERVAL)
                    with self._beat_lock:
                        if not self._live:
                            self._beat_thread = None
                            return
                    try:
                        self._beat()
                    except Exception as e:  # a storage hiccup must not kill the thread
                        _log.warning("heartbeat failed: %s", e)

            self._beat_thread = threading.Thread(target=loop, name="hypersearch-ask-heartbeat", daemon=True)
            self._beat_thread.start()

    def _beat(self) -> None:
        live = list(self._live.values())
        ids = [t._trial_id for t in live]
        if ids:
            self._storage.heartbeat(ids)
        for t in live:  # parameters of trials that have not written yet (once each)
            try:
                t._store_params_if_new()
            except TrialStateError:
                pass  # finished (or taken over) meanwhile

    def _reap(self, grace: float | None, retries: int) -> None:
        """Take up the trials of lost workers before a run: beat for this process's
        own trials first (they must not look stale to its own check), then fail,
        and queue again with ``retries``, those whose process on this machine is
        gone (:meth:`_fail_dead_trials`) and those whose heartbeat is older than
        ``grace`` seconds (:meth:`_fail_stale_trials`)."""
        self._beat()
        self._fail_dead_trials(retries)
        self._fail_stale_trials(grace, retries)

    def _fail_stale_trials(self, grace: float | None, retries: int | None = None) -> list[FrozenTrial]:
        """Fail RUNNING trials (of any process) whose heartbeat is older than ``grace``
        seconds, and queue them again where they have retries left (``retries``,
        default: the running optimize call's)."""
        if grace is None:
            return []
        cutoff = _dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(seconds=grace)
        # The failures and their retries are written in one transaction, so a reaper
        # killed half-way leaves no failed trial without its retry.  A worker killed
        # before its trial's first write never recorded the trial's retries: this
        # process's own setting applies then.
        stale = [
            t
            for t in self._storage.fail_stale_trials(
                self._study_id, cutoff, retries=self._max_retries if retries is None else retries
            )
            if t.number not in self._live
        ]
        if stale:
            self.history.ingest(stale)
            for t in stale:
                _log.warning("trial %d failed: %s", t.number, t.system_attrs.get("fail_reason"))
                if "requeued_as" in t.system_attrs:
                    _log.warning("trial %d is queued again as trial %d", t.number, t.system_attrs["requeued_as"])
        return stale

    def _fail_dead_trials(self, retries: int) -> list[FrozenTrial]:
        """Fail (and queue again, with ``retries``) the RUNNING trials whose worker
        process ran on this machine and is gone (killed, crashed): no need to wait
        out the heartbeat grace for them.  "This machine" is the same host name, boot
        and pid namespace (another container's pids are not ours to check).  Trials
        of other machines, and of processes still alive (or whose pid was reused),
        are left to the heartbeat."""
        host, me, ns = socket.gethostname(), os.getpid(), _pid_namespace()
        if not ns:
            return []  # no way to tell this machine's processes from another's of the same name
        dead: list[int] = []
        for t in self._storage.get_trials(self._study_id, states=[TrialState.RUNNING]):
            label = t.system_attrs.get(WORKER_ATTR)
            parts = label.split(":") if isinstance(label, str) else []
            if (
                len(parts) < 2 or parts[0] != host or not parts[1].isdigit() or t.number in self._live
                or t.system_attrs.get(WORKER_NS_ATTR) != ns  # another container / boot: its pids are not ours
            ):
                continue
            pid = int(parts[1])
            if pid != me and not _pid_alive(pid):
                dead.append(t.number)
        if not dead:
            return []
        out = self._storage.fail_stale_trials(
            self._study_id, _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(days=1), retries, numbers=dead,
            reason=f"worker lost: its process on {host} is gone (killed or crashed; see the 'worker' attribute)",
        )
        if out:
            self.history.ingest(out)
            for t in out:
                _log.warning("trial %d failed: %s", t.number, t.system_attrs.get("fail_reason"))
        return out

    # -- adding trials from elsewhere ---------------------------------------------------
    def enqueue_trial(
        self,
        params: Mapping[str, Any],
        user_attrs: Mapping[str, Any] | None = None,
        skip_if_exists: bool = False,
    ) -> int | None:
        """Queue a configuration to be evaluated before the sampler's own proposals
        (warm start).  Parameters the objective suggests but ``params`` lacks are
        sampled as usual.  Returns the trial number (``None`` when skipped)."""
        params = _check_params(params)
        if skip_if_exists:
            from hypersearch.space._inverse import _same

            self.history.refresh()
            for t in self.history.all_trials():
                if t.params.keys() == params.keys() and all(_same(t.params[k], v) for k, v in params.items()):
                    return None  # (True and 1 are different choices)
        attrs = {k: check_json_value(f"user attribute {k!r}", v) for k, v in (user_attrs or {}).items()}
        return self._storage.enqueue_trial(self._study_id, params, {}, attrs, None)

    def add_trial(
        self,
        params: Mapping[str, Any] | FrozenTrial,
        values: float | Sequence[float] | None = None,
        *,
        distributions: Mapping[str, BaseDistribution] | None = None,
        state: TrialState | str = TrialState.COMPLETE,
        intermediate_values: Mapping[int, float] | None = None,
        user_attrs: Mapping[str, Any] | None = None,
    ) -> FrozenTrial:
        """Record a trial evaluated outside this study (e.g. earlier experiments).

        ``distributions`` default to a one-choice categorical per parameter,
        which model-based samplers treat as known points.
        """
        self._listen()  # the sampler sees it, as it sees every finished trial
        system_attrs: dict[str, Any] = {}
        start = complete = None
        if isinstance(params, FrozenTrial):
            ft = params
            st = ft.state
            system_attrs = dict(ft.system_attrs)  # e.g. its constraint values
            start, complete = ft.datetime_start, ft.datetime_complete  # when it really ran
            params, values = ft.params, ft.values
            distributions = distributions or ft.distributions
            intermediate_values = intermediate_values or ft.intermediate_values
            user_attrs = user_attrs or ft.user_attrs
        else:
            st = TrialState.parse(state)
        if st in (TrialState.RUNNING, TrialState.WAITING):
            raise ValueError("add_trial records finished trials; use enqueue_trial to queue one")
        params = _check_params(params)
        dists = dict(distributions or {})
        for name, v in params.items():
            d = dists.get(name)
            if d is None:
                dists[name] = CategoricalDistribution([v], name=name)
            elif not d.contains(v):
                raise ValueError(f"parameter {name!r}: value {v!r} is not in {d!r}")
            else:
                params[name] = d.validate_value(v)
        vals = None
        if st == TrialState.COMPLETE:
            vals, reason = self._check_values(values)
            if vals is None:
                raise ValueError(f"add_trial: {reason}")
        elif values is not None:
            vals = [float(v) for v in (values if isinstance(values, Sequence) else [values])]
        user_attrs = {k: check_json_value(f"user attribute {k!r}", v) for k, v in (user_attrs or {}).items()}
        frozen = FrozenTrial(
            number=-1,
            state=st,
            values=vals,
            params=params,
            distributions=dists,
            intermediate_values={int(k): float(v) for k, v in (intermediate_values or {}).items()},
            user_attrs=dict(user_attrs or {}),
            system_attrs=system_attrs,
            datetime_start=start,
            datetime_complete=complete,
        )
        try:
            frozen.system_attrs.update(self.sampler.added_trial_attrs(self, frozen))
        except Exception as e:  # a sampler's bookkeeping must not lose the trial
            _log.warning("add_trial: %s.added_trial_attrs failed: %s", type(self.sampler).__name__, e)
        stored = self._storage.add_trial(self._study_id, frozen)
        self.history.refresh()
        return stored

    def add_trials(self, trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
        """Record several finished trials, e.g. another study's ``trials`` (each as
        :meth:`add_trial` records it, so a bad one raises before it is stored)."""
        return [self.add_trial(t) for t in trials]

    # -- the optimization loop --------------------------------------------------------------
    def optimize(
        self,
        objective: ObjectiveFn,
        n_trials: int | None = None,
        timeout: float | None = None,
        n_jobs: int = 1,
        catch: Iterable[type[Exception]] | type[Exception] = (),
        callbacks: Iterable[Callable[[Study, FrozenTrial], None]] = (),
        show_progress_bar: bool | None = None,
        *,
        executor: str | Any | None = None,
        resources_per_trial: Mapping[str, float] | None = None,
        trial_timeout: float | None = None,
        retries: int = 0,
        heartbeat_interval: float | None = 30.0,
        heartbeat_grace: float | None = None,
    ) -> None:
        """Run trials until ``n_trials`` trials ran, ``timeout`` seconds passed,
        :meth:`stop` was called, or a finite sampler ran out of configurations.

        Args:
            objective: ``objective(trial) -> value`` (a number, or one per objective).
            n_trials: Number of trials to run in this call (``None``: no limit).
            timeout: Seconds after which no new trial starts.
            n_jobs: Trials run at once (``-1``: one per CPU).  With more than one,
                objectives run in worker processes by default (see ``executor``).
            catch: Exception types that fail the trial but let the study go on;
                any other exception fails the trial and is re-raised.
            callbacks: ``fn(study, frozen_trial)`` called after each trial.
            show_progress_bar: ``None`` shows a bar only on an interactive terminal.
            executor: Where objectives run: ``"process"`` (long-lived worker
                processes; the default when ``n_jobs > 1``), ``"thread"`` (threads of
                this process, for objectives that release the GIL), ``"ray"``, or an
                executor object (:mod:`hypersearch.execution`).  With ``n_jobs=1``
                and no executor the objective runs in this thread.
            resources_per_trial: ``{"cpu": n, "gpu": k}`` (``k`` may be a fraction):
                at most as many trials run as the machine holds, and with worker
                processes each sees only its own GPUs (``CUDA_VISIBLE_DEVICES``).
            trial_timeout: Seconds after which a trial's worker process is stopped
                and the trial fails.  It needs worker processes, so with it even
                ``n_jobs=1`` runs the objective in one (what the objective changes
                in memory then stays there, and ``trial.study`` is unavailable).
            retries: Times a trial whose worker died (killed, out of memory, lost
                heartbeat) is queued again with the same parameters.
            heartbeat_interval: Seconds between heartbeats of this process's running
                trials (``None``: none).  Trials of any process whose heartbeat is
                older than ``heartbeat_grace`` (default 4 intervals) are failed
                (and retried), so a killed worker leaves no trial RUNNING forever.
        """
        from hypersearch.study._optimize import run_optimize

        run_optimize(
            self,
            objective,
            n_trials=n_trials,
            timeout=timeout,
            n_jobs=n_jobs,
            catch=catch,
            callbacks=callbacks,
            show_progress_bar=show_progress_bar,
            executor=executor,
            resources_per_trial=resources_per_trial,
            trial_timeout=trial_timeout,
            retries=retries,
            heartbeat_interval=heartbeat_interval,
            heartbeat_grace=heartbeat_grace,
        )

    def stop(self) -> None:
        """Ask a running :meth:`optimize` to start no new trial (running ones finish)."""
        self._stop_requested = True

    def __repr__(self) -> str:
        return f"Study(name={self.study_name!r}, directions={[d.name for d in self.directions]})"


def _finite_everywhere(v: Any) -> bool:
    """No NaN or infinity in ``v``, nested lists and dicts included."""
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, list):
        return all(_finite_everywhere(x) for x in v)
    if isinstance(v, dict):
        return all(_finite_everywhere(x) for x in v.values())
    return True


def _check_params(params: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict, got {type(params).__name__}")
    out = {}
    for k, v in params.items():
        if not isinstance(k, str) or not k:
            raise ValueError(f"parameter names must be non-empty strings, got {k!r}")
        v = check_json_value(f"parameter {k!r}", v)  # numpy scalars as Python numbers
        if not _finite_everywhere(v):
            # no float distribution holds NaN or +-inf: the trial could never run
            raise ValueError(f"parameter {k!r} is {v!r}; a parameter value must be finite")
        out[k] = v
    return out


_DF_ATTRS = frozenset({
    "number", "value", "values", "datetime_start", "datetime_complete", "duration", "params",
    "user_attrs", "system_attrs", "intermediate_values", "state",
})
_DF_DEFAULT = ("number", "value", "datetime_start", "datetime_complete", "duration", "params", "user_attrs", "state")


def _df_columns(t: FrozenTrial, group: str, n_objectives: int) -> dict[tuple[str, str], Any]:
    """The ``(group, key)`` columns of one trial for :meth:`Study.trials_dataframe`."""
    if group in ("value", "values"):
        if n_objectives == 1:
            return {("value", ""): t.values[0] if t.values else None}
        return {("values", str(i)): t.values[i] if t.values else None for i in range(n_objectives)}
    if group == "duration":
        return {("duration", ""): t.duration}
    if group == "state":
        return {("state", ""): t.state.name}
    if group in ("params", "user_attrs", "system_attrs", "intermediate_values"):
        return {(group, str(k)): v for k, v in getattr(t, group).items()}
    return {(group, ""): getattr(t, group)}


def trials_to_records(trials: Iterable[FrozenTrial], directions: list[StudyDirection]) -> list[dict]:
    """Flat dict per trial (used by the dataframe and the CLI's exports)."""
    rows = []
    multi = len(directions) > 1
    for t in trials:
        r: dict[str, Any] = {"number": t.number, "state": t.state.name}
        if multi:
            for i in range(len(directions)):
                r[f"values_{i}"] = t.values[i] if t.values else None
        else:
            r["value"] = t.values[0] if t.values else None
        r["datetime_start"] = t.datetime_start
        r["datetime_complete"] = t.datetime_complete
        r["duration_s"] = t.duration.total_seconds() if t.duration is not None else None
        for k, v in t.params.items():
            r[f"params_{k}"] = v
        for k, v in t.user_attrs.items():
            r[f"user_attrs_{k}"] = v
        if "constraints" in t.system_attrs:  # why a dominating trial is not on the front
            r["feasible"] = constraints_satisfied(t.system_attrs["constraints"])
        if t.fail_reason:
            r["fail_reason"] = t.fail_reason
        rows.append(r)
    return rows


# -- module-level functions -------------------------------------------------------------------


def _scheduler_or_pruner(scheduler: BaseScheduler | None, pruner: BaseScheduler | None) -> BaseScheduler | None:
    if pruner is None:
        return scheduler
    if scheduler is not None:
        raise ValueError("give either scheduler or pruner (Optuna's name for it), not both")
    return pruner


def _directions(direction, directions) -> list[StudyDirection]:
    if direction is not None and directions is not None:
        raise ValueError("give either direction or directions, not both")
    if directions is None:
        return [StudyDirection.parse("minimize" if direction is None else direction)]
    if isinstance(directions, (str, StudyDirection)) or not isinstance(directions, Sequence):
        raise ValueError("directions must be a list such as ['minimize', 'maximize']")
    if len(directions) == 0:
        raise ValueError("directions is empty")
    return [StudyDirection.parse(d) for d in directions]


def create_study(
    study_name: str | None = None,
    storage: BaseStorage | str | None = None,
    direction: StudyDirection | str | None = None,
    *,
    directions: Sequence[StudyDirection | str] | None = None,
    sampler: BaseSampler | None = None,
    scheduler: BaseScheduler | None = None,
    load_if_exists: bool = False,
    seed: int | None = None,
    warm_start_from: Sequence[Study] = (),
    warm_start_top_k: int = 5,
    pruner: BaseScheduler | None = None,
) -> Study:
    """Create a new study.

    Args:
        study_name: Unique name in the storage (generated when ``None``).
        storage: ``None`` (in memory), a URL such as ``"sqlite:///hs.db"`` or
            ``"postgresql://user@host/db"``, or a storage object.
        direction: ``"minimize"`` (default) or ``"maximize"``.
        directions: One direction per objective, for multi-objective studies.
        sampler: Search strategy (default: :class:`~hypersearch.samplers.AutoSampler`: Gaussian-
            process BO for small flat spaces and budgets, TPE otherwise).
        scheduler: Early-stopping scheduler used by ``trial.should_prune()``.
        load_if_exists: Return the existing study of that name instead of failing.
        seed: Seed of the default sampler: a sequential study with a seed proposes the
            same configurations on every run.
        warm_start_from: Earlier studies of similar tasks: the ``warm_start_top_k``
            best distinct configurations of each are queued as this study's first
            trials (skipped when the study already has trials), so the search
            starts from what worked before; their results on the new task then
            inform the sampler like any other trial.
        warm_start_top_k: Configurations taken from each earlier study.
        pruner: Optuna's name for ``scheduler`` (the same object; give one or the other).
    """
    scheduler = _scheduler_or_pruner(scheduler, pruner)
    dirs = _directions(direction, directions)
    # Everything checked before the study is written, so a bad argument leaves no
    # half-made study behind.
    if sampler is not None and not isinstance(sampler, BaseSampler):
        raise TypeError(f"sampler must be a hypersearch sampler, got {type(sampler).__name__}")
    if scheduler is not None and not isinstance(scheduler, BaseScheduler):
        raise TypeError(f"scheduler must be a hypersearch scheduler, got {type(scheduler).__name__}")
    if isinstance(warm_start_top_k, bool) or not isinstance(warm_start_top_k, int) or warm_start_top_k < 1:
        raise ValueError(f"warm_start_top_k must be a positive integer, got {warm_start_top_k!r}")
    for src in warm_start_from:
        if not isinstance(src, Study):
            raise TypeError(f"warm_start_from takes studies, got {type(src).__name__}")
    st = get_storage(storage)
    name = study_name if study_name is not None else _generate_name()
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"study_name must be a non-empty string, got {study_name!r}")
    check_key("study_name", name)
    created = True
    try:
        info = st.create_study(name, dirs)
    except DuplicatedStudyError:
        created = False
        if not load_if_exists:
            raise DuplicatedStudyError(
                f"a study named {name!r} already exists; pass load_if_exists=True to continue it"
            ) from None
        info = st.get_study(name)
        if info.directions != dirs:
            raise ValueError(
                f"study {name!r} exists with directions {[d.name.lower() for d in info.directions]},"
                f" not {[d.name.lower() for d in dirs]}"
            ) from None
    try:
        study = Study(st, info, sampler=sampler, scheduler=scheduler, seed=seed)
    except Exception:
        # A sampler or scheduler that refuses the study (a single-objective model on
        # several objectives, BOHB without budgets, ...) can only tell once bound to
        # it: the study this call wrote goes again, so a corrected call can create it.
        if created:
            st.delete_study(info.study_id)
        raise
    if warm_start_from:
        _warm_start(study, warm_start_from, warm_start_top_k)
    return study


def _warm_start(study: Study, sources: Sequence[Study], top_k: int) -> None:
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"warm_start_top_k must be a positive integer, got {top_k!r}")
    if study.get_trials(deepcopy=False):
        return  # a continued study: its queue was filled when it was created
    queued: list[dict[str, Any]] = []
    marks: list[str] = []
    transfer: list[dict[str, Any]] = []
    for src in sources:
        if not isinstance(src, Study):
            raise TypeError(f"warm_start_from takes studies, got {type(src).__name__}")
        if len(src.directions) != len(study.directions):
            raise ValueError(
                f"study {src.study_name!r} has {len(src.directions)} objective(s), this one {len(study.directions)}"
            )
        done = [t for t in src.get_trials([TrialState.COMPLETE], deepcopy=False) if t.values]
        if len(src.directions) == 1:
            sign = src.directions[0].sign()
            done.sort(key=lambda t: sign * t.values[0])  # type: ignore[index]
        else:
            done = src.best_trials + [t for t in done if t not in src.best_trials]
        best: list = []  # the source's top_k distinct configurations
        for t in done:
            if len(best) >= top_k:
                break
            if all(t.params != b.params for b in best):
                best.append(t)
        for t in best:
            if t.params not in queued:  # another source already queued it
                queued.append(dict(t.params))
                marks.append(f"{src.study_name}#{t.number}")
        if len(src.directions) == 1:
            transfer.append(_transfer_record(src, done))
    if transfer:
        # The sources' results, for model-based samplers' transfer priors (the GP's
        # meta-learned prior mean); kept in the study so a resumed run has them too.
        # Every worker writes (the same value), so each has it in its own view.
        from hypersearch.samplers.gp._transfer import TRANSFER_ATTR

        study._set_system_attr(TRANSFER_ATTR, transfer)
    # Workers opening the new study at once: only the first to claim it queues the
    # sources' configurations (each once, not once per worker).
    token = uuid.uuid4().hex
    if study._setdefault_system_attr("warm_start:by", token) != token:
        return
    for params, mark in zip(queued, marks, strict=True):
        study.enqueue_trial(params, user_attrs={"warm_start_from": mark})


def _transfer_record(src: Study, done: list[FrozenTrial], limit: int = 1000) -> dict[str, Any]:
    """A source study's finished trials (values signed for minimisation), at most
    ``limit`` of them, spread over the study."""
    done = sorted(done, key=lambda t: t.number)
    if len(done) > limit:
        step = len(done) / limit
        done = [done[int(i * step)] for i in range(limit)]
    sign = src.directions[0].sign()
    return {
        "name": src.study_name,
        "params": [dict(t.params) for t in done],
        "values": [sign * float(t.values[0]) for t in done],  # type: ignore[index]
    }


def load_study(
    study_name: str,
    storage: BaseStorage | str,
    *,
    sampler: BaseSampler | None = None,
    scheduler: BaseScheduler | None = None,
    seed: int | None = None,
    pruner: BaseScheduler | None = None,
) -> Study:
    """Open an existing study (``StudyNotFoundError`` if there is none).  ``pruner``
    is Optuna's name for ``scheduler``."""
    scheduler = _scheduler_or_pruner(scheduler, pruner)
    check_key("study_name", study_name)
    st = get_storage(storage)
    info = st.get_study(study_name)
    return Study(st, info, sampler=sampler, scheduler=scheduler, seed=seed)


def copy_study(
    *,
    from_study_name: str,
    from_storage: BaseStorage | str,
    to_storage: BaseStorage | str,
    to_study_name: str | None = None,
) -> Study:
    """Copy a study, its attributes and every trial to another storage (e.g. from a
    local SQLite file to the team's PostgreSQL), as Optuna's ``copy_study``.

    Trials keep their numbers, states, parameters, values, reports, attributes and
    times, so the copy resumes where the original stands (its sampler seed and
    scheduler state live in the study's system attributes, which are copied
    too).  A trial RUNNING in the original is recorded as FAIL in the copy (no
    worker runs it there).  A copy that fails part way is removed.
    """
    src = load_study(from_study_name, from_storage, sampler=_read_only_sampler())
    name = from_study_name if to_study_name is None else to_study_name
    check_key("study_name", name)
    dst = get_storage(to_storage)
    info = dst.create_study(name, src.directions)
    try:
        user, system = src._storage.get_study_attrs(src._study_id)
        if user or system:
            dst.set_study_attrs(info.study_id, user=user, system=system)
        for t in src.get_trials(deepcopy=True):
            if t.state == TrialState.RUNNING:
                t.state = TrialState.FAIL
                t.system_attrs["fail_reason"] = "running when the study was copied"
                t.datetime_complete = t.datetime_complete or _dt.datetime.now(_dt.timezone.utc)
            dst.add_trial(info.study_id, t)
    except BaseException:
        dst.delete_study(info.study_id)
        raise
    return load_study(name, dst)


def _read_only_sampler() -> BaseSampler:
    from hypersearch.samplers.base import ReadOnlySampler

    return ReadOnlySampler()


def delete_study(study_name: str, storage: BaseStorage | str) -> None:
    """Delete a study and all its trials."""
    check_key("study_name", study_name)
    st = get_storage(storage)
    st.delete_study(st.get_study(study_name).study_id)


def list_studies(storage: BaseStorage | str) -> list[StudySummary]:
    """Summaries (name, directions, trial counts, best value) of all studies."""
    return get_storage(storage).list_studies()


def _generate_name() -> str:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"study-{stamp}-{uuid.uuid4().hex[:6]}"
