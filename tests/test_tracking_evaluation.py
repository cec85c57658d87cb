"""A run's evaluation where researchers look: lm-eval's results files in lm-eval's schema (read by
lm-eval's own code, the model named by its source), TensorBoard scalars and sample tables, W&B in
offline mode through lm-eval's WandbLogger, and the opt-in hub push's arguments."""

from __future__ import annotations

import json

import pytest
from evaluation_fixtures import GoldLM, write_mgsm_folder

from harness.evaluation.config import EvaluationConfig, TaskConfig
from harness.evaluation.runner import resolve_tasks, run_models

RIGHT = {"base": lambda doc: doc["index"] == 0, "trained": lambda doc: doc["index"] < 3}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """An evaluation of base and trained (stand-in LMs) on two MGSM languages, as the stage writes it."""
    root = tmp_path_factory.mktemp("run")
    folder = write_mgsm_folder(root / "data", languages=("en", "de"), n=4)
    evaluation = EvaluationConfig(tasks=[TaskConfig(name="mgsm", path=str(folder))], max_new_tokens=16)
    sources = {"base": "meta-math/MetaMath-7B-V1.0", "trained": "meta-math/MetaMath-7B-V1.0 + trained (run/train)"}
    scores = run_models(
        evaluation,
        resolve_tasks(evaluation, ["en", "de"]),
        root / "eval",
        lambda model: (GoldLM(RIGHT[model]), sources[model]),
        seed=3,
        settings={"device": "cpu", "dtype": "float32"},
    )
    return root, scores


def recipe_with(report_to):
    from harness.recipe import Recipe

    return Recipe.model_validate(
        {
            "name": "tracked",
            "languages": ["en", "de"],
            "model": {"source": "meta-math/MetaMath-7B-V1.0"},
            "selection": {"layers": {"policy": "first_k", "k": 1}},
            "training": {"report_to": report_to},
            "evaluation": {"tasks": [{"name": "mgsm"}]},
        }
    )


def test_lm_eval_reads_the_results_file_with_the_models_name(evaluated):
    from lm_eval.loggers import WandbLogger
    from lm_eval.result_schema import EvalResults, _EvalConfig
    from lm_eval.utils import make_table

    root, _ = evaluated
    file = next((root / "eval" / "lm_eval" / "trained").glob("results_*.json"))
    results = json.loads(file.read_text())
    source = "meta-math/MetaMath-7B-V1.0 + trained (run/train)"
    # lm-eval's schema: its keys, the config's keys; the model named by its source
    assert {"results", "configs", "versions", "config", "git_hash", "date", "pretty_env_info"} <= set(results)
    assert set(results) - {"model_name", "model_name_sanitized", "model_source"} <= set(EvalResults.__annotations__) | {
        "task_hashes",
        "system_instruction",
        "system_instruction_sha",
        "fewshot_as_multiturn",
        "chat_template",
        "chat_template_sha",
        "start_time",
        "end_time",
        "total_evaluation_time_seconds",
    }
    assert set(results["config"]) <= set(_EvalConfig.__annotations__) | {"backend"}
    assert results["config"]["model"] == source and results["model_name"] == source
    assert results["config"]["model_args"] == {"pretrained": source, "dtype": "float32"}
    assert results["git_hash"] and results["lm_eval_version"] and "PyTorch version" in results["pretty_env_info"]
    assert results["results"]["slam_mgsm_en"]["acc,none"] == 0.75
    # lm-eval's own readers: its table, and its W&B logger's parsing of the results
    assert "slam_mgsm_en" in make_table(results)
    logger = WandbLogger.__new__(WandbLogger)  # its parsing alone (the W&B run: the test below)
    logger.results = results
    logger.task_names = list(results["results"])
    logger.group_names = list(results.get("groups", {}))
    assert logger._get_config()["cli_configs"]["model"] == source
    _, table = logger._sanitize_results_dict()
    assert table["slam_mgsm_en/acc"] == 0.75


def test_tensorboard_gets_the_scores_and_samples(evaluated, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from harness.evaluation.tracking import log_evaluation

    root, scores = evaluated
    out = tmp_path / "eval"
    import shutil

    shutil.copytree(root / "eval", out)
    written = log_evaluation(recipe_with(["tensorboard"]), tmp_path, out, scores, train_steps=40)
    assert written == ["TensorBoard (eval/tensorboard/)"]
    trained = EventAccumulator(str(out / "tensorboard" / "trained")).Reload()
    assert {"eval/mgsm/en", "eval/mgsm/de", "eval/mgsm/avg"} <= set(trained.Tags()["scalars"])
    (point,) = trained.Scalars("eval/mgsm/en")
    assert (point.step, point.value) == (40, 75.0)
    base = EventAccumulator(str(out / "tensorboard" / "base")).Reload()
    assert [(p.step, p.value) for p in base.Scalars("eval/mgsm/en")] == [(0, 25.0)]
    assert "samples/mgsm/text_summary" in trained.Tags()["tensors"]


def test_wandb_offline_run_holds_results_and_samples(evaluated, tmp_path, monkeypatch):
    from harness.evaluation.tracking import log_evaluation
    from harness.tracker_runs import tracker_run_id

    root, scores = evaluated
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_INIT_TIMEOUT", "300")  # a busy machine starts the wandb service slowly
    written = log_evaluation(recipe_with(["wandb"]), tmp_path, root / "eval", scores, train_steps=40)
    run_id = tracker_run_id(tmp_path)
    assert len(written) == 2
    trained = list((tmp_path / "wandb").glob(f"offline-run-*-{run_id}/run-{run_id}.wandb"))
    base = list((tmp_path / "wandb").glob(f"offline-run-*-{run_id}-base/run-{run_id}-base.wandb"))
    assert len(trained) == 1 and len(base) == 1
    data = trained[0].read_bytes()
    # lm-eval's WandbLogger: the results table, the per-task metrics, the per-question samples
    for text in (b"slam_mgsm_en/acc", b"evaluation/eval_results", b"slam_mgsm_en_eval_results"):
        assert text in data, text


def test_a_tracker_named_but_not_installed_fails_first(monkeypatch):
    from harness.errors import HarnessError
    from harness.evaluation import tracking

    monkeypatch.setitem(tracking.PACKAGES, "wandb", "wandb_not_installed_here")
    with pytest.raises(
        HarnessError, match=r"training.report_to: wandb is not installed; `pip install 'harness\[wandb\]'"
    ):
        tracking.check_installed(recipe_with(["wandb"]))


def test_hub_push_is_opt_in_through_lm_evals_tracker(monkeypatch):
    from lm_eval.loggers import EvaluationTracker

    from harness.evaluation.lm_eval_files import hub_arguments

    assert hub_arguments(EvaluationConfig(tasks=[TaskConfig(name="mgsm")])) == {}
    evaluation = EvaluationConfig(tasks=[TaskConfig(name="mgsm")], hub={"org": "my-lab", "results_repo": "slam-evals"})
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    arguments = hub_arguments(evaluation)
    tracker = EvaluationTracker(output_path="unused", **arguments)
    assert tracker.push_results_to_hub and tracker.push_samples_to_hub
    assert tracker.results_repo_private == "my-lab/slam-evals-private"
    assert tracker.details_repo_private == "my-lab/lm-eval-results-private"
