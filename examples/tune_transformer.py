"""Tune a small Transformer-encoder classifier with ASHA early stopping.

The task is generated, so the example needs no download: sequences of random
tokens, labelled 1 when the marker token A occurs more often than the marker
token B, and 0 otherwise (ties are broken when the data are made).  The
answer depends on the whole sequence, and a well-tuned model learns it in a
few epochs while a badly tuned one stays near chance, which gives ASHA
something to separate.

The search space::

    learning_rate       log-uniform 1e-5 .. 1e-2
    d_model             {128, 256, 512}
    n_heads             {4, 8, 16}
    num_encoder_layers  2 .. 6
    dropout             uniform 0.1 .. 0.3
    activation          {relu, gelu}

with the constraint ``d_model % n_heads == 0`` (passed to ``hs.tune`` as
``constraints=``: infeasible configurations are redrawn before any training;
with these values it always holds, since every d_model is a multiple of 16,
and it keeps holding when the lists are edited).
ASHA stops the worst trials after 1, 2, 4... epochs; each trial trains with
linear warm-up then cosine decay from ``hypersearch.training``.

CPU budget: ``--width-divisor k`` (default 8) builds each model with
``d_model / k`` channels, keeping ``n_heads`` and the searched values
unchanged: head size ``d_model / n_heads`` is divided by ``k`` (at least 1).
Pass ``--width-divisor 1`` for the full widths (with ``--device cuda`` on a GPU)::

    python examples/tune_transformer.py                       # < 1 minute on 2 cores
    python examples/tune_transformer.py --num-samples 40 --max-epochs 16 --width-divisor 1 \
        --train-size 8192 --device cuda
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch
from torch import nn

import hypersearch as hs
from hypersearch import training

SPACE = {
    "learning_rate": hs.loguniform(1e-5, 1e-2),
    "d_model": hs.choice([128, 256, 512]),
    "n_heads": hs.choice([4, 8, 16]),
    "num_encoder_layers": hs.randint(2, 7),  # 2..6 (upper bound exclusive)
    "dropout": hs.uniform(0.1, 0.3),
    "activation": hs.choice(["relu", "gelu"]),
}


def heads_divide_width(config: dict) -> bool:
    """Multi-head attention splits d_model evenly across the heads."""
    return config["d_model"] % config["n_heads"] == 0


MARKERS = (1, 2)  # the tokens A and B


def make_data(
    n: int, seq_len: int, vocab: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random sequences; label 1 when A occurs more often than B."""
    a, b = MARKERS
    x = rng.integers(0, vocab, size=(n, seq_len))
    for row in x:
        n_a, n_b = int((row == a).sum()), int((row == b).sum())
        if n_a == n_b:  # break the tie: one other token (or a B) becomes A or B
            others = np.flatnonzero((row != a) & (row != b))
            if len(others):
                row[rng.choice(others)] = a if rng.random() < 0.5 else b
            else:
                row[rng.choice(np.flatnonzero(row == b))] = a
    y = ((x == a).sum(axis=1) > (x == b).sum(axis=1)).astype(np.int64)
    return torch.as_tensor(x), torch.as_tensor(y)


class Classifier(nn.Module):
    """Token + position embeddings, a pre-norm Transformer encoder, mean pooling, a linear head."""

    def __init__(self, config: dict, vocab: int, seq_len: int, width_divisor: int) -> None:
        super().__init__()
        heads = config["n_heads"]
        head_dim = max(1, config["d_model"] // heads // width_divisor)
        width = heads * head_dim
        self.embed = nn.Embedding(vocab, width)
        self.pos = nn.Parameter(0.02 * torch.randn(1, seq_len, width))
        layer = nn.TransformerEncoderLayer(
            width, heads, dim_feedforward=2 * width, dropout=config["dropout"],
            activation=config["activation"], batch_first=True, norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, config["num_encoder_layers"], norm=nn.LayerNorm(width),
            enable_nested_tensor=False,
        )
        self.head = nn.Linear(width, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.embed(tokens) + self.pos)
        return self.head(h.mean(dim=1))


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y).item()
        acc = (logits.argmax(dim=1) == y).float().mean().item()
    model.train()
    return loss, acc


def make_trainable(args: argparse.Namespace):
    rng = np.random.default_rng(args.seed)
    device = torch.device(args.device)

    def data(n: int) -> list[torch.Tensor]:
        return [t.to(device) for t in make_data(n, args.seq_len, args.vocab, rng)]

    x_train, y_train = data(args.train_size)
    x_val, y_val = data(args.val_size)
    steps_per_epoch = math.ceil(args.train_size / args.batch_size)
    total_steps = steps_per_epoch * args.max_epochs
    warmup = min(max(1, round(args.warmup_ratio * total_steps)), total_steps - 1)

    def train_transformer(config: dict) -> None:
        torch.manual_seed(args.seed)  # same data order and initialisation for every trial
        model = Classifier(config, args.vocab, args.seq_len, args.width_divisor).to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=config["learning_rate"], weight_decay=0.01)
        lr = config["learning_rate"]
        schedule = training.linear_warmup(
            training.cosine_annealing(lr, total_steps - warmup, min_lr=0.01 * lr), warmup
        )
        scheduler = training.to_torch_scheduler(schedule, opt)
        for _epoch in range(args.max_epochs):
            order = torch.randperm(args.train_size, device=device)
            for start in range(0, args.train_size, args.batch_size):
                idx = order[start : start + args.batch_size]
                loss = nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                scheduler.step()
            val_loss, val_acc = evaluate(model, x_val, y_val)
            hs.report(val_loss=val_loss, val_accuracy=val_acc)  # ASHA may stop the trial here

    return train_transformer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-samples", type=int, default=8, help="trials (default 8)")
    parser.add_argument("--max-epochs", type=int, default=8, help="epochs of a full trial")
    parser.add_argument("--train-size", type=int, default=512, help="training sequences")
    parser.add_argument("--val-size", type=int, default=256, help="validation sequences")
    parser.add_argument("--seq-len", type=int, default=12, help="tokens per sequence")
    parser.add_argument("--vocab", type=int, default=8, help="vocabulary size (>= 3)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--warmup-ratio", type=float, default=0.1,
                        help="fraction of the steps spent warming up")
    parser.add_argument("--width-divisor", type=int, default=8,
                        help="build models with d_model / k channels (1: the searched widths)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1 is fastest for models this small)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    parser.add_argument("--storage", default=None, help="e.g. sqlite:///hs.db (default: in memory)")
    parser.add_argument("--name", default=None, help="study name")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.vocab < 3 or args.seq_len < 2 or args.width_divisor < 1:
        parser.error("need --vocab >= 3, --seq-len >= 2 and --width-divisor >= 1")
    torch.set_num_threads(args.threads)

    scheduler = hs.schedulers.ASHA(metric="val_loss", mode="min", max_t=args.max_epochs,
                                   grace_period=1, reduction_factor=2)
    result = hs.tune(make_trainable(args), config=SPACE, constraints=[heads_divide_width],
                     num_samples=args.num_samples, scheduler=scheduler, storage=args.storage,
                     name=args.name, seed=args.seed, show_progress_bar=False)

    trials = result.trials
    epochs = sum(len(t.intermediate_values) for t in trials)
    stopped = sum(t.state == hs.TrialState.PRUNED for t in trials)
    print(f"{len(trials)} trials, {stopped} stopped early by ASHA, {epochs} epochs trained "
          f"(of {len(trials) * args.max_epochs} without early stopping)")
    best = result.best_result
    print(f"best config: {result.best_config} val accuracy {best['val_accuracy']:.2f}")


if __name__ == "__main__":
    main()
