"""Helpers shared by schedulers: direction handling and an incremental view of
what other trials reported."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from hypersearch.study._direction import StudyDirection
from hypersearch.trial._frozen import FrozenTrial

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study


def parse_mode(mode: str | None) -> StudyDirection | None:
    """``"min"``/``"max"`` (Ray Tune) or ``"minimize"``/``"maximize"``; ``None`` = the study's."""
    if mode is None:
        return None
    return StudyDirection.parse(mode)


def check_positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_number(name: str, value: object, *, minimum: float | None = None, exclusive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if minimum is not None and (value <= minimum if exclusive else value < minimum):
        raise ValueError(f"{name} must be {'>' if exclusive else '>='} {minimum}, got {value!r}")
    return float(value)


class ReportedView:
    """What trials of a study reported, kept up to date incrementally.

    ``index(trial, True)`` is registered as a history listener (each finished
    trial once); running and paused trials that the history re-read since the
    last :meth:`update` (:meth:`TrialHistory.changed_since`) are handed to
    ``index(trial, False)`` when their state or number of reports changed.  An
    update costs what changed, not what the study holds: a promotion run leaves
    most of its trials PAUSED, and rescanning them on every decision made the
    cost per trial grow with the run (``benchmarks/bench_scheduler_scaling.py``).
    """

    def __init__(
        self, index: Callable[[FrozenTrial, bool], None], reset: Callable[[], None] | None = None
    ) -> None:
        self._index = index
        self._reset = reset  # forget what was indexed (the scheduler moved to another study)
        self._attached: int | None = None
        self._lock = threading.Lock()
        self._seen: dict[int, tuple[int, int]] = {}  # number -> (state, reports) indexed
        self._change = 0  # the history's change number this view has caught up with

    def _finished(self, t: FrozenTrial) -> None:
        # no lock: update() registers this listener, whose replay calls it, under it
        self._seen.pop(t.number, None)
        self._index(t, True)

    def update(self, study: Study) -> None:
        with self._lock:
            if self._attached != id(study):
                if self._attached is not None and self._reset is not None:
                    self._reset()  # one scheduler object reused for a second study
                self._attached = id(study)
                self._seen.clear()
                self._change = 0
                study.history.add_listener(self._finished)
            since = self._change
        study.history.refresh()
        change, changed = study.history.changed_since(since)
        todo = []
        with self._lock:
            self._change = max(self._change, change)
            for t in changed:
                key = (int(t.state), len(t.intermediate_values))
                if self._seen.get(t.number) != key:
                    self._seen[t.number] = key
                    todo.append(t)
        for t in todo:
            self._index(t, False)
