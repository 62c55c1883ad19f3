"""Objectives in threads of the study's process (for objectives that release the
GIL: numpy, PyTorch and most native code, or that wait on I/O)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hypersearch.execution.base import BaseExecutor, Slot

__all__ = ["ThreadExecutor"]


class _ThreadSlot(Slot):
    _trial: Any = None

    def interrupt(self) -> None:
        # A thread cannot be stopped from outside: its trial stops (raises
        # KeyboardInterrupt, so a pausable trial is paused) at its next report.
        trial = self._trial
        if trial is not None:
            trial._interrupt = True

    def run(self, trial: Any, objective: Callable[[Any], Any], *, pausable: bool, timeout: float | None) -> Any:
        self._trial = trial
        try:
            return self._run(trial, objective, timeout)
        finally:
            self._trial = None

    def _run(self, trial: Any, objective: Callable[[Any], Any], timeout: float | None) -> Any:
        if timeout is not None:
            raise ValueError(
                "trial_timeout needs worker processes (a thread cannot be stopped); use "
                "executor='process'"
            )
        if self.allocation is not None:
            # Threads share the process environment, so GPUs cannot be hidden per
            # trial; the assignment is recorded for the objective to use.
            trial.set_system_attr("resources", self.allocation.as_dict())
        return objective(trial)


class ThreadExecutor(BaseExecutor):
    """Run each trial's objective in a thread of this process."""

    in_process = True

    def start(
        self,
        objective: Callable[[Any], Any],
        n_slots: int,
        resources_per_trial: Mapping[str, float] | None,
    ) -> list[Slot]:
        return [_ThreadSlot(i, a) for i, a in enumerate(self._allocations(n_slots, resources_per_trial))]
