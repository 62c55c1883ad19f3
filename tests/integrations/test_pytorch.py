"""Reporting and pruning from plain PyTorch training loops."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

import hypersearch as hs  # noqa: E402
from hypersearch.integrations.pytorch import (  # noqa: E402
    TrialReporter,
    load_state_checkpoint,
    report_and_prune,
    state_checkpoint,
)
from hypersearch.samplers import RandomSampler  # noqa: E402
from hypersearch.schedulers import ASHA, MedianStoppingRule  # noqa: E402

EPOCHS = 6


def _data():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(128, 4, generator=g)
    y = X @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1 * torch.randn(128, generator=g)
    return X, y


X, Y = _data()


def _model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Linear(4, 1)


def _loss(model) -> torch.Tensor:
    return torch.nn.functional.mse_loss(model(X).squeeze(-1), Y)


def _epoch(model, opt) -> torch.Tensor:
    """One full-batch step; returns the loss after it (a tensor, as loops have it)."""
    opt.zero_grad()
    _loss(model).backward()
    opt.step()
    with torch.no_grad():
        return _loss(model)


def test_define_by_run_pruning_and_divergence():
    def objective(trial):
        lr = trial.suggest_float("lr", 1e-3, 1e3, log=True)  # lr > ~1 diverges
        model = _model()
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        reporter = TrialReporter(trial, metric="mse")
        for epoch in range(1, EPOCHS + 1):
            reporter.report(_epoch(model, opt), epoch)
        return reporter.last_value

    study = hs.create_study(sampler=RandomSampler(seed=0),
                            scheduler=MedianStoppingRule(n_startup_trials=2))
    study.enqueue_trial({"lr": 1e3})  # overflows within EPOCHS (before any pruning decision)
    study.optimize(objective, n_trials=14)
    first = study.trials[0]
    assert first.state == hs.TrialState.PRUNED
    assert not math.isfinite(first.intermediate_values[max(first.intermediate_values)])
    assert max(first.intermediate_values) <= EPOCHS
    pruned = study.get_trials(states=["PRUNED"])
    done = study.get_trials(states=["COMPLETE"])
    assert len(pruned) > 1 and done and len(done) + len(pruned) == 14
    assert all(sorted(t.intermediate_values) == list(range(1, EPOCHS + 1)) for t in done)
    assert study.best_value < 1.0 and study.best_params["lr"] < 1.0


def test_nan_policies():
    study = hs.create_study(sampler=RandomSampler())
    with pytest.raises(hs.TrialPruned, match="mse is nan at step 3: the run diverged"):
        report_and_prune(study.ask(), float("nan"), 3, metric="mse")
    with pytest.raises(FloatingPointError, match="on_nan='fail'"):
        report_and_prune(study.ask(), torch.tensor(float("inf")), 1, on_nan="fail")
    t = study.ask()
    report_and_prune(t, float("nan"), 1, on_nan="report")  # no scheduler: goes on
    assert math.isnan(t.intermediate_values[1])
    with pytest.raises(ValueError, match="on_nan must be one of"):
        TrialReporter(study.ask(), on_nan="ignore")

    def objective(trial):
        TrialReporter(trial, on_nan="fail").report(float("nan"))
        return 0.0

    study.optimize(objective, n_trials=1, catch=(FloatingPointError,))
    assert "diverged" in study.trials[-1].fail_reason


def test_reporter_details():
    study = hs.create_study(sampler=RandomSampler(),
                            scheduler=ASHA(max_t=4, grace_period=1, reduction_factor=2))
    trial = study.ask()
    reporter = TrialReporter(trial)
    reporter.report(torch.tensor(1.0))  # steps count from 1 by default
    reporter.report(0.5)
    assert trial.intermediate_values == {1: 1.0, 2: 0.5} and reporter.last_step == 2
    with pytest.raises(ValueError, match="reduce it first"):
        reporter.report(torch.ones(3))
    with pytest.raises(ValueError, match="step must be a non-negative integer"):
        reporter.report(0.1, step=-1)
    with pytest.warns(UserWarning, match="checkpoints are kept only for hs.tune"):
        reporter.report(0.4, checkpoint={"w": 1})
    assert reporter.restore() == 0  # define-by-run: nothing to resume from
    with pytest.raises(RuntimeError, match="inside a trainable run by hs.tune"):
        TrialReporter()


def test_state_checkpoint_round_trip():
    model = _model(1)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    _epoch(model, opt)
    ckpt = state_checkpoint(model, opt, step=1)
    before = model.weight.detach().clone()
    _epoch(model, opt)  # training on does not change the saved copy
    assert torch.equal(ckpt["model"]["weight"], before)
    other = _model(2)
    other_opt = torch.optim.Adam(other.parameters(), lr=0.01)
    assert load_state_checkpoint(ckpt, other, other_opt) == {"step": 1}
    assert torch.equal(other.weight, before)
    assert other_opt.state_dict()["state"][0]["step"] == 1
    with pytest.raises(KeyError, match="no 'optimizer' state"):
        load_state_checkpoint({"model": ckpt["model"]}, other, other_opt)


def test_hs_tune_reports_checkpoints_and_resumes(tmp_path):
    starts = []

    def trainable(config):
        model = _model()
        opt = torch.optim.SGD(model.parameters(), lr=config["lr"])
        reporter = TrialReporter(metric="mse", model=model, optimizer=opt)
        start = reporter.restore()  # > 0 when a paused trial is promoted
        starts.append(start)
        for epoch in range(start + 1, 5):
            reporter.report(_epoch(model, opt), epoch, checkpoint=True, lr=config["lr"])

    scheduler = ASHA(metric="mse", mode="min", max_t=4, grace_period=1, reduction_factor=2,
                     variant="promotion")
    res = hs.tune(trainable, {"lr": hs.loguniform(1e-2, 0.8)}, num_samples=6, scheduler=scheduler,
                  sampler=RandomSampler(seed=0), storage_path=str(tmp_path))
    assert any(s > 0 for s in starts)  # promoted trials resumed from their checkpoints
    best = res.get_best_trial()
    assert best.state == hs.TrialState.COMPLETE and max(best.intermediate_values) == 4
    assert set(res.best_checkpoint) == {"model", "optimizer", "step"}
    assert res.best_result["lr"] == res.best_config["lr"]
    assert res.best_result["mse"] < 2.0


def test_import_error_message_names_the_extra(monkeypatch):
    import builtins
    import importlib
    import sys

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "hypersearch.integrations.pytorch")
    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(ImportError, match=r"pip install 'hypersearch\[torch\]'"):
        importlib.import_module("hypersearch.integrations.pytorch")
