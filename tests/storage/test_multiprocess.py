"""Eight processes share one study through SQLite or PostgreSQL: every trial
exactly once, numbers dense, each enqueued trial claimed once."""

from __future__ import annotations

import multiprocessing as mp

import pytest

import hypersearch as hs

N_PROCS = 8
PER_PROC = 25


def _objective(trial):
    x = trial.suggest_float("x", -5, 5)
    trial.report(x, 0)
    return x * x


def _worker(url: str, name: str, seed: int) -> None:
    study = hs.load_study(name, url, sampler=hs.samplers.RandomSampler(seed=seed))
    study.optimize(_objective, n_trials=PER_PROC)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_eight_processes_share_a_study(backend, tmp_path, request):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/shared.db"
    else:
        url = request.getfixturevalue("pg_url")
    name = f"shared-{backend}-{tmp_path.name}"
    study = hs.create_study(name, url)
    enqueued = 20
    for i in range(enqueued):
        study.enqueue_trial({"x": i / 10}, user_attrs={"tag": i})
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(url, name, s)) for s in range(N_PROCS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0
    trials = hs.load_study(name, url).trials
    total = N_PROCS * PER_PROC
    assert len(trials) == total
    assert [t.number for t in trials] == list(range(total))  # unique and dense
    assert all(t.state == hs.TrialState.COMPLETE for t in trials)
    assert all(t.intermediate_values == {0: t.params["x"]} for t in trials)
    tags = sorted(t.user_attrs["tag"] for t in trials if "tag" in t.user_attrs)
    assert tags == list(range(enqueued))  # each enqueued trial claimed exactly once
