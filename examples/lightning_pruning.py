"""Pruning a PyTorch Lightning training with hypersearch's ``PruningCallback``.

A small Lightning classifier on the bundled digits data; the learning rate, hidden
width and weight decay are searched, and the median stopping rule stops runs
whose validation loss lags the completed ones at the same epoch::

    python examples/lightning_pruning.py --n-trials 12 --epochs 8
"""

from __future__ import annotations

import argparse
import logging
import warnings

import lightning.pytorch as L
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch.utils.data import DataLoader, TensorDataset

import hypersearch as hs
from hypersearch.integrations.lightning import PruningCallback

X, y = load_digits(return_X_y=True)
X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
scaler = StandardScaler().fit(X_tr)
TRAIN = TensorDataset(torch.tensor(scaler.transform(X_tr), dtype=torch.float32), torch.tensor(y_tr))
VAL = TensorDataset(torch.tensor(scaler.transform(X_va), dtype=torch.float32), torch.tensor(y_va))


class Classifier(L.LightningModule):
    def __init__(self, lr: float, hidden: int, weight_decay: float) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.lr, self.weight_decay = lr, weight_decay
        self.net = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 10))

    def training_step(self, batch, batch_idx):
        X, y = batch
        return torch.nn.functional.cross_entropy(self.net(X), y)

    def validation_step(self, batch, batch_idx):
        X, y = batch
        logits = self.net(X)
        self.log("val_loss", torch.nn.functional.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(1) == y).float().mean())

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=self.weight_decay)


def objective(trial: hs.Trial, epochs: int) -> float:
    model = Classifier(
        lr=trial.suggest_float("lr", 1e-4, 1e-1, log=True),
        hidden=trial.suggest_int("hidden", 8, 128, log=True),
        weight_decay=trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True),
    )
    callback = PruningCallback(trial, monitor="val_loss")
    trainer = L.Trainer(
        max_epochs=epochs, callbacks=[callback], logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu", num_sanity_val_steps=0,
    )
    trainer.fit(model, DataLoader(TRAIN, batch_size=64, shuffle=True), DataLoader(VAL, batch_size=256))
    return float(trainer.callback_metrics["val_loss"])  # a pruned trial raised TrialPruned above


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n-trials", type=int, default=12)
    p.add_argument("--epochs", type=int, default=8)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    study = hs.create_study(
        sampler=hs.samplers.TPESampler(seed=0),
        scheduler=hs.schedulers.MedianStoppingRule(n_startup_trials=3, n_warmup_steps=2),
    )
    study.optimize(lambda t: objective(t, a.epochs), n_trials=a.n_trials)
    pruned = len(study.get_trials(["PRUNED"]))
    print(f"{len(study.trials)} trials, {pruned} pruned")
    print(f"best val_loss {study.best_value:.4f} with {study.best_params}")


if __name__ == "__main__":
    main()
