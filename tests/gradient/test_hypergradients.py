"""Hypergradients: the learning rate's and the implicit ones match finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypersearch.gradient import HypergradientLR, hypergradient_descent, implicit_hypergradient  # noqa: E402


@pytest.fixture(autouse=True)
def _float64():
    """Finite differences need double precision; restored after each test so that
    other tests' float32 models are unaffected."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _quadratic():
    A = torch.diag(torch.tensor([1.0, 4.0, 9.0]))
    return A, (lambda th: 0.5 * th @ A @ th)


def test_lr_hypergradient_matches_finite_differences():
    """After theta_t = theta_{t-1} - lr g_{t-1}, d f(theta_t)/d lr = -g_t . g_{t-1}:
    the wrapper's hypergradient equals a central difference in lr."""
    A, f = _quadratic()
    theta = torch.tensor([1.0, -1.0, 0.5], requires_grad=True)
    opt = torch.optim.SGD([theta], lr=0.05)
    hd = HypergradientLR(opt, hyper_lr=0.0)  # measure only
    f(theta).backward()
    g0 = theta.grad.detach().clone()
    t0 = theta.detach().clone()
    hd.step()
    opt.zero_grad()
    f(theta).backward()
    h = hd.hypergradient()
    eps = 1e-6
    fd = (f(t0 - (0.05 + eps) * g0) - f(t0 - (0.05 - eps) * g0)) / (2 * eps)
    assert h == pytest.approx(float(fd), rel=1e-6)


def test_hypergradient_descent_rescues_a_tiny_learning_rate():
    A, f = _quadratic()

    def run(hyper_lr, kind="sgd"):
        theta = torch.tensor([1.0, -1.0, 0.5], requires_grad=True)
        opt = torch.optim.SGD([theta], lr=1e-4) if kind == "sgd" else torch.optim.Adam([theta], lr=1e-4)
        hd = HypergradientLR(opt, hyper_lr=hyper_lr)
        for _ in range(100):
            opt.zero_grad()
            f(theta).backward()
            hd.step()
        return float(f(theta).detach()), hd.history

    fixed, _ = run(0.0)
    learnt, lrs = run(1e-3)
    assert learnt < 1e-3 * fixed
    assert lrs[-1] > 10 * 1e-4  # the learning rate grew
    adam_fixed, _ = run(0.0, "adam")
    adam_hd, _ = run(1e-3, "adam")  # works with any optimizer's direction
    assert adam_hd < adam_fixed


def test_a_learning_rate_clipped_to_zero_can_grow_again_and_new_groups_join():
    """A group whose lr hits ``min_lr = 0`` keeps a direction (steepest descent)
    and its lr grows again while the gradient persists (before, it stayed at zero
    for good); a param group added later (unfreezing) joins in."""
    torch.manual_seed(0)
    X = torch.randn(256, 10) * torch.linspace(0.3, 2, 10)
    y = X @ torch.randn(10) + 0.1 * torch.randn(256)
    torch.manual_seed(1)
    m = torch.nn.Linear(10, 1)
    opt = torch.optim.SGD([{"params": [m.weight], "lr": 1e-3}, {"params": [m.bias], "lr": 1e-4}])
    hd = HypergradientLR(opt, 1e-3)
    bias_lrs = []
    for _ in range(300):
        idx = torch.randint(0, 256, (32,))
        opt.zero_grad()
        torch.nn.functional.mse_loss(m(X[idx]).squeeze(1), y[idx]).backward()
        hd.step()
        bias_lrs.append(opt.param_groups[1]["lr"])
    first_zero = bias_lrs.index(0.0)
    assert any(lr > 0 for lr in bias_lrs[first_zero:])
    assert abs(float(m.bias.detach())) < 0.05  # trained (the true bias is 0; it started at 0.087)

    extra = torch.nn.Parameter(torch.ones(3))
    opt.add_param_group({"params": [extra], "lr": 0.01})
    for _ in range(3):
        opt.zero_grad()
        ((extra - 2.0) ** 2).sum().backward()
        hd.step()
    assert opt.param_groups[2]["lr"] > 0.01  # the consistent descent raised it


def _ridge_problem(seed=0, n=60, d=8):
    rng = np.random.default_rng(seed)
    X = torch.tensor(rng.standard_normal((n, d)))
    w_true = torch.tensor(rng.standard_normal(d))
    y = X @ w_true + 0.8 * torch.tensor(rng.standard_normal(n))
    return X[:30], y[:30], X[30:], y[30:]


def _ridge_fit(Xtr, ytr, lam):
    d = Xtr.shape[1]
    return torch.linalg.solve(Xtr.T @ Xtr / len(ytr) + lam * torch.eye(d), Xtr.T @ ytr / len(ytr))


@pytest.mark.parametrize("solver", ["cg", "exact"])
def test_implicit_hypergradient_of_ridge_matches_finite_differences(solver):
    Xtr, ytr, Xva, yva = _ridge_problem()

    def inner(p, h):
        return 0.5 * ((Xtr @ p[0] - ytr) ** 2).mean() + 0.5 * h[0] * (p[0] ** 2).sum()

    def outer(p, h):
        return ((Xva @ p[0] - yva) ** 2).mean()

    def val(lam):
        return float(((Xva @ _ridge_fit(Xtr, ytr, lam) - yva) ** 2).mean())

    for lam in (0.01, 0.3, 2.0):
        w = _ridge_fit(Xtr, ytr, lam).requires_grad_(True)
        h = torch.tensor(lam, requires_grad=True)
        (g,) = implicit_hypergradient(inner, outer, [w], [h], solver=solver)
        eps = 1e-6 * max(lam, 1.0)
        fd = (val(lam + eps) - val(lam - eps)) / (2 * eps)
        assert float(g) == pytest.approx(fd, rel=1e-5, abs=1e-9)


def test_per_feature_penalties_at_the_cost_of_one():
    """Eight per-feature penalties are tuned with the same number of fits as one,
    and reach a validation loss below the single penalty's."""
    Xtr, ytr, Xva, yva = _ridge_problem(seed=1)
    d = Xtr.shape[1]
    names = [f"l{i}" for i in range(d)]

    def fit(h, warm):
        lam = torch.tensor([h[k] for k in names])
        return [torch.linalg.solve(Xtr.T @ Xtr / len(ytr) + torch.diag(lam), Xtr.T @ ytr / len(ytr))]

    def inner(p, h):
        lam = torch.stack([h[k] for k in names])
        return 0.5 * ((Xtr @ p[0] - ytr) ** 2).mean() + 0.5 * (lam * p[0] ** 2).sum()

    def outer(p, h):
        return ((Xva @ p[0] - yva) ** 2).mean()

    many = hypergradient_descent(fit, inner, outer, dict.fromkeys(names, 0.1), steps=30, tol=None)
    one = hypergradient_descent(
        lambda h, w: fit(dict.fromkeys(names, h["l"]), w),
        lambda p, h: inner(p, {k: h["l"] for k in names}),
        outer, {"l": 0.1}, steps=30, tol=None,
    )
    assert many.fits == one.fits == 30
    assert many.value < one.value
    assert many.value < one.history[0][1]
    assert all(math.isfinite(v) and v > 0 for v in many.hparams.values())


def test_the_best_params_are_those_of_the_best_fit_when_fit_reuses_one_model():
    """A ``fit`` that writes each solution into one persistent model returns the same
    tensors every time; the result keeps a copy of the best fit's (before, it held
    the last fit's values)."""
    Xtr, ytr, Xva, yva = _ridge_problem(seed=0)
    model = torch.nn.Linear(Xtr.shape[1], 1, bias=False).double()

    def fit(h, warm):
        with torch.no_grad():
            model.weight.copy_(_ridge_fit(Xtr, ytr, h["l2"]).reshape(1, -1))
        return list(model.parameters())

    def inner(p, h):
        return 0.5 * ((Xtr @ p[0][0] - ytr) ** 2).mean() + 0.5 * h["l2"] * (p[0] ** 2).sum()

    def outer(p, h):
        return ((Xva @ p[0][0] - yva) ** 2).mean()

    res = hypergradient_descent(fit, inner, outer, {"l2": 5.0}, steps=12, tol=None, lr=0.5)
    assert res.history[-1][1] != res.value  # the last fit is not the best
    assert float(outer(res.params, None)) == pytest.approx(res.value)


def test_the_exact_solver_builds_its_matrix_on_the_parameters_device():
    w = torch.zeros(3, device="meta", requires_grad=True)
    h = torch.tensor(0.1, device="meta", requires_grad=True)
    (g,) = implicit_hypergradient(lambda p, hp: (p[0] ** 2).sum() * hp[0], lambda p, hp: p[0].sum(), [w], [h],
                                  solver="exact")
    assert g.device.type == "meta"


def test_bad_arguments():
    theta = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="hyper_lr"):
        HypergradientLR(torch.optim.SGD([theta], lr=0.1), hyper_lr=-1)
    with pytest.raises(ValueError, match="optimizer"):
        HypergradientLR(object())
    with pytest.raises(ValueError, match="init"):
        hypergradient_descent(lambda h, w: [], lambda p, h: 0, lambda p, h: 0, {})
    with pytest.raises(ValueError, match="> 0"):
        hypergradient_descent(lambda h, w: [], lambda p, h: 0, lambda p, h: 0, {"a": -1.0})
