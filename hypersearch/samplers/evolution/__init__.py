"""Evolutionary samplers: differential evolution, a genetic algorithm and
particle swarm optimisation.

All three are *asynchronous* (steady-state): no worker waits for a
generation, each new trial is built from the members finished so far, and a
finished trial joins the population at once.  Populations are rebuilt from
the study's finished trials (in trial-number order) when a sampler is
attached, so a resumed study continues with the same proposals; nothing but
the trials is stored.  The operators they share (crossovers, mutation,
tournament, non-dominated sorting, crowding distance) live in
:mod:`hypersearch.samplers.evolution._operators`; the multi-objective
:class:`~hypersearch.samplers.NSGA2Sampler` and the
:class:`~hypersearch.samplers.CmaEsSampler` use them too.
"""

from __future__ import annotations

from ._de import DESampler
from ._ga import GASampler
from ._pso import PSOSampler

__all__ = ["DESampler", "GASampler", "PSOSampler"]
