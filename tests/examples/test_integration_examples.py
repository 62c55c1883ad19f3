"""The integration examples run as written and print what they promise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(ROOT / "examples" / script), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True, cwd=ROOT)


def test_sklearn_search_cv_example():
    pytest.importorskip("sklearn")
    proc = _run("sklearn_search_cv.py", "--n-trials", "12", "--folds", "3")
    out = proc.stdout
    trials = re.search(r"(\d+) trials in .* (\d+) complete, (\d+) pruned, (\d+) failed", out)
    assert trials, out
    n, complete, pruned, failed = map(int, trials.groups())
    assert n == 12 and complete + pruned + failed == 12 and pruned > 0
    fitted, total = map(int, re.search(r"folds fitted: (\d+) of (\d+)", out).groups())
    assert total == 36 and fitted < total  # pruning saved folds
    assert "best params: {'svc__C':" in out
    best = float(re.search(r"best cross-validated accuracy: ([\d.]+)", out).group(1))
    held_out = float(re.search(r"held-out accuracy of the refit model: ([\d.]+)", out).group(1))
    assert best > 0.9 and held_out > 0.9
    assert "Warning" not in proc.stderr


def test_pytorch_pruning_example():
    pytest.importorskip("torch")
    proc = _run("pytorch_pruning.py", "--n-trials", "12", "--epochs", "6")
    out = proc.stdout
    assert len(re.findall(r"^trial +\d+ (COMPLETE|PRUNED) ", out, flags=re.M)) == 12
    m = re.search(r"12 trials, (\d+) epochs trained of 72 \((\d+) trials pruned\)", out)
    assert m, out
    trained, pruned = map(int, m.groups())
    assert pruned > 0 and trained < 72  # ASHA stopped trials early
    assert re.search(r"best validation loss [\d.]+ \(accuracy [\d.]+\) with \{'hidden'", out)
    assert "Warning" not in proc.stderr


def test_lightning_pruning_example():
    pytest.importorskip("lightning")
    pytest.importorskip("sklearn")
    cmd = [sys.executable, str(ROOT / "examples" / "lightning_pruning.py"), "--n-trials", "10", "--epochs", "6"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True).stdout
    n, pruned = (int(v) for v in out.split(" pruned")[0].split(" trials, "))
    assert n == 10 and pruned >= 1  # TPE is seeded: the median rule stops the laggards
    assert float(out.split("best val_loss ")[1].split()[0]) < 0.3


def test_tracking_callbacks_example(tmp_path):
    pytest.importorskip("mlflow")
    pytest.importorskip("tensorboard")
    cmd = [sys.executable, str(ROOT / "examples" / "tracking_callbacks.py"), "--out", str(tmp_path), "--n-trials", "3"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True).stdout
    assert "3 trials logged" in out
    import mlflow

    client = mlflow.tracking.MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.get_experiment_by_name("hgb-breast-cancer")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 3 and all("cv_accuracy" in r.data.metrics for r in runs)
    assert len(list((tmp_path / "tensorboard").glob("trial-*"))) == 3
