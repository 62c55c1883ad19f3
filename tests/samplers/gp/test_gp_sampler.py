"""GPSampler end to end: optimisation quality, mixed and dynamic spaces, pending
points, reproducibility, constraints and argument checking."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

import hypersearch as hs
from hypersearch.samplers import RandomSampler
from hypersearch.samplers.gp import GPSampler
from hypersearch.samplers.gp._sampler import PROPOSAL_ATTR, THETA_ATTR
from hypersearch.space.distributions import FloatDistribution, IntDistribution
from hypersearch.space.encoding import UnitCubeEncoder


def branin(trial):
    x = trial.suggest_float("x", -5, 10)
    y = trial.suggest_float("y", 0, 15)
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


def quadratic(trial):
    x = trial.suggest_float("x", -3, 3)
    y = trial.suggest_float("y", -3, 3)
    return (x - 1.2) ** 2 + 2 * (y + 0.7) ** 2


def _best(sampler, objective, n_trials=30, direction="minimize"):
    study = hs.create_study(sampler=sampler, direction=direction)
    study.optimize(objective, n_trials=n_trials)
    return study.best_value


@pytest.mark.parametrize("objective", [quadratic, branin], ids=["quadratic", "branin"])
def test_beats_random_search_at_30_trials(objective):
    seeds = range(3)
    gp = np.mean([_best(GPSampler(seed=s), objective) for s in seeds])
    rnd = np.mean([_best(RandomSampler(seed=s), objective) for s in seeds])
    assert gp < rnd
    optimum = 0.0 if objective is quadratic else 0.397887
    assert gp - optimum < 0.5 * (rnd - optimum)  # and by a wide margin


def test_maximisation_uses_the_direction_sign():
    best = _best(GPSampler(seed=0), lambda t: -quadratic(t), direction="maximize")
    assert best > -0.05


@pytest.mark.parametrize("acquisition", ["ei", "pi", "ucb", "ensemble"])
def test_mixed_space_returns_valid_values(acquisition):
    choices = ["relu", "tanh", None, 7]

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        layers = trial.suggest_int("layers", 1, 6)
        units = trial.suggest_int("units", 8, 512, log=True)
        drop = trial.suggest_float("drop", 0.0, 0.5, step=0.1)
        act = trial.suggest_categorical("act", choices)
        x = trial.suggest_float("x", -1, 1)
        assert 1e-5 <= lr <= 1e-1 and 1 <= layers <= 6 and 8 <= units <= 512
        assert isinstance(layers, int) and isinstance(units, int)
        assert any(abs(drop - 0.1 * k) < 1e-9 for k in range(6))
        assert act in choices
        return (math.log10(lr) + 3) ** 2 + (layers - 4) ** 2 + x**2 + (act != "tanh") + drop

    sampler = GPSampler(seed=1, n_startup_trials=6, acquisition=acquisition, n_candidates=256)
    study = hs.create_study(sampler=sampler)
    study.optimize(objective, n_trials=16)
    trials = study.trials
    assert len(trials) == 16 and all(t.state.name == "COMPLETE" for t in trials)
    # After the startup trials the GP proposes every parameter jointly.
    for t in trials[6:]:
        assert THETA_ATTR in t.system_attrs
        assert set(t.system_attrs[PROPOSAL_ATTR]) == set(t.params)
        assert t.system_attrs[PROPOSAL_ATTR] == t.params
    assert study.best_value < min(t.value for t in trials[:6])


def test_pending_points_change_the_proposal():
    space = {"x": FloatDistribution(0, 1), "y": FloatDistribution(0, 1)}

    def run(pending):
        study = hs.create_study(sampler=GPSampler(seed=3, n_startup_trials=8, pending=pending))
        study.optimize(lambda t: (t.suggest_float("x", 0, 1) - 0.3) ** 2 + (t.suggest_float("y", 0, 1) - 0.6) ** 2, n_trials=12)
        a = study.ask(fixed_distributions=space)  # suggested at once: a live running trial
        b = study.ask(fixed_distributions=space)
        c = study.ask()  # proposed but not suggested yet: pending through its proposal
        d = study.ask(fixed_distributions=space)
        enc = UnitCubeEncoder(space)
        pa, pb, pd = (enc.encode(t.params) for t in (a, b, d))
        pc = enc.encode(c.study.running_trials()[2].system_attrs[PROPOSAL_ATTR])
        return np.linalg.norm(pa - pb), min(np.linalg.norm(pd - pc), np.linalg.norm(pd - pa))

    ab_ignore, d_ignore = run("ignore")
    ab_believer, d_believer = run("believer")
    ab_liar, d_liar = run("liar")
    # Without pending points both workers get the same point.
    assert ab_ignore < 1e-5
    # The kriging believer removes the uncertainty at a pending point: the next
    # proposal moves (here, late in a run on a quadratic, to a nearby point)...
    assert ab_believer > 2e-3 and d_believer > 2e-3
    # ...and the constant liar (the worst value) pushes it well away.
    assert ab_liar > 0.05 and d_liar > 0.05


def test_seeded_runs_are_reproducible_and_seeds_differ():
    def params(seed):
        study = hs.create_study(sampler=GPSampler(seed=seed, n_startup_trials=5))
        study.optimize(branin, n_trials=14)
        return [t.params for t in study.trials]

    a, b, c = params(7), params(7), params(8)
    assert a == b
    assert a[5:] != c[5:]


def test_resumed_study_continues_with_the_same_proposals(tmp_path):
    url = f"sqlite:///{tmp_path / 'gp.db'}"
    full = hs.create_study("full", url, sampler=GPSampler(seed=5, n_startup_trials=5))
    full.optimize(quadratic, n_trials=12)
    part = hs.create_study("part", url, sampler=GPSampler(seed=5, n_startup_trials=5))
    part.optimize(quadratic, n_trials=9)
    resumed = hs.load_study("part", url, sampler=GPSampler(seed=5, n_startup_trials=5))
    resumed.optimize(quadratic, n_trials=3)
    fp = [t.params for t in full.trials]
    rp = [t.params for t in resumed.trials]
    assert len(rp) == 12
    for p, q in zip(fp, rp):
        assert p.keys() == q.keys()
        assert all(abs(p[k] - q[k]) < 1e-6 for k in p)


def test_failed_and_pruned_trials_are_ignored():
    def objective(trial):
        x = trial.suggest_float("x", -2, 2)
        if trial.number % 4 == 3:
            raise hs.TrialPruned()
        if trial.number % 5 == 4:
            raise RuntimeError("boom")
        return (x - 0.5) ** 2

    sampler = GPSampler(seed=0, n_startup_trials=4)
    study = hs.create_study(sampler=sampler)
    study.optimize(objective, n_trials=20, catch=(RuntimeError,))
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(sampler._obs) == len(complete)
    assert study.best_value < 0.05


def test_conditional_and_dynamic_spaces_do_not_crash():
    def objective(trial):
        kind = trial.suggest_categorical("kind", ["svm", "tree"])
        x = trial.suggest_float("x", 0, 1)
        if kind == "svm":
            c = trial.suggest_float("C", 1e-3, 1e3, log=True)
            v = abs(math.log10(c) - 1)
        else:
            depth = trial.suggest_int("depth", 1, 10)
            v = abs(depth - 3) / 3
        # dynamic ranges: one widens after trial 8, one grows every trial, one shifts
        hi = 1.0 if trial.number < 8 else 2.0
        w = trial.suggest_float("w", 0.0, hi)
        g = trial.suggest_int("grow", 0, trial.number + 1)
        z = trial.suggest_int("shift", trial.number, trial.number + 3)
        return v + (x - 0.25) ** 2 + (w - 0.5) ** 2 + 0.01 * g + 0.001 * z

    sampler = GPSampler(seed=2, n_startup_trials=5)
    study = hs.create_study(sampler=sampler)
    study.optimize(objective, n_trials=25)
    assert all(t.state.name == "COMPLETE" for t in study.trials)
    space = sampler.infer_relative_search_space(study, study.ask())
    # Shared parameters are modelled, the dynamic ones with their newest range
    # as long as it holds every earlier value; branch-only parameters and the
    # shifting range are left to independent sampling.
    assert set(space) == {"kind", "x", "w", "grow"}
    assert space["w"] == FloatDistribution(0.0, 2.0)
    assert space["grow"] == IntDistribution(0, 25)


def test_constraint_redraws_propose_new_points():
    rejected = []

    class Recording(GPSampler):
        def on_reject(self, study, trial):
            rejected.append((trial.number, trial.attempt, trial.params))
            super().on_reject(study, trial)

    space = hs.SearchSpace(
        {"x": hs.uniform(0, 1), "y": hs.uniform(0, 1)},
        constraints=[lambda c: c["x"] + c["y"] <= 1.0],
    )
    # The unconstrained optimum (1, 1) is infeasible: the GP keeps proposing near the boundary.
    objective = space.objective(lambda c: (c["x"] - 1) ** 2 + (c["y"] - 1) ** 2)
    study = hs.create_study(sampler=Recording(seed=0, n_startup_trials=5))
    study.optimize(objective, n_trials=20)
    assert len(study.trials) == 20
    for t in study.trials:
        assert t.params["x"] + t.params["y"] <= 1.0 + 1e-12
    assert abs(study.best_value - 0.5) < 0.05
    # A re-draw never repeats a rejected configuration of the same trial.
    by_trial = {}
    for number, _, params in rejected:
        by_trial.setdefault(number, []).append(params)
    for number, ps in by_trial.items():
        final = study.trials[number].params
        assert final not in ps
        assert len({tuple(sorted(p.items())) for p in ps}) == len(ps)


def test_observations_are_encoded_incrementally(monkeypatch):
    calls = {"n": 0}
    original = UnitCubeEncoder.encode

    def counting(self, config):
        calls["n"] += 1
        return original(self, config)

    monkeypatch.setattr(UnitCubeEncoder, "encode", counting)
    sampler = GPSampler(seed=0, n_startup_trials=5, n_candidates=128)
    study = hs.create_study(sampler=sampler)
    study.optimize(quadratic, n_trials=25)
    # each observation once (plus the odd pending point), not once per suggest
    assert calls["n"] <= 25 + 5
    assert len(sampler._obs) == 25 and sampler._n_enc == 24  # rows encoded when last needed


def test_parallel_threads_spread_out():
    def slow_quadratic(trial):
        value = quadratic(trial)
        time.sleep(0.05)  # the two workers' trials overlap: each sees the other pending
        return value

    study = hs.create_study(sampler=GPSampler(seed=0, n_startup_trials=6))
    study.optimize(slow_quadratic, n_trials=20, n_jobs=2)
    trials = study.trials
    assert len(trials) == 20 and all(t.state.name == "COMPLETE" for t in trials)

    def point(t):
        return round(t.params["x"], 6), round(t.params["y"], 6)

    # trials that ran at the same time never share a point (each saw the other pending)
    for a in trials:
        for b in trials:
            overlap = a.number < b.number and b.datetime_start < a.datetime_complete
            assert not (overlap and point(a) == point(b)), (a.number, b.number)
    assert len({point(t) for t in trials}) >= 18


def test_multi_objective_studies_are_rejected():
    with pytest.raises(ValueError, match="single-objective"):
        hs.create_study(directions=["minimize", "maximize"], sampler=GPSampler(seed=0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"acquisition": "qei"}, "acquisition"),
        ({"acquisition": None}, "acquisition"),
        ({"n_startup_trials": 0}, "n_startup_trials"),
        ({"n_startup_trials": 2.5}, "n_startup_trials"),
        ({"n_startup_trials": True}, "n_startup_trials"),
        ({"seed": "abc"}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": True}, "seed"),
        ({"ucb_beta": -1.0}, "ucb_beta"),
        ({"ucb_beta": float("nan")}, "ucb_beta"),
        ({"output_warp": "log"}, "output_warp"),
        ({"pending": "kriging"}, "pending"),
        ({"deterministic_objective": "yes"}, "deterministic_objective"),
        ({"n_candidates": 0}, "n_candidates"),
        ({"n_restarts": 0}, "n_restarts"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GPSampler(**kwargs)


def test_options_run(tmp_path):
    for kw in ({"output_warp": "rank"}, {"output_warp": "standardize", "deterministic_objective": True}):
        study = hs.create_study(sampler=GPSampler(seed=0, n_startup_trials=5, n_candidates=128, **kw))
        study.optimize(quadratic, n_trials=10)
        assert study.best_value < 2.0


def test_startup_trials_follow_the_qmc_sequence():
    from hypersearch.samplers import QMCSampler

    gp = hs.create_study(sampler=GPSampler(seed=4, n_startup_trials=6))
    gp.optimize(branin, n_trials=8)
    qmc = hs.create_study(sampler=QMCSampler(seed=4))
    qmc.optimize(branin, n_trials=6)
    assert [t.params for t in gp.trials[:6]] == [t.params for t in qmc.trials]
    assert all(THETA_ATTR not in t.system_attrs for t in gp.trials[:6])
    assert all(THETA_ATTR in t.system_attrs for t in gp.trials[6:])


def test_blas_thread_limit_is_scoped_and_restored():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from hypersearch.samplers.gp._threads import single_threaded_blas

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    with single_threaded_blas():
        assert all(n == 1 for n in blas_threads())
        with single_threaded_blas():
            assert all(n == 1 for n in blas_threads())
        assert all(n == 1 for n in blas_threads())  # the outer scope still holds
    assert blas_threads() == before


def test_enqueued_partial_configuration_conditions_the_proposal():
    """A partially enqueued trial keeps its fixed values and the GP optimises the
    rest given them: each mode has its own optimum of y, and with the mode fixed
    y is proposed near that mode's optimum (independent random draws would land
    within 0.5 of it with probability 1/6 each)."""
    shift = {"a": -2.0, "b": 0.0, "c": 2.0}

    def objective(trial):
        mode = trial.suggest_categorical("mode", list(shift))
        y = trial.suggest_float("y", -3, 3)
        return (y - shift[mode]) ** 2

    study = hs.create_study(sampler=GPSampler(seed=0, n_startup_trials=8))
    study.optimize(objective, n_trials=25)
    for mode in ("c", "a", "b"):
        study.enqueue_trial({"mode": mode})
        study.optimize(objective, n_trials=1)
        t = study.trials[-1]
        assert t.params["mode"] == mode
        assert t.system_attrs[PROPOSAL_ATTR]["mode"] == mode
        assert abs(t.params["y"] - shift[mode]) < 0.5, (mode, t.params)


def test_layout_with_fixed_holds_columns():
    from hypersearch.samplers.gp._optimize import SpaceLayout, perturb, sample_pool
    from hypersearch.space.distributions import CategoricalDistribution

    space = {
        "a": FloatDistribution(0.0, 1.0),
        "b": IntDistribution(1, 5),
        "c": CategoricalDistribution(["x", "y", "z"]),
    }
    enc = UnitCubeEncoder(space, onehot=True)
    x = enc.encode({"b": 4, "c": "z"})
    layout = SpaceLayout.from_encoder(enc).with_fixed(
        {"b": x[enc.slices["b"]], "c": x[enc.slices["c"]]}
    )
    rng = np.random.default_rng(0)
    pool = np.vstack([sample_pool(layout, 64, rng), perturb(layout, enc.encode({"a": 0.5, "b": 1, "c": "x"})[None], 16, rng)])
    decoded = [enc.decode(r) for r in pool]
    assert all(d["b"] == 4 and d["c"] == "z" for d in decoded)
    assert len({d["a"] for d in decoded}) > 50
    assert list(layout.free_cols) == [enc.slices["a"].start]
    assert not layout.has_discrete
