"""transformers integration: the pruning callback and hyperparameter_search, on a tiny
randomly initialised BERT (no downloads)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

import hypersearch as hs  # noqa: E402
from hypersearch.integrations.transformers import (  # noqa: E402
    HyperSearchCallback,
    default_objective,
    hyperparameter_search,
    train_trial,
)
from hypersearch.schedulers import BaseScheduler, Decision, ThresholdStopper  # noqa: E402

VOCAB, SEQ = 50, 8


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """A model this small trains fastest on one thread (and shares the CPU politely)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _data(n: int, seed: int) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, VOCAB, (n, SEQ), generator=g)
    labels = (ids[:, 0] > VOCAB // 2).long()  # learnable: the class is in the first token
    mask = torch.ones(SEQ, dtype=torch.long)
    return [{"input_ids": ids[i], "attention_mask": mask, "labels": labels[i]} for i in range(n)]


TRAIN, EVAL = _data(64, 0), _data(32, 1)


def _bert(hidden_dropout: float = 0.1):
    config = transformers.BertConfig(
        vocab_size=VOCAB,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        hidden_dropout_prob=hidden_dropout,
    )
    return transformers.BertForSequenceClassification(config)


def _model():
    return _bert()


def _args(tmp_path, **kw) -> transformers.TrainingArguments:
    base = dict(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=8,
        num_train_epochs=2,
        eval_strategy="epoch",
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
        logging_strategy="no",
        seed=0,
    )
    base.update(kw)
    return transformers.TrainingArguments(**base)


def _trainer(tmp_path, *, model_init=_model, callbacks=None, **kw) -> transformers.Trainer:
    return transformers.Trainer(
        model_init=model_init,
        args=_args(tmp_path, **kw),
        train_dataset=TRAIN,
        eval_dataset=EVAL,
        callbacks=callbacks,
    )


class PruneOddTrials(BaseScheduler):
    """Deterministic pruner: stops odd-numbered trials at their first report."""

    def on_report(self, study, trial):
        return Decision.STOP if trial.number % 2 else Decision.CONTINUE


# -- the callback ----------------------------------------------------------------------------


def test_callback_reports_each_evaluation(tmp_path):
    study = hs.create_study()
    seen = {}

    def objective(trial):
        cb = HyperSearchCallback(trial)
        trainer = _trainer(tmp_path, callbacks=[cb])
        trainer.train()
        cb.raise_if_pruned()
        seen["steps_per_epoch"] = trainer.state.global_step // 2
        seen["reported"] = dict(cb.reported)
        final = trainer.evaluate()["eval_loss"]  # after training: not reported twice
        return final

    study.optimize(objective, n_trials=1)
    t = study.trials[0]
    assert t.state == hs.TrialState.COMPLETE
    k = seen["steps_per_epoch"]
    assert sorted(t.intermediate_values) == [k, 2 * k]
    assert t.intermediate_values == seen["reported"]
    assert all(0.0 < v < 5.0 for v in t.intermediate_values.values())
    assert t.value == pytest.approx(t.intermediate_values[2 * k])


def test_callback_epoch_steps_and_metric_prefix(tmp_path):
    study = hs.create_study()

    def objective(trial):
        trainer = _trainer(tmp_path)
        train_trial(trainer, trial, metric="loss", step="epoch")  # "loss" finds eval_loss
        assert not any(isinstance(c, HyperSearchCallback) for c in trainer.callback_handler.callbacks)
        return 0.0

    study.optimize(objective, n_trials=1)
    assert sorted(study.trials[0].intermediate_values) == [1, 2]


def test_pruning_stops_training_and_prunes_the_trial(tmp_path):
    study = hs.create_study(scheduler=ThresholdStopper(upper=0.0))  # any loss > 0 prunes
    states = {}

    def objective(trial):
        cb = HyperSearchCallback(trial)
        trainer = _trainer(tmp_path, callbacks=[cb], num_train_epochs=4)
        trainer.train()
        states["epoch"] = trainer.state.epoch
        states["pruned"] = cb.pruned
        cb.raise_if_pruned()
        return 0.0  # never reached

    study.optimize(objective, n_trials=1)
    t = study.trials[0]
    assert t.state == hs.TrialState.PRUNED
    assert states == {"epoch": 1.0, "pruned": True}  # stopped after the first of 4 epochs
    assert len(t.intermediate_values) == 1
    assert t.value == pytest.approx(next(iter(t.intermediate_values.values())))


def test_callback_rejects_bad_arguments():
    with pytest.raises(TypeError, match="hypersearch Trial"):
        HyperSearchCallback(trial=object())
    with pytest.raises(ValueError, match="step must be"):
        HyperSearchCallback(step="batch")


def test_callback_missing_metric_is_a_clear_error(tmp_path):
    study = hs.create_study()

    def objective(trial):
        train_trial(_trainer(tmp_path, num_train_epochs=1), trial, metric="accuracy")

    with pytest.raises(KeyError, match="no metric 'accuracy'.*eval_loss"):
        study.optimize(objective, n_trials=1)


def test_callback_inside_tune(tmp_path):
    def trainable(config):
        trainer = _trainer(tmp_path, learning_rate=config["learning_rate"], num_train_epochs=3)
        train_trial(trainer, metric="eval_loss", step="evaluation")

    result = hs.tune(
        trainable,
        config={"learning_rate": hs.loguniform(1e-4, 1e-2)},
        metric="eval_loss",
        mode="min",
        num_samples=1,
        seed=0,
        storage_path=str(tmp_path / "ckpt"),
    )
    t = result.trials[0]
    assert t.state == hs.TrialState.COMPLETE
    assert sorted(t.intermediate_values) == [1, 2, 3]
    assert result.best_result["training_iteration"] == 3
    assert result.best_result["epoch"] == 3.0

    pruned = hs.tune(
        trainable,
        config={"learning_rate": hs.loguniform(1e-4, 1e-2)},
        metric="eval_loss",
        mode="min",
        num_samples=1,
        scheduler=ThresholdStopper(upper=0.0),
        storage_path=str(tmp_path / "ckpt2"),
    )
    assert pruned.trials[0].state == hs.TrialState.PRUNED
    assert list(pruned.trials[0].intermediate_values) == [1]

    seen = {}

    def watched(config):
        trainer = _trainer(tmp_path, learning_rate=config["learning_rate"], num_train_epochs=3)
        cb = HyperSearchCallback(metric="eval_loss", step="evaluation")
        trainer.add_callback(cb)
        trainer.train()
        seen["pruned"] = cb.pruned  # the scheduler's stop reads as pruned inside hs.tune too
        cb.raise_if_pruned()

    hs.tune(watched, config={"learning_rate": hs.loguniform(1e-4, 1e-2)}, metric="eval_loss", mode="min",
            num_samples=1, scheduler=ThresholdStopper(upper=0.0), storage_path=str(tmp_path / "ckpt3"))
    assert seen == {"pruned": True}


# -- hyperparameter_search ---------------------------------------------------------------------


def test_hyperparameter_search_define_by_run(tmp_path):
    calls = []

    def model_init(trial):
        calls.append(trial)
        dropout = trial.suggest_float("hidden_dropout", 0.0, 0.2) if trial is not None else 0.1
        return _bert(dropout)

    trainer = _trainer(tmp_path, model_init=model_init)
    base_args = trainer.args

    def hp_space(trial):
        return {
            "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
            "num_train_epochs": trial.suggest_int("num_train_epochs", 1, 2),
        }

    best = hyperparameter_search(
        trainer, hp_space, n_trials=3, study_name="hf", seed=0, show_progress_bar=False
    )
    study = best.run_summary
    assert isinstance(study, hs.Study) and study.study_name == "hf"
    assert len(study.trials) == 3
    assert all(t.state == hs.TrialState.COMPLETE for t in study.trials)
    assert best.run_id == str(study.best_trial.number)
    assert best.objective == pytest.approx(study.best_value)
    assert best.hyperparameters == study.best_params
    assert set(best.hyperparameters) == {"learning_rate", "num_train_epochs", "hidden_dropout"}
    for t in study.trials:
        # the trial trained with its own arguments and reported each epoch's eval_loss
        assert t.user_attrs["training_args"]["learning_rate"] == t.params["learning_rate"]
        assert len(t.intermediate_values) == t.params["num_train_epochs"]
        assert t.value == pytest.approx(t.user_attrs["eval_metrics"]["eval_loss"])
    assert all(isinstance(c, hs.Trial) for c in calls[1:])  # calls[0]: Trainer.__init__
    # the trainer is handed back as it was
    assert trainer.args is base_args and trainer.model_init is model_init
    assert not any(isinstance(c, HyperSearchCallback) for c in trainer.callback_handler.callbacks)


def test_hyperparameter_search_declarative_space_with_pruning(tmp_path):
    trainer = _trainer(tmp_path)
    url = f"sqlite:///{tmp_path}/hf.db"
    best = hyperparameter_search(
        trainer,
        {"learning_rate": hs.loguniform(1e-4, 1e-2), "num_train_epochs": 3},
        n_trials=4,
        scheduler=PruneOddTrials(),
        storage=url,
        study_name="hf-decl",
        show_progress_bar=False,
    )
    study = hs.load_study("hf-decl", url)
    states = [t.state for t in study.trials]
    assert states == [hs.TrialState.COMPLETE, hs.TrialState.PRUNED] * 2
    for t in study.trials:
        assert len(t.intermediate_values) == (3 if t.state == hs.TrialState.COMPLETE else 1)
        assert t.user_attrs["config"]["num_train_epochs"] == 3
    assert best.run_id in {"0", "2"}
    assert set(best.hyperparameters) == {"learning_rate"}


def test_hyperparameter_search_multi_objective(tmp_path):
    trainer = _trainer(tmp_path, num_train_epochs=1)
    runs = hyperparameter_search(
        trainer,
        lambda t: {"learning_rate": t.suggest_float("learning_rate", 1e-4, 1e-2, log=True)},
        n_trials=2,
        direction=["minimize", "maximize"],
        compute_objective=lambda m: (m["eval_loss"], m["eval_loss"]),
        show_progress_bar=False,
    )
    assert isinstance(runs, list) and 1 <= len(runs) <= 2
    assert all(len(r.objective) == 2 for r in runs)
    assert all(not t.intermediate_values for t in runs[0].run_summary.trials)  # nothing to judge


def test_hyperparameter_search_errors(tmp_path):
    model_trainer = transformers.Trainer(
        model=_model(), args=_args(tmp_path), train_dataset=TRAIN, eval_dataset=EVAL
    )
    with pytest.raises(ValueError, match="model_init"):
        hyperparameter_search(model_trainer, n_trials=1)

    trainer = _trainer(tmp_path, num_train_epochs=1)
    with pytest.raises(ValueError, match=r"\['dropout'\].*model_init\(trial\)"):
        hyperparameter_search(
            trainer, lambda t: {"dropout": t.suggest_float("dropout", 0, 1)}, n_trials=1
        )
    with pytest.raises(ValueError, match="one trial at a time"):
        hyperparameter_search(trainer, n_trials=1, n_jobs=2)
    with pytest.raises(ValueError, match="no completed trial: 1 pruned.*too strict"):
        hyperparameter_search(
            trainer,
            {"learning_rate": hs.loguniform(1e-4, 1e-2)},
            n_trials=1,
            scheduler=ThresholdStopper(upper=0.0),
            show_progress_bar=False,
        )


def test_default_objective():
    assert default_objective({"eval_loss": 0.5, "eval_accuracy": 0.9, "epoch": 1.0}) == 0.5
    assert default_objective({"eval_f1": 0.7, "eval_runtime": 0.1, "epoch": 2.0}) == 0.7
    with pytest.raises(ValueError, match="compute_objective"):
        default_objective({"eval_f1": 0.7, "eval_accuracy": 0.9})


def test_missing_transformers_is_a_clear_import_error():
    code = (
        "import sys; sys.modules['transformers'] = None\n"
        "try:\n"
        "    import hypersearch.integrations.transformers\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert "needs transformers: pip install 'hypersearch[transformers]'" in out


def test_callback_with_named_eval_datasets(tmp_path):
    study = hs.create_study()
    other = _data(16, 2)

    def objective(trial):
        cb = HyperSearchCallback(trial, metric="eval_val_loss")
        trainer = transformers.Trainer(
            model_init=_model,
            args=_args(tmp_path),
            train_dataset=TRAIN,
            eval_dataset={"test": other, "val": EVAL},  # "test" is evaluated first
            callbacks=[cb],
        )
        trainer.train()
        assert {"eval_test_loss", "eval_val_loss"} <= set(cb.last_metrics)
        assert cb.reported[trainer.state.global_step] == cb.last_metrics["eval_val_loss"]
        return 0.0

    study.optimize(objective, n_trials=1)
    assert len(study.trials[0].intermediate_values) == 2

    def unnamed(trial):
        train_trial(
            transformers.Trainer(
                model_init=_model, args=_args(tmp_path, num_train_epochs=1),
                train_dataset=TRAIN, eval_dataset={"a": other, "b": EVAL},
            ),
            trial,
        )

    with pytest.raises(KeyError, match="no metric 'eval_loss'"):  # not silently ignored
        study.optimize(unnamed, n_trials=1)
