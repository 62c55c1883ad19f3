"""Relational storage through SQLAlchemy: SQLite files and PostgreSQL, same code.

Design notes
------------
* **Coarse transactions.**  Starting a trial, writing a trial step and finishing
  a trial are one transaction each, of two to four statements.
* **Dense, unique trial numbers across processes.**  A study row carries the
  next trial number; creating a trial increments it with
  ``UPDATE ... RETURNING``, which holds the row lock until commit, so numbers
  are handed out in commit order without gaps or duplicates.  Enqueued
  (WAITING) trials are claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` on
  PostgreSQL; on SQLite every write transaction starts with
  ``BEGIN IMMEDIATE`` which serialises writers.
* **Incremental reads.**  :meth:`SQLStorage.get_trials` selects by
  ``number > watermark`` (plus an explicit list of unfinished numbers) on the
  ``(study_id, number)`` index, so a reader that keeps a study's history pays
  for what changed, not for the size of the study.
* **No pickle.**  Parameters, distributions, values and attributes are JSON
  text; the first objective value is also kept as a float column for fast
  best-value queries.
* **Schema version.**  Recorded in ``hs_version_info``; opening a database of
  another version raises :class:`~hypersearch.exceptions.SchemaVersionError`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from hypersearch.exceptions import (
    DuplicatedStudyError,
    SchemaVersionError,
    StorageError,
    StudyNotFoundError,
    TrialStateError,
)
from hypersearch.space.distributions import BaseDistribution
from hypersearch.storage._common import (
    as_utc,
    dists_from_json,
    dists_to_json,
    dumps,
    loads,
    nan_to_none,
    none_to_nan,
    retry_attrs,
    stale_reason,
)
from hypersearch.storage.base import _MAX_NUMBER, BaseStorage, StudyInfo, StudySummary, now
from hypersearch.study._direction import StudyDirection
from hypersearch.trial._frozen import FrozenTrial, constraints_satisfied
from hypersearch.trial._state import TrialState

SCHEMA_VERSION = 3
# Schema history (each step is migrated in place when a database is opened):
#   1: first release
#   2: report steps are 64-bit (BIGINT): steps counted in samples or tokens pass 2**31
#   3: SQLite never reuses study and trial ids (AUTOINCREMENT): a worker still
#      running a deleted study's trial can no longer write into a newer study

_meta = sa.MetaData()

_version = sa.Table(
    "hs_version_info",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("library_version", sa.String(64), nullable=False),
)

_studies = sa.Table(
    "hs_studies",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(512), nullable=False, unique=True),
    sa.Column("directions", sa.Text, nullable=False),
    sa.Column("next_number", sa.Integer, nullable=False, default=0),
    sa.Column("datetime_start", sa.DateTime(timezone=True), nullable=True),
    sqlite_autoincrement=True,
)

_study_attrs = sa.Table(
    "hs_study_attrs",
    _meta,
    sa.Column("study_id", sa.Integer, sa.ForeignKey("hs_studies.id"), primary_key=True),
    sa.Column("kind", sa.SmallInteger, primary_key=True),  # 0 user, 1 system
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

_trials = sa.Table(
    "hs_trials",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("study_id", sa.Integer, sa.ForeignKey("hs_studies.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("state", sa.SmallInteger, nullable=False),
    sa.Column("value0", sa.Float, nullable=True),
    sa.Column("values_json", sa.Text, nullable=True),
    sa.Column("params_json", sa.Text, nullable=False, default="{}"),
    sa.Column("distributions_json", sa.Text, nullable=False, default="{}"),
    sa.Column("user_attrs_json", sa.Text, nullable=False, default="{}"),
    sa.Column("system_attrs_json", sa.Text, nullable=False, default="{}"),
    sa.Column("datetime_start", sa.DateTime(timezone=True), nullable=True),
    sa.Column("datetime_complete", sa.DateTime(timezone=True), nullable=True),
    sa.Column("heartbeat", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("study_id", "number", name="uq_hs_trials_study_number"),
    sa.Index("ix_hs_trials_study_state_number", "study_id", "state", "number"),
    sqlite_autoincrement=True,
)

_intermediate = sa.Table(
    "hs_trial_intermediate",
    _meta,
    sa.Column("trial_id", sa.Integer, sa.ForeignKey("hs_trials.id"), primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("value", sa.Float, nullable=True),  # NULL encodes NaN (SQLite cannot store NaN)
)


def _steps_to_bigint(conn: Connection) -> None:
    """Schema 1 -> 2: 64-bit report steps.  SQLite's INTEGER is 64-bit already."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(sa.text("ALTER TABLE hs_trial_intermediate ALTER COLUMN step TYPE BIGINT"))
    elif dialect in ("mysql", "mariadb"):
        conn.execute(sa.text("ALTER TABLE hs_trial_intermediate MODIFY step BIGINT NOT NULL"))


def _sqlite_autoincrement(conn: Connection) -> None:
    """Schema 2 -> 3: SQLite tables of studies and trials rebuilt with AUTOINCREMENT
    (without it SQLite hands a deleted last row's id to the next insert).  Other
    databases never reuse ids.  The rows keep their ids.  Foreign keys stay on (they
    cannot be switched off inside the transaction) but are deferred: dropping a
    table counts its children as violations, and putting the same rows back into
    the rebuilt table settles them before the commit."""
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
    for table in (_studies, _trials):
        cols = ", ".join(c.name for c in table.columns)
        conn.exec_driver_sql(f"CREATE TEMP TABLE {table.name}_copy AS SELECT {cols} FROM {table.name}")
        conn.exec_driver_sql(f"DROP TABLE {table.name}")
        table.create(conn)  # with its indexes
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {table.name}_copy")
        conn.exec_driver_sql(f"DROP TABLE {table.name}_copy")


# schema version -> the migration from it to the next version, run in the
# transaction that opens the database (under its lock)
_MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _steps_to_bigint, 2: _sqlite_autoincrement}


# -- statements of the per-trial hot path, built once (building a SQLAlchemy
# statement costs more than executing it on SQLite) --------------------------------
_B = sa.bindparam
_RUNNING = int(TrialState.RUNNING)
_WAITING = int(TrialState.WAITING)

_SELECT_WAITING = (
    sa.select(_trials)
    .where(_trials.c.study_id == _B("b_sid"), _trials.c.state == _WAITING)
    .order_by(_trials.c.number)
    .limit(1)
    .with_for_update(skip_locked=True)
)
_CLAIM_WAITING = (
    _trials.update()
    .where(_trials.c.id == _B("b_tid"))
    .values(state=_RUNNING, datetime_start=_B("b_t0"), heartbeat=_B("b_t0"))
)
_NEXT_NUMBER = (
    _studies.update()
    .where(_studies.c.id == _B("b_sid"))
    .values(next_number=_studies.c.next_number + 1)
    .returning(_studies.c.next_number)
)
_INSERT_RUNNING = (
    _trials.insert()
    .values(
        study_id=_B("b_sid"),
        number=_B("b_num"),
        state=_RUNNING,
        params_json="{}",
        distributions_json="{}",
        user_attrs_json="{}",
        system_attrs_json="{}",
        datetime_start=_B("b_t0"),
        heartbeat=_B("b_t0"),
    )
    .returning(_trials.c.id)
)
_INSERT_INTERMEDIATE = _intermediate.insert()


def _insert_intermediate(conn: Connection, trial_id: int, values: dict[int, float] | None) -> None:
    if values:
        stmt = _INSERT_INTERMEDIATE
        if getattr(_retry_state, "active", False):
            # A write retried after a dropped connection may have committed already
            # (only its acknowledgement was lost): rows it stored are kept, not
            # inserted twice (a trial's step is reported once; see Trial.report).
            stmt = _insert_ignoring_duplicates(conn)
        conn.execute(
            stmt,
            [
                {"trial_id": trial_id, "step": int(s), "value": nan_to_none(float(v))}
                for s, v in values.items()
            ],
        )


def _insert_ignoring_duplicates(conn: Connection) -> Any:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect in ("mysql", "mariadb"):
        return _intermediate.insert().prefix_with("IGNORE")
    else:
        return _INSERT_INTERMEDIATE
    return insert(_intermediate).on_conflict_do_nothing()

_update_cache: dict[frozenset[str], Any] = {}
_select_cache: dict[tuple[bool, bool], tuple[Any, Any]] = {}


def _update_running(columns: frozenset[str]):
    stmt = _update_cache.get(columns)
    if stmt is None:
        stmt = (
            _trials.update()
            .where(_trials.c.id == _B("b_tid"), _trials.c.state == _RUNNING)
            .values({c: _B(f"b_{c}") for c in sorted(columns)})
        )
        _update_cache[columns] = stmt
    return stmt


def _select_trials(with_numbers: bool, with_states: bool):
    """The statements reading trials numbered above ``b_after`` plus those numbered
    ``b_nums``, and their intermediate values.

    The two sets are read by two index range scans joined with UNION ALL rather
    than one ``number > :after OR number IN (...)`` condition: SQLite cannot use
    the (study_id, number) index for such an OR and scanned the whole study on
    every ask (24 ms at 100,000 trials, inside the write transaction).
    """
    key = (with_numbers, with_states)
    got = _select_cache.get(key)
    if got is None:
        base = [_trials.c.study_id == _B("b_sid")]
        if with_states:
            base.append(_trials.c.state.in_(_B("b_states", expanding=True)))
        parts = [[*base, _trials.c.number > _B("b_after")]]
        if with_numbers:
            # _read passes only numbers <= b_after, so the two parts never overlap (a
            # "number <= :after" term here would make SQLite scan that range instead)
            parts.append([*base, _trials.c.number.in_(_B("b_nums", expanding=True))])

        def inter_of(where):
            return (
                sa.select(_intermediate.c.trial_id, _intermediate.c.step, _intermediate.c.value)
                .join(_trials, _trials.c.id == _intermediate.c.trial_id)
                .where(*where)
            )

        if len(parts) == 1:
            rows = sa.select(_trials).where(*parts[0]).order_by(_trials.c.number)
            inter = inter_of(parts[0]).order_by(_intermediate.c.trial_id, _intermediate.c.step)
        else:
            u = sa.union_all(*(sa.select(_trials).where(*w) for w in parts)).subquery()
            rows = sa.select(u).order_by(u.c.number)
            ui = sa.union_all(*(inter_of(w) for w in parts)).subquery()
            inter = sa.select(ui).order_by(ui.c.trial_id, ui.c.step)
        got = (rows, inter)
        _select_cache[key] = got
    return got


_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # Pooled connections inherited from the parent must not be used by the child
    # (two processes on one socket corrupt the protocol): drop them, unclosed.
    for engine in list(_engines):
        engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def normalize_url(url: str) -> str:
    """Pick an installed PostgreSQL driver for plain ``postgresql://`` URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        try:
            import psycopg  # noqa: F401

            return "postgresql+psycopg://" + url[len("postgresql://") :]
        except ImportError:
            try:
                import psycopg2  # noqa: F401
            except ImportError:
                raise ImportError(
                    "PostgreSQL storage needs a driver: pip install 'hypersearch[postgres]'"
                ) from None
    return url


def _utc(d: _dt.datetime | None) -> _dt.datetime | None:
    if d is not None and d.tzinfo is None:
        return d.replace(tzinfo=_dt.timezone.utc)
    return d


class SQLStorage(BaseStorage):
    """Storage in a relational database reached through SQLAlchemy.

    Args:
        url: A SQLAlchemy URL, e.g. ``sqlite:///study.db`` or
            ``postgresql://user@host/db``.
        engine_kwargs: Extra arguments for :func:`sqlalchemy.create_engine`.
        retry_timeout: Seconds during which an operation whose connection dropped
            (a database restart, a network cut, a locked SQLite file) is retried
            with backoff before :class:`~hypersearch.exceptions.StorageError` is raised.
    """

    def __init__(
        self, url: str, engine_kwargs: dict[str, Any] | None = None, *, retry_timeout: float = 60.0
    ) -> None:
        self.url = url
        self.retry_timeout = float(retry_timeout)
        real_url = normalize_url(url)
        try:  # what messages show: never the password
            self._shown_url = sa.engine.make_url(url).render_as_string(hide_password=True)
        except Exception:
            self._shown_url = url.split("@")[-1]
        self._sqlite = real_url.startswith("sqlite")
        # A file cannot drop a connection; a server can (checked on checkout).
        kwargs: dict[str, Any] = {"pool_pre_ping": not self._sqlite}
        if self._sqlite:
            kwargs["connect_args"] = {"timeout": 120, "check_same_thread": False}
            if real_url in ("sqlite://", "sqlite:///:memory:"):
                kwargs["poolclass"] = sa.pool.StaticPool
        kwargs.update(engine_kwargs or {})
        self.engine: Engine = sa.create_engine(real_url, **kwargs)
        _engines.add(self.engine)
        if self._sqlite:
            self._install_sqlite_hooks(self.engine)
        self._init_schema()

    # -- connection handling -----------------------------------------------------
    @staticmethod
    def _install_sqlite_hooks(engine: Engine) -> None:
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # pragma: no cover - trivial
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            if conn.get_execution_options().get("hs_write", True):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if self._sqlite:
                conn = conn.execution_options(hs_write=write)
            with conn.begin():
                yield conn

    def _init_schema(self) -> None:
        from hypersearch import __version__

        with self._tx() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": 74_211_901})
            insp = sa.inspect(conn)
            if not insp.has_table("hs_version_info"):
                existing = [t for t in _meta.sorted_tables if insp.has_table(t.name)]
                if existing:
                    raise SchemaVersionError(
                        f"{self._shown_url}: has hypersearch tables but no schema version; "
                        "refusing to guess its layout"
                    )
                _meta.create_all(conn)
                conn.execute(
                    _version.insert().values(
                        id=1, schema_version=SCHEMA_VERSION, library_version=__version__
                    )
                )
                return
            row = conn.execute(sa.select(_version.c.schema_version, _version.c.library_version)).first()
            if row is not None and row.schema_version < SCHEMA_VERSION:
                for version in range(row.schema_version, SCHEMA_VERSION):
                    _MIGRATIONS[version](conn)
                conn.execute(
                    _version.update().values(schema_version=SCHEMA_VERSION, library_version=__version__)
                )
                _log.info(
                    "%s: schema migrated from version %d to %d",
                    self._shown_url, row.schema_version, SCHEMA_VERSION,
                )
                return
            if row is None or row.schema_version != SCHEMA_VERSION:
                found = None if row is None else row.schema_version
                written_by = "" if row is None else f" (written by hypersearch {row.library_version})"
                raise SchemaVersionError(
                    f"{self._shown_url}: database schema version {found}{written_by} is not the "
                    f"version {SCHEMA_VERSION} this hypersearch {__version__} uses; open it with "
                    "a matching hypersearch version"
                )

    def close(self) -> None:
        self.engine.dispose()

    # -- studies -------------------------------------------------------------------
    def create_study(self, name: str, directions: Sequence[StudyDirection]) -> StudyInfo:
        start = now()
        try:
            with self._tx() as conn:
                r = conn.execute(
                    _studies.insert()
                    .values(
                        name=name,
                        directions=dumps([d.name for d in directions]),
                        next_number=0,
                        datetime_start=start,
                    )
                    .returning(_studies.c.id)
                )
                sid = int(r.scalar_one())
        except sa.exc.IntegrityError:
            raise DuplicatedStudyError(f"a study named {name!r} already exists") from None
        return StudyInfo(sid, name, list(directions), {}, {}, start)

    def get_study(self, name: str) -> StudyInfo:
        with self._tx(write=False) as conn:
            row = conn.execute(sa.select(_studies).where(_studies.c.name == name)).first()
            if row is None:
                raise StudyNotFoundError(f"no study named {name!r} in {self._shown_url}")
            user, system = self._attrs(conn, row.id)
        return StudyInfo(
            int(row.id),
            row.name,
            [StudyDirection[d] for d in loads(row.directions)],
            user,
            system,
            _utc(row.datetime_start),
        )

    def delete_study(self, study_id: int) -> None:
        with self._tx() as conn:
            # Lock the study and its trials first: a worker that starts a trial, or
            # writes a report, meanwhile waits and then finds the study gone, instead
            # of slipping a row in between these deletes (a foreign-key error that
            # undid the whole delete).  SQLite's write transaction excludes it anyway.
            conn.execute(sa.select(_studies.c.id).where(_studies.c.id == study_id).with_for_update())
            conn.execute(sa.select(_trials.c.id).where(_trials.c.study_id == study_id).with_for_update())
            ids = sa.select(_trials.c.id).where(_trials.c.study_id == study_id).scalar_subquery()
            conn.execute(_intermediate.delete().where(_intermediate.c.trial_id.in_(ids)))
            conn.execute(_trials.delete().where(_trials.c.study_id == study_id))
            conn.execute(_study_attrs.delete().where(_study_attrs.c.study_id == study_id))
            r = conn.execute(_studies.delete().where(_studies.c.id == study_id))
            if r.rowcount == 0:
                raise StudyNotFoundError(f"no study with id {study_id}")

    def list_studies(self) -> list[StudySummary]:
        with self._tx(write=False) as conn:
            studies = conn.execute(sa.select(_studies).order_by(_studies.c.id)).all()
            counts = conn.execute(
                sa.select(_trials.c.study_id, _trials.c.state, sa.func.count())
                .group_by(_trials.c.study_id, _trials.c.state)
            ).all()
            # Trials that recorded constraints are judged one by one (an infeasible
            # trial is never a study's best); the others by aggregate.
            constrained = _trials.c.system_attrs_json.like('%"constraints"%')
            complete = _trials.c.state == int(TrialState.COMPLETE)
            extremes = conn.execute(
                sa.select(
                    _trials.c.study_id, sa.func.min(_trials.c.value0), sa.func.max(_trials.c.value0)
                )
                .where(complete, sa.not_(constrained))
                .group_by(_trials.c.study_id)
            ).all()
            checked = conn.execute(
                sa.select(_trials.c.study_id, _trials.c.value0, _trials.c.system_attrs_json).where(
                    complete, constrained
                )
            ).all()
        by_study: dict[int, dict[str, int]] = {}
        for sid, state, c in counts:
            by_study.setdefault(sid, {})[TrialState(state).name] = int(c)
        ext: dict[int, tuple[float | None, float | None]] = {sid: (lo, hi) for sid, lo, hi in extremes}
        for sid, v, attrs in checked:
            if v is None or not constraints_satisfied(loads(attrs).get("constraints")):
                continue
            lo, hi = ext.get(sid, (None, None))
            ext[sid] = (v if lo is None else min(lo, v), v if hi is None else max(hi, v))
        out = []
        for row in studies:
            dirs = [StudyDirection[d] for d in loads(row.directions)]
            c = by_study.get(row.id, {})
            best = None
            if len(dirs) == 1 and row.id in ext:
                lo, hi = ext[row.id]
                v = lo if dirs[0] == StudyDirection.MINIMIZE else hi
                best = None if v is None else [float(v)]
            out.append(
                StudySummary(
                    name=row.name,
                    directions=dirs,
                    n_trials=sum(c.values()),
                    state_counts=c,
                    best_values=best,
                    datetime_start=_utc(row.datetime_start),
                    study_id=int(row.id),
                )
            )
        return out

    def _attrs(self, conn: Connection, study_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        rows = conn.execute(
            sa.select(_study_attrs.c.kind, _study_attrs.c.key, _study_attrs.c.value).where(
                _study_attrs.c.study_id == study_id
            )
        ).all()
        user: dict[str, Any] = {}
        system: dict[str, Any] = {}
        for kind, key, value in rows:
            (user if kind == 0 else system)[key] = loads(value)
        return user, system

    def set_study_attrs(self, study_id, *, user=None, system=None) -> None:
        items = [(0, k, v) for k, v in (user or {}).items()]
        items += [(1, k, v) for k, v in (system or {}).items()]
        if not items:
            return
        with self._study_must_exist(study_id), self._tx() as conn:
            conn.execute(
                _study_attrs.delete().where(
                    _study_attrs.c.study_id == study_id,
                    sa.or_(
                        *[
                            sa.and_(_study_attrs.c.kind == kind, _study_attrs.c.key == key)
                            for kind, key, _ in items
                        ]
                    ),
                )
            )
            conn.execute(
                _study_attrs.insert(),
                [
                    {"study_id": study_id, "kind": kind, "key": key, "value": dumps(value)}
                    for kind, key, value in items
                ],
            )

    def get_study_attrs(self, study_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        with self._tx(write=False) as conn:
            return self._attrs(conn, study_id)

    def setdefault_study_system_attr(self, study_id: int, key: str, value: Any) -> Any:
        where = (_study_attrs.c.study_id == study_id, _study_attrs.c.kind == 1, _study_attrs.c.key == key)
        try:
            with self._tx() as conn:
                stored = conn.execute(sa.select(_study_attrs.c.value).where(*where)).scalar()
                if stored is not None:
                    return loads(stored)
                conn.execute(_study_attrs.insert().values(study_id=study_id, kind=1, key=key, value=dumps(value)))
                return value
        except sa.exc.IntegrityError:
            pass  # another process inserted it first (or the study is gone): read theirs
        with self._tx(write=False) as conn:
            stored = conn.execute(sa.select(_study_attrs.c.value).where(*where)).scalar()
            if stored is None:
                raise StudyNotFoundError(f"no study with id {study_id} (it was deleted)")
            return loads(stored)

    @contextmanager
    def _study_must_exist(self, study_id: int) -> Iterator[None]:
        """Turn the foreign-key error of a write for a deleted study into
        :class:`StudyNotFoundError`, as every other write for it raises."""
        try:
            yield
        except sa.exc.IntegrityError:
            if self._study_gone(study_id):
                raise StudyNotFoundError(f"no study with id {study_id} (it was deleted)") from None
            raise

    def _study_gone(self, study_id: int) -> bool:
        with self._tx(write=False) as conn:
            return conn.execute(sa.select(_studies.c.id).where(_studies.c.id == study_id)).first() is None

    # -- trials --------------------------------------------------------------------
    def _next_number(self, conn: Connection, study_id: int) -> int:
        r = conn.execute(_NEXT_NUMBER, {"b_sid": study_id}).first()
        if r is None:
            raise StudyNotFoundError(f"no study with id {study_id}")
        return int(r[0]) - 1

    def _insert_trial(self, conn: Connection, study_id: int, **values: Any) -> tuple[int, int]:
        number = self._next_number(conn, study_id)
        r = conn.execute(
            _trials.insert()
            .values(study_id=study_id, number=number, **values)
            .returning(_trials.c.id)
        )
        return int(r.scalar_one()), number

    def enqueue_trial(self, study_id, params, distributions, user_attrs=None, system_attrs=None):
        with self._tx() as conn:
            _, number = self._insert_trial(
                conn,
                study_id,
                state=int(TrialState.WAITING),
                params_json=dumps(params),
                distributions_json=dists_to_json(distributions),
                user_attrs_json=dumps(user_attrs or {}),
                system_attrs_json=dumps(system_attrs or {}),
            )
        return number

    def enqueue_trials(self, study_id, items, once_key=None) -> bool:
        try:
            with self._tx() as conn:
                if once_key is not None:
                    conn.execute(
                        _study_attrs.insert().values(
                            study_id=study_id, kind=1, key=once_key, value="true"
                        )
                    )
                if items:
                    first = self._next_number(conn, study_id)
                    # reserve the whole block of numbers in one statement
                    conn.execute(
                        _studies.update()
                        .where(_studies.c.id == study_id)
                        .values(next_number=first + len(items))
                    )
                    conn.execute(
                        _trials.insert(),
                        [
                            {
                                "study_id": study_id,
                                "number": first + i,
                                "state": int(TrialState.WAITING),
                                "params_json": dumps(params),
                                "distributions_json": "{}",
                                "user_attrs_json": "{}",
                                "system_attrs_json": dumps(sys_attrs or {}),
                            }
                            for i, (params, sys_attrs) in enumerate(items)
                        ],
                    )
        except sa.exc.IntegrityError:
            if self._study_gone(study_id):
                raise StudyNotFoundError(f"no study with id {study_id} (it was deleted)") from None
            if once_key is None:
                raise
            return False
        return True

    def start_trial(self, study_id: int, waiting_only: bool = False) -> FrozenTrial | None:
        with self._tx() as conn:
            return self._start(conn, study_id, waiting_only)

    def start_trial_and_read(self, study_id, *, waiting_only=False, after_number=-1, numbers=()):
        with self._tx() as conn:
            fresh = self._read(conn, study_id, after_number, numbers, None)
            return self._start(conn, study_id, waiting_only), fresh

    def _start(self, conn: Connection, study_id: int, waiting_only: bool) -> FrozenTrial | None:
        t0 = now()
        row = conn.execute(_SELECT_WAITING, {"b_sid": study_id}).first()
        if row is not None:
            conn.execute(_CLAIM_WAITING, {"b_tid": row.id, "b_t0": t0})
            t = self._row_to_trial(row, {})
            t.state = TrialState.RUNNING
            t.datetime_start = t0
            return t
        if waiting_only:
            return None
        number = self._next_number(conn, study_id)
        trial_id = int(
            conn.execute(_INSERT_RUNNING, {"b_sid": study_id, "b_num": number, "b_t0": t0}).scalar_one()
        )
        return FrozenTrial(number=number, state=TrialState.RUNNING, datetime_start=t0, trial_id=trial_id)

    def resume_trial(self, study_id: int, number: int, system_attrs=None) -> FrozenTrial | None:
        with self._tx() as conn:
            # A conditional update: of concurrent callers exactly one changes the row.
            r = conn.execute(
                _trials.update()
                .where(
                    _trials.c.study_id == study_id,
                    _trials.c.number == number,
                    _trials.c.state == int(TrialState.PAUSED),
                )
                .values(state=_RUNNING, heartbeat=now())
            )
            if r.rowcount != 1:
                if _retry_state.active and system_attrs:
                    # Retried after a dropped connection: if our resume committed (only
                    # its acknowledgement was lost), the trial runs under our label.
                    got = self._read(conn, study_id, _MAX_NUMBER, [number], None)
                    if got and got[0].state == TrialState.RUNNING and all(
                        got[0].system_attrs.get(k) == v for k, v in dict(system_attrs).items()
                    ):
                        return got[0]
                return None
            if system_attrs:  # in the same transaction: never RUNNING under the old worker
                where = (_trials.c.study_id == study_id) & (_trials.c.number == number)
                old = conn.execute(sa.select(_trials.c.system_attrs_json).where(where)).scalar_one()
                merged = {**(loads(old) or {}), **dict(system_attrs)}
                conn.execute(_trials.update().where(where).values(system_attrs_json=dumps(merged)))
            got = self._read(conn, study_id, _MAX_NUMBER, [number], None)
        return got[0] if got else None

    def add_trial(self, study_id: int, trial: FrozenTrial) -> FrozenTrial:
        start = as_utc(trial.datetime_start) or now()
        complete = as_utc(trial.datetime_complete) or (now() if trial.state.is_finished() else None)
        with self._tx() as conn:
            trial_id, number = self._insert_trial(
                conn,
                study_id,
                state=int(trial.state),
                value0=nan_to_none(trial.values[0]) if trial.values else None,
                values_json=dumps(trial.values) if trial.values is not None else None,
                params_json=dumps(trial.params),
                distributions_json=dists_to_json(trial.distributions),
                user_attrs_json=dumps(trial.user_attrs),
                system_attrs_json=dumps(trial.system_attrs),
                datetime_start=start,
                datetime_complete=complete,
            )
            _insert_intermediate(conn, trial_id, trial.intermediate_values)
        stored = trial.copy()
        stored.number, stored.trial_id = number, trial_id
        stored.datetime_start, stored.datetime_complete = start, complete
        return stored

    def write_trial(
        self,
        trial_id: int,
        *,
        params: dict[str, Any] | None = None,
        distributions: dict[str, BaseDistribution] | None = None,
        user_attrs: dict[str, Any] | None = None,
        system_attrs: dict[str, Any] | None = None,
        intermediate: dict[int, float] | None = None,
        state: TrialState | None = None,
        values: Sequence[float] | None = None,
        retry: dict[str, Any] | None = None,
        completed_at: _dt.datetime | None = None,
    ) -> int | None:
        upd: dict[str, Any] = {}
        if params is not None:
            upd["params_json"] = dumps(params)
        if distributions is not None:
            upd["distributions_json"] = dists_to_json(distributions)
        if user_attrs is not None:
            upd["user_attrs_json"] = dumps(user_attrs)
        if system_attrs is not None:
            upd["system_attrs_json"] = dumps(system_attrs)
        if values is not None:
            vals = [float(v) for v in values]
            upd["values_json"] = dumps(vals)
            upd["value0"] = nan_to_none(vals[0]) if vals else None
        t = now()
        upd["heartbeat"] = t
        if state is not None:
            upd["state"] = int(state)
            if state.is_finished():
                upd["datetime_complete"] = completed_at or t
        stmt = _update_running(frozenset(upd))
        with self._tx() as conn:
            r = conn.execute(stmt, {"b_tid": trial_id, **{f"b_{k}": v for k, v in upd.items()}})
            if r.rowcount != 1:
                row = conn.execute(
                    sa.select(_trials.c.number, _trials.c.state).where(_trials.c.id == trial_id)
                ).first()
                if row is None:
                    raise StudyNotFoundError(f"no trial with id {trial_id}: its study was deleted")
                if _retry_state.active and state is not None and row.state == int(state):
                    # This write committed before the connection dropped and is being
                    # retried: the result (and the retry it queued) is stored once already.
                    if retry is None:
                        return None
                    attrs = conn.execute(
                        sa.select(_trials.c.system_attrs_json).where(_trials.c.id == trial_id)
                    ).scalar_one()
                    queued = (loads(attrs) or {}).get("requeued_as")
                    if queued is None:  # a reaper failed it first, without a retry: queue ours
                        queued = self._queue_retry(conn, trial_id, retry)
                    return queued
                raise TrialStateError(
                    f"trial {row.number} is {TrialState(row.state).name}, not RUNNING; "
                    "it cannot be changed"
                )
            _insert_intermediate(conn, trial_id, intermediate)
            if retry is None or state is None or not state.is_finished():
                return None
            return self._queue_retry(conn, trial_id, retry)

    def _queue_retry(self, conn: Connection, trial_id: int, retry: dict[str, Any]) -> int:
        """Queue a WAITING copy of trial ``trial_id``'s parameters with the system
        attributes ``retry`` and record its number as the trial's ``requeued_as``
        (inside the caller's transaction)."""
        row = conn.execute(
            sa.select(
                _trials.c.study_id, _trials.c.params_json, _trials.c.distributions_json,
                _trials.c.system_attrs_json,
            ).where(_trials.c.id == trial_id)
        ).one()
        _, queued = self._insert_trial(
            conn,
            row.study_id,
            state=int(TrialState.WAITING),
            params_json=row.params_json,
            distributions_json=row.distributions_json,
            user_attrs_json="{}",
            system_attrs_json=dumps(retry),
        )
        attrs = loads(row.system_attrs_json) or {}
        attrs["requeued_as"] = queued
        conn.execute(_trials.update().where(_trials.c.id == trial_id).values(system_attrs_json=dumps(attrs)))
        return queued

    def heartbeat(self, trial_ids: Sequence[int]) -> None:
        if not trial_ids:
            return
        with self._tx() as conn:
            conn.execute(
                _trials.update()
                .where(_trials.c.id.in_([int(i) for i in trial_ids]), _trials.c.state == _RUNNING)
                .values(heartbeat=now())
            )

    def fail_stale_trials(
        self, study_id: int, older_than: _dt.datetime, retries: int = 0, *, numbers=None, reason=None
    ) -> list[FrozenTrial]:
        with self._tx() as conn:
            q = sa.select(_trials.c.id, _trials.c.number, _trials.c.heartbeat, _trials.c.system_attrs_json).where(
                _trials.c.study_id == study_id,
                _trials.c.state == _RUNNING,
                sa.func.coalesce(_trials.c.heartbeat, _trials.c.datetime_start) < older_than,
            )
            if numbers is not None:
                only = sorted(set(numbers))
                if not only:
                    return []
                q = q.where(_trials.c.number.in_(only))
            rows = conn.execute(q.with_for_update(skip_locked=True)).all()
            numbers = []
            t1 = now()
            for r in rows:
                attrs = loads(r.system_attrs_json) or {}
                attrs["fail_reason"] = reason or stale_reason(_utc(r.heartbeat))
                res = conn.execute(
                    _trials.update()
                    .where(_trials.c.id == r.id, _trials.c.state == _RUNNING)
                    .values(state=int(TrialState.FAIL), datetime_complete=t1, system_attrs_json=dumps(attrs))
                )
                if res.rowcount == 1:
                    numbers.append(r.number)
            if not numbers:
                return []
            failed = self._read(conn, study_id, _MAX_NUMBER, numbers, None)
            by_number = {r.number: r.id for r in rows}
            for t in failed:  # the retries, in the same transaction as the failures
                retry = retry_attrs(t, retries)
                if retry is not None:
                    t.system_attrs["requeued_as"] = self._queue_retry(conn, by_number[t.number], retry)
            return failed

    def get_trials(
        self,
        study_id: int,
        *,
        after_number: int = -1,
        numbers: Iterable[int] = (),
        states: Iterable[TrialState] | None = None,
    ) -> list[FrozenTrial]:
        with self._tx(write=False) as conn:
            return self._read(conn, study_id, after_number, numbers, states)

    def _read(self, conn: Connection, study_id: int, after_number: int, numbers, states) -> list[FrozenTrial]:
        nums = sorted({int(n) for n in numbers if n <= after_number})
        params: dict[str, Any] = {"b_sid": study_id, "b_after": after_number}
        if nums:
            params["b_nums"] = nums
        if states is not None:
            params["b_states"] = [int(s) for s in states]
        sel_rows, sel_inter = _select_trials(bool(nums), states is not None)
        rows = conn.execute(sel_rows, params).all()
        if not rows:
            return []
        inter = conn.execute(sel_inter, params).all()
        ivs: dict[int, dict[int, float]] = {}
        for tid, step, value in inter:
            ivs.setdefault(tid, {})[int(step)] = none_to_nan(value)
        return [self._row_to_trial(r, ivs.get(r.id, {})) for r in rows]

    def get_best_trials(self, study_id: int, minimize: bool, limit: int) -> list[FrozenTrial]:
        order = _trials.c.value0.asc() if minimize else _trials.c.value0.desc()
        with self._tx(write=False) as conn:
            numbers = conn.execute(
                sa.select(_trials.c.number)
                .where(
                    _trials.c.study_id == study_id,
                    _trials.c.state == int(TrialState.COMPLETE),
                    _trials.c.value0.is_not(None),
                )
                .order_by(order, _trials.c.number.asc())
                .limit(int(limit))
            ).scalars().all()
            if not numbers:
                return []
            got = {t.number: t for t in self._read(conn, study_id, _MAX_NUMBER, numbers, None)}
        return [got[n] for n in numbers if n in got]

    def get_trial_stamps(self, study_id: int, states: Iterable[TrialState]) -> dict[int, object]:
        # every write of a trial row sets its heartbeat: the write time is the stamp
        q = sa.select(_trials.c.number, _trials.c.heartbeat, _trials.c.datetime_start).where(
            _trials.c.study_id == study_id, _trials.c.state.in_([int(s) for s in states])
        )
        with self._tx(write=False) as conn:
            return {int(r.number): (r.heartbeat, r.datetime_start) for r in conn.execute(q)}

    def count_trials(self, study_id: int, states: Iterable[TrialState] | None = None) -> int:
        q = sa.select(sa.func.count()).select_from(_trials).where(_trials.c.study_id == study_id)
        if states is not None:
            q = q.where(_trials.c.state.in_([int(s) for s in states]))
        with self._tx(write=False) as conn:
            return int(conn.execute(q).scalar_one())

    @staticmethod
    def _row_to_trial(row: Any, intermediate: dict[int, float]) -> FrozenTrial:
        values = loads(row.values_json)
        return FrozenTrial(
            number=int(row.number),
            state=TrialState(int(row.state)),
            values=[float(v) for v in values] if values is not None else None,
            params=loads(row.params_json, {}),
            distributions=dists_from_json(row.distributions_json),
            intermediate_values=intermediate,
            user_attrs=loads(row.user_attrs_json, {}),
            system_attrs=loads(row.system_attrs_json, {}),
            datetime_start=_utc(row.datetime_start),
            datetime_complete=_utc(row.datetime_complete),
            trial_id=int(row.id),
        )



# -- dropped connections ------------------------------------------------------------------

_log = logging.getLogger("hypersearch")
_retry_state = threading.local()
_retry_state.active = False
#: SQLite errors that retrying cannot fix
_PERMANENT = ("no such table", "no such column", "syntax error", "readonly database", "disk is full",
              "disk i/o error", "not a database", "malformed", "unable to open database file")


def _retryable(e: BaseException) -> bool:
    if isinstance(e, sa.exc.DBAPIError) and e.connection_invalidated:
        return True
    if isinstance(e, (sa.exc.OperationalError, sa.exc.InterfaceError)):
        text = str(e.orig if getattr(e, "orig", None) is not None else e).lower()
        return not any(p in text for p in _PERMANENT)
    return False


def _with_retries(fn):
    """Re-run a storage operation (one transaction) when the database connection
    dropped or the server restarted, with exponential backoff for up to the
    storage's ``retry_timeout`` seconds.  A finishing write that had already
    committed is recognised on the retry, so no result is recorded twice."""

    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        # a storage being opened gives up sooner: a wrong URL should not hang
        window = self.retry_timeout if fn.__name__ != "_init_schema" else min(self.retry_timeout, 10.0)
        deadline = time.monotonic() + window
        delay = 0.05
        attempt = 0
        while True:
            prev = getattr(_retry_state, "active", False)
            _retry_state.active = prev or attempt > 0
            try:
                return fn(self, *args, **kwargs)
            except sa.exc.DBAPIError as e:
                retry = _retryable(e)
                if not retry and not isinstance(e, sa.exc.OperationalError):
                    raise
                if not retry or time.monotonic() + delay > deadline:
                    what = "opening the database" if fn.__name__ == "_init_schema" else fn.__name__
                    raise StorageError(
                        f"{self._shown_url}: {what} failed: {str(getattr(e, 'orig', e)).strip()}"
                    ) from e
                attempt += 1
                _log.warning(
                    "storage %s: %s failed (%s); retrying in %.2f s",
                    self._shown_url, fn.__name__, str(getattr(e, "orig", e)).strip().splitlines()[0], delay,
                )
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
            finally:
                _retry_state.active = prev

    return wrapper


for _name in (
    "_init_schema",
    "create_study", "get_study", "delete_study", "list_studies", "set_study_attrs", "get_study_attrs",
    "enqueue_trial", "enqueue_trials", "start_trial", "start_trial_and_read", "resume_trial",
    "add_trial", "write_trial", "heartbeat", "fail_stale_trials", "get_trials", "count_trials",
    "get_best_trials", "get_trial_stamps", "setdefault_study_system_attr",
):
    setattr(SQLStorage, _name, _with_retries(getattr(SQLStorage, _name)))
