"""``hypersearch worker``: a fleet of independent workers sharing one study."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import hypersearch as hs
from hypersearch.cli import main

OBJECTIVE = textwrap.dedent(
    """
    def objective(trial):
        x = trial.suggest_float("x", -1.0, 1.0)
        trial.report(x, 0)
        return x * x
    """
)


@pytest.fixture
def objective_file(tmp_path):
    p = tmp_path / "obj.py"
    p.write_text(OBJECTIVE)
    return p


def _worker(url, objective_file, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "hypersearch", "--storage", url, "worker", "--study", "fleet",
         "--objective", f"{objective_file}:objective", "--sampler", "random", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_fleet_of_workers_shares_the_study_budget(backend, tmp_path, objective_file, request):
    url = f"sqlite:///{tmp_path}/f.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    assert main(["--storage", url, "create-study", "--study", "fleet"]) == 0
    procs = [_worker(url, objective_file, "--max-trials", "30", "--seed", str(i)) for i in range(3)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert "ran" in err or "nothing to do" in err  # a late worker may find the budget spent
    trials = hs.load_study("fleet", url).trials
    assert 30 <= len(trials) <= 33  # the fleet's budget, overshot by at most one per worker
    assert [t.number for t in trials] == list(range(len(trials)))
    assert all(t.state == hs.TrialState.COMPLETE and t.intermediate_values == {0: t.params["x"]}
               for t in trials)


def test_worker_needs_an_existing_study_and_a_stop_rule(tmp_path, objective_file, capsys):
    url = f"sqlite:///{tmp_path}/w.db"
    code = main(["--storage", url, "worker", "--study", "nope", "--objective",
                 f"{objective_file}:objective", "--n-trials", "1"])
    err = capsys.readouterr().err
    assert code != 0 and "create-study" in err and "Traceback" not in err
    main(["--storage", url, "create-study", "--study", "fleet"])
    capsys.readouterr()
    code = main(["--storage", url, "worker", "--study", "fleet", "--objective", f"{objective_file}:objective"])
    assert code != 0 and "--max-trials" in capsys.readouterr().err
    code = main(["--storage", url, "worker", "--study", "fleet", "--objective",
                 f"{objective_file}:objective", "--n-trials", "4", "--n-jobs", "2", "--retries", "1"])
    assert code == 0
    assert len(hs.load_study("fleet", url).trials) == 4


def test_a_worker_with_several_slots_starts_only_what_the_budget_lacks(tmp_path, objective_file, capsys):
    """Four slots of one worker all started a trial before the first finished one was
    counted (4 existing + --max-trials 5 gave 8 trials); now exactly the missing one."""
    url = f"sqlite:///{tmp_path}/m.db"
    main(["--storage", url, "create-study", "--study", "fleet"])
    study = hs.load_study("fleet", url)
    for x in (0.1, 0.2, 0.3, 0.4):
        study.add_trial({"x": x}, x * x)
    code = main(["--storage", url, "worker", "--study", "fleet", "--objective", f"{objective_file}:objective",
                 "--max-trials", "5", "--n-jobs", "4", "--executor", "thread"])
    assert code == 0, capsys.readouterr().err
    assert len(hs.load_study("fleet", url).trials) == 5
