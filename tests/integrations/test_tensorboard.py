"""TensorBoardCallback: event files read back with TensorBoard's own readers, including
the HParams dashboard's backend."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)
from tensorboard.plugins.hparams import api_pb2, metadata  # noqa: E402

import hypersearch as hs  # noqa: E402
from hypersearch.integrations.tensorboard import TensorBoardCallback  # noqa: E402
from hypersearch.schedulers import ThresholdStopper  # noqa: E402


def _objective(trial):
    x = trial.suggest_float("x", -3.0, 3.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    flag = trial.suggest_categorical("flag", [True, False])
    for step in range(3):
        trial.report(x * x + step, step)
        if trial.should_prune():
            raise hs.TrialPruned()
    if trial.number == 3:
        raise ValueError("boom")
    return x * x + (kind == "b") + flag


@pytest.fixture
def study_dir(tmp_path):
    study = hs.create_study(seed=0, scheduler=ThresholdStopper(upper=8.0))
    study.enqueue_trial({"x": 2.9, "kind": "a", "flag": False})  # pruned at its first report
    cb = TensorBoardCallback(tmp_path / "tb")
    study.optimize(_objective, n_trials=4, callbacks=[cb], catch=ValueError, show_progress_bar=False)
    return study, cb, tmp_path / "tb"


def _accumulator(path):
    acc = EventAccumulator(str(path))
    acc.Reload()
    return acc


def _session(acc):
    start = metadata.parse_session_start_info_plugin_data(
        acc.SummaryMetadata(metadata.SESSION_START_INFO_TAG).plugin_data.content
    )
    end = metadata.parse_session_end_info_plugin_data(
        acc.SummaryMetadata(metadata.SESSION_END_INFO_TAG).plugin_data.content
    )
    return start, end


def test_scalars_and_sessions_per_trial(study_dir):
    study, cb, root = study_dir
    assert sorted(p.name for p in root.iterdir()) == [f"trial-000{i}" for i in range(4)]
    for t in study.trials:
        acc = _accumulator(cb.run_dir(t))
        curve = {e.step: e.value for e in acc.Scalars("intermediate_value")}
        assert curve == pytest.approx(t.intermediate_values)
        start, end = _session(acc)
        assert start.hparams["x"].number_value == pytest.approx(t.params["x"])
        assert start.hparams["kind"].string_value == t.params["kind"]
        assert start.hparams["flag"].bool_value == t.params["flag"]
        assert start.hparams["trial_state"].string_value == t.state.name
        assert start.start_time_secs == pytest.approx(t.datetime_start.timestamp())
        assert end.end_time_secs == pytest.approx(t.datetime_complete.timestamp())
        if t.state == hs.TrialState.FAIL:
            assert end.status == api_pb2.STATUS_FAILURE
            assert "value" not in acc.Tags()["scalars"]
        else:
            assert end.status == api_pb2.STATUS_SUCCESS
            [final] = acc.Scalars("value")
            assert final.value == pytest.approx(t.value)
            assert final.step == t.last_step
        [duration] = acc.Scalars("duration_s")
        assert duration.value == pytest.approx(t.duration.total_seconds(), abs=1e-4)
    states = [t.state for t in study.trials]
    assert states == [hs.TrialState.PRUNED, hs.TrialState.COMPLETE, hs.TrialState.COMPLETE,
                      hs.TrialState.FAIL]


@pytest.mark.filterwarnings("ignore:html5lib's sanitizer is deprecated:DeprecationWarning")
def test_hparams_dashboard_sees_the_study(study_dir):
    """What TensorBoard's HParams tab would show, through the plugin's own backend."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import get_experiment, hparams_plugin, list_session_groups

    study, _, root = study_dir
    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(root))
    mux.Reload()
    provider = data_provider.MultiplexerDataProvider(mux, str(root))
    plugin = hparams_plugin.HParamsPlugin(
        base_plugin.TBContext(logdir=str(root), multiplexer=mux, data_provider=provider)
    )
    ctx = context.RequestContext()
    exp = get_experiment.Handler(ctx, plugin._context, "", api_pb2.GetExperimentRequest()).run()
    assert {h.name for h in exp.hparam_infos} == {"x", "kind", "flag", "trial_state"}
    assert {m.name.tag for m in exp.metric_infos} == {"value", "intermediate_value", "duration_s"}

    request = api_pb2.ListSessionGroupsRequest(start_index=0, slice_size=100)
    request.allowed_statuses.extend([api_pb2.STATUS_SUCCESS, api_pb2.STATUS_FAILURE])
    for h in exp.hparam_infos:
        request.col_params.add(hparam=h.name)
    for m in exp.metric_infos:
        request.col_params.add(metric=m.name)
    groups = list_session_groups.Handler(ctx, plugin._context, "", request).run().session_groups
    shown = {}
    for g in groups:
        values = {mv.name.tag: mv.value for mv in g.metric_values}
        shown[g.name] = values.get("value")
    expected = {f"trial-{t.number:04d}": t.value for t in study.trials}
    assert set(shown) == set(expected)
    for name, value in expected.items():
        assert shown[name] == (None if value is None else pytest.approx(value))


def test_multi_objective_names(tmp_path):
    study = hs.create_study(directions=["minimize", "maximize"], seed=0)

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        return x, 1 - x

    study.optimize(
        objective,
        n_trials=1,
        callbacks=[TensorBoardCallback(tmp_path / "a", metric_name=["loss", "acc"]),
                   TensorBoardCallback(tmp_path / "b")],
        show_progress_bar=False,
    )
    t = study.trials[0]
    a = _accumulator(tmp_path / "a" / "trial-0000")
    assert a.Scalars("loss")[0].value == pytest.approx(t.values[0])
    assert a.Scalars("acc")[0].value == pytest.approx(t.values[1])
    b = _accumulator(tmp_path / "b" / "trial-0000")
    assert {"value_0", "value_1"} <= set(b.Tags()["scalars"])
    with pytest.raises(ValueError, match="3 names"):
        TensorBoardCallback(tmp_path / "c", metric_name=["a", "b", "c"])(study, t)


def test_missing_tensorboard_is_a_clear_import_error(monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:
        monkeypatch.setitem(sys.modules, name, None)  # imported as if not installed
    with pytest.raises(
        ImportError, match=r"needs tensorboard: pip install 'hypersearch\[tensorboard\]'"
    ):
        TensorBoardCallback(tmp_path)
