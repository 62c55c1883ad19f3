"""Helpers shared by schedulers: direction handling and an incremental view of
what other trials reported."""

from __future__ import annotations

import math
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from hypersearch.study._direction import StudyDirection
from hypersearch.trial._frozen import FrozenTrial

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study


def parse_mode(mode: str | None) -> StudyDirection | None:
    """``"min"``/``"max"`` (Ray Tune) or ``"minimize"``/``"maximize"``; ``None`` = the study's."""
    if mode is None:
        return None
    return StudyDirection.parse(mode)


def check_metric(metric: object) -> str | None:
    """The reported metric a scheduler decides on: a name, or ``None`` (the tune
    run's).  A number here is a misplaced positional argument (``ASHA(10)``)."""
    if metric is not None and not isinstance(metric, str):
        raise TypeError(
            f"metric must be the name of a reported metric such as 'loss', got {metric!r}; "
            "the other arguments are keywords, e.g. ASHA(max_t=10)"
        )
    return metric


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


def sorted_quantile(items: Sequence[Any], q: float, value: Callable[[Any], float] | None = None) -> float | None:
    """The ``q`` quantile (0..1) of a sorted sequence, linearly interpolated between
    order statistics as ``numpy.percentile`` does by default, read in O(1) from
    a list the caller keeps sorted; ``value`` extracts the number from an item.
    ``None`` for an empty sequence.  Equal neighbours (two infinities) give that
    value, not the NaN the interpolation formula would."""
    if not items:
        return None
    get = value or (lambda x: x)
    h = (len(items) - 1) * q
    lo = int(math.floor(h))
    a = get(items[lo])
    if lo + 1 >= len(items) or h == lo:
        return a
    b = get(items[lo + 1])
    if a == b:
        return a
    return a + (h - lo) * (b - a)


class ReportedView:
    """What trials of a study reported, kept up to date incrementally.

    ``index(trial, True)`` receives each finished trial once (the view listens to
    the study's history); running and paused trials that the history re-read
    since the last :meth:`update` (:meth:`TrialHistory.changed_since`) are handed
    to ``index(trial, False)`` when their state or number of reports changed.  An
    update costs what changed, not what the study holds: a promotion run leaves
    most of its trials PAUSED, and rescanning them on every decision made the
    cost per trial grow with the run (``benchmarks/bench_scheduler_scaling.py``).

    Snapshots reach ``index`` in the order the history took them: the change
    feed is read and indexed under one lock, and finished trials (which the
    history announces from whichever thread read them) are queued and indexed
    after the feed, so a trial's older snapshot never overwrites a newer one
    that another thread indexed first.  ``index`` is called with this view's
    lock held: it must not call back into the view.
    """

    def __init__(
        self, index: Callable[[FrozenTrial, bool], None], reset: Callable[[Study], None] | None = None
    ) -> None:
        self._index = index
        # called when the view starts following a study (the first, or another one
        # the scheduler object is reused for): forget what was indexed and take up
        # that study's own settings (e.g. the seed its brackets follow)
        self._reset = reset
        # the study followed; a weak reference, so a new study never passes for a
        # collected one that happened to live at the same address
        self._attached: weakref.ref[Study] | None = None
        self._generation = 0  # bumped on every attach: listeners of an earlier study go quiet
        self._lock = threading.Lock()
        self._seen: dict[int, tuple[int, int]] = {}  # number -> (state, reports) indexed
        self._change = 0  # the history's change number this view has caught up with
        self._finished_queue: deque[tuple[int, FrozenTrial]] = deque()

    def _listener(self, generation: int) -> Callable[[FrozenTrial], None]:
        def finished(t: FrozenTrial) -> None:
            # No lock: the history calls this from any thread, sometimes under its
            # own lock (replay) while update() holds this view's.  deque.append is
            # atomic; update() indexes the queue in order.
            self._finished_queue.append((generation, t))

        return finished

    def follow(self, study: Study) -> None:
        """Start following ``study`` if the view follows another one (or none): a
        cheap check before anything that depends on the study's settings."""
        ref = self._attached
        if ref is None or ref() is not study:
            self.update(study)

    def update(self, study: Study) -> None:
        """Index what changed in ``study`` since the last call."""
        study.history.refresh()  # the storage read, outside the lock
        with self._lock:
            if self._attached is None or self._attached() is not study:
                if self._reset is not None:
                    self._reset(study)
                self._attached = weakref.ref(study)
                self._generation += 1
                self._seen.clear()
                self._change = 0
                self._finished_queue.clear()
                study.history.add_listener(self._listener(self._generation))
            self._change, changed = study.history.changed_since(self._change)
            for t in changed:
                key = (int(t.state), len(t.intermediate_values))
                if self._seen.get(t.number) != key:
                    self._seen[t.number] = key
                    self._index(t, False)
            while self._finished_queue:
                generation, t = self._finished_queue.popleft()
                if generation == self._generation:
                    self._seen.pop(t.number, None)
                    self._index(t, True)
