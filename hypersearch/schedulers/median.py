"""Median and percentile stopping rules."""

from __future__ import annotations

import bisect
import math
import threading
from typing import TYPE_CHECKING

import numpy as np

from hypersearch.schedulers._common import (
    ReportedView,
    check_number,
    check_positive_int,
    parse_mode,
    sorted_quantile,
)
from hypersearch.schedulers.base import BaseScheduler, Decision
from hypersearch.trial._frozen import FrozenTrial
from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study


class PercentileStoppingRule(BaseScheduler):
    """Stop a trial whose best reported value so far is worse than the given
    percentile of what completed trials had reached by the same step.

    Args:
        percentile: 50 stops trials worse than the median; 25 keeps only trials
            in the best quarter (percentiles count from the best end).
        n_startup_trials: No decision before this many trials completed.
        n_warmup_steps: No decision for a trial before this step.
        interval_steps: Decide only every this many steps after the warm-up.
        n_min_trials: Compare only when at least this many completed trials
            reported at or before the step.
        mode: ``"min"``/``"max"`` for the reported value (default: the study's).
    """

    def __init__(
        self,
        percentile: float,
        *,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        n_min_trials: int = 1,
        mode: str | None = None,
    ) -> None:
        self.percentile = check_number("percentile", percentile, minimum=0.0)
        if self.percentile > 100:
            raise ValueError(f"percentile must be in [0, 100], got {percentile!r}")
        self.n_startup_trials = check_positive_int("n_startup_trials", n_startup_trials, 0)
        self.n_warmup_steps = check_positive_int("n_warmup_steps", n_warmup_steps, 0)
        self.interval_steps = check_positive_int("interval_steps", interval_steps, 1)
        self.n_min_trials = check_positive_int("n_min_trials", n_min_trials, 1)
        self.mode = parse_mode(mode)
        # completed trials: sorted steps and the running best (minimisation form)
        self._curves: list[tuple[list[int], list[float]]] = []
        # step -> sorted reference values there (each completed curve's best so far
        # at that step), for the steps decisions were asked at.  A new completed
        # curve is inserted into each; a decision is a lookup, not a scan of every
        # completed trial (the cost per report stays flat over a long run).
        self._refs: dict[int, list[float]] = {}
        self._lock = threading.Lock()
        self._sign = 1.0
        self._view = ReportedView(self._index, self._forget)

    def _forget(self, study: Study | None = None) -> None:
        with self._lock:
            self._curves = []
            self._refs = {}

    @staticmethod
    def _value_at(curve: tuple[list[int], list[float]], step: int) -> float | None:
        steps, best = curve
        i = bisect.bisect_right(steps, step) - 1
        return best[i] if i >= 0 else None

    def _index(self, t: FrozenTrial, finished: bool) -> None:
        if not finished or t.state != TrialState.COMPLETE or not t.intermediate_values:
            return
        steps = sorted(t.intermediate_values)
        vals = np.array([self._sign * t.intermediate_values[s] for s in steps], dtype=float)
        vals = np.where(np.isfinite(vals), vals, np.inf)  # diverged (NaN, +-inf): worst
        curve = (steps, np.minimum.accumulate(vals).tolist())
        with self._lock:
            self._curves.append(curve)
            for step, refs in self._refs.items():
                v = self._value_at(curve, step)
                if v is not None:
                    bisect.insort(refs, v)

    def _references(self, step: int) -> tuple[int, list[float]]:
        """(completed curves, their sorted values at ``step``); the lock is held."""
        refs = self._refs.get(step)
        if refs is None:
            refs = sorted(v for c in self._curves if (v := self._value_at(c, step)) is not None)
            self._refs[step] = refs
        return len(self._curves), refs

    def on_report(self, study: Study, trial: FrozenTrial) -> Decision:
        self._sign = self.direction(study).sign()
        step = trial.last_step
        if step is None or step < self.n_warmup_steps:
            return Decision.CONTINUE
        # Decide at the first report of each interval (reports need not land on the
        # interval's own steps: an objective reporting at 1, 3, 5, ... with
        # interval_steps=2 is judged once per interval, not never).
        lower = (step - self.n_warmup_steps) // self.interval_steps * self.interval_steps + self.n_warmup_steps
        if max((s for s in trial.intermediate_values if s < step), default=-1) >= lower:
            return Decision.CONTINUE
        self._view.update(study)
        with self._lock:
            n_curves, refs = self._references(step)
            if n_curves < max(self.n_startup_trials, 1) or len(refs) < self.n_min_trials:
                return Decision.CONTINUE
            cutoff = sorted_quantile(refs, self.percentile / 100.0)
        own = [self._sign * v for s, v in trial.intermediate_values.items() if s <= step]
        own = [v for v in own if math.isfinite(v)]  # drop NaN and infinities
        if not own:
            return Decision.STOP  # nothing finite so far: diverged
        return Decision.STOP if min(own) > cutoff else Decision.CONTINUE


class MedianStoppingRule(PercentileStoppingRule):
    """Stop a trial whose best value so far is worse than the median of completed
    trials at the same step (Google Vizier's median stopping rule)."""

    def __init__(
        self,
        *,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        n_min_trials: int = 1,
        mode: str | None = None,
    ) -> None:
        super().__init__(
            50.0,
            n_startup_trials=n_startup_trials,
            n_warmup_steps=n_warmup_steps,
            interval_steps=interval_steps,
            n_min_trials=n_min_trials,
            mode=mode,
        )
