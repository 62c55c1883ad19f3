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


def test_workers_opening_a_new_study_at_once_queue_the_warm_start_once(tmp_path, monkeypatch):
    """create_study(load_if_exists=True, warm_start_from=...) in several workers at
    once: each sees an empty study, but only the first queues the configurations
    (before, every worker queued them and each ran once per worker)."""
    from hypersearch.study._study import _warm_start

    url = f"sqlite:///{tmp_path}/w.db"
    src = hs.create_study("src", url, sampler=hs.samplers.RandomSampler(seed=0))
    src.optimize(lambda t: t.suggest_float("x", -5, 5) ** 2, n_trials=8)
    hs.create_study("new", url)
    first, second = hs.load_study("new", url), hs.load_study("new", url)
    monkeypatch.setattr(second, "get_trials", lambda *a, **k: [])  # it looked before the first queued
    _warm_start(first, [src], 3)
    _warm_start(second, [src], 3)
    queued = hs.load_study("new", url).get_trials(states=[hs.TrialState.WAITING])
    assert len(queued) == 3 and len({t.user_attrs["warm_start_from"] for t in queued}) == 3
    from hypersearch.samplers.gp._transfer import TRANSFER_ATTR

    assert TRANSFER_ATTR in second.system_attrs  # its GP gets the sources' prior too
