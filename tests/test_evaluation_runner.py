"""The evaluation runner: task resolution, samples.jsonl, scores.json, resume; the stage on a tiny Llama."""

from __future__ import annotations

import json

import pytest
from evaluation_fixtures import GoldLM, write_mgsm_folder, write_xcsqa_folder

from harness.errors import HarnessError
from harness.evaluation.config import EvaluationConfig, TaskConfig
from harness.evaluation.runner import PARTS_DIR, EvalTask, resolve_tasks, run_models


class Factory:
    """make_lm for tests: GoldLMs by model name, counting the calls."""

    def __init__(self, rules):
        self.rules = rules
        self.made: list[str] = []
        self.lms: dict[str, GoldLM] = {}

    def __call__(self, model):
        self.made.append(model)
        self.lms[model] = GoldLM(self.rules[model])
        return self.lms[model], f"test:{model}"


def evaluation_config(tmp_path, models=("base", "trained"), **task):
    folder = write_mgsm_folder(tmp_path / "mgsm", languages=("en", "de", "bn"), n=6)
    return EvaluationConfig(
        tasks=[TaskConfig(name="mgsm", path=str(folder), languages=["en", "de", "bn"], **task)],
        models=list(models),
        max_new_tokens=16,
    )


RULES = {"base": lambda doc: doc["index"] % 2 == 0 and doc["lang"] != "bn", "trained": lambda doc: doc["index"] != 5}


# -- resolve_tasks --------------------------------------------------------------------------------


def test_languages_default_to_the_recipes_that_the_benchmark_has():
    config = EvaluationConfig(tasks=[TaskConfig(name="mgsm"), TaskConfig(name="xcsqa", languages=["ar", "en"])])
    tasks = resolve_tasks(config, ["en", "de", "ar", "te"])
    assert tasks == [EvalTask("mgsm", ("en", "de", "te")), EvalTask("xcsqa", ("ar", "en"))]


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ([TaskConfig(name="xcsqa")], r"evaluation.tasks.0: none of the recipe's languages \(bn, th\) is in 'xcsqa'"),
    ],
)
def test_resolve_tasks_errors(tasks, message):
    with pytest.raises(HarnessError, match=message):
        resolve_tasks(EvaluationConfig(tasks=tasks), ["bn", "th"])


def test_task_config_validates_names_and_languages():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"unknown benchmark 'mgms' \(did you mean 'mgsm'\?\)"):
        TaskConfig(name="mgms")
    with pytest.raises(ValidationError, match=r"'msvamp' has no language te; it has: bn, th"):
        TaskConfig(name="msvamp", languages=["te", "en"])
    with pytest.raises(ValidationError, match=r"task mgsm listed twice"):
        EvaluationConfig(tasks=[TaskConfig(name="mgsm"), TaskConfig(name="mgsm")])


# -- run_models -----------------------------------------------------------------------------------


def test_samples_and_scores(tmp_path):
    config = evaluation_config(tmp_path)
    out = tmp_path / "eval"
    factory = Factory(RULES)
    scores = run_models(config, resolve_tasks(config, ["en"]), out, factory, seed=3)

    lines = [json.loads(line) for line in (out / "mgsm" / "samples.jsonl").read_text().splitlines()]
    assert len(lines) == 2 * 3 * 6
    first = lines[0]
    prompt, prompt_hash = first.pop("prompt"), first.pop("prompt_hash")
    assert first == {
        "model": "base",
        "lang": "en",
        "doc_id": 0,
        "id": "0",
        "question": "[en] Question 0: what is 10 + 0?",
        "target": "10",
        "response": "First 2 + 3 = 5. The answer is 10.",
        "extracted": {"paper": "10", "strict": "10"},
        "correct": {"paper": True, "strict": True},
        "task_version": 1.0,
    }
    # the full prompt the model saw, and lm-eval's hash of it
    from lm_eval.utils import hash_string

    assert prompt.startswith("Below is an instruction") and "[en] Question 0: what is 10 + 0?" in prompt
    assert prompt_hash == hash_string(prompt)
    assert not (out / "mgsm" / PARTS_DIR).exists()

    assert scores == json.loads((out / "scores.json").read_text())
    assert scores["extraction"] == "paper" and scores["lm_eval_version"]
    assert scores["settings"]["max_new_tokens"] == 16 and scores["settings"]["seed"] == 3
    base = scores["models"]["base"]
    assert base["source"] == "test:base"
    mgsm = base["tasks"]["mgsm"]
    assert mgsm["task_version"] == 1.0
    assert mgsm["languages"]["en"]["n"] == 6 and mgsm["languages"]["en"]["correct"] == 3
    assert mgsm["languages"]["en"]["accuracy"] == 50.0 and mgsm["languages"]["en"]["accuracy_strict"] == 50.0
    assert mgsm["languages"]["bn"]["accuracy"] == 0.0
    assert mgsm["average"]["languages"] == ["bn", "de", "en"]  # the paper's order, those evaluated
    assert mgsm["average"]["accuracy"] == pytest.approx(100 / 3, abs=1e-3)
    assert mgsm["pcr"] == {"de": 100.0, "bn": 0.0} and mgsm["pcr_average"] == 50.0
    trained = scores["models"]["trained"]["tasks"]["mgsm"]
    assert trained["languages"]["bn"]["correct"] == 5
    comparison = scores["comparisons"]["trained_vs_base"]["mgsm"]
    assert comparison["languages"]["bn"]["only_b"] == 5 and comparison["languages"]["bn"]["only_a"] == 0
    assert comparison["languages"]["bn"]["p_value"] == pytest.approx(2 / 32)
    assert factory.made == ["base", "trained"]
    assert mgsm["prompt_sha"] and mgsm["prompt_sha"] == trained["prompt_sha"]

    # lm-eval's own files, in its EvaluationTracker layout, readable by its table script
    from lm_eval.utils import make_table

    results_files = list((out / "lm_eval" / "trained").glob("results_*.json"))
    assert len(results_files) == 1
    results = json.loads(results_files[0].read_text())
    assert results["results"]["slam_mgsm_bn"]["acc,none"] == pytest.approx(5 / 6)
    assert results["results"]["slam_mgsm"]["acc,none"] == pytest.approx(trained["average"]["accuracy"] / 100)
    assert results["n-samples"]["slam_mgsm_de"]["effective"] == 6 and results["versions"]["slam_mgsm_de"] == 1.0
    assert "slam_mgsm_bn" in make_table(results) and "slam_mgsm" in make_table(results, "groups")
    lm_samples = list((out / "lm_eval" / "trained").glob("samples_slam_mgsm_bn_*.jsonl"))
    assert len(lm_samples) == 1 and len(lm_samples[0].read_text().splitlines()) == 6


def test_a_finished_evaluation_is_not_redone(tmp_path):
    config = evaluation_config(tmp_path)
    tasks = resolve_tasks(config, ["en"])
    first = run_models(config, tasks, tmp_path / "eval", Factory(RULES))

    def fail(model):
        raise AssertionError(f"{model} should not be loaded again")

    assert run_models(config, tasks, tmp_path / "eval", fail) == first


def test_resume_after_a_kill_redoes_only_what_is_missing(tmp_path):
    """A task's languages are answered in one call: a kill keeps every finished (model, task)."""
    config = evaluation_config(tmp_path)
    tasks = resolve_tasks(config, ["en"])
    out = tmp_path / "eval"

    class Killed(Exception):
        pass

    class Dies(GoldLM):
        def generate_until(self, requests, disable_tqdm=False):
            raise Killed

    def killed_in_trained(model):
        return (GoldLM(RULES[model]) if model == "base" else Dies(RULES[model])), f"test:{model}"

    with pytest.raises(Killed):
        run_models(config, tasks, out, killed_in_trained)
    assert sorted(p.name for p in (out / "mgsm" / PARTS_DIR).iterdir()) == [
        "base.bn.json",
        "base.de.json",
        "base.en.json",
    ]

    factory = Factory(RULES)
    scores = run_models(config, tasks, out, factory)
    assert factory.made == ["trained"]
    assert {doc["lang"] for _, _, doc in factory.lms["trained"].requests} == {"en", "de", "bn"}
    assert scores["models"]["base"]["tasks"]["mgsm"]["languages"]["en"]["correct"] == 3


def test_resume_from_assembled_samples_when_the_parts_are_gone(tmp_path):
    config = evaluation_config(tmp_path, models=("base",))
    tasks = resolve_tasks(config, ["en"])
    first = run_models(config, tasks, tmp_path / "eval", Factory(RULES))
    # A kill after the parts were removed but before the stage was marked done.
    assert run_models(config, tasks, tmp_path / "eval", lambda model: pytest.fail("reloaded")) == first


def test_strict_extraction_of_record(tmp_path):
    config = evaluation_config(tmp_path, models=("base",))
    config.extraction = "strict"
    scores = run_models(config, resolve_tasks(config, ["en"]), tmp_path / "eval", Factory(RULES))
    entry = scores["models"]["base"]["tasks"]["mgsm"]["languages"]["en"]
    assert scores["extraction"] == "strict" and "accuracy_paper" in entry and "accuracy_strict" not in entry


def test_xcsqa_through_the_runner(tmp_path):
    folder = write_xcsqa_folder(tmp_path / "xcsqa", languages=("en", "fr"), n=5)
    config = EvaluationConfig(tasks=[TaskConfig(name="xcsqa", path=str(folder))], models=["base"])
    factory = Factory({"base": lambda doc: doc["lang"] == "en" or doc["id"] in ("q0", "q4")})
    scores = run_models(config, resolve_tasks(config, ["en", "fr"]), tmp_path / "eval", factory)
    xcsqa = scores["models"]["base"]["tasks"]["xcsqa"]
    assert xcsqa["languages"]["fr"]["correct"] == 2 and xcsqa["pcr"]["fr"] == 40.0
    assert xcsqa["average"]["languages"] == ["fr", "en"]


# -- the stage on a tiny random Llama through HFLM ------------------------------------------------


@pytest.mark.integration
def test_evaluate_stage_on_a_tiny_llama(tmp_path, tiny_llama_dir):
    from harness.evaluation.stage import run_evaluate
    from harness.recipe import Recipe
    from harness.runs import Run

    folder = write_mgsm_folder(tmp_path / "mgsm", languages=("en", "de"), n=3)
    recipe = Recipe.model_validate(
        {
            "name": "tiny-eval",
            "languages": ["en", "de"],
            "model": {"source": str(tiny_llama_dir)},
            "evaluation": {
                "tasks": [{"name": "mgsm", "path": str(folder)}],
                "models": ["base"],
                "max_new_tokens": 8,
                "batch_size": 2,
            },
        }
    )
    out = tmp_path / "run" / "eval"
    scores = run_evaluate(recipe, Run.create(tmp_path / "run"), out)
    languages = scores["models"]["base"]["tasks"]["mgsm"]["languages"]
    assert {lang: row["n"] for lang, row in languages.items()} == {"en": 3, "de": 3}
    assert scores["models"]["base"]["source"] == str(tiny_llama_dir)
    assert scores["settings"]["device"] == "cpu"
    samples = [json.loads(line) for line in (out / "mgsm" / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 6 and all(isinstance(s["response"], str) for s in samples)
