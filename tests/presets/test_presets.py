"""Domain presets: defaults lie in their spaces, the spaces run, the registry explains itself."""

from __future__ import annotations

import importlib

import pytest

import hypersearch as hs
from hypersearch import presets
from hypersearch import training as tr
from hypersearch.space.declarative import Choice, Param

ALL = [(name, variant) for name in presets.names() for variant in presets.variants(name)]


def test_the_three_presets_exist():
    assert {"vision", "nlp-finetune", "llm-pretrain"} <= set(presets.names())
    assert presets.variants("vision") == ["sgd", "adamw"]
    assert presets.get("nlp_finetune").name == "nlp-finetune"


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="known presets: llm-pretrain, nlp-finetune, vision"):
        presets.space("speech")
    with pytest.raises(ValueError, match="variants"):
        presets.defaults("vision", "lamb")


def _domains(node, params, path=""):
    """(name, distribution) of every parameter ``params`` sets, found the way the declarative
    machinery names them (a conditional choice's branch is the one ``params`` picked)."""
    if isinstance(node, Param):
        yield path, node.distribution
    elif isinstance(node, Choice):
        yield path, hs.CategoricalDistribution(node.labels)
        if node.nested:
            yield from _domains(node.options[params[path]], params, path)
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _domains(v, params, f"{path}.{k}" if path else k)


@pytest.mark.parametrize("name, variant", ALL)
def test_defaults_lie_inside_the_space(name, variant):
    space = presets.space(name)
    config = presets.defaults(name, variant)
    assert presets.check_config(space, config) == []
    params = presets.config_to_params(space, config)
    dists = dict(_domains(space, params))
    assert params and set(params) == set(dists)
    for pname, value in params.items():
        assert dists[pname].contains(value), (pname, value, dists[pname])
    # and the space's own sampling machinery, fed these parameters, rebuilds the configuration
    study = hs.create_study(seed=0)
    presets.enqueue_defaults(study, name, variant)
    seen = []
    study.optimize(hs.SearchSpace(space).objective(lambda c: seen.append(c) or 0.0), n_trials=1)
    assert seen == [config]
    assert study.trials[0].params == params


def test_check_config_reports_what_is_outside():
    space = presets.space("nlp-finetune")
    bad = presets.defaults("nlp-finetune")
    bad["learning_rate"] = 1.0
    bad["batch_size"] = 24
    bad["adam_epsilon"] = 1e-8
    del bad["dropout"]
    bad["seed"] = 0
    problems = " | ".join(presets.check_config(space, bad))
    for word in ("learning_rate", "batch_size", "adam_epsilon", "dropout", "seed"):
        assert word in problems
    with pytest.raises(ValueError, match="learning_rate"):
        presets.config_to_params(space, bad)
    vision = presets.defaults("vision")
    vision["optimizer"]["name"] = "lamb"
    assert presets.check_config(presets.space("vision"), vision)


def test_constraints_of_a_search_space_are_checked():
    space = hs.SearchSpace({"a": hs.randint(1, 10), "b": hs.randint(1, 10)},
                           constraints=[lambda c: c["a"] < c["b"]])
    assert presets.check_config(space, {"a": 2, "b": 3}) == []
    assert presets.check_config(space, {"a": 3, "b": 2})


def test_spaces_and_defaults_are_fresh_copies():
    a = presets.space("vision")
    a["batch_size"] = 1
    assert presets.space("vision")["batch_size"] != 1
    d = presets.defaults("vision")
    d["optimizer"]["lr"] = 123.0
    assert presets.defaults("vision")["optimizer"]["lr"] == 0.1


@pytest.mark.parametrize("name", ["vision", "nlp-finetune", "llm-pretrain"])
def test_presets_say_where_their_ranges_come_from(name):
    preset = presets.get(name)
    assert len(preset.sources) >= 2
    module = importlib.import_module(f"hypersearch.presets.{name.replace('-', '_')}")
    assert "Where the ranges come from" in module.__doc__
    text = presets.describe(name)
    assert all(s in text for s in preset.sources)


def test_enqueue_defaults_skips_a_queued_configuration():
    study = hs.create_study()
    assert presets.enqueue_defaults(study, "llm-pretrain") == 0
    objective = hs.SearchSpace(presets.space("llm-pretrain")).objective(lambda c: 1.0)
    study.optimize(objective, n_trials=1)
    assert presets.enqueue_defaults(study, "llm-pretrain") is None


def _steps(name, config):
    if name == "vision":
        return tr.schedule_from_config(config, steps_per_epoch=10, total_steps=200)
    return tr.schedule_from_config(config, total_steps=5000)


@pytest.mark.parametrize("name", ["vision", "nlp-finetune", "llm-pretrain"])
def test_tune_runs_with_each_space(name):
    def trainable(config):
        sched = _steps(name, config)  # the schedule keys of every preset are understood
        for epoch in range(3):
            hs.report(loss=abs(sched(epoch * 50)) + 1.0 / (epoch + 1))

    result = hs.tune(trainable, config=presets.space(name), metric="loss", mode="min",
                     num_samples=4, seed=0, show_progress_bar=False)
    assert len(result.trials) == 4
    assert all(t.state == hs.TrialState.COMPLETE for t in result.trials)
    assert presets.check_config(presets.space(name), result.best_config) == []


def test_tune_resumes_a_study_that_starts_from_the_defaults(tmp_path):
    url = f"sqlite:///{tmp_path}/p.db"
    study = hs.create_study("warm", url)
    presets.enqueue_defaults(study, "nlp-finetune")
    seen = []

    def trainable(config):
        seen.append(config)
        hs.report(loss=config["learning_rate"])

    hs.tune(trainable, config=presets.space("nlp-finetune"), metric="loss", mode="min",
            num_samples=3, name="warm", storage=url, resume=True, show_progress_bar=False)
    assert len(seen) == 3 and seen[0] == presets.defaults("nlp-finetune")
