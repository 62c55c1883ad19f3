"""Understanding a study's results, rigorously.

* ``importance(study, method="fanova" | "permutation" | "ped-anova")``: which
  hyperparameters mattered;
* ``repeat(objective, seeds)``: each configuration under several seeds;
* ``compare(study, evaluate, top_k, seeds)``: re-evaluate the best configurations
  under fresh seeds, with significance tests;
* ``cross_validate(trial, fold_value, n_folds)``: k-fold objectives that can be
  pruned after a few folds;
* ``study.evaluate_best(test_fn)``: one held-out test evaluation, recorded apart.
"""

from hypersearch.analysis.importance import Importance, importance
from hypersearch.analysis.rigour import (
    Comparison,
    OverfittingWarning,
    compare,
    cross_validate,
    repeat,
)

__all__ = ["Comparison", "Importance", "OverfittingWarning", "compare", "cross_validate", "importance", "repeat"]
