"""RLSampler: REINFORCE moves the policy toward rewarded choices."""

from __future__ import annotations

import numpy as np
import pytest

import hypersearch as hs
from hypersearch.samplers import RLSampler
from hypersearch.space.distributions import CategoricalDistribution, IntDistribution

CHOICES = ["a", "b", "c", "d"]


def test_policy_moves_toward_the_rewarded_choice():
    sampler = RLSampler(seed=0)
    study = hs.create_study(sampler=sampler, direction="maximize")
    study.optimize(lambda t: 1.0 if t.suggest_categorical("op", CHOICES) == "c" else 0.0, n_trials=120)
    p = sampler.action_probabilities("op", CategoricalDistribution(CHOICES))
    assert p[2] > 0.8, p
    late = [t.params["op"] for t in study.trials[-30:]]
    assert late.count("c") >= 24


def test_gradient_step_matches_reinforce():
    """One update: logits move by lr * advantage * (onehot(a) - pi)."""
    sampler = RLSampler(learning_rate=0.5, baseline_decay=0.5, seed=0)  # explicit step size
    study = hs.create_study(sampler=sampler)  # minimise: reward = -value
    dist = CategoricalDistribution(CHOICES)
    study.add_trial({"op": "a"}, 2.0, distributions={"op": dist})  # sets the baseline to -2
    before = sampler.action_probabilities("op", dist).copy()
    study.add_trial({"op": "b"}, 0.0, distributions={"op": dist})  # reward 0, advantage +2 / std
    std = np.std([-2.0, 0.0], ddof=1)
    expected = 0.5 * (2.0 / std) * (np.eye(4)[1] - before)
    assert np.allclose(sampler._policy("op", dist).logits, expected)


def test_numbers_are_binned_and_the_best_region_learnt():
    sampler = RLSampler(seed=1, n_bins=10)
    study = hs.create_study(sampler=sampler)
    study.optimize(lambda t: (t.suggest_float("x", 0, 10) - 7.5) ** 2, n_trials=200)
    xs = np.array([t.params["x"] for t in study.trials[-40:]])
    assert np.median(np.abs(xs - 7.5)) < 1.0  # uniform draws: about 2.6
    ints = RLSampler(seed=1)
    study = hs.create_study(sampler=ints)
    study.optimize(lambda t: abs(t.suggest_int("k", 1, 4) - 3), n_trials=150)
    assert [t.params["k"] for t in study.trials[-40:]].count(3) >= 30
    assert ints.action_probabilities("k", IntDistribution(1, 4)).shape == (4,)


def test_conditional_space_reproducible_and_errors():
    def objective(t):
        arch = t.suggest_categorical("arch", ["mlp", "cnn"])
        if arch == "cnn":
            return t.suggest_int("kernel", 1, 7) * 0.1
        return t.suggest_int("layers", 1, 4) * 0.2

    def run(seed):
        st = hs.create_study(sampler=RLSampler(seed=seed))
        st.optimize(objective, n_trials=30)
        return [t.params for t in st.trials]

    assert run(3) == run(3) and run(3) != run(4)
    with pytest.raises(ValueError, match="learning_rate"):
        RLSampler(learning_rate=0)
    with pytest.raises(ValueError, match="n_bins"):
        RLSampler(n_bins=1)
    with pytest.raises(ValueError, match="one objective"):
        hs.create_study(directions=["minimize", "minimize"], sampler=RLSampler())


def test_each_value_of_a_log_integer_is_one_action():
    """With no more values than bins every value is its own action, also on a log
    scale (before, 1 took three actions and 6, 7 and 8 shared one, so rewarding 8
    could never be learnt)."""
    sampler = RLSampler(seed=0)
    d = hs.IntDistribution(1, 8, log=True)
    assert [sampler._action_of(d, v) for v in range(1, 9)] == list(range(8))
    assert [sampler._value_of(d, a, 0.5) for a in range(8)] == list(range(1, 9))
    study = hs.create_study(sampler=RLSampler(seed=0), direction="maximize")
    study.optimize(lambda t: float(t.suggest_int("layers", 1, 8, log=True) == 8), n_trials=200)
    assert sum(t.params["layers"] == 8 for t in study.trials[-50:]) > 40
