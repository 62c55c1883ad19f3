"""Understanding a study's results: which hyperparameters mattered.

``hs.analysis.importance(study, method="fanova" | "permutation" | "ped-anova")``
"""

from hypersearch.analysis.importance import Importance, importance

__all__ = ["Importance", "importance"]
