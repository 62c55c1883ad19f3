"""Parzen estimators, domain encodings and the good/bad split of the TPE sampler."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import hypersearch as hs
from hypersearch.samplers.tpe._parzen import DimSpec, ParzenEstimator
from hypersearch.samplers.tpe._split import (
    default_gamma,
    default_weights,
    nondominated_ranks,
    split_indices,
    sqrt_gamma,
)

_trapz = getattr(np, "trapezoid", None) or np.trapz  # numpy 1.x has only trapz

F = hs.FloatDistribution
I = hs.IntDistribution  # noqa: E741
C = hs.CategoricalDistribution


def _estimator(specs, obs, weights=None, **kw):
    obs = np.asarray(obs, dtype=float).reshape(-1, len(specs))
    w = np.ones(len(obs)) if weights is None else weights
    return ParzenEstimator([DimSpec(d) for d in specs], obs, w, **kw)


# -- encodings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dist, values",
    [
        (F(-5, 10), [-5.0, 0.0, 10.0, 3.3]),
        (F(1e-5, 1.0, log=True), [1e-5, 1e-3, 1.0]),
        (F(0, 1, step=0.1), [0.0, 0.3, 1.0]),
        (I(0, 20, step=5), [0, 5, 20]),
        (I(1, 1000, log=True), [1, 7, 1000]),
        (I(-3, 3), [-3, 0, 3]),
        (C(["a", None, True, 1, 2.5]), ["a", None, True, 1, 2.5]),
    ],
)
def test_dimspec_round_trip_matches_to_unit(dist, values):
    spec = DimSpec(dist)
    for v in values:
        u = spec.encode_value(v)
        if spec.kind == 2:  # categorical: the choice index
            assert spec.decode(u) == v and type(spec.decode(u)) is type(v)
            continue
        assert u == pytest.approx(dist.to_unit(v), abs=1e-12)
        assert dist.contains(spec.decode(u)) and spec.decode(u) == pytest.approx(v)


def test_dimspec_marks_values_outside_the_current_domain():
    spec = DimSpec(F(0, 1))
    u = spec.encode_numbers(np.array([0.5, 1.5, -0.1, np.nan]))
    assert u[0] == 0.5 and np.isnan(u[1:]).all()
    assert math.isnan(spec.encode_value("x")) and math.isnan(spec.encode_value(True))
    cat = DimSpec(C([4, 8]))
    assert math.isnan(cat.encode_value(16)) and math.isnan(cat.encode_value(4.0))
    assert cat.encode_value(8) == 1.0


# -- densities ------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoints", [False, True])
@pytest.mark.parametrize("bandwidth", ["neighbor", "scott"])
def test_continuous_pdf_integrates_to_one(endpoints, bandwidth):
    rng = np.random.default_rng(0)
    obs = np.concatenate([rng.random(12), [0.0, 1.0]])
    pe = _estimator(
        [F(0, 1)], obs, rng.random(len(obs)) + 0.1, consider_endpoints=endpoints, bandwidth=bandwidth
    )
    grid = np.linspace(0, 1, 20001)
    dens = np.exp(pe.log_pdf(grid[:, None]))
    assert _trapz(dens, grid) == pytest.approx(1.0, abs=2e-3)


def test_two_dimensional_pdf_with_missing_values_integrates_to_one():
    rng = np.random.default_rng(1)
    obs = rng.random((15, 2))
    obs[3, 0] = np.nan  # unknown coordinate: uniform factor
    obs[7, 1] = np.nan
    pe = _estimator([F(0, 1), F(-1, 1)], obs)
    g = np.linspace(0, 1, 401)
    xx, yy = np.meshgrid(g, g, indexing="ij")
    dens = np.exp(pe.log_pdf(np.column_stack([xx.ravel(), yy.ravel()]))).reshape(xx.shape)
    total = _trapz(_trapz(dens, g, axis=1), g)
    assert total == pytest.approx(1.0, abs=5e-3)


@pytest.mark.parametrize("dist", [I(0, 6), F(0, 1, step=0.25), I(1, 40, log=True), I(0, 9, step=3)])
def test_discrete_probabilities_sum_to_one(dist):
    spec = DimSpec(dist)
    values = [dist.low + k * dist.step for k in range(spec.n)]
    assert all(dist.contains(v) for v in values)
    obs = [spec.encode_value(v) for v in values[:3]] + [float("nan")]
    pe = ParzenEstimator([spec], np.array(obs)[:, None], np.ones(len(obs)))
    pts = np.array([[spec.encode_value(v)] for v in values])
    p = np.exp(pe.log_pdf(pts))
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    assert p[0] > p[-1]  # observed values are likelier


def test_categorical_probabilities_sum_to_one_and_favour_observed_choices():
    pe = _estimator([C(["a", "b", "c", "d"])], [1, 1, 1, 2], prior_weight=1.0)
    p = np.exp(pe.log_pdf(np.arange(4.0)[:, None]))
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert p[1] > p[2] > p[0] == pytest.approx(p[3])
    # no observation: uniform
    pe0 = _estimator([C(["a", "b", "c"])], np.zeros((0, 1)))
    assert np.exp(pe0.log_pdf(np.arange(3.0)[:, None])) == pytest.approx([1 / 3] * 3)


def test_mixed_joint_density_sums_to_one():
    specs = [C(["x", "y"]), I(0, 3), F(0, 1)]
    obs = [[0, 0.125, 0.2], [1, 0.875, 0.9], [0, 0.375, 0.5]]
    pe = _estimator(specs, obs)
    g = np.linspace(0, 1, 4001)
    total = 0.0
    for c, k in itertools.product(range(2), range(4)):
        pts = np.column_stack([np.full_like(g, c), np.full_like(g, (k + 0.5) / 4), g])
        total += _trapz(np.exp(pe.log_pdf(pts)), g)
    assert total == pytest.approx(1.0, abs=2e-3)


def test_samples_stay_in_the_domain_and_snap_to_cells():
    rng = np.random.default_rng(2)
    specs = [F(0, 1), I(0, 4), C(["a", "b", "c"]), F(1e-3, 1, log=True)]
    obs = np.column_stack([rng.random(30), (rng.integers(0, 5, 30) + 0.5) / 5,
                           rng.integers(0, 3, 30), rng.random(30)])
    obs[::4, 0] = np.nan
    pe = _estimator(specs, obs)
    s = pe.sample(rng, 5000)
    assert np.all((s[:, [0, 1, 3]] >= 0) & (s[:, [0, 1, 3]] <= 1))
    assert set(np.round(s[:, 1] * 5 - 0.5, 9)) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    assert set(s[:, 2]) <= {0.0, 1.0, 2.0}
    spec = DimSpec(specs[1])
    assert all(specs[1].contains(spec.decode(u)) for u in s[:50, 1])


def test_conditioning_is_the_joint_over_the_marginal():
    rng = np.random.default_rng(3)
    obs = rng.random((10, 2))
    pe = _estimator([F(0, 1), F(0, 1)], obs)
    a = 0.3
    cond = pe.condition([0], np.array([a]))
    g = np.linspace(0, 1, 4001)
    joint = np.exp(pe.log_pdf(np.column_stack([np.full_like(g, a), g])))
    marginal = _trapz(joint, g)
    got = np.exp(cond.log_pdf(g[:, None]))
    assert _trapz(got, g) == pytest.approx(1.0, abs=2e-3)
    np.testing.assert_allclose(got, joint / marginal, rtol=1e-6)


# -- split, gamma and weights ------------------------------------------------------------------


def test_gamma_schedules_and_weights():
    assert [default_gamma(n) for n in (0, 1, 10, 11, 100, 1000)] == [0, 1, 1, 2, 10, 25]
    assert [sqrt_gamma(n) for n in (1, 16, 100, 100000)] == [1, 1, 3, 25]
    w = default_weights(30)
    assert len(w) == 30 and np.all(w[-25:] == 1) and np.all(np.diff(w) >= 0) and w[0] < 0.1
    assert np.all(default_weights(10) == 1)


def test_single_objective_split_puts_pruned_after_complete():
    losses = np.array([[3.0], [1.0], [np.nan], [0.5], [2.0], [-9.0]])
    tier = np.array([0, 0, 1, 0, 0, 1])
    step = np.array([0, 0, 5, 0, 0, 1.0])
    below, above = split_indices(losses, tier, step, 2)
    assert list(below) == [1, 3]
    below, _ = split_indices(losses, tier, step, 5)
    assert list(below) == [0, 1, 2, 3, 4]  # the deeper pruned trial first
    assert list(above) == [0, 2, 4, 5]


def test_nondominated_ranks_match_brute_force():
    rng = np.random.default_rng(4)
    pts = rng.integers(0, 6, size=(60, 2)).astype(float)
    ranks = nondominated_ranks(pts, len(pts))
    remaining = list(range(len(pts)))
    r = 0
    while remaining:
        front = [i for i in remaining if not any(
            np.all(pts[j] <= pts[i]) and np.any(pts[j] < pts[i]) for j in remaining)]
        assert sorted(np.flatnonzero(ranks == r)) == sorted(front)
        remaining = [i for i in remaining if i not in front]
        r += 1


def test_multi_objective_split_takes_fronts_then_spread_points():
    front = np.array([[0.0, 1.0], [0.25, 0.75], [0.5, 0.5], [0.75, 0.25], [1.0, 0.0]])
    dominated = front + 2.0
    losses = np.vstack([dominated, front])
    below, above = split_indices(losses, np.zeros(10, dtype=int), np.zeros(10), 3)
    assert set(below) <= set(range(5, 10)) and len(below) == 3
    chosen = losses[below]
    # the chosen points spread along the front, not bunched at one end
    assert chosen[:, 0].max() - chosen[:, 0].min() >= 0.5
    below, _ = split_indices(losses, np.zeros(10, dtype=int), np.zeros(10), 7)
    assert set(range(5, 10)) <= set(below)
