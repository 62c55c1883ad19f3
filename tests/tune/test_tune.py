"""hs.tune: Ray-Tune-style iterative tuning over a study."""

from __future__ import annotations

import pytest

import hypersearch as hs


def train_func(config):
    for epoch in range(10):
        loss = (config["lr"] * 1e3 - 0.5) ** 2 + 1.0 / (epoch + 1) + 0.01 * config["batch_size"]
        hs.report(loss=loss, epoch=epoch)


SPACE = {"lr": hs.loguniform(1e-5, 1e-3), "batch_size": hs.choice([4, 8, 16]), "epochs": hs.choice([1, 2, 3])}


def test_ray_tune_code_runs_with_only_the_import_changed(tmp_path):
    scheduler = hs.schedulers.ASHA(metric="loss", mode="min", max_t=10, grace_period=1)
    analysis = hs.tune(train_func, config=SPACE, num_samples=20, scheduler=scheduler, seed=0,
                       storage=f"sqlite:///{tmp_path}/t.db", name="ray")
    best = analysis.get_best_config(metric="loss", mode="min")
    assert set(best) == {"lr", "batch_size", "epochs"}
    trials = analysis.trials
    assert len(trials) == 20
    states = {t.state for t in trials}
    assert hs.TrialState.PRUNED in states and hs.TrialState.COMPLETE in states
    # the best config is the one with the lowest last reported loss
    last = {t.number: t.user_attrs["last_result"]["loss"] for t in trials}
    best_trial = min(last, key=last.get)
    assert best == trials[best_trial].user_attrs["config"]
    assert analysis.best_result["loss"] == last[best_trial]
    df = analysis.dataframe
    assert {"trial", "loss", "epoch", "training_iteration", "config/lr"} <= set(df.columns)
    assert len(df) == sum(len(t.intermediate_values) for t in trials)
    # the study is a regular study: the CLI and load_study see it
    assert len(hs.load_study("ray", f"sqlite:///{tmp_path}/t.db").trials) == 20


def test_stop_criteria_and_max_t_complete_trials():
    def endless(config):
        i = 0
        while True:
            i += 1
            hs.report(score=config["x"] * i)

    res = hs.tune(endless, {"x": hs.uniform(0.1, 1.0)}, metric="score", mode="max", num_samples=3,
                  stop={"training_iteration": 5})
    assert all(t.state == hs.TrialState.COMPLETE and len(t.intermediate_values) == 5 for t in res.trials)
    res = hs.tune(endless, {"x": hs.uniform(0.1, 1.0)}, num_samples=2,
                  scheduler=hs.schedulers.ASHA(metric="score", mode="max", max_t=7, grace_period=7))
    assert all(len(t.intermediate_values) == 7 for t in res.trials)
    res = hs.tune(endless, {"x": hs.uniform(0.1, 1.0)}, metric="score", mode="max", num_samples=2,
                  stop=lambda r: r["score"] > 2.0)
    assert all(t.user_attrs["last_result"]["score"] > 2.0 for t in res.trials)
    # Ray Tune's other stop forms: fn(trial_id, result), and time_total_s in every result
    seen_ids = set()

    def by_trial(trial_id, result):
        seen_ids.add(trial_id)
        return result["training_iteration"] >= 3

    res = hs.tune(endless, {"x": hs.uniform(0.1, 1.0)}, metric="score", mode="max", num_samples=2, stop=by_trial)
    assert [len(t.intermediate_values) for t in res.trials] == [3, 3] and seen_ids == {"0", "1"}
    res = hs.tune(endless, {"x": hs.uniform(0.1, 1.0)}, metric="score", mode="max", num_samples=1,
                  stop={"time_total_s": 0.05})
    last = res.trials[0].user_attrs["last_result"]
    assert res.trials[0].state == hs.TrialState.COMPLETE and last["time_total_s"] >= 0.05
    assert {"time_this_iter_s", "time_total_s"} <= set(res.dataframe.columns)
    # a misspelt criterion never passes silently; one reported every few iterations applies there
    def sometimes(config):
        for i in range(1, 30):
            hs.report(score=config["x"] * i, **({"val_acc": i / 10} if i % 3 == 0 else {}))

    with pytest.warns(UserWarning, match="'training_iteraton' is not in the reported result"):
        hs.tune(sometimes, {"x": hs.uniform(0.1, 1.0)}, metric="score", mode="max", num_samples=1,
                stop={"training_iteraton": 5})
    with pytest.warns(UserWarning, match="'val_acc'"):
        res = hs.tune(sometimes, {"x": hs.uniform(0.1, 1.0)}, metric="score", mode="max", num_samples=1,
                      stop={"val_acc": 0.6})
    assert res.trials[0].state == hs.TrialState.COMPLETE and len(res.trials[0].intermediate_values) == 6


def test_checkpoints_are_stored_and_restored(tmp_path):
    seen = []

    def trainable(config):
        ckpt = hs.get_checkpoint()
        start = 0 if ckpt is None else ckpt["epoch"] + 1
        seen.append(start)
        for epoch in range(start, 4):
            hs.report(loss=1.0 / (epoch + 1), checkpoint={"epoch": epoch})

    res = hs.tune(trainable, {"a": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=2,
                  storage_path=str(tmp_path / "art"))
    assert res.best_checkpoint == {"epoch": 3}
    assert res.get_checkpoint(0) == {"epoch": 3}
    files = sorted(p.name for p in (tmp_path / "art").rglob("checkpoint_*"))
    assert files == ["checkpoint_000003.pkl", "checkpoint_000003.pkl", "checkpoint_000004.pkl",
                     "checkpoint_000004.pkl"]  # the newest two per trial are kept
    assert seen == [0, 0]


def test_directory_checkpoints(tmp_path):
    def trainable(config):
        d = tmp_path / "work"
        d.mkdir(exist_ok=True)
        (d / "weights.txt").write_text(str(config["a"]))
        hs.report(loss=config["a"], checkpoint=str(d))

    res = hs.tune(trainable, {"a": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=1,
                  storage_path=str(tmp_path / "art"))
    path = res.best_checkpoint
    assert open(f"{path}/weights.txt").read() == str(res.best_config["a"])


def test_grid_axes_repeat_num_samples_times():
    res = hs.tune(train_func, {"lr": hs.grid([1e-4, 5e-4]), "batch_size": hs.grid([4, 8]), "epochs": 1},
                  metric="loss", mode="min", num_samples=2)
    pts = sorted((t.params["lr"], t.params["batch_size"]) for t in res.trials)
    assert pts == sorted([(lr, bs) for lr in (1e-4, 5e-4) for bs in (4, 8)] * 2)


def test_resume_continues_the_study(tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"
    hs.tune(train_func, SPACE, metric="loss", mode="min", num_samples=3, storage=url, name="r", seed=1)
    res = hs.tune(train_func, SPACE, metric="loss", mode="min", num_samples=5, storage=url, name="r",
                  resume=True)
    assert len(res.trials) == 5


def test_bad_input_is_reported_clearly():
    with pytest.raises(ValueError, match="needs a metric"):
        hs.tune(train_func, SPACE)
    with pytest.raises(ValueError, match="mode"):
        hs.tune(train_func, SPACE, metric="loss", mode="lowest")
    with pytest.raises(ValueError, match="num_samples"):
        hs.tune(train_func, SPACE, metric="loss", mode="min", num_samples=0)
    with pytest.raises(ValueError, match="resources_per_trial"):
        hs.tune(train_func, SPACE, metric="loss", mode="min", resources_per_trial={"tpu": 1})
    with pytest.raises(TypeError, match="stop"):
        hs.tune(train_func, SPACE, metric="loss", mode="min", stop=3)
    with pytest.raises(RuntimeError, match="inside a trainable"):
        hs.report(loss=1.0)
    res = hs.tune(lambda c: hs.report(accuracy=1.0), SPACE, metric="loss", mode="min", num_samples=2)
    assert all(t.state == hs.TrialState.FAIL and "metric 'loss'" in t.fail_reason for t in res.trials)


def test_a_taken_name_points_to_resume_and_storage_path_expands_the_home(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/named.db"
    hs.tune(train_func, SPACE, metric="loss", mode="min", num_samples=1, storage=url, name="exp")
    with pytest.raises(hs.DuplicatedStudyError, match="resume=True"):
        hs.tune(train_func, SPACE, metric="loss", mode="min", num_samples=1, storage=url, name="exp")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    res = hs.tune(train_func, SPACE, metric="loss", mode="min", num_samples=1, name="exp1",
                  storage_path="~/ray_results")
    assert res.study.system_attrs["tune:artifacts"] == str(tmp_path / "home" / "ray_results" / "exp1")
    assert not (tmp_path / "~").exists()


def test_ctrl_c_keeps_the_running_trial_resumable_from_its_checkpoint(tmp_path):
    url = f"sqlite:///{tmp_path}/ctrlc.db"
    epochs: list[tuple[float, int]] = []
    interrupt = {"armed": True}

    def train(config):
        ckpt = hs.get_checkpoint()
        for epoch in range((ckpt or 0) + 1, 6):
            if interrupt["armed"] and len(epochs) == 7:
                interrupt["armed"] = False
                raise KeyboardInterrupt
            epochs.append((config["x"], epoch))
            hs.report(loss=config["x"] / epoch, checkpoint=epoch)

    with pytest.raises(KeyboardInterrupt):
        hs.tune(train, config={"x": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=3,
                storage=url, name="c", seed=0)
    paused = [t for t in hs.load_study("c", url).trials if t.state == hs.TrialState.PAUSED]
    assert len(paused) == 1 and paused[0].system_attrs["interrupted"] is True
    res = hs.tune(train, config={"x": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=3,
                  storage=url, name="c", resume=True, seed=0)
    assert [t.state for t in res.trials] == [hs.TrialState.COMPLETE] * 3
    per = {}
    for x, e in epochs:
        per.setdefault(x, []).append(e)
    assert sorted(per.values()) == [[1, 2, 3, 4, 5]] * 3  # the interrupted trial went on at epoch 3


def test_points_to_evaluate_run_first_and_are_validated(tmp_path):
    space = {"opt": hs.choice([{"name": "sgd", "momentum": hs.uniform(0, 1)}, {"name": "adam"}]),
             "lr": hs.loguniform(1e-4, 1e-1)}
    first = {"opt": {"name": "sgd", "momentum": 0.9}, "lr": 0.01}
    seen = []

    def train(config):
        seen.append(config)
        hs.report(loss=config["lr"])

    url = f"sqlite:///{tmp_path / 't.db'}"
    res = hs.tune(train, space, metric="loss", mode="min", num_samples=4, points_to_evaluate=[first],
                  storage=url, name="p", sampler=hs.samplers.RandomSampler(seed=0))
    assert seen[0] == first and len(res.trials) == 4
    # resuming does not queue the same point again
    hs.tune(train, space, metric="loss", mode="min", num_samples=5, points_to_evaluate=[first],
            storage=url, name="p", resume=True)
    assert sum(c == first for c in seen) == 1 and len(seen) == 5
    with pytest.raises(ValueError, match="not in the search space"):
        hs.tune(train, space, metric="loss", mode="min", num_samples=1, points_to_evaluate=[{"lr": 5.0}])


def _fresh_or_resumed(config):
    """A trainable that records in a user attribute whether it got a checkpoint
    (visible from the parent process, unlike a closure's list)."""
    hs.report(loss=config["a"], started_from=repr(hs.get_checkpoint()), checkpoint={"epoch": 0})
    for epoch in range(1, 5):
        hs.report(loss=config["a"] / (epoch + 1), checkpoint={"epoch": epoch})


@pytest.mark.parametrize("executor", [None, "process"])
def test_a_retry_whose_checkpoint_is_gone_starts_over_from_step_one(tmp_path, executor):
    """A retry queued to resume from a checkpoint that no longer exists trains from
    scratch: its steps count from 1 again (not from the lost resume step), and the
    missing checkpoint is forgotten, so that no other trial (PBT) copies it; also
    when the trainable runs in a worker process."""
    url = f"sqlite:///{tmp_path}/r.db"
    study = hs.create_study("r", url)
    study._storage.enqueue_trial(
        study._study_id, {"a": 0.5}, {"a": hs.FloatDistribution(0, 1)}, {},
        {"retry_of": 0, "retry": 1, "max_retries": 1, "checkpoint": "trial_000000/checkpoint_000040.pkl",
         "resume_step": 40},
    )
    kw = {} if executor is None else {"executor": executor}
    with pytest.warns(UserWarning, match="trains again from scratch") if executor is None else _no_check():
        res = hs.tune(_fresh_or_resumed, {"a": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=1,
                      storage=url, name="r", resume=True, storage_path=str(tmp_path / "art"), **kw)
    t = res.trials[0]
    assert t.state == hs.TrialState.COMPLETE, t.fail_reason
    assert res.dataframe["started_from"].dropna().tolist() == ["None"]
    assert sorted(t.intermediate_values) == [1, 2, 3, 4, 5]
    assert t.system_attrs["checkpoint_lost"] == "trial_000000/checkpoint_000040.pkl"
    assert t.system_attrs["resume_step"] is None
    assert t.system_attrs["checkpoint"].startswith("trial_000000/")  # its own new checkpoint


def _no_check():
    import contextlib

    return contextlib.nullcontext()  # the warning is raised in the worker process


def test_a_clone_waits_for_a_donor_behind_the_trial_and_gives_up_when_it_stops(tmp_path):
    # A PBT trial judged after its perturbation step may be a step ahead of its
    # donor: the clone waits for the donor's checkpoint at the trial's own step
    # instead of copying an older one (which would move its training back).
    import threading

    from hypersearch.tune._checkpoint import CheckpointStore
    from hypersearch.tune._session import Session, _donor_caught_up

    study = hs.create_study()
    donor, me = study.ask(), study.ask()
    store = CheckpointStore(tmp_path)
    rel = store.save(donor.number, 2, {"step": 2})
    session = Session(me, "loss", None, None, store)
    later = threading.Timer(0.05, lambda: store.save(donor.number, 3, {"step": 3}))
    later.start()
    assert _donor_caught_up(session, donor.number, rel, 3)
    assert store.newest_step(rel) >= 3
    later.join()
    # the donor stops training at step 3: a clone at step 5 gives up at once, and
    # one at step 3 does not copy what is now a fully trained model
    study.tell(donor, 1.0)
    assert not _donor_caught_up(session, donor.number, rel, 5)
    assert not _donor_caught_up(session, donor.number, rel, 3)


def _train_with_data(config, data, scale=1.0):
    """A trainable taking a dataset the Ray Tune way: ``tune.with_parameters``."""
    for epoch in range(1, 4):
        hs.report(loss=scale * abs(config["a"] - data.mean()) + 1.0 / epoch, n=len(data))


@pytest.mark.parametrize("executor", [None, "process"])
def test_with_parameters_binds_data_to_the_trainable(executor):
    import numpy as np

    data = np.full(1000, 0.25)
    kw = {} if executor is None else {"executor": executor, "max_concurrent": 2}
    trainable = hs.with_parameters(_train_with_data, data=data, scale=2.0)
    assert trainable.__name__ == "_train_with_data"
    res = hs.tune(trainable, {"a": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=4, seed=0, **kw)
    assert all(t.state == hs.TrialState.COMPLETE for t in res.trials)
    for t in res.trials:
        last = t.user_attrs["last_result"]
        assert last["n"] == 1000
        assert last["loss"] == pytest.approx(2.0 * abs(t.user_attrs["config"]["a"] - 0.25) + 1 / 3)
    with pytest.raises(TypeError, match="trainable must be callable"):
        hs.with_parameters(42, data=data)
    with pytest.raises(ValueError, match="'config'"):
        hs.with_parameters(_train_with_data, config={})


def test_sample_from_values_follow_the_searched_ones():
    seen = []

    def train(config):
        seen.append(config)
        hs.report(loss=config["lr"])

    space = {
        "lr": hs.loguniform(1e-4, 1e-1),
        "warmup": hs.randint(1, 10),
        # Ray Tune's style: a value derived from others, read by attribute or item
        "decay_steps": hs.sample_from(lambda spec: spec.config.warmup * 10),
        "sched": {"final_lr": hs.sample_from(lambda spec: spec.config["lr"] / spec.config.sched.factor),
                  "factor": 4},
    }
    res = hs.tune(train, space, metric="loss", mode="min", num_samples=5, seed=1)
    assert len(seen) == 5
    for c in seen:
        assert c["decay_steps"] == c["warmup"] * 10
        assert c["sched"]["final_lr"] == pytest.approx(c["lr"] / 4)
    # derived values are not parameters: the sampler searches lr and warmup only
    assert set(res.trials[0].params) == {"lr", "warmup"}
    assert res.get_best_config()["decay_steps"] == res.get_best_config()["warmup"] * 10


def test_a_new_study_never_mixes_in_checkpoints_left_by_an_earlier_run(tmp_path):
    """A second run under the same name (in-memory storage, or a deleted study) gets
    its own checkpoint directory: the earlier run's higher step numbers would make
    pruning delete the checkpoint just saved."""
    def run(steps):
        def train(config):
            for s in range(1, steps + 1):
                hs.report(loss=config["a"] / s, checkpoint={"run_steps": steps, "step": s})
        return hs.tune(train, {"a": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=1,
                       name="same", storage_path=str(tmp_path), seed=0)

    first = run(10)
    second = run(3)
    assert first.best_checkpoint == {"run_steps": 10, "step": 10}
    assert second.best_checkpoint == {"run_steps": 3, "step": 3}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same", "same-1"]


def test_a_resumed_run_keeps_its_checkpoint_directory_and_every_result_row(tmp_path):
    url = f"sqlite:///{tmp_path}/r.db"

    def train(config):
        for s, loss in enumerate([5.0, 1.0, 3.0], start=1):
            hs.report(loss=loss * config["x"], checkpoint={"s": s})

    kw = dict(metric="loss", mode="min", storage=url, name="r", seed=0)
    hs.tune(train, {"x": hs.uniform(1.0, 2.0)}, num_samples=1, **kw)
    res = hs.tune(train, {"x": hs.uniform(1.0, 2.0)}, num_samples=2, resume=True, **kw)
    assert len(res.trials) == 2
    # rows reported by the first run are read back from the trial's result file
    x0 = res.trials[0].params["x"]
    assert [r["loss"] for r in res.results if r["trial"] == 0] == [5.0 * x0, 1.0 * x0, 3.0 * x0]
    best = min(res.trials, key=lambda t: t.params["x"]).number
    assert res.get_best_trial(scope="all").number == best
    assert res.get_best_trial(scope="last").number == best
    assert res.get_best_trial(scope="avg").number == best
    assert res.get_checkpoint(0) == {"s": 3}
    art = tmp_path / "r.db.artifacts"
    assert [p.name for p in art.iterdir()] == ["r"]


def test_a_trial_whose_last_value_diverged_is_not_the_best():
    def train(config):
        hs.report(acc=0.9 if config["x"] == 1 else 0.6, checkpoint={"x": config["x"]})
        hs.report(acc=float("nan") if config["x"] == 1 else 0.6, checkpoint={"x": config["x"]})

    res = hs.tune(train, {"x": hs.grid([1, 2])}, metric="acc", mode="max")
    assert res.get_best_config() == {"x": 2}
    assert res.best_checkpoint == {"x": 2}
    assert res.get_best_trial(scope="all").user_attrs["config"] == {"x": 1}  # its best ever
    with pytest.raises(ValueError, match="scope must be one of"):
        res.get_best_trial(scope="best")


def test_tune_options_are_checked_with_their_own_names():
    sched = hs.schedulers.ASHA(metric="loss", mode="min", max_t=4)
    with pytest.raises(ValueError, match="metric='acc' but the scheduler was given metric='loss'"):
        hs.tune(train_func, SPACE, metric="acc", scheduler=sched)
    with pytest.raises(ValueError, match="mode='max' but the scheduler was given mode='min'"):
        hs.tune(train_func, SPACE, mode="max", scheduler=sched)
    with pytest.raises(ValueError, match="max_concurrent must be"):
        hs.tune(train_func, SPACE, metric="loss", mode="min", max_concurrent=0)
    with pytest.raises(ValueError, match="time_budget_s must be"):
        hs.tune(train_func, SPACE, metric="loss", mode="min", time_budget_s=-1)
    with pytest.raises(ValueError, match=r"stop\['training_iteration'\] must be a number"):
        hs.tune(train_func, SPACE, metric="loss", mode="min", stop={"training_iteration": "3"})
    res = hs.tune(lambda c: [hs.report(loss=1.0, done=i == 2) for i in range(5)], SPACE, metric="loss",
                  mode="min", stop={"done": True})  # Ray Tune's boolean criterion
    assert max(res.trials[0].intermediate_values) == 3


def test_a_file_path_checkpoint_is_copied_and_its_copy_handed_back(tmp_path):
    model = tmp_path / "model.pt"

    def train(config):
        before = hs.get_checkpoint()
        for s in range(1, 3):
            model.write_text(f"weights after step {s}")
            hs.report(loss=1.0 / s, checkpoint=str(model), resumed_from=before)

    res = hs.tune(train, {"a": hs.uniform(0, 1)}, metric="loss", mode="min", storage_path=str(tmp_path / "art"))
    model.unlink()
    path = res.best_checkpoint
    assert path.endswith("model.pt")
    with open(path) as f:
        assert f.read() == "weights after step 2"


def test_checkpoints_beyond_a_million_steps_keep_their_order(tmp_path):
    from hypersearch.tune._checkpoint import CheckpointStore

    store = CheckpointStore(tmp_path, keep=2)
    for step in (999_999, 1_000_000, 1_000_001):
        rel = store.save(0, step, {"step": step})
    assert store.load(rel) == {"step": 1_000_001}
    assert store.newest_step(rel) == 1_000_001
    assert sorted(p.name for p in (tmp_path / "trial_000000").iterdir()) == [
        "checkpoint_1000000.pkl", "checkpoint_1000001.pkl"]


def test_paused_trials_are_closed_only_when_no_other_process_runs_trials():
    from hypersearch.tune._tune import _close_paused

    study = hs.create_study()
    paused = study.ask()
    paused.report(1.0, 1)
    study._pause(paused)
    other = study.ask()  # a trial another process is training
    _close_paused(study)
    assert study._storage.get_trial(study._study_id, paused.number).state == hs.TrialState.PAUSED
    study.tell(other, 0.5)
    _close_paused(study)
    assert study._storage.get_trial(study._study_id, paused.number).state == hs.TrialState.PRUNED


def test_a_retry_resumes_at_the_step_of_its_checkpoint():
    from hypersearch.storage._common import retry_attrs

    failed = hs.FrozenTrial(number=3, state=hs.TrialState.FAIL, params={"a": 0.5},
                            intermediate_values={1: 1.0, 2: 0.9, 3: 0.8},
                            system_attrs={"checkpoint": "trial_000003/checkpoint_000002.pkl", "max_retries": 1})
    # epoch 3 was reported after the last checkpoint: the retry trains it again as epoch 3
    assert retry_attrs(failed)["resume_step"] == 2


def test_grid_options_that_cannot_work_are_refused_and_extra_points_run():
    with pytest.raises(ValueError, match="grid axes"):
        hs.tune(train_func, {"lr": hs.grid([1e-4, 1e-3]), "batch_size": 4, "epochs": 1}, metric="loss",
                mode="min", sampler=hs.samplers.RandomSampler(seed=0))
    with pytest.raises(ValueError, match="trial_timeout needs worker processes"):
        hs.tune(train_func, SPACE, metric="loss", mode="min", executor="thread", trial_timeout=5)
    seen = []

    def train(config):
        seen.append((config["x"], round(config["y"], 3)))
        hs.report(loss=config["x"] + config["y"])

    res = hs.tune(train, {"x": hs.grid([1, 2]), "y": hs.uniform(0, 1)}, metric="loss", mode="min",
                  points_to_evaluate=[{"x": 1, "y": 0.123}], seed=0)
    assert (1, 0.123) in seen and len(seen) == 3
    assert all(t.state == hs.TrialState.COMPLETE for t in res.trials)


def test_a_failed_attempt_replaced_by_its_retry_is_not_the_best(tmp_path):
    from hypersearch.tune._checkpoint import CheckpointStore
    from hypersearch.tune._results import ResultLog
    from hypersearch.tune._tune import TuneResult

    def make(requeued):
        study = hs.create_study()
        dist = {"a": hs.FloatDistribution(0, 1)}
        attrs = {"requeued_as": 1} if requeued else {}
        # the worker died right after reporting 0.1; its retry ended at 3.1
        study.add_trial(hs.FrozenTrial(number=0, state=hs.TrialState.FAIL, params={"a": 0.5}, distributions=dist,
                                       user_attrs={"last_result": {"loss": 0.1}}, system_attrs=attrs))
        study.add_trial({"a": 0.5}, 3.1, distributions=dist, user_attrs={"last_result": {"loss": 3.1}})
        study.add_trial({"a": 0.9}, 5.0, distributions=dist, user_attrs={"last_result": {"loss": 5.0}})
        return TuneResult(study, "loss", "min", ResultLog(tmp_path), CheckpointStore(tmp_path))

    # a trial stopped part-way is not the best while others trained to their end
    assert make(requeued=False).get_best_trial().number == 1
    assert make(requeued=False).get_best_trial(scope="all").number == 0  # its best ever, though
    assert make(requeued=True).get_best_trial().number == 1


def test_resuming_a_trial_without_a_checkpoint_warns(tmp_path):
    from hypersearch.tune._checkpoint import CheckpointStore
    from hypersearch.tune._session import Session

    study = hs.create_study()
    t = study.ask()
    t.report(1.0, 1)
    t.report(0.5, 2)
    with pytest.warns(UserWarning, match="without a checkpoint"):
        Session(t, "loss", None, None, CheckpointStore(tmp_path))
    fresh = study.ask()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Session(fresh, "loss", None, None, CheckpointStore(tmp_path))


def test_a_resumed_grid_run_tops_up_what_a_changed_grid_or_num_samples_adds(tmp_path):
    from collections import Counter

    url = f"sqlite:///{tmp_path}/g.db"

    def train(config):
        hs.report(loss=config["x"])

    def counts(res):
        assert all(t.state == hs.TrialState.COMPLETE for t in res.trials)
        return dict(Counter(t.params["x"] for t in res.trials))

    kw = dict(metric="loss", mode="min", storage=url, storage_path=str(tmp_path / "art"))
    hs.tune(train, {"x": hs.grid([1, 2, 3])}, num_samples=1, name="a", **kw)
    assert counts(hs.tune(train, {"x": hs.grid([1, 2, 3])}, num_samples=2, name="a", resume=True, **kw)) == {
        1: 2, 2: 2, 3: 2}
    hs.tune(train, {"x": hs.grid([1, 2])}, num_samples=1, name="b", **kw)
    assert counts(hs.tune(train, {"x": hs.grid([1, 2, 3])}, num_samples=1, name="b", resume=True, **kw)) == {
        1: 1, 2: 1, 3: 1}
    # the same grid resumed: nothing to add, nothing run again
    assert counts(hs.tune(train, {"x": hs.grid([1, 2, 3])}, num_samples=1, name="b", resume=True, **kw)) == {
        1: 1, 2: 1, 3: 1}


def test_ctrl_c_stops_trainables_running_in_threads_at_their_next_report(tmp_path):
    import os
    import signal
    import threading
    import time

    url = f"sqlite:///{tmp_path}/c.db"

    def train(config):
        for e in range(1, 201):
            time.sleep(0.02)
            hs.report(loss=config["a"] / e, checkpoint={"e": e})

    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        hs.tune(train, {"a": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=2, max_concurrent=2,
                executor="thread", storage=url, name="c", storage_path=str(tmp_path / "art"))
    timer.join()
    trials = hs.load_study("c", url).trials
    # both trainables stopped long before their 200 epochs, paused to be resumed
    assert len(trials) == 2
    assert all(t.state == hs.TrialState.PAUSED and t.system_attrs.get("interrupted") for t in trials)
    assert all(len(t.intermediate_values) < 200 for t in trials)


def test_a_resumed_run_counts_the_trials_a_killed_run_left_behind(tmp_path):
    import time

    url = f"sqlite:///{tmp_path}/k.db"
    study = hs.create_study("k", url)
    left = study.ask()  # the process that ran it was killed: it stays RUNNING, its heartbeat stops
    left.suggest_float("a", 0, 1)
    study._storage.heartbeat([left._trial_id])
    time.sleep(0.6)

    def train(config):
        hs.report(loss=config["a"])

    res = hs.tune(train, {"a": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=3, storage=url,
                  name="k", resume=True, heartbeat_interval=0.1, heartbeat_grace=0.5,
                  storage_path=str(tmp_path / "art"))
    states = [t.state for t in res.trials]
    # the lost trial is failed before counting (nothing left RUNNING); it never wrote
    # its configuration, so it evaluated nothing and three trials run
    assert states.count(hs.TrialState.FAIL) == 1 and states.count(hs.TrialState.COMPLETE) == 3
    assert hs.TrialState.RUNNING not in states


_KILLED_RUN = """
import sys, time
import hypersearch as hs

def train(config):
    ckpt = hs.get_checkpoint()
    for e in range((ckpt or 0) + 1, 6):
        if e == 3:
            print("ready", flush=True)
            time.sleep(60)  # killed here
        hs.report(loss=config["a"] / e, checkpoint=e)

hs.tune(train, {"a": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=2, seed=0,
        storage=sys.argv[1], name="k", storage_path=sys.argv[2])
"""


def test_resume_right_after_a_killed_run_takes_its_trial_up_from_the_checkpoint(tmp_path):
    """kill -9, then resume=True at once: the killed process's trial is taken up again
    from its checkpoint (a retry), without waiting out the heartbeat grace, and the
    run ends with num_samples trials done and nothing left RUNNING or PAUSED."""
    import subprocess
    import sys

    url, art = f"sqlite:///{tmp_path}/k.db", str(tmp_path / "art")
    script = tmp_path / "run.py"
    script.write_text(_KILLED_RUN)
    proc = subprocess.Popen([sys.executable, str(script), url, art], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
    finally:
        proc.kill()
        proc.wait()
    resumed_from = []

    def train(config):
        ckpt = hs.get_checkpoint()
        resumed_from.append(ckpt)
        for e in range((ckpt or 0) + 1, 6):
            hs.report(loss=config["a"] / e, checkpoint=e)

    res = hs.tune(train, {"a": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=2, seed=0,
                  storage=url, name="k", storage_path=art, resume=True)
    states = [t.state for t in res.trials]
    assert hs.TrialState.RUNNING not in states and hs.TrialState.PAUSED not in states
    failed = [t for t in res.trials if t.state == hs.TrialState.FAIL]
    assert len(failed) == 1 and "is gone" in failed[0].system_attrs["fail_reason"]
    retry = res.trials[failed[0].system_attrs["requeued_as"]]
    assert retry.state == hs.TrialState.COMPLETE and sorted(retry.intermediate_values) == [3, 4, 5]
    assert 2 in resumed_from  # trained on from the epoch-2 checkpoint
    assert sum(t.state == hs.TrialState.COMPLETE for t in res.trials) == 2


_KILLED_AT = """
import sys, time
import hypersearch as hs

def train(config):
    ckpt = hs.get_checkpoint()
    for e in range((ckpt or 0) + 1, 7):
        if e == int(sys.argv[3]):
            print("ready", flush=True)
            time.sleep(60)  # killed here
        hs.report(loss=config["a"] / e, checkpoint=e)

hs.tune(train, {"a": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=1, seed=0,
        storage=sys.argv[1], name="k2", storage_path=sys.argv[2], resume=sys.argv[4] == "1")
"""


def test_a_trial_killed_at_each_of_two_runs_is_taken_up_at_every_resume(tmp_path):
    """Each resume takes the killed trial up again from its checkpoint, however many
    resumes came before (before, the second resume left it FAIL for good and the
    configuration was never trained to the end)."""
    import subprocess
    import sys

    url, art = f"sqlite:///{tmp_path}/k2.db", str(tmp_path / "art")
    script = tmp_path / "run.py"
    script.write_text(_KILLED_AT)
    for kill_at, resume in ((3, "0"), (5, "1")):
        proc = subprocess.Popen([sys.executable, str(script), url, art, str(kill_at), resume],
                                stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
        finally:
            proc.kill()
            proc.wait()

    def train(config):
        ckpt = hs.get_checkpoint()
        for e in range((ckpt or 0) + 1, 7):
            hs.report(loss=config["a"] / e, checkpoint=e)

    res = hs.tune(train, {"a": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=1, seed=0,
                  storage=url, name="k2", storage_path=art, resume=True)
    assert [t.state for t in res.trials] == [hs.TrialState.FAIL, hs.TrialState.FAIL, hs.TrialState.COMPLETE]
    assert [sorted(t.intermediate_values) for t in res.trials] == [[1, 2], [3, 4], [5, 6]]
    assert len({t.params["a"] for t in res.trials}) == 1


def test_a_trainable_that_catches_exceptions_is_still_stopped_paused_and_restarted():
    """``except Exception`` around a training step ("log the bad batch and go on")
    must not defeat the scheduler or the stop criteria: hs.report's signals are no
    ``Exception``.  A trainable that swallows even those (``except BaseException``)
    gets the signal again at its next report, which records nothing, and when it
    returns."""
    def swallowing(kind):
        def trainable(config):
            for _ in range(9):
                try:
                    hs.report(loss=config["x"])
                except kind:  # noqa: PERF203 - the pattern under test
                    pass
        return trainable

    careful, stubborn = swallowing(Exception), swallowing(BaseException)
    asha = hs.schedulers.ASHA(metric="loss", mode="min", max_t=9, grace_period=1, reduction_factor=3)
    res = hs.tune(careful, {"x": hs.uniform(0, 1)}, num_samples=9, scheduler=asha, seed=0)
    pruned = [t for t in res.trials if t.state == hs.TrialState.PRUNED]
    assert pruned and all(len(t.intermediate_values) < 9 for t in pruned)
    res = hs.tune(careful, {"x": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=2,
                  stop={"training_iteration": 3})
    assert [len(t.intermediate_values) for t in res.trials] == [3, 3]
    assert all(t.state == hs.TrialState.COMPLETE for t in res.trials)

    res = hs.tune(stubborn, {"x": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=2,
                  stop={"training_iteration": 3})
    assert [sorted(t.intermediate_values) for t in res.trials] == [[1, 2, 3], [1, 2, 3]]
    assert all(t.state == hs.TrialState.COMPLETE for t in res.trials)
    rows = res.dataframe
    assert sorted(rows["training_iteration"]) == [1, 1, 2, 2, 3, 3]


def test_a_resumed_trial_keeps_its_sample_from_values():
    """A random sample_from value is drawn once per trial: a promoted (resumed)
    trial trains on with the value its checkpoint was trained with, and so does
    its retry."""
    import numpy as np

    from hypersearch.storage._common import retry_attrs

    def train(config):
        ckpt = hs.get_checkpoint()
        start = 0 if ckpt is None else ckpt["epoch"]
        assert ckpt is None or ckpt["wd"] == config["wd"], "resumed with another wd"
        for epoch in range(start + 1, 10):
            hs.report(loss=config["lr"] + 1 / epoch, wd=config["wd"],
                      checkpoint={"epoch": epoch, "wd": config["wd"]})

    space = {"lr": hs.uniform(0, 1), "wd": hs.sample_from(lambda spec: 10 ** (-4 * np.random.rand()))}
    asha = hs.schedulers.ASHA(metric="loss", mode="min", max_t=9, grace_period=1, reduction_factor=3,
                              variant="promotion")
    res = hs.tune(train, space, num_samples=9, scheduler=asha, seed=0)
    assert all(t.state != hs.TrialState.FAIL for t in res.trials)
    df = res.dataframe
    assert df.groupby("trial")["training_iteration"].max().max() == 9  # some were promoted
    assert (df.groupby("trial")["wd"].nunique() == 1).all()
    assert res.best_config["wd"] == res.best_result["wd"]
    # a retry of a trial (what a worker's death queues) carries its values
    some = res.trials[0]
    assert retry_attrs(some, 1)["space:derived"] == {"wd": df[df.trial == some.number].wd.iloc[0]}


def test_runs_started_at_once_never_share_a_checkpoint_directory(tmp_path):
    """Two sweep jobs with the same name (each its own in-memory study) both find
    the directory empty before either saved a checkpoint: each takes its own.
    Two processes on one shared new study end up in the same directory."""
    from hypersearch.tune._checkpoint import claim_root
    from hypersearch.tune._tune import ARTIFACTS_ATTR, _artifact_root

    base = tmp_path / "runs" / "mnist"
    assert claim_root(base) == base
    assert claim_root(base) == base.with_name("mnist-1")  # empty, but taken

    url = f"sqlite:///{tmp_path}/shared.db"
    hs.create_study("shared", url)
    first, second = hs.load_study("shared", url), hs.load_study("shared", url)  # both before any run
    assert ARTIFACTS_ATTR not in second.system_attrs
    root = _artifact_root(first, str(tmp_path / "art"), url)
    assert _artifact_root(second, str(tmp_path / "art"), url) == root
    assert sorted(p.name for p in (tmp_path / "art").iterdir()) == ["shared"]  # nothing left behind
    # the same when the first process has started a trial before the second looks
    (tmp_path / "art2" / "late" / "trial_000000").mkdir(parents=True)  # an earlier run's files
    hs.create_study("late", url)
    first, second = hs.load_study("late", url), hs.load_study("late", url)
    root = _artifact_root(first, str(tmp_path / "art2"), url)
    assert root.name == "late-1"
    first.ask()
    assert _artifact_root(second, str(tmp_path / "art2"), url) == root


class _Net:  # stands for a model class given as a constant of the space
    pass


def _relu(x):
    return max(x, 0.0)


def test_objects_in_the_config_survive_pbt_exploits_and_show_in_best_config():
    """Constants JSON cannot store (a model class, a function, an array), nested
    or not: an exploiting PBT member keeps them beside its new values, and
    best_config holds the configuration as the trainable received it."""
    import numpy as np

    seen = []

    def train(config):
        ckpt = hs.get_checkpoint()
        w = 0.0 if ckpt is None else ckpt["w"]
        while True:
            assert config["model"]["cls"] is _Net and config["act"] is _relu
            seen.append(config["model"]["lr"])
            w += config["model"]["lr"]
            hs.report(score=w, checkpoint={"w": w})

    pbt = hs.schedulers.PopulationBasedTraining(
        metric="score", mode="max", perturbation_interval=2, seed=0,
        hyperparam_mutations={"model": {"lr": hs.uniform(0.01, 1.0)}})
    space = {"model": {"cls": _Net, "lr": hs.uniform(0.01, 1.0)}, "act": _relu, "w0": np.zeros(3),
             "layers": (64, 64)}
    # one worker: the population takes turns, so exploits happen whatever the timing
    res = hs.tune(train, space, num_samples=4, scheduler=pbt, stop={"training_iteration": 6}, seed=0)
    assert all(t.state == hs.TrialState.COMPLETE for t in res.trials)
    assert any(t.system_attrs.get("pbt:schedule") for t in res.trials)  # exploits happened
    best = res.best_config
    assert best["model"]["cls"] is _Net and best["act"] is _relu and best["w0"].shape == (3,)
    assert best["model"]["lr"] == res.best_result["config"]["model"]["lr"]


def test_the_time_budget_stops_running_trials_at_their_next_report():
    """As in Ray Tune, time_budget_s ends the run: no trial starts after it, and a
    running trial stops at its next report, complete with what it reported."""
    import time

    def endless(config):
        t0 = time.monotonic()
        while time.monotonic() - t0 < 30:  # a guard only: the budget must stop it first
            time.sleep(0.01)
            hs.report(score=config["x"])

    res = hs.tune(endless, {"x": hs.uniform(0, 1)}, metric="score", mode="max", num_samples=5,
                  time_budget_s=2.0)
    assert len(res.trials) == 1 and res.trials[0].state == hs.TrialState.COMPLETE
    assert res.trials[0].user_attrs["last_result"]["time_total_s"] < 15  # the budget, not the guard


def _relu_act(x):
    return max(x, 0.0)


def _gelu_act(x):
    return x


def test_a_pbt_clone_trains_with_its_donors_branch_and_objects():
    """A clone trains with the donor's configuration: its branch of a choice of dicts
    (never a mix of two branches' keys) and its objects (a function chosen from
    hs.choice([relu, gelu])), as the donor's checkpoint was trained with them."""
    mismatch, mixed = [], []

    def train(config):
        ckpt = hs.get_checkpoint()
        if set(config["opt"]) not in ({"type", "momentum", "lr"}, {"type", "beta1", "lr"}):
            mixed.append(sorted(config["opt"]))
        if ckpt is not None and (ckpt["act"], ckpt["opt"]) != (config["act"].__name__, config["opt"]["type"]):
            mismatch.append(ckpt)
        w = 0.0 if ckpt is None else ckpt["w"]
        gain = (1.0 if config["act"] is _gelu_act else 0.1) * (2.0 if config["opt"]["type"] == "adam" else 1.0)
        while True:
            w += gain * config["opt"]["lr"]
            hs.report(score=w, checkpoint={"w": w, "act": config["act"].__name__, "opt": config["opt"]["type"]})

    space = {"act": hs.choice([_relu_act, _gelu_act]),
             "opt": hs.choice([{"type": "sgd", "momentum": hs.uniform(0, 0.9), "lr": hs.uniform(0.5, 1)},
                               {"type": "adam", "beta1": hs.uniform(0.8, 0.99), "lr": hs.uniform(0.5, 1)}])}
    pbt = hs.schedulers.PopulationBasedTraining(metric="score", mode="max", perturbation_interval=2, seed=0,
                                                hyperparam_mutations={"opt.lr": hs.uniform(0.5, 1.0)})
    res = hs.tune(train, space, num_samples=6, scheduler=pbt, stop={"training_iteration": 8}, seed=0)
    assert sum(len(t.system_attrs.get("pbt:schedule", [])) for t in res.trials) > 0
    assert mixed == [] and mismatch == []
    ckpt = res.best_checkpoint  # what the best model was trained with
    assert res.best_config["act"].__name__ == ckpt["act"] and res.best_config["opt"]["type"] == ckpt["opt"]
    with pytest.raises(ValueError, match="name objects"):
        hs.schedulers.PopulationBasedTraining(hyperparam_mutations={"act": [_relu_act, _gelu_act]})


def test_a_retry_goes_on_with_its_originals_clock(tmp_path):
    """time_total_s continues across a retry, as training_iteration does."""
    from hypersearch.storage._common import retry_attrs
    from hypersearch.trial import FrozenTrial

    failed = FrozenTrial(number=0, state=hs.TrialState.FAIL, params={"x": 0.5},
                         user_attrs={"last_result": {"loss": 1.0, "time_total_s": 12.5}},
                         system_attrs={"checkpoint": "trial_000000/checkpoint_000003.pkl"},
                         intermediate_values={1: 1.0, 2: 1.0, 3: 1.0})
    attrs = retry_attrs(failed, 1)
    assert attrs["time_total_s"] == 12.5 and attrs["resume_step"] == 3
    study = hs.create_study()
    study.enqueue_trial({"x": 0.5})
    t = study.ask()
    t._system_attrs.update(attrs)
    from hypersearch.tune._checkpoint import CheckpointStore
    from hypersearch.tune._session import Session

    s = Session(t, "loss", None, None, CheckpointStore(tmp_path))
    s.report({"loss": 0.5})
    assert s.results[0]["training_iteration"] == 4 and s.results[0]["time_total_s"] >= 12.5


def test_each_resume_grants_one_more_attempt_per_trial_only():
    from hypersearch.storage._common import OneMore, retry_attrs
    from hypersearch.trial import FrozenTrial

    third = FrozenTrial(number=3, state=hs.TrialState.FAIL, params={"x": 1.0},
                        system_attrs={"retry": 2, "max_retries": 2})
    fresh = FrozenTrial(number=4, state=hs.TrialState.FAIL, params={"x": 2.0})
    assert retry_attrs(third, 0) is None  # its chain is used up ...
    assert retry_attrs(third, OneMore(0))["max_retries"] == 3  # ... a resume takes it up again
    assert retry_attrs(fresh, OneMore(0))["max_retries"] == 1  # one more for itself, not 3
    # a retry killed before its first report passes its original's clock and step on
    again = FrozenTrial(number=5, state=hs.TrialState.FAIL, params={"x": 1.0},
                        system_attrs={"retry": 1, "max_retries": 2, "checkpoint": "trial_000004/checkpoint_000005.pkl",
                                      "retry_after_step": 5, "time_total_s": 100.0})
    attrs = retry_attrs(again, 0)
    assert attrs["time_total_s"] == 100.0 and attrs["retry_after_step"] == 5 and attrs["resume_step"] == 5


def test_a_trial_resumed_from_an_older_checkpoint_counts_from_that_checkpoint():
    """A trainable that saves a checkpoint only now and then: a promoted trial
    resumes from a checkpoint older than its last report.  Its iteration count
    goes on from the checkpoint's step, so it keeps measuring the model's training
    (before, it went on from the last report and max_t ended the trial epochs
    short); the epochs trained again record nothing twice."""
    def train(config):
        ckpt = hs.get_checkpoint()
        epoch = 0 if ckpt is None else ckpt
        while True:
            epoch += 1
            hs.report(loss=config["q"] + 1.0 / epoch, epoch=epoch,
                      checkpoint=None if epoch % 3 == 0 else epoch)  # none on epochs 3, 6, ...

    asha = hs.schedulers.ASHA(metric="loss", mode="min", max_t=8, grace_period=3, reduction_factor=2,
                              variant="promotion")
    res = hs.tune(train, {"q": hs.uniform(0, 1)}, num_samples=6, scheduler=asha, seed=0)
    df = res.dataframe
    assert (df["epoch"] == df["training_iteration"]).all()
    assert not df.duplicated(["trial", "training_iteration"]).any()
    done = [t for t in res.trials if t.state == hs.TrialState.COMPLETE]
    assert done and all(max(t.intermediate_values) == 8 for t in done)
    assert any(t.system_attrs.get("resumed") for t in res.trials)


def test_training_again_after_an_older_checkpoint_still_obeys_the_time_budget_and_stop():
    """The steps a resumed trial trains again are not recorded twice, but Ctrl-C,
    max_t, the stop criteria and the time budget still apply there (before, the
    whole replay ran unchecked and the budget was overrun by the replay's length)."""
    def train(config):
        ckpt = hs.get_checkpoint()
        epoch = 0 if ckpt is None else ckpt
        while True:
            epoch += 1
            hs.report(loss=config["q"] + 1.0 / epoch, checkpoint=epoch if epoch == 1 else None)

    asha = hs.schedulers.ASHA(metric="loss", mode="min", max_t=30, grace_period=10, reduction_factor=2,
                              variant="promotion")
    seen = []

    def stop(result):
        seen.append(result["training_iteration"])
        return len(seen) >= 25  # reached while the promoted trial trains epochs 2..10 again

    res = hs.tune(train, {"q": hs.uniform(0, 1)}, num_samples=2, scheduler=asha, seed=0, stop=stop)
    stopped = [t for t in res.trials if t.state == hs.TrialState.COMPLETE]
    assert stopped and all(max(t.intermediate_values) <= 10 for t in stopped)  # stopped within the replay
    assert all(t.value == t.intermediate_values[max(t.intermediate_values)] for t in stopped)


def test_a_resume_with_another_storage_path_records_that_path(tmp_path):
    """Checkpoints moved to another directory and resumed with storage_path pointing
    there: the study records the new root (an earlier root is not kept over it)."""
    from hypersearch.tune._tune import ARTIFACTS_ATTR

    url = f"sqlite:///{tmp_path}/m.db"
    hs.tune(train_func, SPACE, metric="loss", mode="min", num_samples=1, storage=url, name="m",
            storage_path=str(tmp_path / "a"))
    res = hs.tune(train_func, SPACE, metric="loss", mode="min", num_samples=2, storage=url, name="m",
                  storage_path=str(tmp_path / "b"), resume=True)
    assert res.study.system_attrs[ARTIFACTS_ATTR] == str((tmp_path / "b" / "m").resolve())


def test_a_returned_dict_or_number_is_the_last_report():
    """As in Ray Tune, a trainable may return its metrics instead of reporting them
    (before, every such trial failed with 'reported no value')."""
    res = hs.tune(lambda config: {"loss": config["x"], "acc": 1 - config["x"]}, config={"x": hs.uniform(0, 1)},
                  metric="loss", mode="min", num_samples=3, seed=0)
    assert all(t.state == hs.TrialState.COMPLETE for t in res.trials)
    assert res.best_result["loss"] == pytest.approx(res.best_config["x"])
    assert res.best_result["acc"] == pytest.approx(1 - res.best_config["x"])
    res = hs.tune(lambda config: config["x"] * 2, config={"x": hs.uniform(0, 1)}, metric="loss", mode="min",
                  num_samples=2, seed=0)
    assert res.best_result["loss"] == pytest.approx(2 * res.best_config["x"])


def test_reports_from_a_thread_the_trainable_started():
    """A trainable that reports from a helper thread (a training loop run by a data
    or logging thread) reports for its own trial, as Ray's process-wide session
    allows; with threads running several trials, the error says why it cannot."""
    import threading

    def train(config):
        def work():
            for _ in range(3):
                hs.report(loss=config["x"])

        t = threading.Thread(target=work)
        t.start()
        t.join()

    res = hs.tune(train, config={"x": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=2, seed=0)
    assert [len(t.intermediate_values) for t in res.trials] == [3, 3]
    with pytest.raises(RuntimeError, match="only be called inside a trainable"):
        hs.report(loss=1.0)

    # a thread an earlier trial left running is not the next trial's
    import time

    refused = []

    def leaves_a_thread(config):
        if config["x"] < 0.5:
            def late():
                time.sleep(0.3)
                try:
                    hs.report(loss=999.0)
                except RuntimeError as e:
                    refused.append(str(e))

            threading.Thread(target=late, daemon=True).start()
            hs.report(loss=config["x"])
            return
        for _ in range(6):
            time.sleep(0.1)
            hs.report(loss=config["x"])

    res = hs.tune(leaves_a_thread, config={"x": hs.grid_search([0.1, 0.9])}, metric="loss", mode="min", seed=1)
    assert 999.0 not in res.trials[1].intermediate_values.values()
    assert refused and "running before this trial began" in refused[0]


class _CountingStopper:
    """Ray Tune's Stopper interface: stops every trial once 6 results were seen in
    all, and the whole run after 8."""

    def __init__(self):
        self.seen = 0

    def __call__(self, trial_id, result):
        self.seen += 1
        return self.seen >= 6

    def stop_all(self):
        return self.seen >= 8


def _slow_counting_train(config):
    import time

    for _ in range(10):
        time.sleep(0.01)
        hs.report(loss=config["x"])


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_a_stateful_stop_criterion_sees_every_trial_in_the_driver(executor):
    """The stop object is one, in the study's process, whichever worker runs the
    trial (before, each worker process had its own copy, which never saw the
    others' results, and the driver's saw none); stop_all ends the run."""
    stopper = _CountingStopper()
    res = hs.tune(_slow_counting_train, config={"x": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=6,
                  max_concurrent=2, stop=stopper, executor=executor, seed=0)
    reports = sum(len(t.intermediate_values) for t in res.trials)
    assert stopper.seen == reports
    assert 6 <= reports <= 9  # every trial stops from the 6th result; the run after the 8th
    assert len(res.trials) < 6  # stop_all: no new trial after it


def test_tune_optimises_one_metric_and_says_so():
    with pytest.raises(ValueError, match="tune optimises one metric"):
        hs.tune(lambda c: None, config={"x": hs.uniform(0, 1)}, metric=["acc", "size"], mode="max")
    with pytest.raises(ValueError, match="tune optimises one metric"):
        hs.tune(lambda c: None, config={"x": hs.uniform(0, 1)}, metric="acc", mode=["max", "min"])


def test_a_run_whose_every_trial_failed_says_so():
    def broken(config):
        raise NameError("name 'modle' is not defined")

    with pytest.warns(UserWarning, match="all 2 trials of .* failed; the first with: NameError: name 'modle'"):
        res = hs.tune(broken, config={"x": hs.uniform(0, 1)}, metric="loss", mode="min", num_samples=2)
    assert [t.state for t in res.trials] == [hs.TrialState.FAIL] * 2
