"""A scikit-learn search whose cross-validation folds can be pruned.

``HyperSearchCV`` is used like ``RandomizedSearchCV``, but its candidates come
from a hypersearch sampler that learns from earlier trials, and a scheduler
stops a poor configuration after a few folds instead of paying for all of
them.  Here: an RBF support-vector classifier on the bundled digits data, with
the median stopping rule deciding after every fold::

    python examples/sklearn_search_cv.py                 # 30 trials, 5 folds
    python examples/sklearn_search_cv.py --n-trials 60 --scheduler asha
"""

from __future__ import annotations

import argparse
import time

from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import hypersearch as hs
from hypersearch.integrations.sklearn import HyperSearchCV


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-trials", type=int, default=30)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--scheduler", choices=["median", "asha", "none"], default="median")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)

    # Pruning across folds: the running mean accuracy is reported after each fold
    # (step = fold index), so a configuration far below the others stops early.
    scheduler = {
        "median": hs.schedulers.MedianStoppingRule(n_startup_trials=5),
        "asha": hs.schedulers.ASHA(max_t=args.folds, grace_period=1, reduction_factor=3),
        "none": None,
    }[args.scheduler]
    search = HyperSearchCV(
        make_pipeline(StandardScaler(), SVC()),
        {
            "svc__C": hs.loguniform(1e-2, 1e3),
            "svc__gamma": hs.loguniform(1e-5, 1e0),  # large gamma overfits: accuracy ~0.1
            "svc__class_weight": [None, "balanced"],
        },
        n_trials=args.n_trials,
        cv=StratifiedKFold(args.folds, shuffle=True, random_state=0),
        scoring="accuracy",
        scheduler=scheduler,
        random_state=args.seed,
    )
    start = time.perf_counter()
    search.fit(X_train, y_train)
    elapsed = time.perf_counter() - start

    res = search.cv_results_
    states = list(res["state"])
    folds = int(res["n_evaluated_folds"].sum())
    print(f"{len(states)} trials in {elapsed:.1f} s: {states.count('COMPLETE')} complete, "
          f"{states.count('PRUNED')} pruned, {states.count('FAIL')} failed")
    print(f"folds fitted: {folds} of {len(states) * search.n_splits_} "
          f"({len(states) * search.n_splits_ - folds} saved by pruning)")
    print("top configurations:")
    for i in sorted(range(len(states)), key=lambda i: res["rank_test_score"][i])[:3]:
        print(f"  rank {res['rank_test_score'][i]}  accuracy {res['mean_test_score'][i]:.4f} "
              f"+/- {res['std_test_score'][i]:.4f}  {res['params'][i]}")
    print(f"best params: {search.best_params_}")
    print(f"best cross-validated accuracy: {search.best_score_:.4f}")
    print(f"held-out accuracy of the refit model: {search.score(X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
