"""Batch size: rescaling the learning rate, and reaching a batch size that does not
fit in memory by gradient accumulation.

Changing the batch size changes the gradient noise, so a tuned learning rate
does not carry over unchanged.  Two rules of thumb:

* **linear** (Goyal et al., "Accurate, Large Minibatch SGD", 2017): multiply
  the rate by ``k`` when the batch grows ``k``-fold; the usual rule for SGD
  with momentum, together with a warm-up.
* **sqrt** (Krizhevsky, "One weird trick for parallelizing convolutional
  neural networks", 2014; Hoffer et al., 2017): multiply by ``sqrt(k)``, which
  keeps the variance of the update constant and tends to suit adaptive
  optimizers such as Adam.

Gradient accumulation runs ``accumulation_steps`` micro-batches and steps the
optimizer once, which behaves like one batch of ``micro_batch *
accumulation_steps`` samples (exactly, for models without batch statistics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from hypersearch.training._checks import integer, non_negative, positive

__all__ = ["AccumulationPlan", "accumulation_plan", "max_micro_batch_from_memory", "scale_lr"]


def scale_lr(
    base_lr: float, base_batch: int, new_batch: int, rule: Literal["linear", "sqrt"] = "linear"
) -> float:
    """The learning rate for ``new_batch`` given one tuned at ``base_batch``.

    ``rule="linear"``: ``base_lr * new / base``; ``rule="sqrt"``:
    ``base_lr * sqrt(new / base)``.
    """
    fn = "scale_lr"
    lr = positive(fn, "base_lr", base_lr)
    b0 = integer(fn, "base_batch", base_batch, 1)
    b1 = integer(fn, "new_batch", new_batch, 1)
    if rule == "linear":
        return lr * b1 / b0
    if rule == "sqrt":
        return lr * math.sqrt(b1 / b0)
    raise ValueError(f"{fn}: rule must be 'linear' or 'sqrt', got {rule!r}")


@dataclass(frozen=True)
class AccumulationPlan:
    """How to reach a batch size with micro-batches that fit.

    Attributes:
        micro_batch: Samples per forward/backward pass.
        accumulation_steps: Micro-batches per optimizer step.
        effective_batch: ``micro_batch * accumulation_steps``: the batch the optimizer
            sees.
        target_batch: The batch size asked for.
        exact: Whether ``effective_batch == target_batch``.
        note: Why the plan differs from the target (empty when exact).
    """

    micro_batch: int
    accumulation_steps: int
    effective_batch: int
    target_batch: int
    exact: bool
    note: str = ""


def accumulation_plan(
    target_batch: int,
    max_micro_batch: int,
    *,
    min_micro_batch: int | None = None,
    strict: bool = False,
) -> AccumulationPlan:
    """Split ``target_batch`` into equal micro-batches of at most ``max_micro_batch``.

    The plan uses the largest micro-batch ``<= max_micro_batch`` that divides the
    target, so the effective batch is exactly the target with as few passes as
    possible.  Divisors can be poor, though (a prime target only divides into
    micro-batches of one sample), so micro-batches smaller than
    ``min_micro_batch`` are not used: when no divisor lies in
    ``[min_micro_batch, max_micro_batch]`` the plan takes the effective batch
    closest to the target (the larger micro-batch on ties), sets ``exact=False``
    and says so in ``note``, unless ``strict`` asks for an error.

    Args:
        target_batch: The batch size the optimizer should see.
        max_micro_batch: Largest micro-batch that fits in memory (see
            :func:`max_micro_batch_from_memory`).
        min_micro_batch: Smallest micro-batch worth running; default half of
            ``max_micro_batch`` (smaller ones waste more than half the device).
            ``1`` always gives an exact plan.
        strict: Raise :class:`ValueError` instead of returning an inexact plan.
    """
    fn = "accumulation_plan"
    target = integer(fn, "target_batch", target_batch, 1)
    cap = integer(fn, "max_micro_batch", max_micro_batch, 1)
    if target <= cap:
        return AccumulationPlan(target, 1, target, target, True)
    if min_micro_batch is None:
        floor = max(1, (cap + 1) // 2)
    else:
        floor = integer(fn, "min_micro_batch", min_micro_batch, 1)
        if floor > cap:
            raise ValueError(f"{fn}: min_micro_batch={floor} is greater than "
                             f"max_micro_batch={cap}")
    for m in range(cap, floor - 1, -1):
        if target % m == 0:
            return AccumulationPlan(m, target // m, target, target, True)
    if strict:
        raise ValueError(
            f"{fn}: no micro-batch in [{floor}, {cap}] divides target_batch={target}; "
            f"lower min_micro_batch (1 always divides) or pick a target with a divisor there"
        )
    best: tuple[int, int, int] | None = None  # (distance, -micro, steps)
    for m in range(cap, floor - 1, -1):
        for steps in (max(1, target // m), target // m + 1):
            cand = (abs(m * steps - target), -m, steps)
            if best is None or cand < best:
                best = cand
    assert best is not None
    micro, steps = -best[1], best[2]
    eff = micro * steps
    note = (f"no micro-batch in [{floor}, {cap}] divides {target}; the closest reachable "
            f"effective batch is {eff} ({micro} x {steps}); rescale the learning rate with "
            f"scale_lr(lr, {target}, {eff}) or pass min_micro_batch=1 for an exact plan")
    return AccumulationPlan(micro, steps, eff, target, False, note)


def max_micro_batch_from_memory(
    bytes_per_sample: float,
    memory_cap_bytes: float,
    overhead_bytes: float = 0.0,
    *,
    multiple_of: int = 1,
) -> int:
    """The largest micro-batch whose activations fit: ``(cap - overhead) // per_sample``,
    rounded down to a multiple of ``multiple_of`` (8 suits tensor cores).

    ``overhead_bytes`` is what does not grow with the batch: weights, gradients,
    optimizer state, the framework's workspace.  Measure ``bytes_per_sample``
    from two batch sizes (the slope of peak memory) rather than guessing it.

    Raises:
        ValueError: When not even ``multiple_of`` samples fit.
    """
    fn = "max_micro_batch_from_memory"
    per = positive(fn, "bytes_per_sample", bytes_per_sample)
    cap = positive(fn, "memory_cap_bytes", memory_cap_bytes)
    over = non_negative(fn, "overhead_bytes", overhead_bytes)
    q = integer(fn, "multiple_of", multiple_of, 1)
    free = cap - over
    n = int(free // per) // q * q if free > 0 else 0
    if n < 1:
        raise ValueError(
            f"{fn}: {free:.4g} bytes remain after overhead_bytes={over:.4g} of "
            f"memory_cap_bytes={cap:.4g}, less than {q} sample(s) of {per:.4g} bytes"
        )
    return n
