"""Acquisition functions: log-EI, log-PI, UCB, their gradients, and the Pareto filter."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from scipy.stats import norm

from hypersearch.samplers.gp._acquisition import (
    acquisition_and_grad,
    acquisition_value,
    all_acquisitions,
    log_ei,
    log_h,
    log_pi,
    ucb,
)
from hypersearch.samplers.gp._gp import GaussianProcess
from hypersearch.samplers.gp._kernel import ColumnGroups
from hypersearch.samplers.gp._optimize import pareto_mask


def test_log_ei_matches_monte_carlo_estimate():
    rng = np.random.default_rng(0)
    eps = rng.standard_normal(2_000_000)
    for mu, sigma, best in [(0.0, 1.0, 0.0), (0.5, 0.3, 0.2), (-1.0, 2.0, 0.5), (1.0, 0.5, 0.0)]:
        samples = mu + sigma * eps
        ei_mc = np.maximum(best - samples, 0.0).mean()
        val = log_ei(np.array([mu]), np.array([sigma]), best)[0][0]
        assert abs(val - math.log(ei_mc)) < 0.03, (mu, sigma, best)


def test_log_ei_matches_closed_form_where_it_does_not_underflow():
    z = np.linspace(-8, 8, 161)
    direct = np.log(norm.pdf(z) + z * norm.cdf(z))
    np.testing.assert_allclose(log_h(z), direct, rtol=1e-9, atol=1e-12)
    mu, sigma, best = np.array([0.3, 2.0]), np.array([0.5, 0.1]), 0.1
    zz = (best - mu) / sigma
    ei = sigma * (norm.pdf(zz) + zz * norm.cdf(zz))
    np.testing.assert_allclose(log_ei(mu, sigma, best)[0], np.log(ei), rtol=1e-9)


def test_log_ei_is_finite_and_monotone_far_in_the_tail():
    z = -np.logspace(0.5, 12, 200)  # down to z = -1e12
    with np.errstate(all="ignore"):
        naive = np.log(norm.pdf(z) + z * norm.cdf(z))
    assert np.isneginf(naive[-1]) or np.isnan(naive[-1])  # the naive form underflows...
    lh = log_h(z)
    assert np.all(np.isfinite(lh))  # ...the stable one does not
    assert np.all(np.diff(lh) < 0)  # h is increasing in z, and z decreases here
    # Asymptote: log h(z) ~ -z^2/2 - log(2 pi)/2 - 2 log|z| for z -> -inf.
    zz = np.array([-50.0, -200.0])
    np.testing.assert_allclose(lh[-1], -0.5 * z[-1] ** 2 - 0.5 * math.log(2 * math.pi) - 2 * math.log(-z[-1]), rtol=1e-12)
    np.testing.assert_allclose(log_h(zz), -0.5 * zz**2 - 0.5 * np.log(2 * np.pi) - 2 * np.log(-zz), rtol=1e-3)
    # Continuity across the branch points z = -1 and z = -1/sqrt(eps).
    for z0 in (-1.0, -1 / math.sqrt(np.finfo(float).eps)):
        a, b = log_h(np.array([z0 * (1 + 1e-9), z0 * (1 - 1e-9)]))
        assert abs(a - b) < 1e-6 * max(1.0, abs(a))


def test_log_ei_derivatives_match_finite_differences_in_the_tail():
    for mu, sigma, best in [(0.0, 1.0, 0.3), (30.0, 0.5, 0.0), (3000.0, 0.01, 0.0)]:
        v, dmu, dsig = log_ei(np.array([mu]), np.array([sigma]), best)
        h_mu = 1e-6 * max(1.0, abs(mu))
        fd_mu = (log_ei(np.array([mu + h_mu]), np.array([sigma]), best)[0] - log_ei(np.array([mu - h_mu]), np.array([sigma]), best)[0]) / (2 * h_mu)
        h_s = 1e-7 * sigma
        fd_s = (log_ei(np.array([mu]), np.array([sigma + h_s]), best)[0] - log_ei(np.array([mu]), np.array([sigma - h_s]), best)[0]) / (2 * h_s)
        np.testing.assert_allclose(dmu, fd_mu, rtol=1e-4)
        np.testing.assert_allclose(dsig, fd_s, rtol=1e-4)
        assert np.isfinite(v).all()


def test_log_pi_and_ucb_sanity():
    mu = np.array([-1.0, 0.0, 1.0, 40.0])
    sigma = np.ones(4)
    lp = log_pi(mu, sigma, 0.0)[0]
    np.testing.assert_allclose(lp[:3], np.log(norm.cdf(-mu[:3])), rtol=1e-12)
    assert np.all(np.diff(lp) < 0) and np.isfinite(lp[-1])  # lower mean: more likely to improve
    np.testing.assert_allclose(lp[1], math.log(0.5))
    # PI prefers certainty when the mean is already better than the incumbent.
    assert log_pi(np.array([-1.0]), np.array([0.1]), 0.0)[0] > log_pi(np.array([-1.0]), np.array([1.0]), 0.0)[0]
    # UCB: sqrt(beta) * sigma - mu, increasing in sigma, decreasing in mu.
    v = ucb(np.array([1.0, 1.0, 2.0]), np.array([1.0, 2.0, 2.0]), 4.0)[0]
    np.testing.assert_allclose(v, [1.0, 3.0, 2.0])
    # EI increases with sigma and decreases with mu.
    e = log_ei(np.array([0.0, 0.0, 1.0]), np.array([1.0, 2.0, 2.0]), 0.0)[0]
    assert e[1] > e[0] and e[1] > e[2]


def _toy_gp():
    rng = np.random.default_rng(3)
    X = rng.random((10, 3))
    X[:, 2] = (rng.random(10) < 0.5).astype(float)  # a 0/1 column, like one-hot
    y = np.sin(5 * X[:, 0]) + X[:, 1] - X[:, 2]
    y = (y - y.mean()) / y.std()
    theta = np.array([-1.2, -0.8, 0.0, 0.0, -4.0])
    return GaussianProcess(X, y, theta, ColumnGroups.identity(3)), float(y.min())


@pytest.mark.parametrize("kind", ["ei", "pi", "ucb"])
def test_acquisition_gradient_matches_finite_differences(kind):
    gp, best = _toy_gp()
    Xq = np.array([[0.2, 0.3, 0.0], [0.77, 0.51, 1.0], [0.5, 0.95, 0.4]])
    val, grad = acquisition_and_grad(gp, Xq, kind, best, 2.0)
    np.testing.assert_allclose(val, acquisition_value(gp, Xq, kind, best, 2.0), rtol=1e-10)
    for i in range(len(Xq)):
        fd = approx_fprime(Xq[i], lambda z: acquisition_value(gp, z[None, :], kind, best, 2.0)[0], 1e-7)
        np.testing.assert_allclose(grad[i], fd, rtol=1e-4, atol=1e-5)


def test_all_acquisitions_and_pareto_mask():
    gp, best = _toy_gp()
    Xq = np.random.default_rng(0).random((50, 3))
    F = all_acquisitions(gp, Xq, best, 2.0)
    for j, kind in enumerate(["ei", "pi", "ucb"]):
        np.testing.assert_allclose(F[:, j], acquisition_value(gp, Xq, kind, best, 2.0))
    mask = pareto_mask(F)
    assert mask.any()
    for i in np.flatnonzero(mask):  # nobody dominates a front point
        dom = np.all(F >= F[i], axis=1) & np.any(F > F[i], axis=1)
        assert not dom.any()
    for i in np.flatnonzero(~mask):  # somebody dominates every other point
        dom = np.all(F >= F[i], axis=1) & np.any(F > F[i], axis=1)
        assert dom.any()
    # Each acquisition's maximiser is on the front.
    assert mask[np.argmax(F[:, 0])] and mask[np.argmax(F[:, 2])]
    F2 = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 2.0], [0.0, 0.0]])
    np.testing.assert_array_equal(pareto_mask(F2), [True, True, True, False])
