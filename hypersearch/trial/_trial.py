"""Define-by-run trial: what an objective function receives."""

from __future__ import annotations

import datetime as _dt
import logging
import math
import threading
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from hypersearch.exceptions import TrialStateError
from hypersearch.space.distributions import (
    BaseDistribution,
)
from hypersearch.storage._common import check_json_value
from hypersearch.trial._frozen import FrozenTrial, check_constraints
from hypersearch.trial._state import TrialState
from hypersearch.trial._suggest import SuggestMethods

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study

_log = logging.getLogger("hypersearch")


#: System attribute ``[previous, last]``: the steps of the trial's last two scheduler
#: decisions (the second asked again at the same step gets the same answer).
JUDGED_STEP_ATTR = "judged_step"


class Trial(SuggestMethods):
    """One evaluation of the objective.

    Parameters are suggested on the fly (*define-by-run*): the objective calls
    :meth:`suggest_float`, :meth:`suggest_int` or :meth:`suggest_categorical`
    where it needs a value, so the search space can depend on earlier choices
    (conditional parameters) or change from trial to trial (dynamic
    parameters).  Suggesting the same name twice returns the same value.

    Results of a trial are buffered and written to the storage in one step on
    :meth:`report` and when the trial finishes, which keeps round trips to a
    database at one per training step.
    """

    def __init__(self, study: Study, frozen: FrozenTrial) -> None:
        self.study = study
        self._trial_id = frozen.trial_id
        self.number = frozen.number
        self._params: dict[str, Any] = dict(frozen.params)
        self._distributions: dict[str, BaseDistribution] = dict(frozen.distributions)
        # Parameters fixed before the trial started (enqueued); never resampled.
        self._fixed = set(frozen.params)
        self._user_attrs: dict[str, Any] = dict(frozen.user_attrs)
        self._system_attrs: dict[str, Any] = dict(frozen.system_attrs)
        self._intermediate: dict[int, float] = dict(frozen.intermediate_values)
        self._pending_intermediate: dict[int, float] = {}
        self._dirty = False
        # the parameter names the storage holds (an enqueued or resumed trial's are
        # stored already); while none are, a lost worker's trial could not be retried
        self._stored_names = set(frozen.params)
        # one storage write of this trial at a time (its worker, the heartbeat)
        self._io_lock = threading.Lock()
        self.datetime_complete: _dt.datetime | None = None
        self.datetime_start = frozen.datetime_start
        self._finished = False
        self._attempt = 0
        self._relative: dict[str, Any] = {}
        self._relative_space: dict[str, BaseDistribution] = {}
        #: Whether the code running this trial can pause it (``hs.tune`` can; a
        #: plain define-by-run objective cannot, so schedulers stop instead).
        self._pausable = False
        # Ctrl-C while the objective runs in a thread of this process: the trial
        # stops at its next report (a thread cannot be interrupted from outside)
        self._interrupt = False
        #: Times this trial was resumed after a pause.
        self.resumed = int(frozen.system_attrs.get("resumed", 0))

    # -- sampling --------------------------------------------------------------------
    def _start_sampling(self) -> None:
        sampler = self.study.sampler
        sampler.before_trial(self.study, self)
        self._relative_space = sampler.infer_relative_search_space(self.study, self)
        self._relative = (
            sampler.sample_relative(self.study, self, self._relative_space)
            if self._relative_space
            else {}
        )

    def _resample(self) -> None:
        """Discard the non-fixed parameters and draw a new joint proposal (used when
        a constraint rejects the configuration)."""
        if self._stored_names - self._fixed:
            # the rejected configuration must not be what a retry of this trial runs
            # (stored first: the sampler may take a while to learn from the rejection)
            self._store_params(only=self._fixed)
        self.study.sampler.on_reject(self.study, self)
        for name in list(self._params):
            if name not in self._fixed:
                del self._params[name]
                self._distributions.pop(name, None)
        self._attempt += 1
        self._start_sampling()

    @property
    def attempt(self) -> int:
        """How many configurations were rejected by constraints before this one."""
        return self._attempt

    def _check_active(self) -> None:
        if self._finished:
            raise TrialStateError(
                f"trial {self.number} has already finished; its parameters and results can "
                "no longer change"
            )

    def suggest(self, name: str, distribution: BaseDistribution) -> Any:
        """Suggest a value for ``name`` from ``distribution`` (the generic form)."""
        self._check_active()
        if not isinstance(name, str) or not name:
            raise ValueError(f"parameter name must be a non-empty string, got {name!r}")
        if name in self._params and not distribution.contains(self._params[name]) and (
            name in self._fixed and name not in self._distributions
        ):
            # An enqueued value outside today's range (a warm start from a study with
            # other bounds, a typo): drawn afresh instead of failing the trial.
            warnings.warn(
                f"trial {self.number}: parameter {name!r} was enqueued with {self._params[name]!r}, "
                f"which is not in {distribution!r}; a value is drawn instead",
                UserWarning,
                stacklevel=3,
            )
            del self._params[name]
            self._fixed.discard(name)
        if name in self._params:
            value = self._params[name]
            if not distribution.contains(value):
                origin = "was enqueued with" if name in self._fixed else "was already suggested as"
                raise ValueError(
                    f"parameter {name!r} {origin} {value!r}, which is not in {distribution!r}"
                )
            value = distribution.validate_value(value)
            if name not in self._distributions or name in self._fixed:
                self._distributions[name] = distribution
                self._params[name] = value
                self._dirty = True
                self._keep_params()
            return value
        if distribution.single():
            value = distribution.from_unit(0.5)
        elif name in self._relative and distribution.contains(self._relative[name]):
            value = self._relative[name]
        else:
            value = self.study.sampler.sample_independent(self.study, self, name, distribution)
        if not distribution.contains(value):  # a sampler bug must not reach the objective
            raise RuntimeError(
                f"{type(self.study.sampler).__name__} proposed {value!r} for parameter "
                f"{name!r}, outside {distribution!r}"
            )
        value = distribution.validate_value(value)
        self._params[name] = value
        self._distributions[name] = distribution
        self._dirty = True
        self._keep_params()
        return value

    def _keep_params(self) -> None:
        """With retries (the ``max_retries`` system attribute), store each suggested
        parameter at once: a worker killed before the trial's first write leaves a
        trial that is retried with its configuration.  Without retries parameters
        are written with the first report or the result (or by the heartbeat)."""
        if self._system_attrs.get("max_retries") and set(self._params) != self._stored_names:
            self._store_params()

    # -- reporting ------------------------------------------------------------------
    def report(self, value: float, step: int) -> None:
        """Report an intermediate objective value (e.g. validation loss after
        epoch ``step``) so that a scheduler can stop unpromising trials.

        NaN and infinite values are accepted (a diverged run is information).
        A step reported twice keeps the first value and warns.
        """
        self._check_active()
        self._check_interrupt()
        if isinstance(step, (float, np.floating)) and float(step).is_integer():
            step = int(step)  # 3.0 from a float epoch counter, as Optuna accepts
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not 0 <= step < 2**63:
            raise ValueError(f"step must be a non-negative integer below 2**63, got {step!r}")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise TypeError(
                f"trial.report value must be a number, got {type(value).__name__}: {value!r}"
            ) from None
        step = int(step)
        if step in self._intermediate:
            warnings.warn(
                f"trial {self.number}: step {step} was already reported; keeping the first value",
                stacklevel=2,
            )
            return
        self._intermediate[step] = v
        self._pending_intermediate[step] = v
        try:
            self.flush()
        except Exception:
            # Not stored: the report did not happen (reporting the step again is no
            # duplicate, and the failure record does not carry the value again).
            self._intermediate.pop(step, None)
            self._pending_intermediate.pop(step, None)
            raise

    def should_prune(self) -> bool:
        """Whether the study's scheduler says this trial should stop now."""
        from hypersearch.schedulers.base import Decision

        return self.decide() == Decision.STOP

    def decide(self):
        """The scheduler's :class:`~hypersearch.schedulers.Decision` after the latest report
        (CONTINUE without a scheduler or before any report)."""
        from hypersearch.schedulers.base import Decision

        self._check_active()
        scheduler = self.study.scheduler
        if scheduler is None or not self._intermediate:
            return Decision.CONTINUE
        decision = scheduler.decide(self.study, self._snapshot(), pausable=self._pausable)
        # The step of this decision: a scheduler judges the next one on everything
        # reported since (an objective may ask only every few reports).  Kept with
        # the trial and stored with its next full write (a pause, Ctrl-C or the
        # end), not made a write of its own: reports stay intermediate-only writes.
        last = max(self._intermediate)
        old = self._system_attrs.get(JUDGED_STEP_ATTR)
        if not (isinstance(old, list) and len(old) == 2 and old[1] == last):
            before = old[1] if isinstance(old, list) and len(old) == 2 else None
            self._system_attrs[JUDGED_STEP_ATTR] = [before, last]
        return decision

    # -- hs.tune --------------------------------------------------------------------
    def _check_interrupt(self) -> None:
        if self._interrupt:
            self._interrupt = False
            raise KeyboardInterrupt(f"trial {self.number} interrupted (Ctrl-C)")

    def _tune_stop(self, result: dict[str, Any]) -> bool:
        """Whether ``hs.tune``'s stop criterion ends this trial after ``result``,
        evaluated in the study's process (one criterion object for every trial,
        wherever it runs); its ``stop_all()`` ends the whole run."""
        fn = getattr(self.study, "_tune_stop", None)
        if fn is None:
            return False
        verdict = fn(str(self.number), result)
        if verdict == "all":
            self.study.stop()
        return bool(verdict)

    def _tune_report(self, result: dict[str, Any], value: float, step: int, checkpoint: str | None):
        """One ``hs.report``: the result row, the new checkpoint's path and the value
        are recorded, then the scheduler decides.  One call, so a trainable in a
        worker process pays one round trip per report."""
        self._check_interrupt()  # before anything of this report is recorded
        if checkpoint is not None:
            self.set_system_attr("checkpoint", checkpoint)
        self.set_user_attr("last_result", result)
        log = self.study._tune_log
        if log is not None:
            from hypersearch.schedulers.pbt import config_in_effect

            # with the configuration in effect (population-based training changes it)
            log.append(self.number, {**result, "config": config_in_effect(self._user_attrs, self._system_attrs)})
        self.report(value, step)
        return self.decide()

    def _pbt_plan(self) -> tuple[int, dict[str, Any], str | None, int | None, dict[str, Any]]:
        """``(donor trial, new configuration, donor's checkpoint path, donor's last
        step, base parameters)`` of the population-based-training exploit just
        decided for this trial.  The base parameters are those whose configuration
        holds the donor's values JSON cannot store (objects): the donor's own, or
        those it inherited from its donors."""
        source, config = self.study.scheduler.take_plan(self.number)
        donor = self.study.history.get(source) if source != self.number else None
        if donor is None:
            base = self._system_attrs.get("pbt:params") or dict(self._params)
            return source, config, self._system_attrs.get("checkpoint"), None, base
        base = donor.system_attrs.get("pbt:params") or dict(donor.params)
        return source, config, donor.system_attrs.get("checkpoint"), donor.last_step, base

    def _trial_state(self, number: int) -> str | None:
        """The stored state of trial ``number`` by name (``None``: no such trial), for a
        PBT clone that waits for its donor: one storage read (the history view is
        left alone), answered across the worker-process boundary as a string."""
        try:
            return self.study._storage.get_trial(self.study._study_id, number).state.name
        except KeyError:
            return None

    # -- attributes -----------------------------------------------------------------
    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach JSON-compatible metadata to the trial (stored with it)."""
        self._check_active()
        self._user_attrs[key] = check_json_value(f"user attribute {key!r}", value)
        self._dirty = True

    def set_system_attr(self, key: str, value: Any) -> None:
        """Framework-level metadata (used by samplers and schedulers).

        ``"constraints"`` holds the trial's constraint values (a number or a list of
        numbers; feasible when every one is ``<= 0``), read by ``best_trials``,
        the samplers and the plots.
        """
        self._check_active()
        if key == "constraints":
            value = check_constraints(value)
        self._system_attrs[key] = check_json_value(f"system attribute {key!r}", value)
        self._dirty = True

    @property
    def params(self) -> dict[str, Any]:
        """Parameters suggested so far."""
        return dict(self._params)

    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        return dict(self._distributions)

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._user_attrs)

    @property
    def system_attrs(self) -> dict[str, Any]:
        return dict(self._system_attrs)

    @property
    def intermediate_values(self) -> dict[int, float]:
        return dict(self._intermediate)

    # -- storage --------------------------------------------------------------------
    def flush(self) -> None:
        """Write buffered parameters, attributes and intermediate values now."""
        if self._dirty or self._pending_intermediate:
            self._write(full=self._dirty)

    def _finish(
        self, state: TrialState, values: Sequence[float] | None, retry: dict[str, Any] | None = None
    ) -> int | None:
        """Write the final state; with ``retry``, queue the trial's retry in the same
        write and return its number (also kept as ``requeued_as``).  The completion
        time is taken here and stored, so the trial handed to callbacks and the
        stored trial agree on it."""
        self._check_active()
        self.datetime_complete = _dt.datetime.now(_dt.timezone.utc)
        queued = self._write(
            full=True, state=state, values=values, retry=retry, completed_at=self.datetime_complete
        )
        self._finished = True
        if queued is not None:
            self._system_attrs["requeued_as"] = queued
        return queued

    def _write(self, full: bool, **final: Any) -> int | None:
        """One storage write: new intermediate values, plus (``full``) the complete
        parameters and attributes, plus the final state and values if given."""
        kw: dict[str, Any] = {}
        if full:
            kw = dict(
                params=self._params,
                distributions=self._distributions,
                user_attrs=self._user_attrs,
                system_attrs=self._system_attrs,
            )
        with self._io_lock:
            out = self.study._storage.write_trial(
                self._trial_id, intermediate=self._pending_intermediate or None, **kw, **final
            )
            if full:
                self._stored_names = set(self._params)
        self._pending_intermediate = {}
        self._dirty = False
        return out

    def _store_params_if_new(self) -> None:
        """The heartbeat's part: store the parameters suggested so far when the
        storage holds none of them yet.  Writes are batched until the first report
        or the end, and a worker killed before either would otherwise leave a trial
        that cannot be retried with its configuration."""
        if not self._stored_names:
            self._store_params(if_none_stored=True)

    def _store_params(self, only: set[str] | None = None, *, if_none_stored: bool = False) -> None:
        """Write the parameters suggested so far (those named in ``only``), and
        their distributions, in one write; attributes and reports are left to the
        trial's own writes."""
        if self._finished:
            return
        try:
            params, dists = dict(self._params), dict(self._distributions)
        except RuntimeError:  # the worker is suggesting right now (heartbeat): next beat
            return
        if only is not None:
            params = {k: v for k, v in params.items() if k in only}
            dists = {k: d for k, d in dists.items() if k in only}
        if (only is None and not params) or (if_none_stored and set(params) != set(dists)):
            return  # nothing to store, or (heartbeat) a parameter half-suggested
        with self._io_lock:
            if self._finished or (if_none_stored and self._stored_names):
                return
            self.study._storage.write_trial(self._trial_id, params=params, distributions=dists)
            self._stored_names = set(params)

    def _snapshot(self, state: TrialState = TrialState.RUNNING, values=None) -> FrozenTrial:
        return FrozenTrial(
            number=self.number,
            state=state,
            values=list(values) if values is not None else None,
            params=dict(self._params),
            distributions=dict(self._distributions),
            intermediate_values=dict(self._intermediate),
            user_attrs=dict(self._user_attrs),
            system_attrs=dict(self._system_attrs),
            datetime_start=self.datetime_start,
            trial_id=self._trial_id,
        )

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self._params})"


def is_finite_number(v: Any) -> bool:
    try:
        return not isinstance(v, bool) and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False
