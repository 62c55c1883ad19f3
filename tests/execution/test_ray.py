"""The Ray executor against a local Ray instance with 2 CPUs."""

from __future__ import annotations

import os

import pytest

import hypersearch as hs

from . import objectives

ray = pytest.importorskip("ray", reason="the Ray executor needs pip install 'hypersearch[ray]'")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_define_by_run_trials_run_as_ray_actors(local_ray):
    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0),
                            scheduler=hs.schedulers.MedianStoppingRule(n_startup_trials=2))
    study.optimize(objectives.with_reports, n_trials=10, n_jobs=2, executor="ray")
    trials = study.trials
    assert len(trials) == 10
    assert {t.state for t in trials} <= {hs.TrialState.COMPLETE, hs.TrialState.PRUNED}
    assert all(t.intermediate_values for t in trials)
    study.optimize(objectives.cpu_bound, n_trials=4, n_jobs=2, executor=hs.execution.RayExecutor())
    pids = {t.user_attrs["pid"] for t in study.trials[10:]}
    assert len(pids) == 2 and os.getpid() not in pids  # two long-lived actors


def test_errors_and_dead_actors(local_ray):
    study = hs.create_study()
    with pytest.raises(ValueError, match="bad x"):
        study.optimize(objectives.raises, n_trials=1, n_jobs=2, executor="ray")
    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    study.optimize(objectives.dies_once, n_trials=4, n_jobs=2, executor="ray", retries=1)
    dead = study.trials[2]
    assert dead.state == hs.TrialState.FAIL and "Ray actor died" in dead.fail_reason
    assert sum(t.state == hs.TrialState.COMPLETE for t in study.trials) == 4


def test_tune_on_ray(local_ray):
    res = hs.tune(_train, config={"x": hs.uniform(0, 1)}, num_samples=6, max_concurrent=2,
                  scheduler=hs.schedulers.ASHA(metric="loss", mode="min", max_t=4, grace_period=1),
                  executor="ray", seed=0)
    assert len(res.trials) == 6 and res.best_config["x"] == pytest.approx(
        min((t for t in res.trials if t.state == hs.TrialState.COMPLETE),
            key=lambda t: t.user_attrs["last_result"]["loss"]).user_attrs["config"]["x"])


def _train(config):
    for epoch in range(1, 5):
        hs.report(loss=config["x"] + 1.0 / epoch)


def test_a_partly_busy_cluster_runs_what_fits(local_ray, caplog):
    """With one of the two CPUs held by another actor, trials run one at a time
    (before, the second worker actor waited for a CPU that never freed up, and
    the run hung before its first trial)."""

    @ray.remote(num_cpus=1)
    class Holder:
        def ping(self):
            return 1

    holder = Holder.remote()
    ray.get(holder.ping.remote())
    try:
        study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
        with caplog.at_level("WARNING"):
            study.optimize(objectives.cpu_bound, n_trials=3, n_jobs=2, executor="ray")
        assert [t.state for t in study.trials] == [hs.TrialState.COMPLETE] * 3
        assert len({t.user_attrs["pid"] for t in study.trials}) == 1
        assert "room for 1 of the 2 concurrent trials" in caplog.text  # after the grace period
    finally:
        ray.kill(holder)


def test_an_objective_that_cannot_load_is_a_clear_error(local_ray):
    study = hs.create_study()
    with pytest.raises(RuntimeError, match="could not start or load the objective"):
        study.optimize(objectives.unloadable_in_workers(), n_trials=1, n_jobs=2, executor="ray")


def test_an_objective_slow_to_load_keeps_every_worker(local_ray, monkeypatch):
    """The placement grace counts placement only: an objective that takes longer
    than it to load still runs on every worker the cluster has room for (before,
    the grace also timed loading, and the second worker was given up)."""
    import hypersearch.execution.ray as hray

    monkeypatch.setattr(hray, "_PLACE_GRACE_S", 0.5)
    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    study.optimize(objectives.slow_to_load(1.5), n_trials=4, n_jobs=2, executor="ray")
    assert len({t.user_attrs["pid"] for t in study.trials}) == 2
