"""Asynchronous successive halving (ASHA) and Hyperband, stopping variant.

Rungs sit at resources ``r_min * eta**k`` (``eta`` = ``reduction_factor``) below
``max_t``.  When a trial first reports at or beyond a rung, its value there is
compared with the values every trial of its bracket had at that rung (running,
finished and stopped trials alike): it continues only if it is within the best
``1/eta`` of them.  Decisions never wait for a rung to fill, so no worker idles
(Li et al., "A System for Massively Parallel Hyperparameter Tuning", 2020).

Hyperband runs several such brackets with different minimum resources, which
hedges against rankings at small resources being misleading.  A trial's
bracket is a deterministic function of its number, weighted like Hyperband's
bracket sizes, so every worker and every resumed study agree on it without
stored state; the rung values are read from the reported intermediate values,
so the scheduler's whole state is recoverable from storage.
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING

import numpy as np

from hypersearch.samplers.base import trial_uniform
from hypersearch.schedulers._common import (
    ReportedView,
    check_number,
    check_positive_int,
    parse_mode,
)
from hypersearch.schedulers.base import BaseScheduler, Decision
from hypersearch.trial._frozen import FrozenTrial

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study


class _RungScheduler(BaseScheduler):
    def __init__(
        self,
        *,
        metric: str | None,
        mode: str | None,
        max_t: float,
        reduction_factor: float,
        brackets: list[tuple[float, float]],
    ) -> None:
        self.metric = metric
        self.mode = parse_mode(mode)
        self.max_t = max_t
        self.reduction_factor = reduction_factor
        total = sum(w for _, w in brackets)
        self._brackets = [(r, w / total) for r, w in brackets]
        self._cum = np.cumsum([w for _, w in self._brackets])
        self.rungs = [self._milestones(r) for r, _ in self._brackets]
        # (bracket, rung index) -> {trial number: value in minimisation form}
        self._table: dict[tuple[int, int], dict[int, float]] = {}
        self._lock = threading.Lock()
        self._sign = 1.0
        self._view = ReportedView(self._index)

    def _milestones(self, r_min: float) -> list[float]:
        out, r = [], r_min
        while r < self.max_t - 1e-9:
            out.append(r)
            r *= self.reduction_factor
        return out

    def bracket_of(self, number: int) -> int:
        """Bracket of a trial: a seeded-by-number draw weighted by bracket size."""
        if len(self._brackets) == 1:
            return 0
        u = trial_uniform(0x5EED, number, 0, "bracket")
        return int(min(np.searchsorted(self._cum, u, side="right"), len(self._brackets) - 1))

    def _rung_values(self, t: FrozenTrial) -> dict[int, float]:
        steps = sorted(t.intermediate_values)
        out: dict[int, float] = {}
        b = self.bracket_of(t.number)
        j = 0
        for k, m in enumerate(self.rungs[b]):
            while j < len(steps) and steps[j] < m - 1e-9:
                j += 1
            if j == len(steps):
                break
            v = self._sign * t.intermediate_values[steps[j]]
            out[k] = math.inf if v != v else v
        return out

    def _index(self, t: FrozenTrial, finished: bool) -> None:
        if not t.intermediate_values:
            return
        b = self.bracket_of(t.number)
        vals = self._rung_values(t)
        with self._lock:
            for k, v in vals.items():
                self._table.setdefault((b, k), {})[t.number] = v

    def on_report(self, study: Study, trial: FrozenTrial) -> Decision:
        self._sign = self.direction(study).sign()
        if not trial.intermediate_values:
            return Decision.CONTINUE
        steps = sorted(trial.intermediate_values)
        step, prev = steps[-1], (steps[-2] if len(steps) > 1 else -math.inf)
        b = self.bracket_of(trial.number)
        crossed = [k for k, m in enumerate(self.rungs[b]) if prev < m - 1e-9 and m <= step + 1e-9]
        if not crossed:
            return Decision.CONTINUE
        self._view.update(study)
        self._index(trial, False)
        own = self._rung_values(trial)
        for k in crossed:
            with self._lock:
                values = np.fromiter(self._table.get((b, k), {}).values(), dtype=float)
            if values.size == 0:
                continue
            cutoff = float(np.percentile(values, 100.0 / self.reduction_factor))
            if own[k] > cutoff:
                return Decision.STOP
        return Decision.CONTINUE


class ASHA(_RungScheduler):
    """Asynchronous successive halving (stopping variant), Ray Tune's ``ASHAScheduler``.

    Args:
        metric: Name of the reported metric (used by :func:`hypersearch.tune`;
            ``trial.report`` values in define-by-run studies).
        mode: ``"min"`` or ``"max"`` (default: the study's direction).
        max_t: Maximum resource (e.g. epochs) of a trial.
        grace_period: Resource of the first rung: no trial stops before it.
        reduction_factor: ``eta``: the best ``1/eta`` continue at each rung.
        brackets: Number of brackets (1 is plain ASHA; more hedge like Hyperband).
    """

    def __init__(
        self,
        metric: str | None = None,
        mode: str | None = None,
        *,
        max_t: float = 100,
        grace_period: float = 1,
        reduction_factor: float = 4,
        brackets: int = 1,
    ) -> None:
        max_t = check_number("max_t", max_t, minimum=0.0, exclusive=True)
        grace_period = check_number("grace_period", grace_period, minimum=0.0, exclusive=True)
        reduction_factor = check_number("reduction_factor", reduction_factor, minimum=1.0, exclusive=True)
        brackets = check_positive_int("brackets", brackets, 1)
        if grace_period > max_t:
            raise ValueError(f"grace_period={grace_period} is greater than max_t={max_t}")
        self.grace_period = grace_period
        super().__init__(
            metric=metric,
            mode=mode,
            max_t=max_t,
            reduction_factor=reduction_factor,
            brackets=[(grace_period * reduction_factor**s, 1.0) for s in range(brackets)],
        )


#: Ray Tune's name for the same scheduler.
AsyncHyperBandScheduler = ASHA
ASHAScheduler = ASHA


class SuccessiveHalving(ASHA):
    """Asynchronous successive halving with one bracket (an alias of :class:`ASHA`
    with ``brackets=1``, named for the define-by-run pruner use)."""

    def __init__(
        self,
        metric: str | None = None,
        mode: str | None = None,
        *,
        max_t: float = 100,
        min_t: float = 1,
        reduction_factor: float = 4,
    ) -> None:
        super().__init__(metric, mode, max_t=max_t, grace_period=min_t, reduction_factor=reduction_factor)


class Hyperband(_RungScheduler):
    """Hyperband over asynchronous successive-halving brackets.

    With ``s_max = floor(log_eta(max_t / min_t))`` there are ``s_max + 1``
    brackets; bracket ``b`` starts at resource ``min_t * eta**b`` and receives
    trials in proportion to the number of configurations Hyperband gives it.

    Args:
        metric, mode: As for :class:`ASHA`.
        max_t: Maximum resource per trial.
        min_t: Smallest resource at which a trial may stop.
        reduction_factor: ``eta`` (3 in the Hyperband paper).
    """

    def __init__(
        self,
        metric: str | None = None,
        mode: str | None = None,
        *,
        max_t: float = 81,
        min_t: float = 1,
        reduction_factor: float = 3,
    ) -> None:
        max_t = check_number("max_t", max_t, minimum=0.0, exclusive=True)
        min_t = check_number("min_t", min_t, minimum=0.0, exclusive=True)
        eta = check_number("reduction_factor", reduction_factor, minimum=1.0, exclusive=True)
        if min_t > max_t:
            raise ValueError(f"min_t={min_t} is greater than max_t={max_t}")
        s_max = int(math.floor(math.log(max_t / min_t) / math.log(eta) + 1e-9))
        brackets = []
        for b in range(s_max + 1):
            s = s_max - b
            n = math.ceil((s_max + 1) / (s + 1) * eta**s)
            brackets.append((min_t * eta**b, float(n)))
        self.min_t = min_t
        self.s_max = s_max
        super().__init__(metric=metric, mode=mode, max_t=max_t, reduction_factor=eta, brackets=brackets)
