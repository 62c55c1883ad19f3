"""Argument checks shared by the training helpers, and the lazy PyTorch import.

Every check raises :class:`ValueError` naming the function and the parameter,
so a bad value coming out of a search space is easy to trace back.
"""

from __future__ import annotations

import math
from typing import Any

TORCH_HINT = "needs PyTorch: pip install 'hypersearch[torch]'"


def require_torch(what: str) -> Any:
    """Import and return :mod:`torch`, or raise an ImportError that says how to get it."""
    try:
        import torch
    except ImportError as e:
        raise ImportError(f"{what} {TORCH_HINT}") from e
    return torch


def number(fn: str, name: str, value: Any) -> float:
    """``value`` as a finite float (bools are refused: they are almost always a mistake)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not _is_np_number(value):
        raise ValueError(f"{fn}: {name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{fn}: {name} must be finite, got {value!r}")
    return v


def positive(fn: str, name: str, value: Any) -> float:
    v = number(fn, name, value)
    if v <= 0:
        raise ValueError(f"{fn}: {name} must be > 0, got {value!r}")
    return v


def non_negative(fn: str, name: str, value: Any) -> float:
    v = number(fn, name, value)
    if v < 0:
        raise ValueError(f"{fn}: {name} must be >= 0, got {value!r}")
    return v


def in_range(fn: str, name: str, value: Any, low: float, high: float, *,
             low_open: bool = False, high_open: bool = False) -> float:
    v = number(fn, name, value)
    too_low = v <= low if low_open else v < low
    too_high = v >= high if high_open else v > high
    if too_low or too_high:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ValueError(f"{fn}: {name} must be in {lo}{low}, {high}{hi}, got {value!r}")
    return v


def integer(fn: str, name: str, value: Any, minimum: int) -> int:
    """An int ``>= minimum``; integral floats (``100.0`` from a float search space) are accepted."""
    if isinstance(value, bool):
        raise ValueError(f"{fn}: {name} must be an integer, got {value!r}")
    if isinstance(value, float) or _is_np_number(value):
        if not math.isfinite(float(value)) or float(value) != int(value):
            raise ValueError(f"{fn}: {name} must be an integer, got {value!r}")
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"{fn}: {name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{fn}: {name} must be >= {minimum}, got {value!r}")
    return value


def _is_np_number(value: Any) -> bool:
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a core dependency
        return False
    return isinstance(value, (np.integer, np.floating))
