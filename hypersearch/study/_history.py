"""Incremental view of a study's trials, shared by the study and its sampler.

Samplers need the history of a study on every suggestion.  Re-reading and
re-copying every stored trial each time makes the cost per trial grow
linearly with the study (the well-known slowdown of large Optuna studies on a
database).  :class:`TrialHistory` instead keeps the trials in memory and asks
the storage only for what it has not seen: trials numbered after the largest
number it knows, plus the few trials it knows to be unfinished.  Finished
trials never change, so they are fetched once.

Listeners (the sampler's ``on_trial_finished``) are called once for every trial
seen finishing, whichever worker ran it, so that samplers can maintain
statistics incrementally too.

Keeping every finished trial in memory makes a long-lived worker grow with the
study (about 1.5 KB per trial).  When neither the sampler nor the scheduler
needs finished trials again once their listeners have seen them (random
search, quasi-random sequences), the study turns ``keep_finished`` off: a
finished trial is then handed to the listeners and dropped, only the best
trial (or the Pareto front) is kept, and the rare reader of all trials gets
them from the storage instead, so a worker's memory stays flat however large
the study grows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from hypersearch.study._direction import StudyDirection
from hypersearch.trial._frozen import FrozenTrial, constraints_satisfied
from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.storage.base import BaseStorage


def dominates(a: list[float], b: list[float], signs: list[float]) -> bool:
    """Whether ``a`` Pareto-dominates ``b`` (all objectives in minimisation form)."""
    better = False
    for x, y, s in zip(a, b, signs):
        x, y = s * x, s * y
        if x > y:
            return False
        if x < y:
            better = True
    return better


def is_feasible(t: FrozenTrial) -> bool:
    """Whether a trial satisfies its recorded constraints: every value of its
    ``constraints`` system attribute is ``<= 0`` (no attribute: feasible)."""
    return constraints_satisfied(t.system_attrs.get("constraints"))


#: COMPLETE trials a primed view reads by value to find its best one (more are read
#: only when all of these are infeasible).
_BEST_CANDIDATES = 32


class TrialHistory:
    """The trials of one study as seen by this process, kept up to date incrementally.

    Attributes:
        trials: Known trials, indexed by number (``None``: not read yet or, with
            ``keep_finished`` off, finished and dropped; use :meth:`get` and
            :meth:`all_trials`, which read dropped trials from the storage).
        completed: COMPLETE trials in the order this view saw them finish (kept
            only with ``keep_finished``).
        version: Increases whenever the view changes (cheap cache key for samplers).
        keep_finished: Whether finished trials stay in memory (see the module
            docstring); turning it on again re-reads the dropped ones.
    """

    def __init__(self, storage: BaseStorage, study_id: int, directions: list[StudyDirection]) -> None:
        self._storage = storage
        self._study_id = study_id
        self.directions = list(directions)
        self._signs = [d.sign() for d in directions]
        self._lock = threading.RLock()
        self.trials: list[FrozenTrial | None] = []
        self.completed: list[FrozenTrial] = []
        self._unfinished: set[int] = set()
        # PAUSED trials change only when a worker resumes one, so they are not
        # re-read on every refresh (a promotion scheduler may hold hundreds);
        # reread() refreshes them when that matters (a failed resume, periodically).
        self._paused: set[int] = set()
        self._paused_checked = 0.0
        # paused trial -> its storage write stamp when this view last read it
        self._paused_stamps: dict[int, object] = {}
        # Unfinished trials (running, queued, paused) in the order of their last
        # change, each with the change number: what changed_since() walks back over.
        self._touched: dict[int, int] = {}
        self._change = 0
        self._finished_count = 0
        self._best: FrozenTrial | None = None
        self._front: list[FrozenTrial] = []
        self._listeners: list[Callable[[FrozenTrial], None]] = []
        self.version = 0
        self._keep = True
        self._dropped = 0  # finished trials not kept in memory
        self._best_stale = False  # primed without reading finished trials (see prime)
        self._primed_n = 0
        self._primed_live: frozenset[int] = frozenset()

    # -- retention -------------------------------------------------------------------
    @property
    def keep_finished(self) -> bool:
        return self._keep

    @keep_finished.setter
    def keep_finished(self, keep: bool) -> None:
        with self._lock:
            keep = bool(keep)
            if keep and not self._keep and self._dropped:
                self._resolve_best()  # while the dropped slots still say which to read
                self._restore_dropped()
            elif not keep and self._keep:  # the listeners have seen these already
                for n, t in enumerate(self.trials):
                    if t is not None and t.state.is_finished():
                        self.trials[n] = None
                        self._dropped += 1
                self.completed = []
                self.version += 1
            self._keep = keep

    def _restore_dropped(self) -> None:
        """Read the dropped finished trials back (listeners have seen them already)."""
        for t in self._storage.get_trials(self._study_id):
            n = t.number
            if n < len(self.trials) and self._is_dropped(n):
                self.trials[n] = t
        self.completed = [t for t in self.trials if t is not None and t.state == TrialState.COMPLETE]
        self._dropped = 0
        self.version += 1

    def _is_dropped(self, n: int) -> bool:
        # Slots for numbers not read yet are added to _unfinished, so an empty slot
        # outside _unfinished and _paused is a finished trial that was dropped.
        return self.trials[n] is None and n not in self._unfinished and n not in self._paused

    def _stored_trials(self, states: list[TrialState] | None = None) -> list[FrozenTrial]:
        """Every trial this view has seen (optionally only those in ``states``), the
        dropped ones read from the storage (only those in ``states``)."""
        if not self._dropped:
            ts = [t for t in self.trials if t is not None]
        else:
            known = len(self.trials)
            ts = []
            for t in self._storage.get_trials(self._study_id, states=states):
                if t.number >= known:
                    break
                mine = self.trials[t.number]
                ts.append(t if mine is None else mine)
        if states is not None:
            ts = [t for t in ts if t.state in states]
        return ts

    def get(self, number: int) -> FrozenTrial | None:
        """Trial ``number`` as this view knows it (a dropped one is read from the
        storage); ``None`` if the view has not seen it."""
        with self._lock:
            if number < 0 or number >= len(self.trials):
                return None
            t = self.trials[number]
            if t is not None or not self._is_dropped(number):
                return t
        try:
            return self._storage.get_trial(self._study_id, number)
        except KeyError:
            return None

    # -- updates -------------------------------------------------------------------
    def prime(self) -> None:
        """Start the view without reading the finished trials: only how many trials
        the study holds and its unfinished ones (running, queued, paused).  Turns
        ``keep_finished`` off.

        For a study that keeps no finished trial and whose listeners need no replay
        (random search), so that opening a large study costs O(unfinished trials)
        instead of O(study).  The best trial and the Pareto front are then found on
        first use (:meth:`_resolve_best`).
        """
        with self._lock:
            if self.trials:
                raise RuntimeError("prime() starts an empty view")
            self._keep = False
            live_states = [TrialState.RUNNING, TrialState.WAITING, TrialState.PAUSED]
            # count first: a trial that finishes between the two reads is then finished
            # in both views of it, and one started after the count is read as new
            n = self._storage.count_trials(self._study_id)
            live = self._storage.get_trials(self._study_id, states=live_states)
            self.trials = [None] * n
            below = sum(1 for t in live if t.number < n)
            self._dropped = self._finished_count = n - below
            self._best_stale = self._dropped > 0
            # the trials finished before priming (numbers below n, not live then): the
            # ones _resolve_best adds; every later one reaches the front as it finishes
            self._primed_n = n
            self._primed_live = frozenset(t.number for t in live if t.number < n)
            for t in live:
                if t.number < n:
                    self._unfinished.add(t.number)  # placeholder: _ingest fills it in
            self._ingest(live)

    def _resolve_best(self) -> None:
        """Best trial / Pareto front of a primed view, from the storage: the few best
        rows by value (single objective; the first feasible one is the best), else
        one read of the COMPLETE trials."""
        if not self._best_stale:
            return
        # Only trials finished before the view was primed: those finished since were
        # added as they finished (counting them again listed them twice on the front).
        seen = self._primed_n
        live = self._primed_live

        def consider(trials: Iterable[FrozenTrial]) -> None:
            for t in trials:
                if t.number < seen and t.number not in live:
                    self._add_complete(t)

        top = []
        if len(self.directions) == 1:
            minimize = self._signs[0] > 0
            top = self._storage.get_best_trials(self._study_id, minimize, _BEST_CANDIDATES)
        if top and any(t.number < seen and is_feasible(t) for t in top):
            consider(top)
        else:  # several objectives, or every candidate infeasible or not seen yet
            consider(self._storage.get_trials(self._study_id, states=[TrialState.COMPLETE]))
        self._best_stale = False
        self.version += 1

    def add_listener(self, fn: Callable[[FrozenTrial], None], replay: bool = True) -> None:
        """Call ``fn(trial)`` for every trial seen finishing from now on (and, with
        ``replay``, at once for every trial already finished)."""
        with self._lock:
            self._listeners.append(fn)
            if not replay:
                return
            for t in self._stored_trials([s for s in TrialState if s.is_finished()]):
                fn(t)

    def watermark(self) -> tuple[int, list[int]]:
        """``(largest known number, known unfinished numbers)``: what a storage read
        must cover to bring this view up to date."""
        with self._lock:
            return len(self.trials) - 1, sorted(self._unfinished)

    def reread(self, numbers: Iterable[int] | None = None) -> list[FrozenTrial]:
        """Re-read trials by number; return the trials newly seen finished.

        Without ``numbers``: the PAUSED trials that changed in the storage since
        this view last read them.  One poll of their write stamps
        (:meth:`Storage.get_trial_stamps`, no trial data) finds those another
        process resumed, reported on or finished, and only they are read: a
        promotion run accumulates thousands of paused trials, and reading them all
        again cost tens of microseconds each per poll."""
        with self._lock:
            if numbers is not None:
                nums = sorted(set(numbers))
            else:
                if not self._paused:
                    return []
                stamps = self._storage.get_trial_stamps(self._study_id, [TrialState.PAUSED])
                self._paused_checked = time.monotonic()
                nums = sorted(
                    n for n in self._paused if n not in stamps or self._paused_stamps.get(n) != stamps[n]
                )
                # Stamps taken before the read below: a write between the two shows
                # as a changed stamp at the next poll (read again, never missed).
                for n in nums:
                    if n in stamps:
                        self._paused_stamps[n] = stamps[n]
            if not nums:
                return []
            fresh = self._storage.get_trials(self._study_id, after_number=len(self.trials) - 1, numbers=nums)
            newly = self._ingest(fresh)
            listeners = list(self._listeners)
        self._notify(newly, listeners)
        return newly

    def refresh(self, paused_every: float | None = 5.0) -> list[FrozenTrial]:
        """Fetch what changed in the storage; return the trials newly seen finished.
        PAUSED trials are re-read only every ``paused_every`` seconds (other
        processes may have resumed them)."""
        if paused_every is not None and self._paused and time.monotonic() - self._paused_checked > paused_every:
            self.reread()
        with self._lock:
            after, numbers = self.watermark()
            fresh = self._storage.get_trials(self._study_id, after_number=after, numbers=numbers)
            newly = self._ingest(fresh)
            listeners = list(self._listeners)
        self._notify(newly, listeners)
        return newly

    def ingest(self, trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
        """Record trials this process already knows the state of (e.g. one it just
        finished) without a storage round trip."""
        with self._lock:
            newly = self._ingest(trials)
            listeners = list(self._listeners)
        self._notify(newly, listeners)
        return newly

    def _notify(self, newly: list[FrozenTrial], listeners: list[Callable[[FrozenTrial], None]]) -> None:
        # Listeners run outside the lock: a listener that takes a lock of its own
        # must not wait on a thread that holds that lock and asks the history.
        # Each trial reaches each listener once: _ingest hands it out once, to the
        # listeners registered when it was ingested (taken under the lock); one
        # added later gets it from add_listener's replay instead.
        if newly:
            for t in newly:
                for fn in listeners:
                    fn(t)

    def _ingest(self, trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
        newly_finished: list[FrozenTrial] = []
        changed = False
        for t in trials:
            changed = True
            n = t.number
            while len(self.trials) <= n:
                self.trials.append(None)
                self._unfinished.add(len(self.trials) - 1)
            old = self.trials[n]
            if (old is not None and old.state.is_finished()) or self._is_dropped(n):
                continue  # finished trials never change
            self.trials[n] = t
            self._touched.pop(n, None)
            if not t.state.is_finished():
                self._change += 1
                self._touched[n] = self._change  # re-inserted: now the most recent
            if t.state == TrialState.PAUSED:
                self._unfinished.discard(n)
                self._paused.add(n)
                continue
            self._paused.discard(n)
            self._paused_stamps.pop(n, None)
            if t.state.is_finished():
                self._unfinished.discard(n)
                self._finished_count += 1
                newly_finished.append(t)  # the listeners get it even if it is dropped
                if t.state == TrialState.COMPLETE:
                    self._add_complete(t)
                if not self._keep:
                    self.trials[n] = None
                    self._dropped += 1
            else:
                self._unfinished.add(n)
        if changed:
            self.version += 1
        return newly_finished

    def _add_complete(self, t: FrozenTrial) -> None:
        if self._keep:
            self.completed.append(t)
        if t.values is None or not is_feasible(t):
            return  # an infeasible trial (constraint values > 0) is never best
        if len(self.directions) == 1:
            # ties go to the lower number, whatever order trials finish (or are read) in,
            # so every process and a reloaded study agree on the best trial
            key, best = self._signs[0] * t.values[0], self._best  # type: ignore[index]
            if best is None or (key, t.number) < (self._signs[0] * best.values[0], best.number):  # type: ignore[index]
                self._best = t
            return
        signs = self._signs
        for f in self._front:
            if dominates(f.values, t.values, signs):  # type: ignore[arg-type]
                return  # (equal values dominate neither: both are on the front)
        self._front = [f for f in self._front if not dominates(t.values, f.values, signs)]  # type: ignore[arg-type]
        self._front.append(t)

    # -- queries ---------------------------------------------------------------------
    @property
    def best_trial(self) -> FrozenTrial | None:
        """Best COMPLETE trial of a single-objective study (``None`` if none)."""
        if self._best_stale:
            with self._lock:
                self._resolve_best()
        return self._best

    @property
    def pareto_front(self) -> list[FrozenTrial]:
        """Non-dominated COMPLETE trials of a multi-objective study, by number."""
        with self._lock:
            self._resolve_best()
            if len(self.directions) == 1:
                return [self._best] if self._best is not None else []
            return sorted(self._front, key=lambda t: t.number)

    @property
    def n_finished(self) -> int:
        return self._finished_count

    def n_started(self) -> int:
        """Trials that ever started (every state but WAITING), as of the last
        refresh; costs O(unfinished trials), not O(study)."""
        with self._lock:
            waiting = sum(
                1 for n in self._unfinished if (t := self.trials[n]) is not None and t.state == TrialState.WAITING
            )
            return len(self.trials) - waiting

    def running(self) -> list[FrozenTrial]:
        """Trials known to be RUNNING (as of the last refresh)."""
        with self._lock:
            return [
                t
                for n in sorted(self._unfinished)
                if (t := self.trials[n]) is not None and t.state == TrialState.RUNNING
            ]

    def active(self) -> list[FrozenTrial]:
        """Trials known to be RUNNING or PAUSED (as of the last refresh): those whose
        reports may still change."""
        with self._lock:
            return [
                t
                for n in sorted(self._unfinished | self._paused)
                if (t := self.trials[n]) is not None
                and t.state in (TrialState.RUNNING, TrialState.PAUSED)
            ]

    def changed_since(self, change: int) -> tuple[int, list[FrozenTrial]]:
        """RUNNING and PAUSED trials ingested after change number ``change`` (0: every
        one this view knows), by number, and the latest change number to pass next
        time.

        What an incremental reader of unfinished trials (a scheduler's view of the
        rungs, the optimize loop looking for interrupted trials) calls instead of
        :meth:`active`: its cost is the number of trials that changed, not the
        number of paused trials a long promotion run accumulates.  A trial counts
        as changed whenever the storage was read for it, whether or not anything
        in it differs.
        """
        with self._lock:
            out = []
            for n, c in reversed(self._touched.items()):
                if c <= change:
                    break
                t = self.trials[n]
                if t is not None and t.state in (TrialState.RUNNING, TrialState.PAUSED):
                    out.append(t)
            out.sort(key=lambda t: t.number)
            return self._change, out

    def all_trials(self, states: Iterable[TrialState] | None = None) -> list[FrozenTrial]:
        """Every trial this view has seen, by number (optionally only those in
        ``states``); dropped finished trials are read from the storage."""
        with self._lock:
            return self._stored_trials(None if states is None else list(states))
