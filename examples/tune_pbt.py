"""Population-based training: a small PyTorch MLP on the bundled digits data whose
learning rate and momentum are adapted *during* training.

A population trains side by side.  Every ``--interval`` epochs, a member in the
bottom quarter copies the weights and optimizer state (the checkpoint) of a
member in the top quarter and continues with a perturbed copy of its
hyperparameters.  Each member's schedule is recorded and can be replayed::

    python examples/tune_pbt.py --population 8 --epochs 24

Ray Tune users will recognise ``hs.schedulers.PopulationBasedTraining`` and the
``hs.report(..., checkpoint=...)`` / ``hs.get_checkpoint()`` pair.
"""

from __future__ import annotations

import argparse

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import hypersearch as hs

X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
scaler = StandardScaler().fit(X_train)
XT = torch.tensor(scaler.transform(X_train), dtype=torch.float32)
XV = torch.tensor(scaler.transform(X_val), dtype=torch.float32)
YT, YV = torch.tensor(y_train), torch.tensor(y_val)

SPACE = {"lr": hs.loguniform(1e-4, 1e-1), "momentum": hs.uniform(0.0, 0.99)}


def make_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))


def train(config: dict, epochs: int) -> None:
    """One population member: resumes from its (possibly cloned) checkpoint, applies
    its current hyperparameters, and reports validation accuracy every epoch."""
    torch.set_num_threads(1)
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=config["momentum"])
    start = 0
    ckpt = hs.get_checkpoint()
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["opt"])
        start = ckpt["epoch"]
    for group in opt.param_groups:  # the (perturbed) hyperparameters apply from now on
        group["lr"], group["momentum"] = config["lr"], config["momentum"]
    gen = torch.Generator().manual_seed(start)
    for epoch in range(start + 1, epochs + 1):
        model.train()
        for idx in torch.randperm(len(XT), generator=gen).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(XT[idx]), YT[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            acc = float((model(XV).argmax(1) == YV).float().mean())
        state = {"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch}
        hs.report(val_accuracy=acc, checkpoint=state)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--population", type=int, default=8)
    p.add_argument("--epochs", type=int, default=24)
    p.add_argument("--interval", type=int, default=4, help="epochs between exploit/explore steps")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    pbt = hs.schedulers.PopulationBasedTraining(
        metric="val_accuracy",
        mode="max",
        perturbation_interval=a.interval,
        hyperparam_mutations={"lr": hs.loguniform(1e-4, 1e-1), "momentum": hs.uniform(0.0, 0.99)},
        quantile_fraction=0.25,
        seed=a.seed,
        max_t=a.epochs,
    )
    result = hs.tune(
        lambda config: train(config, a.epochs),
        SPACE,
        num_samples=a.population,
        scheduler=pbt,
        max_concurrent=a.population,  # the population trains side by side
        executor="thread",
        seed=a.seed,
    )
    best = result.get_best_trial()
    sched = hs.schedulers.pbt_schedule(result.study, best.number)
    exploited = sum(1 for t in result.trials if t.system_attrs.get("pbt:schedule"))
    print(f"{len(result.trials)} members, {exploited} exploited a better member at least once")
    print("schedule of the best member:")
    for entry in sched:
        cfg = {k: round(v, 5) for k, v in entry["config"].items()}
        print(f"  from epoch {entry['step']:g}: {cfg}")
    print(f"best validation accuracy {result.best_result['val_accuracy']:.4f}")


if __name__ == "__main__":
    main()
