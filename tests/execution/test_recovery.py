"""A whole worker process killed with SIGKILL: after the heartbeat grace its trial
is failed with the reason and queued again, resuming from its checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import hypersearch as hs

SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    import hypersearch as hs

    MARK = sys.argv[2]

    def train(config):
        ckpt = hs.get_checkpoint()
        for epoch in range((ckpt or 0) + 1, 6):
            hs.report(loss=config["x"] / epoch, checkpoint=epoch)
            if epoch == 3 and not os.path.exists(MARK):
                open(MARK, "w").close()
                time.sleep(600)  # killed here

    if __name__ == "__main__":
        hs.tune(train, config={"x": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=2,
                storage=sys.argv[1], name="r", seed=0, retries=1)
    """
)


def train(config):
    ckpt = hs.get_checkpoint()
    for epoch in range((ckpt or 0) + 1, 6):
        hs.report(loss=config["x"] / epoch, checkpoint=epoch)


def test_killed_tune_process_is_recovered_from_its_checkpoint(tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    mark = tmp_path / "mark"
    proc = subprocess.Popen([sys.executable, str(script), url, str(mark)])
    try:
        deadline = time.monotonic() + 60
        while not mark.exists():
            assert proc.poll() is None, "the worker ended early"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    (orphan,) = hs.load_study("r", url).trials
    assert orphan.state == hs.TrialState.RUNNING and orphan.last_step == 3
    time.sleep(1.0)  # longer than the grace: the orphan is failed when the run starts
    res = hs.tune(train, config={"x": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=2,
                  storage=url, name="r", seed=0, resume=True, retries=1,
                  heartbeat_interval=0.2, heartbeat_grace=0.5)
    trials = res.trials
    assert trials[0].state == hs.TrialState.FAIL
    assert "is gone" in trials[0].fail_reason  # its process, on this machine, no longer exists
    retry = trials[1]
    assert retry.system_attrs["retry_of"] == 0 and retry.params == orphan.params
    assert retry.state == hs.TrialState.COMPLETE
    assert sorted(retry.intermediate_values) == [4, 5]  # went on from the epoch-3 checkpoint
    assert len(trials) == 3 and trials[2].state == hs.TrialState.COMPLETE  # the second sample


def test_stale_trial_of_a_dead_process_in_define_by_run(tmp_path):
    url = f"sqlite:///{tmp_path}/d.db"
    study = hs.create_study("d", url, sampler=hs.samplers.RandomSampler(seed=0))
    # a trial some process started and never finished (it died before any heartbeat)
    t = study.ask()
    t.suggest_float("x", 0, 1)
    t._system_attrs["max_retries"] = 1
    t.flush()
    study._live.clear()  # forget it here: it belongs to the dead process
    time.sleep(0.3)
    other = hs.load_study("d", url)
    other.optimize(lambda tr: tr.suggest_float("x", 0, 1), n_trials=2, heartbeat_interval=0.05,
                   heartbeat_grace=0.2)
    trials = other.trials
    assert trials[0].state == hs.TrialState.FAIL and "heartbeat" in trials[0].fail_reason
    assert trials[1].system_attrs["retry_of"] == 0 and trials[1].params == trials[0].params
    assert [t.state for t in trials[1:]] == [hs.TrialState.COMPLETE] * 2


def test_a_trial_killed_before_its_first_write_is_retried_with_the_fleets_setting(tmp_path):
    """A worker killed while its sampler was still suggesting never wrote the trial's
    retries; the worker that finds it orphaned applies its own ``retries``."""
    url = f"sqlite:///{tmp_path}/k.db"
    study = hs.create_study("k", url, sampler=hs.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"x": 0.25})
    t = study.ask()  # claimed the queued configuration, then died: nothing else written
    assert "max_retries" not in study._storage.get_trial(study._study_id, t.number).system_attrs
    study._live.clear()
    time.sleep(0.3)
    other = hs.load_study("k", url)
    other.optimize(lambda tr: tr.suggest_float("x", 0, 1), n_trials=1, retries=2, heartbeat_interval=0.05,
                   heartbeat_grace=0.2)
    trials = other.trials
    assert trials[0].state == hs.TrialState.FAIL
    retry = [x for x in trials if x.system_attrs.get("retry_of") == 0]
    assert len(retry) == 1 and retry[0].params == {"x": 0.25} and retry[0].state == hs.TrialState.COMPLETE


def test_leftovers_of_a_killed_checkpoint_write_are_removed(tmp_path):
    from hypersearch.tune._checkpoint import CheckpointStore

    store = CheckpointStore(tmp_path)
    store.save(1, 1, {"a": 1})
    d = tmp_path / "trial_000001"
    (d / ".tmp_dead").write_bytes(b"half a pickle")  # a writer killed mid-save
    (d / ".tmp_deaddir").mkdir()
    rel = store.save(1, 2, {"a": 2})
    assert store.load(rel) == {"a": 2}
    assert not list(d.glob(".tmp_*"))


CTRL_C = textwrap.dedent(
    """
    import os, sys, time
    import hypersearch as hs

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number >= 4:
            with open(sys.argv[2] + str(trial.number), "w") as f:
                f.write(str(os.getpid()))
            time.sleep(600)
        return x

    if __name__ == "__main__":
        study = hs.create_study("c", sys.argv[1], sampler=hs.samplers.RandomSampler(seed=0))
        try:
            study.optimize(objective, n_trials=10, n_jobs=2)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(130)
    """
)


def test_ctrl_c_stops_workers_and_marks_running_trials(tmp_path):
    url = f"sqlite:///{tmp_path}/c.db"
    script = tmp_path / "c.py"
    script.write_text(CTRL_C)
    mark = str(tmp_path / "running_")
    proc = subprocess.Popen([sys.executable, str(script), url, mark], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (os.path.exists(mark + "4") and os.path.exists(mark + "5")):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "interrupted" in out
    trials = hs.load_study("c", url).trials
    assert [t.state for t in trials[:4]] == [hs.TrialState.COMPLETE] * 4
    assert [t.state for t in trials[4:]] == [hs.TrialState.FAIL] * 2
    assert all("interrupted" in t.fail_reason for t in trials[4:])
    # no worker process is left behind
    for n in (4, 5):
        pid = int(open(mark + str(n)).read())
        time.sleep(0.2)
        try:
            os.kill(pid, 0)
            alive = open(f"/proc/{pid}/stat").read().split()[2] != "Z"
        except (ProcessLookupError, FileNotFoundError):
            alive = False
        assert not alive, f"worker {pid} survived"
    # and the study goes on
    again = hs.load_study("c", url)
    again.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(again.trials) == 8


def test_a_trial_whose_finishing_write_failed_is_retried_not_kept_running(tmp_path):
    """A result that could not be written (full disk, long outage) leaves the trial
    RUNNING in the storage; this process stops heartbeating it, so it is reaped
    and, with retries, run again, instead of staying RUNNING forever."""
    url = f"sqlite:///{tmp_path}/w.db"
    study = hs.create_study("w", url, sampler=hs.samplers.RandomSampler(seed=0))
    real = study._storage.write_trial

    def failing(trial_id, **kw):
        if kw.get("state") is not None:
            raise hs.StorageError("disk full (simulated)")
        return real(trial_id, **kw)

    study._storage.write_trial = failing

    def objective(t):
        x = t.suggest_float("x", 0, 1)
        t.report(x, 0)
        t.flush()  # the parameters are stored; only the result is not
        return x

    with pytest.raises(hs.StorageError):
        study.optimize(objective, n_trials=1, retries=3, heartbeat_interval=0.1, heartbeat_grace=0.4)
    study._storage.write_trial = real
    assert not study._live
    time.sleep(0.6)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1, retries=3,
                   heartbeat_interval=0.1, heartbeat_grace=0.4)
    trials = study.trials
    assert trials[0].state == hs.TrialState.FAIL
    retried = [t for t in trials if t.system_attrs.get("retry_of") == 0]
    assert len(retried) == 1 and retried[0].state == hs.TrialState.COMPLETE
    assert not study.running_trials()


def test_ask_tell_trials_are_heartbeaten_so_other_workers_leave_them_alone(tmp_path, monkeypatch):
    """A trial driven by ask/tell outside optimize beats too: another worker's stale
    check must not fail it while it runs, and it ends as its caller says."""
    import hypersearch.study._study as study_mod

    monkeypatch.setattr(study_mod, "ASK_HEARTBEAT_INTERVAL", 0.05)
    url = f"sqlite:///{tmp_path}/a.db"
    study = hs.create_study("a", url, sampler=hs.samplers.RandomSampler(seed=0))
    t = study.ask()
    x = t.suggest_float("x", 0, 1)
    other = hs.load_study("a", url)  # another worker's view of the study
    for _ in range(6):
        time.sleep(0.1)
        assert other._fail_stale_trials(0.3) == []
    study.tell(t, x)
    assert study.trials[0].state == hs.TrialState.COMPLETE
    time.sleep(0.2)  # no trial left running here: the heartbeat thread ends
    assert study._beat_thread is None


def test_only_trials_of_dead_processes_of_this_machine_and_namespace_fail_at_once(tmp_path):
    import socket

    from hypersearch.study._study import WORKER_ATTR, WORKER_NS_ATTR, _pid_namespace

    if not _pid_namespace():
        pytest.skip("this system does not expose boot and pid-namespace ids (/proc)")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    url = f"sqlite:///{tmp_path}/n.db"
    driver = hs.create_study("n", url)
    labels = {
        "dead here": (f"{socket.gethostname()}:{gone.pid}:MainThread", _pid_namespace()),
        "alive here": (f"{socket.gethostname()}:{os.getpid()}:MainThread", _pid_namespace()),
        "other container": (f"{socket.gethostname()}:{gone.pid}:MainThread", "other-boot:123"),
        "other host": (f"elsewhere:{gone.pid}:MainThread", _pid_namespace()),
    }
    numbers = {}
    for what, (label, ns) in labels.items():
        t = driver.ask()
        t.suggest_float("x", 0, 1)
        t._system_attrs[WORKER_ATTR], t._system_attrs[WORKER_NS_ATTR] = label, ns
        t.flush()
        numbers[what] = t.number
    other = hs.load_study("n", url)  # another process resuming the study
    failed = other._fail_dead_trials(retries=1)
    assert [t.number for t in failed] == [numbers["dead here"]]
    assert "is gone" in failed[0].system_attrs["fail_reason"]
    assert "requeued_as" in failed[0].system_attrs


OBJECTIVE_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import hypersearch as hs

    study = hs.create_study(study_name="d", storage=sys.argv[1], load_if_exists=True)

    def objective(trial):
        x = trial.suggest_float("x", -5, 5)
        print(x, flush=True)
        time.sleep(600)  # a long training step, no report yet: killed here
        return x

    study.optimize(objective, n_trials=1, retries=1)
    """
)


def test_a_worker_killed_before_its_first_report_is_retried_with_its_parameters(tmp_path):
    """With retries, suggested parameters are stored at once: a worker killed before
    the trial wrote anything else leaves a trial that the next run retries with the
    same configuration (before, the trial was stored without parameters and could
    not be retried)."""
    url = f"sqlite:///{tmp_path}/d.db"
    script = tmp_path / "obj.py"
    script.write_text(OBJECTIVE_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), url], stdout=subprocess.PIPE, text=True)
    try:
        x = float(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait()
    study = hs.load_study(study_name="d", storage=url)
    seen = []
    study.optimize(lambda t: seen.append(t.suggest_float("x", -5, 5)) or 0.0, n_trials=1, retries=1)
    failed = study.trials[0]
    assert failed.state == hs.TrialState.FAIL and failed.params == {"x": x}
    assert seen == [x] and study.trials[1].system_attrs["retry_of"] == 0


def test_the_heartbeat_stores_parameters_a_trial_has_not_written():
    """Without retries parameters ride the trial's first write; a long first step
    gets them stored by the next heartbeat (once)."""
    study = hs.create_study()
    t = study.ask()
    t.suggest_float("x", 0, 1)
    assert study._storage.get_trial(study._study_id, t.number).params == {}
    study._beat()
    assert study._storage.get_trial(study._study_id, t.number).params == t.params


def test_with_retries_parameters_are_written_once_and_a_rejected_configuration_is_withdrawn():
    """Storing parameters at each suggest costs one write per new parameter, not per
    suggest call; a configuration the constraints reject is withdrawn from the
    storage before the sampler draws again, so a retry never runs it."""
    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=1))
    writes = []
    real = study._storage.write_trial
    study._storage.write_trial = lambda *a, **k: writes.append(k) or real(*a, **k)

    def objective(calls):
        def f(trial):
            for _ in range(calls):
                trial.suggest_float("x", 0, 1)
            return 0.0
        return f

    counts = []
    for calls in (1, 50):
        study.enqueue_trial({"x": 0.5})
        writes.clear()
        study.optimize(objective(calls), n_trials=1, retries=1)
        counts.append(len(writes))
    assert counts[0] == counts[1]  # not one write per suggest call

    space = hs.SearchSpace({"a": hs.uniform(0, 1), "b": hs.uniform(0, 1)}, constraints=[lambda c: c["a"] + c["b"] < 0.5])
    seen = []
    real_reject = study.sampler.on_reject

    def on_reject(st, trial):
        seen.append(study._storage.get_trial(study._study_id, trial.number).params)
        return real_reject(st, trial)

    study.sampler.on_reject = on_reject
    study.optimize(space.objective(lambda c: c["a"] + c["b"]), n_trials=1, retries=1)
    assert seen and all(p == {} for p in seen)
