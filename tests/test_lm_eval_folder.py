"""A plain `lm_eval --output_path DIR --log_samples` folder of the harness's tasks, as lm-eval's own
EvaluationTracker writes it, read by `harness score` and `harness leaderboard`."""

from __future__ import annotations

import json

import pytest
from evaluation_fixtures import GoldLM


@pytest.fixture(scope="module")
def lm_eval_folder(tmp_path_factory):
    """What `lm_eval --model hf --model_args pretrained=org/model --include_path "$(harness ls tasks
    --path)" --tasks slam_demo_en slam_demo_de --limit 5 --output_path DIR --log_samples` writes."""
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    from harness.evaluation.tasks import TASKS_DIR

    folder = tmp_path_factory.mktemp("lm_eval_out")
    results = simple_evaluate(
        model=GoldLM(lambda doc: doc["index"] < 3),
        tasks=["slam_demo_en", "slam_demo_de"],
        limit=5,
        log_samples=True,
        task_manager=TaskManager(include_path=str(TASKS_DIR), include_defaults=False),
    )
    samples = results.pop("samples")
    tracker = EvaluationTracker(output_path=str(folder))
    tracker.general_config_tracker.log_experiment_args(
        model_source="hf",
        model_args="pretrained=org/model",
        system_instruction=None,
        chat_template=None,
        fewshot_as_multiturn=False,
    )
    results["config"]["model_args"] = "pretrained=org/model"
    tracker.save_results_aggregated(results=results, samples=samples)
    for name in ("slam_demo_en", "slam_demo_de"):
        tracker.save_results_samples(task_name=name, samples=samples[name])
    return folder


def test_harness_score_takes_the_folder(lm_eval_folder, capsys):
    from harness.cli import main

    assert main(["score", str(lm_eval_folder), "--task", "demo", "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert {lang: row["correct"] for lang, row in scores["languages"].items()} == {"de": 3, "en": 3}
    assert scores["languages"]["en"]["n"] == 5
    assert main(["score", str(lm_eval_folder), "--task", "mgsm"]) == 2
    assert "no slam_mgsm_<lang> task in it (it has slam_demo_de, slam_demo_en)" in capsys.readouterr().err


def test_harness_leaderboard_takes_the_folder(lm_eval_folder, capsys):
    from harness.cli import main

    assert main(["leaderboard", str(lm_eval_folder), "--task", "demo", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)["tables"][0]
    row = next(r for group in table["groups"] for r in group["rows"] if r["label"].endswith("(lm-eval)"))
    assert [c["display"] for c in row["cells"] if c.get("value") == 60.0]


def test_a_different_task_version_is_refused(lm_eval_folder, tmp_path, capsys):
    import shutil

    from harness.cli import main

    copy = tmp_path / "copy"
    shutil.copytree(lm_eval_folder, copy)
    results_file = next(copy.rglob("results_*.json"))
    results = json.loads(results_file.read_text())
    results["versions"]["slam_demo_en"] = 9.0
    results_file.write_text(json.dumps(results))
    assert main(["score", str(copy), "--task", "demo"]) == 2
    assert "slam_demo_en was evaluated at task version 9.0; this harness's is 1.0" in capsys.readouterr().err
