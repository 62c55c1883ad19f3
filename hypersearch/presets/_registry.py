"""The preset registry: named search spaces with a known-good starting point."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hypersearch.space._inverse import check_config, config_to_params

__all__ = [
    "Preset",
    "defaults",
    "describe",
    "enqueue_defaults",
    "get",
    "names",
    "register",
    "space",
    "variants",
]


@dataclass(frozen=True)
class Preset:
    """A domain's search space and starting configurations.

    Attributes:
        name: Registry key (``"vision"``).
        summary: One line on what the preset is for.
        sources: The published recipes the ranges and defaults follow.
        build_space: Returns a fresh declarative space (a dict of ``hs.*`` domains).
        starts: Starting configurations by variant name; the first is the default.
        notes: How to use the space (units, keys the caller must add...).
    """

    name: str
    summary: str
    sources: tuple[str, ...]
    build_space: Callable[[], dict[str, Any]]
    starts: Mapping[str, dict[str, Any]]
    notes: str = ""

    def __post_init__(self) -> None:
        if not self.starts:
            raise ValueError(f"preset {self.name!r} needs at least one starting configuration")
        sp = self.build_space()
        for variant, cfg in self.starts.items():
            problems = check_config(sp, cfg)
            if problems:
                raise ValueError(f"preset {self.name!r}, variant {variant!r}: {problems}")


_REGISTRY: dict[str, Preset] = {}


def register(preset: Preset, *, replace: bool = False) -> Preset:
    """Add ``preset`` to the registry (its starts are checked against its space)."""
    if preset.name in _REGISTRY and not replace:
        raise ValueError(f"a preset named {preset.name!r} is already registered")
    _REGISTRY[preset.name] = preset
    return preset


def names() -> list[str]:
    """Names of the registered presets."""
    return sorted(_REGISTRY)


def get(name: str) -> Preset:
    """The :class:`Preset` called ``name`` (``_`` and ``-`` are interchangeable)."""
    key = name.strip().lower().replace("_", "-") if isinstance(name, str) else name
    try:
        return _REGISTRY[key]
    except (KeyError, TypeError):
        raise ValueError(f"unknown preset {name!r}; known presets: {', '.join(names())}") from None


def space(name: str) -> dict[str, Any]:
    """A fresh declarative search space for the preset ``name``: pass it to
    ``hs.tune(config=...)`` or ``hs.SearchSpace(...)``; add or override keys freely."""
    return get(name).build_space()


def variants(name: str) -> list[str]:
    """Names of the preset's starting configurations (the first is the default)."""
    return list(get(name).starts)


def defaults(name: str, variant: str | None = None) -> dict[str, Any]:
    """A good starting configuration inside ``space(name)`` (a copy: edit it freely).

    Args:
        name: Preset name.
        variant: One of :func:`variants` (default: the first).
    """
    preset = get(name)
    if variant is None:
        variant = next(iter(preset.starts))
    if variant not in preset.starts:
        raise ValueError(
            f"preset {preset.name!r} has no variant {variant!r}; variants: {list(preset.starts)}"
        )
    return copy.deepcopy(preset.starts[variant])


def describe(name: str) -> str:
    """What the preset is for, where its ranges come from, and how to use it."""
    p = get(name)
    lines = [f"{p.name}: {p.summary}", "", "Sources:"]
    lines += [f"  - {s}" for s in p.sources]
    lines += ["", f"Variants: {', '.join(p.starts)}"]
    if p.notes:
        lines += ["", p.notes]
    return "\n".join(lines)


def enqueue_defaults(
    study: Any, name: str, variant: str | None = None, *, skip_if_exists: bool = True
) -> int | None:
    """Queue the preset's starting configuration so the study evaluates it first.

    Use with a study optimising ``hs.SearchSpace(presets.space(name))`` (or
    ``hs.tune(..., name=study_name, storage=..., resume=True)``): a good
    configuration among the first trials gives model-based samplers a strong
    reference point and makes the search at worst as good as the recipe.

    Args:
        study: A :class:`~hypersearch.Study`.
        name: Preset name.
        variant: Which starting configuration (default: the first).
        skip_if_exists: Do nothing when a trial with these parameters already exists
            (a re-run script does not queue it twice).

    Returns:
        The queued trial's number, or ``None`` when skipped.
    """
    params = config_to_params(space(name), defaults(name, variant))
    return study.enqueue_trial(params, skip_if_exists=skip_if_exists)
