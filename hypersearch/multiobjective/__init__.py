"""Multi-objective studies: Pareto fronts and their hypervolume.

``hs.create_study(directions=["minimize", "maximize"])`` makes a study whose
``best_trials`` is the Pareto front (trials marked infeasible by their
``constraints`` values are kept off it while any feasible trial exists);
:func:`hypervolume` measures a front.  Samplers for several objectives:
``NSGA2Sampler`` (with constraint domination) and ``TPESampler`` (MOTPE).
"""

from hypersearch.multiobjective.hypervolume import (
    hypervolume,
    hypervolume_history,
    pareto_mask,
    study_hypervolume,
)

__all__ = ["hypervolume", "hypervolume_history", "pareto_mask", "study_hypervolume"]
