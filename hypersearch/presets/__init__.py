"""Domain presets: documented search spaces with a good starting configuration.

Each preset is a declarative search space built from ``hs.loguniform``,
``hs.choice``... whose ranges follow published training recipes (each
preset's module and :func:`describe` name them), plus one or more starting
configurations inside that space::

    from hypersearch import presets

    presets.names()                        # ['llm-pretrain', 'nlp-finetune', 'vision']
    space = presets.space("nlp-finetune")  # a dict: hs.tune(train, config=space, ...)
    start = presets.defaults("nlp-finetune")
    print(presets.describe("nlp-finetune"))

    study = hs.create_study()
    presets.enqueue_defaults(study, "nlp-finetune")    # evaluated first
    study.optimize(hs.SearchSpace(space).objective(train), n_trials=30)

A preset is a starting point: copy the space and add, drop or narrow keys.
"""

from hypersearch.presets import llm_pretrain, nlp_finetune, vision  # noqa: F401  (registers them)
from hypersearch.presets._registry import (
    Preset,
    defaults,
    describe,
    enqueue_defaults,
    get,
    names,
    register,
    space,
    variants,
)
from hypersearch.space._inverse import check_config, config_to_params

__all__ = [
    "Preset",
    "check_config",
    "config_to_params",
    "defaults",
    "describe",
    "enqueue_defaults",
    "get",
    "names",
    "register",
    "space",
    "variants",
]
