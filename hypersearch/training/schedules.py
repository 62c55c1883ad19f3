"""Learning-rate schedules as plain functions of the optimisation step.

Each constructor returns a small immutable object ``lr = schedule(step)``: no
optimizer, no hidden state, so the same schedule can drive PyTorch (through
:func:`to_torch_scheduler`), JAX, NumPy code or a plot, and two schedules
with the same arguments compare equal.  Arguments are checked when the
schedule is built, and a bad one raises :class:`ValueError` naming it, which
matters when the values come out of a search space.

Steps count from 0.  ``total_steps`` is the number of steps the schedule
plans for; past it, decaying schedules hold their final value instead of
wrapping around.

Every schedule has a ``base_lr``: its reference (peak) learning rate, which
:func:`to_torch_scheduler` uses to turn the schedule into a multiplicative
factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from hypersearch.training._checks import (
    in_range,
    integer,
    positive,
    require_torch,
)

__all__ = [
    "Constant",
    "CosineAnnealing",
    "Exponential",
    "LinearWarmup",
    "OneCycle",
    "PolynomialDecay",
    "Schedule",
    "StepDecay",
    "constant",
    "cosine_annealing",
    "exponential",
    "linear_warmup",
    "one_cycle",
    "polynomial_decay",
    "step_decay",
    "to_torch_scheduler",
]


def _check_step(step: Any) -> float:
    if isinstance(step, (bool, str, bytes)):
        raise ValueError(f"step must be a non-negative number, got {step!r}")
    try:
        s = float(step)
    except (TypeError, ValueError):
        raise ValueError(f"step must be a non-negative number, got {step!r}") from None
    if not s >= 0.0 or math.isinf(s):
        raise ValueError(f"step must be a non-negative number, got {step!r}")
    return s


class Schedule:
    """Base class: ``schedule(step) -> learning rate``.

    Subclasses define ``base_lr`` and :meth:`lr`; calling the schedule checks
    the step and delegates to :meth:`lr`.
    """

    base_lr: float

    def lr(self, step: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, step: int | float) -> float:
        return self.lr(_check_step(step))

    def values(self, num_steps: int) -> list[float]:
        """The learning rates of steps ``0 .. num_steps - 1`` (handy for plots and tests)."""
        n = integer("values", "num_steps", num_steps, 0)
        return [self.lr(float(s)) for s in range(n)]


@dataclass(frozen=True)
class Constant(Schedule):
    """The same learning rate at every step."""

    base_lr: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_lr", positive("constant", "lr", self.base_lr))

    def lr(self, step: float) -> float:
        return self.base_lr


@dataclass(frozen=True)
class StepDecay(Schedule):
    """``base_lr * gamma ** floor(step / step_size)``: the classic staircase
    (divide by 10 every few epochs)."""

    base_lr: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        fn = "step_decay"
        object.__setattr__(self, "base_lr", positive(fn, "base_lr", self.base_lr))
        object.__setattr__(self, "step_size", integer(fn, "step_size", self.step_size, 1))
        object.__setattr__(self, "gamma", positive(fn, "gamma", self.gamma))

    def lr(self, step: float) -> float:
        return self.base_lr * self.gamma ** math.floor(step / self.step_size)


@dataclass(frozen=True)
class Exponential(Schedule):
    """``base_lr * gamma ** step``."""

    base_lr: float
    gamma: float

    def __post_init__(self) -> None:
        fn = "exponential"
        object.__setattr__(self, "base_lr", positive(fn, "base_lr", self.base_lr))
        object.__setattr__(self, "gamma", positive(fn, "gamma", self.gamma))

    def lr(self, step: float) -> float:
        return self.base_lr * self.gamma**step


@dataclass(frozen=True)
class PolynomialDecay(Schedule):
    """``end_lr + (base_lr - end_lr) * (1 - step / total_steps) ** power``, then ``end_lr``.

    ``power=1`` is the linear decay of BERT-style fine-tuning.
    """

    base_lr: float
    total_steps: int
    end_lr: float = 0.0
    power: float = 1.0

    def __post_init__(self) -> None:
        fn = "polynomial_decay"
        object.__setattr__(self, "base_lr", positive(fn, "base_lr", self.base_lr))
        object.__setattr__(self, "total_steps", integer(fn, "total_steps", self.total_steps, 1))
        end = in_range(fn, "end_lr", self.end_lr, 0.0, self.base_lr)
        object.__setattr__(self, "end_lr", end)
        object.__setattr__(self, "power", positive(fn, "power", self.power))

    def lr(self, step: float) -> float:
        frac = 1.0 - min(step, self.total_steps) / self.total_steps
        return self.end_lr + (self.base_lr - self.end_lr) * frac**self.power


@dataclass(frozen=True)
class CosineAnnealing(Schedule):
    """Cosine decay from ``base_lr`` to ``min_lr`` over ``total_steps``, optionally
    with warm restarts (SGDR, Loshchilov & Hutter 2017).

    With ``restarts = R`` the horizon is split into ``R + 1`` cycles whose lengths
    grow by ``cycle_mult``: ``T0, T0 * m, T0 * m**2, ...`` summing to
    ``total_steps``.  Each cycle restarts at ``base_lr`` and anneals towards
    ``min_lr``.  Past ``total_steps`` the rate stays at ``min_lr``.
    """

    base_lr: float
    total_steps: int
    min_lr: float = 0.0
    restarts: int = 0
    cycle_mult: float = 1.0

    def __post_init__(self) -> None:
        fn = "cosine_annealing"
        object.__setattr__(self, "base_lr", positive(fn, "base_lr", self.base_lr))
        object.__setattr__(self, "total_steps", integer(fn, "total_steps", self.total_steps, 1))
        object.__setattr__(self, "min_lr", in_range(fn, "min_lr", self.min_lr, 0.0, self.base_lr))
        object.__setattr__(self, "restarts", integer(fn, "restarts", self.restarts, 0))
        object.__setattr__(self, "cycle_mult", positive(fn, "cycle_mult", self.cycle_mult))
        if self.first_cycle < 1.0:
            raise ValueError(
                f"{fn}: restarts={self.restarts} with cycle_mult={self.cycle_mult} leaves a first "
                f"cycle of {self.first_cycle:.3g} steps in total_steps={self.total_steps}; "
                "use fewer restarts or more steps"
            )

    @property
    def first_cycle(self) -> float:
        """Length in steps of the first cosine cycle."""
        m, r = self.cycle_mult, self.restarts
        return self.total_steps / sum(m**i for i in range(r + 1))

    def lr(self, step: float) -> float:
        if step >= self.total_steps:
            return self.min_lr
        start, length = 0.0, self.first_cycle
        tol = 1e-9 * self.total_steps
        for _ in range(self.restarts):
            if step < start + length - tol:
                break
            start += length
            length *= self.cycle_mult
        t = min(max(step - start, 0.0) / length, 1.0)
        return self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * t))


@dataclass(frozen=True)
class LinearWarmup(Schedule):
    """Linear warm-up in front of another schedule.

    For ``step < warmup_steps`` the rate climbs linearly from
    ``start_factor * schedule(0)`` towards ``schedule(0)``; afterwards it is
    ``schedule(step - warmup_steps)``: the wrapped schedule starts when the
    warm-up ends, so give it ``total_steps - warmup_steps`` steps to end on time.
    """

    schedule: Schedule
    warmup_steps: int
    start_factor: float = 0.0

    def __post_init__(self) -> None:
        fn = "linear_warmup"
        if not isinstance(self.schedule, Schedule):
            raise ValueError(f"{fn}: schedule must be a Schedule, got {self.schedule!r}")
        object.__setattr__(self, "warmup_steps", integer(fn, "warmup_steps", self.warmup_steps, 0))
        sf = in_range(fn, "start_factor", self.start_factor, 0.0, 1.0)
        object.__setattr__(self, "start_factor", sf)

    @property
    def base_lr(self) -> float:  # type: ignore[override]
        return self.schedule.base_lr

    def lr(self, step: float) -> float:
        w = self.warmup_steps
        if step < w:
            target = self.schedule.lr(0.0)
            return target * (self.start_factor + (1.0 - self.start_factor) * step / w)
        return self.schedule.lr(step - w)


@dataclass(frozen=True)
class OneCycle(Schedule):
    """The 1cycle policy (Smith & Topin, "Super-Convergence", 2018).

    The rate rises from ``max_lr / div_factor`` to ``max_lr``, reached at step
    ``pct_start * total_steps - 1``, then falls to
    ``max_lr / (div_factor * final_div_factor)``, reached at the last step
    ``total_steps - 1``.  ``anneal`` shapes both phases: half-cosine
    (``"cos"``) or straight line (``"linear"``).  This is the convention of
    PyTorch's ``OneCycleLR``, so the two agree step for step.
    """

    max_lr: float
    total_steps: int
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    anneal: Literal["cos", "linear"] = "cos"

    def __post_init__(self) -> None:
        fn = "one_cycle"
        object.__setattr__(self, "max_lr", positive(fn, "max_lr", self.max_lr))
        object.__setattr__(self, "total_steps", integer(fn, "total_steps", self.total_steps, 2))
        pct = in_range(fn, "pct_start", self.pct_start, 0.0, 1.0, low_open=True, high_open=True)
        object.__setattr__(self, "pct_start", pct)
        object.__setattr__(self, "div_factor", positive(fn, "div_factor", self.div_factor))
        fdf = positive(fn, "final_div_factor", self.final_div_factor)
        object.__setattr__(self, "final_div_factor", fdf)
        if self.anneal not in ("cos", "linear"):
            raise ValueError(f"{fn}: anneal must be 'cos' or 'linear', got {self.anneal!r}")

    @property
    def base_lr(self) -> float:  # type: ignore[override]
        return self.max_lr

    @property
    def initial_lr(self) -> float:
        return self.max_lr / self.div_factor

    @property
    def final_lr(self) -> float:
        return self.initial_lr / self.final_div_factor

    def _interp(self, a: float, b: float, pct: float) -> float:
        if self.anneal == "cos":
            return b + (a - b) * 0.5 * (1.0 + math.cos(math.pi * pct))
        return a + (b - a) * pct

    def lr(self, step: float) -> float:
        peak = self.pct_start * self.total_steps - 1.0
        last = self.total_steps - 1.0
        if peak > 0 and step <= peak:
            return self._interp(self.initial_lr, self.max_lr, step / peak)
        pct = min((step - peak) / (last - peak), 1.0)
        return self._interp(self.max_lr, self.final_lr, pct)


# -- constructors ----------------------------------------------------------------------


def constant(lr: float) -> Constant:
    """The same learning rate at every step."""
    return Constant(lr)


def step_decay(base_lr: float, step_size: int, gamma: float = 0.1) -> StepDecay:
    """Multiply the rate by ``gamma`` every ``step_size`` steps (PyTorch's ``StepLR``)."""
    return StepDecay(base_lr, step_size, gamma)


def exponential(base_lr: float, gamma: float) -> Exponential:
    """Multiply the rate by ``gamma`` every step (PyTorch's ``ExponentialLR``)."""
    return Exponential(base_lr, gamma)


def polynomial_decay(
    base_lr: float, total_steps: int, end_lr: float = 0.0, power: float = 1.0
) -> PolynomialDecay:
    """Polynomial decay to ``end_lr`` over ``total_steps`` (``power=1``: linear decay)."""
    return PolynomialDecay(base_lr, total_steps, end_lr, power)


def cosine_annealing(
    base_lr: float,
    total_steps: int,
    min_lr: float = 0.0,
    *,
    restarts: int = 0,
    cycle_mult: float = 1.0,
) -> CosineAnnealing:
    """Cosine decay to ``min_lr`` over ``total_steps``; ``restarts > 0`` splits the
    horizon into SGDR warm-restart cycles growing by ``cycle_mult``."""
    return CosineAnnealing(base_lr, total_steps, min_lr, restarts, cycle_mult)


def linear_warmup(schedule: Schedule, warmup_steps: int, start_factor: float = 0.0) -> LinearWarmup:
    """Prefix ``schedule`` with ``warmup_steps`` of linear warm-up from
    ``start_factor`` times its initial rate (the schedule starts after the warm-up)."""
    return LinearWarmup(schedule, warmup_steps, start_factor)


def one_cycle(
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    anneal: Literal["cos", "linear"] = "cos",
) -> OneCycle:
    """The 1cycle policy: warm up to ``max_lr`` for ``pct_start`` of the steps, then anneal
    far below the initial rate."""
    return OneCycle(max_lr, total_steps, pct_start, div_factor, final_div_factor, anneal)


# -- PyTorch ----------------------------------------------------------------------------


class _Factor:
    """``step -> schedule(step) / reference``: the multiplier ``LambdaLR`` applies.

    ``LambdaLR.state_dict`` stores a callable object's ``__dict__``: the schedule
    lives in a slot, out of it, so a checkpoint holds plain numbers only and
    loads with ``torch.load``'s default ``weights_only=True`` (the resumed run
    builds the same schedule again)."""

    __slots__ = ("schedule", "__dict__")

    def __reduce__(self) -> tuple:  # every pickle protocol, the schedule included
        return (_Factor, (self.schedule, self.reference))

    def __init__(self, schedule: Schedule, reference: float) -> None:
        self.schedule = schedule
        self.reference = reference

    def __call__(self, step: int) -> float:
        return self.schedule(step) / self.reference


def to_torch_scheduler(
    schedule: Schedule,
    optimizer: Any,
    *,
    scale_groups: bool = False,
    last_epoch: int = -1,
) -> Any:
    """A ``torch.optim.lr_scheduler.LambdaLR`` that follows ``schedule``.

    Call ``scheduler.step()`` after each ``optimizer.step()``, as for any
    PyTorch scheduler.  The multiplier is ``schedule(step) / schedule.base_lr``.

    Args:
        schedule: Any schedule of this module.
        optimizer: A ``torch.optim`` optimizer.
        scale_groups: ``False`` (default): every parameter group's rate is set to
            ``schedule.base_lr`` first, so the optimizer's rate equals
            ``schedule(step)`` exactly.  ``True``: each group keeps its own rate as
            its base and is scaled by the schedule's multiplier, which preserves
            ratios between groups (layer-wise rates).
        last_epoch: Passed to ``LambdaLR`` (``-1`` starts a new schedule).
    """
    torch = require_torch("to_torch_scheduler")
    if not isinstance(schedule, Schedule):
        raise ValueError(f"to_torch_scheduler: schedule must be a Schedule, got {schedule!r}")
    reference = float(schedule.base_lr)
    if not scale_groups:
        for group in optimizer.param_groups:
            group["lr"] = reference
            group["initial_lr"] = reference
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, _Factor(schedule, reference), last_epoch=last_epoch
    )

