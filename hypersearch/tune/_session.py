"""The per-trial session a trainable talks to through ``hs.report`` and ``hs.get_checkpoint``."""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from hypersearch.schedulers.base import Decision
from hypersearch.space.declarative import json_part
from hypersearch.storage._common import checkpoint_step
from hypersearch.tune._checkpoint import CheckpointStore

_local = threading.local()
# Sessions active in this process, each with the threads alive when it began: a
# report from a thread started since (a thread the trainable started) belongs to
# the only active session, as in a worker process.  A thread an earlier trial left
# running is not one of them: its late reports are refused, not recorded as the
# next trial's.
_active: dict[Session, frozenset[threading.Thread]] = {}
_active_lock = threading.Lock()


class Signal(BaseException):
    """What ``hs.report`` raises to end or redirect the trainable's run: a
    ``BaseException`` (as ``KeyboardInterrupt``), so that a trainable's
    ``except Exception`` around its training step does not swallow a stop, a
    pause or a restart.  The session also remembers it: a trainable that caught
    it anyway gets it again at its next report, and when it returns."""


class StopTrial(Signal):
    """A stopping criterion says the trial is done (it finishes as COMPLETE with
    its last reported metric)."""


class Prune(Signal):  # noqa: N818 - control flow, not an error
    """The scheduler stopped the trial (it finishes as PRUNED)."""


class Pause(Signal):  # noqa: N818 - control flow, not an error
    """The scheduler paused the trial (promotion schedulers, a PBT population
    taking turns)."""


class Restart(Signal):  # noqa: N818 - control flow, not an error
    """Population-based training replaced the trial's checkpoint and
    configuration: the trainable restarts with ``config`` (its JSON part), whose
    other values come from the configuration of the parameters ``base``."""

    def __init__(self, config: dict[str, Any], base: dict[str, Any] | None = None) -> None:
        super().__init__("restart with a new configuration")
        self.config = config
        self.base = base


class Session:
    """State of one running trial of :func:`hypersearch.tune`."""

    def __init__(
        self,
        trial: Any,
        metric: str,
        max_t: float | None,
        stop: Callable[[str, dict[str, Any]], bool] | None,
        checkpoints: CheckpointStore,
        *,
        deadline: float | None = None,
        driver_stop: bool = False,
    ) -> None:
        self.trial = trial
        self.driver_stop = driver_stop  # stop criteria evaluated by the study's process
        self.deadline = deadline  # time.time() at which the run's time budget ends
        self.metric = metric
        self.max_t = max_t
        self.stop = stop
        self.checkpoints = checkpoints
        # A resumed (promoted or retried) trial goes on counting from where its model
        # stopped: the step of the checkpoint it resumes from.  Reports after that
        # checkpoint (a paused trial that saved none since) are trained again; they
        # were recorded and judged already, so their second report records nothing.
        resume = trial.system_attrs.get("resume_step", 0)
        recorded = trial.intermediate_values
        last = max(recorded, default=None)
        saved = checkpoint_step(trial.system_attrs.get("checkpoint"))
        self._recorded = set(recorded)
        if last is None:
            self.iteration = int(resume or 0)
        elif saved is not None and saved < last:
            self.iteration = saved
        else:
            self.iteration = last
        if recorded and trial.system_attrs.get("checkpoint") is None:
            warnings.warn(
                f"trial {trial.number} resumes at iteration {self.iteration} without a checkpoint "
                "(hs.report(..., checkpoint=...)): the trainable starts from scratch while its "
                "iterations count on",
                stacklevel=2,
            )
        # Ray Tune's timing keys go on across resumes: seconds trained before this run
        # a resumed trial's last result; a retry's, carried over from its failed original
        last_result = trial.user_attrs.get("last_result") if recorded else None
        earlier = (last_result.get("time_total_s") if isinstance(last_result, dict)
                   else trial.system_attrs.get("time_total_s"))
        self._time_before = float(earlier) if isinstance(earlier, (int, float)) else 0.0
        self._started = self._last_report = time.monotonic()
        self.results: list[dict[str, Any]] = []
        self.last_value: float | None = None
        self.has_checkpoint = False
        # the signal the last report raised, until the trial acts on it
        self.signal: Signal | None = None

    @property
    def below(self) -> int | None:
        """Checkpoints a clone may copy are saved before this step (``max_t``: one
        at it is a fully trained model)."""
        return int(self.max_t) if self.max_t is not None else None

    @property
    def recorded_steps(self) -> set[int]:
        """Steps of this trial recorded so far (by earlier runs of it too)."""
        return self._recorded

    def _signal(self, signal: Signal) -> Signal:
        self.signal = signal
        return signal

    def _clone(self, step: int) -> None:
        _clone_into(self, step)

    def report(self, metrics: Mapping[str, Any], checkpoint: Any = None) -> None:
        if self.signal is not None:
            # The trainable caught the signal (``except BaseException``) and went
            # on: nothing more of this run is recorded.
            raise self.signal
        self.iteration += 1
        result = dict(metrics)
        result.setdefault("training_iteration", self.iteration)
        now = time.monotonic()
        result.setdefault("time_this_iter_s", now - self._last_report)
        result.setdefault("time_total_s", self._time_before + now - self._started)
        self._last_report = now
        if self.metric not in result:
            raise KeyError(
                f"hs.report() got no value for the metric {self.metric!r}; reported keys: "
                f"{sorted(metrics)}"
            )
        try:
            value = float(result[self.metric])
        except (TypeError, ValueError):
            raise TypeError(
                f"metric {self.metric!r} must be a number, got {result[self.metric]!r}"
            ) from None
        step = int(result["training_iteration"])
        if step in self._recorded:
            # trained again after resuming from an older checkpoint: recorded and
            # judged by the scheduler the first time; a newer checkpoint is kept, and
            # Ctrl-C, max_t, the stop criteria and the time budget apply as ever
            check_interrupt = getattr(self.trial, "_check_interrupt", None)
            if check_interrupt is not None:
                check_interrupt()
            self.last_value = value
            if checkpoint is not None:
                path = self.checkpoints.save(self.trial.number, step, checkpoint)
                self.trial.set_system_attr("checkpoint", path)
                self.trial.flush()  # a retry after a crash starts from it
                self.has_checkpoint = True
            self._end_checks(step, result)
            return
        self._recorded.add(step)
        self.results.append(result)
        self.last_value = value
        path = None
        if checkpoint is not None:
            path = self.checkpoints.save(self.trial.number, step, checkpoint)
            self.has_checkpoint = True
        decision = self.trial._tune_report(_jsonable(result), value, step, path)
        if decision == Decision.STOP:
            raise self._signal(Prune(f"stopped by the scheduler at iteration {step}"))
        if decision == Decision.CLONE:
            self._clone(step)
        if decision == Decision.PAUSE:
            if not self.has_checkpoint and self.trial.system_attrs.get("checkpoint") is None:
                warnings.warn(
                    f"trial {self.trial.number} is paused at iteration {step} without a "
                    "checkpoint (hs.report(..., checkpoint=...)); when promoted it will train "
                    "again from scratch",
                    stacklevel=3,
                )
            raise self._signal(Pause(f"paused by the scheduler at iteration {step}"))
        self._end_checks(step, result)

    def _end_checks(self, step: int, result: dict[str, Any]) -> None:
        """``max_t``, the stop criteria and the run's time budget, after a report."""
        if self.max_t is not None and step >= self.max_t:
            raise self._signal(StopTrial(f"max_t={self.max_t:g} reached"))
        if self.stop is not None and self.stop(str(self.trial.number), result):
            raise self._signal(StopTrial("a stop criterion was met"))
        if self.driver_stop and self.trial._tune_stop(_jsonable(result)):
            raise self._signal(StopTrial("a stop criterion was met"))
        if self.deadline is not None and time.time() >= self.deadline:
            raise self._signal(StopTrial("the run's time budget (time_budget_s) is spent"))


def _clone_into(session: Session, step: int) -> None:
    from hypersearch.schedulers.pbt import CHECKPOINT_ATTR, CONFIG_ATTR, PARAMS_ATTR, SCHEDULE_ATTR

    trial = session.trial
    source, config, donor_ckpt, donor_step, base = trial._pbt_plan()
    schedule = list(trial.system_attrs.get(SCHEDULE_ATTR, []))
    if source == trial.number:  # a replayed schedule: new config, own checkpoint
        path = donor_ckpt
        schedule.append({"step": step, "source": source, "source_step": step, "config": json_part(config)})
    else:
        if not _donor_caught_up(session, source, donor_ckpt, step):
            return  # the donor stopped training behind this trial: no clone, go on
        path, src_step = session.checkpoints.clone_with_step(donor_ckpt, trial.number, step, session.below)
        if src_step is None:
            src_step = donor_step if donor_step is not None else step
        # The copied model has trained src_step iterations (the donor's newest
        # checkpoint, often ahead of the step the trial was judged at): the trial's
        # count goes on from there, as in Ray Tune, so its steps keep measuring its
        # model's training (max_t, stop criteria, comparisons at equal steps).
        at = max(step, src_step)
        session.iteration = at
        schedule.append({"step": at, "source": source, "source_step": src_step, "judged_at": step,
                         "config": json_part(config)})
    if path is not None:
        trial.set_system_attr(CHECKPOINT_ATTR, path)
    trial.set_system_attr(CONFIG_ATTR, json_part(config))
    trial.set_system_attr(PARAMS_ATTR, base)
    trial.set_system_attr(SCHEDULE_ATTR, schedule)
    trial.flush()
    raise session._signal(Restart(config, base))


#: Longest wait, in seconds, for a donor's checkpoint to reach the cloning trial's step.
DONOR_WAIT_S = 60.0


def _donor_caught_up(session: Session, source: int, donor_ckpt: str | None, step: int) -> bool:
    """Wait until the donor has a checkpoint at ``step`` or later.

    A trial judged after its perturbation step (it ran ahead of the population)
    may have a donor a step or two behind it: in a population trained side by
    side, the member that runs ahead is often ahead at every step, and refusing
    such donors meant it never exploited anyone.  Copying a checkpoint older than
    the trial's own step would move its training back while its step counter
    goes on, so the clone waits (here, in the trial's worker, not in the
    scheduler) for the donor's next checkpoints.  It gives up, and the trial goes
    on without cloning, when the donor stops training (finished, paused or
    failed: its last checkpoint may be its fully trained model) or after
    :data:`DONOR_WAIT_S`.  Works in worker processes too: the donor's state is
    asked of the trial, which forwards the question to the driving process.
    """
    if donor_ckpt is None:
        return False
    trial = session.trial
    deadline = time.monotonic() + DONOR_WAIT_S
    delay, next_check = 0.002, 0.0
    while True:
        newest = session.checkpoints.newest_step(donor_ckpt, session.below)
        if newest is not None and newest >= step:
            # still training (paused, when the population takes turns): not a fully
            # trained model
            return trial._trial_state(source) in ("RUNNING", "PAUSED")
        now = time.monotonic()
        if now > deadline:
            return False
        if now >= next_check:  # one storage read every 0.2 s at most
            if trial._trial_state(source) != "RUNNING":  # a paused donor does not catch up
                return False
            next_check = now + 0.2
        time.sleep(delay)
        delay = min(2 * delay, 0.05)


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    """A result row as stored: JSON values (nested ones too) as they are, numpy
    values (nested ones too) as the numbers and lists they hold, other numbers as
    floats, anything else as its ``repr``."""
    from hypersearch.storage._common import is_json_value, plain_value

    out = {}
    for k, v in d.items():
        v = plain_value(v)
        if is_json_value(v):
            out[k] = v
        else:
            try:
                out[k] = float(v)
            except (TypeError, ValueError):
                out[k] = repr(v)
    return out


def current() -> Session:
    s = getattr(_local, "session", None)
    if s is not None:
        return s
    with _active_lock:
        active = list(_active.items())
    if len(active) == 1 and threading.current_thread() not in active[0][1]:
        return active[0][0]  # called from a thread the trainable started
    if len(active) > 1:
        raise RuntimeError(
            f"hs.report() and hs.get_checkpoint() were called from a thread that no trainable runs "
            f"in, while {len(active)} trials run in this process (executor='thread'): which trial "
            "it belongs to is unknown; call them from the trainable's own thread"
        )
    if active:
        raise RuntimeError(
            "hs.report() or hs.get_checkpoint() was called from a thread that was running before "
            "this trial began (one an earlier trial left behind?): it is not this trial's"
        )
    raise RuntimeError(
        "hs.report() and hs.get_checkpoint() can only be called inside a trainable run by hs.tune()"
    )


def set_current(s: Session | None) -> None:
    """Make ``s`` the session of this thread (``None``: end this thread's session)."""
    old = getattr(_local, "session", None)
    _local.session = s
    with _active_lock:
        if old is not None:
            _active.pop(old, None)
        if s is not None:
            _active[s] = frozenset(threading.enumerate())


def report(metrics: Mapping[str, Any] | None = None, /, *, checkpoint: Any = None, **kwargs: Any) -> None:
    """Report this iteration's metrics (e.g. ``hs.report(loss=0.3, accuracy=0.9)``).

    The scheduler decides after every report; when it stops the trial, this call
    raises and the trainable ends there.  ``checkpoint`` (a picklable object or a
    directory path) is stored with the trial so it can be resumed or cloned.
    """
    merged = dict(metrics or {})
    merged.update(kwargs)
    current().report(merged, checkpoint)


def get_checkpoint() -> Any:
    """The trial's latest checkpoint (``None`` when starting fresh).

    A checkpoint that was recorded but is gone from the disk (a deleted or lost
    artifact directory) is treated like a trial paused without one: a warning,
    the missing path kept in the ``checkpoint_lost`` system attribute, and
    ``None``, so the trainable trains again from scratch instead of failing.
    """
    s = current()
    path = s.trial.system_attrs.get("checkpoint")
    if path is None:
        return None
    try:
        return s.checkpoints.load(path)
    except FileNotFoundError as e:
        warnings.warn(f"trial {s.trial.number}: {e}; it trains again from scratch", stacklevel=2)
        # Forget the checkpoint (None: PBT never picks this trial as a donor of a
        # missing file) and where it would have resumed: a retry counts its steps
        # from 0 again; a promoted trial goes on from its last report, as one paused
        # without a checkpoint does.  Through set_system_attr, so that it works on a
        # trial proxied to a worker process too.
        s.trial.set_system_attr("checkpoint_lost", path)
        s.trial.set_system_attr("checkpoint", None)
        s.trial.set_system_attr("resume_step", None)
        s.iteration = max(s.trial.intermediate_values, default=0)
        return None
