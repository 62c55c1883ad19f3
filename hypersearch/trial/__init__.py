"""Trials: what an objective receives, and the stored record of it."""

from hypersearch.trial._frozen import FrozenTrial
from hypersearch.trial._state import TrialState
from hypersearch.trial._trial import Trial

__all__ = ["FrozenTrial", "Trial", "TrialState"]
