"""Logging a study to MLflow and TensorBoard while it runs.

Every finished trial becomes an MLflow run (parameters, value, state, duration,
intermediate values as a metric history) and a TensorBoard HParams session, so
the study can be browsed with the tools a team already uses::

    python examples/tracking_callbacks.py --out runs/
    mlflow ui --backend-store-uri sqlite:///runs/mlflow.db
    tensorboard --logdir runs/tensorboard
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

import hypersearch as hs
from hypersearch.integrations.mlflow import MLflowCallback
from hypersearch.integrations.tensorboard import TensorBoardCallback

X, y = load_breast_cancer(return_X_y=True)
FOLDS = StratifiedKFold(3, shuffle=True, random_state=0)


def objective(trial: hs.Trial) -> float:
    model = HistGradientBoostingClassifier(
        learning_rate=trial.suggest_float("learning_rate", 0.01, 0.5, log=True),
        max_leaf_nodes=trial.suggest_int("max_leaf_nodes", 4, 64, log=True),
        l2_regularization=trial.suggest_float("l2_regularization", 1e-6, 1.0, log=True),
        max_iter=50,
        random_state=0,
    )
    return float(cross_val_score(model, X, y, cv=FOLDS).mean())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs", help="directory for the MLflow database and TensorBoard logs")
    p.add_argument("--n-trials", type=int, default=10)
    a = p.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    callbacks = [
        MLflowCallback(tracking_uri=f"sqlite:///{out.resolve() / 'mlflow.db'}", metric_name="cv_accuracy"),
        TensorBoardCallback(str(out / "tensorboard"), metric_name="cv_accuracy"),
    ]
    study = hs.create_study(study_name="hgb-breast-cancer", direction="maximize",
                            sampler=hs.samplers.TPESampler(seed=0))
    study.optimize(objective, n_trials=a.n_trials, callbacks=callbacks)
    print(f"{len(study.trials)} trials logged to {out}/mlflow.db and {out}/tensorboard")
    print(f"best cv accuracy {study.best_value:.4f} with {study.best_params}")


if __name__ == "__main__":
    main()
