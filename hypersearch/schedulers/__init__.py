"""Schedulers that decide, from reported results only, which trials continue."""

from hypersearch.schedulers.base import BaseScheduler, Decision, NopScheduler

__all__ = ["BaseScheduler", "Decision", "NopScheduler"]
