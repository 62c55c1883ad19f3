"""Every result row a :func:`hypersearch.tune` trial reported, kept beside its checkpoints.

The storage keeps each trial's metric per step and its last result; the full rows
(every metric of every report, and the configuration in effect when it was
reported, which population-based training changes) go to
``<checkpoint root>/trial_<number>/result.jsonl``, one JSON object per line, so that
a resumed run, a second process of the same study or a later analysis sees all
of them, not only those reported in this process.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any

RESULT_FILE = "result.jsonl"


class ResultLog:
    """Append-only result rows per trial, in memory and in one file per trial."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._mine: dict[int, list[dict[str, Any]]] = {}  # rows reported through this log
        self._paths: dict[int, str] = {}  # trials whose directory exists: their file

    def _path(self, number: int) -> Path:
        return self.root / f"trial_{number:06d}" / RESULT_FILE

    def append(self, number: int, row: dict[str, Any]) -> None:
        line = json.dumps(row, default=repr) + "\n"
        with self._lock:
            self._mine.setdefault(number, []).append(row)
            path = self._paths.get(number)
            if path is None:
                p = self._path(number)
                p.parent.mkdir(parents=True, exist_ok=True)
                path = self._paths[number] = str(p)
            # opened per row: a row reported is on disk even if the process dies next
            with open(path, "a", encoding="utf-8") as f:
                f.write(line)

    def rows(self, number: int) -> list[dict[str, Any]]:
        """The trial's rows in report order: from its file (every process's reports),
        else those reported here (the file could not be read)."""
        path = self._path(number)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            with self._lock:
                return list(self._mine.get(number, []))
        out = []
        for line in text.splitlines():
            try:
                out.append(json.loads(line, parse_constant=_constant))
            except ValueError:
                continue  # a line cut short by a crash mid-write
        return out


def _constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]
