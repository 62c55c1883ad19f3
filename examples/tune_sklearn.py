"""Tune a scikit-learn classifier on the bundled breast-cancer data.

The search space is conditional: the model family is a choice, and each
family has its own hyperparameters.  Results go to a SQLite file, so the study
survives the process and can be inspected afterwards::

    python examples/tune_sklearn.py                      # 60 trials into ./hypersearch.db
    hypersearch trials --study sklearn-breast-cancer     # look at them
    hypersearch best-trial --study sklearn-breast-cancer

Running it again continues the same study.
"""

from __future__ import annotations

import argparse
import time

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import hypersearch as hs

X, y = load_breast_cancer(return_X_y=True)
FOLDS = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)


def objective(trial: hs.Trial) -> float:
    """Mean 5-fold cross-validated accuracy of one configuration."""
    family = trial.suggest_categorical("model", ["svc", "logreg", "forest"])
    if family == "svc":
        model = SVC(
            C=trial.suggest_float("svc.C", 1e-3, 1e3, log=True),
            gamma=trial.suggest_float("svc.gamma", 1e-5, 1e-1, log=True),
        )
    elif family == "logreg":
        model = LogisticRegression(C=trial.suggest_float("logreg.C", 1e-4, 1e2, log=True), max_iter=2000)
    else:
        model = RandomForestClassifier(
            n_estimators=trial.suggest_int("forest.n_estimators", 10, 200, log=True),
            max_depth=trial.suggest_int("forest.max_depth", 2, 16),
            random_state=0,
            n_jobs=1,
        )
    pipeline = make_pipeline(StandardScaler(), model)
    return float(cross_val_score(pipeline, X, y, cv=FOLDS, scoring="accuracy").mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", default="sqlite:///hypersearch.db")
    parser.add_argument("--study", default="sklearn-breast-cancer")
    parser.add_argument("--n-trials", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    study = hs.create_study(
        study_name=args.study,
        storage=args.storage,
        direction="maximize",
        load_if_exists=True,
        seed=args.seed,
    )
    # A known-good configuration as a warm start, evaluated before the sampler's proposals.
    if not study.trials:
        study.enqueue_trial({"model": "svc", "svc.C": 1.0, "svc.gamma": 0.01})

    start = time.perf_counter()

    def progress(study: hs.Study, trial: hs.FrozenTrial) -> None:
        value = f"{trial.value:.4f}" if trial.value is not None else trial.state.name
        print(
            f"trial {trial.number:4d}  accuracy={value}  best={study.best_value:.4f}  "
            f"{trial.params}",
            flush=True,
        )

    study.optimize(objective, n_trials=args.n_trials, callbacks=[progress], show_progress_bar=False)
    best = study.best_trial
    print(f"\n{len(study.trials)} trials in study {study.study_name!r} "
          f"({time.perf_counter() - start:.1f} s for this run)")
    print(f"best accuracy {best.value:.4f} (trial {best.number}) with {best.params}")
    print(f"inspect it with: hypersearch trials --storage {args.storage} --study {args.study}")


if __name__ == "__main__":
    main()
