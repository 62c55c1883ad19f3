"""The learning-rate range test, on toy problems whose stable range is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hypersearch import training as tr


def least_squares(seed):
    """Mini-batch SGD on least squares; plain gradient descent is stable for lr < 2 / L."""
    rng = np.random.default_rng(seed)
    n, d = 512, 10
    X = rng.normal(size=(n, d)) * np.linspace(0.5, 2.0, d)
    y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    L = float(np.linalg.eigvalsh(X.T @ X / n).max())
    w = np.zeros(d)

    def step(lr):
        nonlocal w
        idx = rng.integers(0, n, 64)
        r = X[idx] @ w - y[idx]
        loss = 0.5 * float(np.mean(r**2))
        w = w - lr * X[idx].T @ r / len(idx)
        return loss

    return step, L


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_suggestion_lies_in_the_stable_range(seed):
    step, L = least_squares(seed)
    res = tr.lr_finder(step, min_lr=1e-5, max_lr=10.0, num_steps=100)
    assert res.diverged and len(res.lrs) < 100  # stopped once the loss blew up
    stable = (0.01 / L, 2.0 / L)  # below: barely moves in 100 steps; above: diverges
    for lr in (res.suggestion, res.suggest("steepest"), res.suggest("min/10")):
        assert stable[0] < lr < stable[1], (lr, stable)
    # geometric sweep, bias-corrected smoothing (first point equals the first loss)
    ratios = np.diff(np.log(res.lrs))
    assert np.allclose(ratios, ratios[0])
    assert res.smoothed[0] == pytest.approx(res.losses[0])
    assert len(res.lrs) == len(res.losses) == len(res.smoothed)


def test_divergence_threshold_and_non_finite_losses():
    res = tr.lr_finder(lambda lr: 1.0 if lr < 1e-3 else math.inf, min_lr=1e-5, max_lr=1,
                       num_steps=11)
    assert res.diverged and res.lrs[-1] == pytest.approx(1e-3) and math.isinf(res.smoothed[-1])
    # no smoothing: stops at the first loss above threshold * best
    losses = iter([4.0, 2.0, 1.0, 3.9, 4.1, 0.5])
    res = tr.lr_finder(lambda lr: next(losses), num_steps=6, smooth=0.0, diverge_threshold=4.0)
    assert res.losses == [4.0, 2.0, 1.0, 3.9, 4.1] and res.diverged
    # negative losses: the bound is best + (threshold - 1) * |best|
    res = tr.lr_finder(lambda lr: -1.0, num_steps=5, smooth=0.0)
    assert not res.diverged and len(res.lrs) == 5


def test_flat_curve_has_no_suggestion():
    res = tr.lr_finder(lambda lr: 1.0 + lr, min_lr=1e-3, max_lr=1e-1, num_steps=10)
    assert res.suggestion is None
    with pytest.raises(ValueError, match="min_lr"):
        res.suggest()
    assert res.suggest("min/10") == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="method"):
        res.suggest("valley")


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"min_lr": 0}, "min_lr"),
        ({"min_lr": 1.0, "max_lr": 0.5}, "max_lr"),
        ({"num_steps": 2}, "num_steps"),
        ({"smooth": 1.0}, "smooth"),
        ({"diverge_threshold": 1.0}, "diverge_threshold"),
    ],
)
def test_bad_arguments(kwargs, param):
    with pytest.raises(ValueError, match=param):
        tr.lr_finder(lambda lr: 1.0, **kwargs)


def test_plots():
    step, _ = least_squares(0)
    res = tr.lr_finder(step, min_lr=1e-5, max_lr=10.0, num_steps=60)
    pytest.importorskip("matplotlib")
    fig = res.plot()
    assert type(fig).__name__ == "Figure" and fig.axes[0].get_xscale() == "log"
    pytest.importorskip("plotly")
    pfig = res.plot(backend="plotly")
    assert pfig.layout.xaxis.type == "log" and len(pfig.data) == 2
    with pytest.raises(ValueError, match="backend"):
        res.plot(backend="bokeh")


# -- PyTorch -------------------------------------------------------------------------------


def logistic_data(torch, n=256, d=5):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, d, generator=g)
    y = (X @ torch.randn(d, generator=g) > 0).long()
    return [(X[i : i + 32], y[i : i + 32]) for i in range(0, n, 32)]


def test_torch_finder_restores_everything_exactly(torch):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(5, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(), torch.nn.Dropout(0.1),
        torch.nn.Linear(16, 2),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    data = logistic_data(torch)
    loss_fn = torch.nn.functional.cross_entropy
    for x, y in data[:2]:  # some momentum state and BatchNorm statistics to keep
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt_before = {k: v["momentum_buffer"].clone() for k, v in opt.state.items()}
    rng = torch.get_rng_state()

    res = tr.lr_finder_torch(model, opt, loss_fn, data, min_lr=1e-4, max_lr=100, num_steps=40)
    assert len(res.lrs) > 5
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(torch.equal(opt_before[p], opt.state[p]["momentum_buffer"]) for p in opt_before)
    assert opt.param_groups[0]["lr"] == 0.05
    assert torch.equal(torch.get_rng_state(), rng)
    assert not model.training  # mode restored


def test_torch_finder_on_logistic_regression(torch):
    torch.manual_seed(0)
    model = torch.nn.Linear(5, 2)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    data = logistic_data(torch)
    res = tr.lr_finder_torch(model, opt, torch.nn.functional.cross_entropy, data,
                             min_lr=1e-4, max_lr=1e3, num_steps=80)
    # for this problem, rates from ~0.05 to ~20 train well; 1e3 overshoots
    assert 0.05 < res.suggestion < 20
    assert res.losses[0] == pytest.approx(res.smoothed[0])


def test_torch_finder_one_shot_iterator_and_unpack(torch):
    model = torch.nn.Linear(5, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = logistic_data(torch)
    dicts = [{"x": x, "y": y} for x, y in data]
    res = tr.lr_finder_torch(model, opt, torch.nn.functional.cross_entropy, dicts, num_steps=20,
                             unpack=lambda b: (b["x"], b["y"]))
    assert len(res.lrs) >= 3
    with pytest.raises(ValueError, match="ran out"):
        tr.lr_finder_torch(model, opt, torch.nn.functional.cross_entropy, iter(data), num_steps=30,
                           diverge_threshold=1e9)
    with pytest.raises(ValueError, match="pairs"):
        tr.lr_finder_torch(model, opt, torch.nn.functional.cross_entropy, dicts, num_steps=5)
