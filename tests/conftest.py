"""Shared fixtures: one storage suite, run against every backend.

PostgreSQL tests use a fresh database created for the test session on the
local server (127.0.0.1:5432, user postgres, trust auth).  They are skipped
with a clear reason only when no server answers; under CI (``CI=true``) a
missing server is an error, never a silent skip.
"""

from __future__ import annotations

import os
import uuid

import pytest

PG_ADMIN_URL = os.environ.get("HYPERSEARCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("postgresql://", "postgresql://", 1), connect_timeout=3):
            return None
    except Exception as e:  # pragma: no cover - depends on the machine
        return f"{type(e).__name__}: {e}"


@pytest.fixture(scope="session")
def pg_url():
    """URL of a fresh PostgreSQL database for this test session (dropped at the end)."""
    problem = _pg_available()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable at {PG_ADMIN_URL}: {problem}")
        pytest.skip(f"no PostgreSQL server at {PG_ADMIN_URL}: {problem}")
    import psycopg

    name = f"hs_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    from hypersearch.storage import _cache

    for url, st in list(_cache.items()):
        if name in url:
            st.close()
            _cache.pop(url, None)
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def storage(request, tmp_path):
    """A storage object of each backend (PostgreSQL: a fresh schema per test)."""
    from hypersearch.storage import InMemoryStorage
    from hypersearch.storage.sql import SQLStorage

    if request.param == "memory":
        st = InMemoryStorage()
        yield st
        return
    if request.param == "sqlite":
        st = SQLStorage(f"sqlite:///{tmp_path}/hs.db")
        yield st
        st.close()
        return
    url = request.getfixturevalue("pg_url")
    st = SQLStorage(url)
    _truncate(st)
    yield st
    st.close()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def storage_url(request, tmp_path):
    """What a user passes as ``storage=``: an in-memory storage or a database URL."""
    if request.param == "memory":
        from hypersearch.storage import InMemoryStorage

        return InMemoryStorage()
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/hs.db"
    url = request.getfixturevalue("pg_url")
    from hypersearch.storage import get_storage

    _truncate(get_storage(url))
    return url


def _truncate(st) -> None:
    import sqlalchemy as sa

    with st.engine.begin() as conn:
        conn.execute(
            sa.text(
                "TRUNCATE hs_trial_intermediate, hs_trials, hs_study_attrs, hs_studies RESTART IDENTITY"
            )
        )


# Property-based tests explore new examples locally; under CI they replay a fixed
# derandomised set so that a run is reproducible.
from hypothesis import settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("ci", derandomize=True, deadline=None)
_hyp_settings.register_profile("dev", deadline=None)
_hyp_settings.load_profile("ci" if os.environ.get("CI") else "dev")
