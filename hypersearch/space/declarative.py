"""Declarative search spaces: a (nested) dict of domains, as in Ray Tune.

::

    space = hs.SearchSpace(
        {
            "lr": hs.loguniform(1e-5, 1e-2),
            "d_model": hs.choice([128, 256, 512]),
            "n_heads": hs.choice([4, 8, 16]),
            "opt": hs.choice([
                {"name": "sgd", "momentum": hs.uniform(0.0, 0.99)},
                {"name": "adam", "beta1": hs.uniform(0.8, 0.999)},
            ]),
            "epochs": 10,                                   # constants pass through
        },
        constraints=[lambda c: c["d_model"] % c["n_heads"] == 0],
    )
    study.optimize(space.objective(train), n_trials=50)    # train(config) -> loss

A declarative space is compiled into define-by-run suggestions, so every
sampler works with it.  Parameter names are the key paths joined by ``"."``
(``"opt.momentum"``).  A choice among dicts is a *conditional* sub-space: the
branch index is stored as the parameter (``"opt"`` = 0 or 1) and only the
chosen branch's parameters are suggested.

Constraints are enforced at sampling time: a configuration that violates one
is discarded and the sampler asked again (up to ``max_attempts``), so the
objective never sees an infeasible configuration.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from hypersearch.exceptions import ConstraintError
from hypersearch.space.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

__all__ = [
    "Domain",
    "SearchSpace",
    "choice",
    "grid",
    "lograndint",
    "loguniform",
    "qloguniform",
    "qrandint",
    "quniform",
    "randint",
    "sample_from",
    "uniform",
]


class Domain:
    """A searchable value in a declarative space."""

    def suggest(self, trial: Any, name: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class Param(Domain):
    """A domain that is exactly one distribution; with ``quantum``, values are
    rounded to its multiples after sampling (``qloguniform``: a distribution
    cannot be both logarithmic and stepped, so the sampler searches the
    continuous log scale and the configuration gets the rounded value)."""

    def __init__(self, make: Callable[[str | None], BaseDistribution], quantum: float | None = None) -> None:
        self._make = make
        self.distribution = make(None)  # validate now, with a generic message
        self.quantum = quantum

    def snap(self, value: Any) -> Any:
        """``value`` on the domain's grid of multiples of ``quantum`` (as is without one)."""
        if self.quantum is None:
            return value
        d = self.distribution
        q = self.quantum
        out = min(max(round(value / q) * q, d.low), d.high)  # the bounds are multiples of q
        return _on_multiple(out, q)

    def suggest(self, trial: Any, name: str) -> Any:
        return self.snap(trial.suggest(name, self._make(name)))

    def __repr__(self) -> str:
        return f"Param({self.distribution!r})"


class Choice(Domain):
    """One of several options; options that contain domains make a conditional space."""

    def __init__(self, options: Sequence[Any]) -> None:
        if isinstance(options, (str, bytes)) or not isinstance(options, Sequence):
            raise ValueError(f"choice() needs a list of options, got {options!r}")
        if len(options) == 0:
            raise ValueError("choice() needs at least one option")
        self.options = list(options)
        self.nested = any(_has_domain(o) for o in self.options)
        # Options that are no plain values (lists, dicts, classes, functions, as Ray
        # Tune takes them) or hold domains are searched by index, and the
        # configuration gets the option itself.
        self.indexed = self.nested or not all(_is_plain(o) for o in self.options)
        if self.indexed:
            self.labels: list[Any] = list(range(len(self.options)))
        else:
            self.labels = self.options
            CategoricalDistribution(self.labels)  # validates duplicates

    def suggest(self, trial: Any, name: str) -> Any:
        label = trial.suggest(name, CategoricalDistribution(self.labels, name=name))
        if not self.indexed:
            return label
        option = self.options[label]
        if not self.nested and isinstance(option, (list, dict, set)):
            # each trial its own copy: a trainable that changes its list must not
            # change the space (and every later trial's option)
            return copy.deepcopy(option)
        return _resolve(option, trial, name)

    def __repr__(self) -> str:
        return f"choice({self.options!r})"


def _is_plain(v: Any) -> bool:
    return v is None or isinstance(v, (str, bool, int, float, np.integer, np.floating))


class Grid(Choice):
    """A grid axis: every value is visited by grid search; other samplers treat it
    as a categorical choice."""

    def __init__(self, values: Sequence[Any]) -> None:
        super().__init__(values)
        if self.nested:
            raise ValueError("grid() values must be plain values, not nested spaces")

    def __repr__(self) -> str:
        return f"grid({self.options!r})"


class Quantile(Domain):
    """A scipy.stats frozen distribution without a native equivalent: the sampler
    searches its quantile ``u`` in [0, 1] (stored as the parameter) and the
    configuration receives ``ppf(u)``."""

    _EPS = 1e-9

    def __init__(self, frozen: Any, discrete: bool) -> None:
        self.frozen = frozen
        self.discrete = discrete

    def suggest(self, trial: Any, name: str) -> Any:
        u = trial.suggest(name, FloatDistribution(0.0, 1.0, name=name))
        u = min(max(u, self._EPS), 1.0 - self._EPS)
        x = self.frozen.ppf(u)
        return int(x) if self.discrete else float(x)

    def __repr__(self) -> str:
        return f"Quantile({self.frozen.dist.name})"


class SampleFrom(Domain):
    """A value computed from the rest of the configuration (Ray Tune's
    ``sample_from``): ``func(spec)`` is called once the searched parameters are
    drawn, with ``spec.config`` the configuration so far (attribute or item
    access, nested dicts alike).  Not a parameter: samplers never see it.  It is
    computed once per trial and kept with it (``space:derived``, JSON values), so
    a trial resumed, promoted or retried trains on with the value its checkpoint
    was trained with, as in Ray Tune (a population-based-training explore step
    changes only the keys it mutates).
    Derived values may depend on one another; they are computed in whatever
    order their dependencies allow, and a cycle is reported as an error."""

    def __init__(self, func: Callable[[Any], Any]) -> None:
        if not callable(func):
            raise TypeError(f"sample_from() needs a callable spec -> value, got {func!r}")
        self.func = func

    def suggest(self, trial: Any, name: str) -> Any:
        return _Pending(self, name)

    def __repr__(self) -> str:
        return f"sample_from({getattr(self.func, '__name__', self.func)!r})"


class _Pending:
    """Placeholder of a :class:`SampleFrom` value not computed yet."""

    def __init__(self, domain: SampleFrom, path: str) -> None:
        self.domain = domain
        self.path = path


class _Unresolved(Exception):
    """Raised inside a ``sample_from`` function that reads a value still pending."""


def _substitute(node: Any, values: dict[int, Any]) -> Any:
    """``node`` with each :class:`_Pending` replaced by its computed value (keyed by
    the placeholder's id); :class:`_Unresolved` for one not computed yet."""
    if isinstance(node, _Pending):
        if id(node) not in values:
            raise _Unresolved(node.path)
        return values[id(node)]
    if isinstance(node, dict):
        return {k: _substitute(v, values) for k, v in node.items()}
    if type(node) in (list, tuple):  # those the space builds (a namedtuple constant stays as is)
        return type(node)(_substitute(v, values) for v in node)
    return node


def _pending_in(node: Any, out: list[_Pending]) -> list[_Pending]:
    if isinstance(node, _Pending):
        out.append(node)
    elif isinstance(node, dict):
        for v in node.values():
            _pending_in(v, out)
    elif type(node) in (list, tuple):
        for v in node:
            _pending_in(v, out)
    return out


class _SpecView:
    """Read-only view of a configuration being built: ``view.a.b`` or ``view["a"]["b"]``;
    reading a derived value not computed yet raises :class:`_Unresolved` (tried
    again later)."""

    def __init__(self, data: Any, values: dict[int, Any]) -> None:
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_values", values)

    def _wrap(self, v: Any) -> Any:
        if isinstance(v, Mapping):
            return _SpecView(v, self._values)
        return _substitute(v, self._values)

    def __getitem__(self, key: Any) -> Any:
        return self._wrap(self._data[key])

    def __getattr__(self, key: str) -> Any:
        try:
            return self._wrap(self._data[key])
        except KeyError:
            raise AttributeError(key) from None

    def get(self, key: Any, default: Any = None) -> Any:
        return self._wrap(self._data[key]) if key in self._data else default

    def __contains__(self, key: Any) -> bool:
        return key in self._data

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def keys(self):
        return self._data.keys()

    def __setattr__(self, key: str, value: Any) -> None:
        raise TypeError("the configuration seen by sample_from() is read-only")

    def __repr__(self) -> str:
        return f"spec.config({self._data!r})"


class _Spec:
    def __init__(self, config: dict[str, Any], values: dict[int, Any]) -> None:
        self.config = _SpecView(config, values)


#: Trial system attribute keeping the trial's :class:`SampleFrom` values (JSON ones),
#: so a resumed, promoted or retried trial goes on with the values it trained with.
DERIVED_ATTR = "space:derived"


def _derive(config: dict[str, Any], known: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Compute the :class:`SampleFrom` values of a freshly resolved configuration;
    ``known`` (path -> value) are values computed in an earlier run of the trial,
    taken as they are.  Returns the configuration and ``{path: value}`` of its
    derived values."""
    todo = _pending_in(config, [])
    if not todo:
        return config, {}
    values: dict[int, Any] = {}  # id(placeholder) -> its value
    spec = _Spec(config, values)
    known = known or {}
    derived: dict[str, Any] = {}
    while todo:
        waiting: list[_Pending] = []
        blocked: dict[str, str] = {}
        for pending in todo:
            if pending.path in known:
                values[id(pending)] = derived[pending.path] = known[pending.path]
                continue
            try:
                values[id(pending)] = derived[pending.path] = pending.domain.func(spec)
            except _Unresolved as e:
                waiting.append(pending)
                blocked[pending.path] = str(e)
            except Exception as e:
                raise ValueError(
                    f"sample_from() for {pending.path!r} raised {type(e).__name__}: {e}"
                ) from e
        if len(waiting) == len(todo):  # no progress: the dependencies form a cycle
            cycle = ", ".join(f"{p!r} reads {d!r}" for p, d in blocked.items())
            raise ValueError(f"sample_from() values depend on each other in a cycle: {cycle}")
        todo = waiting
    return _substitute(config, values), derived


# -- constructors (Ray Tune / hyperopt style) ------------------------------------------
# Each domain keeps a partial of a module-level builder (not a lambda), so spaces
# can be pickled and copied (worker processes, scikit-learn's clone).


def _float(low: float, high: float, log: bool, name: str | None) -> FloatDistribution:
    return FloatDistribution(low, high, log=log, name=name)


def _randint(low: int, high: int, log: bool, name: str | None) -> IntDistribution:
    return IntDistribution(low, _excl(high, low, name), log=log, name=name)


def _qrandint(low: int, high: int, q: int, name: str | None) -> IntDistribution:
    for what, v in (("low", low), ("high", high), ("q", q)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{_who(name)}: {what} must be an integer, got {v!r}")
    if q < 1:
        raise ValueError(f"{_who(name)}: q must be >= 1, got {q!r}")
    lo, hi = -(-low // q) * q, (high // q) * q  # the multiples of q inside [low, high]
    if lo > hi:
        raise ValueError(f"{_who(name)}: no multiple of q={q} lies in [{low}, {high}]")
    return IntDistribution(lo, hi, step=q, name=name)


def _qlog(low: float, high: float, q: float, name: str | None) -> FloatDistribution:
    grid = _quantized(low, high, q, name)  # checks, and the multiples of q inside
    if not grid.low > 0:
        raise ValueError(
            f"{_who(name)}: qloguniform needs a positive lowest multiple of q={q} in [{low}, {high}]"
        )
    return FloatDistribution(grid.low, grid.high, log=True, name=name)


def uniform(low: float, high: float) -> Param:
    """Float uniformly in ``[low, high]``."""
    return Param(partial(_float, low, high, False))


def loguniform(low: float, high: float) -> Param:
    """Float uniform in log space on ``[low, high]`` (``low > 0``)."""
    return Param(partial(_float, low, high, True))


def quniform(low: float, high: float, q: float) -> Param:
    """Float uniform on ``[low, high]`` rounded to multiples of ``q``."""
    return Param(partial(_quantized, low, high, q))


def qloguniform(low: float, high: float, q: float) -> Param:
    """Log-uniform on ``[low, high]``, rounded to multiples of ``q`` (as in Ray
    Tune): the sampler searches the log scale between the lowest and highest
    multiples of ``q`` inside the range, and the configuration receives the
    rounded value."""
    return Param(partial(_qlog, low, high, q), quantum=q)


def randint(low: int, high: int) -> Param:
    """Integer in ``[low, high)`` -- upper bound exclusive, as in Ray Tune and numpy."""
    return Param(partial(_randint, low, high, False))


def qrandint(low: int, high: int, q: int = 1) -> Param:
    """Integer in ``[low, high]`` (inclusive, as in Ray Tune) on multiples of ``q``:
    ``qrandint(5, 105, 10)`` draws 10, 20, ..., 100."""
    return Param(partial(_qrandint, low, high, q))


def lograndint(low: int, high: int) -> Param:
    """Integer in ``[low, high)`` sampled uniformly in log space (upper bound exclusive)."""
    return Param(partial(_randint, low, high, True))


def choice(options: Sequence[Any]) -> Choice:
    """One of ``options``; options may be dicts containing domains (conditional space)."""
    return Choice(options)


def grid(values: Sequence[Any]) -> Grid:
    """A grid-search axis (also accepted as ``grid_search`` for Ray Tune users)."""
    return Grid(values)


grid_search = grid


def sample_from(func: Callable[[Any], Any]) -> SampleFrom:
    """A value computed from the others, as in Ray Tune:
    ``{"a": hs.randint(1, 8), "b": hs.sample_from(lambda spec: spec.config.a * 2)}``.
    Not searched (samplers see only ``a``); see :class:`SampleFrom`."""
    return SampleFrom(func)


def _excl(high: Any, low: Any, name: str | None) -> int:
    if isinstance(high, bool) or not isinstance(high, int):
        raise ValueError(f"{_who(name)}: high must be an integer, got {high!r}")
    if isinstance(low, int) and high <= low:
        raise ValueError(
            f"{_who(name)}: randint's upper bound is exclusive, so high={high} must be > low={low}"
        )
    return high - 1


def _who(name: str | None) -> str:
    return f"parameter {name!r}" if name else "distribution"


def _on_multiple(v: float, q: float) -> float:
    """A multiple of ``q`` computed in floating point, float noise off and ``q``'s
    precision kept (``3 * 0.1`` is 0.3)."""
    return round(v, max(12, 6 - math.floor(math.log10(q))))


def _quantized(low: float, high: float, q: float, name: str | None) -> FloatDistribution:
    import math

    for what, v in (("low", low), ("high", high), ("q", q)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{_who(name)}: {what} must be a finite number, got {v!r}")
    if q <= 0:
        raise ValueError(f"{_who(name)}: q must be > 0, got {q!r}")
    ratio = (abs(low) + abs(high)) / q
    if not math.isfinite(ratio) or ratio > 1e15:
        raise ValueError(
            f"{_who(name)}: q={q!r} is too small for [{low}, {high}] (more than 1e15 steps); "
            "use uniform() for a continuous parameter"
        )
    lo = math.ceil(low / q - 1e-9) * q
    hi = math.floor(high / q + 1e-9) * q
    if lo > hi:
        raise ValueError(f"{_who(name)}: no multiple of q={q} lies in [{low}, {high}]")
    lo, hi = _on_multiple(lo, q), _on_multiple(hi, q)
    return FloatDistribution(lo, hi, step=q, name=name)


# -- scipy.stats ------------------------------------------------------------------------


def _is_scipy_frozen(v: Any) -> bool:
    return hasattr(v, "dist") and hasattr(v, "ppf") and hasattr(v, "support")


def from_scipy(frozen: Any) -> Domain:
    """Map a scipy.stats frozen distribution to the native domain when one matches
    (``uniform``, ``loguniform``/``reciprocal``, ``randint``); other distributions
    are searched through their quantiles."""
    name = getattr(frozen.dist, "name", "")
    lo, hi = (float(x) for x in frozen.support())
    discrete = hasattr(frozen.dist, "pmf") and not hasattr(frozen.dist, "pdf")
    if name == "uniform":
        return uniform(lo, hi)
    if name in ("loguniform", "reciprocal") and lo > 0:
        return loguniform(lo, hi)
    if name == "randint":
        return Param(lambda n: IntDistribution(int(lo), int(hi), name=n))
    return Quantile(frozen, discrete)


# -- the space ----------------------------------------------------------------------------


def _has_domain(v: Any) -> bool:
    if isinstance(v, Domain) or _is_scipy_frozen(v):
        return True
    if isinstance(v, Mapping):
        return any(_has_domain(x) for x in v.values())
    if isinstance(v, (list, tuple)):
        return any(_has_domain(x) for x in v)
    return False


def _join(prefix: str, key: Any) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _resolve(node: Any, trial: Any, path: str) -> Any:
    if isinstance(node, Domain):
        return node.suggest(trial, path)
    if _is_scipy_frozen(node):
        return from_scipy(node).suggest(trial, path)
    if isinstance(node, Mapping):
        return {k: _resolve(v, trial, _join(path, k)) for k, v in node.items()}
    if isinstance(node, (list, tuple)) and _has_domain(node):
        out = [_resolve(v, trial, _join(path, i)) for i, v in enumerate(node)]
        return type(node)(out) if isinstance(node, tuple) else out
    return node


def _check_keys(node: Any, path: str = "") -> None:
    if isinstance(node, Mapping):
        for k, v in node.items():
            if not isinstance(k, str) or not k:
                raise ValueError(f"search space keys must be non-empty strings; got {k!r} at {path or 'top level'}")
            _check_keys(v, _join(path, k))
    elif isinstance(node, Choice):
        for i, o in enumerate(node.options):
            _check_keys(o, f"{path}[{i}]")
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            _check_keys(v, _join(path, i))


class SearchSpace:
    """A declarative search space, optionally with constraints.

    Args:
        config: Nested dict of domains (``hs.uniform(...)``, ``hs.choice([...])``,
            scipy.stats frozen distributions) and constants.
        constraints: Callables ``fn(config) -> bool``; a configuration is feasible
            when all return true.
        max_attempts: How many configurations to draw for one trial before
            giving up with :class:`~hypersearch.exceptions.ConstraintError`.
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        constraints: Sequence[Callable[[dict[str, Any]], bool]] = (),
        *,
        max_attempts: int = 1000,
    ) -> None:
        if isinstance(config, SearchSpace):
            constraints = [*config.constraints, *constraints]
            config = config.config
        if not isinstance(config, Mapping):
            raise TypeError(f"a search space must be a dict, got {type(config).__name__}")
        _check_keys(config)
        if callable(constraints):
            constraints = [constraints]
        for c in constraints:
            if not callable(c):
                raise TypeError(f"constraints must be callables config -> bool, got {c!r}")
        if not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(f"max_attempts must be a positive integer, got {max_attempts!r}")
        self.config = config
        self.constraints = list(constraints)
        self.max_attempts = max_attempts

    def to_params(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The trial parameters that make this space produce ``config`` (what
        ``study.enqueue_trial`` needs to evaluate a known configuration first);
        ``ValueError`` listing every problem when ``config`` is not in the space."""
        from hypersearch.space._inverse import config_to_params

        return config_to_params(self, config)

    def check(self, config: Mapping[str, Any]) -> list[str]:
        """Why ``config`` is not a configuration of this space (empty: it is one)."""
        from hypersearch.space._inverse import check_config

        return check_config(self, config)

    def sample(self, trial: Any) -> dict[str, Any]:
        """Draw a feasible configuration through ``trial``'s suggest calls."""
        rejected: dict[str, int] = {}
        last: dict[str, Any] | None = None
        known = getattr(trial, "system_attrs", {}).get(DERIVED_ATTR)
        known = known if isinstance(known, dict) else None
        for attempt in range(self.max_attempts):
            config, derived = _derive(_resolve(self.config, trial, ""), known)
            failed = self._failed(config)
            if not failed:
                _record_config(trial, config)
                if derived and known is None and hasattr(trial, "set_system_attr"):
                    from hypersearch.storage._common import is_json_value, plain_scalar

                    plain = {k: plain_scalar(v) for k, v in derived.items()}
                    kept = {k: v for k, v in plain.items() if is_json_value(v)}
                    if kept:
                        trial.set_system_attr(DERIVED_ATTR, kept)
                return config
            for f in failed:
                rejected[f] = rejected.get(f, 0) + 1
            last = config
            fixed = getattr(trial, "_fixed", set())
            if fixed and set(trial.params) <= fixed:
                err = ConstraintError(
                    f"the enqueued configuration {config!r} violates constraint(s) {failed}"
                )
                err.fixed = True  # type: ignore[attr-defined]
                raise err
            if attempt + 1 < self.max_attempts:
                trial._resample()
        summary = ", ".join(f"{k} rejected {v}" for k, v in rejected.items())
        raise ConstraintError(
            f"no configuration satisfying the constraints was found in {self.max_attempts} "
            f"attempts ({summary}); last rejected: {last!r}"
        )

    def config_from_params(
        self, params: Mapping[str, Any], derived: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The configuration a trial with ``params`` received (constants of every
        kind included, e.g. a model class), with the ``sample_from`` values in
        ``derived`` taken as they are (others are computed again).  ``KeyError``
        when ``params`` lack a parameter the space needs."""
        config, _ = _derive(_resolve(self.config, _ParamsTrial(params), ""), derived)
        return config

    def _failed(self, config: dict[str, Any]) -> list[str]:
        failed = []
        for i, c in enumerate(self.constraints):
            cname = getattr(c, "__name__", f"constraint {i}")
            if cname == "<lambda>":
                cname = f"constraint {i} (lambda)"
            try:
                ok = c(config)
            except Exception as e:
                raise ConstraintError(f"{cname} raised {type(e).__name__}: {e} on {config!r}") from e
            if not ok:
                failed.append(cname)
        return failed

    def objective(self, fn: Callable[[dict[str, Any]], Any]) -> Callable[[Any], Any]:
        """Wrap ``fn(config)`` as a define-by-run objective ``objective(trial)``."""

        def _objective(trial: Any) -> Any:
            return fn(self.sample(trial))

        _objective.__name__ = getattr(fn, "__name__", "objective")
        _objective.__doc__ = getattr(fn, "__doc__", None)
        return _objective

    def grid_axes(self) -> dict[str, list[Any]]:
        """``{parameter name: values}`` of every :func:`grid` axis outside conditional branches."""
        axes: dict[str, list[Any]] = {}

        def walk(node: Any, path: str) -> None:
            if isinstance(node, Grid):
                axes[path] = list(node.labels)  # indices for options that are no plain values
            elif isinstance(node, Mapping):
                for k, v in node.items():
                    walk(v, _join(path, k))
            elif isinstance(node, (list, tuple)):
                for i, v in enumerate(node):
                    walk(v, _join(path, i))

        walk(self.config, "")
        return axes

    def __repr__(self) -> str:
        return f"SearchSpace({self.config!r}, constraints={len(self.constraints)})"


class _ParamsTrial:
    """A stand-in trial that answers each suggest call from fixed parameters."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = params

    def suggest(self, name: str, distribution: BaseDistribution) -> Any:
        if name not in self.params:
            raise KeyError(f"no value for parameter {name!r}")
        return self.params[name]


def merge_config(config: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` updated by ``update``, the complete :func:`json_part` of the
    configuration in effect (e.g. a population-based-training exploit's): every
    value ``update`` holds is taken, nested dicts key by key, and of ``config``
    only the values JSON cannot store (objects, which ``update`` cannot hold) are
    kept.  A JSON value of ``config`` that ``update`` lacks belongs to another
    branch of a choice (an SGD config's momentum after switching to Adam) and is
    dropped, never mixed in."""
    from hypersearch.storage._common import is_json_value, plain_scalar

    out: dict[str, Any] = {}
    for k, v in config.items():
        if k in update:
            new = update[k]
            out[k] = merge_config(v, new) if isinstance(v, Mapping) and isinstance(new, Mapping) else new
        elif not isinstance(v, Mapping) and not is_json_value(plain_scalar(v)):
            out[k] = v
    for k, v in update.items():
        if k not in out:
            out[k] = v
    return out


def _record_config(trial: Any, config: dict[str, Any]) -> None:
    setter = getattr(trial, "set_user_attr", None)
    if setter is None:
        return
    setter("config", json_part(config))


def json_part(config: Mapping[str, Any]) -> dict[str, Any]:
    """What of a configuration can be stored: its JSON values (nested dicts walked,
    tuples as lists, numpy scalars as Python numbers).  A value that is no JSON
    (an object of the space, e.g. an activation function given as a constant)
    is left out, not the whole configuration: whoever rebuilds the configuration
    from the stored part takes such values from the space again."""
    from hypersearch.storage._common import is_json_value, plain_scalar

    out: dict[str, Any] = {}
    for k, v in config.items():
        if isinstance(v, Mapping):
            out[k] = json_part(v)
        elif is_json_value(v := plain_scalar(v)):
            out[k] = v
    return out
