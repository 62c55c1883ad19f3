"""TPESampler: optimisation behaviour, parameter types, seeding, parallel workers."""

from __future__ import annotations

import math

import numpy as np
import pytest

import hypersearch as hs
from hypersearch.samplers import RandomSampler
from hypersearch.samplers.tpe import TPESampler


def _quadratic(trial):
    x = trial.suggest_float("x", -10, 10)
    return (x - 3.0) ** 2


def test_concentrates_on_the_optimum_of_a_quadratic():
    study = hs.create_study(sampler=TPESampler(seed=0))
    study.optimize(_quadratic, n_trials=60)
    last = [t.params["x"] for t in study.trials[-20:]]
    assert abs(np.median(last) - 3.0) < 0.1 * 20
    assert abs(study.best_params["x"] - 3.0) < 0.5


def test_beats_random_search_on_average():
    def objective(trial):
        x = trial.suggest_float("x", -5, 5)
        y = trial.suggest_float("y", -5, 5)
        return (x - 1.0) ** 2 + (y + 2.0) ** 2 + 0.5 * x * y

    tpe, rnd = [], []
    for seed in range(5):
        s = hs.create_study(sampler=TPESampler(seed=seed))
        s.optimize(objective, n_trials=50)
        tpe.append(s.best_value)
        r = hs.create_study(sampler=RandomSampler(seed=seed))
        r.optimize(objective, n_trials=50)
        rnd.append(r.best_value)
    assert np.mean(tpe) < np.mean(rnd)


def test_maximisation_uses_the_direction_sign():
    study = hs.create_study(direction="maximize", sampler=TPESampler(seed=1))
    study.optimize(lambda t: -_quadratic(t), n_trials=50)
    assert abs(study.best_params["x"] - 3.0) < 0.5


def test_int_log_step_and_categorical_values_are_valid():
    seen: dict[str, set] = {"k": set(), "c": set(), "q": set()}

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        k = trial.suggest_int("k", 0, 20, step=5)
        n = trial.suggest_int("n", 1, 1000, log=True)
        q = trial.suggest_float("q", 0.0, 1.0, step=0.25)
        c = trial.suggest_categorical("c", ["a", None, True, 1, 2.5])
        m = trial.suggest_int("m", -3, 3)
        assert 1e-5 <= lr <= 1e-1 and isinstance(lr, float)
        assert k in (0, 5, 10, 15, 20) and isinstance(k, int)
        assert 1 <= n <= 1000 and isinstance(n, int)
        assert q in (0.0, 0.25, 0.5, 0.75, 1.0)
        assert -3 <= m <= 3 and isinstance(m, int)
        seen["k"].add(k)
        seen["c"].add(repr(c))
        seen["q"].add(q)
        wrong_choice = not (c == 1 and type(c) is int)  # True == 1 in Python
        return (math.log10(lr) + 3) ** 2 + abs(k - 10) + abs(math.log(n) - 3) + wrong_choice + m * m

    study = hs.create_study(sampler=TPESampler(seed=2))
    study.optimize(objective, n_trials=80)
    assert len(seen["k"]) >= 3 and len(seen["c"]) >= 3 and len(seen["q"]) >= 3
    assert study.best_params["m"] == 0


def test_categorical_good_choice_is_favoured():
    def objective(trial):
        c = trial.suggest_categorical("c", ["a", "b", "c", "d"])
        x = trial.suggest_float("x", -3, 3)
        return {"a": 1.0, "b": 0.0, "c": 2.0, "d": 1.5}[c] + x * x

    for seed in range(3):
        study = hs.create_study(sampler=TPESampler(seed=seed))
        study.optimize(objective, n_trials=50)
        late = [t.params["c"] for t in study.trials[-20:]]
        assert late.count("b") >= 8  # random search: 5 on average


def test_same_seed_same_proposals_and_different_seeds_differ():
    def run(seed):
        s = hs.create_study(sampler=TPESampler(seed=seed))
        s.optimize(_quadratic, n_trials=25)
        return [t.params["x"] for t in s.trials]

    a, b, c = run(5), run(5), run(6)
    assert a == b
    assert a[10:] != c[10:]


def test_constraint_redraws_change_the_proposal():
    sampler = TPESampler(seed=3)
    study = hs.create_study(sampler=sampler)
    study.optimize(_quadratic, n_trials=15)
    trial = study.ask()
    first = trial.suggest_float("x", -10, 10)
    trial._resample()
    assert trial.attempt == 1
    second = trial.suggest_float("x", -10, 10)
    assert first != second
    study.tell(trial, 0.0)


def test_declarative_constraints_are_satisfied():
    space = hs.SearchSpace(
        {
            "d_model": hs.choice([128, 256, 512]),
            "n_heads": hs.choice([3, 4, 8, 16]),
            "lr": hs.loguniform(1e-4, 1e-1),
        },
        constraints=[lambda c: c["d_model"] % c["n_heads"] == 0],
    )
    study = hs.create_study(sampler=TPESampler(seed=4))
    study.optimize(space.objective(lambda c: c["lr"] * c["n_heads"]), n_trials=40)
    for t in study.trials:
        assert t.state == hs.TrialState.COMPLETE
        assert t.params["d_model"] % t.params["n_heads"] == 0


def test_constant_liar_spreads_concurrent_proposals():
    def spread(liar: bool, seed: int) -> float:
        s = hs.create_study(sampler=TPESampler(seed=seed, constant_liar=liar))
        s.optimize(_quadratic, n_trials=20)
        trials = [s.ask() for _ in range(6)]  # all asked before any suggestion
        xs = [t.suggest_float("x", -10, 10) for t in trials]
        for t in trials:
            s.tell(t, 0.0)
        return float(np.std(xs))

    # two asks without tells propose different points
    s = hs.create_study(sampler=TPESampler(seed=0))
    s.optimize(_quadratic, n_trials=20)
    t1 = s.ask()
    x1 = t1.suggest_float("x", -10, 10)
    t2 = s.ask()
    assert x1 != t2.suggest_float("x", -10, 10)
    # and the liar pushes them apart
    with_liar = np.mean([spread(True, seed) for seed in range(6)])
    without = np.mean([spread(False, seed) for seed in range(6)])
    assert with_liar > without


def test_parallel_threads():
    study = hs.create_study(sampler=TPESampler(seed=5))
    study.optimize(_quadratic, n_trials=60, n_jobs=3)
    assert len(study.trials) == 60
    assert all(t.state == hs.TrialState.COMPLETE for t in study.trials)
    assert study.best_value < 1.0


def test_enqueued_trials_are_observations():
    study = hs.create_study(sampler=TPESampler(seed=6, n_startup_trials=3))
    study.enqueue_trial({"x": 3.0})
    study.enqueue_trial({"x": 2.9})
    study.optimize(_quadratic, n_trials=30)
    assert study.trials[0].params == {"x": 3.0}
    assert study.best_value == 0.0
    assert study.sampler._store(study).n == 30  # the enqueued trials are observations
    near = [t.params["x"] for t in study.trials[10:]]
    assert np.median(np.abs(np.array(near) - 3.0)) < 4.5  # uniform on [-10, 10]: ~6


def test_pruned_and_failed_trials():
    def objective(trial):
        x = trial.suggest_float("x", -1, 1)
        if x < -0.8:
            raise RuntimeError("diverged")
        for step in range(3):
            trial.report(x * x + 1.0 / (step + 1), step)
            if x > 0.5:
                raise hs.TrialPruned()
        return x * x

    study = hs.create_study(sampler=TPESampler(seed=7))
    study.optimize(objective, n_trials=50, catch=(RuntimeError,))
    states = {t.state for t in study.trials}
    assert hs.TrialState.PRUNED in states
    assert study.best_value < 0.05
    store = study.sampler._store(study)
    n_modelled = sum(t.state in (hs.TrialState.COMPLETE, hs.TrialState.PRUNED) for t in study.trials)
    assert store.n == n_modelled


def test_attached_to_an_existing_study_uses_its_history(tmp_path):
    url = f"sqlite:///{tmp_path}/tpe.db"
    first = hs.create_study("s", url, sampler=RandomSampler(seed=0))
    first.optimize(_quadratic, n_trials=30)
    sampler = TPESampler(seed=0)
    study = hs.load_study("s", url, sampler=sampler)
    trial = study.ask()
    assert trial._relative_space == {"x": hs.FloatDistribution(-10, 10)}
    assert "x" in trial._relative
    assert sampler._store(study).n == 30
    study.tell(trial, 1.0)


def _two_branches(t):
    opt = t.suggest_categorical("opt", ["adam", "sgd"])
    lr = t.suggest_float("lr", 1e-4, 1e-1, log=True)
    if opt == "adam":
        return abs(lr - 1e-3) + (1 - t.suggest_float("beta", 0.8, 0.999))
    return abs(lr - 1e-2) + t.suggest_float("mom", 0.0, 0.99)


def test_a_resumed_conditional_study_proposes_what_an_uninterrupted_one_does(tmp_path):
    """The co-occurrence groups share one random stream, so their order must not
    depend on counts that are current only in one of the two runs (before, the
    sibling branches swapped places after load_study and every draw differed)."""
    url = f"sqlite:///{tmp_path}/groups.db"
    full = hs.create_study("full", url, sampler=TPESampler(seed=0, n_startup_trials=5))
    full.optimize(_two_branches, n_trials=30)
    half = hs.create_study("half", url, sampler=TPESampler(seed=0, n_startup_trials=5))
    half.optimize(_two_branches, n_trials=12)
    half = hs.load_study("half", url, sampler=TPESampler(seed=0, n_startup_trials=5))
    half.optimize(_two_branches, n_trials=18)
    assert [t.params for t in half.trials] == [t.params for t in full.trials]


def test_multivariate_false_and_group_false_still_optimise():
    for kw in ({"multivariate": False}, {"group": False}, {"bandwidth": "scott"},
               {"gamma": "sqrt"}, {"gamma": lambda n: min(n, 3), "weights": lambda n: np.ones(n)}):
        study = hs.create_study(sampler=TPESampler(seed=8, **kw))
        study.optimize(_quadratic, n_trials=40)
        assert study.best_value < 1.0, kw


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_startup_trials": -1}, "n_startup_trials"),
        ({"n_startup_trials": 1.5}, "n_startup_trials"),
        ({"n_ei_candidates": 0}, "n_ei_candidates"),
        ({"gamma": "nope"}, "gamma"),
        ({"gamma": 0.1}, "gamma"),
        ({"weights": [1, 2]}, "weights"),
        ({"prior_weight": 0.0}, "prior_weight"),
        ({"prior_weight": float("nan")}, "prior_weight"),
        ({"bandwidth": "silverman"}, "bandwidth"),
        ({"multivariate": "yes"}, "multivariate"),
        ({"constant_liar": 1}, "constant_liar"),
        ({"seed": "0"}, "seed"),
        ({"startup": "sobol"}, "startup"),
        ({"max_kernels": 4}, "max_kernels"),
    ],
)
def test_constructor_validates_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TPESampler(**kwargs)


def test_bad_gamma_or_weights_functions_raise_clear_errors():
    study = hs.create_study(sampler=TPESampler(seed=0, n_startup_trials=2, gamma=lambda n: 0.5))
    with pytest.raises(ValueError, match="gamma"):
        study.optimize(_quadratic, n_trials=5)
    study = hs.create_study(sampler=TPESampler(seed=0, n_startup_trials=2, weights=lambda n: -np.ones(n)))
    with pytest.raises(ValueError, match="weights"):
        study.optimize(_quadratic, n_trials=5)


def test_repr_and_export():
    from hypersearch.samplers import tpe

    assert tpe.__all__ == ["TPESampler"]
    assert "TPESampler(seed=3" in repr(TPESampler(seed=3))


def test_history_added_with_default_distributions_is_used():
    # add_trial records one-choice categoricals when no distribution is given
    study = hs.create_study(sampler=TPESampler(seed=0, n_startup_trials=5))
    for x in np.linspace(-10, 10, 12):
        study.add_trial({"x": float(x)}, float((x - 3.0) ** 2))
    trial = study.ask()
    assert trial._relative_space == {}  # only one-value distributions so far
    x = trial.suggest_float("x", -10, 10)  # univariate TPE on the recorded values
    study.tell(trial, (x - 3.0) ** 2)
    study.optimize(_quadratic, n_trials=25)
    assert study.best_value < 1.0
    trial = study.ask()
    assert trial._relative_space == {"x": hs.FloatDistribution(-10, 10)}
    study.tell(trial, 0.0)


def test_startup_trials_form_a_latin_hypercube():
    study = hs.create_study(sampler=TPESampler(seed=9, n_startup_trials=10))
    study.optimize(lambda t: t.suggest_float("a", 0, 1) + t.suggest_float("b", 0, 1), n_trials=10)
    for name in ("a", "b"):
        strata = sorted(int(t.params[name] * 10) for t in study.trials)
        assert strata == list(range(10))
    random_start = hs.create_study(sampler=TPESampler(seed=9, startup="random"))
    random_start.optimize(lambda t: t.suggest_float("a", 0, 1), n_trials=10)
    assert [t.params["a"] for t in random_start.trials] != [t.params["a"] for t in study.trials]


def test_bad_set_is_subsampled_beyond_max_kernels():
    from hypersearch.samplers.tpe._sampler import _systematic_sample
    from hypersearch.samplers.tpe._split import default_weights

    rng = np.random.default_rng(0)
    numbers = rng.permutation(3000)
    w = default_weights(3000)[np.argsort(np.argsort(numbers))]
    idx, new_w = _systematic_sample(w, numbers, 256, rng)
    assert len(idx) == 256 and len(set(idx.tolist())) == 256
    assert new_w.sum() == pytest.approx(w.sum())  # the density keeps its mass
    by_age = np.argsort(numbers)
    kept = np.isin(by_age, idx)
    assert kept[-500:].sum() > 3 * kept[:500].sum()  # recent (heavier) kernels are likelier

    study = hs.create_study(sampler=TPESampler(seed=10, max_kernels=32))
    study.optimize(_quadratic, n_trials=120)
    assert study.best_value < 0.1


def test_constraint_values_keep_infeasible_trials_out_of_the_good_set():
    """Trials whose ``constraints`` attribute is violated rank after every feasible
    one, the least violating first (before, TPE ignored the attribute and its
    multi-objective search converged into the infeasible region)."""
    from hypersearch.samplers.tpe._split import split_indices

    losses = np.array([[0.1], [0.2], [0.3], [0.4]])
    tier = np.array([2, 0, 2, 0])  # the two best are infeasible
    step = np.array([-5.0, 0.0, -1.0, 0.0])  # minus their violations
    below, above = split_indices(losses, tier, step, 3)
    assert below.tolist() == [1, 2, 3]  # feasible ones, then the least violating

    def objective(t):
        x, y = t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)
        t.set_system_attr("constraints", [0.7 - x])  # feasible only for x >= 0.7
        return x * x + y, (1 - y) ** 2 + x

    study = hs.create_study(directions=["minimize", "minimize"], sampler=TPESampler(seed=0, n_startup_trials=10))
    study.optimize(objective, n_trials=60)
    late = study.trials[-20:]
    assert sum(t.params["x"] >= 0.7 for t in late) >= 8  # random search: about 6; ignoring the constraint: 0-1


def test_three_objective_good_sets_are_chosen_by_hypervolume():
    """With three objectives most trials are non-dominated; the good set is the
    greedy hypervolume subset, weighted by each point's exclusive contribution,
    not the extremes that crowding distance ranks first."""
    from hypersearch.samplers.tpe._sampler import _contribution_weights
    from hypersearch.samplers.tpe._split import _tie_break

    # an evenly spread front plus three extremes, each worst in the other objectives
    front = np.array([[0.5, 0.5, 0.5], [0.3, 0.6, 0.6], [0.6, 0.3, 0.6], [0.6, 0.6, 0.3],
                      [0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    chosen = set(_tie_break(front, 4).tolist())
    assert chosen == {0, 1, 2, 3}
    w = _contribution_weights(front[:4], np.zeros(4, dtype=np.int8))
    assert w.max() == 1.0 and np.all(w > 0)
    w2 = _contribution_weights(np.array([[0.1, 0.9], [0.5, 0.5], [0.51, 0.51 - 1e-3], [0.9, 0.1]]),
                               np.array([0, 0, 0, 1], dtype=np.int8))
    assert w2[2] < w2[1] and w2[3] < 1e-6  # a crowded point weighs less; a pruned one hardly at all
