"""The default sampler picks GP for small flat spaces and TPE otherwise."""

from __future__ import annotations

import hypersearch as hs
from hypersearch.samplers import AutoSampler


def _flat(trial):
    return (trial.suggest_float("x", -3, 3) - 1) ** 2 + trial.suggest_float("y", 0, 1)


def _conditional(trial):
    if trial.suggest_categorical("opt", ["a", "b"]) == "a":
        return trial.suggest_float("lr_a", 0, 1)
    return trial.suggest_float("lr_b", 0, 1) + 0.5



def test_default_sampler_is_auto_and_uses_gp_on_flat_spaces():
    study = hs.create_study(seed=0)
    assert isinstance(study.sampler, AutoSampler)
    picked = []
    orig = study.sampler.chosen

    def spy(trial):
        s = orig(trial)
        picked.append(type(s).__name__)
        return s

    study.sampler.chosen = spy
    study.optimize(_flat, n_trials=15)
    assert set(picked) == {"GPSampler"}
    assert study.best_value < 0.5


def test_conditional_spaces_and_long_studies_go_to_tpe():
    s = AutoSampler(seed=0)
    study = hs.create_study(sampler=s)
    study.optimize(_conditional, n_trials=14)
    assert s._irregular
    trial = study.ask()
    assert type(s.chosen(trial)).__name__ == "TPESampler"
    s2 = AutoSampler(seed=0, gp_max_trials=5)
    study2 = hs.create_study(sampler=s2)
    study2.optimize(_flat, n_trials=6)
    assert type(s2.chosen(study2.ask())).__name__ == "TPESampler"


def test_multi_objective_uses_tpe():
    study = hs.create_study(directions=["minimize", "minimize"], seed=0)
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1 - t.suggest_float("x", 0, 1)), n_trials=12)
    assert type(study.sampler.chosen(study.ask())).__name__ == "TPESampler"


def test_seeded_default_study_is_reproducible():
    def run():
        study = hs.create_study(seed=3)
        study.optimize(_flat, n_trials=13)
        return [t.params for t in study.trials]

    assert run() == run()


def test_known_points_added_without_distributions_keep_the_gp():
    """``add_trial`` without distributions records one-value categoricals: a known
    point, not a change of space, so the default sampler stays on its GP, which keeps
    modelling every parameter (before, it fell back to TPE, and a bare GP sampler to
    random search, for the rest of the study)."""
    from hypersearch.samplers import GPSampler

    for sampler in (AutoSampler(seed=0), GPSampler(seed=0, n_startup_trials=3)):
        study = hs.create_study(sampler=sampler)
        study.optimize(_flat, n_trials=4)
        study.add_trial({"x": 0.0, "y": 0.5}, 1.5)  # a result from an earlier experiment
        study.add_trial({"x": 9.0, "y": 0.5}, 64.5)  # outside today's range: left out of the model
        study.optimize(_flat, n_trials=8)  # past the GP's start-up trials
        trial = study.ask()
        gp = sampler.chosen(trial) if isinstance(sampler, AutoSampler) else sampler
        assert isinstance(gp, GPSampler)
        assert sorted(gp.infer_relative_search_space(study, trial)) == ["x", "y"]
        study.tell(trial, 0.0)


def test_a_first_known_point_takes_the_range_of_later_trials():
    study = hs.create_study(sampler=AutoSampler(seed=0))
    study.add_trial({"x": 0.0, "y": 0.5}, 1.5)
    study.optimize(_flat, n_trials=3)
    trial = study.ask()
    assert type(study.sampler.chosen(trial)).__name__ == "GPSampler"
    study.tell(trial, 0.0)
