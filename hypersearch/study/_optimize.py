"""The ``study.optimize`` loop: ask, run the objective, tell; serially or in threads."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from hypersearch.exceptions import SearchSpaceExhausted, TrialPaused, TrialPruned
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


def _validate(n_trials, timeout, n_jobs, catch) -> tuple[int, tuple[type[BaseException], ...]]:
    if n_trials is not None:
        if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0:
            raise ValueError(f"n_trials must be a non-negative integer or None, got {n_trials!r}")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if isinstance(catch, type):
        catch = (catch,)
    catch = tuple(catch)
    for c in catch:
        if not (isinstance(c, type) and issubclass(c, BaseException)):
            raise TypeError(f"catch must hold exception classes, got {c!r}")
    return n_jobs, catch


def run_trial(
    study: Study, objective: Callable, catch: tuple[type[BaseException], ...], trial: Trial | None = None
) -> FrozenTrial:
    """Run one trial of ``objective`` (a new one, or ``trial`` when resuming a paused
    one); re-raise exceptions not listed in ``catch``."""
    if trial is None:
        trial = study.ask()
    try:
        result = objective(trial)
    except TrialPruned:
        return study.tell(trial, state=TrialState.PRUNED)
    except TrialPaused:
        return study._pause(trial)
    except BaseException as e:
        frozen = study._record_failure(trial, e)
        if getattr(e, "fixed", False):  # an enqueued/grid configuration is infeasible: skip it
            _log.warning("trial %d skipped: %s", trial.number, e)
            return frozen  # type: ignore[return-value]
        if isinstance(e, Exception) and isinstance(e, catch):
            _log.warning("trial %d failed with %s: %s (caught; continuing)", trial.number, type(e).__name__, e)
            return frozen  # type: ignore[return-value]
        raise
    if trial._finished:  # the objective told its own trial
        return study.get_trials(deepcopy=False)[trial.number]
    return study.tell(trial, result)


def _interrupted(study: Study) -> int | None:
    """A PAUSED trial whose run was interrupted (resumed before any other)."""
    for t in study.history.active():
        if t.state == TrialState.PAUSED and t.system_attrs.get(INTERRUPTED_ATTR):
            return t.number
    return None


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
) -> None:
    """The optimize loop.  With ``resume_paused`` (``hs.tune`` with a pausing
    scheduler) a free worker first asks the scheduler for a PAUSED trial to
    resume; new trials count toward ``n_trials``, resumed ones do not, and once
    no new trial may start the workers keep resuming promoted trials until none
    is running or promotable."""
    if not callable(objective):
        raise TypeError(f"objective must be callable, got {type(objective).__name__}")
    n_jobs, catch_t = _validate(n_trials, timeout, n_jobs, catch)
    callbacks = list(callbacks)
    study._stop_requested = False
    budget = _Budget(study, n_trials, timeout)
    bar = _ProgressBar(study, n_trials, timeout, show_progress_bar)
    errors: list[BaseException] = []

    scheduler = None
    if resume_paused:
        from hypersearch.schedulers.base import NopScheduler

        scheduler = study.scheduler or NopScheduler()

    def next_trial() -> tuple[bool, Trial | None]:
        """``(go, paused trial to resume or None for a new one)``."""
        if scheduler is None:
            return budget.take(), None
        while not budget.expired():
            number = _interrupted(study)
            if number is None:
                number = scheduler.choose_paused(study, can_start=budget.can_start())
            if number is not None:
                t = study.resume_trial(number)
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

    def worker() -> None:
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
                frozen = run_trial(study, objective, catch_t, resumed)
            except SearchSpaceExhausted:
                budget.halt = True
                return
            except BaseException as e:
                budget.halt = True
                errors.append(e)
                return
            finally:
                if scheduler is not None:
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

    try:
        if n_jobs == 1:
            worker()
        else:
            with ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="hypersearch") as ex:
                futs = [ex.submit(worker) for _ in range(n_jobs)]
                try:
                    for f in futs:
                        f.result()
                except KeyboardInterrupt:
                    budget.halt = True
                    raise
    finally:
        bar.close()
    if errors:
        raise errors[0]


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
