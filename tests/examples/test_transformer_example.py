"""examples/tune_transformer.py runs as written, with ASHA and the d_model % n_heads constraint."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import hypersearch as hs

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "tune_transformer.py"

TINY = ["--num-samples", "6", "--max-epochs", "3", "--train-size", "128", "--val-size", "64",
        "--batch-size", "32", "--width-divisor", "16", "--seq-len", "8"]


def test_search_space_is_exactly_the_specified_one():
    pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("tune_transformer_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # main() is guarded by __name__
    space = module.SPACE
    assert set(space) == {"learning_rate", "d_model", "n_heads", "num_encoder_layers", "dropout",
                          "activation"}
    dist = {k: getattr(v, "distribution", None) or v.options for k, v in space.items()}
    assert dist["learning_rate"] == hs.FloatDistribution(1e-5, 1e-2, log=True)
    assert dist["d_model"] == [128, 256, 512]
    assert dist["n_heads"] == [4, 8, 16]
    assert dist["num_encoder_layers"] == hs.IntDistribution(2, 6)
    assert dist["dropout"] == hs.FloatDistribution(0.1, 0.3)
    assert dist["activation"] == ["relu", "gelu"]
    assert module.heads_divide_width({"d_model": 128, "n_heads": 16})
    assert not module.heads_divide_width({"d_model": 100, "n_heads": 16})


def test_tune_transformer_example(tmp_path):
    pytest.importorskip("torch")
    url = f"sqlite:///{tmp_path}/tf.db"
    cmd = [sys.executable, str(SCRIPT), *TINY, "--storage", url, "--name", "tf"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
    assert "Warning" not in proc.stderr, proc.stderr

    last = proc.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r"best config: (\{.*\}) val accuracy (\d\.\d\d)", last)
    assert m, proc.stdout
    best = ast.literal_eval(m.group(1))
    assert set(best) == {"learning_rate", "d_model", "n_heads", "num_encoder_layers", "dropout",
                         "activation"}
    assert 0.0 <= float(m.group(2)) <= 1.0

    trials = hs.load_study("tf", url).trials
    assert len(trials) == 6
    for t in trials:  # every trial's configuration satisfied the constraint
        cfg = t.user_attrs["config"]
        assert cfg["d_model"] % cfg["n_heads"] == 0
        assert 1e-5 <= cfg["learning_rate"] <= 1e-2 and 2 <= cfg["num_encoder_layers"] <= 6
    # ASHA stopped some trials early
    pruned = [t for t in trials if t.state == hs.TrialState.PRUNED]
    assert pruned and all(len(t.intermediate_values) < 3 for t in pruned)
    epochs = sum(len(t.intermediate_values) for t in trials)
    assert epochs < 6 * 3
    assert f"{len(pruned)} stopped early by ASHA, {epochs} epochs trained" in proc.stdout
