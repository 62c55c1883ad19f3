"""Search strategies.  Every sampler implements :class:`BaseSampler`.

The model-based and evolutionary samplers (:class:`AutoSampler`,
:class:`GPSampler`, :class:`TPESampler`, :class:`CmaEsSampler`,
:class:`DESampler`, :class:`GASampler`, :class:`PSOSampler`,
:class:`NSGA2Sampler`, :class:`RLSampler`, :class:`BOHBSampler`) are imported on first use, which keeps
``import hypersearch`` light (``cmaes`` is imported only when a
:class:`CmaEsSampler` is built).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hypersearch.samplers.base import BaseSampler, ReadOnlySampler
from hypersearch.samplers.grid import GridSampler
from hypersearch.samplers.qmc import QMCSampler
from hypersearch.samplers.random import RandomSampler

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.samplers.auto import AutoSampler
    from hypersearch.samplers.bohb import BOHBSampler
    from hypersearch.samplers.cmaes import CmaEsSampler
    from hypersearch.samplers.evolution import DESampler, GASampler, PSOSampler
    from hypersearch.samplers.gp import GPSampler
    from hypersearch.samplers.nsga2 import NSGA2Sampler
    from hypersearch.samplers.rl import RLSampler
    from hypersearch.samplers.tpe import TPESampler

__all__ = [
    "AutoSampler",
    "BOHBSampler",
    "BaseSampler",
    "CmaEsSampler",
    "DESampler",
    "GASampler",
    "GPSampler",
    "GridSampler",
    "NSGA2Sampler",
    "PSOSampler",
    "QMCSampler",
    "RLSampler",
    "RandomSampler",
    "ReadOnlySampler",
    "TPESampler",
]

_LAZY = {
    "AutoSampler": "hypersearch.samplers.auto",
    "BOHBSampler": "hypersearch.samplers.bohb",
    "CmaEsSampler": "hypersearch.samplers.cmaes",
    "DESampler": "hypersearch.samplers.evolution",
    "GASampler": "hypersearch.samplers.evolution",
    "GPSampler": "hypersearch.samplers.gp",
    "NSGA2Sampler": "hypersearch.samplers.nsga2",
    "PSOSampler": "hypersearch.samplers.evolution",
    "RLSampler": "hypersearch.samplers.rl",
    "TPESampler": "hypersearch.samplers.tpe",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hypersearch.samplers' has no attribute {name!r}")
