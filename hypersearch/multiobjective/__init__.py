"""Multi-objective studies: Pareto fronts and their hypervolume.

``hs.create_study(directions=["minimize", "maximize"])`` makes a study whose
``best_trials`` is the Pareto front of the feasible trials (those whose
``constraints`` values are all <= 0; empty while no trial is feasible);
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
