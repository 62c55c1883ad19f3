"""Optimization direction of an objective."""

from __future__ import annotations

import enum


class StudyDirection(enum.IntEnum):
    """Whether an objective is minimized or maximized."""

    MINIMIZE = 1
    MAXIMIZE = 2

    @classmethod
    def parse(cls, value: StudyDirection | str) -> StudyDirection:
        """Accept a direction or its name (``"minimize"`` / ``"maximize"``, any case)."""
        if isinstance(value, StudyDirection):
            return value
        if isinstance(value, str):
            v = value.strip().lower()
            if v in ("minimize", "min"):
                return cls.MINIMIZE
            if v in ("maximize", "max"):
                return cls.MAXIMIZE
        raise ValueError(
            f"direction must be 'minimize' or 'maximize', got {value!r}"
        )

    def sign(self) -> float:
        """+1 for minimize, -1 for maximize: ``sign * value`` is always minimized."""
        return 1.0 if self is StudyDirection.MINIMIZE else -1.0
