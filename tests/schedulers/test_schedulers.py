"""Stopping rules and successive halving on hand-made learning curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

import hypersearch as hs
from hypersearch.schedulers import (
    ASHA,
    Decision,
    Hyperband,
    MedianStoppingRule,
    PatienceStopper,
    PercentileStoppingRule,
    SuccessiveHalving,
    ThresholdStopper,
)
from hypersearch.trial import FrozenTrial, TrialState


def _study(curves, direction="minimize", state="complete"):
    study = hs.create_study(direction=direction)
    for c in curves:
        study.add_trial({"x": 0.0}, c[max(c)] if state == "complete" else None,
                        intermediate_values=c, state=state)
    return study


def _trial(number, curve):
    return FrozenTrial(number=number, state=TrialState.RUNNING, intermediate_values=dict(curve))


def test_median_rule_compares_best_so_far_with_completed_trials_at_the_same_step():
    curves = [{0: 10.0, 1: 8.0, 2: 6.0}, {0: 9.0, 1: 7.0, 2: 5.0}, {0: 11.0, 1: 9.0, 2: 7.0}]
    study = _study(curves)
    rule = MedianStoppingRule(n_startup_trials=3)
    # medians of best-so-far: step 0 -> 10, step 1 -> 8, step 2 -> 6
    assert rule.on_report(study, _trial(9, {0: 9.5})) == Decision.CONTINUE
    assert rule.on_report(study, _trial(9, {0: 10.5})) == Decision.STOP
    assert rule.on_report(study, _trial(9, {0: 10.5, 1: 7.9})) == Decision.CONTINUE
    # a step beyond every completed curve compares with their last best values
    assert rule.on_report(study, _trial(9, {0: 9, 5: 6.5})) == Decision.STOP


def test_median_rule_startup_warmup_interval_and_direction():
    study = _study([{0: 1.0}, {0: 2.0}])
    assert MedianStoppingRule(n_startup_trials=3).on_report(study, _trial(5, {0: 100.0})) == Decision.CONTINUE
    assert MedianStoppingRule(n_startup_trials=2, n_warmup_steps=1).on_report(study, _trial(5, {0: 100.0})) == Decision.CONTINUE
    rule = MedianStoppingRule(n_startup_trials=2, interval_steps=2)
    # judged at the first report of each interval [0, 2), [2, 4), ...
    assert rule.on_report(study, _trial(5, {0: 100.0, 1: 100.0})) == Decision.CONTINUE  # second in [0, 2)
    assert rule.on_report(study, _trial(5, {0: 100.0})) == Decision.STOP
    # reports that never land on 0, 2, 4, ... are judged too (once per interval)
    assert rule.on_report(study, _trial(5, {1: 100.0})) == Decision.STOP
    assert rule.on_report(study, _trial(5, {1: 100.0, 3: 100.0})) == Decision.STOP
    assert rule.on_report(study, _trial(5, {1: 100.0, 2: 100.0, 3: 100.0})) == Decision.CONTINUE
    up = _study([{0: 1.0}, {0: 2.0}], direction="maximize")
    assert MedianStoppingRule(n_startup_trials=2).on_report(up, _trial(5, {0: 1.2})) == Decision.STOP
    assert MedianStoppingRule(n_startup_trials=2).on_report(up, _trial(5, {0: 1.8})) == Decision.CONTINUE


def test_percentile_rule_keeps_only_the_best_quarter():
    study = _study([{0: float(v)} for v in range(1, 9)])  # 1..8
    rule = PercentileStoppingRule(25.0, n_startup_trials=1)
    cutoff = np.percentile(range(1, 9), 25)
    assert rule.on_report(study, _trial(20, {0: cutoff - 0.01})) == Decision.CONTINUE
    assert rule.on_report(study, _trial(20, {0: cutoff + 0.01})) == Decision.STOP
    with pytest.raises(ValueError, match="percentile"):
        PercentileStoppingRule(120)


def test_patience_and_threshold_stoppers():
    study = hs.create_study()
    p = PatienceStopper(2, min_delta=0.1)
    assert p.on_report(study, _trial(0, {0: 1.0, 1: 0.95, 2: 0.5})) == Decision.CONTINUE
    assert p.on_report(study, _trial(0, {0: 1.0, 1: 0.95, 2: 0.92})) == Decision.STOP
    t = ThresholdStopper(upper=10.0, n_warmup_steps=2)
    assert t.on_report(study, _trial(0, {0: 50.0})) == Decision.CONTINUE  # warm-up
    assert t.on_report(study, _trial(0, {0: 5.0, 3: 50.0})) == Decision.STOP
    assert t.on_report(study, _trial(0, {0: math.nan})) == Decision.STOP  # diverged
    assert t.on_report(study, _trial(0, {0: math.inf})) == Decision.STOP
    # without stop_on_nan, an infinite value is still outside finite bounds; NaN is not
    lenient = ThresholdStopper(lower=0.0, upper=10.0, stop_on_nan=False)
    assert lenient.on_report(study, _trial(0, {0: math.inf})) == Decision.STOP
    assert lenient.on_report(study, _trial(0, {0: -math.inf})) == Decision.STOP
    assert lenient.on_report(study, _trial(0, {0: math.nan})) == Decision.CONTINUE
    assert ThresholdStopper(stop_on_nan=False).on_report(study, _trial(0, {0: math.inf})) == Decision.CONTINUE
    with pytest.raises(ValueError, match="lower"):
        ThresholdStopper(lower=2, upper=1)


def test_asha_rung_arithmetic():
    assert ASHA(max_t=100, grace_period=1, reduction_factor=4).rungs == [[1, 4, 16, 64]]
    assert ASHA(max_t=10, grace_period=1, reduction_factor=2, brackets=2).rungs == [[1, 2, 4, 8], [2, 4, 8]]
    hb = Hyperband(max_t=81, min_t=1, reduction_factor=3)
    assert hb.s_max == 4
    assert hb.rungs == [[1, 3, 9, 27], [3, 9, 27], [9, 27], [27], []]
    # bracket sizes follow Hyperband: n = ceil((s_max+1)/(s+1) * eta^s)
    weights = [w for _, w in hb._brackets]
    assert np.allclose(np.array(weights) * sum([81, 34, 15, 8, 5]), [81, 34, 15, 8, 5])
    counts = np.bincount([hb.bracket_of(n) for n in range(20000)], minlength=5) / 20000
    assert np.allclose(counts, weights, atol=0.015)
    assert hb.bracket_of(123) == Hyperband(max_t=81, min_t=1, reduction_factor=3).bracket_of(123)
    for bad in (dict(max_t=0), dict(grace_period=5, max_t=2), dict(reduction_factor=1), dict(brackets=0)):
        with pytest.raises(ValueError):
            ASHA(**bad)


def test_asha_keeps_the_top_fraction_at_each_rung():
    # eta=2, rungs at 1, 2, 4: at each rung only trials in the better half continue
    sched = SuccessiveHalving(max_t=8, min_t=1, reduction_factor=2)
    assert sched.rungs == [[1, 2, 4]]
    study = _study([{0: 5.0, 1: v, 2: v} for v in (1.0, 2.0, 3.0, 4.0)], state="pruned")
    assert sched.on_report(study, _trial(10, {0: 9.0})) == Decision.CONTINUE  # before the first rung
    assert sched.on_report(study, _trial(10, {0: 9.0, 1: 2.0})) == Decision.CONTINUE
    assert sched.on_report(study, _trial(11, {0: 9.0, 1: 3.5})) == Decision.STOP
    assert sched.on_report(study, _trial(12, {0: 9.0, 1: 1.5, 2: 3.5})) == Decision.STOP  # rung 2
    assert sched.on_report(study, _trial(13, {0: 9.0, 1: 1.5, 2: 1.2})) == Decision.CONTINUE
    # between rungs no new decision is made, whatever the value
    assert sched.on_report(study, _trial(13, {0: 9.0, 1: 1.5, 2: 1.2, 3: 99.0})) == Decision.CONTINUE
    # a NaN at a rung counts as the worst value
    assert sched.on_report(study, _trial(14, {0: 9.0, 1: math.nan})) == Decision.STOP


def test_asha_prunes_in_define_by_run_and_spends_less():
    def objective(trial):
        q = trial.suggest_float("q", 0, 1)
        for epoch in range(1, 28):
            loss = q + 1.0 / epoch
            trial.report(loss, epoch)
            if trial.should_prune():
                raise hs.TrialPruned()
        return loss

    study = hs.create_study(seed=0, scheduler=ASHA(max_t=27, grace_period=1, reduction_factor=3))
    study.optimize(objective, n_trials=60)
    epochs = sum(len(t.intermediate_values) for t in study.trials)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert len(pruned) > 20
    assert epochs < 0.5 * 60 * 27
    # the best trials are never stopped
    best_q = sorted(t.params["q"] for t in study.trials)[:2]
    completed_q = [t.params["q"] for t in study.trials if t.state == TrialState.COMPLETE]
    assert best_q[0] in completed_q


def test_multi_objective_study_needs_a_mode_and_then_prunes():
    study = hs.create_study(directions=["minimize", "minimize"])
    with pytest.raises(ValueError, match="mode="):
        MedianStoppingRule().on_report(study, _trial(0, {0: 1.0}))
    sched = MedianStoppingRule(n_startup_trials=1, mode="min")

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        for step in range(5):
            trial.report(x, step)
            if trial.should_prune():
                raise hs.TrialPruned()
        return x, 1 - x

    study = hs.create_study(directions=["minimize", "minimize"], scheduler=sched, seed=1)
    study.optimize(objective, n_trials=30)
    assert any(t.state == TrialState.PRUNED for t in study.trials)


@pytest.mark.parametrize("make", [
    lambda: hs.schedulers.MedianStoppingRule(n_startup_trials=1),
    lambda: hs.schedulers.ASHA(max_t=9, grace_period=1, reduction_factor=3),
])
def test_a_scheduler_reused_for_another_study_forgets_the_first(make):
    """The same scheduler object on a second study must not judge its trials
    against the first study's curves."""
    sched = make()

    def good_then_bad(level):
        def f(trial):
            for step in range(1, 10):
                trial.report(level + 1.0 / step, step)
                if trial.should_prune():
                    raise hs.TrialPruned()
            return level
        return f

    first = hs.create_study(scheduler=sched)
    first.optimize(good_then_bad(0.0), n_trials=3)  # very good curves
    second = hs.create_study(scheduler=sched)
    second.optimize(good_then_bad(100.0), n_trials=1)  # far worse, but alone in its study
    assert second.trials[0].state.name == "COMPLETE"


def test_successive_halving_schedulers_pick_a_model_fitted_on_the_largest_budget():
    """Without a sampler, ASHA / successive halving / Hyperband get BOHB's sampler
    (a TPE fitted on the largest budget with enough points, which low-rung values
    cannot mislead); multi-objective studies and other schedulers keep the default."""
    from hypersearch.samplers.auto import AutoSampler
    from hypersearch.samplers.bohb import BOHBSampler

    S = hs.schedulers
    for sched in (S.ASHA(max_t=9), S.SuccessiveHalving(max_t=9), S.Hyperband(max_t=9), S.BOHB(max_t=9)):
        assert type(hs.create_study(scheduler=sched, seed=1).sampler) is BOHBSampler
    mo = hs.create_study(directions=["minimize", "minimize"], scheduler=S.ASHA(metric="a", mode="min", max_t=9))
    assert type(mo.sampler) is AutoSampler
    assert type(hs.create_study(scheduler=S.MedianStoppingRule()).sampler) is AutoSampler
    chosen = hs.samplers.RandomSampler(seed=0)
    assert hs.create_study(sampler=chosen, scheduler=S.ASHA(max_t=9)).sampler is chosen

    def objective(trial):
        x = trial.suggest_float("x", -2, 2)
        for step in range(1, 10):
            trial.report((x - 0.5) ** 2 + 1.0 / step, step)
            if trial.should_prune():
                raise hs.TrialPruned()
        return (x - 0.5) ** 2

    study = hs.create_study(scheduler=S.ASHA(max_t=9), seed=0)
    study.optimize(objective, n_trials=60)
    assert abs(study.best_params["x"] - 0.5) < 0.2


def test_a_rung_view_update_reads_only_the_trials_that_changed():
    # A promotion run leaves most trials PAUSED; the view of the rungs must not
    # re-index them on every decision (that made the cost per trial grow).
    from hypersearch.schedulers._common import ReportedView

    study = hs.create_study()
    for _ in range(50):
        t = study.ask()
        t.report(1.0, 1)
        study._pause(t)
    indexed = []
    view = ReportedView(lambda t, finished: indexed.append((t.number, finished)))
    view.update(study)
    assert len(indexed) == 50  # the first update indexes every paused trial once
    indexed.clear()
    view.update(study)
    assert indexed == []
    t = study.ask()
    t.report(2.0, 1)
    view.update(study)
    assert indexed == [(t.number, False)]
    indexed.clear()
    study.tell(t, 2.0)
    view.update(study)
    assert indexed == [(t.number, True)]  # through the history's listener, once


def test_rung_quantile_matches_numpy_percentile():
    from hypersearch.schedulers.asha import _quantile

    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 7, 50):
        for _ in range(20):
            v = np.round(rng.normal(size=n), 1)  # ties included
            ranked = sorted((float(x), i) for i, x in enumerate(v))
            for q in (1 / 3, 1 / 4, 0.5):
                assert _quantile(ranked, q) == pytest.approx(float(np.percentile(v, 100 * q)))
    assert _quantile([], 0.5) is None
    # A NaN report ranks last as +inf.  numpy's interpolation returns NaN next to an
    # infinite value, which let every trial through; the cutoff is the order
    # statistic itself when the quantile falls on it, +inf when it lies towards +inf.
    inf = math.inf
    assert _quantile([(1.0, 0), (2.0, 1), (inf, 2), (inf, 3)], 1 / 3) == 2.0
    assert _quantile([(1.2, 0), (inf, 1), (inf, 2)], 1 / 3) == inf
    assert _quantile([(1.2, 0), (inf, 1)], 0.0) == 1.2


def test_asha_stops_a_trial_behind_the_cutoff_even_when_others_reported_nan():
    asha = ASHA(grace_period=1, max_t=9, reduction_factor=3)
    study = _study([{1: 1.0}, {1: 2.0}, {1: float("nan")}], state="pruned")
    # rung 1 then holds 1.0, 2.0, NaN and the new 3.0: the cutoff is the 2nd value, 2.0
    assert asha.on_report(study, _trial(3, {1: 3.0})) == Decision.STOP
    assert asha.on_report(study, _trial(4, {1: 1.5})) == Decision.CONTINUE
    # a trial reporting NaN stops although the interpolated cutoff is +inf here:
    # rung 1 holds 1.0 and four NaNs, the cutoff lies between two NaNs
    study = _study([{1: 1.0}] + [{1: float("nan")}] * 3, state="pruned")
    assert asha.on_report(study, _trial(4, {1: float("nan")})) == Decision.STOP
    # ... but one alone at a rung, or among NaNs only, has nothing better to lose to
    assert ASHA(grace_period=1, max_t=9, reduction_factor=3).on_report(
        hs.create_study(), _trial(0, {1: float("nan")})) == Decision.CONTINUE


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_percentile_rule_decisions_match_the_rule_computed_from_scratch(direction):
    """The rule keeps per-step sorted references up to date as trials complete;
    every decision must equal numpy's percentile over the completed trials' best
    values so far at that step (steps differ between trials, some are skipped)."""
    rng = np.random.default_rng(0)
    rule = PercentileStoppingRule(30.0, n_startup_trials=2, mode=None)
    study = hs.create_study(direction=direction, scheduler=rule)
    sign = 1.0 if direction == "minimize" else -1.0
    completed: list[dict[int, float]] = []
    for _ in range(120):
        t = study.ask()
        steps = sorted(rng.choice(np.arange(1, 12), size=rng.integers(1, 8), replace=False).tolist())
        for step in steps:
            v = float(rng.normal())
            t.report(v, step)
            got = rule.decide(study, t._snapshot())
            refs = []
            for iv in completed:
                seen = [sign * x for s, x in iv.items() if s <= step]
                if seen:
                    refs.append(min(seen))
            own = min(sign * x for s, x in t.intermediate_values.items() if s <= step)
            if len(completed) < 2 or not refs:
                want = Decision.CONTINUE
            else:
                want = Decision.STOP if own > np.percentile(refs, 30.0) else Decision.CONTINUE
            assert got == want
        if rng.random() < 0.7:
            study.tell(t, 0.0)
            completed.append(dict(t.intermediate_values))
        else:
            study.tell(t, state="pruned")


def test_a_scheduler_set_after_creation_is_attached_to_the_study():
    sched = hs.schedulers.Hyperband(max_t=27, min_t=1, reduction_factor=3)
    study = hs.create_study(seed=123)
    study.scheduler = sched
    other = hs.create_study(seed=123, scheduler=hs.schedulers.Hyperband(max_t=27, min_t=1, reduction_factor=3))
    # brackets follow the study's seed either way, so every process agrees on them
    assert [sched.bracket_of(n) for n in range(50)] == [other.scheduler.bracket_of(n) for n in range(50)]
    with pytest.raises(TypeError, match="scheduler must be a BaseScheduler"):
        study.scheduler = "asha"


def test_one_scheduler_object_shared_by_two_studies_brackets_each_by_its_own_seed():
    """Optuna users share one pruner object between studies: the brackets of a
    study's trials follow that study's seed whichever study attached last, so a
    later resume of the study (a fresh scheduler) agrees with the decisions made."""
    shared = hs.schedulers.Hyperband(max_t=27, min_t=1, reduction_factor=3)
    a = hs.create_study(seed=1, scheduler=shared)
    hs.create_study(seed=2, scheduler=shared)  # attached last

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        for step in range(1, 28):
            trial.report(x + 1.0 / step, step)
            if trial.should_prune():
                raise hs.TrialPruned()
        return x

    a.optimize(objective, n_trials=2)
    own = hs.schedulers.Hyperband(max_t=27, min_t=1, reduction_factor=3)
    hs.create_study(seed=1, scheduler=own)
    assert [shared.bracket_of(n) for n in range(60)] == [own.bracket_of(n) for n in range(60)]


def test_processes_opening_a_new_study_at_once_agree_on_its_seed():
    """Two workers start together on a new study (create_study(load_if_exists=True)):
    the second read the study before the first recorded its seed.  Both must end up
    with the first writer's seed, or their Hyperband brackets differ and a trial is
    judged by rungs of a bracket it is not in."""
    from hypersearch.samplers.base import SEED_ATTR
    from hypersearch.storage import InMemoryStorage

    storage = InMemoryStorage()
    first = hs.create_study("race", storage, seed=1, scheduler=hs.schedulers.Hyperband(max_t=27))
    real = storage.get_study

    def read_before_the_seed_was_written(name):
        info = real(name)
        info.system_attrs.pop(SEED_ATTR, None)
        return info

    storage.get_study = read_before_the_seed_was_written
    second = hs.create_study("race", storage, seed=2, scheduler=hs.schedulers.Hyperband(max_t=27),
                             load_if_exists=True)
    assert storage.get_study_attrs(first._study_id)[1][SEED_ATTR] == second.system_attrs[SEED_ATTR]
    assert [second.scheduler.bracket_of(n) for n in range(60)] == [first.scheduler.bracket_of(n) for n in range(60)]


def test_asha_judges_every_rung_passed_since_the_last_check():
    """An objective that reports every epoch but asks should_prune() only every 10th
    is judged at the rungs it passed in between (1 and 4 here), as Ray's and
    Optuna's successive halving do."""
    study = hs.create_study(scheduler=ASHA(max_t=100, grace_period=1, reduction_factor=4),
                            sampler=hs.samplers.RandomSampler(seed=0))
    for _ in range(8):
        t = study.ask()
        t.suggest_float("x", 0, 1)
        for s in range(1, 101):
            t.report(0.0, s)
        study.tell(t, 0.0)
    t = study.ask()
    t.suggest_float("x", 0, 1)
    for s in range(1, 11):
        t.report(100.0, s)
    assert t.should_prune()
    # asked again at the same step: the same answer
    assert t.should_prune()
    good = study.ask()
    good.suggest_float("x", 0, 1)
    for s in range(1, 11):
        good.report(-1.0, s)
    assert not good.should_prune()
    for s in range(11, 21):
        good.report(-1.0, s)
    assert not good.should_prune()  # rung 16 passed since its last check: judged, kept


def test_deciding_after_each_report_keeps_reports_light_writes():
    """A report is one write of the new value; the scheduler's bookkeeping of the
    step it judged rides along with the trial's next full write."""
    study = hs.create_study(scheduler=MedianStoppingRule(n_warmup_steps=5))
    full, light = [], []
    orig = study._storage.write_trial

    def counting(trial_id, **kw):
        (full if kw.get("system_attrs") is not None else light).append(1)
        return orig(trial_id, **kw)

    study._storage.write_trial = counting

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        for s in range(50):
            trial.report(x, s)
            if trial.should_prune():
                raise hs.TrialPruned()
        return x

    study.optimize(objective, n_trials=1)
    assert len(light) >= 49 and len(full) <= 2
    assert study.trials[0].system_attrs["judged_step"] == [48, 49]


def test_define_by_run_studies_are_told_what_needs_hs_tune():
    """Pausing and cloning schedulers act only through hs.tune: a define-by-run study
    says so once instead of silently doing something else; a misplaced positional
    argument is not taken for the metric."""

    def objective(t):
        x = t.suggest_float("x", 0, 1)
        for step in range(1, 4):
            t.report(x, step)
            if t.should_prune():
                raise hs.TrialPruned()
        return x

    for scheduler, what in [
        (hs.schedulers.ASHA(max_t=3, variant="promotion"), "asynchronous stopping rule instead"),
        (hs.schedulers.PopulationBasedTraining(perturbation_interval=1, hyperparam_mutations={"x": hs.uniform(0, 1)}),
         "stops and changes nothing"),
    ]:
        study = hs.create_study(scheduler=scheduler)
        with pytest.warns(UserWarning, match=what):
            study.optimize(objective, n_trials=3)
    with pytest.raises(TypeError, match="metric must be the name of a reported metric.*ASHA\\(max_t=10\\)"):
        hs.schedulers.ASHA(10)
