"""Trials: what an objective receives, and the stored record of it."""

from hypersearch.trial._frozen import FixedTrial, FrozenTrial
from hypersearch.trial._state import TrialState
from hypersearch.trial._trial import Trial

__all__ = ["FixedTrial", "FrozenTrial", "Trial", "TrialState"]
