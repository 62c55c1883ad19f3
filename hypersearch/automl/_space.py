"""The joint conditional search space over model families and their hyperparameters.

A configuration is chosen in two levels: the categorical parameter ``model``
picks a family, then that family's hyperparameters (``<family>.<name>``) are
suggested inside its branch only.  A trial therefore holds ``model`` plus the
parameters of one family, and a sampler that models conditional spaces (TPE)
learns both which family works and which settings within it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypersearch.automl._families import FAMILIES, FAMILY_NAMES, TaskContext


def resolve_families(families: Iterable[str] | str | None) -> tuple[str, ...]:
    """Validate a ``families`` argument; return the names in canonical order.

    ``None`` means every family.  Unknown or empty selections raise a
    ``ValueError`` naming the parameter and the valid names.
    """
    if families is None:
        return FAMILY_NAMES
    if isinstance(families, str):
        families = [families]
    try:
        names = list(families)
    except TypeError:
        raise ValueError(
            f"families must be a list of family names such as ['rf', 'linear'], got {families!r}"
        ) from None
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise ValueError(
            f"families has unknown name(s) {unknown}; valid names are {list(FAMILY_NAMES)}"
        )
    if not names:
        raise ValueError(f"families is empty; choose from {list(FAMILY_NAMES)}")
    return tuple(n for n in FAMILY_NAMES if n in names)


def suggest_config(
    trial: Any, ctx: TaskContext, families: Iterable[str] | None = None
) -> dict[str, Any]:
    """Suggest one configuration of the joint space on ``trial``.

    Args:
        trial: A :class:`~hypersearch.Trial` (or any object with the same
            ``suggest_*`` methods, e.g. an Optuna trial).
        ctx: The task.
        families: Families to choose from (default: all).

    Returns:
        ``{"model": family, "<family>.<name>": value, ...}``.
    """
    names = resolve_families(families)
    model = trial.suggest_categorical("model", list(names))
    return {"model": model, **FAMILIES[model].suggest(trial, ctx)}


def default_configs(
    ctx: TaskContext, families: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """The default configuration of each family, cheapest family first."""
    return [{"model": name, **FAMILIES[name].default(ctx)} for name in resolve_families(families)]
