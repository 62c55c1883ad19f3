"""The incremental history view: the storage is asked only for what changed."""

from __future__ import annotations

import hypersearch as hs
from hypersearch.storage import InMemoryStorage


class CountingStorage(InMemoryStorage):
    def __init__(self):
        super().__init__()
        self.rows_read: list[int] = []

    def get_trials(self, study_id, **kw):
        out = super().get_trials(study_id, **kw)
        self.rows_read.append(len(out))
        return out


def test_reads_per_trial_do_not_grow_with_history():
    st = CountingStorage()
    study = hs.create_study(storage=st, seed=0)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=300)
    per_trial = st.rows_read[-100:]
    # each refresh sees at most the trial just started elsewhere: nothing, not 300 rows
    assert max(per_trial) <= 1
    assert sum(st.rows_read) < 2 * 300


def test_other_workers_trials_become_visible_and_listeners_fire_once():
    st = InMemoryStorage()
    a = hs.create_study("s", st, seed=0)
    b = hs.load_study("s", st)
    seen = []
    a.history.add_listener(lambda t: seen.append(t.number))
    running = b.ask()
    b.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    a.history.refresh()
    assert seen == [1, 2, 3]
    assert [t.state for t in a.history.running()] == [hs.TrialState.RUNNING]
    b.tell(running, 0.5)
    a.history.refresh()
    a.history.refresh()
    assert seen == [1, 2, 3, 0]  # the long-running trial is reported once, when it finishes
    assert a.best_value == min(t.value for t in b.trials)


def test_running_trials_include_unwritten_params_of_live_trials():
    st = InMemoryStorage()
    study = hs.create_study("r", st, seed=0)
    other = hs.load_study("r", st)
    t1 = study.ask()
    x = t1.suggest_float("x", 0, 1)  # buffered, not yet written
    t2 = other.ask()
    t2.suggest_float("x", 0, 1)
    t2.report(0.1, 0)  # written with the report
    study.history.refresh()
    running = study.running_trials()
    assert [t.number for t in running] == [0, 1]
    assert running[0].params == {"x": x}
    assert running[1].params == t2.params
    study.tell(t1, 0.0)
    assert [t.number for t in study.running_trials()] == [1]


def test_a_samplers_proposal_is_visible_to_other_workers_at_once():
    st = InMemoryStorage()
    a = hs.create_study("p", st, sampler=hs.samplers.GPSampler(seed=0))
    a.optimize(lambda t: (t.suggest_float("x", 0, 1) - 0.3) ** 2, n_trials=11)
    t = a.ask()  # the GP proposes, nothing is suggested or reported yet
    assert "gp:proposal" in t.system_attrs
    other = hs.load_study("p", st, sampler=hs.samplers.GPSampler(seed=0))  # another process
    (running,) = other.running_trials()
    assert running.number == t.number
    assert running.system_attrs["gp:proposal"] == t.system_attrs["gp:proposal"]


def test_paused_trials_are_not_reread_on_every_refresh():
    import hypersearch as hs
    from hypersearch.storage import InMemoryStorage

    storage = InMemoryStorage()
    study = hs.create_study(storage=storage)
    for _ in range(30):
        t = study.ask()
        t.suggest_float("x", 0, 1)
        t.report(1.0, 1)
        study._pause(t)
    asked = []
    orig = storage.get_trials

    def spy(study_id, *, after_number=-1, numbers=(), states=None):
        asked.append(sorted(numbers))
        return orig(study_id, after_number=after_number, numbers=numbers, states=states)

    storage.get_trials = spy
    study.history.refresh(paused_every=None)
    assert asked == [[]]  # nothing re-read
    assert len([t for t in study.history.active() if t.state == hs.TrialState.PAUSED]) == 30
    # another process resumes one: a failed resume here re-reads it
    assert storage.resume_trial(study._study_id, 3) is not None
    assert study.resume_trial(3) is None
    assert study.history.trials[3].state == hs.TrialState.RUNNING
    study.history.refresh(paused_every=0.0)
    assert len(asked[-2]) == 29  # the first periodic poll reads each paused trial once
    asked.clear()
    study.history.refresh(paused_every=0.0)
    assert asked == [[3]]  # the running trial; of the paused, only those whose storage stamp changed: none
    # another process resumes trial 5, trains it one rung further and pauses it again
    other = hs.load_study(study_name=study.study_name, storage=storage)
    t5 = other.resume_trial(5)
    t5.report(0.5, 3)
    other._pause(t5)
    assert study.history.trials[5].intermediate_values == {1: 1.0}
    asked.clear()
    study.history.refresh(paused_every=0.0)
    assert asked == [[5], [3]]
    assert study.history.trials[5].intermediate_values == {1: 1.0, 3: 0.5}
    assert study.history.trials[5].state == hs.TrialState.PAUSED


def test_n_started_counts_every_trial_but_the_queued_ones():
    import hypersearch as hs

    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    study.enqueue_trial({"x": 0.5})
    study.enqueue_trial({"x": 0.25})
    t = study.ask()  # claims one queued trial
    study.history.refresh()
    assert study.history.n_started() == 4
    study.tell(t, 1.0)
    assert study.history.n_started() == 4


# -- retention: finished trials are dropped when nothing reads them back -------------------


def _objective(t):
    x = t.suggest_float("x", -1, 1)
    if t.number % 5 == 4:
        raise hs.TrialPruned()
    return (x - 0.3) ** 2


def test_random_search_keeps_no_finished_trial_in_memory_yet_reads_them_all(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = hs.create_study("s", url, sampler=hs.samplers.RandomSampler(seed=0))
    study.optimize(_objective, n_trials=40)
    assert not study.history.keep_finished
    assert all(t is None for t in study.history.trials)  # nothing held per trial
    assert len(study.history.trials) == 40
    trials = study.trials  # read from the storage instead
    assert [t.number for t in trials] == list(range(40))
    assert sum(t.state == hs.TrialState.PRUNED for t in trials) == 8
    best = min((t for t in trials if t.state == hs.TrialState.COMPLETE), key=lambda t: t.value)
    assert study.best_trial.number == best.number and study.best_value == best.value
    assert study.history.n_finished == 40
    assert study.history.get(7).params == trials[7].params
    # a trial read again (e.g. by a worker that resumed it) is not counted twice
    seen = []
    study.history.add_listener(lambda t: seen.append(t.number))
    assert sorted(seen) == list(range(40))  # a late listener still sees every finished trial
    study.history.reread([3, 7])
    study.history.refresh()
    assert study.history.n_finished == 40 and len(seen) == 40
    # a second worker's trials show up too
    other = hs.load_study("s", url, sampler=hs.samplers.RandomSampler(seed=1))
    other.optimize(_objective, n_trials=5)
    assert len(study.trials) == 45 and len(seen) == 45


def test_turning_retention_back_on_restores_the_dropped_trials():
    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    study.optimize(_objective, n_trials=10)
    assert study.history.completed == []
    study.history.keep_finished = True
    assert [t.number for t in study.history.trials] == list(range(10))
    assert [t.number for t in study.history.completed] == [n for n in range(10) if n % 5 != 4]
    study.optimize(_objective, n_trials=2)
    assert study.history.trials[11] is not None


def test_model_based_samplers_learn_from_dropped_trials_too():
    """TPE keeps its own compact statistics: dropping the trials from the history
    changes none of its proposals (same seed, same proposals as with the history kept)."""

    def run(keep):
        study = hs.create_study(sampler=hs.samplers.TPESampler(seed=3, n_startup_trials=5))
        study.history.keep_finished = keep
        study.optimize(_objective, n_trials=25)
        return [t.params["x"] for t in study.trials]

    assert run(False) == run(True)


def test_samplers_and_schedulers_that_read_the_history_keep_it():
    class Custom(hs.samplers.RandomSampler):
        needs_finished_trials = True  # e.g. indexes study.history.trials

    custom = hs.create_study(sampler=Custom(seed=0))
    custom.optimize(_objective, n_trials=5)
    assert custom.history.keep_finished and all(t is not None for t in custom.history.trials)
    assert not hs.create_study().history.keep_finished  # the default sampler keeps its own statistics
    pbt = hs.schedulers.PopulationBasedTraining(
        metric="loss", mode="min", perturbation_interval=2, hyperparam_mutations={"x": hs.uniform(0, 1)}
    )
    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0), scheduler=pbt)
    assert study.history.keep_finished


def test_random_search_opens_a_study_without_reading_its_finished_trials():
    st = CountingStorage()
    first = hs.create_study("s", st, sampler=hs.samplers.RandomSampler(seed=0))
    first.optimize(_objective, n_trials=30)
    running = first.ask()
    first.enqueue_trial({"x": 0.5})
    expected_best = min((t for t in first.trials if t.state == hs.TrialState.COMPLETE), key=lambda t: t.value)
    st.rows_read.clear()
    study = hs.load_study("s", st, sampler=hs.samplers.RandomSampler(seed=1))
    assert sum(st.rows_read) == 2  # the running and the queued trial, nothing finished
    assert study.history.n_finished == 30
    assert [t.number for t in study.history.running()] == [running.number]
    assert study.best_trial.number == expected_best.number  # found on first use
    assert len(study.trials) == 32
    study.optimize(_objective, n_trials=3)  # the queued trial first, then new numbers
    trials = study.trials
    assert trials[31].params == {"x": 0.5} and trials[31].state == hs.TrialState.COMPLETE
    assert [t.number for t in trials] == list(range(34))
    assert study.history.n_finished == 33
    best = min((t for t in trials if t.state == hs.TrialState.COMPLETE), key=lambda t: t.value)
    assert study.best_trial.number == best.number
    # a primed view asked to keep its trials again restores them and still knows its best
    again = hs.load_study("s", st, sampler=hs.samplers.RandomSampler(seed=2))
    again.history.keep_finished = True
    assert again.history.best_trial.number == best.number
    assert [t.number for t in again.history.trials] == list(range(34))
    assert [t.number for t in again.get_trials(["COMPLETE"])] == [t.number for t in trials if t.state.name == "COMPLETE"]


def test_a_model_based_sampler_is_fed_the_stored_trials_on_the_first_ask():
    """Opening a study whose sampler keeps its own statistics (the default, TPE, GP,
    CMA-ES, ...) reads no finished trial; the first ask feeds each one to the
    sampler exactly once, and proposals are those of a sampler fed at once."""

    class Recording(hs.samplers.TPESampler):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.fed: list[int] = []

        def on_trial_finished(self, study, trial):
            self.fed.append(trial.number)
            super().on_trial_finished(study, trial)

    st = CountingStorage()
    first = hs.create_study("m", st, sampler=hs.samplers.TPESampler(seed=0, n_startup_trials=5))
    first.optimize(_objective, n_trials=20)
    stored = first.trials
    st.rows_read.clear()
    sampler = Recording(seed=3, n_startup_trials=5)
    study = hs.load_study("m", st, sampler=sampler)
    assert sum(st.rows_read) == 0 and sampler.fed == []  # opening read nothing finished
    assert study.best_trial.value == first.best_trial.value  # found on first use
    t = study.ask()
    assert sampler.fed == list(range(20))  # every stored trial, once, before proposing
    study.tell(t, _objective(t))
    assert sampler.fed == list(range(21))
    eager = hs.create_study("m2", st, sampler=hs.samplers.TPESampler(seed=0, n_startup_trials=5))
    for old in stored:
        eager.add_trial(old)
    fresh = Recording(seed=3, n_startup_trials=5)
    reopened = hs.load_study("m2", st, sampler=fresh)
    a = reopened.ask()
    a.suggest_float("x", -1, 1)
    assert a.params == t.params  # the same history gives the same proposal


def test_a_primed_multi_objective_study_finds_its_pareto_front():
    st = InMemoryStorage()
    a = hs.create_study("m", st, directions=["minimize", "minimize"], sampler=hs.samplers.RandomSampler(seed=0))
    a.optimize(lambda t: (t.suggest_float("x", 0, 1), 1 - t.suggest_float("x", 0, 1) ** 2), n_trials=20)
    front = [t.number for t in a.best_trials]
    b = hs.load_study("m", st, sampler=hs.samplers.RandomSampler(seed=0))
    assert [t.number for t in b.best_trials] == front


def test_a_listener_added_while_trials_are_handed_out_sees_each_trial_once():
    """Another thread may register a listener between a trial being ingested and the
    listeners being called: it gets the trial once (from the replay), not twice."""
    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    h = study.history
    late: list[int] = []
    added: list[bool] = []
    original = h._notify

    def notify(newly, listeners):
        if newly and not added:  # the other thread's registration lands here
            added.append(True)
            h.add_listener(lambda t: late.append(t.number))
        original(newly, listeners)

    h._notify = notify
    study.optimize(_objective, n_trials=4)
    assert late == [0, 1, 2, 3]


def test_a_primed_study_skips_infeasible_trials_when_finding_its_best(tmp_path):
    """The best trial of a lazily opened study comes from the storage's best rows; an
    infeasible trial (constraint value > 0) is never best, even when more infeasible
    trials than the rows read first are better than every feasible one."""
    from hypersearch.trial import FrozenTrial

    url = f"sqlite:///{tmp_path / 'c.db'}"
    for n_infeasible in (3, 50):
        name = f"c{n_infeasible}"
        study = hs.create_study(name, url, sampler=hs.samplers.RandomSampler(seed=0))
        st, sid = study._storage, study._study_id
        for i in range(n_infeasible):
            st.add_trial(sid, FrozenTrial(number=-1, state=hs.TrialState.COMPLETE, values=[-100.0 + i],
                                          system_attrs={"constraints": [1.0]}))
        for v in (5.0, 2.0, 9.0):
            st.add_trial(sid, FrozenTrial(number=-1, state=hs.TrialState.COMPLETE, values=[v],
                                          system_attrs={"constraints": [0.0]}))
        loaded = hs.load_study(name, url, sampler=hs.samplers.RandomSampler(seed=0))
        assert loaded.best_value == 2.0 and loaded.best_trial.number == n_infeasible + 1


def test_a_sampler_assigned_later_hears_of_new_finished_trials():
    fed = []

    class Recording(hs.samplers.RandomSampler):
        def on_trial_finished(self, study, trial):
            fed.append(trial.number)

    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    study.optimize(_objective, n_trials=2)
    study.sampler = Recording(seed=1)
    study.optimize(_objective, n_trials=3)
    assert fed == [2, 3, 4]


def test_changed_since_hands_out_only_the_unfinished_trials_that_changed():
    study = hs.create_study()
    paused = []
    for _ in range(20):
        t = study.ask()
        t.report(1.0, 1)
        paused.append(study._pause(t).number)
    change, first = study.history.changed_since(0)
    assert [t.number for t in first] == paused  # everything once, by number
    # nothing changed: nothing to hand out, however many trials are paused
    study.history.refresh(paused_every=None)
    assert study.history.changed_since(change) == (change, [])
    # one trial resumed and reporting, one new trial: only those two
    resumed = study.resume_trial(paused[4])
    resumed.report(0.5, 3)
    new = study.ask()
    study.history.refresh(paused_every=None)
    change2, changed = study.history.changed_since(change)
    assert [t.number for t in changed] == [paused[4], new.number]
    assert change2 > change
    # a finished trial is not handed out again
    study.tell(new, 1.0)
    _, changed = study.history.changed_since(change2)
    assert new.number not in [t.number for t in changed]


def test_a_resumed_view_lists_each_front_trial_once(tmp_path):
    """A view primed on load (finished trials read on first use) adds the trials
    finished since once: before, every new front trial was listed twice."""
    import hypersearch as hs

    url = f"sqlite:///{tmp_path}/front.db"

    def obj(t):
        x = t.suggest_float("x", 0, 1)
        return x, 1 - x  # every trial is on the front

    first = hs.create_study("s", url, directions=["minimize", "minimize"], sampler=hs.samplers.RandomSampler(seed=0))
    first.optimize(obj, n_trials=2)
    live = first.ask()  # running when the study is loaded again, finished after
    again = hs.load_study("s", url, sampler=hs.samplers.RandomSampler(seed=0))
    again.optimize(obj, n_trials=2)
    again.tell(live.number, [0.5, 0.5])
    assert [t.number for t in again.best_trials] == [0, 1, 2, 3, 4]
    single = hs.create_study("m", url, sampler=hs.samplers.RandomSampler(seed=0))
    single.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    resumed = hs.load_study("m", url, sampler=hs.samplers.RandomSampler(seed=0))
    resumed.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert resumed.best_trial.number == min(resumed.trials, key=lambda t: t.value).number
