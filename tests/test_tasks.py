"""The lm-eval task folder: generated files, names, prompts, and a dummy LM through lm-eval."""

from __future__ import annotations

from pathlib import Path

import pytest
from evaluation_fixtures import GoldLM, write_mgsm_folder, write_xcsqa_folder

from harness.benchmarks import BENCHMARKS, get_benchmark
from harness.errors import HarnessError
from harness.evaluation.tasks import TASKS_DIR, task_config, task_name, write_task_files

MATH_PROMPT_START = (
    "Below is an instruction that describes a task. Write a response that appropriately completes "
    "the request.\n\n### Instruction:\n"
)


def evaluate(lm, tasks, task_manager=None, **kwargs):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    task_manager = task_manager or TaskManager(include_path=str(TASKS_DIR), include_defaults=False)
    return simple_evaluate(
        model=lm, tasks=tasks, task_manager=task_manager, log_samples=True, bootstrap_iters=0, **kwargs
    )


def test_task_files_are_up_to_date(tmp_path):
    written = write_task_files(tmp_path)
    for file in written:
        shipped = TASKS_DIR / file.relative_to(tmp_path)
        assert shipped.read_text(encoding="utf-8") == file.read_text(encoding="utf-8"), (
            f"{shipped} is stale: run `python -m harness.evaluation.tasks`"
        )
    shipped_yaml = {p.relative_to(TASKS_DIR) for p in TASKS_DIR.rglob("*.yaml")}
    assert shipped_yaml == {p.relative_to(tmp_path) for p in written}


def test_names_do_not_collide_with_lm_eval_builtins():
    import lm_eval.tasks

    builtin_root = Path(lm_eval.tasks.__file__).parent
    ours = {task_name(b, lang) for b in BENCHMARKS for lang in get_benchmark(b).languages} | {
        f"slam_{b}" for b in BENCHMARKS
    }
    builtin = set()
    for file in builtin_root.rglob("*.yaml"):
        for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(("task:", "group:", "tag:")):
                builtin.add(line.split(":", 1)[1].strip().strip("'\""))
    assert not ours & builtin


def test_index_has_every_task_and_group():
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False)
    for benchmark in BENCHMARKS:
        spec = get_benchmark(benchmark)
        assert f"slam_{benchmark}" in manager.all_groups
        assert {task_name(benchmark, lang) for lang in spec.languages} <= set(manager.all_subtasks)
    assert "slam_mgsm_te" in manager.all_subtasks


def test_demo_group_end_to_end_through_lm_eval():
    lm = GoldLM(right=lambda doc: doc["index"] % 2 == 0)
    results = evaluate(lm, ["slam_demo"])
    languages = get_benchmark("demo").languages
    for lang in languages:
        row = results["results"][task_name("demo", lang)]
        n = row["sample_len"]
        assert row["acc,none"] == pytest.approx(((n + 1) // 2) / n)
        assert row["acc_strict,none"] == row["acc,none"]
    group = results["results"]["slam_demo"]
    assert group["acc,none"] == pytest.approx(
        sum(results["results"][task_name("demo", lang)]["acc,none"] for lang in languages) / len(languages)
    )
    assert results["versions"]["slam_demo_en"] == 1.0

    context, kwargs, doc = lm.requests[0]
    assert context == MATH_PROMPT_START + doc["question"] + "\n\n### Response: Let's think step by step."
    assert kwargs["max_gen_toks"] == 512 and kwargs["do_sample"] is False
    assert "### Instruction" in kwargs["until"] and "\n\n" not in kwargs["until"]


def test_mgsm_group_averages_the_paper_languages_only():
    from lm_eval.tasks import TaskManager

    group = TaskManager(include_path=str(TASKS_DIR), include_defaults=False).task_index["slam_mgsm"].cfg
    assert group["task"] == [task_name("mgsm", lang) for lang in get_benchmark("mgsm").average_languages]
    assert {"metric": "acc", "aggregation": "mean", "weight_by_size": False} in group["aggregate_metric_list"]


def test_local_files_through_a_python_config(tmp_path):
    folder = write_mgsm_folder(tmp_path / "mgsm", languages=("en", "de"), n=6)
    configs = [task_config("mgsm", lang, path=folder, max_new_tokens=32) for lang in ("en", "de")]
    lm = GoldLM(right=lambda doc: doc["index"] != 1)
    results = evaluate(lm, configs, limit=4)
    assert results["results"]["slam_mgsm_de"]["sample_len"] == 4
    assert results["results"]["slam_mgsm_de"]["acc,none"] == 0.75
    questions = {doc["question"] for _, _, doc in lm.requests}
    assert "[de] Question 3: what is 10 + 3?" in questions
    assert {kwargs["max_gen_toks"] for _, kwargs, _ in lm.requests} == {32}


def test_local_files_through_lm_eval_metadata(tmp_path):
    """What `lm_eval --include_path tasks --metadata '{"mgsm_path": DIR}'` does."""
    from lm_eval.tasks import TaskManager

    folder = write_mgsm_folder(tmp_path / "mgsm", languages=("en",), n=3)
    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata={"mgsm_path": str(folder)})
    results = evaluate(GoldLM(), ["slam_mgsm_en"], task_manager=manager)
    assert results["results"]["slam_mgsm_en"]["sample_len"] == 3
    assert results["results"]["slam_mgsm_en"]["acc,none"] == 1.0


def test_xcsqa_prompt_lays_out_the_choices(tmp_path):
    folder = write_xcsqa_folder(tmp_path / "xcsqa", languages=("fr",), n=4)
    lm = GoldLM(right=lambda doc: doc["id"] in ("q0", "q1", "q2"))
    results = evaluate(lm, [task_config("xcsqa", "fr", path=folder)])
    assert results["results"]["slam_xcsqa_fr"]["acc,none"] == 0.75
    context, _, doc = lm.requests[0]
    assert context == (
        MATH_PROMPT_START
        + doc["question"]
        + "\nAnswer Choices: (A) place A (B) place B (C) place C (D) place D (E) place E\n\n### Response:"
    )


def test_bad_local_file_is_a_harness_error_through_lm_eval(tmp_path):
    folder = tmp_path / "mgsm"
    folder.mkdir()
    (folder / "mgsm_en.tsv").write_text("only a question\n", encoding="utf-8")
    with pytest.raises(HarnessError, match=r"mgsm_en\.tsv: line 1: expected 2 tab-separated fields"):
        evaluate(GoldLM(), [task_config("mgsm", "en", path=folder)])


def test_task_config_unknown_language():
    with pytest.raises(HarnessError, match="has no language 'xx'"):
        task_config("mgsm", "xx")
