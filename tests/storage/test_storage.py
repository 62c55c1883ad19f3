"""The storage contract, run unchanged against in-memory, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as _dt
import math

import pytest

from hypersearch.exceptions import DuplicatedStudyError, StudyNotFoundError, TrialStateError
from hypersearch.space.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hypersearch.study._direction import StudyDirection
from hypersearch.trial._frozen import FrozenTrial
from hypersearch.trial._state import TrialState

MIN = [StudyDirection.MINIMIZE]


def test_create_get_list_delete_study(storage):
    info = storage.create_study("s1", MIN)
    assert storage.get_study("s1").study_id == info.study_id
    storage.create_study("s2", [StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE])
    with pytest.raises(DuplicatedStudyError):
        storage.create_study("s1", MIN)
    names = [s.name for s in storage.list_studies()]
    assert names == ["s1", "s2"]
    assert storage.get_study("s2").directions == [StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE]
    storage.delete_study(info.study_id)
    with pytest.raises(StudyNotFoundError):
        storage.get_study("s1")
    assert [s.name for s in storage.list_studies()] == ["s2"]


def test_ids_of_a_deleted_study_are_never_reused(storage):
    """A worker still holding a deleted study's trial must not write into a study
    created after it (SQLite without AUTOINCREMENT handed the new study and trial
    the deleted ones' ids, and the old worker overwrote the new trial)."""
    old = storage.create_study("old", MIN).study_id
    stale = storage.start_trial(old)
    storage.delete_study(old)
    new = storage.create_study("new", MIN).study_id
    fresh = storage.start_trial(new)
    assert new != old and fresh.trial_id != stale.trial_id
    with pytest.raises(StudyNotFoundError, match="deleted"):
        storage.write_trial(stale.trial_id, params={"x": 1.0}, distributions={"x": FloatDistribution(0, 2)},
                            state=TrialState.COMPLETE, values=[1.0])
    (t,) = storage.get_trials(new)
    assert t.state == TrialState.RUNNING and t.params == {}
    # every other write for the deleted study says so too
    with pytest.raises(StudyNotFoundError):
        storage.set_study_attrs(old, user={"a": 1})
    with pytest.raises(StudyNotFoundError):
        storage.setdefault_study_system_attr(old, "qmc:dim:0", "x")
    with pytest.raises(StudyNotFoundError):
        storage.enqueue_trials(old, [({"x": 1.0}, None)], once_key="warm_start:queued")


def test_trial_numbers_are_dense_and_start_creates_running(storage):
    sid = storage.create_study("s", MIN).study_id
    trials = [storage.start_trial(sid) for _ in range(5)]
    assert [t.number for t in trials] == [0, 1, 2, 3, 4]
    assert all(t.state == TrialState.RUNNING for t in trials)
    assert len({t.trial_id for t in trials}) == 5
    assert storage.count_trials(sid) == 5
    assert storage.count_trials(sid, [TrialState.RUNNING]) == 5


def test_write_trial_round_trip_and_finish(storage):
    sid = storage.create_study("s", MIN).study_id
    t = storage.start_trial(sid)
    dists = {
        "lr": FloatDistribution(1e-5, 1.0, log=True),
        "n": IntDistribution(1, 9, step=2),
        "act": CategoricalDistribution(["relu", None, True, 3, 2.5]),
    }
    params = {"lr": 1e-3, "n": 5, "act": None}
    storage.write_trial(t.trial_id, params=params, distributions=dists, intermediate={0: 1.5})
    storage.write_trial(t.trial_id, intermediate={1: float("nan"), 2: float("inf")})
    storage.write_trial(
        t.trial_id,
        user_attrs={"note": "ünïcødé ✓", "nested": {"a": [1, 2.5, None]}},
        system_attrs={"k": 1},
        state=TrialState.COMPLETE,
        values=[0.25],
    )
    (got,) = storage.get_trials(sid)
    assert got.state == TrialState.COMPLETE
    assert got.values == [0.25]
    assert got.params == params
    assert got.distributions == dists
    assert got.intermediate_values[0] == 1.5
    assert math.isnan(got.intermediate_values[1])
    assert got.intermediate_values[2] == math.inf
    assert got.user_attrs == {"note": "ünïcødé ✓", "nested": {"a": [1, 2.5, None]}}
    assert got.system_attrs == {"k": 1}
    assert got.datetime_complete is not None and got.datetime_start is not None
    assert got.datetime_complete >= got.datetime_start


def test_finish_stores_the_given_completion_time(storage):
    """The writer's completion time is stored as given, so the trial it hands to
    callbacks and the stored trial agree on ``datetime_complete`` and ``duration``."""
    sid = storage.create_study("s", MIN).study_id
    t = storage.start_trial(sid)
    when = t.datetime_start + _dt.timedelta(seconds=1.234567)
    storage.write_trial(t.trial_id, state=TrialState.COMPLETE, values=[1.0], completed_at=when)
    (got,) = storage.get_trials(sid)
    assert got.datetime_complete == when
    assert got.duration == _dt.timedelta(seconds=1.234567)


def test_steps_up_to_64_bits_round_trip(storage):
    """Steps counted in samples or tokens pass 2**31."""
    sid = storage.create_study("s", MIN).study_id
    t = storage.start_trial(sid)
    steps = {2**31: 1.0, 2**40: 2.0, 2**63 - 1: 3.0}
    storage.write_trial(t.trial_id, intermediate=steps)
    storage.write_trial(t.trial_id, state=TrialState.COMPLETE, values=[1.0])
    (got,) = storage.get_trials(sid)
    assert got.intermediate_values == steps and got.last_step == 2**63 - 1


def test_setdefault_study_system_attr_keeps_the_first_value(storage):
    sid = storage.create_study("s", MIN).study_id
    assert storage.setdefault_study_system_attr(sid, "seed", 7) == 7
    assert storage.setdefault_study_system_attr(sid, "seed", 8) == 7
    assert storage.get_study_attrs(sid)[1] == {"seed": 7}


def test_finished_trial_cannot_be_written_again(storage):
    sid = storage.create_study("s", MIN).study_id
    t = storage.start_trial(sid)
    storage.write_trial(t.trial_id, state=TrialState.COMPLETE, values=[1.0])
    with pytest.raises(TrialStateError, match="COMPLETE"):
        storage.write_trial(t.trial_id, state=TrialState.COMPLETE, values=[2.0])
    with pytest.raises(TrialStateError):
        storage.write_trial(t.trial_id, intermediate={3: 1.0})
    (got,) = storage.get_trials(sid)
    assert got.values == [1.0]  # the first result stays


def test_enqueued_trials_are_claimed_in_order_once(storage):
    sid = storage.create_study("s", MIN).study_id
    n0 = storage.enqueue_trial(sid, {"x": 1.0}, {})
    n1 = storage.enqueue_trial(sid, {"x": 2.0}, {}, user_attrs={"why": "warm start"})
    assert (n0, n1) == (0, 1)
    a = storage.start_trial(sid)
    b = storage.start_trial(sid)
    c = storage.start_trial(sid)
    assert (a.number, a.params) == (0, {"x": 1.0})
    assert (b.number, b.params, b.user_attrs) == (1, {"x": 2.0}, {"why": "warm start"})
    assert c.number == 2 and c.params == {}
    assert storage.start_trial(sid, waiting_only=True) is None


def test_enqueue_trials_once_key(storage):
    sid = storage.create_study("s", MIN).study_id
    items = [({"x": i}, {"grid_id": i}) for i in range(3)]
    assert storage.enqueue_trials(sid, items, once_key="grid:abc") is True
    assert storage.enqueue_trials(sid, items, once_key="grid:abc") is False
    ts = storage.get_trials(sid)
    assert [t.number for t in ts] == [0, 1, 2]
    assert [t.system_attrs["grid_id"] for t in ts] == [0, 1, 2]
    assert all(t.state == TrialState.WAITING for t in ts)
    assert storage.get_study_attrs(sid)[1]["grid:abc"] is True
    # numbers continue densely after a batch
    assert storage.start_trial(sid).number == 0
    storage.start_trial(sid), storage.start_trial(sid)
    assert storage.start_trial(sid).number == 3


def test_incremental_reads(storage):
    sid = storage.create_study("s", MIN).study_id
    ts = [storage.start_trial(sid) for _ in range(4)]
    for t in ts[:2]:
        storage.write_trial(t.trial_id, state=TrialState.COMPLETE, values=[float(t.number)])
    assert [t.number for t in storage.get_trials(sid, after_number=1)] == [2, 3]
    got = storage.get_trials(sid, after_number=2, numbers=[0, 3, 2])
    assert [t.number for t in got] == [0, 2, 3]
    got = storage.get_trials(sid, states=[TrialState.COMPLETE])
    assert [t.number for t in got] == [0, 1]
    assert storage.get_trial(sid, 3).state == TrialState.RUNNING
    with pytest.raises(KeyError):
        storage.get_trial(sid, 99)


def test_add_trial_and_summary(storage):
    sid = storage.create_study("s", [StudyDirection.MAXIMIZE]).study_id
    for v in (1.0, 5.0, 3.0):
        storage.add_trial(
            sid,
            FrozenTrial(
                number=-1,
                state=TrialState.COMPLETE,
                values=[v],
                params={"x": v},
                distributions={"x": FloatDistribution(0, 10)},
                intermediate_values={0: v / 2},
            ),
        )
    storage.add_trial(sid, FrozenTrial(number=-1, state=TrialState.FAIL, system_attrs={"fail_reason": "boom"}))
    (summary,) = storage.list_studies()
    assert summary.n_trials == 4
    assert summary.state_counts == {"COMPLETE": 3, "FAIL": 1}
    assert summary.best_values == [5.0]
    ts = storage.get_trials(sid)
    assert [t.number for t in ts] == [0, 1, 2, 3]
    assert ts[1].intermediate_values == {0: 2.5}
    assert ts[3].system_attrs["fail_reason"] == "boom"


def test_summary_best_value_skips_infeasible_trials(storage):
    """A trial that violates its constraints is never a study's best, in the listing
    either (the CLI's and the dashboard's study tables read it)."""
    sid = storage.create_study("s", MIN).study_id
    other = storage.create_study("all-infeasible", MIN).study_id
    for study_id, value, constraints in [
        (sid, 1.0, [0.5]),  # best value, but infeasible
        (sid, 5.0, [0.0]),
        (sid, 7.0, None),
        (sid, 0.5, [-1.0, 2.0]),  # one of two constraints violated
        (other, 3.0, [1.0]),
    ]:
        system = {} if constraints is None else {"constraints": constraints}
        storage.add_trial(
            study_id, FrozenTrial(number=-1, state=TrialState.COMPLETE, values=[value], system_attrs=system)
        )
    by_name = {s.name: s for s in storage.list_studies()}
    assert by_name["s"].best_values == [5.0]
    assert by_name["all-infeasible"].best_values is None


def test_added_trial_times_keep_their_instant(storage):
    """A time with a UTC offset is stored as the same instant on every backend
    (SQLite dropped the offset and read 12:00+02:00 back as 12:00 UTC)."""
    sid = storage.create_study("s", MIN).study_id
    plus2 = _dt.timezone(_dt.timedelta(hours=2))
    start = _dt.datetime(2026, 1, 1, 12, 0, tzinfo=plus2)
    t = storage.add_trial(sid, FrozenTrial(number=-1, state=TrialState.COMPLETE, values=[1.0],
                                           datetime_start=start, datetime_complete=start + _dt.timedelta(minutes=5)))
    (got,) = storage.get_trials(sid)
    for d in (t.datetime_start, got.datetime_start):
        assert d == start and d.utcoffset() == _dt.timedelta(0)
    assert got.datetime_complete - got.datetime_start == _dt.timedelta(minutes=5)


def test_study_attrs_merge(storage):
    sid = storage.create_study("s", MIN).study_id
    storage.set_study_attrs(sid, user={"a": 1}, system={"sampler:seed": 7})
    storage.set_study_attrs(sid, user={"a": 2, "b": [1, "x"]})
    user, system = storage.get_study_attrs(sid)
    assert user == {"a": 2, "b": [1, "x"]}
    assert system == {"sampler:seed": 7}
    assert storage.get_study("s").system_attrs == {"sampler:seed": 7}


def test_extreme_values_round_trip(storage):
    sid = storage.create_study("s", MIN).study_id
    t = storage.start_trial(sid)
    params = {"tiny": 5e-324, "huge": 1.7976931348623157e308, "neg0": -0.0, "名前 🚀": "x" * 10_000}
    storage.write_trial(t.trial_id, params=params, state=TrialState.COMPLETE, values=[-1e308])
    (got,) = storage.get_trials(sid)
    assert got.params == params
    assert math.copysign(1.0, got.params["neg0"]) == -1.0
    assert got.values == [-1e308]


def test_pause_and_resume_a_trial(storage):
    """A RUNNING trial can be PAUSED (not finished: no completion time) and then
    resumed exactly once; its parameters and intermediate values survive."""
    sid = storage.create_study("s", MIN).study_id
    t = storage.start_trial(sid)
    dists = {"lr": FloatDistribution(1e-5, 1.0, log=True)}
    storage.write_trial(t.trial_id, params={"lr": 0.01}, distributions=dists, intermediate={1: 0.5})
    storage.write_trial(t.trial_id, intermediate={3: 0.25}, state=TrialState.PAUSED)
    paused = storage.get_trial(sid, t.number)
    assert paused.state == TrialState.PAUSED
    assert paused.datetime_complete is None
    with pytest.raises(TrialStateError):
        storage.write_trial(t.trial_id, intermediate={4: 0.1})
    # a paused trial is never handed out as a new or enqueued one
    other = storage.start_trial(sid)
    assert other.number != t.number
    assert storage.resume_trial(sid, other.number) is None  # RUNNING, not PAUSED
    got = storage.resume_trial(sid, t.number, {"worker": "here:1:main"})
    assert got is not None and got.state == TrialState.RUNNING
    assert got.system_attrs["worker"] == "here:1:main"  # set with the claim itself
    assert got.params == {"lr": 0.01} and got.intermediate_values == {1: 0.5, 3: 0.25}
    assert storage.resume_trial(sid, t.number) is None  # claimed once
    assert storage.resume_trial(sid, 99) is None
    storage.write_trial(t.trial_id, intermediate={9: 0.125}, state=TrialState.COMPLETE, values=[0.125])
    done = storage.get_trial(sid, t.number)
    assert done.state == TrialState.COMPLETE and done.datetime_complete is not None
    assert storage.count_trials(sid, [TrialState.PAUSED]) == 0


def test_trial_stamps_change_when_a_paused_trial_is_run_again(storage):
    """What a process polls to learn which of many paused trials another process
    resumed: stamps of the trials in the asked states, equal while nothing wrote."""
    sid = storage.create_study("s", MIN).study_id
    ts = [storage.start_trial(sid) for _ in range(3)]
    for i, t in enumerate(ts[:2]):
        storage.write_trial(t.trial_id, intermediate={1: float(i)}, state=TrialState.PAUSED)
    first = storage.get_trial_stamps(sid, [TrialState.PAUSED])
    assert sorted(first) == [0, 1]
    assert storage.get_trial_stamps(sid, [TrialState.PAUSED]) == first
    assert storage.get_trial_stamps(sid, [TrialState.RUNNING]).keys() == {2}
    resumed = storage.resume_trial(sid, 1)
    storage.write_trial(resumed.trial_id, intermediate={3: 0.5}, state=TrialState.PAUSED)
    second = storage.get_trial_stamps(sid, [TrialState.PAUSED])
    assert second[0] == first[0]
    assert second[1] != first[1]


def test_heartbeats_and_stale_trials(storage):
    """A RUNNING trial whose heartbeat stopped is failed once, with the reason;
    trials that beat, and finished trials, are left alone."""
    import datetime as dt

    sid = storage.create_study("s", MIN).study_id
    alive, dead, done = storage.start_trial(sid), storage.start_trial(sid), storage.start_trial(sid)
    storage.write_trial(dead.trial_id, params={"x": 1.0}, distributions={"x": FloatDistribution(0, 2)},
                        system_attrs={"max_retries": 2})
    storage.write_trial(done.trial_id, state=TrialState.COMPLETE, values=[1.0])
    cutoff = dt.datetime.now(dt.timezone.utc) + dt.timedelta(milliseconds=1)
    import time

    time.sleep(0.01)
    storage.heartbeat([alive.trial_id, done.trial_id])
    failed = storage.fail_stale_trials(sid, cutoff)
    assert [t.number for t in failed] == [dead.number]
    t = failed[0]
    assert t.state == TrialState.FAIL and "heartbeat" in t.system_attrs["fail_reason"]
    assert t.system_attrs["max_retries"] == 2 and t.params == {"x": 1.0}
    assert storage.get_trial(sid, dead.number).state == TrialState.FAIL
    assert storage.get_trial(sid, alive.number).state == TrialState.RUNNING
    assert storage.get_trial(sid, done.number).state == TrialState.COMPLETE
    assert storage.fail_stale_trials(sid, cutoff) == []  # once
    storage.heartbeat([])
    # the retry was queued in the same call: same parameters, linked both ways
    retry = storage.get_trial(sid, t.system_attrs["requeued_as"])
    assert retry.state == TrialState.WAITING and retry.params == {"x": 1.0}
    assert retry.system_attrs["retry_of"] == dead.number and retry.system_attrs["retry"] == 1
    assert storage.get_trial(sid, dead.number).system_attrs["requeued_as"] == retry.number


def test_a_failure_and_its_retry_are_one_write(storage):
    """Finishing a trial as FAIL with ``retry`` queues the retry in the same write
    (a worker process that died: the driver must not be able to record one without
    the other) and links both ways; without ``retry`` nothing is queued."""
    sid = storage.create_study("s", MIN).study_id
    t = storage.start_trial(sid)
    dists = {"x": FloatDistribution(0, 2)}
    storage.write_trial(t.trial_id, params={"x": 1.5}, distributions=dists, intermediate={3: 0.5})
    retry = {"retry_of": t.number, "retry": 1, "max_retries": 2, "checkpoint": "trial_000000/checkpoint_000003",
             "resume_step": 3}
    queued = storage.write_trial(t.trial_id, system_attrs={"fail_reason": "WorkerDied: killed"},
                                 state=TrialState.FAIL, retry=retry)
    assert queued == t.number + 1
    failed = storage.get_trial(sid, t.number)
    assert failed.state == TrialState.FAIL and failed.system_attrs == {"fail_reason": "WorkerDied: killed",
                                                                       "requeued_as": queued}
    again = storage.get_trial(sid, queued)
    assert again.state == TrialState.WAITING and again.params == {"x": 1.5} and again.distributions == dists
    assert again.system_attrs == retry and again.user_attrs == {}
    nxt = storage.start_trial(sid)  # the retry is what the next worker gets
    assert nxt.number == queued
    plain = storage.start_trial(sid)
    assert storage.write_trial(plain.trial_id, state=TrialState.FAIL) is None
    assert storage.count_trials(sid) == 3


def test_stale_trials_are_retried_with_the_callers_retries(storage):
    """A trial that never recorded its retries gets the reaper's; one without
    parameters (it never got as far as sampling) is not queued again."""
    import datetime as dt
    import time

    sid = storage.create_study("s", MIN).study_id
    bare, sampled = storage.start_trial(sid), storage.start_trial(sid)
    storage.write_trial(sampled.trial_id, params={"x": 0.5}, distributions={"x": FloatDistribution(0, 1)})
    time.sleep(0.01)
    failed = storage.fail_stale_trials(sid, dt.datetime.now(dt.timezone.utc), retries=1)
    by = {t.number: t for t in failed}
    assert set(by) == {bare.number, sampled.number}
    assert "requeued_as" not in by[bare.number].system_attrs
    retry = storage.get_trial(sid, by[sampled.number].system_attrs["requeued_as"])
    assert retry.params == {"x": 0.5} and retry.system_attrs["max_retries"] == 1


def test_best_trials_by_value(storage):
    """The few best COMPLETE trials by first objective value, best first, ties by
    number, in either direction; other states and other studies are left out."""
    sid = storage.create_study("s", MIN).study_id
    other = storage.create_study("o", MIN).study_id
    values = [3.0, -1.0, 7.5, -1.0, float("inf"), 0.25, -float("inf")]
    for v in values:
        storage.add_trial(sid, FrozenTrial(number=-1, state=TrialState.COMPLETE, values=[v]))
    storage.add_trial(sid, FrozenTrial(number=-1, state=TrialState.PRUNED, values=[-100.0]))
    storage.add_trial(other, FrozenTrial(number=-1, state=TrialState.COMPLETE, values=[-50.0]))
    t = storage.start_trial(sid)
    storage.write_trial(t.trial_id, state=TrialState.COMPLETE, values=[-2.0], system_attrs={"constraints": [1.0]})
    best = storage.get_best_trials(sid, True, 4)
    assert [(x.number, x.values[0]) for x in best] == [(6, -float("inf")), (8, -2.0), (1, -1.0), (3, -1.0)]
    assert best[1].system_attrs == {"constraints": [1.0]}  # full trials, attributes included
    worst_first = storage.get_best_trials(sid, False, 3)
    assert [x.number for x in worst_first] == [4, 2, 0]
    assert len(storage.get_best_trials(sid, True, 100)) == 8
    assert storage.get_best_trials(storage.create_study("e", MIN).study_id, True, 5) == []
