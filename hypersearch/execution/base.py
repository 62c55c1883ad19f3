"""The executor interface: where objectives run.

The optimize loop (ask, tell, scheduling) always runs in the study's process;
an executor only decides *where the objective runs*: in a thread of this
process, in a long-lived worker process, or in a Ray actor.  It exposes a fixed
number of *slots* (each with its resources, see
:mod:`hypersearch.execution.resources`); the loop runs one trial at a time on
each slot.  Executors know nothing about schedulers or samplers, and
schedulers never see executors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hypersearch.exceptions import HyperSearchError
from hypersearch.execution.resources import Allocation, ResourcePool

__all__ = ["BaseExecutor", "Slot", "TrialTimeout", "WorkerDied"]


class WorkerDied(HyperSearchError):
    """The worker running a trial died (killed, out of memory, crashed).  The trial
    is recorded as FAIL and, with ``retries``, queued again."""

    retryable = True


class TrialTimeout(HyperSearchError):
    """A trial ran longer than ``trial_timeout``; its worker was stopped."""


class Slot:
    """One place a trial can run, with the resources it owns."""

    def __init__(self, index: int, allocation: Allocation | None) -> None:
        self.index = index
        self.allocation = allocation

    def run(self, trial: Any, objective: Callable[[Any], Any], *, pausable: bool, timeout: float | None) -> Any:
        """Run ``objective(trial)`` here; return its value or raise what it raised."""
        raise NotImplementedError

    def interrupt(self) -> None:
        """Stop the trial running here as soon as possible (Ctrl-C)."""

    def close(self) -> None:
        """Release the slot's worker."""


class BaseExecutor:
    """Runs objectives on slots.

    Args:
        resources: The pool resources are taken from (default: this machine).
    """

    #: Whether objectives run in this process (and see the study directly).
    in_process = False

    def __init__(self, resources: ResourcePool | None = None) -> None:
        self.resources = resources
        self._slots: list[Slot] = []

    def start(
        self,
        objective: Callable[[Any], Any],
        n_slots: int,
        resources_per_trial: Mapping[str, float] | None,
    ) -> list[Slot]:
        """Start up to ``n_slots`` slots (fewer when the resources allow fewer)."""
        raise NotImplementedError

    def shutdown(self) -> None:
        """Stop every worker started by :meth:`start`."""
        for s in self._slots:
            s.close()
        self._slots = []

    def _allocations(self, n_slots: int, per_trial: Mapping[str, float] | None) -> list[Allocation | None]:
        if not per_trial:
            return [None] * n_slots
        pool = self.resources if self.resources is not None else ResourcePool()
        return list(pool.partition(n_slots, per_trial))
