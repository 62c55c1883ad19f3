"""Studies, their history view and the optimization loop."""

from hypersearch.study._callbacks import MaxTrialsCallback
from hypersearch.study._direction import StudyDirection
from hypersearch.study._history import TrialHistory
from hypersearch.study._study import (
    Study,
    copy_study,
    create_study,
    delete_study,
    list_studies,
    load_study,
)

__all__ = [
    "MaxTrialsCallback",
    "Study",
    "StudyDirection",
    "TrialHistory",
    "copy_study",
    "create_study",
    "delete_study",
    "list_studies",
    "load_study",
]
