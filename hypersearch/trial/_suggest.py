"""The ``suggest_*`` methods, written once for every object an objective may receive.

A trial in this process (:class:`~hypersearch.Trial`), a trial in a worker
process, and a finished or fixed trial (``objective(study.best_trial)``) each
implement ``suggest(name, distribution)``; this mixin builds the typed methods
on it, and Optuna's older names (``suggest_uniform``, ``suggest_loguniform``,
``suggest_discrete_uniform``, deprecated there in favour of ``suggest_float``
but still common in existing code), which warn and name the replacement.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from hypersearch.space.distributions import (
    BaseDistribution,
    CategoricalChoice,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is Optuna's old name; use {new}", FutureWarning, stacklevel=3)


class SuggestMethods:
    """Mixin: the typed ``suggest_*`` methods on top of ``suggest``."""

    def suggest(self, name: str, distribution: BaseDistribution) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        """Suggest a float in ``[low, high]``, optionally on a ``step`` grid or log scale."""
        return self.suggest(name, FloatDistribution(low, high, step=step, log=log, name=name))

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        """Suggest an integer in ``[low, high]`` (inclusive)."""
        return self.suggest(name, IntDistribution(low, high, step=step, log=log, name=name))

    def suggest_categorical(self, name: str, choices: Sequence[CategoricalChoice]) -> Any:
        """Suggest one of ``choices`` (str, int, float, bool or None)."""
        return self.suggest(name, CategoricalDistribution(choices, name=name))

    def suggest_uniform(self, name: str, low: float, high: float) -> float:
        _deprecated("suggest_uniform(name, low, high)", "suggest_float(name, low, high)")
        return self.suggest_float(name, low, high)

    def suggest_loguniform(self, name: str, low: float, high: float) -> float:
        _deprecated("suggest_loguniform(name, low, high)", "suggest_float(name, low, high, log=True)")
        return self.suggest_float(name, low, high, log=True)

    def suggest_discrete_uniform(self, name: str, low: float, high: float, q: float) -> float:
        _deprecated("suggest_discrete_uniform(name, low, high, q)", "suggest_float(name, low, high, step=q)")
        return self.suggest_float(name, low, high, step=q)
