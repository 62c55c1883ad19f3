"""Resources per trial: CPUs and (fractional) GPUs, assigned to worker slots.

Workers are long-lived (a CUDA context cannot move to other devices once
created), so resources are assigned to *slots*, not to individual trials: a
slot owns its CPUs and GPU share for the whole run, and each trial it runs sees
only those GPUs (``CUDA_VISIBLE_DEVICES``).  A request of ``{"gpu": 0.5}``
puts two slots on one GPU; ``{"gpu": 2}`` gives a slot two whole GPUs.  The
number of slots is the smaller of the requested concurrency and what the
machine's resources allow, so a trial only ever runs with its resources free.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["Allocation", "ResourcePool", "check_resources", "detect_gpus"]

_EPS = 1e-9


def check_resources(resources: Mapping[str, float] | None) -> dict[str, float]:
    """Validate ``{"cpu": n, "gpu": k}`` (numbers >= 0; GPUs below 1 are shares of
    one GPU, above 1 whole GPUs)."""
    if resources is None:
        return {}
    if not isinstance(resources, Mapping):
        raise ValueError(f"resources_per_trial must be a dict like {{'cpu': 1, 'gpu': 0.5}}, got {resources!r}")
    out: dict[str, float] = {}
    for k, v in resources.items():
        if k not in ("cpu", "gpu"):
            raise ValueError(f"resources_per_trial: unknown resource {k!r}; use 'cpu' and 'gpu'")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ValueError(f"resources_per_trial[{k!r}] must be a number >= 0, got {v!r}")
        out[k] = float(v)
    g = out.get("gpu", 0.0)
    if g > 1 and abs(g - round(g)) > _EPS:
        raise ValueError(f"resources_per_trial['gpu'] above 1 must be a whole number of GPUs, got {g}")
    return out


def detect_gpus() -> list[str]:
    """GPU ids this process may use: ``CUDA_VISIBLE_DEVICES`` when set, else the
    GPUs ``nvidia-smi -L`` lists, else none."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU ")]


@dataclass
class Allocation:
    """What one worker slot owns."""

    slot: int
    cpus: float = 0.0
    gpu_ids: list[str] = field(default_factory=list)
    gpu_share: float = 0.0  # fraction of each listed GPU

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment variables a worker process of this slot gets: its GPUs only,
        and BLAS/OpenMP threads matching its CPUs (unless already set)."""
        base = os.environ if base is None else base
        env: dict[str, str] = {}
        if self.gpu_ids or self.gpu_share == 0.0:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(self.gpu_ids)
        if self.cpus >= 1:
            n = str(int(self.cpus))
            for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
                if var not in base:
                    env[var] = n
        return env

    def as_dict(self) -> dict[str, object]:
        return {"slot": self.slot, "cpu": self.cpus, "gpu_ids": list(self.gpu_ids), "gpu_share": self.gpu_share}


class ResourcePool:
    """The CPUs and GPUs trials may use on this machine.

    Args:
        cpus: Number of CPUs (default: ``os.cpu_count()``).
        gpus: GPU ids (default: :func:`detect_gpus`); any strings, so tests can
            use fake ids.
    """

    def __init__(self, cpus: float | None = None, gpus: Sequence[str | int] | None = None) -> None:
        if cpus is None:
            cpus = float(os.cpu_count() or 1)
        if isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or cpus <= 0:
            raise ValueError(f"cpus must be a positive number, got {cpus!r}")
        self.cpus = float(cpus)
        self.gpus = [str(g) for g in (detect_gpus() if gpus is None else gpus)]
        if len(set(self.gpus)) != len(self.gpus):
            raise ValueError(f"gpus has duplicate ids: {self.gpus}")

    def partition(self, n_slots: int, per_trial: Mapping[str, float] | None) -> list[Allocation]:
        """Up to ``n_slots`` allocations of ``per_trial`` each, never more than the
        pool holds.  Raises ``ValueError`` if not even one trial fits."""
        req = check_resources(per_trial)
        cpu, gpu = req.get("cpu", 0.0), req.get("gpu", 0.0)
        if cpu > self.cpus + _EPS:
            raise ValueError(f"a trial asks for {cpu:g} CPUs but only {self.cpus:g} are available")
        if gpu > 0 and not self.gpus:
            raise ValueError(f"a trial asks for {gpu:g} GPU(s) but no GPU is available")
        if gpu > len(self.gpus) + _EPS:
            raise ValueError(f"a trial asks for {gpu:g} GPUs but only {len(self.gpus)} are available")
        free_cpu = self.cpus
        free_gpu = {g: 1.0 for g in self.gpus}
        out: list[Allocation] = []
        for slot in range(n_slots):
            if cpu > 0 and free_cpu + _EPS < cpu:
                break
            ids: list[str] = []
            if 0 < gpu < 1:
                # best fit: the GPU with the least room that still holds the share
                fits = [g for g in self.gpus if free_gpu[g] + _EPS >= gpu]
                if not fits:
                    break
                g = min(fits, key=lambda g: (free_gpu[g], self.gpus.index(g)))
                free_gpu[g] -= gpu
                ids = [g]
            elif gpu >= 1:
                whole = [g for g in self.gpus if free_gpu[g] >= 1.0 - _EPS]
                k = int(round(gpu))
                if len(whole) < k:
                    break
                ids = whole[:k]
                for g in ids:
                    free_gpu[g] = 0.0
            free_cpu -= cpu
            out.append(Allocation(slot, cpu, ids, gpu if 0 < gpu < 1 else (1.0 if ids else 0.0)))
        if not out:  # pragma: no cover - the checks above rule this out
            raise ValueError(f"no trial fits in {self!r} with {req}")
        return out

    def __repr__(self) -> str:
        return f"ResourcePool(cpus={self.cpus:g}, gpus={self.gpus})"
