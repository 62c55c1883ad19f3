"""Optuna's older ``suggest_*`` names, for code written against them.

Optuna deprecated ``suggest_uniform``, ``suggest_loguniform`` and
``suggest_discrete_uniform`` in favour of ``suggest_float``, but much existing
code still calls them.  Every object an objective may receive (a trial, a trial
in a worker process, a finished or fixed trial) answers them, with a warning
that names the replacement.
"""

from __future__ import annotations

import warnings


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is Optuna's old name; use {new}", FutureWarning, stacklevel=3)


class OptunaAliases:
    """Mixin: the old names, each one ``suggest_float`` call."""

    def suggest_uniform(self, name: str, low: float, high: float) -> float:
        _deprecated("suggest_uniform(name, low, high)", "suggest_float(name, low, high)")
        return self.suggest_float(name, low, high)  # type: ignore[attr-defined]

    def suggest_loguniform(self, name: str, low: float, high: float) -> float:
        _deprecated("suggest_loguniform(name, low, high)", "suggest_float(name, low, high, log=True)")
        return self.suggest_float(name, low, high, log=True)  # type: ignore[attr-defined]

    def suggest_discrete_uniform(self, name: str, low: float, high: float, q: float) -> float:
        _deprecated("suggest_discrete_uniform(name, low, high, q)", "suggest_float(name, low, high, step=q)")
        return self.suggest_float(name, low, high, step=q)  # type: ignore[attr-defined]
