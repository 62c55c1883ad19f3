"""PruningCallback: report a Lightning metric each validation and stop pruned trials."""

from __future__ import annotations

import logging

import pytest

torch = pytest.importorskip("torch")
L = pytest.importorskip("lightning.pytorch", reason="needs Lightning: pip install lightning")

from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import hypersearch as hs  # noqa: E402
from hypersearch.integrations.lightning import PruningCallback  # noqa: E402
from hypersearch.samplers import RandomSampler  # noqa: E402
from hypersearch.schedulers import ASHA, BaseScheduler, Decision, MedianStoppingRule  # noqa: E402


def _loader() -> DataLoader:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 4, generator=g)
    y = X @ torch.tensor([1.0, -2.0, 0.5, 3.0])
    return DataLoader(TensorDataset(X, y), batch_size=32)


LOADER = _loader()


class LitRegression(L.LightningModule):
    def __init__(self, lr: float) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lr = lr
        self.net = torch.nn.Linear(4, 1)

    def _loss(self, batch):
        X, y = batch
        return torch.nn.functional.mse_loss(self.net(X).squeeze(-1), y)

    def training_step(self, batch, batch_idx):
        return self._loss(batch)

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", self._loss(batch))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def _trainer(callback: PruningCallback, max_epochs: int) -> L.Trainer:
    return L.Trainer(
        max_epochs=max_epochs,
        callbacks=[callback],
        enable_checkpointing=False,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        num_sanity_val_steps=0,
    )


pytestmark = [
    # about the tiny data loaders, and Lightning's own use of a torch API torch deprecated
    pytest.mark.filterwarnings("ignore:.*does not have many workers"),
    pytest.mark.filterwarnings("ignore:.*number of training batches"),
    pytest.mark.filterwarnings("ignore:.*LeafSpec.*is deprecated"),
]


@pytest.fixture(autouse=True)
def _quiet_lightning():
    """Lightning logs a banner (accelerator, GPU availability) for every Trainer."""
    log = logging.getLogger("lightning.pytorch")
    level = log.level
    log.setLevel(logging.ERROR)
    yield
    log.setLevel(level)


class _StopAtEpoch(BaseScheduler):
    """Prunes every trial once it reported epoch ``n`` (a deterministic scheduler)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def on_report(self, study, trial):
        return Decision.STOP if trial.last_step >= self.n else Decision.CONTINUE


def test_pruned_trainer_stops_cleanly_and_fit_raises():
    study = hs.create_study(sampler=RandomSampler(), scheduler=_StopAtEpoch(2))
    trial = study.ask()
    callback = PruningCallback(trial, monitor="val_loss")
    trainer = _trainer(callback, max_epochs=6)
    with pytest.raises(hs.TrialPruned, match="pruned at step 2"):
        trainer.fit(LitRegression(0.05), LOADER, LOADER)
    assert trainer.current_epoch == 2  # should_stop ended the fit loop after epoch 2
    assert sorted(trial.intermediate_values) == [1, 2]
    v = trial.intermediate_values[2]
    assert v == pytest.approx(float(trainer.callback_metrics["val_loss"]))


def test_study_with_median_pruning():
    def objective(trial):
        model = LitRegression(trial.suggest_float("lr", 1e-3, 0.3, log=True))
        trainer = _trainer(PruningCallback(trial, "val_loss"), max_epochs=4)
        trainer.fit(model, LOADER, LOADER)
        return trainer.callback_metrics["val_loss"].item()

    study = hs.create_study(sampler=RandomSampler(seed=2),
                            scheduler=MedianStoppingRule(n_startup_trials=2))
    study.optimize(objective, n_trials=6)
    pruned = study.get_trials(states=["PRUNED"])
    done = study.get_trials(states=["COMPLETE"])
    assert pruned and done
    assert all(sorted(t.intermediate_values) == [1, 2, 3, 4] for t in done)
    assert all(max(t.intermediate_values) < 4 for t in pruned)
    assert study.best_value == pytest.approx(study.best_trial.intermediate_values[4])


def test_diverged_run_and_missing_metric():
    study = hs.create_study(sampler=RandomSampler())
    trial = study.ask()
    trainer = _trainer(PruningCallback(trial), max_epochs=8)
    with pytest.raises(hs.TrialPruned, match="diverged"):
        trainer.fit(LitRegression(50.0), LOADER, LOADER)  # lr far too large: inf, then NaN
    assert trainer.current_epoch < 8

    trainer = _trainer(PruningCallback(study.ask(), monitor="val_acc"), max_epochs=1)
    with pytest.raises(ValueError, match="'val_acc' is not among the logged metrics"):
        trainer.fit(LitRegression(0.05), LOADER, LOADER)
    with pytest.raises(RuntimeError, match="inside a trainable run by hs.tune"):
        PruningCallback()
    with pytest.raises(ValueError, match="checkpoint=True needs hs.tune"):
        PruningCallback(study.ask(), checkpoint=True)


def test_hs_tune_with_checkpoints_resumes_promoted_trials(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # the callback's scratch dirs
    (tmp_path / "tmp").mkdir()
    resumed = []

    def trainable(config):
        path = PruningCallback.resume_path()
        resumed.append(path is not None)
        trainer = _trainer(PruningCallback(monitor="val_loss", checkpoint=True), max_epochs=2)
        trainer.fit(LitRegression(config["lr"]), LOADER, LOADER, ckpt_path=path)

    scheduler = ASHA(metric="val_loss", mode="min", max_t=2, grace_period=1, reduction_factor=2,
                     variant="promotion")
    res = hs.tune(trainable, {"lr": hs.loguniform(1e-3, 0.3)}, num_samples=4, scheduler=scheduler,
                  sampler=RandomSampler(seed=1), storage_path=str(tmp_path))
    assert any(resumed)  # a paused trial was promoted and resumed from its trainer checkpoint
    best = res.get_best_trial()
    assert best.state == hs.TrialState.COMPLETE and sorted(best.intermediate_values) == [1, 2]
    assert res.best_result["epoch"] == 2
    states = {t.state for t in res.trials}
    assert states == {hs.TrialState.COMPLETE, hs.TrialState.PRUNED}
    for t in res.trials:
        if t.system_attrs.get("resumed") and t.state == hs.TrialState.COMPLETE:
            # resumed after epoch 1 from the checkpoint: epoch 2 is reported once, not epoch 1 again
            assert sorted(t.intermediate_values) == [1, 2]
    # the callback's temporary checkpoint copies are gone, paused and stopped trials alike
    assert not [p for p in (tmp_path / "tmp").iterdir() if p.name.startswith("hs_lightning_")]


def test_import_error_message(monkeypatch):
    import builtins
    import importlib
    import sys

    real_import = builtins.__import__

    def no_lightning(name, *args, **kwargs):
        if name.split(".")[0] in ("lightning", "pytorch_lightning"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "hypersearch.integrations.lightning")
    monkeypatch.setattr(builtins, "__import__", no_lightning)
    with pytest.raises(ImportError, match="needs Lightning: pip install"):
        importlib.import_module("hypersearch.integrations.lightning")
