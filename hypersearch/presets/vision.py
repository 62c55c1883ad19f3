"""``vision``: image classification with convolutional networks (ResNet-style) or
vision transformers, trained from scratch.

Where the ranges come from
--------------------------
* **SGD with momentum**: He et al., "Deep Residual Learning for Image
  Recognition" (CVPR 2016): learning rate 0.1 at batch 256, momentum 0.9,
  weight decay 1e-4.  The learning-rate range spans the batch sizes of the
  space under the linear scaling rule of Goyal et al., "Accurate, Large
  Minibatch SGD: Training ImageNet in 1 Hour" (2017), which also motivates the
  5-epoch warm-up; weight decay 1e-5..1e-3 brackets the ImageNet (1e-4) and
  CIFAR (5e-4, as in Zagoruyko & Komodakis, "Wide Residual Networks", 2016)
  values; Nesterov momentum is a common variant.
* **AdamW**: Loshchilov & Hutter, "Decoupled Weight Decay Regularization"
  (ICLR 2019) for the optimizer; the default (lr 5e-4 at batch 512, weight
  decay 0.05, 5 warm-up epochs, label smoothing 0.1, mixup 0.8) follows
  Touvron et al., "Training data-efficient image transformers" (DeiT, 2021).
* **Cosine decay, label smoothing, mixup**: He et al., "Bag of Tricks for
  Image Classification with Convolutional Neural Networks" (CVPR 2019);
  label smoothing from Szegedy et al., "Rethinking the Inception
  Architecture" (2016) with 0.1 as the usual value; mixup from Zhang et al.,
  "mixup: Beyond Empirical Risk Minimization" (ICLR 2018).

The space is epoch-agnostic: add ``"epochs"`` (or use it as the scheduler's
resource).  The optimizer is a conditional choice, so the configuration holds
``config["optimizer"] = {"name": "sgd", "lr": ..., ...}``;
``hypersearch.training.schedule_from_config(config, steps_per_epoch=...,
total_steps=...)`` reads the rate from there.
"""

from __future__ import annotations

from typing import Any

from hypersearch.presets._registry import Preset, register
from hypersearch.space.declarative import choice, loguniform, randint, uniform


def build_space() -> dict[str, Any]:
    return {
        "optimizer": choice(
            [
                {
                    "name": "sgd",
                    "lr": loguniform(0.01, 1.0),
                    "momentum": uniform(0.8, 0.99),
                    "nesterov": choice([False, True]),
                    "weight_decay": loguniform(1e-5, 1e-3),
                },
                {
                    "name": "adamw",
                    "lr": loguniform(5e-5, 5e-3),
                    "beta1": 0.9,
                    "beta2": choice([0.99, 0.999]),
                    "weight_decay": loguniform(5e-3, 0.5),
                },
            ]
        ),
        "batch_size": choice([64, 128, 256, 512]),
        "schedule": "cosine",
        "warmup_epochs": randint(0, 11),  # 0..10
        "label_smoothing": uniform(0.0, 0.2),
        "mixup_alpha": uniform(0.0, 1.0),
    }


SGD_START = {
    "optimizer": {
        "name": "sgd",
        "lr": 0.1,
        "momentum": 0.9,
        "nesterov": False,
        "weight_decay": 1e-4,
    },
    "batch_size": 256,
    "schedule": "cosine",
    "warmup_epochs": 5,
    "label_smoothing": 0.1,
    "mixup_alpha": 0.0,
}

ADAMW_START = {
    "optimizer": {
        "name": "adamw",
        "lr": 5e-4,
        "beta1": 0.9,
        "beta2": 0.999,
        "weight_decay": 0.05,
    },
    "batch_size": 512,
    "schedule": "cosine",
    "warmup_epochs": 5,
    "label_smoothing": 0.1,
    "mixup_alpha": 0.8,
}

PRESET = register(
    Preset(
        name="vision",
        summary="image classification from scratch: ResNet-style SGD with momentum, or AdamW",
        sources=(
            "He et al., Deep Residual Learning for Image Recognition (CVPR 2016)",
            "Goyal et al., Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour (2017)",
            "He et al., Bag of Tricks for Image Classification with CNNs (CVPR 2019)",
            "Loshchilov & Hutter, Decoupled Weight Decay Regularization (ICLR 2019)",
            "Touvron et al., Training data-efficient image transformers (DeiT, ICML 2021)",
            "Szegedy et al., Rethinking the Inception Architecture (CVPR 2016): label smoothing",
            "Zhang et al., mixup: Beyond Empirical Risk Minimization (ICLR 2018)",
        ),
        build_space=build_space,
        starts={"sgd": SGD_START, "adamw": ADAMW_START},
        notes=(
            "Epochs are not in the space: add 'epochs' or use them as the scheduler's "
            "resource. Learning rates are for the batch size in the same configuration; "
            "rescale a known rate with hypersearch.training.scale_lr."
        ),
    )
)
