"""Search strategies.  Every sampler implements :class:`BaseSampler`."""

from hypersearch.samplers.base import BaseSampler
from hypersearch.samplers.grid import GridSampler
from hypersearch.samplers.qmc import QMCSampler
from hypersearch.samplers.random import RandomSampler

__all__ = ["BaseSampler", "GridSampler", "QMCSampler", "RandomSampler"]
