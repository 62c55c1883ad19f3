"""Objectives for the execution tests, importable by worker processes."""

from __future__ import annotations

import os
import time

import hypersearch as hs


def cpu_bound(trial):
    x = trial.suggest_float("x", -2, 2)
    n = trial.suggest_int("n", 1, 3)
    total = 0.0
    for i in range(200_000):  # pure Python: holds the GIL
        total += (i % 7) * 1e-9
    trial.set_user_attr("pid", os.getpid())
    return (x - 0.5) ** 2 + n + total * 0


def with_reports(trial):
    x = trial.suggest_float("x", 0, 1)
    for step in range(5):
        trial.report(x + 1.0 / (step + 1), step)
        if trial.should_prune():
            raise hs.TrialPruned()
    return x


def raises(trial):
    trial.suggest_float("x", 0, 1)
    raise ValueError("bad x")


def sees_gpus(trial):
    trial.suggest_float("x", 0, 1)
    trial.set_user_attr("cuda", os.environ.get("CUDA_VISIBLE_DEVICES"))
    trial.set_user_attr("omp", os.environ.get("OMP_NUM_THREADS"))
    trial.set_user_attr("pid", os.getpid())
    time.sleep(0.05)
    return 0.0


def dies_once(trial):
    """Kills its own worker process in the first attempt of trial 2."""
    x = trial.suggest_float("x", 0, 1)
    if trial.number == 2:
        os.kill(os.getpid(), 9)
    return x


def sleeps(trial):
    trial.suggest_float("x", 0, 1)
    time.sleep(float(os.environ.get("HS_TEST_SLEEP", "30")))
    return 1.0


def divisible(config):
    return config["d_model"] % config["n_heads"] == 0


def ratio(config):
    return config["d_model"] / config["n_heads"]


class CodeError(Exception):
    """An exception that pickles but cannot be rebuilt (its __init__ takes two
    arguments, its args hold one message)."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(f"[{code}] {msg}")


def raises_code_error(trial):
    x = trial.suggest_float("x", 0, 1)
    if trial.number % 2 == 0:
        raise CodeError(42, "bad batch")
    return x


def _rebuild_only_in(pid: int):
    import os

    if os.getpid() != pid:
        raise ImportError("this object cannot be loaded here (as when a module is missing on a worker)")
    return _OnlyHere(pid)


class _OnlyHere:
    """An objective that unpickles only in the process that made it."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def __reduce__(self):
        return (_rebuild_only_in, (self.pid,))

    def __call__(self, trial):
        return trial.suggest_float("x", 0, 1)


def unloadable_in_workers():
    import os

    return _OnlyHere(os.getpid())


def _rebuild_slowly(seconds: float):
    import time

    time.sleep(seconds)
    return _SlowToLoad(seconds)


class _SlowToLoad:
    """An objective that takes ``seconds`` to unpickle (importing a big library,
    reading data)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __reduce__(self):
        return (_rebuild_slowly, (self.seconds,))

    def __call__(self, trial):
        import os

        trial.set_user_attr("pid", os.getpid())
        return trial.suggest_float("x", 0, 1)


def slow_to_load(seconds: float):
    return _SlowToLoad(seconds)
