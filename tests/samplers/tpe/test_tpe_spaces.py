"""TPESampler on conditional, dynamic and multi-objective problems."""

from __future__ import annotations

import math

import numpy as np

import hypersearch as hs
from hypersearch.samplers import RandomSampler
from hypersearch.samplers.tpe import TPESampler


def _conditional(trial):
    opt = trial.suggest_categorical("optimizer", ["sgd", "adam"])
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    if opt == "sgd":
        m = trial.suggest_float("momentum", 0.0, 1.0)
        return (math.log10(lr) + 1) ** 2 + (m - 0.9) ** 2 + 0.5
    b = trial.suggest_float("beta1", 0.5, 1.0)
    w = trial.suggest_int("warmup", 0, 10)
    return (math.log10(lr) + 3) ** 2 + (b - 0.8) ** 2 + 0.01 * w


def test_conditional_space_forms_groups_and_models_branches_jointly():
    sampler = TPESampler(seed=0)
    study = hs.create_study(sampler=sampler)
    study.optimize(_conditional, n_trials=60)
    groups, group_of, _ = sampler._store(study).groups()
    assert group_of["lr"].names == ("lr", "optimizer")
    assert group_of["beta1"].names == ("beta1", "warmup")  # they always co-occur
    assert group_of["momentum"].names == ("momentum",)
    assert set(group_of["beta1"].ancestors) == {"lr", "optimizer"}
    # every parameter, branch ones included, is proposed jointly (no fallback to
    # independent sampling because the intersection of the spaces shrank)
    trial = study.ask()
    assert set(trial._relative_space) == {"optimizer", "lr", "momentum", "beta1", "warmup"}
    assert set(trial._relative) == set(trial._relative_space)
    study.tell(trial, 1.0)
    assert study.best_value < 0.1
    assert study.best_params["optimizer"] == "adam"


def test_branch_parameters_follow_the_branch_optimum():
    study = hs.create_study(sampler=TPESampler(seed=1))
    study.optimize(_conditional, n_trials=80)
    sgd = [t for t in study.trials[-40:] if t.params["optimizer"] == "sgd"]
    adam = [t for t in study.trials[-40:] if t.params["optimizer"] == "adam"]
    assert len(adam) > len(sgd)
    assert abs(np.median([t.params["beta1"] for t in adam]) - 0.8) < 0.1


def test_conditional_beats_random_on_average():
    tpe, rnd = [], []
    for seed in range(4):
        s = hs.create_study(sampler=TPESampler(seed=seed))
        s.optimize(_conditional, n_trials=50)
        tpe.append(s.best_value)
        r = hs.create_study(sampler=RandomSampler(seed=seed))
        r.optimize(_conditional, n_trials=50)
        rnd.append(r.best_value)
    assert np.mean(tpe) < np.mean(rnd)


def test_dynamic_choices_never_crash():
    def objective(trial):
        d_model = trial.suggest_categorical("d_model", [64, 96, 128, 256, 384])
        heads = [h for h in (1, 2, 3, 4, 6, 8, 12, 16) if d_model % h == 0]
        n_heads = trial.suggest_categorical("n_heads", heads)
        # the bounds of a dynamic float depend on another parameter as well
        width = trial.suggest_float("width", 0.0, d_model / 64)
        layers = trial.suggest_int("layers", 1, 2 + d_model // 64)
        assert d_model % n_heads == 0 and 0.0 <= width <= d_model / 64
        return abs(d_model - 256) / 64 + abs(n_heads - 8) + (width - 1) ** 2 + 0.1 * layers

    study = hs.create_study(sampler=TPESampler(seed=2))
    study.optimize(objective, n_trials=100)
    assert len(study.trials) == 100
    assert all(t.state == hs.TrialState.COMPLETE for t in study.trials)
    assert study.best_value < 2.5


def test_dynamic_parameter_is_sampled_from_matching_history_not_at_random():
    sampler = TPESampler(seed=3, n_startup_trials=5)
    study = hs.create_study(sampler=sampler)

    def objective(trial):
        hi = 10.0 if trial.number % 2 else 20.0  # the domain alternates
        x = trial.suggest_float("x", 0.0, hi)
        return (x - 2.0) ** 2

    study.optimize(objective, n_trials=60)
    late = [t.params["x"] for t in study.trials[30:]]
    assert np.median(np.abs(np.array(late) - 2.0)) < 1.0


def test_new_parameter_mid_study():
    def objective(trial):
        x = trial.suggest_float("x", -5, 5)
        if trial.number >= 20:
            y = trial.suggest_float("y", -5, 5)
            return x * x + (y - 1) ** 2
        return x * x

    study = hs.create_study(sampler=TPESampler(seed=4))
    study.optimize(objective, n_trials=60)
    ys = [t.params["y"] for t in study.trials[40:]]
    assert np.median(np.abs(np.array(ys) - 1.0)) < 1.5


def _hypervolume_2d(points: np.ndarray, ref: np.ndarray) -> float:
    pts = points[np.all(points < ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    pts = pts[np.argsort(pts[:, 0])]
    hv, best_y = 0.0, ref[1]
    for x, y in pts:
        if y < best_y:
            hv += (ref[0] - x) * (best_y - y)
            best_y = y
    return hv


def test_multi_objective_improves_the_front_over_random():
    def objective(trial):
        x = np.array([trial.suggest_float(f"x{i}", 0, 1) for i in range(3)])
        g = 1 + 9 * np.mean(x[1:])  # ZDT1
        f1 = x[0]
        return f1, g * (1 - math.sqrt(f1 / g))

    ref = np.array([1.1, 11.0])

    def hv(study):
        return _hypervolume_2d(np.array([t.values for t in study.best_trials]), ref)

    tpe, rnd = [], []
    for seed in range(4):
        s = hs.create_study(directions=["minimize", "minimize"], sampler=TPESampler(seed=seed))
        s.optimize(objective, n_trials=60)
        tpe.append(hv(s))
        r = hs.create_study(directions=["minimize", "minimize"], sampler=RandomSampler(seed=seed))
        r.optimize(objective, n_trials=60)
        rnd.append(hv(r))
    assert np.mean(tpe) > np.mean(rnd)


def test_multi_objective_with_maximisation_and_pruning():
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        c = trial.suggest_categorical("c", ["a", "b"])
        if x > 0.95:
            raise hs.TrialPruned()
        return x, x * x + (c == "b")  # a trade-off: the front is every x with c == "a"

    study = hs.create_study(directions=["maximize", "minimize"], sampler=TPESampler(seed=5))
    study.optimize(objective, n_trials=50)
    assert len(study.best_trials) >= 3
    assert all(t.params["c"] == "a" for t in study.best_trials)


def test_partial_enqueue_conditions_the_rest_of_the_proposal():
    sampler = TPESampler(seed=6)
    study = hs.create_study(sampler=sampler)
    study.optimize(_conditional, n_trials=40)
    study.enqueue_trial({"optimizer": "sgd"})
    trial = study.ask()
    assert "optimizer" not in trial._relative  # fixed, not proposed
    assert {"lr", "momentum"} <= set(trial._relative)
    value = _conditional(trial)
    assert trial.params["optimizer"] == "sgd"
    study.tell(trial, value)
