"""SQL-specific guarantees: schema versions, JSON-only rows, forked workers."""

from __future__ import annotations

import json
import multiprocessing as mp

import pytest
import sqlalchemy as sa

import hypersearch as hs
from hypersearch.exceptions import SchemaVersionError
from hypersearch.storage.sql import SCHEMA_VERSION, SQLStorage


def test_schema_version_is_recorded_and_checked(tmp_path):
    url = f"sqlite:///{tmp_path}/v.db"
    st = SQLStorage(url)
    with st.engine.begin() as conn:
        assert conn.execute(sa.text("SELECT schema_version FROM hs_version_info")).scalar_one() == SCHEMA_VERSION
        conn.execute(sa.text("UPDATE hs_version_info SET schema_version = 999, library_version = '9.9'"))
    st.close()
    with pytest.raises(SchemaVersionError, match=r"schema version 999 \(written by hypersearch 9.9\)"):
        SQLStorage(url)


def test_a_schema_1_postgres_database_is_migrated_to_64_bit_steps(pg_url):
    """Schema 1 stored report steps as 32-bit integers on PostgreSQL: a step counted
    in samples or tokens (2**31 and more) failed there.  Opening such a database
    migrates it in place; what it holds stays, and large steps are stored."""
    import psycopg

    admin = pg_url.rsplit("/", 1)[0] + "/postgres"
    name = pg_url.rsplit("/", 1)[1] + "_v1"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_url.rsplit("/", 1)[0] + "/" + name
    try:
        st = SQLStorage(url)
        with st.engine.begin() as conn:  # the layout schema 1 had
            conn.execute(sa.text("ALTER TABLE hs_trial_intermediate ALTER COLUMN step TYPE INTEGER"))
            conn.execute(sa.text("UPDATE hs_version_info SET schema_version = 1"))
        study = hs.create_study("old", st)
        t = study.ask()
        t.report(0.5, 3)
        with pytest.raises(Exception, match="out of range"):
            t.report(0.25, 2**31)
        t.report(0.125, 4)  # the failed report left nothing behind
        study.tell(t, 1.0)
        st.close()

        st = SQLStorage(url)  # opening migrates
        with st.engine.begin() as conn:
            assert conn.execute(sa.text("SELECT schema_version FROM hs_version_info")).scalar_one() == SCHEMA_VERSION
        study = hs.load_study("old", st)
        assert study.trials[0].intermediate_values == {3: 0.5, 4: 0.125}
        t = study.ask()
        t.report(1.0, 2**31)
        t.report(2.0, 2**63 - 1)
        study.tell(t, 1.0)
        assert hs.load_study("old", st).trials[1].intermediate_values == {2**31: 1.0, 2**63 - 1: 2.0}
        st.close()
    finally:
        from hypersearch.storage import _cache

        for key, cached in list(_cache.items()):
            if name in key:
                cached.close()
                _cache.pop(key, None)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_foreign_tables_without_version_are_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/f.db"
    eng = sa.create_engine(url)
    with eng.begin() as conn:
        conn.execute(sa.text("CREATE TABLE hs_studies (id INTEGER PRIMARY KEY)"))
    eng.dispose()
    with pytest.raises(SchemaVersionError, match="no schema version"):
        SQLStorage(url)


def test_rows_are_plain_json(tmp_path):
    url = f"sqlite:///{tmp_path}/j.db"
    study = hs.create_study("j", url)
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + len(t.suggest_categorical("c", ["a", "bb"])), n_trials=3)
    eng = sa.create_engine(url)
    with eng.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT params_json, distributions_json, values_json, user_attrs_json FROM hs_trials")
        ).all()
    eng.dispose()
    for row in rows:
        for text in row:
            json.loads(text)  # every stored blob is JSON text, never pickle
        assert set(json.loads(row[0])) == {"x", "c"}


def _forked_child(url: str, q) -> None:
    study = hs.load_study("fork", url)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    q.put(len(study.trials))


@pytest.mark.skipif(not hasattr(mp, "get_context") or "fork" not in mp.get_all_start_methods(), reason="no fork")
def test_forked_process_gets_its_own_connections(pg_url):
    study = hs.create_study("fork", pg_url, load_if_exists=True)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)  # parent's pool has connections
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_forked_child, args=(pg_url, q))
    p.start()
    p.join(60)
    assert p.exitcode == 0 and q.get(timeout=5) >= 7
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)  # parent still works
    assert len(study.trials) >= 9


def test_a_replayed_failure_with_retry_queues_the_retry_once(tmp_path, monkeypatch):
    """A ``write_trial(state=FAIL, retry=...)`` replayed after a dropped connection
    returns the retry its first attempt queued; when a reaper failed the trial first
    without queueing a retry, the replay queues it (the retry is never lost)."""
    import datetime as dt

    from hypersearch.space.distributions import FloatDistribution
    from hypersearch.storage import sql as sqlmod
    from hypersearch.trial import TrialState

    st = SQLStorage(f"sqlite:///{tmp_path}/r.db")
    sid = st.create_study("s", [hs.StudyDirection.MINIMIZE]).study_id
    retry = {"retry_of": 0, "retry": 1, "max_retries": 1}
    dist = {"x": FloatDistribution(0, 1)}
    a, b = st.start_trial(sid), st.start_trial(sid)
    for t in (a, b):
        st.write_trial(t.trial_id, params={"x": 0.5}, distributions=dist)
    first = st.write_trial(a.trial_id, state=TrialState.FAIL, retry=retry)  # committed, then "dropped"
    st.fail_stale_trials(sid, dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1), retries=0)  # reaps b
    assert "requeued_as" not in st.get_trial(sid, b.number).system_attrs
    monkeypatch.setattr(sqlmod._retry_state, "active", True)  # what the retry wrapper sets on a replay
    assert st.write_trial(a.trial_id, state=TrialState.FAIL, retry=retry) == first  # nothing new
    queued = st.write_trial(b.trial_id, state=TrialState.FAIL, retry={**retry, "retry_of": b.number})
    assert st.get_trial(sid, b.number).system_attrs["requeued_as"] == queued
    assert st.get_trial(sid, queued).state == TrialState.WAITING
    assert st.count_trials(sid, [TrialState.WAITING]) == 2  # one retry each, not three


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_writes_replayed_after_a_lost_commit_acknowledgement_change_nothing(backend, tmp_path, request):
    """The server committed but the connection dropped before the client heard it:
    the storage retries the operation.  A report's values are not inserted twice
    (before: a duplicate-key error ended optimize), and a resume that went through
    returns the trial instead of leaving it RUNNING with nobody running it."""
    import sqlite3

    import psycopg

    if backend == "sqlite":
        url, error = f"sqlite:///{tmp_path}/ack.db", sqlite3.OperationalError("database is locked")
    else:
        url, error = request.getfixturevalue("pg_url"), psycopg.OperationalError("server closed the connection")
    st = SQLStorage(url)
    study = hs.create_study(f"ack-{backend}", st)
    dialect = st.engine.dialect
    real = dialect.do_commit
    armed = {"on": False}

    def do_commit(dbapi_conn):
        real(dbapi_conn)
        if armed["on"]:
            armed["on"] = False
            raise error

    dialect.do_commit = do_commit
    try:
        t = study.ask()
        t.suggest_float("x", 0, 1)
        t.report(1.0, 1)
        armed["on"] = True
        t.report(2.0, 2)  # committed, acknowledgement lost, replayed
        study.tell(t, 2.0)
        assert study.trials[0].intermediate_values == {1: 1.0, 2: 2.0}
        p = study.ask()
        p.report(1.0, 1)
        study._pause(p)
        armed["on"] = True
        resumed = study.resume_trial(p.number)
        assert resumed is not None and resumed.number == p.number
    finally:
        dialect.do_commit = real
        st.close()


def test_delete_study_while_a_worker_writes(storage_url):
    """Deleting a study that a worker is writing to succeeds, and the worker learns
    that its study is gone (before, on PostgreSQL, a report slipped in between the
    deletes and the whole delete failed with a foreign-key error)."""
    import threading

    if not isinstance(storage_url, str):
        pytest.skip("the in-memory storage has one lock for everything")
    hs.create_study("busy", storage_url)
    stopped: list[BaseException] = []
    running = threading.Event()

    def writer():
        study = hs.load_study("busy", storage_url, sampler=hs.samplers.RandomSampler(seed=0))
        try:
            while True:
                t = study.ask()
                t.suggest_float("x", 0, 1)
                for step in range(3):
                    t.report(0.1 * step, step)
                running.set()
                study.tell(t, 1.0)
        except BaseException as e:  # noqa: BLE001 - what stopped it is the point
            stopped.append(e)
            running.set()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    assert running.wait(30)
    for _ in range(20):  # let it write a while
        if stopped:
            break
        thread.join(0.05)
    hs.delete_study("busy", storage_url)
    thread.join(30)
    assert not thread.is_alive()
    assert len(stopped) == 1 and isinstance(stopped[0], hs.exceptions.StudyNotFoundError), stopped
    assert hs.list_studies(storage_url) == []
