"""Training helpers that go with hyperparameter search: learning-rate schedules, the
learning-rate range test, and batch-size scaling.

Nothing here imports PyTorch until a PyTorch-specific function is called
(:func:`to_torch_scheduler`, :func:`lr_finder_torch`), so the module is usable
from any framework.

::

    from hypersearch import training

    sched = training.linear_warmup(training.cosine_annealing(3e-4, 9_000), 1_000)
    sched(0), sched(1_000), sched(10_000)            # 0.0, 3e-4, 0.0
    scheduler = training.to_torch_scheduler(sched, optimizer)   # a LambdaLR

    # schedule parameters in the search space
    sched = training.schedule_from_config(config, total_steps=10_000)
"""

from hypersearch.training.batch_size import (
    AccumulationPlan,
    accumulation_plan,
    max_micro_batch_from_memory,
    scale_lr,
)
from hypersearch.training.lr_finder import LRFinderResult, lr_finder, lr_finder_torch
from hypersearch.training.schedule_config import SCHEDULE_NAMES, schedule_from_config
from hypersearch.training.schedules import (
    Constant,
    CosineAnnealing,
    Exponential,
    LinearWarmup,
    OneCycle,
    PolynomialDecay,
    Schedule,
    StepDecay,
    constant,
    cosine_annealing,
    exponential,
    linear_warmup,
    one_cycle,
    polynomial_decay,
    step_decay,
    to_torch_scheduler,
)

__all__ = [
    "SCHEDULE_NAMES",
    "AccumulationPlan",
    "Constant",
    "CosineAnnealing",
    "Exponential",
    "LRFinderResult",
    "LinearWarmup",
    "OneCycle",
    "PolynomialDecay",
    "Schedule",
    "StepDecay",
    "accumulation_plan",
    "constant",
    "cosine_annealing",
    "exponential",
    "linear_warmup",
    "lr_finder",
    "lr_finder_torch",
    "max_micro_batch_from_memory",
    "one_cycle",
    "polynomial_decay",
    "scale_lr",
    "schedule_from_config",
    "step_decay",
    "to_torch_scheduler",
]
