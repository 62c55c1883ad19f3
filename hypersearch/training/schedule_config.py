"""Build a learning-rate schedule from search-space parameters.

Schedules have shape parameters worth tuning (warm-up length, final rate,
decay factor...).  :func:`schedule_from_config` reads them from a trial's
configuration, so a space such as::

    {
        "lr": hs.loguniform(1e-4, 1e-2),
        "schedule": hs.choice(["cosine", "linear", "one_cycle"]),
        "warmup_ratio": hs.uniform(0.0, 0.1),
        "min_lr_ratio": hs.choice([0.0, 0.1]),
    }

searches over schedules as well as rates.  Keys a schedule does not use are
ignored (a flat space holds the parameters of every schedule in the choice).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypersearch.training._checks import in_range, integer, non_negative, positive
from hypersearch.training.schedules import (
    Schedule,
    constant,
    cosine_annealing,
    exponential,
    linear_warmup,
    one_cycle,
    polynomial_decay,
    step_decay,
)

__all__ = ["SCHEDULE_NAMES", "schedule_from_config"]

#: Accepted values of the ``"schedule"`` key.
SCHEDULE_NAMES = (
    "constant",
    "step",
    "exponential",
    "linear",
    "polynomial",
    "cosine",
    "one_cycle",
)

_FN = "schedule_from_config"


def _lookup_lr(config: Mapping[str, Any]) -> float:
    found = {k: config[k] for k in ("lr", "learning_rate") if k in config}
    if len(found) == 2 and found["lr"] != found["learning_rate"]:
        raise ValueError(f"{_FN}: config has both lr={found['lr']!r} and "
                         f"learning_rate={found['learning_rate']!r}; keep one")
    if found:
        return next(iter(found.values()))
    opt = config.get("optimizer")
    if isinstance(opt, Mapping) and "lr" in opt:
        return opt["lr"]
    raise ValueError(f"{_FN}: no learning rate: the config needs 'lr' or 'learning_rate' "
                     "(or pass lr=...)")


def schedule_from_config(
    config: Mapping[str, Any],
    *,
    total_steps: int | None = None,
    steps_per_epoch: int | None = None,
    lr: float | None = None,
) -> Schedule:
    """The schedule described by ``config``.

    Keys (all optional except the rate and, for decaying schedules, the horizon):

    * ``schedule``: one of :data:`SCHEDULE_NAMES` (default ``"constant"``), or a
      dict with a ``"name"`` and its own parameters, which is what a
      conditional ``hs.choice([{"name": "cosine", ...}, ...])`` produces; the
      dict's keys override the top-level ones.
    * ``lr`` or ``learning_rate`` (else ``config["optimizer"]["lr"]``): the base
      (peak) rate.
    * ``total_steps``: the horizon; or ``epochs`` with ``steps_per_epoch``.
    * ``warmup_steps``, ``warmup_ratio`` (of ``total_steps``) or ``warmup_epochs``
      (with ``steps_per_epoch``); ``warmup_start_factor``.  The warm-up counts
      inside the horizon: the decay gets ``total_steps - warmup_steps`` steps.
      For ``one_cycle`` a warm-up sets ``pct_start`` when that is absent.
    * ``min_lr`` or ``min_lr_ratio`` (of the rate): floor of ``cosine``,
      ``linear`` and ``polynomial``.
    * ``step_size`` (or ``step_epochs``) and ``gamma`` (``step``); ``gamma``
      (``exponential``); ``power`` (``polynomial``); ``restarts`` and
      ``cycle_mult`` (``cosine``); ``pct_start``, ``div_factor``,
      ``final_div_factor``, ``anneal`` (``one_cycle``).

    Args:
        config: A trial's configuration.
        total_steps: Horizon in steps, when the config does not hold it (it is
            rarely searched).
        steps_per_epoch: Converts ``epochs``, ``warmup_epochs`` and
            ``step_epochs`` to steps.
        lr: Rate to use instead of the config's.

    Raises:
        ValueError: Unknown schedule, missing rate or horizon, or a bad value
            (the message names the key).
    """
    if not isinstance(config, Mapping):
        raise ValueError(f"{_FN}: config must be a dict, got {type(config).__name__}")
    cfg: dict[str, Any] = dict(config)
    kind = cfg.get("schedule", "constant")
    if isinstance(kind, Mapping):
        cfg.update({k: v for k, v in kind.items() if k != "name"})
        if "name" not in kind:
            raise ValueError(f"{_FN}: a schedule given as a dict needs a 'name' key, got {kind!r}")
        kind = kind["name"]
    if kind not in SCHEDULE_NAMES:
        raise ValueError(f"{_FN}: unknown schedule {kind!r}; choose one of {list(SCHEDULE_NAMES)}")
    base = positive(_FN, "lr", _lookup_lr(cfg) if lr is None else lr)

    spe = None if steps_per_epoch is None else integer(_FN, "steps_per_epoch", steps_per_epoch, 1)

    def epochs_to_steps(key: str) -> int | None:
        if key not in cfg:
            return None
        if spe is None:
            raise ValueError(f"{_FN}: {key!r} needs steps_per_epoch=... to convert it to steps")
        return round(non_negative(_FN, key, cfg[key]) * spe)

    if total_steps is None and "total_steps" in cfg:
        total_steps = cfg["total_steps"]
    if total_steps is None:
        total_steps = epochs_to_steps("epochs")
    total = None if total_steps is None else integer(_FN, "total_steps", total_steps, 1)

    warmup = 0
    warmup_given = any(k in cfg for k in ("warmup_steps", "warmup_ratio", "warmup_epochs"))
    if "warmup_steps" in cfg:
        warmup = integer(_FN, "warmup_steps", cfg["warmup_steps"], 0)
    elif "warmup_ratio" in cfg:
        ratio = in_range(_FN, "warmup_ratio", cfg["warmup_ratio"], 0.0, 1.0, high_open=True)
        if total is None:
            raise ValueError(f"{_FN}: warmup_ratio needs total_steps")
        warmup = round(ratio * total)
    elif "warmup_epochs" in cfg:
        warmup = epochs_to_steps("warmup_epochs") or 0
    start_factor = in_range(
        _FN, "warmup_start_factor", cfg.get("warmup_start_factor", 0.0), 0.0, 1.0
    )

    def horizon() -> int:
        if total is None:
            raise ValueError(f"{_FN}: the {kind!r} schedule needs total_steps (pass "
                             "total_steps=..., or epochs with steps_per_epoch=...)")
        if warmup >= total:
            raise ValueError(f"{_FN}: warmup of {warmup} steps leaves nothing of "
                             f"total_steps={total}")
        return total - warmup

    def floor() -> float:
        if "min_lr" in cfg:
            return in_range(_FN, "min_lr", cfg["min_lr"], 0.0, base)
        return base * in_range(_FN, "min_lr_ratio", cfg.get("min_lr_ratio", 0.0), 0.0, 1.0)

    if kind == "one_cycle":
        if total is None:
            raise ValueError(f"{_FN}: the 'one_cycle' schedule needs total_steps")
        # A warm-up given sets the rising part (a ratio exactly, not rounded to
        # steps; at least one step, which one-cycle needs); 0.3 only when none is
        # given, as in PyTorch's OneCycleLR.
        ratio_used = "warmup_ratio" in cfg and "warmup_steps" not in cfg  # the key `warmup` came from
        exact = cfg["warmup_ratio"] if ratio_used else warmup / total
        pct = cfg.get("pct_start", max(float(exact), 1.0 / total) if warmup_given else 0.3)
        return one_cycle(
            base,
            total,
            pct_start=pct,
            div_factor=cfg.get("div_factor", 25.0),
            final_div_factor=cfg.get("final_div_factor", 1e4),
            anneal=cfg.get("anneal", "cos"),
        )

    sched: Schedule
    if kind == "constant":
        sched = constant(base)
    elif kind == "step":
        if "step_size" in cfg:
            size = cfg["step_size"]
        elif "step_epochs" in cfg:
            size = epochs_to_steps("step_epochs")
        else:
            raise ValueError(f"{_FN}: the 'step' schedule needs step_size (or step_epochs)")
        sched = step_decay(base, size, cfg.get("gamma", 0.1))
    elif kind == "exponential":
        if "gamma" not in cfg:
            raise ValueError(f"{_FN}: the 'exponential' schedule needs gamma")
        sched = exponential(base, cfg["gamma"])
    elif kind in ("linear", "polynomial"):
        power = 1.0 if kind == "linear" else cfg.get("power", 1.0)
        sched = polynomial_decay(base, horizon(), floor(), power)
    else:  # cosine
        sched = cosine_annealing(
            base,
            horizon(),
            floor(),
            restarts=cfg.get("restarts", 0),
            cycle_mult=cfg.get("cycle_mult", 1.0),
        )
    if warmup:
        return linear_warmup(sched, warmup, start_factor)
    return sched
