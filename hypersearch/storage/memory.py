"""In-process storage: the default of :func:`hypersearch.create_study` without a URL.

Thread-safe; keeps everything in Python objects and loses it when the process
exits.  Readers get copies, so nothing they do can alter the stored record.
"""

from __future__ import annotations

import copy
import datetime as _dt
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from hypersearch.exceptions import DuplicatedStudyError, StudyNotFoundError, TrialStateError
from hypersearch.space.distributions import BaseDistribution
from hypersearch.storage._common import as_utc, retry_attrs, stale_reason, summarize_study
from hypersearch.storage.base import BaseStorage, StudyInfo, StudySummary, now
from hypersearch.study._direction import StudyDirection
from hypersearch.trial._frozen import FrozenTrial
from hypersearch.trial._state import TrialState


class _Study:
    def __init__(self, info: StudyInfo) -> None:
        self.info = info
        self.trials: list[FrozenTrial] = []
        self.waiting: list[int] = []  # numbers of WAITING trials, ascending


class InMemoryStorage(BaseStorage):
    """Storage in the memory of the current process."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._studies: dict[int, _Study] = {}
        self._names: dict[str, int] = {}
        self._trial_index: dict[int, tuple[int, int]] = {}  # trial_id -> (study_id, number)
        self._beats: dict[int, _dt.datetime] = {}  # trial_id -> last heartbeat or write
        self._next_study_id = 0
        self._next_trial_id = 0

    # -- studies ---------------------------------------------------------------
    def create_study(self, name: str, directions: Sequence[StudyDirection]) -> StudyInfo:
        with self._lock:
            if name in self._names:
                raise DuplicatedStudyError(f"a study named {name!r} already exists")
            sid = self._next_study_id
            self._next_study_id += 1
            info = StudyInfo(sid, name, list(directions), {}, {}, now())
            self._studies[sid] = _Study(info)
            self._names[name] = sid
            return copy.deepcopy(info)

    def _study(self, study_id: int) -> _Study:
        try:
            return self._studies[study_id]
        except KeyError:
            raise StudyNotFoundError(f"no study with id {study_id}") from None

    def get_study(self, name: str) -> StudyInfo:
        with self._lock:
            if name not in self._names:
                raise StudyNotFoundError(f"no study named {name!r} in this storage")
            return copy.deepcopy(self._studies[self._names[name]].info)

    def delete_study(self, study_id: int) -> None:
        with self._lock:
            st = self._study(study_id)
            for t in st.trials:
                self._trial_index.pop(t.trial_id, None)
            del self._names[st.info.name]
            del self._studies[study_id]

    def list_studies(self) -> list[StudySummary]:
        with self._lock:
            return [
                summarize_study(st.info, st.trials)
                for st in sorted(self._studies.values(), key=lambda s: s.info.study_id)
            ]

    def set_study_attrs(self, study_id, *, user=None, system=None) -> None:
        with self._lock:
            info = self._study(study_id).info
            if user:
                info.user_attrs.update(copy.deepcopy(user))
            if system:
                info.system_attrs.update(copy.deepcopy(system))

    def get_study_attrs(self, study_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        with self._lock:
            info = self._study(study_id).info
            return copy.deepcopy(info.user_attrs), copy.deepcopy(info.system_attrs)

    def setdefault_study_system_attr(self, study_id: int, key: str, value: Any) -> Any:
        with self._lock:
            attrs = self._study(study_id).info.system_attrs
            if key not in attrs:
                attrs[key] = copy.deepcopy(value)
            return copy.deepcopy(attrs[key])

    # -- trials ----------------------------------------------------------------
    def _new_trial(self, st: _Study, state: TrialState) -> FrozenTrial:
        t = FrozenTrial(number=len(st.trials), state=state, trial_id=self._next_trial_id)
        self._next_trial_id += 1
        st.trials.append(t)
        self._trial_index[t.trial_id] = (st.info.study_id, t.number)
        return t

    def enqueue_trial(self, study_id, params, distributions, user_attrs=None, system_attrs=None):
        with self._lock:
            st = self._study(study_id)
            t = self._new_trial(st, TrialState.WAITING)
            t.params = dict(params)
            t.distributions = dict(distributions)
            t.user_attrs = copy.deepcopy(user_attrs or {})
            t.system_attrs = copy.deepcopy(system_attrs or {})
            st.waiting.append(t.number)
            return t.number

    def enqueue_trials(self, study_id, items, once_key=None) -> bool:
        with self._lock:
            st = self._study(study_id)
            if once_key is not None:
                if once_key in st.info.system_attrs:
                    return False
                st.info.system_attrs[once_key] = True
            for params, system_attrs in items:
                self.enqueue_trial(study_id, params, {}, None, system_attrs)
            return True

    def start_trial(self, study_id: int, waiting_only: bool = False) -> FrozenTrial | None:
        with self._lock:
            st = self._study(study_id)
            if st.waiting:
                t = st.trials[st.waiting.pop(0)]
                t.state = TrialState.RUNNING
            elif waiting_only:
                return None
            else:
                t = self._new_trial(st, TrialState.RUNNING)
            t.datetime_start = now()
            return t.copy()

    def resume_trial(self, study_id: int, number: int, system_attrs=None) -> FrozenTrial | None:
        with self._lock:
            st = self._study(study_id)
            if not 0 <= number < len(st.trials) or st.trials[number].state != TrialState.PAUSED:
                return None
            t = st.trials[number]
            t.state = TrialState.RUNNING
            if system_attrs:
                t.system_attrs.update(copy.deepcopy(dict(system_attrs)))
            self._beats[t.trial_id] = now()
            return t.copy()

    def add_trial(self, study_id: int, trial: FrozenTrial) -> FrozenTrial:
        with self._lock:
            st = self._study(study_id)
            t = self._new_trial(st, trial.state)
            t.values = list(trial.values) if trial.values is not None else None
            t.params = dict(trial.params)
            t.distributions = dict(trial.distributions)
            t.intermediate_values = dict(trial.intermediate_values)
            t.user_attrs = copy.deepcopy(trial.user_attrs)
            t.system_attrs = copy.deepcopy(trial.system_attrs)
            t.datetime_start = as_utc(trial.datetime_start) or now()
            t.datetime_complete = as_utc(trial.datetime_complete) or (
                now() if trial.state.is_finished() else None
            )
            if t.state == TrialState.WAITING:
                st.waiting.append(t.number)
            return t.copy()

    def write_trial(
        self,
        trial_id: int,
        *,
        params: dict[str, Any] | None = None,
        distributions: dict[str, BaseDistribution] | None = None,
        user_attrs: dict[str, Any] | None = None,
        system_attrs: dict[str, Any] | None = None,
        intermediate: dict[int, float] | None = None,
        state: TrialState | None = None,
        values: Sequence[float] | None = None,
        retry: dict[str, Any] | None = None,
        completed_at: _dt.datetime | None = None,
    ) -> int | None:
        with self._lock:
            try:
                sid, number = self._trial_index[trial_id]
            except KeyError:
                raise StudyNotFoundError(f"no trial with id {trial_id}: its study was deleted") from None
            t = self._studies[sid].trials[number]
            if t.state != TrialState.RUNNING:
                raise TrialStateError(
                    f"trial {number} is {t.state.name}, not RUNNING; it cannot be changed"
                )
            if params is not None:
                t.params = dict(params)
            if distributions is not None:
                t.distributions = dict(distributions)
            if user_attrs is not None:
                t.user_attrs = copy.deepcopy(user_attrs)
            if system_attrs is not None:
                t.system_attrs = copy.deepcopy(system_attrs)
            self._beats[trial_id] = now()
            if intermediate:
                t.intermediate_values.update(intermediate)
            if values is not None:
                t.values = [float(v) for v in values]
            if state is not None:
                t.state = state
                if state.is_finished():
                    t.datetime_complete = completed_at or now()
            if retry is not None and state is not None and state.is_finished():
                queued = self.enqueue_trial(sid, t.params, t.distributions, {}, retry)
                t.system_attrs["requeued_as"] = queued
                return queued
            return None

    def heartbeat(self, trial_ids: Sequence[int]) -> None:
        t0 = now()
        with self._lock:
            for tid in trial_ids:
                loc = self._trial_index.get(tid)
                if loc is not None:
                    t = self._studies[loc[0]].trials[loc[1]]
                    if t.state == TrialState.RUNNING:
                        self._beats[tid] = t0

    def fail_stale_trials(
        self, study_id: int, older_than: _dt.datetime, retries: int = 0, *, numbers=None, reason=None
    ) -> list[FrozenTrial]:
        out = []
        only = None if numbers is None else set(numbers)
        with self._lock:
            st = self._study(study_id)
            for t in list(st.trials):
                if t.state != TrialState.RUNNING or (only is not None and t.number not in only):
                    continue
                last = self._beats.get(t.trial_id, t.datetime_start)
                if last is not None and last < older_than:
                    t.state = TrialState.FAIL
                    t.datetime_complete = now()
                    t.system_attrs["fail_reason"] = reason or stale_reason(last)
                    retry = retry_attrs(t, retries)
                    if retry is not None:
                        t.system_attrs["requeued_as"] = self.enqueue_trial(
                            study_id, t.params, t.distributions, {}, retry
                        )
                    out.append(t.copy())
        return out

    def get_trials(
        self,
        study_id: int,
        *,
        after_number: int = -1,
        numbers: Iterable[int] = (),
        states: Iterable[TrialState] | None = None,
    ) -> list[FrozenTrial]:
        with self._lock:
            st = self._study(study_id)
            wanted = sorted({n for n in numbers if 0 <= n < len(st.trials) and n <= after_number})
            out = [st.trials[n] for n in wanted] + st.trials[max(after_number + 1, 0) :]
            if states is not None:
                sset = set(states)
                out = [t for t in out if t.state in sset]
            return [t.copy() for t in out]

    def get_trial_stamps(self, study_id: int, states: Iterable[TrialState]) -> dict[int, object]:
        sset = set(states)
        with self._lock:
            return {
                t.number: self._beats.get(t.trial_id, t.datetime_start)
                for t in self._study(study_id).trials
                if t.state in sset
            }

    def count_trials(self, study_id: int, states: Iterable[TrialState] | None = None) -> int:
        with self._lock:
            st = self._study(study_id)
            if states is None:
                return len(st.trials)
            sset = set(states)
            return sum(1 for t in st.trials if t.state in sset)
