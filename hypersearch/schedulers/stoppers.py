"""Per-trial stopping rules: patience (no improvement) and thresholds (divergence)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hypersearch.schedulers._common import check_number, check_positive_int, parse_mode
from hypersearch.schedulers.base import BaseScheduler, Decision
from hypersearch.trial._frozen import FrozenTrial

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study


class PatienceStopper(BaseScheduler):
    """Stop a trial whose reported value has not improved by at least ``min_delta``
    over its best for ``patience`` consecutive reports (classic early stopping).

    Args:
        patience: Reports without improvement tolerated.
        min_delta: Improvement smaller than this does not count.
        mode: ``"min"``/``"max"`` (default: the study's direction).
    """

    def __init__(self, patience: int, *, min_delta: float = 0.0, mode: str | None = None) -> None:
        self.patience = check_positive_int("patience", patience, 1)
        self.min_delta = check_number("min_delta", min_delta, minimum=0.0)
        self.mode = parse_mode(mode)

    def on_report(self, study: Study, trial: FrozenTrial) -> Decision:
        sign = self.direction(study).sign()
        best = math.inf
        since = 0
        for step in sorted(trial.intermediate_values):
            v = sign * trial.intermediate_values[step]
            if v == v and v < best - self.min_delta:
                best, since = v, 0
            else:
                since += 1
        return Decision.STOP if since >= self.patience else Decision.CONTINUE


class ThresholdStopper(BaseScheduler):
    """Stop a trial as soon as its reported value is NaN or infinite (diverged), or
    leaves ``[lower, upper]`` after ``n_warmup_steps``.

    Args:
        lower, upper: Bounds on the reported value (``None``: unbounded).
        n_warmup_steps: Bounds apply from this step on (NaN/inf always stop).
        stop_on_nan: Stop on NaN or infinite values.  Without it an infinite value
            still stops the trial when it leaves the bounds, and NaN never does.
    """

    def __init__(
        self,
        lower: float | None = None,
        upper: float | None = None,
        *,
        n_warmup_steps: int = 0,
        stop_on_nan: bool = True,
    ) -> None:
        if lower is not None:
            lower = check_number("lower", lower)
        if upper is not None:
            upper = check_number("upper", upper)
        if lower is not None and upper is not None and lower > upper:
            raise ValueError(f"lower={lower} is greater than upper={upper}")
        self.lower, self.upper = lower, upper
        self.n_warmup_steps = check_positive_int("n_warmup_steps", n_warmup_steps, 0)
        self.stop_on_nan = bool(stop_on_nan)

    def on_report(self, study: Study, trial: FrozenTrial) -> Decision:
        step = trial.last_step
        if step is None:
            return Decision.CONTINUE
        v = trial.intermediate_values[step]
        if not math.isfinite(v) and self.stop_on_nan:
            return Decision.STOP
        if v != v or step < self.n_warmup_steps:
            return Decision.CONTINUE  # NaN lies outside no bound
        if (self.lower is not None and v < self.lower) or (self.upper is not None and v > self.upper):
            return Decision.STOP
        return Decision.CONTINUE
