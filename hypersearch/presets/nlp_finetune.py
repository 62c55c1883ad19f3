"""``nlp-finetune``: fine-tuning a pre-trained BERT-style encoder on a downstream
task (classification, tagging, extractive QA).

Where the ranges come from
--------------------------
* Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for
  Language Understanding" (NAACL 2019), appendix A.3 on fine-tuning: batch
  size 16 or 32, Adam learning rate among 5e-5, 3e-5 and 2e-5, 2 to 4
  epochs, dropout 0.1 kept from pre-training, linear decay of the rate.  The
  space widens the rate to 1e-5..1e-4 on a log scale, since larger and
  smaller models move the optimum.
* Liu et al., "RoBERTa: A Robustly Optimized BERT Pretraining Approach"
  (2019), GLUE fine-tuning: rates down to 1e-5, weight decay 0.1, warm-up
  over 6% of the steps; hence weight decay 0..0.1 and warm-up ratio 0..0.1.
* Mosbach et al., "On the Stability of Fine-tuning BERT" (ICLR 2021): warm-up
  and bias-corrected Adam matter for stability on small data sets.
* Label smoothing (Szegedy et al., 2016) up to 0.2 as an optional regulariser;
  the recipes above use none, so the default is 0.

The schedule is linear warm-up then linear decay to zero:
``hypersearch.training.schedule_from_config(config, total_steps=...)`` builds
it from ``schedule``, ``learning_rate`` and ``warmup_ratio``.
"""

from __future__ import annotations

from typing import Any

from hypersearch.presets._registry import Preset, register
from hypersearch.space.declarative import choice, loguniform, randint, uniform


def build_space() -> dict[str, Any]:
    return {
        "learning_rate": loguniform(1e-5, 1e-4),
        "batch_size": choice([16, 32]),
        "num_epochs": randint(2, 5),  # 2..4
        "weight_decay": uniform(0.0, 0.1),
        "warmup_ratio": uniform(0.0, 0.1),
        "dropout": uniform(0.0, 0.2),
        "label_smoothing": uniform(0.0, 0.2),
        "optimizer": "adamw",
        "adam_betas": (0.9, 0.999),
        "adam_epsilon": 1e-6,
        "max_grad_norm": 1.0,
        "schedule": "linear",
    }


START = {
    "learning_rate": 2e-5,
    "batch_size": 32,
    "num_epochs": 3,
    "weight_decay": 0.01,
    "warmup_ratio": 0.06,
    "dropout": 0.1,
    "label_smoothing": 0.0,
    "optimizer": "adamw",
    "adam_betas": (0.9, 0.999),
    "adam_epsilon": 1e-6,
    "max_grad_norm": 1.0,
    "schedule": "linear",
}

PRESET = register(
    Preset(
        name="nlp-finetune",
        summary="fine-tuning a pre-trained BERT-style encoder on a downstream task",
        sources=(
            "Devlin et al., BERT (NAACL 2019), appendix A.3: fine-tuning procedure",
            "Liu et al., RoBERTa: A Robustly Optimized BERT Pretraining Approach (2019)",
            "Mosbach et al., On the Stability of Fine-tuning BERT (ICLR 2021)",
            "Szegedy et al., Rethinking the Inception Architecture (CVPR 2016): label smoothing",
        ),
        build_space=build_space,
        starts={"bert": START},
        notes=(
            "Use num_epochs as the scheduler's resource or train for it; build the "
            "schedule with hypersearch.training.schedule_from_config(config, total_steps=...)."
        ),
    )
)
