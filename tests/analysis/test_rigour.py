"""Repeated seeds, re-evaluation with significance tests, held-out evaluation and
cross-validated objectives."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import hypersearch as hs
from hypersearch.analysis import OverfittingWarning, compare
from hypersearch.trial import FrozenTrial


def noisy(params, seed, noise=0.1):
    rng = np.random.default_rng([seed, int(params["x"] * 1e6)])
    return (params["x"] - 0.3) ** 2 + noise * rng.standard_normal()


def test_repeat_stores_each_seed_and_returns_the_mean():
    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    study.optimize(hs.repeat(lambda t, s: noisy({"x": t.suggest_float("x", 0, 1)}, s), seeds=[1, 2, 3]),
                   n_trials=4)
    for t in study.trials:
        reps = t.user_attrs["repeats"]
        assert list(reps) == ["1", "2", "3"]
        assert t.value == pytest.approx(np.mean(list(reps.values())))
        assert t.user_attrs["repeat_std"] == pytest.approx(np.std(list(reps.values()), ddof=1))


def test_compare_finds_a_real_difference_and_flags_noise():
    study = hs.create_study()
    for x in (0.3, 0.9, 0.95):
        study.add_trial({"x": x}, (x - 0.3) ** 2)
    res = compare(study, lambda p, s: noisy(p, s, noise=0.01), top_k=3, seeds=10)
    assert res.numbers[0] == 0 and res.winner_significant
    assert "is significantly better" in res.summary()
    lo, hi = res.ci95[0]
    assert lo < res.means[0] < hi
    # two configurations whose difference is far below the noise
    close = hs.create_study()
    close.add_trial({"x": 0.30}, 0.0)
    close.add_trial({"x": 0.31}, 0.0001)
    with pytest.warns(OverfittingWarning):
        res = compare(close, lambda p, s: noisy(p, s, noise=1.0), top_k=2, seeds=8)
    assert not res.winner_significant and "is NOT significantly better" in res.summary()
    assert set(res.pairwise[(res.numbers[0], res.numbers[1])]) >= {"welch_p_adj", "mannwhitney_p_adj"}


def test_evaluate_best_records_the_test_value_apart(tmp_path):
    url = f"sqlite:///{tmp_path}/e.db"
    study = hs.create_study("e", url)
    study.add_trial({"x": 0.2}, 0.5)
    study.add_trial({"x": 0.4}, 0.1)
    assert study.evaluate_best(lambda p: p["x"] * 10) == pytest.approx(4.0)
    rec = hs.load_study("e", url).test_evaluations
    assert rec[0]["trial"] == 1 and rec[0]["value"] == pytest.approx(4.0) and rec[0]["validation_values"] == [0.1]
    assert hs.load_study("e", url).best_value == 0.1  # validation values untouched
    with pytest.warns(UserWarning, match="already evaluated"):
        study.evaluate_best(lambda p: 1.0, trial=0)
    assert len(study.test_evaluations) == 2
    # a handle opened before those evaluations keeps them and warns too
    other = hs.load_study("e", url)
    with pytest.warns(UserWarning, match="2 time"):
        study.evaluate_best(lambda p: 2.0)
    with pytest.warns(UserWarning, match="already evaluated on the test set 3 time"):
        other.evaluate_best(lambda p: 3.0)
    assert [e["value"] for e in study.test_evaluations] == pytest.approx([4.0, 1.0, 2.0, 3.0])

    # an evaluation another handle records while test_fn runs is kept too
    def slow_test_fn(params):
        with pytest.warns(UserWarning):
            other.evaluate_best(lambda p: 5.0)
        return 6.0

    with pytest.warns(UserWarning):
        study.evaluate_best(slow_test_fn)
    assert [e["value"] for e in study.test_evaluations] == pytest.approx([4.0, 1.0, 2.0, 3.0, 5.0, 6.0])


def test_compare_never_picks_an_infeasible_configuration():
    study = hs.create_study()
    study.add_trial(FrozenTrial(number=-1, state=hs.TrialState.COMPLETE, values=[0.0], params={"x": 0.3},
                                distributions={"x": hs.FloatDistribution(0, 1)},
                                system_attrs={"constraints": [1.0]}))
    for x in (0.5, 0.9):
        study.add_trial({"x": x}, (x - 0.3) ** 2)
    res = compare(study, lambda p, s: noisy(p, s, noise=0.01), top_k=3, seeds=4)
    assert sorted(res.numbers) == [1, 2]


def test_cross_validation_reports_folds_and_prunes():
    study = hs.create_study(scheduler=hs.schedulers.MedianStoppingRule(n_startup_trials=3),
                            sampler=hs.samplers.RandomSampler(seed=0))

    def objective(t):
        x = t.suggest_float("x", 0, 1)
        return hs.cross_validate(t, lambda k: (x - 0.3) ** 2 + 0.01 * k, n_folds=5)

    study.optimize(objective, n_trials=20)
    complete = [t for t in study.trials if t.state == hs.TrialState.COMPLETE]
    assert all(len(t.user_attrs["fold_values"]) == 5 for t in complete)
    assert all(t.intermediate_values[4] == pytest.approx(t.value) for t in complete)
    assert any(t.state == hs.TrialState.PRUNED and len(t.user_attrs["fold_values"]) < 5 for t in study.trials)
    with pytest.raises(ValueError, match="n_folds"):
        hs.cross_validate(study.ask(), lambda k: 0.0, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="top_k"):
            compare(study, lambda p, s: 0.0, top_k=1)
