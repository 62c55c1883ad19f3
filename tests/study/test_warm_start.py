"""Warm starting a study from earlier studies of similar tasks."""

from __future__ import annotations

import numpy as np
import pytest

import hypersearch as hs


def _task(center):
    c = np.asarray(center)

    def objective(trial):
        x = np.array([trial.suggest_float(f"x{i}", -5, 5) for i in range(3)])
        return float(((x - c) ** 2).sum())

    return objective


def _trials_to(study, threshold):
    for t in study.trials:
        if t.value is not None and t.value < threshold:
            return t.number + 1
    return len(study.trials) + 1


def test_warm_start_reaches_a_regret_in_fewer_trials_on_a_shifted_task():
    source = hs.create_study(sampler=hs.samplers.TPESampler(seed=0))
    source.optimize(_task([1.0, 1.0, 1.0]), n_trials=60)
    target = _task([1.3, 0.8, 1.1])  # the same problem, shifted
    for seed in range(3):
        cold = hs.create_study(sampler=hs.samplers.TPESampler(seed=seed))
        cold.optimize(target, n_trials=40)
        warm = hs.create_study(sampler=hs.samplers.TPESampler(seed=seed), warm_start_from=[source])
        warm.optimize(target, n_trials=40)
        assert _trials_to(warm, 0.5) < _trials_to(cold, 0.5)
        first = warm.trials[0]
        assert first.user_attrs["warm_start_from"].startswith(f"{source.study_name}#")
        assert first.params == source.best_params


def test_warm_start_queues_top_k_once_and_checks_arguments(tmp_path):
    src = hs.create_study()
    for i in range(8):
        src.add_trial({"x": float(i)}, float(i))
    url = f"sqlite:///{tmp_path}/w.db"
    study = hs.create_study("w", url, warm_start_from=[src, src], warm_start_top_k=3)
    waiting = study.get_trials(["WAITING"])
    assert [t.params["x"] for t in waiting] == [0.0, 1.0, 2.0]  # distinct, best first
    again = hs.create_study("w", url, load_if_exists=True, warm_start_from=[src])
    assert len(again.get_trials(["WAITING"])) == 3  # not queued twice
    with pytest.raises(ValueError, match="warm_start_top_k"):
        hs.create_study(warm_start_from=[src], warm_start_top_k=0)
    with pytest.raises(ValueError, match="objective"):
        hs.create_study(directions=["minimize", "minimize"], warm_start_from=[src])
    with pytest.raises(TypeError, match="studies"):
        hs.create_study(warm_start_from=["src"])
