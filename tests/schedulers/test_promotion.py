"""Promotion-based successive halving (ASHA promotion variant, synchronous SH and
Hyperband): rung arithmetic, pause/resume from checkpoints, and resume of the
scheduler's state from storage."""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest

import hypersearch as hs
from hypersearch.schedulers import ASHA, Decision, Hyperband, SuccessiveHalving
from hypersearch.schedulers.asha import hyperband_brackets
from hypersearch.trial import FrozenTrial, TrialState

QS = list(range(9))  # config q has final loss q: a stable ranking


class Recorder:
    """A trainable that resumes from its checkpoint and logs every epoch it trains."""

    def __init__(self, max_epoch: int = 9, interrupt_at: tuple[int, int] | None = None) -> None:
        self.max_epoch = max_epoch
        self.log: list[tuple[int, int]] = []
        self.restored: list[tuple[int, int]] = []
        self.interrupt_at = interrupt_at
        self.lock = threading.Lock()

    def __call__(self, config):
        ckpt = hs.get_checkpoint()
        start = ckpt["epoch"] if ckpt else 0
        if ckpt:
            self.restored.append((config["q"], start))
        for epoch in range(start + 1, self.max_epoch + 1):
            if self.interrupt_at == (config["q"], epoch):
                raise KeyboardInterrupt
            with self.lock:
                self.log.append((config["q"], epoch))
            hs.report(loss=config["q"] + 1.0 / epoch, checkpoint={"epoch": epoch})

    def epochs(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = defaultdict(list)
        for q, e in self.log:
            out[q].append(e)
        return dict(out)


def test_hyperband_bracket_table_matches_the_paper():
    # Li et al. (2017), Table 1: max_t = 81, eta = 3
    assert hyperband_brackets(81, 1, 3) == [(1, 81), (3, 34), (9, 15), (27, 8), (81, 5)]
    hb = Hyperband(max_t=81, min_t=1, reduction_factor=3, synchronous=True)
    assert hb.rungs[0] == [1, 3, 9, 27] and hb.rungs[4] == []
    # synchronous bracket instances: 81 trials, then 34, ... then the cycle repeats
    assert [hb.bracket_of(n) for n in (0, 80, 81, 114, 115, 129, 130, 137, 138, 142, 143)] == [
        0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5,
    ]


def test_synchronous_successive_halving_promotes_only_full_rungs(tmp_path):
    rec = Recorder()
    sh = SuccessiveHalving(metric="loss", mode="min", min_t=1, max_t=9, reduction_factor=3,
                           synchronous=True)
    res = hs.tune(rec, config={"q": hs.grid(QS)}, num_samples=1, scheduler=sh,
                  storage=f"sqlite:///{tmp_path}/sh.db", name="sh", seed=0)
    ep = rec.epochs()
    # every configuration trains to rung 0 before any is promoted
    assert sorted(q for q, _ in rec.log[:9]) == QS and all(e == 1 for _, e in rec.log[:9])
    # the top 3 of rung 0 reach rung 1 (3 epochs), the top 1 of those max_t
    assert {q: max(e) for q, e in ep.items()} == {0: 9, 1: 3, 2: 3, **{q: 1 for q in range(3, 9)}}
    # rung 1 is complete (q=0, 1, 2 at epoch 3) before q=0 goes on to epoch 4
    assert rec.log.index((0, 4)) > max(rec.log.index((1, 3)), rec.log.index((2, 3)))
    # promoted trials resumed from their checkpoints: no epoch trained twice
    assert all(e == list(range(1, len(e) + 1)) for e in ep.values())
    assert sum(len(e) for e in ep.values()) == 9 * 1 + 3 * 2 + 1 * 6
    assert res.get_best_config()["q"] == 0
    states = {t.user_attrs["config"]["q"]: t.state for t in res.trials}
    assert states[0] == TrialState.COMPLETE
    assert all(states[q] == TrialState.PRUNED for q in QS[1:])  # closed at the end of the run
    assert len(res.trials) == 9


def test_asha_promotion_pauses_and_resumes_from_checkpoints():
    rec = Recorder()
    asha = ASHA(metric="loss", mode="min", grace_period=1, max_t=9, reduction_factor=3,
                variant="promotion")
    res = hs.tune(rec, config={"q": hs.grid([3, 7, 0, 8, 5, 1, 6, 2, 4])}, num_samples=1,
                  scheduler=asha, sampler=None, seed=0)
    ep = rec.epochs()
    assert all(e == list(range(1, len(e) + 1)) for e in ep.values())  # never retrained
    assert rec.restored  # some promotions reloaded a paused trial's checkpoint
    assert max(ep[0]) == 9  # the best configuration is trained to max_t
    total = sum(len(e) for e in ep.values())
    assert total < 9 * 9 / 3  # far fewer epochs than training everything
    assert res.get_best_config()["q"] == 0
    done = [t for t in res.trials if t.state == TrialState.COMPLETE]
    assert [t.user_attrs["config"]["q"] for t in done] == [0]


def test_promotion_decisions_on_hand_made_reports():
    study = hs.create_study(direction="minimize")
    asha = ASHA(grace_period=1, max_t=9, reduction_factor=3, variant="promotion")
    study.scheduler = asha
    trials = []
    for q in (5.0, 1.0):
        t = study.ask()
        t.report(q, 1)
        assert asha.decide(study, t._snapshot(), pausable=True) == Decision.PAUSE
        trials.append(study._pause(t))
    assert asha.choose_paused(study, can_start=True) is None  # floor(2 / 3) = 0 promotable
    t = study.ask()
    t.report(3.0, 1)
    # rung 0 now holds 3 values: the best (1.0, trial 1) is promotable; trial 2 pauses
    assert asha.decide(study, t._snapshot(), pausable=True) == Decision.PAUSE
    study._pause(t)
    assert asha.choose_paused(study, can_start=True) == trials[1].number
    # a trial that is itself the one to promote continues without pausing
    t = study.ask()
    t.report(0.5, 1)
    assert asha.decide(study, t._snapshot(), pausable=True) == Decision.CONTINUE
    # without pausing (define-by-run), the stopping rule decides
    assert asha.decide(study, FrozenTrial(number=99, state=TrialState.RUNNING,
                                          intermediate_values={1: 9.0}), pausable=False) == Decision.STOP


def test_an_older_snapshot_of_a_trial_never_overwrites_a_newer_one():
    # The reporting worker and the view of another thread can index the same trial;
    # the one holding the older snapshot may get the lock last.
    asha = ASHA(grace_period=1, max_t=9, reduction_factor=3, variant="promotion", mode="min")

    def snap(n, state, values):
        return FrozenTrial(number=n, state=state, intermediate_values=values)

    for n, q in enumerate((5.0, 1.0, 3.0)):
        asha._index(snap(n, TrialState.PAUSED, {1: q}), False)
    assert asha._choose(can_start=True, sync_can_start=True) == 1
    # trial 1 was resumed and reported epoch 2; then the snapshot read before the resume arrives
    asha._index(snap(1, TrialState.RUNNING, {1: 1.0, 2: 0.9}), False)
    asha._index(snap(1, TrialState.PAUSED, {1: 1.0}), False)
    assert asha._choose(can_start=True, sync_can_start=True) is None  # not resumed a second time
    # a trial seen finished is never taken for running again
    asha._index(snap(1, TrialState.COMPLETE, {1: 1.0, 2: 0.9, 9: 0.5}), True)
    asha._index(snap(1, TrialState.RUNNING, {1: 1.0, 2: 0.9, 9: 0.5}), False)
    assert asha._members[0][1][0] == TrialState.COMPLETE


def test_a_scheduler_moved_to_another_study_forgets_the_first():
    asha = ASHA(grace_period=1, max_t=9, reduction_factor=3, variant="promotion", mode="min")
    first = hs.create_study()
    first.scheduler = asha
    for q in (5.0, 1.0, 3.0):
        t = first.ask()
        t.report(q, 1)
        asha.decide(first, t._snapshot(), pausable=True)
        first._pause(t)
    assert asha.choose_paused(first, can_start=True) == 1
    second = hs.create_study()
    second.scheduler = asha
    assert asha.choose_paused(second, can_start=True) is None
    t = first.ask()  # the first study's history goes on; the scheduler no longer listens
    t.report(0.1, 1)
    first.tell(t, 0.1)
    assert asha.choose_paused(second, can_start=True) is None
    assert asha._members == {}


def test_define_by_run_falls_back_to_stopping():
    sched = ASHA(grace_period=1, max_t=9, reduction_factor=3, variant="promotion")
    study = hs.create_study(scheduler=sched, sampler=hs.samplers.RandomSampler(seed=0))

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        for epoch in range(1, 10):
            trial.report(x + 1.0 / epoch, epoch)
            if trial.should_prune():
                raise hs.TrialPruned()
        return x

    study.optimize(objective, n_trials=20)
    states = {t.state for t in study.trials}
    assert states == {TrialState.COMPLETE, TrialState.PRUNED}


def test_interrupted_synchronous_run_resumes_from_storage(tmp_path):
    url = f"sqlite:///{tmp_path}/resume.db"

    def sched():
        return SuccessiveHalving(metric="loss", mode="min", min_t=1, max_t=9, reduction_factor=3,
                                 synchronous=True)

    space = {"q": hs.grid(QS)}
    first = Recorder(interrupt_at=(QS[-1], 1))
    with pytest.raises(KeyboardInterrupt):
        hs.tune(first, config=space, num_samples=1, scheduler=sched(), storage=url, name="r", seed=0)
    study = hs.load_study("r", url)
    counts = defaultdict(int)
    for t in study.trials:
        counts[t.state] += 1
    assert counts[TrialState.PAUSED] >= 1  # paused trials survived the crash in storage
    # A fresh process: new scheduler object, state rebuilt from the stored reports.
    second = Recorder()
    res = hs.tune(second, config=space, num_samples=1, scheduler=sched(), storage=url, name="r",
                  resume=True, seed=0)
    both = defaultdict(list)
    for q, e in first.log + second.log:
        both[q].append(e)
    assert all(sorted(e) == list(range(1, len(e) + 1)) for e in both.values())  # nothing retrained
    assert res.get_best_config()["q"] == 0
    assert max(both[0]) == 9
    assert not [t for t in res.trials if t.state == TrialState.PAUSED]


def test_parallel_workers_never_resume_a_trial_twice():
    rec = Recorder(max_epoch=27)
    hb = Hyperband(metric="loss", mode="min", min_t=1, max_t=27, reduction_factor=3,
                   variant="promotion")
    res = hs.tune(rec, config={"q": hs.uniform(0, 9)}, num_samples=30, scheduler=hb,
                  max_concurrent=3, seed=1, executor="thread")
    by_trial: dict[float, list[int]] = defaultdict(list)
    for q, e in rec.log:
        by_trial[q].append(e)
    assert all(sorted(e) == list(range(1, len(e) + 1)) for e in by_trial.values())
    assert all(len(set(e)) == len(e) for e in by_trial.values())
    assert len(res.trials) == 30
    assert not [t for t in res.trials if t.state in (TrialState.RUNNING, TrialState.PAUSED)]


def test_bad_variant_arguments():
    with pytest.raises(ValueError, match="variant"):
        ASHA(variant="halving")
    with pytest.raises(ValueError, match="n_configs"):
        SuccessiveHalving(n_configs=9)
    with pytest.raises(ValueError, match="promotion"):
        Hyperband(synchronous=True, variant="stopping")


def test_promoted_trials_whose_checkpoints_were_deleted_train_again_from_scratch(tmp_path):
    """Paused trials whose checkpoint directory is gone (deleted, lost disk) are not
    failed when promoted: they train again from epoch 1, with a warning and the
    lost path recorded, as a trial paused without any checkpoint would."""
    import shutil

    url = f"sqlite:///{tmp_path}/lost.db"
    ck = tmp_path / "ckpts"

    def sched():
        return SuccessiveHalving(metric="loss", mode="min", min_t=1, max_t=9, reduction_factor=3,
                                 synchronous=True)

    space = {"q": hs.grid(QS)}
    with pytest.raises(KeyboardInterrupt):
        hs.tune(Recorder(interrupt_at=(QS[-1], 1)), config=space, num_samples=1, scheduler=sched(),
                storage=url, name="r", seed=0, storage_path=str(ck))
    paused = [t.number for t in hs.load_study("r", url).trials if t.state == TrialState.PAUSED]
    assert paused
    shutil.rmtree(ck)
    second = Recorder()
    with pytest.warns(UserWarning, match="trains again from scratch"):
        res = hs.tune(second, config=space, num_samples=1, scheduler=sched(), storage=url, name="r",
                      resume=True, seed=0, storage_path=str(ck))
    # every checkpoint restored in the second run was written in the second run
    assert all(r in second.log for r in second.restored)
    assert not [t for t in res.trials if t.state in (TrialState.FAIL, TrialState.PAUSED)]
    lost = [t for t in res.trials if "checkpoint_lost" in t.system_attrs]
    assert lost and {t.number for t in lost} <= set(paused)
    retrained = {t.params["q"] for t in lost}
    assert all((q, 1) in second.log for q in retrained)  # trained again from epoch 1
    assert res.get_best_config()["q"] == 0


def _reference_choice(sched, trials):
    """The promotion rule computed from scratch: the best paused trial within the top
    floor(n_k / eta) of its rung k (ties by number), highest rung first."""
    sign = 1.0
    best = None
    table: dict = defaultdict(dict)
    level: dict = {}
    for t in trials:
        key = sched.bracket_of(t.number)
        steps = sorted(t.intermediate_values)
        level[t.number] = -1
        for k, m in enumerate(sched.rungs[sched._type(key)]):
            at = [s for s in steps if s >= m - 1e-9]
            if not at:
                break
            v = sign * t.intermediate_values[at[0]]
            table[(key, k)][t.number] = float("inf") if v != v else v
            level[t.number] = k
    by_number = {t.number: t for t in trials}
    for (key, k), vals in table.items():
        n_top = int(len(vals) // sched.reduction_factor)
        for n in sorted(vals, key=lambda n: (vals[n], n))[:n_top]:
            if by_number[n].state == TrialState.PAUSED and level[n] == k:
                cand = (-sched.rungs[sched._type(key)][k], vals[n], n)
                best = cand if best is None or cand < best else best
    return None if best is None else best[2]


@pytest.mark.parametrize("make", [
    lambda: ASHA(metric="loss", mode="min", max_t=27, grace_period=1, reduction_factor=3, variant="promotion"),
    lambda: Hyperband(metric="loss", mode="min", max_t=27, min_t=1, reduction_factor=3, variant="promotion"),
])
def test_promotions_follow_the_rule_computed_from_scratch_over_a_long_run(make):
    # The scheduler keeps sorted rungs and a list of paused trials per rung, so a
    # decision does not rescan the run; every choice must still be the one the
    # rule gives on all the trials (ties, NaN reports and repeated values included).
    import numpy as np

    rng = np.random.default_rng(0)
    checked = []

    class Checked(type(make())):
        def choose_paused(self, study, *, can_start):
            got = super().choose_paused(study, can_start=can_start)
            want = _reference_choice(self, study.history.all_trials())
            checked.append(got == want)
            return got

    sched = make()
    sched.__class__ = Checked

    def trainable(config):
        ckpt = hs.get_checkpoint()
        epoch = ckpt["epoch"] if ckpt else 0
        while epoch < 27:
            epoch += 1
            v = round(config["q"] + 1.0 / epoch, 1) if rng.random() > 0.02 else float("nan")
            hs.report(loss=v, checkpoint={"epoch": epoch})

    hs.tune(trainable, {"q": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=150,
            scheduler=sched, sampler=hs.samplers.RandomSampler(seed=1), show_progress_bar=False)
    assert len(checked) >= 150 and all(checked)


def test_a_promotion_chosen_on_a_stale_view_is_undone(tmp_path):
    """Two processes share a study: B promotes trial 0 and pauses it again at a
    higher rung, where it is not promotable.  A, whose view of paused trials is a
    few seconds old, would promote it again at the old rung; the resume sees the
    trial has more reports than A judged, puts it back and chooses again."""
    from hypersearch.study._optimize import run_optimize

    url = f"sqlite:///{tmp_path}/s.db"

    def make():
        return ASHA(grace_period=1, max_t=8, reduction_factor=2, variant="promotion", mode="min")

    a = hs.create_study(storage=url, study_name="s", scheduler=make())
    for v in (0.1, 0.5):
        t = a.ask()
        t.report(v, 1)
        assert a.scheduler.decide(a, t._snapshot(), pausable=True) == Decision.PAUSE
        a._pause(t)
    done = a.ask()  # a trial that finished: the end of the run promotes nothing on its own
    done.report(0.3, 1)
    a.tell(done, 0.3)
    assert a.scheduler.choose_paused(a, can_start=True) == 0
    b = hs.load_study(study_name="s", storage=url, scheduler=make())
    t = b.resume_trial(b.scheduler.choose_paused(b, can_start=True))
    t.report(5.0, 2)  # worst at rung 1
    assert b.scheduler.decide(b, t._snapshot(), pausable=True) == Decision.PAUSE
    b._pause(t)
    ran = []
    run_optimize(a, lambda trial: ran.append(trial.number), n_trials=0, timeout=None, n_jobs=1, catch=(),
                 callbacks=(), show_progress_bar=False, resume_paused=True)
    assert ran == []
    t0 = b._storage.get_trial(b._study_id, 0)
    assert t0.state == hs.TrialState.PAUSED and t0.intermediate_values == {1: 0.1, 2: 5.0}
    assert t0.system_attrs["resumed"] == 1  # B's promotion only


def test_a_promotion_run_too_small_for_its_rungs_still_trains_one_trial_to_max_t():
    """Three trials with eta = 3: floor(n / eta) promotes no one past the second
    rung.  When the run can start no more trials and none runs, the best paused
    trial of the highest rung goes on, so the run ends with one model trained to
    max_t (and only one)."""

    def train(config):
        ckpt = hs.get_checkpoint()
        start = ckpt["epoch"] if ckpt else 0
        for epoch in range(start + 1, 11):
            hs.report(loss=config["q"] + 1.0 / epoch, checkpoint={"epoch": epoch})

    for n in (3, 8):
        asha = ASHA(metric="loss", mode="min", max_t=10, grace_period=1, reduction_factor=3, variant="promotion")
        res = hs.tune(train, {"q": hs.uniform(0, 1)}, num_samples=n, scheduler=asha, seed=0)
        full = [t for t in res.trials if max(t.intermediate_values) == 10]
        assert len(full) == 1 and full[0].state == hs.TrialState.COMPLETE
        assert res.best_result["training_iteration"] == 10


def test_synchronous_brackets_always_bring_one_trial_to_max_t():
    """When max_t / min_t is not a power of eta (or a bracket holds fewer
    configurations than it was sized for), the last rung below max_t holds fewer
    than eta trials: its best is still promoted."""
    seen = defaultdict(int)

    def train(config):
        ckpt = hs.get_checkpoint()
        start = ckpt["epoch"] if ckpt else 0
        for epoch in range(start + 1, 11):
            seen[config["q"]] = max(seen[config["q"]], epoch)
            hs.report(loss=config["q"] + 1.0 / epoch, checkpoint={"epoch": epoch})

    sh = SuccessiveHalving(max_t=10, min_t=1, reduction_factor=3, synchronous=True, mode="min")
    hs.tune(train, {"q": hs.grid(QS)}, metric="loss", scheduler=sh, seed=0)
    assert max(seen.values()) == 10
    assert seen[0] == 10  # the best configuration (q = 0) trained to the end
    hb = Hyperband(max_t=10, min_t=1, reduction_factor=3, synchronous=True, mode="min")
    res = hs.tune(train, {"q": hs.uniform(0, 8)}, metric="loss", scheduler=hb, num_samples=40, seed=0)
    complete = [t for t in res.trials if t.state == hs.TrialState.COMPLETE]
    assert complete and all(max(t.intermediate_values) == 10 for t in complete)
    brackets = {hb.bracket_of(t.number) for t in res.trials if max(t.intermediate_values) == 10}
    started = {hb.bracket_of(t.number) for t in res.trials}
    closed = {b for b in started if all(hb.bracket_of(t.number) != b or t.state.is_finished()
                                        for t in res.trials)}
    assert closed <= brackets  # every bracket that ran to its end brought a trial to max_t


def test_non_finite_values_rank_last_in_either_direction():
    import math

    for mode, bad, good in (("max", math.inf, (0.9, 0.5, -100.0)), ("min", -math.inf, (0.1, 0.5, 100.0))):
        study = hs.create_study(direction="maximize" if mode == "max" else "minimize")
        asha = ASHA(grace_period=1, max_t=16, reduction_factor=4, mode=mode)
        study.scheduler = asha
        out = []
        for v in (bad, *good):
            t = study.ask()
            t.report(v, 1)
            out.append(asha.decide(study, t._snapshot()))
            study.tell(t, state="pruned")
        # the diverged first report does not make the cutoff NaN: the worst is stopped
        assert out[-1] == Decision.STOP, (mode, out)


def test_a_retry_is_judged_only_at_the_rungs_after_its_resume_step():
    asha = ASHA(grace_period=1, max_t=27, reduction_factor=3, mode="min")
    retry = FrozenTrial(number=5, state=TrialState.RUNNING, intermediate_values={10: 0.4},
                        system_attrs={"resume_step": 10, "retry_of": 0})
    assert asha._rung_values(retry) == {}  # rungs 1, 3 and 9 were its original's
    assert asha._crossed(retry)[1] == []
    later = FrozenTrial(number=5, state=TrialState.RUNNING, intermediate_values={10: 0.4, 27: 0.2},
                        system_attrs={"resume_step": 10, "retry_of": 0})
    assert asha._crossed(later)[1] == [] and asha._rung_values(later) == {}  # 27 is max_t, no rung
    # the original failed after reporting step 12: its retry, resumed from the step-10
    # checkpoint, is not judged again at a rung the original passed
    asha_10 = ASHA(grace_period=1, max_t=81, reduction_factor=4, mode="min")  # rungs 1, 4, 16, 64
    between = FrozenTrial(number=5, state=TrialState.RUNNING, intermediate_values={11: 0.4, 12: 0.3, 16: 0.2},
                          system_attrs={"resume_step": 10, "retry_after_step": 16})
    assert asha_10._crossed(between)[1] == [] and asha_10._rung_values(between) == {}
    asha9 = ASHA(grace_period=1, max_t=81, reduction_factor=3, mode="min")
    later = FrozenTrial(number=5, state=TrialState.RUNNING, intermediate_values={10: 0.4, 27: 0.2},
                        system_attrs={"resume_step": 10})
    assert asha9._crossed(later)[1] == [3] and asha9._rung_values(later) == {3: 0.2}
