"""Tests of the ``hypersearch`` command line (hypersearch/cli)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys

import pytest

import hypersearch as hs
from hypersearch.cli import main
from hypersearch.cli._parser import build_parser

COMMANDS = [
    "studies", "trials", "best-trial", "export", "delete-study", "create-study", "optimize", "worker",
    "report", "dashboard",
]

OBJECTIVE_FILE = """
import hypersearch as hs

GRID_SPACE = {"x": [-1.0, 0.5, 2.0], "k": ["a", "b"]}


def objective(trial):
    x = trial.suggest_float("x", -3.0, 3.0)
    k = trial.suggest_categorical("k", ["a", "b"])
    return x * x + (1.0 if k == "b" else 0.0)


def two_objectives(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    return x, (1.0 - x) ** 2


def flaky(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    if trial.number % 2 == 1:
        raise RuntimeError(f"odd trial {trial.number}")
    return x


NOT_A_FUNCTION = 42
"""


# -- helpers ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_storage_env(monkeypatch):
    monkeypatch.delenv("HYPERSEARCH_STORAGE", raising=False)


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path}/x.db"


@pytest.fixture
def objective_file(tmp_path):
    path = tmp_path / "objectives.py"
    path.write_text(OBJECTIVE_FILE)
    return path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(err: str, *fragments: str) -> str:
    """``err`` is exactly one ``hypersearch: error:`` line (no traceback)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hypersearch: error: "), err
    assert "Traceback" not in err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


@pytest.fixture
def demo(url):
    """Study 'demo' (minimize): trials 0-2 COMPLETE (4.0, 1.0, 9.0), trial 3 FAIL
    (ValueError: bad x), trial 4 PRUNED; study 'mo' (minimize, minimize) whose
    Pareto front is trials 0 and 1."""
    study = hs.create_study("demo", url)
    study.add_trial({"x": 2.0, "k": "a"}, 4.0, user_attrs={"note": "first"})
    study.add_trial({"x": 1.0, "k": "b"}, 1.0)
    study.add_trial({"x": -3.0, "k": "a"}, 9.0)

    def failing(trial):
        trial.suggest_float("x", -5, 5)
        raise ValueError("bad x")

    study.optimize(failing, n_trials=1, catch=ValueError)
    study.add_trial({"x": 0.25}, None, state="PRUNED")
    mo = hs.create_study("mo", url, directions=["minimize", "minimize"])
    mo.add_trial({"x": 0.1}, [1.0, 5.0])
    mo.add_trial({"x": 0.2}, [2.0, 3.0])
    mo.add_trial({"x": 0.3}, [3.0, 4.0])  # dominated by trial 1
    return study


def n_trials(url, name):
    return len(hs.load_study(name, url).trials)


# -- help, global options ------------------------------------------------------------------


def test_help_subprocess():
    proc = subprocess.run(
        [sys.executable, "-m", "hypersearch.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: hypersearch")
    for cmd in COMMANDS:
        assert cmd in proc.stdout
    assert "--storage" in proc.stdout and "HYPERSEARCH_STORAGE" in proc.stdout


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_of_every_command(capsys, cmd):
    code, out, err = run(capsys, cmd, "--help")
    assert code == 0
    assert out.startswith(f"usage: hypersearch {cmd}")
    assert "--storage URL" in out
    assert err == ""


def test_every_command_and_option_has_a_description():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert sorted(subparsers.choices) == sorted(COMMANDS)
    helps = {a.dest: a.help for a in subparsers._choices_actions}
    for name, sub in subparsers.choices.items():
        assert sub.description, name
        assert helps[name], name
        for action in sub._actions:
            assert action.help, (name, action.dest)
    for action in parser._actions:
        assert action.help, action.dest


def test_no_command_prints_help_and_fails(capsys):
    code, out, err = run(capsys)
    assert code == 2
    assert "usage: hypersearch" in err and "optimize" in err


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"hypersearch {hs.__version__}"


def test_storage_from_environment(capsys, monkeypatch, url, demo):
    monkeypatch.setenv("HYPERSEARCH_STORAGE", url)
    code, out, _ = run(capsys, "studies", "--format", "json")
    assert code == 0
    assert [s["name"] for s in json.loads(out)] == ["demo", "mo"]


def test_storage_option_beats_environment(capsys, monkeypatch, url, demo, tmp_path):
    monkeypatch.setenv("HYPERSEARCH_STORAGE", f"sqlite:///{tmp_path}/other.db")
    code, out, _ = run(capsys, "studies", "--storage", url, "-f", "json")
    assert code == 0 and len(json.loads(out)) == 2
    # the global option may also come before the command
    code, out, _ = run(capsys, "--storage", url, "studies", "-f", "json")
    assert code == 0 and len(json.loads(out)) == 2
    code, out, _ = run(capsys, "studies", "-f", "json")  # the environment's empty database
    assert code == 0 and json.loads(out) == []


def test_default_storage_is_hypersearch_db_in_cwd(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "create-study", "--study", "here")
    assert code == 0 and out == "here\n"
    assert (tmp_path / "hypersearch.db").is_file()
    assert [s.name for s in hs.list_studies(f"sqlite:///{tmp_path}/hypersearch.db")] == ["here"]


# -- studies ------------------------------------------------------------------------------------


def test_studies_table(capsys, url, demo):
    code, out, err = run(capsys, "studies", "--storage", url)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == [
        "NAME", "DIRECTIONS", "TRIALS", "COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING",
        "PAUSED", "BEST", "STARTED",
    ]
    assert set(lines[1]) == {"-", " "}
    assert len(lines) == 4
    demo_row = lines[2].split()
    assert demo_row[:10] == ["demo", "minimize", "5", "3", "1", "1", "0", "0", "0", "1"]
    mo_row = lines[3].split()
    assert mo_row[:10] == ["mo", "minimize,minimize", "3", "3", "0", "0", "0", "0", "0", "-"]
    # aligned: every column starts at the same offset on every line (dash runs)
    starts = [i for i, c in enumerate(lines[1]) if c == "-" and (i == 0 or lines[1][i - 1] == " ")]
    for line in (lines[0], lines[2], lines[3]):
        for s in starts[1:]:
            assert line[s - 1] == " ", line
    assert lines[2].index("minimize") == lines[0].index("DIRECTIONS")


def test_studies_json(capsys, url, demo):
    code, out, _ = run(capsys, "studies", "--storage", url, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert [s["name"] for s in data] == ["demo", "mo"]
    d = data[0]
    assert d["directions"] == ["minimize"]
    assert d["n_trials"] == 5
    assert d["state_counts"] == {"COMPLETE": 3, "PRUNED": 1, "FAIL": 1, "RUNNING": 0, "WAITING": 0, "PAUSED": 0}
    assert d["best_value"] == 1.0
    assert dt.datetime.fromisoformat(d["datetime_start"]).tzinfo is not None
    assert data[1]["directions"] == ["minimize", "minimize"]
    assert data[1]["best_value"] is None


def test_studies_csv(capsys, url, demo):
    code, out, _ = run(capsys, "studies", "--storage", url, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["name"] for r in rows] == ["demo", "mo"]
    assert rows[0]["n_trials"] == "5" and rows[0]["n_complete"] == "3"
    assert rows[0]["n_fail"] == "1" and rows[0]["n_pruned"] == "1"
    assert float(rows[0]["best_value"]) == 1.0
    assert rows[1]["directions"] == "minimize,minimize" and rows[1]["best_value"] == ""


def test_studies_empty_storage(capsys, url):
    code, out, _ = run(capsys, "studies", "--storage", url)
    assert code == 0 and out.strip() == f"no studies in {url}"
    code, out, _ = run(capsys, "studies", "--storage", url, "-f", "json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = run(capsys, "studies", "--storage", url, "-f", "csv")
    assert code == 0 and out.splitlines()[0].startswith("name,directions,n_trials")
    assert len(out.splitlines()) == 1


# -- trials ---------------------------------------------------------------------------------------


def test_trials_table(capsys, url, demo):
    code, out, err = run(capsys, "trials", "--storage", url, "--study", "demo")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["NUMBER", "STATE", "VALUE", "DURATION", "PARAMS", "FAIL", "REASON"]
    rows = lines[2:]
    assert [r.split()[:2] for r in rows] == [
        ["0", "COMPLETE"], ["1", "COMPLETE"], ["2", "COMPLETE"], ["3", "FAIL"], ["4", "PRUNED"],
    ]
    assert rows[1].split()[2] == "1"
    assert "x=1, k=b" in rows[1]
    assert rows[3].rstrip().endswith("ValueError: bad x")
    assert "ValueError" not in rows[0]


def test_trials_json_matches_the_study(capsys, url, demo):
    code, out, _ = run(capsys, "trials", "--storage", url, "--study", "demo", "--format", "json")
    assert code == 0
    data = json.loads(out)
    expected = hs.load_study("demo", url).trials
    assert [t["number"] for t in data] == [t.number for t in expected]
    assert [t["state"] for t in data] == ["COMPLETE"] * 3 + ["FAIL", "PRUNED"]
    assert [t["value"] for t in data[:3]] == [4.0, 1.0, 9.0]
    assert data[0]["values"] == [4.0]
    assert data[0]["params"] == {"x": 2.0, "k": "a"}
    assert data[0]["user_attrs"] == {"note": "first"}
    assert data[3]["fail_reason"] == "ValueError: bad x" and data[3]["value"] is None
    assert data[3]["params"]["x"] == expected[3].params["x"]
    assert data[3]["duration_s"] == pytest.approx(expected[3].duration.total_seconds())
    assert dt.datetime.fromisoformat(data[3]["datetime_complete"]) == expected[3].datetime_complete


def test_trials_csv(capsys, url, demo):
    code, out, _ = run(capsys, "trials", "--storage", url, "--study", "demo", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 5
    assert [float(r["value"]) for r in rows[:3]] == [4.0, 1.0, 9.0]
    assert rows[3]["value"] == "" and rows[3]["fail_reason"] == "ValueError: bad x"
    assert [r["params_k"] for r in rows] == ["a", "b", "a", "", ""]
    assert float(rows[4]["params_x"]) == 0.25
    assert rows[0]["user_attrs_note"] == "first"


def test_trials_state_filter_is_repeatable_and_case_insensitive(capsys, url, demo):
    argv = ["trials", "--storage", url, "-s", "demo", "-f", "json"]
    code, out, _ = run(capsys, *argv, "--state", "COMPLETE")
    assert code == 0
    assert [t["number"] for t in json.loads(out)] == [0, 1, 2]
    code, out, _ = run(capsys, *argv, "--state", "fail", "--state", "Pruned")
    assert code == 0
    assert [(t["number"], t["state"]) for t in json.loads(out)] == [(3, "FAIL"), (4, "PRUNED")]
    code, out, _ = run(capsys, *argv, "--state", "RUNNING")
    assert code == 0 and json.loads(out) == []


def test_trials_filter_without_match_in_table(capsys, url, demo):
    code, out, _ = run(capsys, "trials", "--storage", url, "-s", "demo", "--state", "WAITING")
    assert code == 0
    assert out.strip() == "study 'demo' has no trials in state WAITING"


def test_trials_limit(capsys, url, demo):
    argv = ["trials", "--storage", url, "-s", "demo"]
    code, out, _ = run(capsys, *argv, "--limit", "2", "-f", "json")
    assert code == 0 and [t["number"] for t in json.loads(out)] == [0, 1]
    code, out, _ = run(capsys, *argv, "--limit", "2", "--state", "COMPLETE", "-f", "csv")
    assert code == 0 and [r["number"] for r in csv.DictReader(io.StringIO(out))] == ["0", "1"]
    code, out, _ = run(capsys, *argv, "--limit", "1")
    assert code == 0 and len(out.splitlines()) == 3  # header, dashes, one trial


def test_trials_limit_reads_only_the_first_trials_of_a_large_study(capsys, url, monkeypatch):
    """``--limit N`` lists the same trials as the full listing's first N, in every
    state filter, without reading the whole study."""
    study = hs.create_study("big", url, sampler=hs.samplers.RandomSampler(seed=0))

    def objective(t):
        x = t.suggest_float("x", 0, 1)
        if t.number % 7 == 3:
            raise hs.TrialPruned()
        return x

    study.optimize(objective, n_trials=1300)
    argv = ["trials", "--storage", url, "-s", "big", "-f", "json"]
    code, out, _ = run(capsys, *argv)
    full = json.loads(out)
    from hypersearch.storage.sql import SQLStorage

    rows = []
    real = SQLStorage.get_trials

    def counting(self, study_id, **kw):
        got = real(self, study_id, **kw)
        rows.append(len(got))
        return got

    monkeypatch.setattr(SQLStorage, "get_trials", counting)
    for extra, n in [([], 5), (["--state", "PRUNED"], 150), (["--state", "PRUNED", "--state", "FAIL"], 3)]:
        rows.clear()
        code, out, _ = run(capsys, *argv, "--limit", str(n), *extra)
        want = [t for t in full if not extra or t["state"] in extra[1::2]][:n]
        assert code == 0 and json.loads(out) == want
        assert sum(rows) < 1300  # not the whole study
    rows.clear()
    code, out, _ = run(capsys, "best-trial", "--storage", url, "-s", "big", "-f", "json")
    best = min((t for t in full if t["state"] == "COMPLETE"), key=lambda t: t["values"][0])
    assert code == 0 and json.loads(out)["number"] == best["number"]


@pytest.mark.parametrize("bad", ["0", "-3", "many"])
def test_trials_limit_must_be_positive(capsys, url, demo, bad):
    code, out, err = run(capsys, "trials", "--storage", url, "-s", "demo", "--limit", bad)
    assert code == 2 and out == ""
    assert_one_error_line(err, "--limit", "positive integer")


def test_trials_unknown_state(capsys, url, demo):
    code, _, err = run(capsys, "trials", "--storage", url, "-s", "demo", "--state", "DONE")
    assert code == 2
    assert_one_error_line(err, "unknown trial state 'DONE'", "COMPLETE")


def test_trials_of_multi_objective_study(capsys, url, demo):
    code, out, _ = run(capsys, "trials", "--storage", url, "-s", "mo")
    assert code == 0
    lines = out.splitlines()
    assert "VALUES" in lines[0]
    assert "2, 3" in lines[3]
    code, out, _ = run(capsys, "trials", "--storage", url, "-s", "mo", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(float(r["values_0"]), float(r["values_1"])) for r in rows] == [
        (1.0, 5.0), (2.0, 3.0), (3.0, 4.0),
    ]
    code, out, _ = run(capsys, "trials", "--storage", url, "-s", "mo", "-f", "json")
    data = json.loads(out)
    assert "value" not in data[0] and data[0]["values"] == [1.0, 5.0]


# -- best-trial ---------------------------------------------------------------------------------


def test_best_trial_table(capsys, url, demo):
    code, out, err = run(capsys, "best-trial", "--storage", url, "--study", "demo")
    assert code == 0 and err == ""
    fields = {line[:10].strip(): line[10:].strip() for line in out.splitlines()}
    assert fields["study"] == "demo (minimize)"
    assert fields["best trial"] == "1"
    assert fields["value"] == "1"
    assert fields["params"] == "x = 1"
    assert "k = b" in out


def test_best_trial_json(capsys, url, demo):
    code, out, _ = run(capsys, "best-trial", "--storage", url, "-s", "demo", "-f", "json")
    assert code == 0
    best = json.loads(out)
    assert best["number"] == 1 and best["value"] == 1.0
    assert best["params"] == {"x": 1.0, "k": "b"}


def test_best_trial_pareto_front(capsys, url, demo):
    code, out, _ = run(capsys, "best-trial", "--storage", url, "-s", "mo", "-f", "json")
    assert code == 0
    front = json.loads(out)
    assert sorted(t["number"] for t in front) == [0, 1]
    assert sorted(tuple(t["values"]) for t in front) == [(1.0, 5.0), (2.0, 3.0)]
    code, out, _ = run(capsys, "best-trial", "--storage", url, "-s", "mo")
    assert code == 0
    assert out.startswith("Pareto front of study 'mo' (minimize, minimize): 2 trials")
    numbers = [line.split()[0] for line in out.splitlines()[4:]]
    assert numbers == ["0", "1"]


def test_best_trial_without_completed_trial(capsys, url):
    study = hs.create_study("empty", url)
    study.add_trial({"x": 1}, None, state="PRUNED")
    code, out, err = run(capsys, "best-trial", "--storage", url, "-s", "empty")
    assert code == 1 and out == ""
    assert_one_error_line(err, "'empty' has no completed trial")
    study.add_trial(hs.trial.FrozenTrial(number=-1, state=hs.TrialState.COMPLETE, values=[2.0],
                                         system_attrs={"constraints": [1.0]}))
    code, out, err = run(capsys, "best-trial", "--storage", url, "-s", "empty")
    assert code == 1 and out == ""
    assert_one_error_line(err, "'empty' has no feasible trial: all 1 completed trial violate")


# -- export -------------------------------------------------------------------------------------------


def test_export_csv_to_stdout(capsys, url, demo):
    code, out, _ = run(capsys, "export", "--storage", url, "--study", "demo", "--format", "csv")
    assert code == 0
    reader = csv.DictReader(io.StringIO(out))
    rows = list(reader)
    assert reader.fieldnames[:6] == [
        "number", "state", "value", "datetime_start", "datetime_complete", "duration_s",
    ]
    assert reader.fieldnames[-1] == "fail_reason"
    assert len(rows) == 5
    assert [r["state"] for r in rows] == ["COMPLETE"] * 3 + ["FAIL", "PRUNED"]
    assert [float(r["value"]) for r in rows[:3]] == [4.0, 1.0, 9.0]
    assert rows[3]["fail_reason"] == "ValueError: bad x"
    start = dt.datetime.fromisoformat(rows[3]["datetime_start"])
    end = dt.datetime.fromisoformat(rows[3]["datetime_complete"])
    assert float(rows[3]["duration_s"]) == pytest.approx((end - start).total_seconds())


def test_export_json_to_file(capsys, url, demo, tmp_path):
    target = tmp_path / "demo.json"
    code, out, err = run(
        capsys, "export", "--storage", url, "-s", "demo", "--format", "json", "-o", str(target)
    )
    assert code == 0 and out == ""
    assert "exported 5 trials" in err
    doc = json.loads(target.read_text())
    assert doc["study"] == "demo" and doc["directions"] == ["minimize"]
    trials = doc["trials"]
    assert len(trials) == 5
    assert [t["value"] for t in trials] == [4.0, 1.0, 9.0, None, None]
    assert trials[0]["params_x"] == 2.0 and trials[0]["user_attrs_note"] == "first"
    assert trials[3]["fail_reason"] == "ValueError: bad x"
    for t in trials:
        assert isinstance(t["datetime_start"], str)
        dt.datetime.fromisoformat(t["datetime_start"])


def test_export_format_follows_file_extension(capsys, url, demo, tmp_path):
    code, _, _ = run(capsys, "export", "--storage", url, "-s", "mo", "-o", str(tmp_path / "mo.json"))
    assert code == 0
    doc = json.loads((tmp_path / "mo.json").read_text())
    assert doc["directions"] == ["minimize", "minimize"]
    assert [(t["values_0"], t["values_1"]) for t in doc["trials"]] == [(1.0, 5.0), (2.0, 3.0), (3.0, 4.0)]
    code, _, _ = run(capsys, "export", "--storage", url, "-s", "mo", "-o", str(tmp_path / "mo.csv"))
    assert code == 0
    rows = list(csv.DictReader((tmp_path / "mo.csv").open(newline="")))
    assert len(rows) == 3 and float(rows[2]["values_1"]) == 4.0


def test_export_empty_study_csv_has_header(capsys, url):
    hs.create_study("fresh", url)
    code, out, _ = run(capsys, "export", "--storage", url, "-s", "fresh")
    assert code == 0
    assert out.splitlines() == ["number,state,value,datetime_start,datetime_complete,duration_s"]


def test_export_to_unwritable_path(capsys, url, demo, tmp_path):
    target = tmp_path / "missing-dir" / "out.csv"
    code, out, err = run(capsys, "export", "--storage", url, "-s", "demo", "-o", str(target))
    assert code == 1
    assert_one_error_line(err, "cannot write", "out.csv")


# -- delete-study / create-study -----------------------------------------------------------------------


def test_delete_study_requires_yes(capsys, url, demo):
    code, out, err = run(capsys, "delete-study", "--storage", url, "--study", "demo")
    assert code == 2 and out == ""
    assert_one_error_line(err, "--yes", "'demo'")
    assert n_trials(url, "demo") == 5  # still there
    code, out, err = run(capsys, "delete-study", "--storage", url, "--study", "demo", "--yes")
    assert code == 0
    assert out.strip() == "deleted study 'demo' (5 trials)"
    assert [s.name for s in hs.list_studies(url)] == ["mo"]
    with pytest.raises(hs.StudyNotFoundError):
        hs.load_study("demo", url)


def test_create_study(capsys, url):
    code, out, err = run(capsys, "create-study", "--storage", url, "--study", "new")
    assert code == 0 and out == "new\n"
    study = hs.load_study("new", url)
    assert study.directions == [hs.StudyDirection.MINIMIZE] and study.trials == []

    code, out, err = run(capsys, "create-study", "--storage", url, "--study", "new")
    assert code == 1 and out == ""
    assert_one_error_line(err, "'new' already exists", "--skip-if-exists")

    code, out, _ = run(capsys, "create-study", "--storage", url, "--study", "new", "--skip-if-exists")
    assert code == 0 and out == "new\n"
    assert len(hs.list_studies(url)) == 1


def test_create_study_directions(capsys, url):
    code, out, _ = run(capsys, "create-study", "--storage", url, "-s", "up", "--direction", "maximize")
    assert code == 0
    assert hs.load_study("up", url).directions == [hs.StudyDirection.MAXIMIZE]
    code, out, _ = run(
        capsys, "create-study", "--storage", url, "-s", "two", "--directions", "minimize", "maximize"
    )
    assert code == 0
    assert hs.load_study("two", url).directions == [
        hs.StudyDirection.MINIMIZE, hs.StudyDirection.MAXIMIZE,
    ]
    # an existing study with other directions is not silently accepted
    code, out, err = run(
        capsys, "create-study", "--storage", url, "-s", "up", "--skip-if-exists",
        "--direction", "minimize",
    )
    assert code == 1
    assert_one_error_line(err, "'up' exists with directions")


def test_create_study_direction_options_exclude_each_other(capsys, url):
    code, _, err = run(
        capsys, "create-study", "--storage", url, "-s", "x", "--direction", "minimize",
        "--directions", "minimize", "maximize",
    )
    assert code == 2
    assert_one_error_line(err, "not allowed with")
    code, _, err = run(capsys, "create-study", "--storage", url, "-s", "x", "--direction", "up")
    assert code == 2
    assert_one_error_line(err, "'minimize' or 'maximize'")
    assert hs.list_studies(url) == []


def test_create_study_generates_a_name(capsys, url):
    code, out, _ = run(capsys, "create-study", "--storage", url)
    assert code == 0
    name = out.strip()
    assert name.startswith("study-")
    assert [s.name for s in hs.list_studies(url)] == [name]


# -- optimize ----------------------------------------------------------------------------------------


def test_optimize_creates_then_appends(capsys, url, objective_file):
    argv = [
        "optimize", "--storage", url, "--study", "opt",
        "--objective", f"{objective_file}:objective", "--n-trials", "6", "--seed", "1",
    ]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert "created study 'opt'" in err and "ran 6 trials (6 complete); 6 in total" in err
    study = hs.load_study("opt", url)
    assert len(study.trials) == 6
    fields = {line[:10].strip(): line[10:].strip() for line in out.splitlines()}
    assert fields["best trial"] == str(study.best_trial.number)

    code, out, err = run(capsys, *argv[:-2], "--n-trials", "4", "-f", "json")
    assert code == 0, err
    assert "created" not in err and "ran 4 trials (4 complete); 10 in total" in err
    trials = hs.load_study("opt", url).trials
    assert [t.number for t in trials] == list(range(10))
    assert all(t.state == hs.TrialState.COMPLETE for t in trials)
    best = min(trials, key=lambda t: t.value)
    printed = json.loads(out)
    assert printed["number"] == best.number and printed["value"] == best.value


def test_optimize_with_create_flag_and_direction(capsys, url, objective_file):
    code, out, err = run(
        capsys, "optimize", "--storage", url, "-s", "maxi", "--create", "--direction", "maximize",
        "--objective", f"{objective_file}:objective", "--n-trials", "5", "-f", "json",
    )
    assert code == 0, err
    study = hs.load_study("maxi", url)
    assert study.directions == [hs.StudyDirection.MAXIMIZE]
    assert json.loads(out)["value"] == max(t.value for t in study.trials)
    # the direction of an existing study is checked
    code, out, err = run(
        capsys, "optimize", "--storage", url, "-s", "maxi", "--direction", "minimize",
        "--objective", f"{objective_file}:objective", "--n-trials", "1",
    )
    assert code == 1
    assert_one_error_line(err, "'maxi' exists with directions")
    assert n_trials(url, "maxi") == 5


def test_optimize_seed_is_reproducible(capsys, url, objective_file):
    for name in ("a", "b"):
        code, _, err = run(
            capsys, "optimize", "--storage", url, "-s", name, "--seed", "7",
            "--objective", f"{objective_file}:objective", "--n-trials", "4",
        )
        assert code == 0, err
    a = [t.params for t in hs.load_study("a", url).trials]
    b = [t.params for t in hs.load_study("b", url).trials]
    assert a == b and len({p["x"] for p in a}) == 4


def test_optimize_dotted_module(capsys, monkeypatch, url, tmp_path):
    monkeypatch.setattr(sys, "path", list(sys.path))
    pkg = tmp_path / "hs_cli_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "objmod.py").write_text(OBJECTIVE_FILE)
    monkeypatch.chdir(tmp_path)  # the current directory is importable, like python -m
    code, out, err = run(
        capsys, "optimize", "--storage", url, "-s", "dotted",
        "--objective", "hs_cli_pkg.objmod:objective", "--n-trials", "3",
    )
    assert code == 0, err
    assert n_trials(url, "dotted") == 3


def test_optimize_grid_sampler(capsys, url, objective_file):
    argv = [
        "optimize", "--storage", url, "-s", "grid", "--sampler", "grid",
        "--objective", f"{objective_file}:objective",
    ]
    code, out, err = run(capsys, *argv)  # no --n-trials: stops when the grid is done
    assert code == 0, err
    trials = hs.load_study("grid", url).trials
    assert len(trials) == 6
    assert sorted((t.params["x"], t.params["k"]) for t in trials) == sorted(
        (x, k) for x in (-1.0, 0.5, 2.0) for k in ("a", "b")
    )
    fields = {line[:10].strip(): line[10:].strip() for line in out.splitlines()}
    assert fields["value"] == "0.25"
    # a second run finds the grid done and adds nothing
    code, out, err = run(capsys, *argv, "--n-trials", "3")
    assert code == 0, err
    assert "ran 0 trials; 6 in total" in err
    assert n_trials(url, "grid") == 6


def test_optimize_grid_sampler_needs_grid_space(capsys, url, tmp_path):
    path = tmp_path / "nogrid.py"
    path.write_text("def f(trial):\n    return trial.suggest_float('x', 0, 1)\n")
    code, out, err = run(
        capsys, "optimize", "--storage", url, "-s", "g", "--sampler", "grid",
        "--objective", f"{path}:f",
    )
    assert code == 1
    assert_one_error_line(err, "GRID_SPACE", "nogrid.py")
    assert hs.list_studies(url) == []


def test_optimize_qmc_sampler(capsys, url, objective_file):
    code, out, err = run(
        capsys, "optimize", "--storage", url, "-s", "q", "--sampler", "qmc", "--seed", "0",
        "--objective", f"{objective_file}:objective", "--n-trials", "8", "--n-jobs", "2",
    )
    assert code == 0, err
    trials = hs.load_study("q", url).trials
    assert len(trials) == 8 and all(-3 <= t.params["x"] <= 3 for t in trials)


def test_optimize_multi_objective_prints_pareto_front(capsys, url, objective_file):
    code, out, err = run(
        capsys, "optimize", "--storage", url, "-s", "mo2", "--directions", "minimize", "minimize",
        "--objective", f"{objective_file}:two_objectives", "--n-trials", "6", "-f", "json",
    )
    assert code == 0, err
    front = json.loads(out)
    study = hs.load_study("mo2", url)
    assert sorted(t["number"] for t in front) == sorted(t.number for t in study.best_trials)
    assert front and all(len(t["values"]) == 2 for t in front)


def test_optimize_timeout_without_n_trials(capsys, url, objective_file):
    code, _, err = run(
        capsys, "optimize", "--storage", url, "-s", "t", "--timeout", "0.3",
        "--objective", f"{objective_file}:objective",
    )
    assert code == 0, err
    assert n_trials(url, "t") >= 1


def test_optimize_needs_a_stopping_rule(capsys, url, objective_file):
    code, _, err = run(
        capsys, "optimize", "--storage", url, "-s", "t", "--objective", f"{objective_file}:objective"
    )
    assert code == 2
    assert_one_error_line(err, "--n-trials or --timeout")


def test_optimize_objective_exception_stops_with_one_line(capsys, url, objective_file):
    code, out, err = run(
        capsys, "optimize", "--storage", url, "-s", "flaky",
        "--objective", f"{objective_file}:flaky", "--n-trials", "5",
    )
    assert code == 1 and out == ""
    lines = [line for line in err.splitlines() if line.startswith("hypersearch: error:")]
    assert lines == [err.strip().splitlines()[-1]]
    assert "RuntimeError in trial 1: odd trial 1" in lines[0] and "--catch" in lines[0]
    assert "Traceback" not in err
    trials = hs.load_study("flaky", url).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL"]
    assert trials[1].fail_reason == "RuntimeError: odd trial 1"


def test_optimize_catch_goes_on(capsys, url, objective_file):
    code, out, err = run(
        capsys, "optimize", "--storage", url, "-s", "flaky", "--catch",
        "--objective", f"{objective_file}:flaky", "--n-trials", "5",
    )
    assert code == 0, err
    assert "ran 5 trials (3 complete, 2 fail)" in err
    assert [t.state.name for t in hs.load_study("flaky", url).trials] == [
        "COMPLETE", "FAIL", "COMPLETE", "FAIL", "COMPLETE",
    ]


def test_traceback_option_shows_the_traceback(capsys, url, objective_file):
    code, _, err = run(
        capsys, "optimize", "--storage", url, "-s", "flaky", "--traceback",
        "--objective", f"{objective_file}:flaky", "--n-trials", "3",
    )
    assert code == 1
    assert "Traceback" in err and 'raise RuntimeError(f"odd trial' in err
    assert err.strip().splitlines()[-1].startswith("hypersearch: error: the objective raised")


def test_optimize_subprocess(tmp_path, objective_file):
    url = f"sqlite:///{tmp_path}/sub.db"
    cmd = [
        sys.executable, "-m", "hypersearch.cli", "optimize", "--storage", url,
        "--study", "sub", "--objective", f"{objective_file}:objective", "--n-trials", "5",
        "--format", "json",
    ]
    env = {k: v for k, v in os.environ.items() if k != "HYPERSEARCH_STORAGE"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    best = json.loads(proc.stdout)
    study = hs.load_study("sub", url)
    assert len(study.trials) == 5
    assert best["number"] == study.best_trial.number and best["value"] == study.best_value


# -- error paths --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("storage", "code", "fragment"),
    [
        ("not-a-url", 2, "is not a database URL"),
        ("nosuchdb://host/x", 2, "invalid storage URL 'nosuchdb://host/x'"),
        ("sqlite:////nonexistent-dir/sub/x.db", 1, "cannot open storage"),
    ],
)
@pytest.mark.parametrize("cmd", [["studies"], ["trials", "-s", "demo"], ["create-study", "-s", "x"]])
def test_bad_storage_url(capsys, storage, code, fragment, cmd):
    rc, out, err = run(capsys, *cmd, "--storage", storage)
    assert rc == code and out == ""
    assert_one_error_line(err, fragment)


def test_storage_password_is_not_printed(capsys):
    rc, _, err = run(capsys, "studies", "--storage", "postgresql://me:s3cret@127.0.0.1:1/db")
    assert rc == 1
    line = assert_one_error_line(err, "me:***@127.0.0.1")
    assert "s3cret" not in line


@pytest.mark.parametrize(
    "cmd",
    [
        ["trials"],
        ["best-trial"],
        ["export"],
        ["delete-study", "--yes"],
        ["optimize", "--n-trials", "1", "--objective", "x.py:f"],
    ],
)
def test_missing_study_option(capsys, url, cmd):
    rc, out, err = run(capsys, *cmd, "--storage", url)
    assert rc == 2 and out == ""
    assert_one_error_line(err, "required", "--study")


@pytest.mark.parametrize(
    "cmd", [["trials"], ["best-trial"], ["export"], ["delete-study", "--yes"]]
)
def test_unknown_study(capsys, url, demo, cmd):
    rc, out, err = run(capsys, *cmd, "--storage", url, "--study", "nope")
    assert rc == 1 and out == ""
    assert_one_error_line(err, "no study named 'nope'", "hypersearch studies")


def test_unknown_study_suggests_close_name(capsys, url, demo):
    rc, _, err = run(capsys, "trials", "--storage", url, "--study", "dmeo")
    assert rc == 1
    assert_one_error_line(err, "no study named 'dmeo'", "did you mean 'demo'?")


def test_unknown_command_and_option(capsys, url):
    rc, _, err = run(capsys, "frobnicate")
    assert rc == 2
    assert_one_error_line(err, "invalid choice: 'frobnicate'")
    rc, _, err = run(capsys, "studies", "--storage", url, "--format", "xml")
    assert rc == 2
    assert_one_error_line(err, "--format", "'xml'")


@pytest.mark.parametrize(
    ("spec", "code", "fragments"),
    [
        ("{file}", 2, ["has no ':'", "path/to/file.py:function"]),
        ("{file}:", 2, ["is incomplete"]),
        (":objective", 2, ["is incomplete"]),
        ("{dir}/missing.py:objective", 1, ["objective file", "missing.py", "does not exist"]),
        ("{file}:no_such_function", 1, ["has no function 'no_such_function'"]),
        ("{file}:NOT_A_FUNCTION", 1, ["is not callable (it is a int)"]),
        ("hs_cli_no_such_module:objective", 1, ["cannot import objective module"]),
        ("{dir}/broken.py:objective", 1, ["error while loading objective file", "ZeroDivisionError"]),
    ],
)
def test_bad_objective(capsys, url, tmp_path, objective_file, spec, code, fragments):
    (tmp_path / "broken.py").write_text("1 / 0\n")
    spec = spec.format(file=objective_file, dir=tmp_path)
    rc, out, err = run(
        capsys, "optimize", "--storage", url, "-s", "s", "--objective", spec, "--n-trials", "1"
    )
    assert rc == code and out == ""
    assert_one_error_line(err, *fragments)
    assert hs.list_studies(url) == []  # nothing was created


def test_optimize_on_bad_arguments(capsys, url, objective_file):
    base = ["optimize", "--storage", url, "-s", "s", "--objective", f"{objective_file}:objective"]
    for extra, fragment in [
        (["--n-trials", "0"], "--n-trials"),
        (["--n-trials", "2", "--timeout", "-1"], "--timeout"),
        (["--n-trials", "2", "--n-jobs", "0"], "--n-jobs"),
        (["--n-trials", "2", "--sampler", "cmaes"], "--sampler"),
    ]:
        rc, _, err = run(capsys, *base, *extra)
        assert rc == 2, extra
        assert_one_error_line(err, fragment)
    assert hs.list_studies(url) == []

