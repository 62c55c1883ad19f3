"""Objective of the ``hypersearch worker`` CLI fleet of the reliability benchmark.

The study's trials are enqueued with a unique ``id``.  A trial the fleet starts
once the queue is empty has no id: it is recorded as PRUNED with the user
attribute ``filler`` and left out of the checks.  Before returning, the objective
appends ``returned <id> <number> <value> <pid>`` to ``$HS_REL_CLI_LOG``.
"""

from __future__ import annotations

import os
import random
import time

from hypersearch.exceptions import TrialPruned


def objective(trial):
    if "id" not in trial.params:  # not an enqueued configuration
        trial.set_user_attr("filler", True)
        raise TrialPruned("the queue was empty")
    i = trial.suggest_int("id", 0, 10**9)
    x = trial.suggest_float("x", 0.0, 1.0)
    time.sleep(random.uniform(0.2, 1.8) * float(os.environ.get("HS_REL_CLI_SLEEP", "0.05")))
    trial.report(x, 0)
    value = float(i) + x
    log = os.environ.get("HS_REL_CLI_LOG")
    if log:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"returned {i} {trial.number} {value!r} {os.getpid()}\n".encode())
        finally:
            os.close(fd)
    return value
