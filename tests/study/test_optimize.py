"""The optimize loop: results, failures, warm starts, reproducibility, ask/tell."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

import hypersearch as hs
from hypersearch.exceptions import DuplicatedStudyError, StudyNotFoundError, TrialStateError


def quadratic(trial):
    x = trial.suggest_float("x", -10, 10)
    y = trial.suggest_int("y", -5, 5)
    return (x - 2) ** 2 + y**2


def test_optimize_records_every_trial_and_best(storage_url):
    study = hs.create_study("q", storage_url, seed=0)
    study.optimize(quadratic, n_trials=40)
    trials = study.trials
    assert len(trials) == 40 and all(t.state == hs.TrialState.COMPLETE for t in trials)
    best = min(trials, key=lambda t: t.value)
    assert study.best_trial.number == best.number
    assert study.best_value == best.value
    assert study.best_params == best.params
    assert study.best_value == (study.best_params["x"] - 2) ** 2 + study.best_params["y"] ** 2


def test_maximize_direction():
    study = hs.create_study(direction="maximize", seed=1)
    study.optimize(quadratic, n_trials=20)
    assert study.best_value == max(t.value for t in study.trials)


@pytest.mark.parametrize(
    "returned, reason",
    [
        (float("nan"), "NaN"),
        (float("inf"), "infinite"),
        (None, "returned None"),
        ("0.5", "not a number"),
        ([1.0, 2.0], "2 value(s) but the study has 1"),
        (object(), "not a number"),
        (True, "bool"),
    ],
)
def test_bad_return_values_fail_the_trial_but_not_the_study(storage_url, returned, reason, caplog):
    study = hs.create_study("bad", storage_url)
    study.optimize(quadratic, n_trials=2)
    calls = []

    def objective(trial):
        trial.suggest_float("x", 0, 1)
        calls.append(1)
        return returned

    with caplog.at_level("WARNING", logger="hypersearch"):
        study.optimize(objective, n_trials=2)
    assert sum("failed" in r.getMessage() and reason in r.getMessage() for r in caplog.records) == 2
    trials = study.trials
    assert len(calls) == 2
    assert [t.state for t in trials] == [hs.TrialState.COMPLETE] * 2 + [hs.TrialState.FAIL] * 2
    assert reason in trials[-1].fail_reason
    assert trials[-1].params.keys() == {"x"}  # parameters of failed trials are kept
    assert study.best_trial.number in (0, 1)


def test_exceptions_fail_the_trial_then_propagate(storage_url):
    study = hs.create_study("exc", storage_url)

    def objective(trial):
        trial.suggest_float("x", 0, 1)
        if trial.number == 1:
            raise RuntimeError("diverged")
        return 1.0

    with pytest.raises(RuntimeError, match="diverged"):
        study.optimize(objective, n_trials=5)
    trials = study.trials
    assert len(trials) == 2
    assert trials[1].state == hs.TrialState.FAIL
    assert trials[1].fail_reason == "RuntimeError: diverged"
    # with catch the study goes on
    study.optimize(objective, n_trials=3, catch=(RuntimeError,))
    assert [t.state.name for t in study.trials[2:]] == ["COMPLETE"] * 3


def test_caught_exception_keeps_going_and_others_stop():
    study = hs.create_study()

    def objective(trial):
        if trial.number % 2:
            raise ValueError("odd")
        return 0.0

    study.optimize(objective, n_trials=6, catch=ValueError)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "FAIL"] * 3


def test_pruned_trials_keep_last_value():
    study = hs.create_study()

    def objective(trial):
        for step in range(3):
            trial.report(10.0 - step, step)
        raise hs.TrialPruned()

    study.optimize(objective, n_trials=2)
    t = study.trials[0]
    assert t.state == hs.TrialState.PRUNED
    assert t.value == 8.0
    assert t.intermediate_values == {0: 10.0, 1: 9.0, 2: 8.0}
    with pytest.raises(ValueError, match="no completed trial"):
        _ = study.best_trial


def test_keyboard_interrupt_marks_trial_and_study_resumes(tmp_path):
    url = f"sqlite:///{tmp_path}/int.db"
    study = hs.create_study("int", url)

    def objective(trial):
        trial.suggest_float("x", 0, 1)
        if trial.number == 2:
            raise KeyboardInterrupt
        return 1.0

    with pytest.raises(KeyboardInterrupt):
        study.optimize(objective, n_trials=10)
    again = hs.load_study("int", url)
    states = [t.state.name for t in again.trials]
    assert states == ["COMPLETE", "COMPLETE", "FAIL"]
    assert "interrupted" in again.trials[2].fail_reason
    again.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(again.trials) == 5


def test_enqueued_trials_run_first_and_missing_params_are_sampled(storage_url):
    study = hs.create_study("enq", storage_url, seed=0)
    study.enqueue_trial({"x": 2.0, "y": 0})
    study.enqueue_trial({"x": 1.5})
    assert study.enqueue_trial({"x": 2.0, "y": 0}, skip_if_exists=True) is None
    study.optimize(quadratic, n_trials=4)
    t0, t1, *_ = study.trials
    assert t0.params == {"x": 2.0, "y": 0} and t0.value == 0.0
    assert t1.params["x"] == 1.5 and -5 <= t1.params["y"] <= 5
    assert study.best_value == 0.0


def test_an_enqueued_value_outside_the_distribution_is_drawn_afresh():
    """A queued configuration from a study with other bounds must not end the run
    (before, the trial failed with a ValueError that stopped optimize)."""
    study = hs.create_study(seed=0)
    study.enqueue_trial({"x": 50.0, "y": 2})
    with pytest.warns(UserWarning, match="parameter 'x' was enqueued with 50.0, which is not in"):
        study.optimize(quadratic, n_trials=2)
    first = study.trials[0]
    assert first.state == hs.TrialState.COMPLETE and -10 <= first.params["x"] <= 10 and first.params["y"] == 2
    assert hs.load_study(study.study_name, study._storage).trials[0].params == first.params


def test_seeded_studies_are_reproducible(storage_url):
    a = hs.create_study("a", storage_url, seed=42)
    a.optimize(quadratic, n_trials=15)
    b = hs.create_study("b", storage_url, seed=42)
    b.optimize(quadratic, n_trials=15)
    c = hs.create_study("c", storage_url, seed=43)
    c.optimize(quadratic, n_trials=15)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert [t.params for t in a.trials] != [t.params for t in c.trials]


def test_resumed_study_continues_the_same_random_streams(tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    whole = hs.create_study("whole", url, sampler=hs.samplers.RandomSampler())
    seed = whole.sampler.seed
    whole.optimize(quadratic, n_trials=10)
    part = hs.create_study("part", url, sampler=hs.samplers.RandomSampler(seed=seed))
    part.optimize(quadratic, n_trials=4)
    resumed = hs.load_study("part", url, sampler=hs.samplers.RandomSampler())  # the stored seed is used
    assert resumed.sampler.seed == seed
    resumed.optimize(quadratic, n_trials=6)
    assert [t.params for t in resumed.trials] == [t.params for t in whole.trials]


def test_parallel_threads_are_reproducible_per_trial_number():
    def params_of(n_jobs):
        study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=7))
        study.optimize(quadratic, n_trials=24, n_jobs=n_jobs)
        return {t.number: t.params for t in study.trials}

    assert params_of(1) == params_of(4)


def test_dynamic_search_space():
    """The same name with other bounds/choices in another trial."""

    def objective(trial):
        d_model = trial.suggest_categorical("d_model", [128, 256, 384])
        heads = [h for h in (1, 2, 3, 4, 8, 16) if d_model % h == 0]
        n_heads = trial.suggest_categorical("n_heads", heads)
        hi = trial.suggest_int("hi", 1, 10)
        z = trial.suggest_float("z", 0, hi)
        assert d_model % n_heads == 0 and 0 <= z <= hi
        return z

    study = hs.create_study(seed=3)
    study.optimize(objective, n_trials=60)
    assert all(t.state == hs.TrialState.COMPLETE for t in study.trials)
    assert len({t.distributions["n_heads"] for t in study.trials}) >= 2


def test_suggesting_the_same_name_twice_returns_the_same_value():
    def objective(trial):
        a = trial.suggest_float("x", 0, 1)
        b = trial.suggest_float("x", 0, 1)
        assert a == b
        with pytest.raises(ValueError, match="already suggested"):
            trial.suggest_float("x", 5, 6)
        return a

    study = hs.create_study()
    study.optimize(objective, n_trials=3)
    assert all(t.state == hs.TrialState.COMPLETE for t in study.trials)


def test_ask_tell(storage_url):
    study = hs.create_study("at", storage_url)
    trial = study.ask({"x": hs.FloatDistribution(0, 1)})
    assert 0 <= trial.params["x"] <= 1
    frozen = study.tell(trial, trial.params["x"] ** 2)
    assert frozen.state == hs.TrialState.COMPLETE
    with pytest.raises(TrialStateError):
        study.tell(trial, 1.0)
    with pytest.raises(TrialStateError):
        trial.suggest_float("y", 0, 1)
    t2 = study.ask()
    t2.suggest_int("n", 0, 3)
    study.tell(t2.number, state="pruned")
    with pytest.raises(TrialStateError, match="PRUNED"):
        study.tell(t2.number, 1.0)
    with pytest.raises(ValueError, match="no trial number 99"):
        study.tell(99, 1.0)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "PRUNED"]


def test_multi_objective_pareto_front():
    study = hs.create_study(directions=["minimize", "maximize"], seed=0)

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        return x, x**0.5  # conflicting: every trial is Pareto-optimal

    study.optimize(objective, n_trials=10)
    study.add_trial({"x": 2.0}, [5.0, 0.0])  # dominated
    front = study.best_trials
    assert len(front) == 10
    assert all(t.number < 10 for t in front)
    with pytest.raises(ValueError, match="best_trials"):
        _ = study.best_trial
    with pytest.raises(ValueError, match="2 objective"):
        study.add_trial({"x": 1.0}, 1.0)


def test_add_trial_records_external_results(storage_url):
    study = hs.create_study("ext", storage_url)
    study.add_trial({"x": 1.0, "opt": "adam"}, 0.5, distributions={"x": hs.FloatDistribution(0, 2)})
    with pytest.raises(ValueError, match="not in"):
        study.add_trial({"x": 3.0}, 0.1, distributions={"x": hs.FloatDistribution(0, 2)})
    with pytest.raises(ValueError, match="NaN"):
        study.add_trial({"x": 1.0}, float("nan"))
    study.add_trial({"x": 0.2}, state="fail")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "FAIL"]
    assert study.best_params == {"x": 1.0, "opt": "adam"}


def test_add_trial_keeps_when_a_copied_trial_ran(storage_url):
    import datetime as dt

    src = hs.create_study()
    src.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    ft = src.trials[0]
    ft.datetime_start = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    ft.datetime_complete = ft.datetime_start + dt.timedelta(seconds=90)
    study = hs.create_study("copy", storage_url)
    study.add_trial(ft)
    got = hs.load_study("copy", storage_url).trials[0]
    assert got.duration == dt.timedelta(seconds=90)
    assert got.datetime_start.replace(tzinfo=dt.timezone.utc) == ft.datetime_start


def test_callbacks_stop_and_timeout():
    study = hs.create_study()
    seen = []

    def cb(s, t):
        seen.append(t.number)
        if t.number == 4:
            s.stop()

    study.optimize(quadratic, n_trials=100, callbacks=[cb])
    assert seen == [0, 1, 2, 3, 4]
    study.optimize(quadratic, timeout=0.2)  # stop() applies to one call only
    assert len(study.trials) > 5


def test_callback_trial_matches_the_stored_trial(storage_url):
    """A callback (TensorBoard, MLflow, ...) logs the same start, completion and
    duration that the storage keeps, whatever the trial's end."""
    study = hs.create_study(storage=storage_url, study_name="cb-times")
    seen = {}

    def objective(trial):
        x = trial.suggest_float("x", -1, 1)
        trial.report(x, 0)
        if trial.number == 1:
            raise hs.TrialPruned()
        if trial.number == 2:
            raise ValueError("boom")
        return x

    study.optimize(objective, n_trials=4, catch=ValueError,
                   callbacks=[lambda s, t: seen.setdefault(t.number, t)])
    stored = {t.number: t for t in hs.load_study("cb-times", storage_url).trials}
    assert sorted(seen) == [0, 1, 2, 3]
    for n, t in seen.items():
        assert t.state == stored[n].state
        assert t.datetime_complete == stored[n].datetime_complete
        assert t.duration == stored[n].duration


def test_invalid_optimize_arguments():
    study = hs.create_study()
    for kwargs, msg in [
        (dict(n_trials=-1), "n_trials"),
        (dict(n_trials=1.5), "n_trials"),
        (dict(timeout=0), "timeout"),
        (dict(n_jobs=0), "n_jobs"),
        (dict(catch=[3]), "catch"),
    ]:
        with pytest.raises((ValueError, TypeError), match=msg):
            study.optimize(quadratic, **kwargs)
    with pytest.raises(TypeError, match="callable"):
        study.optimize("not a function", n_trials=1)
    assert study.trials == []


def test_a_sampler_refusing_the_study_leaves_no_study_behind(storage_url):
    """Samplers can only refuse a study once bound to it; the study the refused call
    wrote is removed, so the corrected call can create it."""
    from hypersearch.samplers import BOHBSampler, GPSampler, TPESampler

    with pytest.raises(ValueError, match="single-objective"):
        hs.create_study("mo", storage_url, directions=["minimize", "minimize"], sampler=GPSampler(seed=0))
    with pytest.raises(ValueError, match="budgets"):
        hs.create_study("b", storage_url, sampler=BOHBSampler(seed=0))
    assert hs.list_studies(storage_url) == []
    study = hs.create_study("mo", storage_url, directions=["minimize", "minimize"], sampler=TPESampler(seed=0))
    assert study.directions == [hs.StudyDirection.MINIMIZE] * 2
    # an existing study is never removed by a refused load
    with pytest.raises(ValueError, match="single-objective"):
        hs.create_study("mo", storage_url, directions=["minimize", "minimize"], sampler=GPSampler(), load_if_exists=True)
    assert [s.name for s in hs.list_studies(storage_url)] == ["mo"]


def test_names_and_keys_longer_than_the_columns_are_refused_on_every_backend(storage_url):
    with pytest.raises(ValueError, match="study_name is 513 characters long; at most 512"):
        hs.create_study("n" * 513, storage_url)
    study = hs.create_study("n" * 512, storage_url)
    with pytest.raises(ValueError, match="at most 512"):
        study.set_user_attr("k" * 513, 1)
    study.set_user_attr("k" * 512, 1)
    assert hs.load_study("n" * 512, storage_url).user_attrs == {"k" * 512: 1}


def test_study_management(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    hs.create_study("m", url, direction="maximize")
    with pytest.raises(DuplicatedStudyError, match="load_if_exists"):
        hs.create_study("m", url)
    with pytest.raises(ValueError, match="exists with directions"):
        hs.create_study("m", url, load_if_exists=True)
    s = hs.create_study("m", url, direction="maximize", load_if_exists=True)
    s.optimize(quadratic, n_trials=3)
    assert [x.name for x in hs.list_studies(url)] == ["m"]
    assert hs.list_studies(url)[0].n_trials == 3
    hs.delete_study("m", url)
    with pytest.raises(StudyNotFoundError):
        hs.load_study("m", url)
    with pytest.raises(ValueError, match="direction"):
        hs.create_study(direction="up")
    with pytest.raises(ValueError, match="not a database URL"):
        hs.create_study(storage="results.db")


def test_report_validation_and_user_attrs():
    study = hs.create_study()

    def objective(trial):
        trial.report(1.0, 0)
        with pytest.warns(UserWarning, match="already reported"):
            trial.report(2.0, 0)
        with pytest.raises(ValueError, match="step"):
            trial.report(1.0, -1)
        with pytest.raises(TypeError, match="number"):
            trial.report("x", 1)
        with pytest.raises(ValueError, match="not JSON-serialisable"):
            trial.set_user_attr("f", object())
        trial.set_user_attr("arch", {"layers": [64, 32]})
        return 0.0

    study.optimize(objective, n_trials=1)
    (t,) = study.trials
    assert t.intermediate_values == {0: 1.0}
    assert t.user_attrs == {"arch": {"layers": [64, 32]}}


def test_trials_dataframe():
    pd = pytest.importorskip("pandas")
    study = hs.create_study(seed=0)
    study.optimize(quadratic, n_trials=5)
    df = study.trials_dataframe()
    assert isinstance(df, pd.DataFrame)
    assert len(df) == 5
    assert {"number", "value", "state", "params_x", "params_y", "duration_s"} <= set(df.columns)
    assert np.allclose(df["value"], [t.value for t in study.trials])
    # Optuna's attrs and multi_index, and its Timedelta duration
    assert df["duration"].dt.total_seconds().tolist() == pytest.approx(df["duration_s"].tolist())
    sel = study.trials_dataframe(attrs=("number", "value", "params", "state"))
    assert list(sel.columns) == ["number", "value", "params_x", "params_y", "state"]
    t = study.ask()
    t.suggest_float("x", 0, 1)
    t.report(0.5, 2)
    study.tell(t, 0.25)
    mi = study.trials_dataframe(attrs=("number", "params", "intermediate_values"), multi_index=True)
    assert ("params", "x") in mi.columns and mi[("intermediate_values", "2")].iloc[-1] == 0.5
    with pytest.raises(TypeError, match="pass them as attrs"):
        study.trials_dataframe(("number", "value"))
    with pytest.raises(ValueError, match="unknown attrs"):
        study.trials_dataframe(attrs=("nope",))
    multi = hs.create_study(directions=["minimize", "maximize"])
    multi.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=2)
    assert list(multi.trials_dataframe(attrs=("values",)).columns) == ["values_0", "values_1"]


def test_numpy_return_values_are_accepted():
    study = hs.create_study(directions=["minimize", "minimize"])
    study.optimize(lambda t: np.array([1.0, 2.0]), n_trials=1)
    study2 = hs.create_study()
    study2.optimize(lambda t: np.float32(0.5), n_trials=1)
    assert study.trials[0].values == [1.0, 2.0] and study2.best_value == 0.5


def test_threads_share_the_study_safely():
    study = hs.create_study(seed=0)
    lock = threading.Lock()
    running = []

    def objective(trial):
        with lock:
            running.append(trial.number)
        return math.sin(trial.suggest_float("x", 0, 3))

    study.optimize(objective, n_trials=50, n_jobs=4, executor="thread")
    assert sorted(running) == list(range(50))
    assert [t.number for t in study.trials] == list(range(50))


def test_progress_bar_shows_count_and_best(capsys):
    study = hs.create_study(seed=0)
    study.optimize(quadratic, n_trials=5, show_progress_bar=True)
    err = capsys.readouterr().err
    assert "5/5" in err and f"best={study.best_value:.6g}" in err
    study.optimize(quadratic, n_trials=2, show_progress_bar=False)
    assert capsys.readouterr().err == ""


def test_bad_arguments_leave_the_storage_untouched(tmp_path):
    """Every argument is checked before anything is written."""
    url = f"sqlite:///{tmp_path / 'b.db'}"
    study = hs.create_study(study_name="keep", storage=url)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)

    def snapshot():
        return [(s.name, s.n_trials) for s in hs.list_studies(url)]

    before = snapshot()
    bad = [
        lambda: study.optimize(lambda t: 1.0, n_trials=1, catch=5),
        lambda: hs.create_study(storage=url, sampler="tpe"),
        lambda: hs.create_study(storage=url, scheduler=object()),
        lambda: hs.create_study(storage=url, warm_start_top_k=0),
        lambda: study.enqueue_trial({"x": float("inf")}),
        lambda: study.enqueue_trial({"x": float("nan")}),
        lambda: hs.create_study(storage=url, direction=""),
    ]
    for kw in ({"trial_timeout": -1}, {"retries": -1}, {"max_concurrent": 0}, {"time_budget_s": 0},
               {"heartbeat_interval": "x"}, {"executor": "gpu"}):
        bad.append(lambda kw=kw: hs.tune(lambda c: hs.report(loss=1.0), {"x": hs.uniform(0, 1)}, metric="loss",
                                         mode="min", storage=url, name="t", **kw))
    for f in bad:
        with pytest.raises((ValueError, TypeError)) as e:
            f()
        assert "Traceback" not in str(e.value) and str(e.value)
    assert snapshot() == before


def test_a_worker_whose_trial_was_taken_over_goes_on(storage_url):
    """A worker suspended longer than the heartbeat grace comes back to find its
    trial failed and queued again by another process: it drops that trial with a
    warning and goes on (before, its next report raised TrialStateError out of
    optimize)."""
    import datetime as dt

    study = hs.create_study(storage=storage_url, study_name="taken")
    ran = []

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        ran.append(trial.number)
        if trial.number == 0:
            trial.report(x, 0)
            # meanwhile another process's reaper failed the silent trial, with a retry
            study._storage.fail_stale_trials(
                study._study_id, dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1), retries=1,
                numbers=[0])
            trial.report(x, 1)
        return x

    study.optimize(objective, n_trials=2)
    trials = hs.load_study("taken", storage_url).trials
    assert trials[0].state == hs.TrialState.FAIL and trials[0].intermediate_values == {0: trials[0].params["x"]}
    assert trials[1].system_attrs["retry_of"] == 0 and trials[1].state == hs.TrialState.COMPLETE
    assert ran == [0, 1, 2]  # the retry takes the dropped trial's place in n_trials

    # Ctrl-C (or an error outside catch) raised as the trial was taken over still ends the run
    def interrupted(trial):
        trial.suggest_float("x", 0, 1)
        trial.report(0.0, 0)
        study._storage.fail_stale_trials(
            study._study_id, dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1), retries=0,
            numbers=[trial.number])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        study.optimize(interrupted, n_trials=3)


def test_numpy_values_are_stored_as_the_numbers_they_hold(storage_url):
    """scores.argmax(), np.float32 metrics and dataframe rows (np.float64) are what
    users have at hand: stored as Python numbers, not refused (before, a numpy
    user attribute failed the trial and ended optimize)."""
    import numpy as np

    study = hs.create_study(storage=storage_url, study_name="np")
    study.enqueue_trial({"n_layers": np.int64(2), "lr": np.float32(0.5)}, user_attrs={"fold": np.int32(1)})

    def objective(trial):
        n = trial.suggest_int("n_layers", 1, 4)
        lr = trial.suggest_float("lr", 0.1, 1.0)
        trial.set_user_attr("best_fold", np.array([0.1, 0.9]).argmax())
        trial.set_user_attr("scores", np.array([0.1, 0.9]))
        return np.float32(n * lr)

    study.optimize(objective, n_trials=1)
    t = hs.load_study("np", storage_url).trials[0]
    assert t.state == hs.TrialState.COMPLETE and t.params == {"n_layers": 2, "lr": 0.5}
    assert t.user_attrs == {"fold": 1, "best_fold": 1, "scores": [0.1, 0.9]}
    assert type(t.user_attrs["best_fold"]) is int
    with pytest.raises(ValueError, match="finite"):
        study.enqueue_trial({"lr": np.float32("nan")})
    with pytest.raises(ValueError, match="'layers'.*finite"):
        study.enqueue_trial({"layers": np.array([64.0, np.nan])})
    # True and 1 are different choices: enqueueing one never skips the other
    study.enqueue_trial({"flag": 1})
    assert study.enqueue_trial({"flag": True}, skip_if_exists=True) is not None
    assert study.enqueue_trial({"flag": True}, skip_if_exists=True) is None


def test_an_enqueued_name_the_objective_never_suggests_is_warned_about(caplog):
    study = hs.create_study()
    study.enqueue_trial({"lr": 0.1, "typo_lr": 0.2})
    study.enqueue_trial({"lr": 0.3})
    with caplog.at_level("WARNING", logger="hypersearch"):
        study.optimize(lambda t: t.suggest_float("lr", 0, 1), n_trials=2)
    warned = [r.getMessage() for r in caplog.records if "never suggested" in r.getMessage()]
    assert len(warned) == 1 and "['typo_lr']" in warned[0] and warned[0].startswith("trial 0")


def test_report_takes_integral_float_steps():
    study = hs.create_study()
    trial = study.ask()
    trial.report(0.5, 3.0)
    trial.report(0.4, np.float64(4.0))
    assert trial.intermediate_values == {3: 0.5, 4: 0.4}
    with pytest.raises(ValueError, match="step must be a non-negative integer"):
        trial.report(0.3, 4.5)


def test_an_objective_reruns_on_a_finished_or_fixed_configuration():
    """``objective(study.best_trial)`` and ``objective(FixedTrial(params))`` retrain a
    chosen configuration with the code that searched for it."""
    from hypersearch.trial import FixedTrial

    def objective(trial):
        opt = trial.suggest_categorical("opt", ["sgd", "adam"])
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        trial.report(lr, 1)
        if trial.should_prune():
            raise hs.TrialPruned()
        trial.set_user_attr("opt_used", opt)
        return lr * (2 if opt == "sgd" else 1)

    study = hs.create_study(seed=0)
    study.optimize(objective, n_trials=5)
    best = study.best_trial
    assert objective(best) == best.value and best.user_attrs["opt_used"] == best.params["opt"]
    fixed = FixedTrial({"opt": "sgd", "lr": 0.01})
    assert objective(fixed) == 0.02 and fixed.intermediate_values == {1: 0.01}
    with pytest.raises(ValueError, match="non-negative integer"):
        fixed.report(0.1, 3.5)
    with pytest.warns(UserWarning, match="already reported"):
        fixed.report(0.2, 1)
    assert fixed.intermediate_values == {1: 0.01}
    with pytest.raises(ValueError, match="parameter 'lr' has no value in trial 0; it has \\['opt'\\]"):
        objective(FixedTrial({"opt": "adam"}))
    with pytest.warns(UserWarning, match="lies outside"):
        assert objective(FixedTrial({"opt": "adam", "lr": 5.0})) == 5.0
    copy = hs.create_study()
    assert [t.number for t in copy.add_trials(study.trials)] == [0, 1, 2, 3, 4]
    assert copy.best_value == study.best_value


def test_tell_skip_if_finished_and_values_with_pruned():
    study = hs.create_study()
    t = study.ask()
    t.suggest_float("x", 0, 1)
    done = study.tell(t, 1.0)
    with pytest.raises(hs.TrialStateError):
        study.tell(t, 2.0)
    again = study.tell(t, 2.0, skip_if_finished=True)
    assert again.value == done.value == 1.0 and study.tell(t.number, 3.0, skip_if_finished=True).value == 1.0
    p = study.ask()
    p.report(0.7, 1)
    with pytest.warns(UserWarning, match="values told with state PRUNED are ignored"):
        pruned = study.tell(p, 0.1, state="pruned")
    assert pruned.values == [0.7]


def test_pruner_is_optunas_name_for_the_scheduler(tmp_path):
    url = f"sqlite:///{tmp_path}/p.db"
    median = hs.schedulers.MedianStoppingRule(n_startup_trials=1)
    study = hs.create_study("p", url, pruner=median)
    assert study.scheduler is median
    assert hs.load_study("p", url, pruner=median).scheduler is median
    with pytest.raises(ValueError, match="either scheduler or pruner"):
        hs.create_study(pruner=median, scheduler=median)


def test_optunas_old_suggest_names_still_work_with_a_warning():
    from hypersearch.trial import FixedTrial

    def objective(t):
        return t.suggest_uniform("a", 0, 1) + t.suggest_loguniform("b", 1e-3, 1) + t.suggest_discrete_uniform(
            "c", 0, 1, 0.25)

    study = hs.create_study(seed=0)
    with pytest.warns(FutureWarning, match="use suggest_float"):
        study.optimize(objective, n_trials=2)
    d = study.trials[0].distributions
    assert d["b"] == hs.FloatDistribution(1e-3, 1, log=True) and d["c"] == hs.FloatDistribution(0, 1, step=0.25)
    with pytest.warns(FutureWarning):
        assert objective(FixedTrial({"a": 0.5, "b": 0.01, "c": 0.25})) == pytest.approx(0.76)


def test_copy_study_to_another_storage_resumes_there(tmp_path, storage_url):
    """A study copied (e.g. from a local SQLite file to PostgreSQL) keeps its trials,
    numbers, reports, attributes and seed, so it goes on as the original would."""
    src_url = f"sqlite:///{tmp_path}/src.db"
    src = hs.create_study("s", src_url, seed=3)
    src.set_user_attr("note", {"a": [1, 2]})
    src.optimize(quadratic, n_trials=4)
    running = src.ask()
    src.enqueue_trial({"x": 1.0, "y": 0})
    copy = hs.copy_study(from_study_name="s", from_storage=src_url, to_storage=storage_url, to_study_name="c")
    got = copy.trials
    assert [t.number for t in got] == [0, 1, 2, 3, 4, 5]
    assert [(t.params, t.values, t.state) for t in got[:4]] == [(t.params, t.values, t.state) for t in src.trials[:4]]
    assert got[5].state == hs.TrialState.WAITING and got[running.number].state == hs.TrialState.FAIL
    assert copy.user_attrs == {"note": {"a": [1, 2]}} and copy.system_attrs == src.system_attrs
    assert got[0].datetime_start == src.trials[0].datetime_start
    copy.optimize(quadratic, n_trials=1)
    assert copy.trials[5].state == hs.TrialState.COMPLETE and copy.trials[5].params == {"x": 1.0, "y": 0}
    with pytest.raises(hs.DuplicatedStudyError):
        hs.copy_study(from_study_name="s", from_storage=src_url, to_storage=storage_url, to_study_name="c")


def test_max_trials_callback_is_a_budget_for_the_whole_study():
    study = hs.create_study()
    study.optimize(quadratic, n_trials=3)
    study.optimize(quadratic, n_trials=100, callbacks=[hs.study.MaxTrialsCallback(5)])
    assert len(study.trials) == 5
    with pytest.raises(ValueError, match="positive integer"):
        hs.study.MaxTrialsCallback(0)


def test_multi_objective_details_users_asked_about():
    """The trials table says which trials are infeasible; a dict returned for several
    objectives is named as such; a scheduler that cannot tell which objective to
    judge is refused when the study is created, not at its first report."""
    pytest.importorskip("pandas")
    study = hs.create_study(directions=["minimize", "minimize"])

    def objective(t):
        x = t.suggest_float("x", 0, 1)
        t.set_system_attr("constraints", [x - 0.5])
        return x, 1 - x

    study.optimize(objective, n_trials=4)
    df = study.trials_dataframe()
    assert df["feasible"].tolist() == [t.params["x"] <= 0.5 for t in study.trials]
    bad = study.ask()
    assert study.tell(bad, {"acc": 1.0, "size": 2.0}).fail_reason.startswith("the objective returned a dict")
    with pytest.raises(ValueError, match="several objectives; pass mode="):
        hs.create_study(directions=["minimize", "maximize"], scheduler=hs.schedulers.MedianStoppingRule())
    hs.create_study(directions=["minimize", "maximize"], scheduler=hs.schedulers.MedianStoppingRule(mode="max"))
