"""Where trials run: threads, worker processes, Ray.

``study.optimize(objective, n_jobs=4)`` runs four trials at a time in worker
processes (``executor="process"``, the default for ``n_jobs > 1``);
``executor="thread"`` uses threads of this process instead, for objectives that
release the GIL; ``executor="ray"`` (or :class:`RayExecutor` with a cluster
address) runs them as Ray actors.  ``resources_per_trial={"cpu": 2, "gpu": 0.5}``
limits concurrency to what the machine holds and shows each trial only its own
GPUs.  The study, its sampler, scheduler and storage always stay in the
calling process; see :mod:`hypersearch.execution.base`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hypersearch.execution.base import BaseExecutor, Slot, TrialTimeout, WorkerDied
from hypersearch.execution.resources import Allocation, ResourcePool, detect_gpus
from hypersearch.execution.thread import ThreadExecutor

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.execution.process import ProcessExecutor
    from hypersearch.execution.ray import RayExecutor

__all__ = [
    "Allocation",
    "BaseExecutor",
    "ProcessExecutor",
    "RayExecutor",
    "ResourcePool",
    "Slot",
    "ThreadExecutor",
    "TrialTimeout",
    "WorkerDied",
    "detect_gpus",
    "get_executor",
]


def __getattr__(name: str) -> Any:
    if name == "ProcessExecutor":
        from hypersearch.execution.process import ProcessExecutor

        return ProcessExecutor
    if name == "RayExecutor":
        from hypersearch.execution.ray import RayExecutor

        return RayExecutor
    raise AttributeError(f"module 'hypersearch.execution' has no attribute {name!r}")


EXECUTOR_NAMES = ("process", "thread", "ray")


def check_executor(executor: Any) -> None:
    """``ValueError`` unless ``executor`` is ``None``, a name in
    :data:`EXECUTOR_NAMES` or an executor object (checked without starting one)."""
    if not (executor is None or isinstance(executor, BaseExecutor) or executor in EXECUTOR_NAMES):
        raise ValueError(
            f"executor must be 'process', 'thread', 'ray' or an executor object, got {executor!r}"
        )


def get_executor(executor: str | BaseExecutor | None) -> BaseExecutor:
    """An executor from ``"process"``, ``"thread"``, ``"ray"`` or an instance."""
    check_executor(executor)
    if isinstance(executor, BaseExecutor):
        return executor
    if executor in (None, "process"):
        from hypersearch.execution.process import ProcessExecutor

        return ProcessExecutor()
    if executor == "thread":
        return ThreadExecutor()
    from hypersearch.execution.ray import RayExecutor  # "ray", the last name left

    return RayExecutor()
