"""Learning-rate scaling with the batch size, and gradient-accumulation plans."""

from __future__ import annotations

import math

import pytest

from hypersearch import training as tr


def test_scale_lr_rules():
    assert tr.scale_lr(0.1, 256, 1024) == pytest.approx(0.4)
    assert tr.scale_lr(0.1, 256, 64, rule="linear") == pytest.approx(0.025)
    assert tr.scale_lr(1e-3, 32, 128, rule="sqrt") == pytest.approx(2e-3)
    assert tr.scale_lr(1e-3, 32, 32, rule="sqrt") == 1e-3
    with pytest.raises(ValueError, match="rule"):
        tr.scale_lr(0.1, 256, 512, rule="cubic")
    with pytest.raises(ValueError, match="base_batch"):
        tr.scale_lr(0.1, 0, 512)
    with pytest.raises(ValueError, match="base_lr"):
        tr.scale_lr(-0.1, 256, 512)


@pytest.mark.parametrize(
    "target, cap, micro, steps",
    [
        (1024, 48, 32, 32),  # largest divisor of 1024 that fits
        (100, 48, 25, 4),
        (96, 40, 32, 3),
        (64, 64, 64, 1),
        (10, 64, 10, 1),  # fits at once
        (512, 500, 256, 2),
    ],
)
def test_exact_plans_use_the_largest_dividing_micro_batch(target, cap, micro, steps):
    plan = tr.accumulation_plan(target, cap)
    assert (plan.micro_batch, plan.accumulation_steps) == (micro, steps)
    assert plan.exact and plan.effective_batch == target == plan.target_batch and plan.note == ""


def test_no_useful_divisor_gives_the_closest_batch_and_says_so():
    plan = tr.accumulation_plan(97, 32)  # 97 is prime: only micro-batches of 1 divide it
    assert not plan.exact
    assert (plan.micro_batch, plan.accumulation_steps, plan.effective_batch) == (32, 3, 96)
    assert "97" in plan.note and "96" in plan.note
    exact = tr.accumulation_plan(97, 32, min_micro_batch=1)
    assert exact.exact and (exact.micro_batch, exact.accumulation_steps) == (1, 97)
    with pytest.raises(ValueError, match="divides"):
        tr.accumulation_plan(97, 32, strict=True)


def test_closest_plan_is_optimal_by_brute_force():
    for target in range(33, 300, 7):
        for cap in (8, 12, 30):
            plan = tr.accumulation_plan(target, cap)
            floor = (cap + 1) // 2
            best = min(
                abs(m * s - target) for m in range(floor, cap + 1) for s in range(1, target + 1)
            )
            assert abs(plan.effective_batch - target) == best
            assert floor <= plan.micro_batch <= cap
            assert plan.effective_batch == plan.micro_batch * plan.accumulation_steps


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"target_batch": 0, "max_micro_batch": 4}, "target_batch"),
        ({"target_batch": 8, "max_micro_batch": 0}, "max_micro_batch"),
        ({"target_batch": 8.5, "max_micro_batch": 4}, "target_batch"),
        ({"target_batch": 80, "max_micro_batch": 4, "min_micro_batch": 5}, "min_micro_batch"),
    ],
)
def test_plan_errors(kwargs, param):
    with pytest.raises(ValueError, match=param):
        tr.accumulation_plan(**kwargs)


def test_max_micro_batch_from_memory():
    gib = 2**30
    assert tr.max_micro_batch_from_memory(100 * 2**20, 16 * gib, 4 * gib) == 122
    assert tr.max_micro_batch_from_memory(100 * 2**20, 16 * gib, 4 * gib, multiple_of=8) == 120
    with pytest.raises(ValueError, match="overhead_bytes"):
        tr.max_micro_batch_from_memory(gib, 8 * gib, 7.5 * gib)
    with pytest.raises(ValueError, match="bytes_per_sample"):
        tr.max_micro_batch_from_memory(0, gib)
    n = tr.max_micro_batch_from_memory(3.0, 100.0)
    assert n == 33 and math.isclose(n * 3.0, 99.0)
