"""Parameter distributions: the typed domain of one hyperparameter.

A distribution describes the set of values a parameter may take (and, for
model-based samplers, the geometry of that set: linear, logarithmic or
discrete).  Every distribution

* validates its arguments at construction and raises :class:`ValueError`
  naming the parameter and the problem,
* can tell whether a value belongs to it (:meth:`contains`),
* maps any of its values to a point of the unit interval and back
  (:meth:`to_unit` / :meth:`from_unit`), the common ground on which
  model-based samplers work, and
* serialises to and from a small JSON-compatible dict, so that storages never
  need pickle.

Distributions are immutable and compare by value, so the same parameter with
the same domain in two trials compares equal, and a *dynamic* parameter (the
same name with other bounds in another trial) is simply a different
distribution under the same name.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

CategoricalChoice = None | bool | int | float | str

__all__ = [
    "BaseDistribution",
    "CategoricalChoice",
    "CategoricalDistribution",
    "FloatDistribution",
    "IntDistribution",
    "distribution_from_json",
    "distribution_to_json",
]


def _label(name: str | None) -> str:
    return f"parameter {name!r}" if name else "distribution"


def _warn_high(name: str | None, high: float, step: float, new_high: float) -> None:
    import warnings

    warnings.warn(
        f"{_label(name)}: the range is not a multiple of step={step!r}; high={high!r} is "
        f"replaced by {new_high!r}, the largest value on the step grid",
        UserWarning,
        stacklevel=4,
    )


def _check_finite_number(name: str | None, what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{_label(name)}: {what} must be a number, got {value!r}")
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"{_label(name)}: {what} is NaN")
    if math.isinf(v):
        raise ValueError(f"{_label(name)}: {what} is infinite ({v})")
    return v


class BaseDistribution:
    """Common interface of all parameter distributions."""

    #: Name used in the JSON form.
    kind: str = ""
    #: The parameter name this distribution was created for (error messages only;
    #: not part of equality).
    name: str | None

    def contains(self, value: Any) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def validate_value(self, value: Any) -> Any:
        """Return ``value`` in canonical form or raise ``ValueError``."""
        raise NotImplementedError  # pragma: no cover

    def to_unit(self, value: Any) -> float:  # pragma: no cover - abstract
        """Map a value of this distribution into ``[0, 1]``."""
        raise NotImplementedError

    def from_unit(self, u: float) -> Any:  # pragma: no cover - abstract
        """Map a point of ``[0, 1]`` to a value of this distribution."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> Any:
        """Draw one value from the natural prior of the distribution."""
        return self.from_unit(float(rng.random()))

    def single(self) -> bool:
        """Whether the distribution holds exactly one value."""
        raise NotImplementedError  # pragma: no cover

    def to_json(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _key(self) -> tuple:  # pragma: no cover - abstract
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))


class FloatDistribution(BaseDistribution):
    """A real-valued parameter in ``[low, high]``.

    Args:
        low, high: Inclusive bounds, finite, ``low <= high``.
        step: If given, values are restricted to ``low + k * step``.  When
            ``high - low`` is not a multiple of ``step``, ``high`` becomes the
            largest such value below it, with a warning (as in Optuna).
        log: Sample uniformly in log space; needs ``low > 0``; exclusive with
            ``step``.
        name: Parameter name, used in error messages.
    """

    kind = "float"

    def __init__(
        self,
        low: float,
        high: float,
        *,
        step: float | None = None,
        log: bool = False,
        name: str | None = None,
    ) -> None:
        self.name = name
        low = _check_finite_number(name, "low", low)
        high = _check_finite_number(name, "high", high)
        if low > high:
            raise ValueError(f"{_label(name)}: low={low!r} is greater than high={high!r}")
        if log and step is not None:
            raise ValueError(f"{_label(name)}: step and log=True cannot be used together")
        if log and low <= 0.0:
            raise ValueError(f"{_label(name)}: log=True needs low > 0, got low={low!r}")
        if step is not None:
            step = _check_finite_number(name, "step", step)
            if step <= 0:
                raise ValueError(f"{_label(name)}: step must be > 0, got {step!r}")
            n = (high - low) / step
            if abs(n - round(n)) > 1e-8 * max(1.0, abs(n)):
                k = math.floor(n)
                new_high = low + k * step
                r = round(new_high, 12 - math.floor(math.log10(step)))
                new_high = r if abs(r - new_high) <= 1e-9 * step else new_high
                _warn_high(name, high, step, new_high)
                high, n = new_high, float(k)
            self._n = int(round(n)) + 1
        else:
            self._n = 0
        self.low = low
        self.high = high
        self.step = step
        self.log = bool(log)
        # log scale degenerates when low and high are adjacent floats (equal logs)
        self._use_log = self.log and math.log(high) > math.log(low)

    # -- membership -------------------------------------------------------------
    def contains(self, value: Any) -> bool:
        try:
            v = float(value)
        except (TypeError, ValueError):
            return False
        if isinstance(value, (bool, str)) or math.isnan(v):
            return False
        if not (self.low <= v <= self.high):
            return False
        if self.step is not None:
            k = (v - self.low) / self.step
            return abs(k - round(k)) < 1e-6
        return True

    def validate_value(self, value: Any) -> float:
        if not self.contains(value):
            raise ValueError(f"{_label(self.name)}: value {value!r} is not in {self!r}")
        if self.step is not None:  # the grid value itself: 0.3, never 0.30000000000000004
            return self._grid_value(int(round((float(value) - self.low) / self.step)))
        return float(value)

    def single(self) -> bool:
        return self.low == self.high

    def _grid_value(self, k: int) -> float:
        v = self.low + k * self.step  # type: ignore[operator]
        # float noise off (0.1 * 3 = 0.30000000000000004 -> 0.3): rounded to 12
        # significant digits of the step, kept only where that moves the value by
        # no more than noise (1/3 stays 1/3)
        r = round(v, 12 - math.floor(math.log10(self.step)))  # type: ignore[arg-type]
        if abs(r - v) <= 1e-14 * max(abs(v), abs(self.step)):  # type: ignore[arg-type]
            v = r
        return min(max(v, self.low), self.high)

    # -- unit-cube encoding -----------------------------------------------------
    def to_unit(self, value: Any) -> float:
        v = float(value)
        if self.low == self.high:
            return 0.5
        if self.step is not None:
            k = int(round((v - self.low) / self.step))
            return (k + 0.5) / self._n
        if self._use_log:
            lo, hi = math.log(self.low), math.log(self.high)
            return min(max((math.log(v) - lo) / (hi - lo), 0.0), 1.0)
        # halves keep huge ranges such as [-1e308, 1e308] finite
        return min(max((v / 2 - self.low / 2) / (self.high / 2 - self.low / 2), 0.0), 1.0)

    def from_unit(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if self.low == self.high:
            return self.low
        if self.step is not None:
            k = min(int(u * self._n), self._n - 1)
            return self._grid_value(k)
        if self._use_log:
            lo, hi = math.log(self.low), math.log(self.high)
            v = math.exp(lo + u * (hi - lo))
        else:
            v = self.low + u * (self.high / 2 - self.low / 2) * 2
            if not math.isfinite(v):
                v = (1 - u) * self.low + u * self.high
        return min(max(v, self.low), self.high)

    # -- serialisation ----------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "float", "low": self.low, "high": self.high}
        if self.step is not None:
            d["step"] = self.step
        if self.log:
            d["log"] = True
        return d

    def _key(self) -> tuple:
        return (self.low, self.high, self.step, self.log)

    def __repr__(self) -> str:
        extra = f", step={self.step!r}" if self.step is not None else ""
        extra += ", log=True" if self.log else ""
        return f"FloatDistribution(low={self.low!r}, high={self.high!r}{extra})"


class IntDistribution(BaseDistribution):
    """An integer parameter in ``[low, high]`` (inclusive).

    Args:
        low, high: Inclusive integer bounds, ``low <= high``.
        step: Values are ``low + k * step``; when ``high - low`` is not a multiple
            of it, ``high`` becomes the largest such value below it, with a warning.
        log: Sample uniformly in log space; needs ``low >= 1`` and ``step == 1``.
    """

    kind = "int"

    def __init__(
        self,
        low: int,
        high: int,
        *,
        step: int = 1,
        log: bool = False,
        name: str | None = None,
    ) -> None:
        self.name = name
        for what, v in (("low", low), ("high", high), ("step", step)):
            fv = _check_finite_number(name, what, v)
            if fv != int(fv):
                raise ValueError(f"{_label(name)}: {what} must be an integer, got {v!r}")
        low, high, step = int(low), int(high), int(step)
        if low > high:
            raise ValueError(f"{_label(name)}: low={low} is greater than high={high}")
        if step <= 0:
            raise ValueError(f"{_label(name)}: step must be >= 1, got {step}")
        if log and step != 1:
            raise ValueError(f"{_label(name)}: log=True needs step=1, got step={step}")
        if log and low < 1:
            raise ValueError(f"{_label(name)}: log=True needs low >= 1, got low={low}")
        if (high - low) % step != 0:
            new_high = high - (high - low) % step
            _warn_high(name, high, step, new_high)
            high = new_high
        self.low, self.high, self.step, self.log = low, high, step, bool(log)
        self._n = (high - low) // step + 1

    def contains(self, value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            return False
        v = float(value)
        if math.isnan(v) or v != int(v):
            return False
        iv = int(v)
        return self.low <= iv <= self.high and (iv - self.low) % self.step == 0

    def validate_value(self, value: Any) -> int:
        if not self.contains(value):
            raise ValueError(f"{_label(self.name)}: value {value!r} is not in {self!r}")
        return int(value)

    def single(self) -> bool:
        return self.low == self.high

    def to_unit(self, value: Any) -> float:
        v = int(value)
        if self.low == self.high:
            return 0.5
        if self.log:
            lo, hi = math.log(self.low - 0.5), math.log(self.high + 0.5)
            return (math.log(v) - lo) / (hi - lo)
        k = (v - self.low) // self.step
        return (k + 0.5) / self._n

    def from_unit(self, u: float) -> int:
        u = min(max(float(u), 0.0), 1.0)
        if self.low == self.high:
            return self.low
        if self.log:
            lo, hi = math.log(self.low - 0.5), math.log(self.high + 0.5)
            v = int(round(math.exp(lo + u * (hi - lo))))
            return min(max(v, self.low), self.high)
        k = min(int(u * self._n), self._n - 1)
        return self.low + k * self.step

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "int", "low": self.low, "high": self.high}
        if self.step != 1:
            d["step"] = self.step
        if self.log:
            d["log"] = True
        return d

    def _key(self) -> tuple:
        return (self.low, self.high, self.step, self.log)

    def __repr__(self) -> str:
        extra = f", step={self.step}" if self.step != 1 else ""
        extra += ", log=True" if self.log else ""
        return f"IntDistribution(low={self.low}, high={self.high}{extra})"


def _choice_key(v: CategoricalChoice) -> tuple:
    # bool is a subclass of int and 1 == 1.0 == True in Python; choices of
    # different types must stay distinct, so compare on (type, value).
    if isinstance(v, float) and math.isnan(v):
        return ("nan",)
    return (type(v).__name__, v)


class CategoricalDistribution(BaseDistribution):
    """A parameter taking one of a finite list of choices.

    Choices may be ``str``, ``int``, ``float``, ``bool`` or ``None`` (values that
    round-trip through JSON exactly).  ``True`` and ``1`` are different choices.
    """

    kind = "categorical"

    def __init__(self, choices: Sequence[CategoricalChoice], *, name: str | None = None) -> None:
        self.name = name
        if isinstance(choices, np.ndarray) and choices.ndim == 1:
            choices = choices.tolist()  # np.logspace(-3, 3, 7), np.arange(...)
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence):
            raise ValueError(
                f"{_label(name)}: choices must be a list, tuple or 1-d array, got {type(choices).__name__}"
            )
        if len(choices) == 0:
            raise ValueError(f"{_label(name)}: choices is empty")
        seen: dict[tuple, int] = {}
        for i, c in enumerate(choices):
            if c is not None and not isinstance(c, (bool, int, float, str, np.integer, np.floating)):
                raise ValueError(
                    f"{_label(name)}: choice {c!r} has type {type(c).__name__}; choices must be "
                    "str, int, float, bool or None, which a study stores exactly: choose a key and "
                    "map it, e.g. sizes = {'64': (64,), '64-64': (64, 64)}; "
                    "sizes[trial.suggest_categorical('sizes', list(sizes))]"
                )
            if isinstance(c, float) and math.isnan(c):
                raise ValueError(f"{_label(name)}: choice {i} is NaN")
            k = _choice_key(_py(c))
            if k in seen:
                raise ValueError(f"{_label(name)}: duplicate choice {c!r}")
            seen[k] = i
        self.choices: tuple[CategoricalChoice, ...] = tuple(_py(c) for c in choices)
        self._index = seen

    def index(self, value: Any) -> int:
        """Position of ``value`` among the choices (``ValueError`` if absent)."""
        try:
            return self._index[_choice_key(_py(value))]
        except (KeyError, TypeError):
            raise ValueError(
                f"{_label(self.name)}: value {value!r} is not one of {list(self.choices)!r}"
            ) from None

    def contains(self, value: Any) -> bool:
        try:
            self.index(value)
            return True
        except ValueError:
            return False

    def validate_value(self, value: Any) -> CategoricalChoice:
        return self.choices[self.index(value)]

    def single(self) -> bool:
        return len(self.choices) == 1

    def to_unit(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.choices)

    def from_unit(self, u: float) -> CategoricalChoice:
        u = min(max(float(u), 0.0), 1.0)
        return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]

    def sample(self, rng: np.random.Generator) -> CategoricalChoice:
        return self.choices[int(rng.integers(len(self.choices)))]

    def to_json(self) -> dict[str, Any]:
        return {"type": "categorical", "choices": list(self.choices)}

    def _key(self) -> tuple:
        return tuple(_choice_key(c) for c in self.choices)

    def __repr__(self) -> str:
        return f"CategoricalDistribution(choices={list(self.choices)!r})"


def _py(v: Any) -> Any:
    """Convert numpy scalars to the equivalent Python scalar."""
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def distribution_to_json(d: BaseDistribution) -> dict[str, Any]:
    """JSON-compatible dict of a distribution (see :func:`distribution_from_json`)."""
    return d.to_json()


def distribution_from_json(d: dict[str, Any], name: str | None = None) -> BaseDistribution:
    """Rebuild a distribution from :func:`distribution_to_json` output."""
    t = d.get("type")
    if t == "float":
        return FloatDistribution(
            d["low"], d["high"], step=d.get("step"), log=d.get("log", False), name=name
        )
    if t == "int":
        return IntDistribution(
            d["low"], d["high"], step=d.get("step", 1), log=d.get("log", False), name=name
        )
    if t == "categorical":
        return CategoricalDistribution(d["choices"], name=name)
    raise ValueError(f"unknown distribution type {t!r} in stored data for {_label(name)}")
