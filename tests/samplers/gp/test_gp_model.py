"""GP model: kernel, posterior, marginal likelihood and its gradient, fit, output warps."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from hypersearch.samplers.gp._gp import (
    GaussianProcess,
    KernelPrior,
    cholesky_jitter,
    fit_kernel_params,
    neg_log_posterior,
)
from hypersearch.samplers.gp._kernel import (
    ColumnGroups,
    group_sq_dists,
    matern52,
    matern52_grad,
    scaled_sq_dists,
)
from hypersearch.samplers.gp._transform import transform_outputs, yeo_johnson, yeo_johnson_lambda


def _matern52_explicit(a, b, ls, s2):
    """Textbook Matérn-5/2 on plain Euclidean distance scaled per dimension."""
    d = np.sqrt(np.sum(((a - b) / ls) ** 2))
    return s2 * (1 + np.sqrt(5) * d + 5 * d**2 / 3) * np.exp(-np.sqrt(5) * d)


def _mixed_data(n=12, seed=0):
    """Two numeric columns and a 3-choice one-hot categorical."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 5))
    X[:, :2] = rng.random((n, 2))
    X[np.arange(n), 2 + rng.integers(3, size=n)] = 1.0
    groups = ColumnGroups(np.array([0, 1, 2, 2, 2]), np.array([1.0, 1.0, 0.5, 0.5, 0.5]))
    y = np.sin(4 * X[:, 0]) + X[:, 1] ** 2 + X[:, 3] + 0.05 * rng.standard_normal(n)
    return X, y, groups


def test_kernel_matches_textbook_formula_and_hamming_for_categoricals():
    rng = np.random.default_rng(0)
    A, B = rng.random((4, 3)), rng.random((5, 3))
    ls = np.array([0.3, 1.2, 0.7])
    r2 = scaled_sq_dists(A, B, 1 / ls**2)
    K = 2.5 * matern52(r2)
    expected = np.array([[_matern52_explicit(a, b, ls, 2.5) for b in B] for a in A])
    np.testing.assert_allclose(K, expected, rtol=1e-10, atol=1e-12)
    # One-hot categorical with weight 0.5: squared distance is 0 (same) or 1 (different).
    X, _, groups = _mixed_data()
    D = group_sq_dists(X, groups)
    same = (X[:, None, 2:] == X[None, :, 2:]).all(-1)
    np.testing.assert_allclose(D[2], np.where(same, 0.0, 1.0))


def test_matern_derivative_matches_finite_differences():
    r2 = np.array([0.0, 1e-6, 0.01, 0.3, 1.0, 4.0])
    m, dm = matern52_grad(r2)
    h = 1e-7
    fd = (matern52(r2 + h) - matern52(np.maximum(r2 - h, 0))) / (r2 + h - np.maximum(r2 - h, 0))
    np.testing.assert_allclose(dm, fd, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(m, matern52(r2))
    assert m[0] == 1.0


def test_posterior_matches_explicit_numpy_solve():
    rng = np.random.default_rng(1)
    X = rng.random((5, 2))
    y = rng.standard_normal(5)
    ls, s2, noise = np.array([0.4, 0.9]), 1.7, 0.01
    theta = np.r_[np.log(ls), np.log(s2), np.log(noise - 1e-6)]
    gp = GaussianProcess(X, y, theta, ColumnGroups.identity(2), min_noise=1e-6)
    Xq = rng.random((7, 2))
    K = np.array([[_matern52_explicit(a, b, ls, s2) for b in X] for a in X]) + noise * np.eye(5)
    Ks = np.array([[_matern52_explicit(a, b, ls, s2) for b in X] for a in Xq])
    mean = Ks @ np.linalg.solve(K, y)
    var = s2 - np.einsum("ij,ji->i", Ks, np.linalg.solve(K, Ks.T))
    m, v = gp.posterior(Xq)
    np.testing.assert_allclose(m, mean, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(v, var, rtol=1e-9, atol=1e-10)


def test_noise_free_gp_interpolates_training_points():
    rng = np.random.default_rng(2)
    X = rng.random((8, 3))
    y = np.cos(3 * X).sum(1)
    theta = np.r_[np.log([0.5, 0.5, 0.5]), 0.0, 0.0]
    gp = GaussianProcess(X, y, theta, ColumnGroups.identity(3), min_noise=1e-10, fixed_noise=True)
    m, v = gp.posterior(X)
    np.testing.assert_allclose(m, y, atol=1e-6)
    assert np.all(v < 1e-6)
    # ...and is uncertain far from the data.
    assert gp.posterior(np.full((1, 3), 5.0))[1][0] > 0.99


def test_posterior_gradients_match_finite_differences():
    X, y, groups = _mixed_data()
    theta = np.array([-1.0, -0.5, 0.2, 0.3, -3.0])
    gp = GaussianProcess(X, y, theta, groups)
    xq = np.array([[0.31, 0.72, 0.0, 1.0, 0.0], [0.9, 0.1, 1.0, 0.0, 0.0]])
    mean, var, dmean, dvar = gp.posterior_grad(xq)
    m2, v2 = gp.posterior(xq)
    np.testing.assert_allclose(mean, m2, rtol=1e-10)
    np.testing.assert_allclose(var, v2, rtol=1e-8)
    for i in range(len(xq)):
        def f_mean(z, i=i):
            return gp.posterior(z[None, :])[0][0]

        def f_var(z, i=i):
            return gp.posterior(z[None, :])[1][0]

        np.testing.assert_allclose(dmean[i], approx_fprime(xq[i], f_mean, 1e-7), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(dvar[i], approx_fprime(xq[i], f_var, 1e-7), rtol=1e-4, atol=1e-6)


def test_gradient_at_a_training_point_is_finite():
    X, y, groups = _mixed_data()
    gp = GaussianProcess(X, y, np.array([-1.0, -0.5, 0.2, 0.3, -3.0]), groups)
    _, _, dmean, dvar = gp.posterior_grad(X[:3])
    assert np.all(np.isfinite(dmean)) and np.all(np.isfinite(dvar))


@pytest.mark.parametrize("fixed_noise", [False, True])
@pytest.mark.parametrize("with_prior", [False, True])
def test_log_marginal_likelihood_and_gradient(fixed_noise, with_prior):
    X, y, groups = _mixed_data(n=15, seed=3)
    D = group_sq_dists(X, groups)
    prior = KernelPrior() if with_prior else None
    theta = np.array([-1.2, 0.4, -0.3, 0.1, -2.5])
    val, grad = neg_log_posterior(theta, D, y, prior, 1e-6, fixed_noise)
    # Value: -log N(y; 0, K) computed directly (plus the prior).
    G = groups.n_groups
    gp = GaussianProcess(X, y, theta, groups, min_noise=1e-6, fixed_noise=fixed_noise)
    K = gp.L @ gp.L.T
    sign, logdet = np.linalg.slogdet(K)
    expected = 0.5 * y @ np.linalg.solve(K, y) + 0.5 * logdet + 0.5 * len(y) * np.log(2 * np.pi)
    if with_prior:
        expected -= prior.log_density(theta, G, with_noise=not fixed_noise)[0]
    assert sign > 0
    np.testing.assert_allclose(val, expected, rtol=1e-10)
    fd = approx_fprime(theta, lambda t: neg_log_posterior(t, D, y, prior, 1e-6, fixed_noise)[0], 1e-6)
    np.testing.assert_allclose(grad, fd, rtol=1e-4, atol=1e-4)
    if fixed_noise:
        assert grad[-1] == 0.0


def test_fit_finds_relevant_dimensions_and_beats_its_start():
    rng = np.random.default_rng(4)
    X = rng.random((40, 3))
    y = np.sin(6 * X[:, 0]) + 0.01 * rng.standard_normal(40)  # only x0 matters
    y = (y - y.mean()) / y.std()
    groups = ColumnGroups.identity(3)
    theta = fit_kernel_params(X, y, groups)
    D = group_sq_dists(X, groups)
    prior = KernelPrior()
    assert neg_log_posterior(theta, D, y, prior, 1e-6)[0] < neg_log_posterior(prior.mode(3, 1e-6), D, y, prior, 1e-6)[0]
    ls = np.exp(theta[:3])
    assert ls[0] < ls[1] and ls[0] < ls[2]
    assert np.exp(theta[4]) < 0.05  # nearly noise-free data: small noise
    # A warm start from the optimum stays there.
    again = fit_kernel_params(X, y, groups, init=[theta], restart_from_prior=False)
    assert neg_log_posterior(again, D, y, prior, 1e-6)[0] <= neg_log_posterior(theta, D, y, prior, 1e-6)[0] + 1e-6


def test_cholesky_falls_back_to_jitter_on_singular_matrices():
    x = np.linspace(0, 1, 6)[:, None]
    X = np.vstack([x, x])  # every point twice
    K = matern52(scaled_sq_dists(X, X, np.array([1.0])))
    L, jitter = cholesky_jitter(K)
    assert jitter > 0
    np.testing.assert_allclose(L @ L.T, K + jitter * np.eye(len(K)), atol=1e-8)
    L0, j0 = cholesky_jitter(K + np.eye(len(K)))
    assert j0 == 0.0
    # A GP on duplicated points with no noise still works.
    gp = GaussianProcess(X, np.r_[x[:, 0], x[:, 0]], np.array([0.0, 0.0, 0.0]),
                         ColumnGroups.identity(1), min_noise=0.0, fixed_noise=True)
    assert np.all(np.isfinite(gp.posterior(np.array([[0.5]]))[0]))


@pytest.mark.parametrize("method", ["yeo-johnson", "rank", "standardize"])
def test_output_warps_preserve_order_and_standardise(method):
    rng = np.random.default_rng(5)
    y = np.r_[rng.lognormal(0, 2, 60), 1e6]  # heavy tail and one huge outlier
    z = transform_outputs(y, method)
    order = np.argsort(y)
    assert np.all(np.diff(z[order]) > 0)
    assert abs(z.mean()) < 1e-9 and abs(z.std() - 1) < 1e-9
    if method != "standardize":
        # The outlier no longer dwarfs everything: the best points are spread out.
        assert z.max() < 5 and np.ptp(z[order[:30]]) > 0.5
    assert not np.any(transform_outputs(np.full(5, 3.0), method))  # constant: zeros
    assert transform_outputs(np.array([1.0]), method).shape == (1,)


def test_yeo_johnson_matches_scipy():
    from scipy import stats

    rng = np.random.default_rng(6)
    z = rng.standard_normal(50) ** 3
    z = (z - z.mean()) / z.std()
    for lmbda in (-1.5, 0.0, 0.5, 2.0, 3.0):
        np.testing.assert_allclose(yeo_johnson(z, lmbda), stats.yeojohnson(z, lmbda), rtol=1e-10, atol=1e-12)
    lam = yeo_johnson_lambda(z)
    ref = stats.yeojohnson(z)[1]
    if -2 < ref < 4:
        assert abs(lam - ref) < 0.02
    with pytest.raises(ValueError, match="output warp"):
        transform_outputs(z, "log")
