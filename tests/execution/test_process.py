"""Worker processes: parallel define-by-run trials, outcomes and failures."""

from __future__ import annotations

import pytest

import hypersearch as hs
from hypersearch.execution import ProcessExecutor, ResourcePool, ThreadExecutor

from . import objectives


def test_trials_run_in_long_lived_worker_processes():
    import os

    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    study.optimize(objectives.cpu_bound, n_trials=12, n_jobs=2)
    trials = study.trials
    assert len(trials) == 12 and all(t.state == hs.TrialState.COMPLETE for t in trials)
    pids = {t.user_attrs["pid"] for t in trials}
    assert len(pids) == 2 and os.getpid() not in pids  # two workers, reused for every trial
    assert all(set(t.params) == {"x", "n"} for t in trials)


def test_same_configurations_as_in_process_with_a_seed():
    def params(**kw):
        study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=3))
        study.optimize(objectives.cpu_bound, n_trials=8, **kw)
        return {t.number: t.params for t in study.trials}

    assert params() == params(n_jobs=2) == params(n_jobs=2, executor="thread")


def test_reports_pruning_and_exceptions_come_back():
    study = hs.create_study(scheduler=hs.schedulers.MedianStoppingRule(n_startup_trials=2),
                            sampler=hs.samplers.RandomSampler(seed=1))
    study.optimize(objectives.with_reports, n_trials=16, n_jobs=2)
    states = {t.state for t in study.trials}
    assert hs.TrialState.PRUNED in states and hs.TrialState.COMPLETE in states
    assert all(len(t.intermediate_values) >= 1 for t in study.trials)
    with pytest.raises(ValueError, match="bad x"):  # the objective's own exception type
        study.optimize(objectives.raises, n_trials=2, n_jobs=2)
    failed = [t for t in study.trials if t.state == hs.TrialState.FAIL]
    assert failed and "ValueError: bad x" in failed[0].fail_reason
    study.optimize(objectives.raises, n_trials=3, n_jobs=2, catch=(ValueError,))


def test_killed_worker_fails_its_trial_and_is_retried():
    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    study.optimize(objectives.dies_once, n_trials=6, n_jobs=2, retries=1)
    trials = study.trials
    dead = trials[2]
    assert dead.state == hs.TrialState.FAIL
    assert "SIGKILL" in dead.fail_reason and "worker process" in dead.fail_reason
    retry = [t for t in trials if t.system_attrs.get("retry_of") == 2]
    assert len(retry) == 1 and retry[0].params == dead.params
    assert dead.system_attrs["requeued_as"] == retry[0].number  # failure and retry: one write
    # the retry has another number, so it ran to completion in a fresh worker
    assert retry[0].state == hs.TrialState.COMPLETE
    assert sum(t.state == hs.TrialState.COMPLETE for t in trials) == 6


def test_trial_timeout_stops_the_worker(monkeypatch):
    monkeypatch.setenv("HS_TEST_SLEEP", "30")
    study = hs.create_study()
    study.optimize(objectives.sleeps, n_trials=2, n_jobs=1, trial_timeout=0.5)
    assert [t.state for t in study.trials] == [hs.TrialState.FAIL] * 2
    assert all("timeout" in t.fail_reason for t in study.trials)
    with pytest.raises(ValueError, match="worker processes"):
        study.optimize(objectives.sleeps, n_trials=1, executor="thread", trial_timeout=1)


def test_each_trial_sees_only_its_gpus():
    pool = ResourcePool(cpus=4, gpus=["0", "1"])
    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    study.optimize(objectives.sees_gpus, n_trials=8, n_jobs=8, executor=ProcessExecutor(pool),
                   resources_per_trial={"cpu": 1, "gpu": 0.5})
    trials = study.trials
    by_pid: dict[int, set[str]] = {}
    for t in trials:
        by_pid.setdefault(t.user_attrs["pid"], set()).add(t.user_attrs["cuda"])
        assert t.user_attrs["cuda"] in ("0", "1") and t.user_attrs["omp"] == "1"
        assert t.system_attrs["resources"]["gpu_share"] == 0.5
    assert len(by_pid) == 4  # 2 GPUs x 2 halves, although 8 were asked for
    assert all(len(v) == 1 for v in by_pid.values())  # a worker keeps its GPU
    thread = hs.create_study()
    thread.optimize(objectives.sees_gpus, n_trials=2, n_jobs=2, executor=ThreadExecutor(pool),
                    resources_per_trial={"gpu": 1})
    assert {tuple(t.system_attrs["resources"]["gpu_ids"]) for t in thread.trials} <= {("0",), ("1",)}


def test_closures_are_sent_by_value():
    offset = 3.0

    def objective(trial):
        return trial.suggest_float("x", 0, 1) + offset

    study = hs.create_study()
    study.optimize(objective, n_trials=4, n_jobs=2)
    assert all(t.value >= 3.0 for t in study.trials)


def test_exception_classes_of_the_script_match_catch():
    """An exception class that reached the workers by value with the objective comes
    back as the caller's own class, so ``catch`` matches it (before, it came back as
    a RuntimeError and ended the run)."""

    class DivergedError(Exception):
        pass

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number % 2 == 0:
            raise DivergedError(f"diverged at {x}")
        return x

    study = hs.create_study()
    study.optimize(objective, n_trials=4, n_jobs=2, catch=(DivergedError,))
    states = sorted(t.state.name for t in study.trials)
    assert states == ["COMPLETE", "COMPLETE", "FAIL", "FAIL"]
    assert all("DivergedError" in t.system_attrs["fail_reason"] for t in study.trials if t.state.name == "FAIL")

    def objective_uncaught(trial):
        raise DivergedError("boom")

    with pytest.raises(DivergedError, match="boom"):
        hs.create_study().optimize(objective_uncaught, n_trials=2, n_jobs=2)


def test_exceptions_that_cannot_be_rebuilt_still_match_catch():
    """An exception that cannot be rebuilt in the parent comes back as a stand-in
    that ``catch`` still matches by its class's name, as on the other executors."""
    study = hs.create_study()
    study.optimize(objectives.raises_code_error, n_trials=4, n_jobs=2, catch=(objectives.CodeError,))
    assert sorted(t.state.name for t in study.trials) == ["COMPLETE", "COMPLETE", "FAIL", "FAIL"]
    assert all("[42] bad batch" in t.system_attrs["fail_reason"] for t in study.trials if t.state.name == "FAIL")
    with pytest.raises(RuntimeError, match="CodeError"):  # not caught: ends the run as before
        hs.create_study().optimize(objectives.raises_code_error, n_trials=2, n_jobs=2, catch=(KeyError,))


def test_unsendable_objective_and_bad_arguments():
    import threading

    lock = threading.Lock()

    def objective(trial):
        with lock:
            return 0.0

    study = hs.create_study()
    with pytest.raises(TypeError, match="executor='thread'"):
        study.optimize(objective, n_trials=2, n_jobs=2)
    with pytest.raises(ValueError, match="executor"):
        study.optimize(objective, n_trials=1, n_jobs=2, executor="cluster")
    with pytest.raises(ValueError, match="retries"):
        study.optimize(objective, n_trials=1, retries=-1)
    with pytest.raises(ValueError, match="trial_timeout"):
        study.optimize(objective, n_trials=1, trial_timeout=0)
    assert study.trials == []  # nothing was started


def test_tune_in_worker_processes_with_promotion(tmp_path):
    res = hs.tune(objectives_tune_train, config={"x": hs.uniform(0, 1)}, num_samples=12, max_concurrent=2,
                  scheduler=hs.schedulers.ASHA(metric="loss", mode="min", max_t=9, grace_period=1,
                                               reduction_factor=3, variant="promotion"),
                  storage=f"sqlite:///{tmp_path}/t.db", name="t", seed=0)
    trials = res.trials
    assert len(trials) == 12
    assert not [t for t in trials if t.state in (hs.TrialState.RUNNING, hs.TrialState.PAUSED)]
    complete = [t for t in trials if t.state == hs.TrialState.COMPLETE]
    assert complete and all(max(t.intermediate_values) == 9 for t in complete)
    # promoted trials resumed from their checkpoints: steps are contiguous, none repeated
    assert all(sorted(t.intermediate_values) == list(range(1, len(t.intermediate_values) + 1)) for t in trials)
    assert len(res.results) == sum(len(t.intermediate_values) for t in trials)  # rows came back


def objectives_tune_train(config):
    ckpt = hs.get_checkpoint()
    for epoch in range((ckpt or 0) + 1, 10):
        hs.report(loss=(config["x"] - 0.3) ** 2 + 1.0 / epoch, checkpoint=epoch)


def test_pbt_clones_in_worker_processes(tmp_path):
    # The clone of a PBT trial (copy the donor's checkpoint, waiting for the donor
    # to reach this trial's step) runs in the worker process; what it needs of the
    # study (the plan, whether the donor still trains) is asked of the driver.
    pbt = hs.schedulers.PopulationBasedTraining(
        metric="score", mode="max", perturbation_interval=4,
        hyperparam_mutations={"lr": hs.uniform(0.0, 1.0)}, quantile_fraction=0.25, seed=0)
    from ..schedulers.test_pbt import trainable  # importable by the workers; no barrier there

    res = hs.tune(trainable, config={"lr": hs.grid([0.05, 0.1, 0.5, 0.55])}, scheduler=pbt,
                  max_concurrent=4, seed=0, storage_path=str(tmp_path))
    trials = res.trials
    assert [t.state for t in trials] == [hs.TrialState.COMPLETE] * 4, [t.system_attrs.get("fail_reason") for t in trials]
    clones = [e for t in trials for e in t.system_attrs.get("pbt:schedule", [])]
    assert clones and all(e["source_step"] >= e["step"] for e in clones)



def test_declarative_constraints_resample_in_worker_processes():
    """A constraint that rejects a configuration makes the parent draw again, from a
    worker process as in-process; an enqueued configuration that breaks it is
    skipped with the clear error (before: AttributeError from the worker's trial)."""
    space = hs.SearchSpace({"d_model": hs.choice([24, 32, 48, 64]), "n_heads": hs.choice([3, 4, 8, 16])},
                           constraints=[objectives.divisible])
    study = hs.create_study(sampler=hs.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"d_model": 24, "n_heads": 16})  # infeasible
    study.optimize(space.objective(objectives.ratio), n_trials=9, n_jobs=2)
    first, rest = study.trials[0], study.trials[1:]
    assert first.state == hs.TrialState.FAIL and "violates constraint" in first.fail_reason
    assert len(rest) >= 8 and all(t.state == hs.TrialState.COMPLETE for t in rest)
    assert all(t.user_attrs["config"]["d_model"] % t.user_attrs["config"]["n_heads"] == 0 for t in rest)


_ORPHAN_SCRIPT = """
import os, sys, time
import hypersearch as hs

def objective(trial):
    with open(os.path.join(sys.argv[1], f"{os.getpid()}.pid"), "w") as f:
        f.write("running")
    time.sleep(60)
    return 0.0

if __name__ == "__main__":
    hs.create_study().optimize(objective, n_trials=2, n_jobs=2)
"""


def test_worker_processes_end_when_their_parent_is_killed(tmp_path):
    """A worker process mid-objective ends when the process that started it is
    killed (SIGKILL leaves it no chance to stop them); before, it trained on to
    the end, holding its CPU or GPU while the trial was retried elsewhere."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "run.py"
    script.write_text(_ORPHAN_SCRIPT)
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path)])
    try:
        deadline = time.monotonic() + 60
        while len(list(tmp_path.glob("*.pid"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        pids = [int(p.stem) for p in tmp_path.glob("*.pid")]
        assert len(pids) == 2
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        try:  # a zombie waiting for init to reap it has ended too
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(")")[-1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 20
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in pids if alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert left == []


_UNGUARDED_SCRIPT = """
import os
import hypersearch as hs

print("top-level", os.getpid(), flush=True)
OFFSET = 3.0

class Diverged(Exception):
    pass

def objective(trial):
    x = trial.suggest_float("x", 0, 1)
    if trial.number == 0:
        raise Diverged("lr too high")
    return x + OFFSET

study = hs.create_study(storage="sqlite:///" + os.path.join(os.path.dirname(__file__), "s.db"), study_name="s")
study.optimize(objective, n_trials=6, n_jobs=2, catch=(Diverged,))
print("states", sorted(t.state.name for t in study.trials), min(t.value for t in study.trials if t.value), flush=True)
"""


def test_a_script_without_a_main_guard_runs_with_worker_processes(tmp_path):
    """Worker processes do not import the script that started them: a script
    without ``if __name__ == "__main__":`` works as with Optuna's threads, and its
    top-level code (data loading, study creation) runs once, not once per worker."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(_UNGUARDED_SCRIPT)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert sum(line.startswith("top-level") for line in lines) == 1
    assert lines[-1].startswith("states ['COMPLETE', 'COMPLETE', 'COMPLETE', 'COMPLETE', 'COMPLETE', 'FAIL']")
    assert float(lines[-1].split()[-1]) >= 3.0


_PICKLES_SCRIPT = """
import os, pickle, sys
import hypersearch as hs

class Net:  # a class of the training script, saved with pickle
    def __init__(self, w):
        self.w = w

def objective(trial):
    with open(os.environ["CKPT"], "rb") as f:
        net = pickle.load(f)
    return (trial.suggest_float("x", 0, 1) - net.w) ** 2

GUARDED = sys.argv[2] == "guarded"
if GUARDED:
    if __name__ == "__main__":
        with open(os.environ["CKPT"], "wb") as f:
            pickle.dump(Net(0.3), f)
        study = hs.create_study()
        study.optimize(objective, n_trials=2, n_jobs=2)
        print("states", sorted(t.state.name for t in study.trials))
else:
    if __name__ == "__main__":
        with open(os.environ["CKPT"], "wb") as f:
            pickle.dump(Net(0.3), f)
    study = hs.create_study()
    study.optimize(objective, n_trials=2, n_jobs=2, catch=(Exception,))
    if __name__ == "__main__":
        print("reasons", [t.system_attrs.get("fail_reason", "") for t in study.trials])
"""


def test_workers_import_the_script_when_an_object_needs_its_classes(tmp_path):
    """A worker imports the script (as multiprocessing would, without running its
    main block) the first time unpickling asks for one of its classes; a script
    without a main guard that would start an optimisation there gets an error
    saying so instead of a nested run."""
    import os
    import subprocess
    import sys

    script = tmp_path / "pickles.py"
    script.write_text(_PICKLES_SCRIPT)
    env = {**os.environ, "CKPT": str(tmp_path / "net.pkl")}
    out = subprocess.run([sys.executable, str(script), "x", "guarded"], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("states ['COMPLETE', 'COMPLETE']")
    out = subprocess.run([sys.executable, str(script), "x", "unguarded"], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "put that code under `if __name__ == \"__main__\":`" in out.stdout
