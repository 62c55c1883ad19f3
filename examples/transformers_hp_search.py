"""Search the fine-tuning hyperparameters of a (tiny) transformer with pruning.

A ``transformers.Trainer`` is built once with ``model_init``; hypersearch's
``hyperparameter_search`` then trains one configuration per trial (learning rate,
weight decay and learning-rate schedule as ``TrainingArguments`` overrides, dropout
as a model hyperparameter suggested inside ``model_init``), and ASHA stops trials
whose evaluation loss after an epoch is in the worse half of what other trials had
reached by then.

The model is a randomly initialised one-layer BERT and the data are generated
(the class of a sequence is decided by its first token), so the example runs
offline in well under a minute on two CPU cores::

    python examples/transformers_hp_search.py
    python examples/transformers_hp_search.py --storage sqlite:///hs.db   # keep the study

With a real task, replace ``make_data`` and ``model_init`` by a tokenised data set
and ``AutoModelForSequenceClassification.from_pretrained(...)``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here needs the Hub

import numpy as np
import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    PrinterCallback,
    Trainer,
    TrainingArguments,
)

import hypersearch as hs
from hypersearch.integrations.transformers import hyperparameter_search

VOCAB, SEQ_LEN = 64, 12


def make_data(n: int, seed: int) -> list[dict[str, torch.Tensor]]:
    """``n`` random token sequences; the label says whether the first token is in the
    upper half of the vocabulary (easy for a model that learns, chance for one that
    does not)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, VOCAB, (n, SEQ_LEN), generator=g)
    labels = (ids[:, 0] >= VOCAB // 2).long()
    mask = torch.ones(SEQ_LEN, dtype=torch.long)
    return [{"input_ids": ids[i], "attention_mask": mask, "labels": labels[i]} for i in range(n)]


def model_init(trial: hs.Trial | None) -> BertForSequenceClassification:
    """A fresh tiny BERT; its dropout is a hyperparameter of the search."""
    dropout = trial.suggest_float("hidden_dropout", 0.0, 0.3) if trial is not None else 0.1
    config = BertConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=SEQ_LEN,
        hidden_dropout_prob=dropout,
    )
    return BertForSequenceClassification(config)


def hp_space(trial: hs.Trial) -> dict[str, float | str]:
    """Training arguments to search (define-by-run, as with Optuna)."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 3e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 0.0, 0.1),
        "lr_scheduler_type": trial.suggest_categorical(
            "lr_scheduler_type", ["linear", "cosine", "constant"]
        ),
    }


def accuracy(eval_pred) -> dict[str, float]:
    logits, labels = eval_pred
    return {"accuracy": float((np.argmax(logits, axis=-1) == labels).mean())}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n-trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--train-size", type=int, default=256)
    parser.add_argument("--eval-size", type=int, default=128)
    parser.add_argument("--storage", default=None, help="e.g. sqlite:///hs.db (default: in memory)")
    parser.add_argument("--study", default="transformers-tiny-bert")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-dir", default=None, help="Trainer output (default: a temp dir)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 suits tiny models)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        training_args = TrainingArguments(
            output_dir=args.output_dir or tmp,
            num_train_epochs=args.epochs,
            per_device_train_batch_size=16,
            per_device_eval_batch_size=64,
            eval_strategy="epoch",  # one evaluation, one report to the scheduler, per epoch
            save_strategy="no",
            logging_strategy="no",
            report_to=[],
            disable_tqdm=True,
            use_cpu=True,
            seed=args.seed,
        )
        trainer = Trainer(
            model_init=model_init,
            args=training_args,
            train_dataset=make_data(args.train_size, args.seed),
            eval_dataset=make_data(args.eval_size, args.seed + 1),
            compute_metrics=accuracy,
        )
        trainer.remove_callback(PrinterCallback)  # one line per trial below instead of raw logs

        def progress(study: hs.Study, trial: hs.FrozenTrial) -> None:
            epochs = len(trial.intermediate_values)
            value = f"{trial.value:.4f}" if trial.value is not None else "-"
            lr = trial.params.get("learning_rate", float("nan"))
            print(
                f"trial {trial.number:3d}  {trial.state.name:8s}  eval_loss={value}  "
                f"epochs={epochs}  learning_rate={lr:.2e}",
                flush=True,
            )

        start = time.perf_counter()
        best = hyperparameter_search(
            trainer,
            hp_space,
            n_trials=args.n_trials,
            direction="minimize",  # the default objective: eval_loss
            scheduler=hs.schedulers.ASHA(max_t=args.epochs, grace_period=1, reduction_factor=2),
            storage=args.storage,
            study_name=args.study,
            load_if_exists=True,
            seed=args.seed,
            step="epoch",  # ASHA's budget (max_t, grace_period) counts epochs
            callbacks=[progress],
            show_progress_bar=False,
        )
        elapsed = time.perf_counter() - start

    study: hs.Study = best.run_summary
    trials = study.trials
    pruned = sum(t.state == hs.TrialState.PRUNED for t in trials)
    epochs_trained = sum(len(t.intermediate_values) for t in trials)
    best_trial = study.best_trial
    print(
        f"{len(trials)} trials ({pruned} pruned), {epochs_trained} of "
        f"{len(trials) * args.epochs} epochs trained, in {elapsed:.1f}s"
    )
    print(
        f"best eval_loss {best.objective:.4f} (accuracy "
        f"{best_trial.user_attrs['eval_metrics']['eval_accuracy']:.3f}) in trial {best.run_id}"
    )
    shown = {k: round(v, 6) if isinstance(v, float) else v for k, v in best.hyperparameters.items()}
    print("best hyperparameters:", shown)


if __name__ == "__main__":
    main()
