"""TensorBoard integration: write every finished trial of a study as a TensorBoard run
that the HParams dashboard understands.

::

    from hypersearch.integrations.tensorboard import TensorBoardCallback

    study.optimize(objective, n_trials=50, callbacks=[TensorBoardCallback("runs/bert-lr")])
    # then: tensorboard --logdir runs/bert-lr   (HParams tab: one row per trial)

Each trial gets its own run directory ``<log_dir>/trial-<number>`` (four digits
at least, ``trial-0007``) holding

* the objective value(s) as scalars (``metric_name``), logged at the trial's last
  reported step,
* its intermediate values as the scalar ``intermediate_value`` by step (a learning
  curve per trial in the Scalars tab) and its duration as ``duration_s``,
* an HParams *session*: the trial's parameters (plus ``trial_state``, so pruned or
  failed trials can be filtered out) and its start/end times and status.

No experiment summary is written: TensorBoard infers the hyperparameters and their
domains from the sessions and the metrics from the sessions' scalars, so a study
that keeps growing (or is continued by other processes) needs no rewrite.

Only the ``tensorboard`` package is needed (no TensorFlow or torch):
``pip install 'hypersearch[tensorboard]'``.
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial

__all__ = ["TensorBoardCallback"]


def _import_tensorboard():
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as e:
        raise ImportError(
            "TensorBoardCallback needs tensorboard: pip install 'hypersearch[tensorboard]'"
        ) from e
    return event_pb2, summary_pb2, api_pb2, metadata, plugin_data_pb2, EventFileWriter


class TensorBoardCallback:
    """``study.optimize`` callback writing each finished trial as a TensorBoard run with
    its scalars and an HParams session.

    Args:
        log_dir: Directory for the study's runs (point ``tensorboard --logdir`` here).
        metric_name: Scalar name of the objective value; for several objectives one
            name per objective, or one name that gets ``_0``, ``_1``... appended.
        intermediate_name: Scalar holding the intermediate values by step.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str],
        metric_name: str | Sequence[str] = "value",
        *,
        intermediate_name: str = "intermediate_value",
    ) -> None:
        self._tb = _import_tensorboard()
        if not isinstance(metric_name, str) and (
            not isinstance(metric_name, Sequence) or not all(isinstance(m, str) for m in metric_name)
        ):
            raise TypeError(f"metric_name must be a string or a list of strings, got {metric_name!r}")
        self.log_dir = os.fspath(log_dir)
        self.metric_name = metric_name
        self.intermediate_name = intermediate_name
        self._lock = threading.Lock()  # optimize may call back from several threads

    def run_dir(self, trial: FrozenTrial) -> str:
        """The run directory of ``trial``."""
        return os.path.join(self.log_dir, f"trial-{trial.number:04d}")

    def __call__(self, study: Study, trial: FrozenTrial) -> None:
        names = self._metric_names(study)
        with self._lock:
            self._write(trial, names)

    def _metric_names(self, study: Study) -> list[str]:
        n = len(study.directions)
        if isinstance(self.metric_name, str):
            return [self.metric_name] if n == 1 else [f"{self.metric_name}_{i}" for i in range(n)]
        if len(self.metric_name) != n:
            raise ValueError(
                f"metric_name has {len(self.metric_name)} names but study "
                f"{study.study_name!r} has {n} objective(s)"
            )
        return list(self.metric_name)

    def _write(self, trial: FrozenTrial, names: list[str]) -> None:
        event_pb2, summary_pb2, api_pb2, metadata, plugin_data_pb2, EventFileWriter = self._tb
        start = _secs(trial.datetime_start)
        end = _secs(trial.datetime_complete)
        wall = end if end is not None else time.time()

        def scalar(tag: str, value: float, step: int, when: float = wall) -> Any:
            summary = summary_pb2.Summary(
                value=[summary_pb2.Summary.Value(tag=tag, simple_value=float(value))]
            )
            return event_pb2.Event(wall_time=when, step=int(step), summary=summary)

        def hparams_event(data: Any, tag: str) -> Any:
            value = summary_pb2.Summary.Value(
                tag=tag,
                metadata=metadata.create_summary_metadata(data),
                tensor=metadata.NULL_TENSOR,
            )
            return event_pb2.Event(
                wall_time=start or wall, step=0, summary=summary_pb2.Summary(value=[value])
            )

        session = plugin_data_pb2.SessionStartInfo(start_time_secs=start or wall)
        for name, v in trial.params.items():
            _set_value(session.hparams[name], v)
        _set_value(session.hparams["trial_state"], trial.state.name)
        ending = plugin_data_pb2.SessionEndInfo(
            status=(
                api_pb2.STATUS_FAILURE
                if trial.state == TrialState.FAIL
                else api_pb2.STATUS_SUCCESS
                if trial.state.is_finished()
                else api_pb2.STATUS_RUNNING
            ),
            end_time_secs=wall,
        )

        events = [
            hparams_event(
                plugin_data_pb2.HParamsPluginData(session_start_info=session),
                metadata.SESSION_START_INFO_TAG,
            )
        ]
        for step, v in sorted(trial.intermediate_values.items()):
            events.append(scalar(self.intermediate_name, v, step))
        last_step = trial.last_step or 0
        for name, v in zip(names, trial.values or []):
            events.append(scalar(name, v, last_step))
        if trial.duration is not None:
            events.append(scalar("duration_s", trial.duration.total_seconds(), last_step))
        events.append(
            hparams_event(
                plugin_data_pb2.HParamsPluginData(session_end_info=ending),
                metadata.SESSION_END_INFO_TAG,
            )
        )

        writer = EventFileWriter(self.run_dir(trial))
        try:
            for ev in events:
                writer.add_event(ev)
        finally:
            writer.close()


def _set_value(slot: Any, v: Any) -> None:
    """Fill a ``google.protobuf.Value`` with a parameter value."""
    if isinstance(v, bool):
        slot.bool_value = v
    elif isinstance(v, (int, float)):
        slot.number_value = float(v)
    else:
        slot.string_value = str(v)


def _secs(t: _dt.datetime | None) -> float | None:
    if t is None:
        return None
    if t.tzinfo is None:  # hypersearch stores UTC
        t = t.replace(tzinfo=_dt.timezone.utc)
    return t.timestamp()
