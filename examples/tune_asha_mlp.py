"""Iterative tuning with early stopping: an MLP trained epoch by epoch on the
bundled digits data, with ASHA stopping unpromising trials.

Ray Tune users will recognise the shape: a trainable that reports each epoch,
a declarative search space, a scheduler, ``hs.tune``::

    python examples/tune_asha_mlp.py --num-samples 30
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

import hypersearch as hs

X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
scaler = StandardScaler().fit(X_train)
X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
CLASSES = np.unique(y)

SPACE = {
    "hidden": hs.lograndint(16, 257),
    "alpha": hs.loguniform(1e-6, 1e-1),
    "lr": hs.loguniform(1e-4, 1e-1),
    "batch_size": hs.choice([32, 64, 128]),
}


def train_mlp(config: dict) -> None:
    """Train for up to 27 epochs, reporting validation error after each."""
    model = MLPClassifier(
        hidden_layer_sizes=(config["hidden"],),
        alpha=config["alpha"],
        learning_rate_init=config["lr"],
        batch_size="auto",  # each partial_fit call below is one minibatch
        random_state=0,
    )
    rng = np.random.default_rng(0)
    for _epoch in range(27):
        order = rng.permutation(len(X_train))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for start in range(0, len(order), config["batch_size"]):
                idx = order[start : start + config["batch_size"]]
                model.partial_fit(X_train[idx], y_train[idx], classes=CLASSES)
        hs.report(val_error=1.0 - model.score(X_val, y_val))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-samples", type=int, default=30)
    parser.add_argument("--storage", default=None, help="e.g. sqlite:///hypersearch.db (default: in memory)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    scheduler = hs.schedulers.ASHA(metric="val_error", mode="min", max_t=27, grace_period=1, reduction_factor=3)
    result = hs.tune(train_mlp, config=SPACE, num_samples=args.num_samples, scheduler=scheduler,
                     storage=args.storage, seed=args.seed, show_progress_bar=False)
    epochs = sum(len(t.intermediate_values) for t in result.trials)
    print(f"{len(result.trials)} trials, {epochs} epochs trained "
          f"({epochs / (27 * len(result.trials)):.0%} of training every trial fully)")
    print(f"best validation error {result.best_result['val_error']:.4f} with {result.best_config}")


if __name__ == "__main__":
    main()
