"""A scheduler decides from reported values; trial.should_prune() asks it."""

from __future__ import annotations

import hypersearch as hs
from hypersearch.schedulers import BaseScheduler, Decision


class StopAboveThreshold(BaseScheduler):
    def __init__(self, threshold):
        self.threshold = threshold
        self.calls = 0

    def on_report(self, study, trial):
        self.calls += 1
        last = trial.intermediate_values[trial.last_step]
        return Decision.STOP if last > self.threshold else Decision.CONTINUE


def test_should_prune_uses_the_scheduler():
    sched = StopAboveThreshold(0.5)
    study = hs.create_study(scheduler=sched, seed=0)

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        assert not trial.should_prune()  # nothing reported yet
        for step in range(5):
            trial.report(x, step)
            if trial.should_prune():
                raise hs.TrialPruned()
        return x

    study.optimize(objective, n_trials=40)
    for t in study.trials:
        if t.params["x"] > 0.5:
            assert t.state == hs.TrialState.PRUNED and t.intermediate_values == {0: t.params["x"]}
        else:
            assert t.state == hs.TrialState.COMPLETE and len(t.intermediate_values) == 5
    assert sched.calls > 0


def test_without_scheduler_nothing_is_pruned():
    study = hs.create_study()

    def objective(trial):
        trial.report(1e9, 0)
        return float(trial.should_prune())

    study.optimize(objective, n_trials=3)
    assert [t.value for t in study.trials] == [0.0, 0.0, 0.0]
