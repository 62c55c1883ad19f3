"""Schedulers decide, from reported results only, which trials go on.

In define-by-run studies they act as pruners (``trial.should_prune()``).
"""

from hypersearch.schedulers.asha import (
    ASHA,
    BOHB,
    ASHAScheduler,
    AsyncHyperBandScheduler,
    Hyperband,
    SuccessiveHalving,
)
from hypersearch.schedulers.base import BaseScheduler, Decision, NopScheduler
from hypersearch.schedulers.median import MedianStoppingRule, PercentileStoppingRule
from hypersearch.schedulers.pbt import PB2, PBT, PBTReplay, PopulationBasedTraining, pbt_schedule
from hypersearch.schedulers.stoppers import PatienceStopper, ThresholdStopper

__all__ = [
    "ASHA",
    "ASHAScheduler",
    "BOHB",
    "AsyncHyperBandScheduler",
    "BaseScheduler",
    "Decision",
    "Hyperband",
    "MedianStoppingRule",
    "NopScheduler",
    "PB2",
    "PBT",
    "PBTReplay",
    "PatienceStopper",
    "PercentileStoppingRule",
    "PopulationBasedTraining",
    "SuccessiveHalving",
    "ThresholdStopper",
    "pbt_schedule",
]
