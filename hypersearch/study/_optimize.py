"""The ``study.optimize`` loop: ask, run the objective (here or on an executor's
slots), tell; plus heartbeats, retries of trials whose worker died, and Ctrl-C."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import TYPE_CHECKING, Any

from hypersearch.exceptions import SearchSpaceExhausted, TrialPaused, TrialPruned, TrialStateError
from hypersearch.execution._remote import caught
from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial
    from hypersearch.trial._trial import Trial

_log = logging.getLogger("hypersearch")

#: System attribute of a trial paused because its run was interrupted (Ctrl-C):
#: the tune loop resumes such trials before anything else.
INTERRUPTED_ATTR = "interrupted"


class _Budget:
    """Shared stop conditions of one optimize call (thread-safe)."""

    def __init__(self, study: Study, n_trials: int | None, timeout: float | None) -> None:
        self.study = study
        self.n_trials = n_trials
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.started = 0
        self.lock = threading.Lock()
        self.halt = False
        self.active = 0  # trials running in this optimize call

    def expired(self) -> bool:
        return self.halt or self.study._stop_requested or (
            self.deadline is not None and time.monotonic() >= self.deadline
        )

    def can_start(self) -> bool:
        return not self.expired() and (self.n_trials is None or self.started < self.n_trials)

    def extend(self) -> None:
        """One more trial: a retry of a trial whose worker died does not use up the
        budget of the configurations asked for."""
        with self.lock:
            if self.n_trials is not None:
                self.n_trials += 1

    def take(self) -> bool:
        with self.lock:
            if self.halt or self.study._stop_requested:
                return False
            if self.n_trials is not None and self.started >= self.n_trials:
                return False
            if self.deadline is not None and time.monotonic() >= self.deadline:
                return False
            self.started += 1
            return True


def check_run_options(
    *,
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
    catch: Any,
    executor: Any = None,
    resources_per_trial: Mapping[str, float] | None = None,
    trial_timeout: float | None = None,
    retries: int = 0,
    heartbeat_interval: float | None = None,
    heartbeat_grace: float | None = None,
    labels: Mapping[str, str] | None = None,
) -> tuple[int, tuple[type[BaseException], ...], Mapping[str, float] | None]:
    """Validate the options of an optimize / tune run before anything is written
    (a bad option must not leave a half-started study behind); returns the
    normalised ``n_jobs``, ``catch`` and ``resources_per_trial``.  ``labels``
    names options as the caller's users know them (``hs.tune``'s
    ``max_concurrent`` is ``n_jobs`` here)."""
    name = {"timeout": "timeout", "n_jobs": "n_jobs", **(labels or {})}
    from hypersearch.execution import check_executor
    from hypersearch.execution.resources import check_resources

    if n_trials is not None:
        if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0:
            raise ValueError(f"n_trials must be a non-negative integer or None, got {n_trials!r}")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"{name['timeout']} must be a positive number of seconds or None, got {timeout!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"{name['n_jobs']} must be a positive integer or -1, got {n_jobs!r}")
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if isinstance(catch, type):
        catch = (catch,)
    if not isinstance(catch, Iterable) or isinstance(catch, (str, bytes)):
        raise TypeError(f"catch must be an exception class or a tuple of them, got {catch!r}")
    catch_t = tuple(catch)
    for c in catch_t:
        if not (isinstance(c, type) and issubclass(c, BaseException)):
            raise TypeError(f"catch must hold exception classes, got {c!r}")
    resources = check_resources(resources_per_trial) or None
    check_executor(executor)
    if trial_timeout is not None and (
        isinstance(trial_timeout, bool) or not isinstance(trial_timeout, (int, float)) or not trial_timeout > 0
    ):
        raise ValueError(f"trial_timeout must be a positive number of seconds or None, got {trial_timeout!r}")
    if trial_timeout is not None:
        from hypersearch.execution.thread import ThreadExecutor

        if executor == "thread" or isinstance(executor, ThreadExecutor):
            raise ValueError(
                "trial_timeout needs worker processes (a thread cannot be stopped): use "
                "executor='process' or drop trial_timeout"
            )
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a non-negative integer, got {retries!r}")
    for name, v in (("heartbeat_interval", heartbeat_interval), ("heartbeat_grace", heartbeat_grace)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0):
            raise ValueError(f"{name} must be a positive number of seconds or None, got {v!r}")
    return n_jobs, catch_t, resources


def run_trial(
    study: Study,
    objective: Callable,
    catch: tuple[type[BaseException], ...],
    trial: Trial | None = None,
    retries: int = 0,
    on_requeue: Callable[[], None] | None = None,
) -> FrozenTrial:
    """Run one trial of ``objective`` (a new one, or ``trial`` when resuming a paused
    one); re-raise exceptions not listed in ``catch``.

    A trial whose worker died or timed out is recorded as FAIL and the study goes
    on; a died worker's trial is queued again while it has ``retries`` left.
    Ctrl-C fails the running trial (or, for pausable ``hs.tune`` trials, pauses it
    so that a resumed run continues it from its checkpoint) and propagates.
    """
    if trial is None:
        trial = study.ask()
    try:
        return _run_trial(study, objective, catch, trial, retries, on_requeue)
    except TrialStateError as exc:
        # A worker that stopped answering (suspended, swapped out, cut off) for longer
        # than the heartbeat grace: another process failed its trial meanwhile and
        # queued the retry.  The trial is no longer this worker's; it goes on.
        stored = study._storage.get_trial(study._study_id, trial.number)
        if stored.state != TrialState.FAIL or trial._finished:
            raise
        # What the objective raised before the failed write still counts: Ctrl-C,
        # SystemExit and errors not in ``catch`` end the run as they would have.
        cause = exc.__context__
        if cause is not None and not isinstance(cause, (TrialStateError, TrialPruned, TrialPaused)) and not caught(
            cause, catch
        ):
            raise cause from None
        _log.warning(
            "trial %d was failed by another worker while this one did not answer (%s); "
            "its result here is dropped", trial.number, stored.fail_reason,
        )
        trial._finished = True
        study._live.pop(trial.number, None)
        study.history.ingest([stored])
        if stored.system_attrs.get("requeued_as") is not None and on_requeue is not None:
            on_requeue()  # its retry takes its place in the budget
        return stored


def _run_trial(
    study: Study,
    objective: Callable,
    catch: tuple[type[BaseException], ...],
    trial: Trial,
    retries: int,
    on_requeue: Callable[[], None] | None,
) -> FrozenTrial:
    from hypersearch.execution.base import TrialTimeout, WorkerDied

    try:
        result = objective(trial)
    except TrialPruned:
        return study.tell(trial, state=TrialState.PRUNED)
    except TrialPaused:
        return study._pause(trial)
    except KeyboardInterrupt:
        if trial._pausable and not trial._finished:
            trial._system_attrs[INTERRUPTED_ATTR] = True
            study._pause(trial)
        else:
            study._record_failure(trial, KeyboardInterrupt())
        raise
    except (WorkerDied, TrialTimeout) as e:
        _log.warning("trial %d failed: %s", trial.number, e)
        frozen = study._record_failure(trial, e, retries if isinstance(e, WorkerDied) else None)
        if frozen is not None and frozen.system_attrs.get("requeued_as") is not None and on_requeue is not None:
            on_requeue()
        return frozen  # type: ignore[return-value]
    except BaseException as e:
        frozen = study._record_failure(trial, e)
        if getattr(e, "fixed", False):  # an enqueued/grid configuration is infeasible: skip it
            _log.warning("trial %d skipped: %s", trial.number, e)
            return frozen  # type: ignore[return-value]
        if caught(e, catch):
            _log.warning("trial %d failed with %s: %s (caught; continuing)", trial.number, type(e).__name__, e)
            return frozen  # type: ignore[return-value]
        raise
    if trial._finished:  # the objective told its own trial (tell ingested it)
        return study.history.get(trial.number)  # type: ignore[return-value]
    return study.tell(trial, result)


class _Interrupted:
    """Finds PAUSED trials whose run was interrupted (resumed before any other).

    Follows the history's changes (:meth:`TrialHistory.changed_since`) instead of
    scanning every active trial before each trial a worker starts: a promotion
    run holds many PAUSED trials, and the scan made the cost per trial grow with
    the run.  The first call reads every unfinished trial once (those left
    interrupted by an earlier process).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._change = 0
        self._numbers: set[int] = set()

    def __call__(self, study: Study) -> int | None:
        with self._lock:
            self._change, changed = study.history.changed_since(self._change)
            for t in changed:
                if t.state == TrialState.PAUSED and t.system_attrs.get(INTERRUPTED_ATTR):
                    self._numbers.add(t.number)
                else:
                    self._numbers.discard(t.number)
            for n in sorted(self._numbers):
                t = study.history.get(n)
                if t is not None and t.state == TrialState.PAUSED and t.system_attrs.get(INTERRUPTED_ATTR):
                    return n
                self._numbers.discard(n)  # resumed (or finished) since
            return None


def heartbeat_grace_of(interval: float | None, grace: float | None) -> float | None:
    """Seconds without a heartbeat after which a trial's worker counts as lost:
    ``grace``, by default four heartbeat intervals (``None``: no heartbeats)."""
    return grace if grace is not None else (None if interval is None else 4.0 * interval)


class _Heartbeat:
    """Beats for this process's running trials and fails other workers' trials whose
    heartbeat stopped (a killed worker, a lost machine), re-queueing those with
    retries left.  One thread per optimize call; one storage write per interval."""

    def __init__(self, study: Study, interval: float | None, grace: float | None) -> None:
        self.study = study
        self.interval = interval
        self.grace = heartbeat_grace_of(interval, grace)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval is None:
            return
        self.study._reap(self.grace, self.study._max_retries)
        self._thread = threading.Thread(target=self._loop, name="hypersearch-heartbeat", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.study._beat()
                self.study._fail_stale_trials(self.grace)
            except Exception as e:  # a storage hiccup must not end the study
                _log.warning("heartbeat failed: %s", e)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)


def run_optimize(
    study: Study,
    objective: Callable,
    *,
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
    catch: Iterable[type[Exception]] | type[Exception],
    callbacks: Iterable[Callable[[Study, FrozenTrial], None]],
    show_progress_bar: bool | None,
    resume_paused: bool = False,
    executor: Any = None,
    resources_per_trial: Mapping[str, float] | None = None,
    trial_timeout: float | None = None,
    retries: int = 0,
    heartbeat_interval: float | None = None,
    heartbeat_grace: float | None = None,
) -> None:
    """The optimize loop.

    The loop (ask, tell, scheduling) runs here; the objective runs in this thread
    (``n_jobs=1`` without an executor), or on the slots of an executor, one
    thread of this process driving each slot.  With ``resume_paused``
    (``hs.tune``) a free slot first takes up a trial interrupted earlier, then a
    PAUSED trial the scheduler promotes, then a new trial; new trials count
    toward ``n_trials``, resumed ones do not, and once no new trial may start the
    slots keep resuming promoted trials until none is running or promotable.
    """
    if not callable(objective):
        raise TypeError(f"objective must be callable, got {type(objective).__name__}")
    from hypersearch.execution import _worker

    if _worker.IMPORTING_MAIN:
        raise RuntimeError(
            "a worker process imported your script to load an object whose class it defines, and "
            "the script started an optimisation on import: put that code under "
            "`if __name__ == \"__main__\":`"
        )
    n_jobs, catch_t, resources_per_trial = check_run_options(
        n_trials=n_trials, timeout=timeout, n_jobs=n_jobs, catch=catch, executor=executor,
        resources_per_trial=resources_per_trial, trial_timeout=trial_timeout, retries=retries,
        heartbeat_interval=heartbeat_interval, heartbeat_grace=heartbeat_grace,
    )
    callbacks = list(callbacks)
    study._stop_requested = False
    study._max_retries = retries
    budget = _Budget(study, n_trials, timeout)
    errors: list[BaseException] = []

    sched = None
    if resume_paused:
        from hypersearch.schedulers.base import NopScheduler

        sched = study.scheduler or NopScheduler()
    interrupted = _Interrupted()

    def next_trial() -> tuple[bool, Trial | None]:
        """``(go, paused trial to resume or None for a new one)``."""
        if sched is None:
            return budget.take(), None
        while not budget.expired():
            sched.note_can_start(study, can_start=budget.can_start())
            number = interrupted(study)
            if number is None:
                number = sched.choose_paused(study, can_start=budget.can_start())
            if number is not None:
                seen = study.history.get(number)
                t = study.resume_trial(number)
                if t is not None and seen is not None and len(t.intermediate_values) != len(
                    seen.intermediate_values
                ):
                    # Chosen on a stale view: another process trained it further and
                    # paused it again since (at a higher rung, where it may not be
                    # promotable).  Put it back as it was and choose again.
                    study._unresume(t)
                    continue
                if t is not None:
                    t._system_attrs.pop(INTERRUPTED_ATTR, None)
                    with budget.lock:
                        budget.active += 1
                    return True, t
                continue  # another worker resumed it first
            if budget.take():
                with budget.lock:
                    budget.active += 1
                return True, None
            with budget.lock:
                if budget.active == 0:
                    return False, None
            # Trials still running here may pause at a rung and become promotable.
            time.sleep(0.05)
        return False, None

    def work(run_objective: Callable[[Trial], Any]) -> None:
        while True:
            try:
                go, resumed = next_trial()
            except BaseException as e:
                budget.halt = True
                errors.append(e)
                return
            if not go:
                return
            try:
                frozen = run_trial(study, run_objective, catch_t, resumed, retries, budget.extend)
            except SearchSpaceExhausted:
                budget.halt = True
                return
            except BaseException as e:
                budget.halt = True
                errors.append(e)
                return
            finally:
                if sched is not None:
                    with budget.lock:
                        budget.active -= 1
            bar.update(frozen)
            try:
                for cb in callbacks:
                    cb(study, frozen)
            except BaseException as e:
                budget.halt = True
                errors.append(e)
                return

    in_process = executor is None and n_jobs == 1 and resources_per_trial is None and trial_timeout is None
    ex = None
    if not in_process:
        from hypersearch.execution import get_executor

        ex = get_executor(executor)
    heart = _Heartbeat(study, heartbeat_interval, heartbeat_grace)
    bar = _ProgressBar(study, n_trials, timeout, show_progress_bar)
    slots: list = []
    study._optimizing += 1  # asks in this loop are beaten by `heart`, not the ask heartbeat
    try:
        heart.start()
        if ex is None:
            work(lambda trial: _call(objective, trial, resume_paused))
        else:
            slots = ex.start(objective, n_jobs, resources_per_trial)
            if len(slots) < n_jobs:
                _log.info("running %d trials at a time (the resources hold no more)", len(slots))

            def driver(slot) -> None:
                def run_on_slot(trial):
                    trial._pausable = resume_paused
                    return slot.run(trial, objective, pausable=resume_paused, timeout=trial_timeout)

                work(run_on_slot)

            if len(slots) == 1 and ex.in_process:
                driver(slots[0])
            else:
                pool = ThreadPoolExecutor(max_workers=len(slots), thread_name_prefix="hypersearch")
                wait = True
                try:
                    futs = [pool.submit(driver, s) for s in slots]
                    try:
                        for f in futs:
                            while True:
                                try:
                                    f.result(timeout=0.2)  # wake up for Ctrl-C
                                    break
                                except FuturesTimeout:
                                    continue
                    except KeyboardInterrupt:
                        budget.halt = True
                        for s in slots:
                            s.interrupt()  # running trials are recorded, workers stopped
                        try:
                            for f in futs:
                                try:
                                    f.result(timeout=30)
                                except KeyboardInterrupt:
                                    raise
                                except BaseException:
                                    pass
                        except KeyboardInterrupt:
                            wait = False  # a second Ctrl-C: stop waiting for the threads
                        raise
                finally:
                    pool.shutdown(wait=wait, cancel_futures=not wait)
    finally:
        study._optimizing -= 1
        heart.stop()
        bar.close()
        study._max_retries = 0
        if ex is not None:
            ex.shutdown()
    if errors:
        # A Ctrl-C seen by a driver thread (interrupted slot) re-raises as such.
        raise errors[0]


def _call(objective: Callable, trial: Trial, pausable: bool) -> Any:
    trial._pausable = pausable
    return objective(trial)


class _ProgressBar:
    """tqdm bar with trial count, best value and elapsed/ETA; silent off a terminal."""

    def __init__(self, study: Study, n_trials: int | None, timeout: float | None, show: bool | None) -> None:
        self.study = study
        if show is None:
            show = sys.stderr.isatty()
        self._bar: Any = None
        self._lock = threading.Lock()
        if show:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=n_trials, desc=f"{study.study_name}", unit="trial", dynamic_ncols=True)

    def update(self, frozen: FrozenTrial) -> None:
        if self._bar is None:
            return
        with self._lock:
            self._bar.update(1)
            if not self.study.is_multi_objective and self.study.history.best_trial is not None:
                best = self.study.history.best_trial
                self._bar.set_postfix_str(f"best={best.values[0]:.6g} (trial {best.number})")
            elif self.study.is_multi_objective:
                self._bar.set_postfix_str(f"pareto={len(self.study.history.pareto_front)}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
