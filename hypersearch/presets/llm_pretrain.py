"""``llm-pretrain``: pre-training a decoder-only language model from scratch.

Where the ranges come from
--------------------------
* Brown et al., "Language Models are Few-Shot Learners" (GPT-3, 2020),
  section 2.3 and appendix B: Adam with beta1 0.9, beta2 0.95, epsilon 1e-8,
  gradient clipping at norm 1.0, weight decay 0.1, linear warm-up (375M
  tokens) then cosine decay to 10% of the peak rate; peak rates from 6e-4
  (125M parameters) down to 0.6e-4 (175B), batch sizes 0.5M to 3.2M tokens.
  The space keeps the rate in 1e-4..1e-3 (log), the range of models up to a
  few billion parameters, and batch sizes of 2^19..2^22 tokens.
* Hoffmann et al., "Training Compute-Optimal Large Language Models"
  (Chinchilla, 2022): AdamW, cosine cycle as long as the run and decayed
  tenfold (hence ``min_lr_ratio`` 0.1 and ``total_steps`` = the whole run).
* Touvron et al., "LLaMA: Open and Efficient Foundation Language Models"
  (2023): the same optimizer settings with 2000 warm-up steps and weight
  decay 0.1, no dropout.

Weight decay is searched around 0.1 and the warm-up between 250 and 4000
steps; the other settings are the recipes' constants.  ``batch_size_tokens``
is tokens per optimizer step (sequences x sequence length x accumulation);
``hypersearch.training.accumulation_plan`` splits it into micro-batches.
"""

from __future__ import annotations

from typing import Any

from hypersearch.presets._registry import Preset, register
from hypersearch.space.declarative import choice, loguniform, qrandint, uniform


def build_space() -> dict[str, Any]:
    return {
        "optimizer": "adamw",
        "lr": loguniform(1e-4, 1e-3),
        "betas": (0.9, 0.95),
        "eps": 1e-8,
        "weight_decay": uniform(0.0, 0.2),
        "warmup_steps": qrandint(250, 4000, 250),
        "schedule": "cosine",
        "min_lr_ratio": 0.1,
        "grad_clip": 1.0,
        "batch_size_tokens": choice([2**19, 2**20, 2**21, 2**22]),
        "dropout": 0.0,
    }


START = {
    "optimizer": "adamw",
    "lr": 6e-4,
    "betas": (0.9, 0.95),
    "eps": 1e-8,
    "weight_decay": 0.1,
    "warmup_steps": 750,  # about GPT-3's 375M warm-up tokens at 0.5M tokens per step
    "schedule": "cosine",
    "min_lr_ratio": 0.1,
    "grad_clip": 1.0,
    "batch_size_tokens": 2**19,
    "dropout": 0.0,
}

PRESET = register(
    Preset(
        name="llm-pretrain",
        summary="pre-training a decoder-only language model (GPT-style) from scratch",
        sources=(
            "Brown et al., Language Models are Few-Shot Learners (GPT-3, 2020), appendix B",
            "Hoffmann et al., Training Compute-Optimal Large Language Models (Chinchilla, 2022)",
            "Touvron et al., LLaMA: Open and Efficient Foundation Language Models (2023)",
        ),
        build_space=build_space,
        starts={"gpt3-small": START},
        notes=(
            "Pass total_steps (the whole run) to hypersearch.training.schedule_from_config: "
            "warm-up, then cosine decay to min_lr_ratio x lr. Rates are for models up to a "
            "few billion parameters; larger models want the low end."
        ),
    )
)
