"""Distributions: validation, membership, unit encoding and JSON round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import hypersearch as hs
from hypersearch.space.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_from_json,
)

finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(low=2.0, high=1.0), "low=2.0 is greater than high=1.0"),
        (dict(low=0.0, high=1.0, log=True), "log=True needs low > 0"),
        (dict(low=-1.0, high=1.0, log=True), "log=True needs low > 0"),
        (dict(low=0.0, high=1.0, step=-0.1), "step must be > 0"),
        (dict(low=0.0, high=1.0, step=0.1, log=True), "cannot be used together"),
        (dict(low=float("nan"), high=1.0), "low is NaN"),
        (dict(low=0.0, high=float("inf")), "high is infinite"),
        (dict(low="a", high=1.0), "low must be a number"),
    ],
)
def test_float_validation_names_parameter(kwargs, message):
    with pytest.raises(ValueError, match="parameter 'lr'") as e:
        FloatDistribution(**kwargs, name="lr")
    assert message in str(e.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(low=5, high=1), "greater than high"),
        (dict(low=0, high=10, log=True), "log=True needs low >= 1"),
        (dict(low=1, high=10, step=2, log=True), "log=True needs step=1"),
        (dict(low=0, high=10, step=0), "step must be >= 1"),
        (dict(low=0.5, high=10), "low must be an integer"),
    ],
)
def test_int_validation_names_parameter(kwargs, message):
    with pytest.raises(ValueError, match="parameter 'n'") as e:
        IntDistribution(**kwargs, name="n")
    assert message in str(e.value)


def test_a_step_that_does_not_divide_the_range_lowers_high_with_a_warning():
    """As in Optuna: ``suggest_int("n_estimators", 50, 1000, step=100)`` searches
    50, 150, ..., 950 (before, the trial failed)."""
    with pytest.warns(UserWarning, match=r"parameter 'n'.*high=1000 is replaced by 950"):
        d = IntDistribution(50, 1000, step=100, name="n")
    assert (d.low, d.high, d.step) == (50, 950, 100) and d.contains(950) and not d.contains(1000)
    with pytest.warns(UserWarning, match=r"high=1.0 is replaced by 0.9"):
        f = FloatDistribution(0.0, 1.0, step=0.3, name="lr")
    assert f.high == 0.9 and f.contains(0.9) and f.from_unit(1.0) == 0.9
    study = hs.create_study(seed=0)
    with pytest.warns(UserWarning, match="replaced by 950"):
        study.optimize(lambda t: t.suggest_int("n_estimators", 50, 1000, step=100), n_trials=5)
    assert all(t.params["n_estimators"] in range(50, 951, 100) for t in study.trials)


@pytest.mark.parametrize(
    "choices, message",
    [
        ([], "choices is empty"),
        (["a", "a"], "duplicate choice 'a'"),
        ([2, 3, 2], "duplicate choice 2"),
        ([[1, 2]], "has type list"),
        ("abc", "must be a list, tuple or 1-d array"),
        ([float("nan")], "is NaN"),
    ],
)
def test_categorical_validation(choices, message):
    with pytest.raises(ValueError, match="parameter 'c'") as e:
        CategoricalDistribution(choices, name="c")
    assert message in str(e.value)


def test_categorical_distinguishes_bool_and_int():
    d = CategoricalDistribution([True, 1, None, "1", 1.5])
    assert d.index(True) == 0 and d.index(1) == 1 and d.index(None) == 2
    assert not d.contains(2)
    assert d.from_unit(d.to_unit(True)) is True


@st.composite
def float_dists(draw):
    kind = draw(st.sampled_from(["lin", "log", "step"]))
    if kind == "log":
        low = draw(st.floats(min_value=1e-10, max_value=1e6))
        high = low * draw(st.floats(min_value=1.0, max_value=1e6))
        return FloatDistribution(low, high, log=True)
    low = draw(finite)
    if kind == "step":
        step = draw(st.sampled_from([0.5, 0.25, 1.0, 2.0, 0.125]))
        n = draw(st.integers(min_value=0, max_value=1000))
        return FloatDistribution(low, low + n * step, step=step)
    high = low + draw(st.floats(min_value=0.0, max_value=1e12))
    return FloatDistribution(low, high)


@st.composite
def int_dists(draw):
    low = draw(st.integers(min_value=-(10**9), max_value=10**9))
    if draw(st.booleans()):
        low = abs(low) + 1
        return IntDistribution(low, low + draw(st.integers(0, 10**6)), log=True)
    step = draw(st.integers(1, 7))
    return IntDistribution(low, low + step * draw(st.integers(0, 10**5)), step=step)


@given(float_dists(), st.floats(min_value=0.0, max_value=1.0))
@settings(max_examples=300)
def test_float_from_unit_is_in_distribution_and_round_trips(d, u):
    v = d.from_unit(u)
    assert d.contains(v)
    w = d.to_unit(v)
    assert 0.0 <= w <= 1.0
    back = d.from_unit(w)
    if d.step is not None:
        assert back == v  # discrete: exact
    else:
        assert math.isclose(back, v, rel_tol=1e-9, abs_tol=1e-9 * max(1.0, abs(d.high - d.low)))


@given(int_dists(), st.floats(min_value=0.0, max_value=1.0))
@settings(max_examples=300)
def test_int_round_trip_exact(d, u):
    v = d.from_unit(u)
    assert isinstance(v, int) and d.contains(v)
    assert d.from_unit(d.to_unit(v)) == v


@given(
    st.lists(
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20), finite),
        min_size=1,
        max_size=8,
        unique_by=lambda v: (type(v).__name__, v),
    ),
    st.data(),
)
def test_categorical_round_trip(choices, data):
    d = CategoricalDistribution(choices)
    for c in choices:
        got = d.from_unit(d.to_unit(c))
        assert type(got) is type(c) and got == c
    u = data.draw(st.floats(0.0, 1.0))
    assert d.contains(d.from_unit(u))


@given(st.one_of(float_dists(), int_dists()))
def test_json_round_trip(d):
    assert distribution_from_json(d.to_json()) == d


@given(float_dists())
def test_sampling_stays_inside(d):
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert d.contains(d.sample(rng))


def test_log_int_covers_both_ends():
    d = IntDistribution(1, 1000, log=True)
    rng = np.random.default_rng(0)
    vals = [d.sample(rng) for _ in range(4000)]
    assert min(vals) == 1 and max(vals) >= 900
    # log scale: roughly a third of the draws below 10
    assert 0.25 < np.mean(np.array(vals) < 10) < 0.45


@pytest.mark.parametrize(
    "d",
    [
        FloatDistribution(9.0, 9.000000000000002, log=True),  # adjacent floats: equal logs
        FloatDistribution(-1.7976931348623157e308, 1.7976931348623157e308),  # span overflows
        FloatDistribution(5e-324, 1e-323),
    ],
)
def test_extreme_ranges_encode_inside_the_unit_interval(d):
    for u in (0.0, 0.3, 0.5, 1.0):
        v = d.from_unit(u)
        assert d.contains(v)
        assert 0.0 <= d.to_unit(v) <= 1.0
    assert d.to_unit(d.low) == 0.0 and d.to_unit(d.high) == 1.0


def test_membership():
    f = FloatDistribution(0, 1, step=0.25)
    assert f.contains(0.75) and not f.contains(0.8) and not f.contains(1.25)
    assert not f.contains("0.5") and not f.contains(True)
    i = IntDistribution(0, 10, step=5)
    assert i.contains(5) and not i.contains(4) and not i.contains(5.5)
    assert i.contains(np.int64(10))
    assert FloatDistribution(1, 1).single() and not FloatDistribution(1, 2).single()


def test_unknown_json_type():
    with pytest.raises(ValueError, match="unknown distribution type"):
        distribution_from_json({"type": "gauss"}, name="x")


@given(float_dists())
def test_equal_distributions_hash_equal(d):
    assume(True)
    again = distribution_from_json(d.to_json())
    assert hash(again) == hash(d)


def test_stepped_floats_are_the_grid_values_without_float_noise():
    """0.1 * 3 is 0.30000000000000004 in floating point: a stepped float's values are
    the grid's own (0.3), so a sampled 0.3 and an enqueued 0.3 are one configuration."""
    d = FloatDistribution(0.0, 1.0, step=0.1)
    assert [d.from_unit((k + 0.5) / 11) for k in range(11)] == [round(0.1 * k, 1) for k in range(11)]
    assert d.validate_value(0.30000000000000004) == 0.3
    fine = FloatDistribution(1e-6, 2e-6, step=1e-7)
    assert fine.from_unit(0.99) == 2e-6 and fine.validate_value(1.3e-6) == 1.3e-6


def test_arithmetic_grid_values_meet_the_stored_grid_values(tmp_path):
    """Values computed as k * 0.1 (np.arange, list comprehensions) are the stored 0.3:
    a resumed grid does not run them again, and enqueue(skip_if_exists) skips them."""
    import hypersearch as hs
    from hypersearch.samplers.grid import GridSampler

    url = f"sqlite:///{tmp_path}/g.db"
    vals = [k * 0.1 for k in range(6)]

    def objective(t):
        return t.suggest_float("x", 0, 1, step=0.1)

    hs.create_study("g", url, sampler=GridSampler({"x": vals})).optimize(objective)
    study = hs.load_study("g", url, sampler=GridSampler({"x": [*vals, 0.7]}))
    study.optimize(objective)
    assert sorted(t.params["x"] for t in study.trials) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7]
    assert study.enqueue_trial({"x": 0.1 * 3}, skip_if_exists=True) is None
    assert FloatDistribution(0, 1, step=1 / 3).validate_value(1 / 3) == 1 / 3  # no rounding beyond noise


def test_numpy_arrays_of_choices_are_accepted():
    d = CategoricalDistribution(np.logspace(-3, 3, 7), name="C")
    assert d.choices[0] == 0.001 and all(type(c) is float for c in d.choices)
    study = hs.create_study(seed=0)
    study.optimize(lambda t: t.suggest_categorical("C", np.logspace(-3, 3, 7)), n_trials=3)
    assert all(t.params["C"] in d.choices for t in study.trials)
    with pytest.raises(ValueError, match="choose a key and map it"):
        CategoricalDistribution([(50,), (100,)], name="sizes")
