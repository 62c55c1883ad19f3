"""PyTorch integration: report and prune from a plain training loop.

One object serves both ways of running trials, so the same training code works in
a define-by-run objective and in an ``hs.tune`` trainable:

* with a trial (``study.optimize``), :meth:`TrialReporter.report` calls
  ``trial.report(value, step)`` and raises :class:`~hypersearch.TrialPruned` when the
  study's scheduler says the trial should stop;
* without one, inside ``hs.tune``, it calls ``hs.report`` (which stops, pauses or
  restarts the trial as the scheduler decides) and can save the model's and
  optimizer's state as the trial's checkpoint, so an ASHA promotion, a PBT exploit
  or a retry resumes training instead of starting over (:meth:`TrialReporter.restore`).

A loss that becomes NaN or infinite (a diverged run) is reported, so the trial's
history shows it, and then prunes the trial by default: training on would only
waste the budget.  ::

    from hypersearch.integrations.pytorch import TrialReporter

    def objective(trial):
        model, opt = build(trial.suggest_float("lr", 1e-4, 1e-1, log=True))
        reporter = TrialReporter(trial, metric="val_loss")
        for epoch in range(1, 21):
            train_one_epoch(model, opt)
            reporter.report(evaluate(model), epoch)   # raises TrialPruned when pruned
        return reporter.last_value

Needs PyTorch (``pip install 'hypersearch[torch]'``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

try:
    import torch
except ImportError as _e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "hypersearch.integrations.pytorch needs PyTorch: pip install 'hypersearch[torch]'"
    ) from _e

from hypersearch.exceptions import TrialPruned

__all__ = ["TrialReporter", "load_state_checkpoint", "report_and_prune", "state_checkpoint"]

_NAN_POLICIES = ("prune", "fail", "report")


def _as_float(value: Any, metric: str) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(
                f"{metric} must be a single number; got a tensor of shape {tuple(value.shape)} "
                "(reduce it first, e.g. loss.mean())"
            )
        return float(value.detach().cpu().item())
    if isinstance(value, bool):
        raise TypeError(f"{metric} must be a number, got a bool")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{metric} must be a number, got {type(value).__name__}: {value!r}") from None


def _check_policy(on_nan: str) -> str:
    if on_nan not in _NAN_POLICIES:
        raise ValueError(f"on_nan must be one of {_NAN_POLICIES}, got {on_nan!r}")
    return on_nan


def _diverged(metric: str, value: float, step: int | None, on_nan: str) -> None:
    """After a non-finite value was reported: prune or fail as ``on_nan`` says."""
    where = f" at step {step}" if step is not None else ""
    msg = f"{metric} is {value}{where}: the run diverged"
    if on_nan == "prune":
        raise TrialPruned(msg)
    if on_nan == "fail":
        raise FloatingPointError(f"{msg} (on_nan='fail')")


def report_and_prune(trial: Any, value: Any, step: int, *, metric: str = "value",
                     on_nan: str = "prune") -> None:
    """Report ``value`` at ``step`` to ``trial`` and raise :class:`~hypersearch.TrialPruned`
    when the scheduler says the trial should stop (the one-call form of
    ``trial.report`` + ``trial.should_prune``).

    Args:
        trial: The trial of a define-by-run objective.
        value: The intermediate value (a number or a one-element tensor).
        step: Its step (epoch, iteration: the resource spent so far).
        metric: Name used in messages.
        on_nan: What a NaN or infinite value does after it is reported: ``"prune"``
            the trial (default), ``"fail"`` it (``FloatingPointError``; add it to
            ``optimize(catch=...)`` to keep the study going) or only ``"report"`` it
            and let the scheduler decide.
    """
    _check_policy(on_nan)
    v = _as_float(value, metric)
    trial.report(v, step)
    if not math.isfinite(v):
        _diverged(metric, v, step, on_nan)
    if trial.should_prune():
        raise TrialPruned(f"pruned at step {step} ({metric}={v:.6g})")


def _to_cpu(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, Mapping):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_to_cpu(v) for v in obj)
    return obj


def state_checkpoint(model: torch.nn.Module | None = None,
                     optimizer: torch.optim.Optimizer | None = None,
                     lr_scheduler: Any = None, **extra: Any) -> dict[str, Any]:
    """A checkpoint of training state: CPU copies of the ``state_dict`` of the model,
    optimizer and learning-rate scheduler given, plus ``extra`` values (e.g.
    ``step=epoch``).  Copies, so later training does not change a saved checkpoint,
    and on the CPU, so it loads on any device."""
    ckpt: dict[str, Any] = dict(extra)
    for key, obj in (("model", model), ("optimizer", optimizer), ("lr_scheduler", lr_scheduler)):
        if obj is not None:
            ckpt[key] = _to_cpu(obj.state_dict())
    return ckpt


def load_state_checkpoint(ckpt: Mapping[str, Any], model: torch.nn.Module | None = None,
                          optimizer: torch.optim.Optimizer | None = None,
                          lr_scheduler: Any = None) -> dict[str, Any]:
    """Load a :func:`state_checkpoint` into the objects given; returns its extra values."""
    for key, obj in (("model", model), ("optimizer", optimizer), ("lr_scheduler", lr_scheduler)):
        if obj is None:
            continue
        if key not in ckpt:
            raise KeyError(f"the checkpoint has no {key!r} state (it has {sorted(ckpt)})")
        obj.load_state_dict(ckpt[key])
    return {k: v for k, v in ckpt.items() if k not in ("model", "optimizer", "lr_scheduler")}


def _require_tune_session(who: str) -> None:
    from hypersearch.tune._session import current

    try:
        current()
    except RuntimeError:
        raise RuntimeError(
            f"{who} without a trial reports through hs.report, which works only inside a "
            "trainable run by hs.tune(); in a define-by-run objective pass the trial"
        ) from None


class TrialReporter:
    """Reports a training loop's metric to the trial and stops it when pruned.

    Args:
        trial: The trial of a define-by-run objective, or ``None`` inside an
            ``hs.tune`` trainable (reports then go through ``hs.report``).
        metric: Name of the reported value (with ``hs.tune``: the key passed to
            ``hs.report``, which must be the tuned metric).
        on_nan: ``"prune"`` (default), ``"fail"`` or ``"report"``: see
            :func:`report_and_prune`.
        model, optimizer, lr_scheduler: Training state saved by
            ``report(..., checkpoint=True)`` and loaded by :meth:`restore` (``hs.tune``
            only: define-by-run trials have no checkpoints).
    """

    def __init__(self, trial: Any = None, *, metric: str = "loss", on_nan: str = "prune",
                 model: torch.nn.Module | None = None,
                 optimizer: torch.optim.Optimizer | None = None,
                 lr_scheduler: Any = None) -> None:
        if not isinstance(metric, str) or not metric:
            raise ValueError(f"metric must be a non-empty string, got {metric!r}")
        self.trial = trial
        self.metric = metric
        self.on_nan = _check_policy(on_nan)
        self.model = model
        self.optimizer = optimizer
        self.lr_scheduler = lr_scheduler
        self.last_step: int | None = None
        self.last_value: float | None = None
        self._warned = False
        if trial is None:
            _require_tune_session("TrialReporter()")

    @property
    def in_tune(self) -> bool:
        """Whether reports go through ``hs.report`` (an ``hs.tune`` trainable)."""
        return self.trial is None

    def report(self, value: Any, step: int | None = None, *, checkpoint: Any = None,
               **metrics: Any) -> None:
        """Report ``value`` at ``step``; raise :class:`~hypersearch.TrialPruned` when the
        trial should stop (with ``hs.tune``, ``hs.report`` raises what the scheduler
        decides: stop, pause or restart).

        Args:
            value: The metric (a number or a one-element tensor).
            step: Epoch or iteration, counted from 1 (default: the previous step + 1).
            checkpoint: ``hs.tune`` only: ``True`` saves the model, optimizer and
                learning-rate scheduler given to the reporter (:func:`state_checkpoint`,
                with ``step``); any other object is saved as it is.
            **metrics: More values for the result row (``hs.tune`` only; ignored
                with a trial, whose intermediate values hold one number per step).
        """
        if step is None:
            step = 1 if self.last_step is None else self.last_step + 1
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"step must be a non-negative integer, got {step!r}")
        v = _as_float(value, self.metric)
        self.last_step, self.last_value = step, v
        if checkpoint is True:
            checkpoint = state_checkpoint(self.model, self.optimizer, self.lr_scheduler, step=step)
        elif checkpoint is False:
            checkpoint = None
        if self.trial is not None:
            if checkpoint is not None and not self._warned:
                self._warned = True
                warnings.warn(
                    "TrialReporter: checkpoints are kept only for hs.tune trials; in a "
                    "define-by-run objective the checkpoint is ignored",
                    stacklevel=2,
                )
            report_and_prune(self.trial, v, step, metric=self.metric, on_nan=self.on_nan)
            return
        import hypersearch as hs

        row = {k: (_as_float(x, k) if isinstance(x, torch.Tensor) else x) for k, x in metrics.items()}
        row[self.metric] = v
        row["training_iteration"] = step
        hs.report(row, checkpoint=checkpoint)
        if not math.isfinite(v):
            _diverged(self.metric, v, step, self.on_nan)

    def restore(self) -> int:
        """Load the trial's latest checkpoint (``hs.tune``: after a promotion, a PBT
        exploit or a retry) into the model, optimizer and learning-rate scheduler;
        returns the step it was saved at, ``0`` when starting fresh (always ``0`` in a
        define-by-run objective).  Resume with ``for epoch in range(start + 1, ...)``."""
        if self.trial is not None:
            return 0
        import hypersearch as hs

        ckpt = hs.get_checkpoint()
        if ckpt is None:
            return 0
        if not isinstance(ckpt, Mapping):
            raise TypeError(
                f"the trial's checkpoint is a {type(ckpt).__name__}, not a state_checkpoint "
                "dict; load it yourself with hs.get_checkpoint()"
            )
        extra = load_state_checkpoint(ckpt, self.model, self.optimizer, self.lr_scheduler)
        step = int(extra.get("step", 0) or 0)
        self.last_step = step or None  # default steps go on from here
        return step
