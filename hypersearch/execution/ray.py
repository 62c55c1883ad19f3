"""Objectives as Ray actors, on one machine or a Ray cluster.

Each slot is a long-lived Ray actor that loads the objective once and runs
trial after trial (no per-trial process start).  The study stays in the driver
process: the actor forwards the objective's ``suggest``/``report`` calls to it
(one pair of actor calls per round trip), so samplers, schedulers and the
storage behave exactly as with local workers.  Ray places the actors with the
requested ``num_cpus``/``num_gpus`` and sets their ``CUDA_VISIBLE_DEVICES``.

Needs ``pip install 'hypersearch[ray]'``.  Checkpoints of ``hs.tune`` are files:
on a multi-machine cluster give ``storage_path`` a directory every node shares.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from hypersearch.execution._remote import run_objective, serve, trial_info
from hypersearch.execution.base import BaseExecutor, Slot, TrialTimeout, WorkerDied
from hypersearch.execution.resources import check_resources

_log = logging.getLogger(__name__)

#: Seconds Ray may take, once the first worker actor is up, to place the others
#: before a run goes on without them.
_PLACE_GRACE_S = 10.0

__all__ = ["RayExecutor"]

_POLL_S = 0.5


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ImportError(
            "executor='ray' needs Ray: pip install 'hypersearch[ray]'"
        ) from None
    return ray


class _ActorWorker:
    """The actor's side: runs one trial at a time in a thread and exchanges its
    messages through two local queues, read and written by the driver's calls."""

    def __init__(self, env: dict[str, str]) -> None:
        os.environ.update(env)
        self._objective: Any = None
        self._inbox: queue.Queue = queue.Queue()
        self._outbox: queue.Queue = queue.Queue()

    def pid(self) -> int:
        return os.getpid()

    def load(self, blob: bytes) -> int:
        """Load the objective (apart from the constructor, so that the driver can
        tell placement, which may wait for resources, from loading, which may take
        long: importing torch, reading data)."""
        import cloudpickle

        self._objective = cloudpickle.loads(blob)
        return os.getpid()

    def start(self, info: dict[str, Any]) -> None:
        inbox, outbox = self._inbox, self._outbox

        class _Channel:
            def send(self, obj: Any) -> None:
                outbox.put(obj)

            def recv(self) -> Any:
                return inbox.get()

        threading.Thread(target=run_objective, args=(_Channel(), self._objective, info), daemon=True).start()

    def next_message(self, timeout: float) -> Any:
        try:
            return self._outbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def reply(self, msg: Any) -> None:
        self._inbox.put(msg)


class _RaySlot(Slot):
    def __init__(self, index: int, executor: RayExecutor) -> None:
        super().__init__(index, None)
        self._ex = executor
        self._actor: Any = None
        self._interrupted = threading.Event()

    def _ensure(self) -> None:
        if self._actor is None:
            self._actor = self._ex._new_actor()

    def _kill(self) -> None:
        if self._actor is not None:
            try:
                self._ex._ray.kill(self._actor)
            except Exception:  # pragma: no cover - already gone
                pass
        self._actor = None

    def interrupt(self) -> None:
        self._interrupted.set()

    def close(self) -> None:
        self._kill()

    def run(self, trial: Any, objective: Callable[[Any], Any], *, pausable: bool, timeout: float | None) -> Any:
        ray = self._ex._ray
        self._ensure()
        actor = self._actor
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            ray.get(actor.start.remote(trial_info(trial, pausable)))
        except ray.exceptions.RayActorError as e:
            self._actor = None
            raise WorkerDied(f"Ray actor died before the trial started: {e}") from None

        def recv() -> Any:
            while True:
                try:
                    msg = ray.get(actor.next_message.remote(_POLL_S))
                except ray.exceptions.RayActorError as e:
                    self._actor = None
                    raise WorkerDied(f"Ray actor died while running a trial: {str(e).splitlines()[0]}") from None
                if msg is not None:
                    return msg
                if self._interrupted.is_set():
                    self._kill()
                    raise KeyboardInterrupt
                if deadline is not None and time.monotonic() > deadline:
                    self._kill()
                    raise TrialTimeout("the trial ran longer than its timeout; its Ray actor was stopped")

        return serve(trial, recv, lambda m: actor.reply.remote(m))


class RayExecutor(BaseExecutor):
    """Run objectives as Ray actors.

    Args:
        address: Ray cluster to connect to (``"auto"``, ``"ray://host:10001"``);
            ``None`` uses the running Ray instance or starts a local one.
        init_kwargs: Extra arguments for ``ray.init`` when this executor starts Ray.
    """

    def __init__(self, address: str | None = None, **init_kwargs: Any) -> None:
        super().__init__(None)
        self._ray = _import_ray()
        self.address = address
        self.init_kwargs = init_kwargs
        self._cls: Any = None
        self._blob: bytes | None = None
        self._options: dict[str, Any] = {}

    def _new_actor(self) -> Any:
        actor = self._cls.options(**self._options).remote({})
        self._ray.get(actor.load.remote(self._blob))  # started and the objective loaded
        return actor

    def start(
        self,
        objective: Callable[[Any], Any],
        n_slots: int,
        resources_per_trial: Mapping[str, float] | None,
    ) -> list[Slot]:
        ray = self._ray
        if not ray.is_initialized():
            ray.init(address=self.address, ignore_reinit_error=True, **self.init_kwargs)

        from hypersearch.execution.process import _dumps

        # Ray workers import modules by name like spawned processes: code that only
        # this interpreter can import (scripts, test modules) is sent by value.
        self._blob = _dumps(objective, by_value=True)
        req = check_resources(resources_per_trial)
        cpu, gpu = req.get("cpu", 1.0), req.get("gpu", 0.0)
        self._options = {"num_cpus": cpu, "num_gpus": gpu, "max_concurrency": 4}
        total = ray.cluster_resources()
        fit = _fit(total, cpu, gpu, n_slots)
        if fit < 1:
            raise ValueError(f"the Ray cluster ({total}) cannot hold one trial of {req or {'cpu': 1}}")
        self._cls = ray.remote(_ActorWorker)
        actors = [self._cls.options(**self._options).remote({}) for _ in range(fit)]
        # Every actor is placed and started in parallel.  Those that Ray has not
        # placed within a grace period after the first one is up (other jobs hold
        # the resources) are given up, and the run goes on with the others; it waits
        # only until at least one is up.  Loading the objective comes after, with no
        # deadline: an objective may take long to load.
        pending = {a.pid.remote(): a for a in actors}
        up: list[Any] = []
        deadline: float | None = None
        while pending:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                for a in pending.values():
                    ray.kill(a)
                _log.warning(
                    "the Ray cluster has room for %d of the %d concurrent trials asked for (free: %s); "
                    "running %d at a time", len(up), fit, ray.available_resources(), len(up),
                )
                break
            done, _ = ray.wait(list(pending), num_returns=1, timeout=30.0 if left is None else left)
            if not done and not up:
                _log.warning(
                    "waiting for Ray to place worker actors needing %s each; the cluster's free "
                    "resources are %s", self._options, ray.available_resources(),
                )
            for ref in done:
                actor = pending.pop(ref)
                try:
                    ray.get(ref)
                except Exception as e:
                    for a in actors:
                        ray.kill(a)
                    raise RuntimeError(f"a Ray worker actor could not start: {type(e).__name__}: {e}") from e
                up.append(actor)
                if deadline is None:
                    deadline = time.monotonic() + _PLACE_GRACE_S
        try:
            ray.get([a.load.remote(self._blob) for a in up])
        except Exception as e:
            for a in up:
                ray.kill(a)
            raise RuntimeError(
                f"a Ray worker could not start or load the objective: {type(e).__name__}: {e}"
            ) from e
        actors = up
        slots = [_RaySlot(i, self) for i in range(len(up))]
        for s, a in zip(slots, actors):
            s._actor = a
        self._slots = slots
        return list(slots)


def _fit(resources: Mapping[str, float], cpu: float, gpu: float, n: int) -> int:
    """How many trials needing ``cpu`` and ``gpu`` each ``resources`` hold (at most ``n``)."""
    fit = n
    if cpu > 0:
        fit = min(fit, int(math.floor(resources.get("CPU", 0.0) / cpu + 1e-9)))
    if gpu > 0:
        fit = min(fit, int(math.floor(resources.get("GPU", 0.0) / gpu + 1e-9)))
    return fit
