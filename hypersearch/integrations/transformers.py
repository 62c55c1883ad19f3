"""Hugging Face ``transformers`` integration: prune ``Trainer`` runs and search their
hyperparameters with hypersearch.

Two pieces:

* :class:`HyperSearchCallback`, a ``TrainerCallback`` that reports the evaluation
  metric to a hypersearch trial after every evaluation and stops training when the
  study's scheduler prunes the trial.  A callback cannot end a trial by itself
  without cutting the ``Trainer``'s own clean-up short, so it only *records* the
  decision and asks the ``Trainer`` to stop; :meth:`HyperSearchCallback.raise_if_pruned`
  (called after ``trainer.train()`` returns) raises :class:`~hypersearch.TrialPruned`
  so that the trial ends as PRUNED::

      from hypersearch.integrations.transformers import HyperSearchCallback

      def objective(trial):
          args = TrainingArguments(
              output_dir=f"out/{trial.number}",
              learning_rate=trial.suggest_float("learning_rate", 1e-5, 1e-3, log=True),
              eval_strategy="epoch",
          )
          callback = HyperSearchCallback(trial, metric="eval_loss")
          trainer = Trainer(model=make_model(), args=args, train_dataset=train,
                            eval_dataset=val, callbacks=[callback])
          trainer.train()
          callback.raise_if_pruned()  # the trial ends PRUNED if the scheduler said so
          return trainer.evaluate()["eval_loss"]

      study = hs.create_study(scheduler=hs.schedulers.MedianStoppingRule())
      study.optimize(objective, n_trials=20)

  :func:`train_trial` does the add-callback / train / raise dance in one call.
  Inside :func:`hypersearch.tune` the callback is created without a trial and
  reports through ``hs.report``; ``raise_if_pruned`` then re-raises whatever the
  tune session decided (stop, pause, early completion).

* :func:`hyperparameter_search`, the counterpart of ``Trainer.hyperparameter_search``
  running on hypersearch: it trains one configuration per trial on an existing
  ``Trainer`` built with ``model_init=...``, with pruning, any sampler, scheduler
  and (durable) storage, and returns a ``transformers.trainer_utils.BestRun``.

  ``Trainer.hyperparameter_search(backend=...)`` itself cannot take hypersearch:
  the ``Trainer`` only knows a fixed enumeration of backends and branches on it
  in its training loop, so registering another one would mean patching
  ``transformers`` internals.  The standalone function is the supported API.

Needs ``transformers`` (and its ``accelerate`` and ``torch`` dependencies):
``pip install 'hypersearch[transformers]'``.  Single-process training only.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

try:
    from transformers import TrainerCallback
    from transformers.trainer_utils import BestRun
except ImportError as _e:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "hypersearch.integrations.transformers needs transformers: "
        "pip install 'hypersearch[transformers]'"
    ) from _e

from hypersearch.exceptions import TrialPaused, TrialPruned
from hypersearch.space.declarative import SearchSpace
from hypersearch.trial._state import TrialState
from hypersearch.trial._trial import Trial

if TYPE_CHECKING:  # pragma: no cover
    from transformers import Trainer, TrainerControl, TrainerState, TrainingArguments

    from hypersearch.samplers.base import BaseSampler
    from hypersearch.schedulers.base import BaseScheduler
    from hypersearch.storage import BaseStorage
    from hypersearch.study._study import Study

__all__ = [
    "HyperSearchCallback",
    "best_runs",
    "default_hp_space",
    "default_objective",
    "hyperparameter_search",
    "train_trial",
]

_log = logging.getLogger("hypersearch")

MetricSpec = str | Callable[[dict[str, float]], Any]

_STEPS = ("global_step", "epoch", "evaluation")

# Keys of Trainer.evaluate() results that describe the run, not the model.
_BOOKKEEPING_SUFFIXES = ("_runtime", "_per_second", "_compilation_time")
_BOOKKEEPING_KEYS = {"epoch", "step", "total_flos"}


def _tune_control_flow() -> tuple[type[BaseException], ...]:
    """Exceptions ``hs.report`` raises to end a trial (pruned, paused, done, PBT restart)."""
    from hypersearch.tune._session import Signal

    return (TrialPruned, TrialPaused, Signal)


class HyperSearchCallback(TrainerCallback):
    """Report evaluation results of a ``transformers.Trainer`` to hypersearch and stop
    training when the study's scheduler prunes the trial.

    After every evaluation the metric is reported with ``trial.report(value, step)``
    (or, without a trial, inside :func:`hypersearch.tune` with ``hs.report``) and the
    scheduler decides.  When it says stop, the callback sets
    ``control.should_training_stop`` so the ``Trainer`` ends its loop cleanly (logs,
    other callbacks' ``on_train_end``), and remembers the decision: call
    :meth:`raise_if_pruned` after ``trainer.train()`` to end the trial as PRUNED.

    Args:
        trial: The hypersearch trial of the running objective; ``None`` inside
            ``hs.tune``, where results go through ``hs.report`` (all evaluation
            metrics are reported, plus ``objective`` when ``metric`` is a callable).
        metric: Name of the evaluation metric to report (``"loss"`` also finds
            ``"eval_loss"``), or ``fn(metrics) -> value`` computing it from the
            ``Trainer.evaluate()`` dict.  With several named eval data sets
            (``eval_dataset={"val": ..., "test": ...}``) name the one to judge
            (``"eval_val_loss"``); a function sees the metrics of the data sets
            evaluated so far at that step.  A function returning one value per
            objective (multi-objective studies) is recorded but not reported:
            schedulers judge one value.
        step: What a report's step counts: ``"global_step"`` (optimizer steps,
            the default), ``"epoch"`` (the rounded epoch; evaluate once per
            epoch) or ``"evaluation"`` (1, 2, ... per evaluation).  Schedulers
            such as ASHA measure their budgets (``grace_period``, ``max_t``) in
            these units.

    Attributes:
        pruned: Whether the scheduler pruned the trial.
        stopped: Whether training was stopped early for any reason (pruned, or
            inside ``hs.tune`` paused or done).
        reported: ``step -> value`` reported by this callback.
        last_metrics: The metrics of the latest evaluation (``None`` before any; all
            named eval data sets' metrics when ``eval_dataset`` is a dict).
        last_step: ``state.global_step`` of that evaluation.
    """

    def __init__(
        self,
        trial: Trial | None = None,
        metric: MetricSpec = "eval_loss",
        *,
        step: str = "global_step",
    ) -> None:
        if trial is not None and not isinstance(trial, Trial):
            raise TypeError(
                f"trial must be a hypersearch Trial (or None inside hs.tune), got "
                f"{type(trial).__name__}"
            )
        if not (callable(metric) or (isinstance(metric, str) and metric)):
            raise TypeError(f"metric must be a metric name or fn(metrics) -> value, got {metric!r}")
        if step not in _STEPS:
            raise ValueError(f"step must be one of {_STEPS}, got {step!r}")
        self.trial = trial
        self.metric = metric
        self.step = step
        self.reported: dict[int, float] = {}
        self.last_metrics: dict[str, float] | None = None
        self.last_step: int | None = None
        self._evaluations = 0
        self._stop: BaseException | None = None
        self._unmet: KeyError | None = None

    # -- state --------------------------------------------------------------------------
    @property
    def pruned(self) -> bool:
        from hypersearch.tune._session import Prune

        return isinstance(self._stop, (TrialPruned, Prune))

    @property
    def stopped(self) -> bool:
        return self._stop is not None

    def raise_if_pruned(self) -> None:
        """Raise :class:`~hypersearch.TrialPruned` if the scheduler pruned the trial
        (inside ``hs.tune``: re-raise the session's decision), so the objective or
        trainable ends the way the scheduler decided.  Call after ``trainer.train()``."""
        if self._stop is not None:
            raise self._stop

    # -- metric -------------------------------------------------------------------------
    def value_of(self, metrics: Mapping[str, Any]) -> Any:
        """The value to report for an evaluation's ``metrics``."""
        if callable(self.metric):
            return self.metric(dict(metrics))
        name = self.metric
        if name not in metrics and not name.startswith("eval_") and f"eval_{name}" in metrics:
            name = f"eval_{name}"
        if name not in metrics:
            raise KeyError(
                f"HyperSearchCallback: the evaluation returned no metric {self.metric!r}; "
                f"it returned {sorted(metrics)} (does the model compute a loss, or does "
                "compute_metrics return it?)"
            )
        return metrics[name]

    def _step_of(self, state: TrainerState) -> int:
        if self.step == "epoch":
            return int(round(state.epoch or 0))
        if self.step == "evaluation":
            return self._evaluations
        return int(state.global_step)

    # -- TrainerCallback events ---------------------------------------------------------
    def on_train_begin(self, args, state, control, **kwargs):
        self._stop = None  # a new run of the same callback starts undecided

    def on_train_end(self, args, state, control, **kwargs):
        self._raise_unmet()

    def _raise_unmet(self) -> None:
        """A round of evaluations ended and the metric could not be computed from any
        of its data sets: a wrong metric name, not something to skip silently."""
        if self._unmet is not None:
            error, self._unmet = self._unmet, None
            raise error

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: dict[str, float] | None = None,
        **kwargs: Any,
    ):
        if metrics is None or not state.is_world_process_zero:
            return
        global_step = int(state.global_step)
        if global_step != self.last_step or self.last_metrics is None:
            # a new round of evaluation (with several named eval data sets the Trainer
            # evaluates each in turn at the same step: their metrics are merged)
            self._raise_unmet()
            self._evaluations += 1
            self.last_metrics = {}
        self.last_metrics.update(metrics)
        self.last_step = global_step
        if self._stop is not None:
            return  # already decided (an evaluate() after a stopped run)
        try:
            value = self.value_of(self.last_metrics)
        except KeyError as e:
            if _dataset_prefix(metrics) not in (None, "eval"):
                # one of several eval data sets: what the metric needs may come with the
                # next; if the round ends without it, the error is raised then
                self._unmet = e
                return
            raise
        self._unmet = None
        if _is_multi(value):
            return  # one value per objective: recorded, nothing for a scheduler to judge
        value = float(value)
        step = self._step_of(state)
        if step in self.reported:
            return  # e.g. trainer.evaluate() after training at the same global step
        self.reported[step] = value
        if self.trial is None:
            self._report_to_tune(self.last_metrics, value, step, state)
        else:
            self.trial.report(value, step)
            if self.trial.should_prune():
                self._stop = TrialPruned(
                    f"trial {self.trial.number} pruned at step {step} ({self._name()}={value:.6g})"
                )
        if self._stop is not None:
            control.should_training_stop = True

    def _report_to_tune(self, metrics: Mapping[str, Any], value: float, step: int, state) -> None:
        from hypersearch.tune._session import report

        row: dict[str, Any] = {k: v for k, v in metrics.items() if _is_number(v)}
        if callable(self.metric):
            row["objective"] = value
        row["global_step"] = int(state.global_step)
        if state.epoch is not None:
            row["epoch"] = float(state.epoch)
        row["training_iteration"] = step
        try:
            report(row)
        except _tune_control_flow() as e:
            self._stop = e

    def _name(self) -> str:
        return self.metric if isinstance(self.metric, str) else "objective"


def train_trial(
    trainer: Trainer,
    trial: Trial | None = None,
    metric: MetricSpec = "eval_loss",
    *,
    step: str = "global_step",
    **train_kwargs: Any,
):
    """Train ``trainer`` with a :class:`HyperSearchCallback` for ``trial`` (``None``
    inside ``hs.tune``) and raise :class:`~hypersearch.TrialPruned` if the scheduler
    pruned it; returns ``trainer.train(**train_kwargs)``'s output otherwise.

    The callback is removed again afterwards, so the same ``Trainer`` can run the
    next trial.
    """
    callback = HyperSearchCallback(trial, metric, step=step)
    trainer.add_callback(callback)
    try:
        output = trainer.train(**train_kwargs)
    finally:
        trainer.remove_callback(callback)
    callback.raise_if_pruned()
    return output


# -- Trainer.hyperparameter_search on hypersearch ----------------------------------------


def default_hp_space(trial: Trial) -> dict[str, Any]:
    """A starting search space for fine-tuning: learning rate, epochs, batch size and
    weight decay."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-6, 1e-3, log=True),
        "num_train_epochs": trial.suggest_int("num_train_epochs", 1, 5),
        "per_device_train_batch_size": trial.suggest_categorical(
            "per_device_train_batch_size", [8, 16, 32]
        ),
        "weight_decay": trial.suggest_float("weight_decay", 0.0, 0.1),
    }


def default_objective(metrics: Mapping[str, Any]) -> float:
    """``eval_loss`` of ``Trainer.evaluate()``'s metrics; without a loss, the only
    model metric there is.  Anything else is ambiguous: pass ``compute_objective``."""
    if "eval_loss" in metrics:
        return float(metrics["eval_loss"])
    model_metrics = {k: v for k, v in metrics.items() if not _bookkeeping(k)}
    if len(model_metrics) == 1:
        return float(next(iter(model_metrics.values())))
    raise ValueError(
        "the evaluation returned no eval_loss and several metrics "
        f"({sorted(model_metrics)}); pass compute_objective=lambda m: m['eval_<name>']"
    )


def hyperparameter_search(
    trainer: Trainer,
    hp_space: Callable[[Trial], Mapping[str, Any]] | Mapping[str, Any] | SearchSpace | None = None,
    n_trials: int = 20,
    direction: str | Sequence[str] = "minimize",
    compute_objective: Callable[[dict[str, float]], Any] | None = None,
    sampler: BaseSampler | None = None,
    scheduler: BaseScheduler | None = None,
    storage: BaseStorage | str | None = None,
    study_name: str | None = None,
    *,
    load_if_exists: bool = False,
    seed: int | None = None,
    hp_name: Callable[[Trial], str] | None = None,
    step: str = "global_step",
    **optimize_kwargs: Any,
) -> BestRun | list[BestRun]:
    """Search ``TrainingArguments`` (and model) hyperparameters of ``trainer`` with a
    hypersearch study; the counterpart of ``Trainer.hyperparameter_search``.

    Each trial copies the trainer's ``TrainingArguments`` with the trial's
    overrides (``dataclasses.replace``; ``output_dir`` becomes
    ``<output_dir>/run-<trial number>``), builds a fresh model with the trainer's
    ``model_init`` (which receives the hypersearch trial when it takes an argument,
    so it can ``trial.suggest_*`` model hyperparameters), trains with a
    :class:`HyperSearchCallback` (so ``scheduler`` prunes poor runs at their
    evaluations) and scores the final evaluation with ``compute_objective``.  The
    trainer's arguments and ``model_init`` are restored at the end; its ``model`` is
    the last trial's.

    Args:
        trainer: A ``Trainer`` created with ``model_init=...`` (not ``model=``).
        hp_space: ``fn(trial) -> {training argument: value}`` using ``trial.suggest_*``
            (define-by-run, as with Optuna), or a declarative dict / ``SearchSpace``
            of training arguments (``{"learning_rate": hs.loguniform(1e-5, 1e-3)}``).
            Default: :func:`default_hp_space`.
        n_trials: Trials to run in this call.
        direction: ``"minimize"`` / ``"maximize"``, or one per objective when
            ``compute_objective`` returns several values.
        compute_objective: ``fn(eval metrics) -> value(s)``; default
            :func:`default_objective` (``eval_loss``).  It is also what the
            callback reports after every evaluation for pruning.
        sampler, scheduler, storage, study_name, load_if_exists, seed: As for
            :func:`hypersearch.create_study`.
        hp_name: ``fn(trial) -> str``, the name of the trial's output directory
            under ``output_dir`` (default ``run-<number>``).
        step: Step unit of the reports (see :class:`HyperSearchCallback`).
        **optimize_kwargs: Passed to :meth:`hypersearch.Study.optimize` (``timeout``,
            ``catch``, ``callbacks``, ``show_progress_bar``...).  Trials run one at a
            time: they share the trainer.

    Returns:
        ``BestRun(run_id, objective, hyperparameters, run_summary)`` of the best
        trial (a list of them, the Pareto front, for several objectives);
        ``run_id`` is the trial number as a string, ``hyperparameters`` the trial's
        parameters and ``run_summary`` the hypersearch :class:`~hypersearch.Study`.
    """
    import hypersearch as hs

    if getattr(trainer, "model_init", None) is None:
        raise ValueError(
            "hyperparameter_search needs a Trainer built with model_init=... (a function "
            "returning a fresh model, optionally taking the trial), not model=...: every "
            "trial trains a new model"
        )
    if optimize_kwargs.get("n_jobs", 1) != 1 or optimize_kwargs.get("executor") is not None:
        raise ValueError(
            "hyperparameter_search runs one trial at a time (the trials share the Trainer); "
            "drop n_jobs/executor"
        )
    optimize_kwargs.pop("n_jobs", None)
    optimize_kwargs.pop("executor", None)
    if getattr(trainer.args, "world_size", 1) > 1:
        raise NotImplementedError("hyperparameter_search supports single-process training only")
    space = _as_space(hp_space)
    objective_fn = compute_objective if compute_objective is not None else default_objective
    if isinstance(direction, str):
        study = hs.create_study(
            study_name, storage, direction, sampler=sampler, scheduler=scheduler,
            load_if_exists=load_if_exists, seed=seed,
        )
    else:
        study = hs.create_study(
            study_name, storage, directions=list(direction), sampler=sampler,
            scheduler=scheduler, load_if_exists=load_if_exists, seed=seed,
        )

    base_args = trainer.args
    base_model_init = trainer.model_init
    arg_fields = {f.name: f for f in dataclasses.fields(type(base_args)) if f.init}

    def objective(trial: Trial) -> Any:
        overrides = _overrides(space(trial), base_args, arg_fields)
        _set_json_attr(trial, "training_args", overrides)
        run_name = hp_name(trial) if hp_name is not None else f"run-{trial.number}"
        args = dataclasses.replace(
            base_args, **{"output_dir": os.path.join(base_args.output_dir, run_name), **overrides}
        )
        callback = HyperSearchCallback(trial, objective_fn, step=step)
        trainer.model_init = _bind_trial(base_model_init, trial)
        _use_args(trainer, args)
        trainer.add_callback(callback)
        try:
            trainer.train()
        finally:
            trainer.remove_callback(callback)
            trainer.model_init = base_model_init
        callback.raise_if_pruned()
        metrics = callback.last_metrics
        if (
            metrics is None
            or callback.last_step != trainer.state.global_step
            or args.load_best_model_at_end
        ):
            metrics = trainer.evaluate()
        _set_json_attr(
            trial, "eval_metrics", {k: float(v) for k, v in metrics.items() if _is_number(v)}
        )
        return objective_fn(dict(metrics))

    try:
        study.optimize(objective, n_trials=n_trials, **optimize_kwargs)
    finally:
        _use_args(trainer, base_args)
    return best_runs(study)


def best_runs(study: Study) -> BestRun | list[BestRun]:
    """``BestRun`` of a study's best trial (the Pareto front for several objectives)."""
    if study.is_multi_objective:
        front = study.best_trials
        if not front:
            raise ValueError(_none_completed(study))
        return [BestRun(str(t.number), list(t.values or []), t.params, study) for t in front]
    try:
        best = study.best_trial
    except ValueError:
        raise ValueError(_none_completed(study)) from None
    return BestRun(str(best.number), best.value, best.params, study)


# -- helpers ------------------------------------------------------------------------------


def _none_completed(study: Study) -> str:
    counts: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name.lower()] = counts.get(t.state.name.lower(), 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no trials"
    pruned = counts.get(TrialState.PRUNED.name.lower(), 0)
    hint = " (the scheduler pruned every trial: is it too strict?)" if pruned else ""
    return f"study {study.study_name!r} has no completed trial: {summary}{hint}"


def _as_space(hp_space: Any) -> Callable[[Trial], Mapping[str, Any]]:
    if hp_space is None:
        return default_hp_space
    if isinstance(hp_space, SearchSpace):
        return hp_space.sample
    if isinstance(hp_space, Mapping):
        return SearchSpace(hp_space).sample
    if callable(hp_space):
        return hp_space
    raise TypeError(
        "hp_space must be fn(trial) -> dict of training arguments, or a dict / SearchSpace "
        f"of domains; got {type(hp_space).__name__}"
    )


def _overrides(params: Any, base_args: Any, arg_fields: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(params, Mapping):
        raise TypeError(
            f"hp_space must return a dict of training arguments, got {type(params).__name__}"
        )
    unknown = sorted(str(k) for k in params if k not in arg_fields)
    if unknown:
        raise ValueError(
            f"hp_space returned {unknown}, which are not fields of {type(base_args).__name__}; "
            "suggest model hyperparameters inside model_init(trial) instead"
        )
    out: dict[str, Any] = {}
    for key, value in params.items():
        current = getattr(base_args, key, None)
        # e.g. num_train_epochs is a float field; an int suggestion is fine but keep the type
        if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        out[key] = value
    return out


def _bind_trial(model_init: Callable[..., Any], trial: Trial) -> Callable[[], Any]:
    """``model_init`` as a no-argument function that gets ``trial`` if it takes one
    (the ``Trainer`` would otherwise call it without the hypersearch trial)."""
    try:
        params = inspect.signature(model_init).parameters.values()
        takes_trial = any(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params
        )
    except (TypeError, ValueError):  # no signature (some builtins): call it plainly
        takes_trial = False

    def model_init_for_trial() -> Any:
        return model_init(trial) if takes_trial else model_init()

    return model_init_for_trial


def _use_args(trainer: Trainer, args: Any) -> None:
    """Point ``trainer`` at new ``TrainingArguments``: the batch size it caches and its
    ``Accelerator`` derive from them, so both are rebuilt (as the ``Trainer`` does for
    its own hyperparameter search)."""
    trainer.args = args
    if hasattr(trainer, "_train_batch_size"):
        trainer._train_batch_size = args.train_batch_size
    rebuild = getattr(trainer, "create_accelerator_and_postprocess", None)
    if rebuild is not None:
        rebuild()


def _set_json_attr(trial: Trial, key: str, value: dict[str, Any]) -> None:
    try:
        trial.set_user_attr(key, value)
    except (TypeError, ValueError):
        trial.set_user_attr(key, {k: v if _is_number(v) else repr(v) for k, v in value.items()})


def _bookkeeping(key: str) -> bool:
    base = key.removeprefix("eval_")
    return base in _BOOKKEEPING_KEYS or key in _BOOKKEEPING_KEYS or key.endswith(_BOOKKEEPING_SUFFIXES)


def _dataset_prefix(metrics: Mapping[str, Any]) -> str | None:
    """The ``metric_key_prefix`` of one evaluation (``"eval"``, or ``"eval_<name>"`` for
    one of several named eval data sets), read off the runtime the Trainer adds."""
    for key in metrics:
        if key.endswith("_runtime"):
            return key[: -len("_runtime")]
    return None


def _is_multi(value: Any) -> bool:
    return isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) > 0


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real)
