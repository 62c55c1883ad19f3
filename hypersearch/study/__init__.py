"""Studies, their history view and the optimization loop."""

from hypersearch.study._direction import StudyDirection
from hypersearch.study._history import TrialHistory
from hypersearch.study._study import (
    Study,
    create_study,
    delete_study,
    list_studies,
    load_study,
)

__all__ = [
    "Study",
    "StudyDirection",
    "TrialHistory",
    "create_study",
    "delete_study",
    "list_studies",
    "load_study",
]
