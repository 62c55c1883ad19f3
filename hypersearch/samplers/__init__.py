"""Search strategies.  Every sampler implements :class:`BaseSampler`.

The model-based samplers (:class:`AutoSampler`, :class:`GPSampler`,
:class:`TPESampler`) are imported on first use, which keeps
``import hypersearch`` light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hypersearch.samplers.base import BaseSampler
from hypersearch.samplers.grid import GridSampler
from hypersearch.samplers.qmc import QMCSampler
from hypersearch.samplers.random import RandomSampler

if TYPE_CHECKING:  # pragma: no cover
    from hypersearch.samplers.auto import AutoSampler
    from hypersearch.samplers.bohb import BOHBSampler
    from hypersearch.samplers.gp import GPSampler
    from hypersearch.samplers.tpe import TPESampler

__all__ = [
    "AutoSampler",
    "BOHBSampler",
    "BaseSampler",
    "GPSampler",
    "GridSampler",
    "QMCSampler",
    "RandomSampler",
    "TPESampler",
]

_LAZY = {
    "AutoSampler": "hypersearch.samplers.auto",
    "BOHBSampler": "hypersearch.samplers.bohb",
    "GPSampler": "hypersearch.samplers.gp",
    "TPESampler": "hypersearch.samplers.tpe",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hypersearch.samplers' has no attribute {name!r}")
