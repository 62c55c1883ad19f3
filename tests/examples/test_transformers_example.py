"""examples/transformers_hp_search.py runs as written (with smaller options)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import hypersearch as hs

ROOT = Path(__file__).resolve().parents[2]


def test_transformers_hp_search_example(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    url = f"sqlite:///{tmp_path}/ex.db"
    epochs = 2
    cmd = [
        sys.executable,
        str(ROOT / "examples" / "transformers_hp_search.py"),
        "--n-trials", "4",
        "--epochs", str(epochs),
        "--train-size", "64",
        "--eval-size", "32",
        "--storage", url,
        "--output-dir", str(tmp_path / "out"),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True, env=env)
    out = proc.stdout
    assert "best eval_loss" in out and "best hyperparameters:" in out

    study = hs.load_study("transformers-tiny-bert", url)
    trials = study.trials
    assert len(trials) == 4
    for t in trials:
        # every trial reported one value per epoch it trained; pruned ones stopped early
        assert t.state in (hs.TrialState.COMPLETE, hs.TrialState.PRUNED)
        n = len(t.intermediate_values)
        assert n == epochs if t.state == hs.TrialState.COMPLETE else 1 <= n < epochs
        assert set(t.params) == {"learning_rate", "weight_decay", "lr_scheduler_type", "hidden_dropout"}
    pruned = sum(t.state == hs.TrialState.PRUNED for t in trials)
    assert f"4 trials ({pruned} pruned)" in out
    assert f"in trial {study.best_trial.number}" in out
