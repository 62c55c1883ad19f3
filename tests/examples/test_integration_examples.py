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
