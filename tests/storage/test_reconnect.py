"""A dropped database connection or a restarted server is retried: the study
goes on, and no completed result is lost or recorded twice."""

from __future__ import annotations

import threading

import pytest

import hypersearch as hs
from hypersearch.exceptions import StorageError

pytestmark = pytest.mark.postgres


def _kill_connections(url: str) -> int:
    import psycopg

    db = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (db,),
        ).fetchall()
    return len(rows)


def test_postgres_connections_killed_mid_study(pg_url):
    from hypersearch.storage.sql import SQLStorage

    storage = SQLStorage(pg_url)
    study = hs.create_study("reconnect", storage, sampler=hs.samplers.RandomSampler(seed=0))
    killed = []

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        trial.report(x, 0)
        if trial.number in (5, 12, 13):  # the server drops every connection mid-trial
            killed.append(_kill_connections(pg_url))
        trial.report(x / 2, 1)
        return x

    study.optimize(objective, n_trials=20)
    assert sum(killed) >= 3  # connections were really terminated
    again = hs.load_study("reconnect", SQLStorage(pg_url))
    trials = again.trials
    assert [t.number for t in trials] == list(range(20))
    assert all(t.state == hs.TrialState.COMPLETE for t in trials)
    assert all(t.intermediate_values == {0: t.value, 1: t.value / 2} for t in trials)


def test_connections_killed_while_workers_write(pg_url):
    """Four threads finish trials while every connection is killed repeatedly."""
    from hypersearch.storage.sql import SQLStorage

    storage = SQLStorage(pg_url)
    study = hs.create_study("storm", storage, sampler=hs.samplers.RandomSampler(seed=1))
    stop = threading.Event()

    def storm():
        while not stop.wait(0.05):
            _kill_connections(pg_url)

    th = threading.Thread(target=storm)
    th.start()
    try:
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=60, n_jobs=4, executor="thread")
    finally:
        stop.set()
        th.join()
    trials = hs.load_study("storm", SQLStorage(pg_url)).trials
    assert len(trials) >= 60
    complete = [t for t in trials if t.state == hs.TrialState.COMPLETE]
    assert len(complete) == 60
    assert len({t.number for t in trials}) == len(trials)


def test_unreachable_server_gives_a_clear_error_after_the_retry_window():
    from hypersearch.storage.sql import SQLStorage

    with pytest.raises(StorageError, match="hs_nowhere|connect|refused|failed"):
        SQLStorage("postgresql://postgres@127.0.0.1:1/hs_nowhere", retry_timeout=0.3).get_study("x")


def _restart_command() -> list[str] | None:
    import os
    import shutil

    if shutil.which("pg_ctlcluster") is None or os.geteuid() != 0 or not os.path.isdir("/etc/postgresql"):
        return None
    versions = sorted(os.listdir("/etc/postgresql"))
    if not versions:
        return None
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart"]


def test_postgres_server_restarted_mid_study(pg_url):
    """The server process itself restarts (every connection and the pool die)."""
    import subprocess

    cmd = _restart_command()
    if cmd is None:
        pytest.skip("restarting the PostgreSQL server needs pg_ctlcluster and root (a local Debian cluster)")
    from hypersearch.storage.sql import SQLStorage

    storage = SQLStorage(pg_url)
    study = hs.create_study("restart", storage, sampler=hs.samplers.RandomSampler(seed=0))
    restarted = []

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 3:
            subprocess.run(cmd, check=True, capture_output=True, timeout=120)
            restarted.append(True)
        trial.report(x, 0)
        return x

    study.optimize(objective, n_trials=8)
    assert restarted
    trials = hs.load_study("restart", SQLStorage(pg_url)).trials
    assert [t.state for t in trials] == [hs.TrialState.COMPLETE] * 8
    assert [t.number for t in trials] == list(range(8))
