"""MLflowCallback: trials logged as MLflow runs in a local SQLite tracking store."""

from __future__ import annotations

import sys

import pytest

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("alembic")  # MLflow's SQL tracking store

import hypersearch as hs  # noqa: E402
from hypersearch.integrations.mlflow import MLflowCallback  # noqa: E402
from hypersearch.schedulers import ThresholdStopper  # noqa: E402

# MLflow's own SQL store still uses a deprecated SQLAlchemy loader option.
pytestmark = pytest.mark.filterwarnings("ignore:.*noload.*:DeprecationWarning")


@pytest.fixture(scope="module")
def uri(tmp_path_factory):
    # The file store is deprecated (and refused by default) in MLflow 3; SQLite is the local
    # store.  One database for the module (creating one runs MLflow's migrations, which is
    # slow); each test uses its own experiments.
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"


def _objective(trial):
    x = trial.suggest_float("x", -3.0, 3.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    trial.set_user_attr("note", {"kind": kind})
    for step in range(3):
        trial.report(x * x + step, step)
        if trial.should_prune():
            raise hs.TrialPruned()
    if trial.number == 3:
        raise ValueError("boom")
    return x * x


def _runs(uri, experiment):
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None
    runs = client.search_runs([exp.experiment_id], max_results=100)
    return client, {r.info.run_name: r for r in runs}


def test_trials_become_runs(uri):
    study = hs.create_study(study_name="mlf", seed=0, scheduler=ThresholdStopper(upper=8.0))
    study.enqueue_trial({"x": 2.9, "kind": "a"})  # 8.41 > 8: pruned at its first report
    cb = MLflowCallback(tracking_uri=uri)
    study.optimize(_objective, n_trials=4, callbacks=[cb], catch=ValueError, show_progress_bar=False)

    client, runs = _runs(uri, "mlf")  # experiment named after the study
    assert set(runs) == {"0", "1", "2", "3"}
    trials = {str(t.number): t for t in study.trials}

    pruned = runs["0"]
    assert pruned.data.tags["hypersearch.state"] == "PRUNED"
    assert pruned.info.status == "KILLED"
    assert pruned.data.params == {"x": "2.9", "kind": "a"}
    assert pruned.data.metrics["value"] == pytest.approx(2.9**2)

    failed = runs["3"]
    assert failed.info.status == "FAILED"
    assert "boom" in failed.data.tags["hypersearch.fail_reason"]
    assert "value" not in failed.data.metrics

    for name in ("1", "2"):
        run, t = runs[name], trials[name]
        assert run.info.status == "FINISHED"
        assert run.data.tags["hypersearch.state"] == "COMPLETE"
        assert run.data.tags["hypersearch.study"] == "mlf"
        assert run.data.tags["hypersearch.trial_number"] == name
        assert run.data.tags["hypersearch.directions"] == "minimize"
        assert run.data.tags["user_attr.note"] == f'{{"kind": "{t.params["kind"]}"}}'
        assert float(run.data.params["x"]) == pytest.approx(t.params["x"])
        assert run.data.metrics["value"] == pytest.approx(t.value)
        assert run.data.metrics["duration_s"] == pytest.approx(t.duration.total_seconds(), abs=1e-3)
        history = client.get_metric_history(run.info.run_id, "intermediate_value")
        assert {m.step: m.value for m in history} == pytest.approx(t.intermediate_values)
        # the run spans the trial's own start and end
        assert run.info.start_time == int(t.datetime_start.timestamp() * 1000)
        assert run.info.end_time == int(t.datetime_complete.timestamp() * 1000)


def test_experiment_name_nested_and_multi_objective(uri):
    study = hs.create_study(study_name="mo", directions=["minimize", "maximize"], seed=1)
    cb = MLflowCallback(
        tracking_uri=uri,
        experiment_name="shared",
        metric_name=["loss", "acc"],
        nested=True,
        tags={"team": "search"},
    )

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        return x, 1 - x

    study.optimize(objective, n_trials=2, callbacks=[cb], show_progress_bar=False)
    # a second callback (e.g. another process) finds the same parent run
    study.optimize(
        objective,
        n_trials=1,
        callbacks=[MLflowCallback(tracking_uri=uri, experiment_name="shared", nested=True)],
        show_progress_bar=False,
    )
    _, runs = _runs(uri, "shared")
    assert set(runs) == {"mo", "0", "1", "2"}
    parent = runs["mo"]
    assert parent.data.tags["hypersearch.role"] == "study"
    for name in ("0", "1", "2"):
        assert runs[name].data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert runs["0"].data.tags["team"] == "search"
    m = runs["0"].data.metrics
    assert m["loss"] + m["acc"] == pytest.approx(1.0)
    assert {"value_0", "value_1"} <= set(runs["2"].data.metrics)  # default names


def test_nested_under_the_active_run(uri):
    mlflow.set_tracking_uri(uri)
    try:
        study = hs.create_study(study_name="inner")
        with mlflow.start_run(run_name="outer") as outer:
            study.optimize(
                lambda t: t.suggest_float("x", 0, 1),
                n_trials=1,
                callbacks=[MLflowCallback(nested=True, tag_study=False)],  # default tracking URI
                show_progress_bar=False,
            )
        _, runs = _runs(uri, "inner")
        assert runs["0"].data.tags["mlflow.parentRunId"] == outer.info.run_id
        assert "hypersearch.study" not in runs["0"].data.tags
    finally:
        mlflow.set_tracking_uri(None)


def test_metric_name_count_must_match(uri):
    study = hs.create_study()
    cb = MLflowCallback(tracking_uri=uri, metric_name=["a", "b"])
    with pytest.raises(ValueError, match="2 names"):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1, callbacks=[cb])


def test_missing_mlflow_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    with pytest.raises(ImportError, match=r"needs mlflow: pip install 'hypersearch\[mlflow\]'"):
        MLflowCallback()
