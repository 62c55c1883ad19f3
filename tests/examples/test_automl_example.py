"""examples/automl_digits.py runs as written (with a tiny time budget)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_automl_digits_example():
    pytest.importorskip("sklearn")
    cmd = [sys.executable, str(ROOT / "examples" / "automl_digits.py"), "--time-budget", "3"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
    out = proc.stdout
    assert out.startswith("best: ")
    assert "rank  trial  family" in out
    board = out.split("rank  trial  family")[1].split("\n\n")[0].strip().splitlines()[1:]
    assert 1 <= len(board) <= 5
    accuracy = float(out.split("test accuracy: ")[1].split()[0])
    assert 0.8 < accuracy <= 1.0
