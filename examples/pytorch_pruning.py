"""Prune a plain PyTorch training loop with ASHA (or the median stopping rule).

The objective is an ordinary training loop; the only hypersearch-specific line
in it is ``reporter.report(val_loss, epoch)``, which records the validation
loss of each epoch and raises ``TrialPruned`` when the scheduler stops the
trial.  A learning rate so large that the loss overflows is pruned at once
(NaN/inf losses prune by default).  The data is synthetic (a random "teacher"
network labels Gaussian points), so the example needs nothing but PyTorch::

    python examples/pytorch_pruning.py                        # 30 trials, ASHA
    python examples/pytorch_pruning.py --scheduler median --n-trials 50
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

import hypersearch as hs
from hypersearch.integrations.pytorch import TrialReporter

N_FEATURES, N_CLASSES = 20, 4


def make_data(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    teacher = nn.Sequential(nn.Linear(N_FEATURES, 32), nn.Tanh(), nn.Linear(32, N_CLASSES))
    with torch.no_grad():
        for p in teacher.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
        X = torch.randn(n, N_FEATURES, generator=g)
        return X, teacher(X).argmax(dim=1)


X_TRAIN, Y_TRAIN = make_data(2000)
X_VAL, Y_VAL = X_TRAIN[1500:], Y_TRAIN[1500:]
X_TRAIN, Y_TRAIN = X_TRAIN[:1500], Y_TRAIN[:1500]


def make_objective(epochs: int):
    def objective(trial: hs.Trial) -> float:
        hidden = trial.suggest_int("hidden", 8, 128, log=True)
        lr = trial.suggest_float("lr", 1e-4, 10.0, log=True)  # the top of the range diverges
        momentum = trial.suggest_float("momentum", 0.0, 0.99)
        batch_size = trial.suggest_categorical("batch_size", [32, 64, 128])

        torch.manual_seed(trial.number)
        model = nn.Sequential(nn.Linear(N_FEATURES, hidden), nn.ReLU(), nn.Linear(hidden, N_CLASSES))
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
        reporter = TrialReporter(trial, metric="val_loss")
        for epoch in range(1, epochs + 1):
            model.train()
            for idx in torch.randperm(len(X_TRAIN)).split(batch_size):
                opt.zero_grad()
                nn.functional.cross_entropy(model(X_TRAIN[idx]), Y_TRAIN[idx]).backward()
                opt.step()
            model.eval()
            with torch.no_grad():
                logits = model(X_VAL)
                val_loss = nn.functional.cross_entropy(logits, Y_VAL)
                accuracy = (logits.argmax(dim=1) == Y_VAL).float().mean().item()
            trial.set_user_attr("val_accuracy", accuracy)
            reporter.report(val_loss, epoch)  # raises TrialPruned when the scheduler says so
        return reporter.last_value

    return objective


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--scheduler", choices=["asha", "median"], default="asha")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)  # a tiny model trains fastest on one thread

    if args.scheduler == "asha":
        scheduler = hs.schedulers.ASHA(max_t=args.epochs, grace_period=1, reduction_factor=3)
    else:
        scheduler = hs.schedulers.MedianStoppingRule(n_startup_trials=5, n_warmup_steps=1)
    study = hs.create_study(direction="minimize", scheduler=scheduler, seed=args.seed)

    def progress(study: hs.Study, t: hs.FrozenTrial) -> None:
        last = t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None
        loss = f"{last:.4g}" if last is not None else "-"
        print(f"trial {t.number:3d} {t.state.name:8s} epochs={len(t.intermediate_values):2d} "
              f"val_loss={loss:>8s} lr={t.params['lr']:.2e} hidden={t.params['hidden']}", flush=True)

    start = time.perf_counter()
    study.optimize(make_objective(args.epochs), n_trials=args.n_trials, callbacks=[progress],
                   show_progress_bar=False)
    trials = study.trials
    trained = sum(len(t.intermediate_values) for t in trials)
    pruned = sum(t.state == hs.TrialState.PRUNED for t in trials)
    best = study.best_trial
    print(f"\n{len(trials)} trials, {trained} epochs trained of {len(trials) * args.epochs} "
          f"({pruned} trials pruned) in {time.perf_counter() - start:.1f} s")
    print(f"best validation loss {best.value:.4f} (accuracy {best.user_attrs['val_accuracy']:.3f}) "
          f"with {best.params}")


if __name__ == "__main__":
    main()
