"""Lightning integration: :class:`PruningCallback` reports a monitored metric after
each validation and stops trials that the study's scheduler prunes.

::

    from hypersearch.integrations.lightning import PruningCallback

    def objective(trial):
        model = LitModel(lr=trial.suggest_float("lr", 1e-4, 1e-1, log=True))
        trainer = L.Trainer(max_epochs=20, callbacks=[PruningCallback(trial, "val_loss")])
        trainer.fit(model, datamodule=dm)        # raises TrialPruned when pruned
        return trainer.callback_metrics["val_loss"].item()

Inside an ``hs.tune`` trainable, create it without a trial: it reports through
``hs.report`` and, with ``checkpoint=True``, saves the trainer's checkpoint with
the report, so a trial promoted by ASHA, exploited by PBT or retried after a crash
resumes with ``trainer.fit(..., ckpt_path=PruningCallback.resume_path())``.

Uses ``lightning.pytorch`` when it is installed, otherwise ``pytorch_lightning``;
needs one of them (``pip install lightning``).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from typing import Any

try:
    import lightning.pytorch as pl
except ImportError:  # pragma: no cover - depends on the environment
    try:
        import pytorch_lightning as pl  # type: ignore[no-redef]
    except ImportError as _e:
        raise ImportError(
            "hypersearch.integrations.lightning needs Lightning: pip install 'hypersearch[lightning]' "
            "(or pip install lightning)"
        ) from _e

from hypersearch.exceptions import TrialPruned
from hypersearch.integrations.pytorch import (
    _check_policy,
    _diverged,
    _require_tune_session,
    report_and_prune,
)

__all__ = ["PruningCallback"]

_CKPT_FILE = "trainer.ckpt"


class PruningCallback(pl.Callback):
    """Report ``monitor`` at the end of each validation and stop pruned trials.

    The step reported is the number of epochs trained (``current_epoch + 1``), so
    schedulers' resources are epochs (``ASHA(max_t=max_epochs, grace_period=1)``).
    With several validations per epoch, the first of each epoch is reported;
    sanity-check validations are not.

    **How a pruned trial stops.**  The callback does not raise inside the
    validation hook.  It sets ``trainer.should_stop`` so that Lightning ends the
    fit loop cleanly (end-of-epoch hooks, loggers and other callbacks finish as
    usual, and every process of a distributed run stops at the same epoch, since
    the decision is made on global rank zero and broadcast), and it raises
    :class:`~hypersearch.TrialPruned` from ``on_fit_end``: ``trainer.fit`` then
    raises, and the objective ends as a PRUNED trial without checking a flag.
    With ``hs.tune`` the same is done with what ``hs.report`` raised (stop, pause
    at a rung, PBT restart, or ``max_t`` reached).  ``min_epochs`` can keep a
    stopped trainer running; the trial is still pruned at the end of fit.

    Args:
        trial: The trial of a define-by-run objective, or ``None`` inside an
            ``hs.tune`` trainable (reports go through ``hs.report``).
        monitor: Metric in ``trainer.callback_metrics`` (logged with ``self.log``).
        metric: Key it is reported under with ``hs.tune`` (default: ``monitor``); it
            must be the metric ``hs.tune`` optimises.
        on_nan: A NaN or infinite value is reported and then ``"prune"`` (default)
            or ``"fail"`` (``FloatingPointError``) the trial, or only ``"report"``
            it and let the scheduler decide.
        checkpoint: ``hs.tune`` only: save the trainer's checkpoint with every
            report, so a resumed trial continues training (:meth:`resume_path`).
    """

    def __init__(self, trial: Any = None, monitor: str = "val_loss", *, metric: str | None = None,
                 on_nan: str = "prune", checkpoint: bool = False) -> None:
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor must be a metric name, got {monitor!r}")
        self.trial = trial
        self.monitor = monitor
        self.metric = metric or monitor
        self.on_nan = _check_policy(on_nan)
        self.checkpoint = bool(checkpoint)
        if trial is None:
            _require_tune_session("PruningCallback()")
        elif checkpoint:
            raise ValueError(
                "checkpoint=True needs hs.tune (define-by-run trials have no checkpoints); "
                "use Lightning's ModelCheckpoint to keep the model"
            )
        self._pending: BaseException | None = None
        self._last_step: int | None = None

    @staticmethod
    def resume_path() -> str | None:
        """``hs.tune`` only: path of the trainer checkpoint this trial should resume
        from (pass it as ``trainer.fit(..., ckpt_path=...)``), ``None`` when starting
        fresh."""
        import hypersearch as hs

        saved = hs.get_checkpoint()
        if saved is None:
            return None
        path = os.path.join(str(saved), _CKPT_FILE)
        return path if os.path.exists(path) else None

    # -- hooks ---------------------------------------------------------------------------------
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._pending = None
        self._last_step = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or self._pending is not None:
            return
        step = int(trainer.current_epoch) + 1
        if step == self._last_step:
            return
        self._last_step = step
        if self.monitor not in trainer.callback_metrics:
            raise ValueError(
                f"PruningCallback: {self.monitor!r} is not among the logged metrics "
                f"{sorted(trainer.callback_metrics)}; log it in validation_step with "
                f"self.log({self.monitor!r}, value)"
            )
        value = float(trainer.callback_metrics[self.monitor])
        ckpt_dir = self._save_checkpoint(trainer) if self.checkpoint else None
        outcome: BaseException | None = None
        if trainer.is_global_zero:
            from hypersearch.tune._session import Signal

            try:
                self._report(value, step, ckpt_dir)
            except (Exception, Signal) as e:  # pruned, paused, restarted, max_t reached, diverged
                outcome = e
        if ckpt_dir is not None and trainer.is_global_zero:
            shutil.rmtree(ckpt_dir, ignore_errors=True)  # hs.report copied it
        stop = trainer.strategy.broadcast(outcome is not None, src=0)
        if stop:
            trainer.should_stop = True
            self._pending = outcome or TrialPruned(f"stopped on global rank zero at epoch {step}")

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            raise pending

    # -- helpers -------------------------------------------------------------------------------
    def _report(self, value: float, step: int, ckpt_dir: str | None) -> None:
        if self.trial is not None:
            report_and_prune(self.trial, value, step, metric=self.monitor, on_nan=self.on_nan)
            return
        import hypersearch as hs

        hs.report({self.metric: value, "epoch": step, "training_iteration": step}, checkpoint=ckpt_dir)
        if not math.isfinite(value):
            _diverged(self.monitor, value, step, self.on_nan)

    def _save_checkpoint(self, trainer: pl.Trainer) -> str:
        path = tempfile.mkdtemp(prefix="hs_lightning_") if trainer.is_global_zero else None
        path = trainer.strategy.broadcast(path, src=0)
        trainer.save_checkpoint(os.path.join(path, _CKPT_FILE))
        return path
