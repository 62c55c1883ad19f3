"""Where studies live: in memory, in a SQLite file, or in PostgreSQL.

Use :func:`get_storage` to turn what a user passes as ``storage=`` (``None``, a
URL or a storage object) into a storage instance.
"""

from __future__ import annotations

import threading

from hypersearch.storage.base import BaseStorage, StudyInfo, StudySummary
from hypersearch.storage.memory import InMemoryStorage

__all__ = ["BaseStorage", "InMemoryStorage", "SQLStorage", "StudyInfo", "StudySummary", "get_storage"]

_cache: dict[str, BaseStorage] = {}
_cache_lock = threading.Lock()


def get_storage(storage: BaseStorage | str | None) -> BaseStorage:
    """Resolve ``storage`` to a :class:`BaseStorage`.

    ``None`` gives a new :class:`InMemoryStorage`; a string is a SQLAlchemy URL
    (``sqlite:///path.db``, ``postgresql://user@host/db``) and gives a
    :class:`SQLStorage`, shared within the process for the same URL so that
    connections are pooled rather than opened per study.
    """
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, BaseStorage):
        return storage
    if not isinstance(storage, str):
        raise TypeError(
            f"storage must be None, a URL string or a BaseStorage, got {type(storage).__name__}"
        )
    url = storage.strip()
    if "://" not in url:
        raise ValueError(
            f"storage {storage!r} is not a database URL; use e.g. 'sqlite:///study.db' or "
            "'postgresql://user@host/dbname'"
        )
    with _cache_lock:
        st = _cache.get(url)
        if st is None:
            from hypersearch.storage.sql import SQLStorage

            st = SQLStorage(url)
            _cache[url] = st
        return st


def __getattr__(name: str):
    if name == "SQLStorage":  # imported lazily: SQLAlchemy costs ~100 ms to import
        from hypersearch.storage.sql import SQLStorage

        return SQLStorage
    raise AttributeError(name)
