"""From a concrete configuration back to the parameters of a declarative space
(:meth:`SearchSpace.to_params` / :meth:`SearchSpace.check`).

A declarative space (:class:`hypersearch.SearchSpace`) turns suggested
parameters into a nested configuration.  Enqueueing a known-good
configuration, or checking that it lies inside the space, needs the inverse:
the flat ``{"path.to.param": value}`` dict, with the branch index for a
conditional ``choice`` of dicts.  Each value is checked with the domain's own
distribution (``distribution.contains``), so "inside the space" means exactly
what the samplers mean by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypersearch.space.declarative import (
    Choice,
    Param,
    Quantile,
    SampleFrom,
    SearchSpace,
    _has_domain,
    _is_scipy_frozen,
    _join,
    from_scipy,
)
from hypersearch.space.distributions import CategoricalDistribution

__all__ = ["check_config", "config_to_params"]


def _walk(node: Any, value: Any, path: str, out: dict[str, Any], problems: list[str]) -> None:
    where = path or "the configuration"
    if _is_scipy_frozen(node):
        node = from_scipy(node)
    if isinstance(node, SampleFrom):
        return  # derived from the parameters, not one itself: any value
    if isinstance(node, Param):
        if node.distribution.contains(value) and (node.quantum is None or node.snap(value) == value):
            out[path] = node.distribution.validate_value(value)
        else:
            grid = "" if node.quantum is None else f" on multiples of {node.quantum!r}"
            problems.append(f"{where}: {value!r} is not in {node.distribution!r}{grid}")
    elif isinstance(node, Quantile):
        out[path] = float(node.frozen.cdf(value))
    elif isinstance(node, Choice):
        if not node.indexed:
            dist = CategoricalDistribution(node.labels)
            if dist.contains(value):
                out[path] = dist.validate_value(value)
            else:
                problems.append(f"{where}: {value!r} is not one of {node.options!r}")
            return
        for i, option in enumerate(node.options):
            sub: dict[str, Any] = {}
            sub_problems: list[str] = []
            _walk(option, value, path, sub, sub_problems)
            if not sub_problems:
                out[path] = i
                out.update(sub)
                return
        problems.append(f"{where}: {value!r} matches none of the options {node.options!r}")
    elif isinstance(node, Mapping):
        if not isinstance(value, Mapping):
            problems.append(f"{where}: expected a dict, got {value!r}")
            return
        missing = [k for k in node if k not in value]
        extra = [k for k in value if k not in node]
        if missing:
            problems.append(f"{where}: missing key(s) {missing}")
        if extra:
            problems.append(f"{where}: key(s) {extra} are not in the space")
        for k in node:
            if k in value:
                _walk(node[k], value[k], _join(path, k), out, problems)
    elif isinstance(node, (list, tuple)) and _has_domain(node):
        if not isinstance(value, (list, tuple)) or len(value) != len(node):
            problems.append(f"{where}: expected a sequence of {len(node)} values, got {value!r}")
            return
        for i, (n, v) in enumerate(zip(node, value, strict=True)):
            _walk(n, v, _join(path, i), out, problems)
    else:  # a constant: the configuration must carry the same value
        if not _same(node, value):
            problems.append(f"{where}: the space fixes {node!r}, got {value!r}")


def _same(node: Any, value: Any) -> bool:
    """Whether a configuration's ``value`` is the space's constant ``node``: lists and
    tuples alike, ``True`` never equal to ``1``, arrays compared element-wise."""
    if node is value:
        return True
    if isinstance(node, bool) or isinstance(value, bool):
        return isinstance(node, bool) and isinstance(value, bool) and node == value
    if isinstance(node, (list, tuple)) and isinstance(value, (list, tuple)):
        return len(node) == len(value) and all(_same(n, v) for n, v in zip(node, value, strict=True))
    if isinstance(node, Mapping) and isinstance(value, Mapping):
        return node.keys() == value.keys() and all(_same(node[k], value[k]) for k in node)
    if hasattr(node, "shape") or hasattr(value, "shape"):  # numpy arrays and the like
        import numpy as np

        try:
            return bool(np.array_equal(node, value))
        except Exception:  # noqa: BLE001 - not comparable: not the same
            return False
    if isinstance(node, float) or isinstance(value, float):
        import math

        # float noise apart (0.1 * 3 against a stored 0.3), the same number
        try:
            return math.isclose(node, value, rel_tol=1e-12, abs_tol=1e-300)
        except TypeError:
            return False
    try:
        return bool(node == value)
    except Exception:  # noqa: BLE001 - an object whose == does not give a truth value
        return False


def _space_dict(space: Mapping[str, Any] | SearchSpace) -> Mapping[str, Any]:
    return space.config if isinstance(space, SearchSpace) else space


def check_config(space: Mapping[str, Any] | SearchSpace, config: Mapping[str, Any]) -> list[str]:
    """Why ``config`` is not a configuration of ``space`` (empty list: it is one).

    Constants of the space must be matched exactly, every searched value must lie
    in its domain, and the keys must be the same.  Constraints of a
    :class:`~hypersearch.SearchSpace` are checked too.
    """
    problems: list[str] = []
    _walk(_space_dict(space), config, "", {}, problems)
    if not problems and isinstance(space, SearchSpace):
        problems.extend(f"violates {name}" for name in space._failed(dict(config)))
    return problems


def config_to_params(
    space: Mapping[str, Any] | SearchSpace, config: Mapping[str, Any]
) -> dict[str, Any]:
    """The trial parameters that make ``space`` produce ``config``: what
    :meth:`~hypersearch.Study.enqueue_trial` needs to evaluate ``config`` first.

    Raises:
        ValueError: ``config`` is not a configuration of ``space`` (the message
            lists every problem).
    """
    out: dict[str, Any] = {}
    problems: list[str] = []
    _walk(_space_dict(space), config, "", out, problems)
    if not problems and isinstance(space, SearchSpace):
        problems.extend(f"violates {name}" for name in space._failed(dict(config)))
    if problems:
        raise ValueError("the configuration is not in the search space: " + "; ".join(problems))
    return out
