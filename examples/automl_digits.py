"""AutoML on the bundled digits data: one call searches six model families, their
hyperparameters and preprocessing, within a time budget.

    python examples/automl_digits.py                    # 20 s search
    python examples/automl_digits.py --time-budget 60 --seed 1

The data is split once: the search cross-validates on the training part only
(3 folds, each configuration first on 1/9 and 1/3 of the training folds, where
ASHA stops the poor ones), and the chosen pipeline, refitted on the whole
training part, is scored once on the untouched test part.
"""

from __future__ import annotations

import argparse

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from hypersearch import automl


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--time-budget", type=float, default=20.0, help="seconds of search")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--top", type=int, default=5, help="leaderboard rows to print")
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    result = automl.fit(X_train, y_train, time_budget=args.time_budget, seed=args.seed)

    print(result.summary(top=args.top))
    print(f"\nchosen pipeline: {result.best_pipeline}")
    print(f"test accuracy: {result.score(X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
