"""Fuzzing the command line: random argument lists give a usage error or a one-line
error (exit 2 or 1), never a traceback, and never change the studies already there."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hypersearch as hs
from hypersearch.cli import main

# Commands that only read, or fail before writing with random input.  'dashboard'
# serves until interrupted and 'delete-study' deletes by design: not fuzzed here.
COMMANDS = ["studies", "trials", "best-trial", "export", "create-study", "optimize", "worker", "report"]
OPTIONS = [
    "--study", "--format", "--state", "--limit", "-n", "--n-trials", "--timeout", "--n-jobs", "--sampler",
    "--seed", "--direction", "--directions", "--objective", "--catch", "--retries", "--executor",
    "--max-trials", "--heartbeat-interval", "-o", "--output", "--traceback", "--help-me",
]
VALUES = ["fuzz", "json", "csv", "table", "COMPLETE", "bogus", "-1", "0", "1", "3", "1e9", "nan", "inf",
          "minimize", "maximize", "tpe", "random", "nope:fn", "os:system", "x.py:f", "", "\u2603", "--",
          "process", "thread"]
tokens = st.sampled_from(OPTIONS) | st.sampled_from(VALUES) | st.text(max_size=8)


@pytest.fixture
def url(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # -o files land here
    u = f"sqlite:///{tmp_path / 'cli.db'}"
    s = hs.create_study(study_name="fuzz", storage=u, sampler=hs.samplers.RandomSampler(seed=0))
    s.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    return u


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cmd=st.sampled_from(COMMANDS), rest=st.lists(tokens, max_size=6))
def test_random_command_lines(url, capsys, cmd, rest):
    before = [(t.number, t.state, t.params, t.values) for t in hs.load_study("fuzz", url).trials]
    try:
        code = main([cmd, "--storage", url, *rest])
    except SystemExit as e:  # argparse's --help/--version exit here
        code = e.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    if code not in (0, None):
        assert code in (1, 2, 130), (code, err)
        assert err.strip(), "a failure says why"
        assert err.strip().splitlines()[-1].startswith(("hypersearch: error:", "usage:", "hypersearch ")), err
    after = [(t.number, t.state, t.params, t.values) for t in hs.load_study("fuzz", url).trials]
    assert after[: len(before)] == before  # nothing already stored changed
