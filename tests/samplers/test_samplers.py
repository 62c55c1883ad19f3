"""Random, grid and quasi-random samplers."""

from __future__ import annotations

import multiprocessing as mp

import numpy as np
import pytest
from scipy.stats import qmc

import hypersearch as hs
from hypersearch.samplers import GridSampler, QMCSampler, RandomSampler


def _xy(trial):
    x = trial.suggest_float("x", 0, 1)
    y = trial.suggest_float("y", 0, 1)
    return x + y


def test_random_sampler_respects_distributions_and_scales():
    study = hs.create_study(sampler=RandomSampler(seed=0))

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        k = trial.suggest_int("k", 0, 20, step=5)
        c = trial.suggest_categorical("c", ["a", "b", "c", "d"])
        assert 1e-5 <= lr <= 1e-1 and k in (0, 5, 10, 15, 20) and c in "abcd"
        return lr

    study.optimize(objective, n_trials=400)
    lrs = np.array([t.params["lr"] for t in study.trials])
    # log-uniform: a quarter of the mass in each decade
    assert 0.18 < np.mean(lrs < 1e-4) < 0.32
    counts = np.bincount([" abcd".index(t.params["c"]) for t in study.trials], minlength=5)[1:]
    assert counts.min() > 70
    assert {t.params["k"] for t in study.trials} == {0, 5, 10, 15, 20}


def test_grid_sampler_is_exhaustive_and_stops_cleanly(storage_url):
    space = {"a": [1, 2, 3], "b": ["x", "y"], "c": [True]}
    study = hs.create_study("grid", storage_url, sampler=GridSampler(space))
    study.optimize(lambda t: t.suggest_categorical("a", [1, 2, 3]) + t.suggest_float("u", 0, 1)
                   + len(t.suggest_categorical("b", ["x", "y"])), n_trials=100)
    trials = study.trials
    assert len(trials) == 6
    assert sorted((t.params["a"], t.params["b"]) for t in trials) == sorted(
        (a, b) for a in (1, 2, 3) for b in ("x", "y")
    )
    # a second optimize on the same study finds nothing left and returns at once
    study.optimize(lambda t: 0.0, n_trials=10)
    assert len(study.trials) == 6
    # re-attaching the same grid (a resumed study) does not enqueue it again
    again = hs.create_study("grid", study._storage, sampler=GridSampler(space), load_if_exists=True)
    again.optimize(lambda t: 0.0, n_trials=10)
    assert len(again.trials) == 6


def test_grid_sampler_threads_never_repeat_points():
    space = {"a": list(range(10)), "b": list(range(5))}
    study = hs.create_study(sampler=GridSampler(space, shuffle=True, seed=1))
    study.optimize(lambda t: t.suggest_int("a", 0, 9) * t.suggest_int("b", 0, 4), n_jobs=4)
    pts = [(t.params["a"], t.params["b"]) for t in study.trials]
    assert len(pts) == 50 and len(set(pts)) == 50
    # shuffled: not lexicographic
    assert pts != sorted(pts)


def _grid_worker(url, name):
    study = hs.load_study(name, url, sampler=GridSampler({"a": list(range(12)), "b": [0, 1, 2]}))
    study.optimize(lambda t: t.suggest_int("a", 0, 11) + t.suggest_int("b", 0, 2))


@pytest.mark.slow
def test_grid_sampler_across_processes(tmp_path):
    url = f"sqlite:///{tmp_path}/g.db"
    hs.create_study("g", url)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_grid_worker, args=(url, "g")) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    pts = [(t.params["a"], t.params["b"]) for t in hs.load_study("g", url).trials]
    assert len(pts) == 36 and len(set(pts)) == 36


def test_grid_sampler_validation():
    with pytest.raises(ValueError, match="non-empty dict"):
        GridSampler({})
    with pytest.raises(ValueError, match="'a'.*list of values"):
        GridSampler({"a": 3})
    with pytest.raises(ValueError, match="duplicate"):
        GridSampler({"a": [1, 1]})
    with pytest.raises(ValueError, match="continuous"):
        GridSampler({"a": hs.FloatDistribution(0, 1)})
    g = GridSampler({"a": hs.IntDistribution(0, 4, step=2), "b": hs.FloatDistribution(0, 1, step=0.5)})
    assert g.grid_size == 9


def test_grid_with_enqueued_user_trials_first():
    study = hs.create_study(sampler=GridSampler({"a": [1, 2]}))
    study.enqueue_trial({"a": 2})
    study.optimize(lambda t: t.suggest_categorical("a", [1, 2]) * 1.0)
    assert [t.params["a"] for t in study.trials] == [1, 2, 2]


def test_qmc_covers_the_space_more_evenly_than_random():
    def points(sampler):
        study = hs.create_study(sampler=sampler)
        study.optimize(_xy, n_trials=128)
        return np.array([[t.params["x"], t.params["y"]] for t in study.trials])

    d_qmc = np.mean([qmc.discrepancy(points(QMCSampler(seed=s))) for s in range(3)])
    d_rand = np.mean([qmc.discrepancy(points(RandomSampler(seed=s))) for s in range(3)])
    assert d_qmc < d_rand / 3


def test_qmc_is_reproducible_and_handles_mixed_spaces():
    def run(seed, qmc_type="sobol"):
        study = hs.create_study(sampler=QMCSampler(seed=seed, qmc_type=qmc_type))

        def objective(trial):
            kind = trial.suggest_categorical("kind", ["a", "b"])
            if kind == "a":
                trial.suggest_int("n", 1, 100, log=True)
            else:
                trial.suggest_float("lr", 1e-4, 1, log=True)
            return 0.0

        study.optimize(objective, n_trials=32)
        return [t.params for t in study.trials]

    assert run(1) == run(1)
    assert run(1) != run(2)
    ps = run(1, "halton")
    kinds = [p["kind"] for p in ps]
    assert kinds.count("a") == 16  # a balanced sequence splits the choice evenly
    with pytest.raises(ValueError, match="qmc_type"):
        QMCSampler(qmc_type="lhs")


def test_hashed_uniforms_are_uniform_and_independent():
    from scipy import stats

    from hypersearch.samplers.base import trial_uniform

    u = np.array([trial_uniform(0, n, 0, "x") for n in range(4000)])
    v = np.array([trial_uniform(0, n, 0, "y") for n in range(4000)])
    w = np.array([trial_uniform(1, n, 0, "x") for n in range(4000)])
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert stats.kstest(v, "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.06 and abs(np.corrcoef(u, w)[0, 1]) < 0.06
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.06  # consecutive trials


def test_a_grid_changed_on_resume_adds_only_new_points_whatever_the_value_types(tmp_path):
    from hypersearch.samplers.grid import GridSampler

    url = f"sqlite:///{tmp_path}/g.db"
    study = hs.create_study(study_name="g", storage=url, sampler=GridSampler({"x": [1, 2]}))
    study.optimize(lambda t: t.suggest_float("x", 0, 10), n_trials=5)  # params stored as 1.0, 2.0
    again = hs.load_study("g", url, sampler=GridSampler({"x": [1, 2, 3]}))
    waiting = [t.params["x"] for t in again.get_trials() if t.state == hs.TrialState.WAITING]
    assert waiting == [3]


def test_quasi_random_coordinates_are_kept_by_the_study(tmp_path):
    """The parameter-to-coordinate binding is stored, so a resumed study (here with
    queued partial configurations, whose names the first draw used to bind early)
    proposes what an uninterrupted one does, for QMC and the GP's start-up."""
    from hypersearch.samplers import GPSampler, QMCSampler

    def f(t):
        t.suggest_categorical("opt", ["adam", "sgd"])
        return t.suggest_float("a", 0, 1) + t.suggest_float("b", 0, 1) + t.suggest_int("w", 1, 8) + t.suggest_float(
            "cc", 0, 1)

    url = f"sqlite:///{tmp_path}/qmc.db"
    for make in (lambda: QMCSampler(seed=0), lambda: GPSampler(seed=0)):
        tag = type(make()).__name__

        def new(name, make=make, tag=tag):
            s = hs.create_study(name + tag, url, sampler=make())
            s.enqueue_trial({"opt": "adam"})
            s.enqueue_trial({"w": 1, "cc": 0.5})
            return s

        full = new("full")
        full.optimize(f, n_trials=6)
        half = new("half")
        half.optimize(f, n_trials=3)
        half = hs.load_study("half" + tag, url, sampler=make())
        half.optimize(f, n_trials=3)
        assert [t.params for t in half.trials] == [t.params for t in full.trials], tag
        attrs = full.system_attrs
        assert [attrs[f"qmc:dim:{i}"] for i in range(5)] == ["opt", "a", "b", "w", "cc"]
