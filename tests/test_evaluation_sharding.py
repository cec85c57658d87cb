"""Evaluation over several processes: the devices each worker gets, and the same answers and
scores from two CPU processes as from one."""

from __future__ import annotations

import json

import pytest
from evaluation_fixtures import write_mgsm_folder

from harness.errors import HarnessError


def evaluation(**settings):
    from harness.evaluation.config import EvaluationConfig

    return EvaluationConfig.model_validate({"tasks": [{"name": "mgsm"}], **settings})


def test_one_worker_per_gpu_or_per_vllm_engine():
    from harness.evaluation.sharding import device_groups, needs_workers

    assert device_groups(evaluation(), 8) == [str(i) for i in range(8)]
    assert device_groups(evaluation(), 4, visible="4,5,6,7") == ["4", "5", "6", "7"]
    assert device_groups(evaluation(data_parallel_size=2), 8) == ["0", "1"]
    vllm = evaluation(backend="vllm", tensor_parallel_size=2)
    assert device_groups(vllm, 8) == ["0,1", "2,3", "4,5", "6,7"]
    assert device_groups(evaluation(), 0) == [None] and device_groups(evaluation(data_parallel_size=2), 0) == [
        None,
        None,
    ]
    assert not needs_workers(evaluation(), ["0"]) and needs_workers(evaluation(backend="vllm"), ["0"])
    with pytest.raises(HarnessError, match="needs 6 GPUs; 4 visible"):
        device_groups(evaluation(backend="vllm", tensor_parallel_size=2, data_parallel_size=3), 4)
    with pytest.raises(ValueError, match="tensor_parallel_size is a vLLM setting"):
        evaluation(tensor_parallel_size=2)


@pytest.mark.integration
def test_two_processes_give_the_answers_and_scores_of_one(tmp_path, tiny_llama_dir):
    from harness.evaluation.stage import run_evaluate
    from harness.recipe import Recipe
    from harness.runs import Run

    folder = write_mgsm_folder(tmp_path / "mgsm", languages=("en", "de"), n=5)
    results = {}
    for processes in (1, 2):
        recipe = Recipe.model_validate(
            {
                "name": "sharded-eval",
                "languages": ["en", "de"],
                "model": {"source": str(tiny_llama_dir)},
                "evaluation": {
                    "tasks": [{"name": "mgsm", "path": str(folder)}],
                    "models": ["base"],
                    "max_new_tokens": 6,
                    "batch_size": 2,
                    "data_parallel_size": processes,
                },
            }
        )
        out = tmp_path / f"run{processes}" / "eval"
        scores = run_evaluate(recipe, Run.create(tmp_path / f"run{processes}"), out)
        samples = [json.loads(line) for line in (out / "mgsm" / "samples.jsonl").read_text().splitlines()]
        results[processes] = scores, samples
    (one, one_samples), (two, two_samples) = results[1], results[2]
    assert two["settings"]["processes"] == 2 and one["settings"]["processes"] == 1
    assert [(s["lang"], s["doc_id"], s["response"]) for s in two_samples] == [
        (s["lang"], s["doc_id"], s["response"]) for s in one_samples
    ]
    assert len(one_samples) == 10 and len({s["response"] for s in one_samples}) > 1
    assert two["models"]["base"]["tasks"] == one["models"]["base"]["tasks"]
