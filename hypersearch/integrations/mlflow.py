"""MLflow integration: record every finished trial of a study as an MLflow run.

::

    from hypersearch.integrations.mlflow import MLflowCallback

    study = hs.create_study(study_name="bert-lr")
    study.optimize(objective, n_trials=50,
                   callbacks=[MLflowCallback(tracking_uri="sqlite:///mlflow.db")])

Each trial becomes one run, named after the trial number, in the experiment named
after the study (created when missing).  The run holds the trial's parameters
(MLflow params), its objective value(s), its duration and its intermediate values
(as a metric history by step), its state and user attributes (tags), and its real
start and end times, so MLflow's comparison views show the search next to any
other experiment tracking.  Runs are written with an ``MlflowClient`` after the
trial has finished, so the callback neither needs nor disturbs an active MLflow
run of the objective itself.

Needs ``mlflow`` (``mlflow-skinny`` is enough for a tracking server; a local
``sqlite:///`` store also needs ``alembic``): ``pip install 'hypersearch[mlflow]'``.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hypersearch.trial._state import TrialState

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.study._study import Study
    from hypersearch.trial._frozen import FrozenTrial

__all__ = ["MLflowCallback"]

#: MLflow run status of each final trial state (a pruned trial was stopped early).
_STATUS = {
    TrialState.COMPLETE: "FINISHED",
    TrialState.PRUNED: "KILLED",
    TrialState.FAIL: "FAILED",
}
_BAD_KEY_CHARS = re.compile(r"[^0-9A-Za-z_\-. /]")
_MAX_KEY = 250
_MAX_PARAM_VALUE = 6000
_MAX_TAG_VALUE = 5000
_BATCH_PARAMS_TAGS = 100
_BATCH_METRICS = 1000
_PARENT_ROLE = "study"


def _import_mlflow():
    try:
        import mlflow
        from mlflow.tracking import MlflowClient
    except ImportError as e:
        raise ImportError(
            "MLflowCallback needs mlflow: pip install 'hypersearch[mlflow]'"
        ) from e
    return mlflow, MlflowClient


class MLflowCallback:
    """``study.optimize`` callback logging each finished trial as an MLflow run.

    Args:
        tracking_uri: Where runs go (``"sqlite:///mlflow.db"``, ``"http://host:5000"``...);
            ``None``: MLflow's default (``MLFLOW_TRACKING_URI`` or
            ``mlflow.set_tracking_uri``).
        experiment_name: MLflow experiment of the runs; ``None``: the study's name.
        metric_name: Name of the objective value's metric; for several objectives
            one name per objective, or one name that gets ``_0``, ``_1``... appended.
        nested: Make each trial a child run: of the MLflow run active when the
            callback is called, or else of one parent run per study (created on the
            first trial and reused afterwards, also by other processes).
        tag_study: Tag runs with the study name, trial number and directions
            (``hypersearch.*`` tags) so a study's runs can be filtered.
        intermediate_name: Metric holding the intermediate values (one point per
            reported step).
        tags: Extra tags for every run.
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment_name: str | None = None,
        metric_name: str | Sequence[str] = "value",
        nested: bool = False,
        tag_study: bool = True,
        *,
        intermediate_name: str = "intermediate_value",
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        self._mlflow, self._client_cls = _import_mlflow()
        if not isinstance(metric_name, str) and (
            not isinstance(metric_name, Sequence) or not all(isinstance(m, str) for m in metric_name)
        ):
            raise TypeError(f"metric_name must be a string or a list of strings, got {metric_name!r}")
        self.tracking_uri = tracking_uri
        self.experiment_name = experiment_name
        self.metric_name = metric_name
        self.nested = bool(nested)
        self.tag_study = bool(tag_study)
        self.intermediate_name = intermediate_name
        self.tags = {str(k): _tag_value(v) for k, v in (tags or {}).items()}
        self._client = None
        self._experiments: dict[str, str] = {}
        self._parents: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()  # optimize may call back from several threads

    @property
    def client(self):
        """The ``MlflowClient`` the runs are written with (created on first use)."""
        if self._client is None:
            self._client = self._client_cls(tracking_uri=self.tracking_uri)
        return self._client

    def __call__(self, study: Study, trial: FrozenTrial) -> None:
        with self._lock:
            self._log_trial(study, trial)

    # -- one run --------------------------------------------------------------------------
    def _log_trial(self, study: Study, trial: FrozenTrial) -> None:
        from mlflow.entities import Metric, Param

        names = self._metric_names(study)  # a mismatch fails before anything is written
        client = self.client
        experiment_id = self._experiment_id(study)
        tags = dict(self.tags)
        if self.tag_study:
            tags.update(
                {
                    "hypersearch.study": study.study_name,
                    "hypersearch.trial_number": str(trial.number),
                    "hypersearch.directions": ",".join(d.name.lower() for d in study.directions),
                }
            )
        tags["hypersearch.state"] = trial.state.name
        if trial.fail_reason:
            tags["hypersearch.fail_reason"] = _tag_value(trial.fail_reason)
        for k, v in trial.user_attrs.items():
            tags[_key(f"user_attr.{k}")] = _tag_value(v)
        if self.nested:
            tags["mlflow.parentRunId"] = self._parent_run_id(study, experiment_id)

        start = _ms(trial.datetime_start)
        end = _ms(trial.datetime_complete)
        run = client.create_run(
            experiment_id, start_time=start, tags=tags, run_name=str(trial.number)
        )
        run_id = run.info.run_id
        try:
            now = end if end is not None else int(time.time() * 1000)
            metrics = [
                Metric(name, value, now, 0)
                for name, value in zip(names, trial.values or [])
            ]
            metrics += [
                Metric(self.intermediate_name, float(v), now, int(step))
                for step, v in sorted(trial.intermediate_values.items())
            ]
            if trial.duration is not None:
                metrics.append(Metric("duration_s", trial.duration.total_seconds(), now, 0))
            params = [Param(_key(k), _param_value(v)) for k, v in trial.params.items()]
            for i in range(0, len(params), _BATCH_PARAMS_TAGS):
                client.log_batch(run_id, params=params[i : i + _BATCH_PARAMS_TAGS])
            for i in range(0, len(metrics), _BATCH_METRICS):
                client.log_batch(run_id, metrics=metrics[i : i + _BATCH_METRICS])
        except BaseException:
            client.set_terminated(run_id, status="FAILED", end_time=end)
            raise
        client.set_terminated(run_id, status=_STATUS.get(trial.state, "FINISHED"), end_time=end)

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

    # -- experiment and parent run ----------------------------------------------------------
    def _experiment_id(self, study: Study) -> str:
        name = self.experiment_name or study.study_name
        if name not in self._experiments:
            exp = self.client.get_experiment_by_name(name)
            if exp is None:
                try:
                    exp_id = self.client.create_experiment(name)
                except Exception:
                    # another process created it between the look-up and here
                    exp = self.client.get_experiment_by_name(name)
                    if exp is None:
                        raise
                    exp_id = exp.experiment_id
            else:
                exp_id = exp.experiment_id
            self._experiments[name] = exp_id
        return self._experiments[name]

    def _parent_run_id(self, study: Study, experiment_id: str) -> str:
        active = self._mlflow.active_run()
        if active is not None:
            return active.info.run_id
        key = (experiment_id, study.study_name)
        if key not in self._parents:
            name = study.study_name.replace("'", "\\'")
            found = self.client.search_runs(
                [experiment_id],
                filter_string=(
                    f"tags.`hypersearch.role` = '{_PARENT_ROLE}' "
                    f"and tags.`hypersearch.study` = '{name}'"
                ),
                max_results=1,
            )
            if found:
                self._parents[key] = found[0].info.run_id
            else:
                run = self.client.create_run(
                    experiment_id,
                    run_name=study.study_name,
                    tags={
                        "hypersearch.role": _PARENT_ROLE,
                        "hypersearch.study": study.study_name,
                        **self.tags,
                    },
                )
                self.client.set_terminated(run.info.run_id, status="FINISHED")
                self._parents[key] = run.info.run_id
        return self._parents[key]


# -- helpers ------------------------------------------------------------------------------------


def _key(name: str) -> str:
    """A valid MLflow param/metric/tag key (letters, digits, ``_-. /``)."""
    return _BAD_KEY_CHARS.sub("_", str(name))[:_MAX_KEY] or "_"


def _param_value(v: Any) -> str:
    return str(v)[:_MAX_PARAM_VALUE]


def _tag_value(v: Any) -> str:
    if not isinstance(v, str):
        try:
            v = json.dumps(v)
        except (TypeError, ValueError):
            v = repr(v)
    return v[:_MAX_TAG_VALUE]


def _ms(t: _dt.datetime | None) -> int | None:
    if t is None:
        return None
    if t.tzinfo is None:  # hypersearch stores UTC
        t = t.replace(tzinfo=_dt.timezone.utc)
    return int(t.timestamp() * 1000)
