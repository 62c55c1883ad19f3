"""Examples run as written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import hypersearch as hs

ROOT = Path(__file__).resolve().parents[2]


def test_tune_sklearn_example(tmp_path):
    pytest.importorskip("sklearn")
    url = f"sqlite:///{tmp_path}/ex.db"
    cmd = [sys.executable, str(ROOT / "examples" / "tune_sklearn.py"), "--storage", url, "--n-trials", "6"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True).stdout
    assert "best accuracy" in out
    study = hs.load_study("sklearn-breast-cancer", url)
    assert len(study.trials) == 6
    assert study.trials[0].params == {"model": "svc", "svc.C": 1.0, "svc.gamma": 0.01}
    assert 0.9 < study.best_value <= 1.0
    # running it again continues the study
    subprocess.run(cmd[:-1] + ["2"], capture_output=True, text=True, timeout=300, check=True)
    assert len(hs.load_study("sklearn-breast-cancer", url).trials) == 8


def test_tune_asha_mlp_example():
    pytest.importorskip("sklearn")
    cmd = [sys.executable, str(ROOT / "examples" / "tune_asha_mlp.py"), "--num-samples", "6"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True)
    assert "best validation error" in proc.stdout
    assert "Warning" not in proc.stderr
    trained = int(proc.stdout.split(" trials, ")[1].split(" epochs")[0])
    assert trained < 6 * 27  # ASHA stopped some trials early


def test_hypergradient_ridge_example():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    cmd = [sys.executable, str(ROOT / "examples" / "hypergradient_ridge.py")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("fits to reach"))
    reached = int(line.split(": ")[1].split(" vs ")[0])
    grid = int(line.split(" vs ")[1].split(" ")[0])
    assert reached < grid  # the gradient gets there in fewer model fits than the grid


def test_tune_pbt_example():
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    # 5 exploit steps per member: which member is in the bottom quantile at a step
    # depends on how the threads interleave, so give it a few chances
    cmd = [sys.executable, str(ROOT / "examples" / "tune_pbt.py"), "--population", "4", "--epochs", "12",
           "--interval", "2"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True).stdout
    exploited = int(out.split(" members, ")[1].split(" exploited")[0])
    assert exploited >= 1  # the bottom of the population copied a better member
    assert "schedule of the best member:" in out and "from epoch 0:" in out
    assert float(out.rsplit("best validation accuracy ", 1)[1]) > 0.9
