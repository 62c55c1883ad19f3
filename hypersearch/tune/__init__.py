"""Ray-Tune-style iterative tuning: ``hs.tune(trainable, config=space, scheduler=...)``."""

from hypersearch.tune._session import get_checkpoint, report
from hypersearch.tune._tune import TuneResult, tune, with_parameters

__all__ = ["TuneResult", "get_checkpoint", "report", "tune", "with_parameters"]
