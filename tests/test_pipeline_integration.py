"""The four stages end to end on a tiny random Llama with the demo data, through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.integration


def harness(*args, cwd):
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def finished_run(tiny_llama_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("pipeline")
    recipe = work / "tiny.yaml"
    recipe.write_text(f"""
name: tiny_pipeline
languages: [de, fr, zh, en]
model: {{source: "{tiny_llama_dir}"}}
selection:
  layers: {{policy: first_k, k: 2}}  # a random model has no language-specific layers
  probe: {{dataset: demo, n: 6, batch_size: 4, max_tokens: 64, always: true, firing_share: 0.5}}
  after_training: true               # the probe again on the trained model (Figures 6/9)
training:
  data: {{source: demo, max_pairs_per_language: 8}}
  epochs: 1
  global_batch_size: 8
  per_device_batch_size: 4
  learning_rate: 1.0e-3
  max_length: 128
evaluation:
  tasks: [{{name: demo, limit: 3}}]
  batch_size: 4
  max_new_tokens: 8
report: {{plots: true}}
""")
    result = harness("run", str(recipe), "--run-dir", str(work / "run"), cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    return work, recipe, work / "run", result


def test_every_stage_writes_its_contract_files(finished_run):
    work, _, run, _ = finished_run
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["recipe"]["name"] == "tiny_pipeline"
    selection = json.loads((run / "selection" / "selection.json").read_text())
    assert selection["selected_layers"] == [0, 1]  # first_k, k: 2
    assert (run / "train" / "train.json").exists()
    scores = json.loads((run / "eval" / "scores.json").read_text())
    assert set(scores["models"]) == {"base", "trained"}
    languages = scores["models"]["trained"]["tasks"]["demo"]["languages"]
    assert set(languages) == {"de", "fr", "zh", "en"} and languages["de"]["n"] == 3
    samples = (run / "eval" / "demo" / "samples.jsonl").read_text().splitlines()
    assert len(samples) == 2 * 4 * 3
    assert (run / "report").is_dir() and (work / "reports" / "run").is_dir()


def test_the_probe_runs_on_the_trained_model_and_the_report_plots_before_and_after(finished_run):
    _, _, run, _ = finished_run
    selection = json.loads((run / "selection" / "selection.json").read_text())
    after = json.loads((run / "eval" / "probe_trained.json").read_text())
    assert after["languages"] == selection["languages"] and after["selected_layers"] == [0, 1]
    assert [r["layer"] for r in after["layers"]] == [r["layer"] for r in selection["layers"]]
    first = after["layers"][0]
    assert first["overlap_before"] == selection["layers"][0]["overlap_with_en"]
    assert set(first["overlap_after"]) == {"de", "fr", "zh"}
    # up_proj/down_proj of layers 0-1 trained: layer 0's gates see the same input (unchanged), the
    # layers above see what the trained layers now write, so their activations and overlaps move
    assert after["layers"][0]["overlap_after"] == after["layers"][0]["overlap_before"]
    assert any(r["overlap_after"] != r["overlap_before"] for r in after["layers"][1:]), after["layers"]
    assert (run / "report" / "overlap_before_after.png").stat().st_size > 10_000
    report = (run / "report" / "report.md").read_text()
    assert "Overlap with English before and after training" in report and "overlap_before_after.png" in report


def test_second_run_skips_every_stage(finished_run):
    work, recipe, run, _ = finished_run
    result = harness("run", str(recipe), "--run-dir", str(run), cwd=work)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.count("up to date, skipped") == 4


def test_score_and_rescore_reproduce_scores_json(finished_run, tmp_path):
    import shutil

    work, recipe, run, _ = finished_run
    scores = json.loads((run / "eval" / "scores.json").read_text())
    result = harness(
        "score",
        str(run / "eval" / "demo" / "samples.jsonl"),
        "--task",
        "demo",
        "--model",
        "trained",
        "--json",
        cwd=work,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    scored = json.loads(result.stdout)
    for key in ("languages", "average", "pcr", "pcr_average"):
        assert scored[key] == scores["models"]["trained"]["tasks"]["demo"][key]

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    result = harness(
        "evaluate", str(recipe), "evaluation.extraction=strict", "--run-dir", str(copy), "--rescore", cwd=work
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rescored = json.loads((copy / "eval" / "scores.json").read_text())
    assert rescored["extraction"] == "strict" and rescored["rescored"]["from_extraction"] == "paper"
    for model in ("base", "trained"):
        before = scores["models"][model]["tasks"]["demo"]["languages"]
        after = rescored["models"][model]["tasks"]["demo"]["languages"]
        assert {lang: row["accuracy_strict"] for lang, row in before.items()} == {
            lang: row["accuracy"] for lang, row in after.items()
        }
    kept = list((copy / "history").glob("eval-*"))  # the previous result, kept whole
    assert len(kept) == 1 and json.loads((kept[0] / "scores.json").read_text())["extraction"] == "paper"
    assert len(list((copy / "eval" / "lm_eval" / "trained").glob("results_*.json"))) == 1
    # the stage now answers the strict recipe: a run with it skips evaluate
    result = harness("run", str(recipe), "evaluation.extraction=strict", "--run-dir", str(copy), cwd=work)
    assert result.returncode == 0 and "evaluate: up to date, skipped" in result.stderr
    # a recipe asking for other questions is refused: the stored answers do not answer it
    result = harness(
        "evaluate", str(recipe), "evaluation.tasks.0.limit=2", "--run-dir", str(copy), "--rescore", cwd=work
    )
    assert result.returncode == 2 and "evaluation.tasks.0.limit was 3, the recipe has 2" in result.stderr


def test_export_loads_in_transformers_and_plain_lm_eval(finished_run, tmp_path):
    from huggingface_hub import ModelCard
    from transformers import AutoModelForCausalLM

    work, _, run, _ = finished_run
    out = tmp_path / "export"
    result = harness("export", str(run), "--out", str(out), cwd=work)
    assert result.returncode == 0, result.stderr[-2000:]
    model = AutoModelForCausalLM.from_pretrained(out)
    assert str(model.dtype) == "torch.float32"

    card = ModelCard.load(out / "README.md")
    scores = json.loads((run / "eval" / "scores.json").read_text())["models"]["trained"]["tasks"]["demo"]
    results = {r.dataset_name: r.metric_value for r in card.data.eval_results}
    assert results["Demo math problems (this project's own data) (de)"] == scores["languages"]["de"]["accuracy"]
    selection = json.loads((run / "selection" / "selection.json").read_text())
    assert (
        f"**Selected layers**: {selection['selected_layers']}" in card.text and "**Sub-layers**: up_down" in card.text
    )
    assert "name: tiny_pipeline" in (out / "harness_recipe.yaml").read_text()

    # what the run measured: first and last loss, rounded (train_loss is the mean)
    train = json.loads((run / "train" / "train.json").read_text())
    first, last = train["loss_curve"][0], train["loss_curve"][-1]
    assert f"training loss {first['loss']:.3f} (step {first['step']}) -> {last['loss']:.3f}" in card.text
    assert f"mean over training {train['train_loss']:.3f}" in card.text
    # usual permissions (save_pretrained writes model.safetensors 0600 through a temporary file)
    assert {oct(path.stat().st_mode & 0o777) for path in out.iterdir()} == {"0o644"}

    # the card's lm-eval command, run by lm-eval's own CLI, answers exactly as the run's evaluation did
    import shlex

    from lm_eval._cli import HarnessCLI

    from harness.export import TASKS_PATH_SHELL

    command = next(line for line in card.text.splitlines() if line.startswith("lm_eval run "))
    command = command.replace(TASKS_PATH_SHELL, shlex.quote(str(REPO / "harness" / "tasks"))).replace("PATH", str(out))
    argv = [*shlex.split(command)[1:], "--output_path", str(tmp_path / "lm_eval_out"), "--log_samples"]
    assert "--limit" in argv and argv[argv.index("--limit") + 1] == "3"
    cli = HarnessCLI()
    cli.execute(cli._parser.parse_args(argv))
    theirs = {}
    for file in (tmp_path / "lm_eval_out").rglob("samples_slam_demo_*.jsonl"):
        for sample in map(json.loads, file.read_text().splitlines()):
            theirs[(sample["doc"]["lang"], sample["doc_id"])] = sample["filtered_resps"][0]
    ours = {
        (r["lang"], r["doc_id"]): r["response"]
        for r in map(json.loads, (run / "eval" / "demo" / "samples.jsonl").read_text().splitlines())
        if r["model"] == "trained"
    }
    assert theirs == ours and len(ours) == 12

    # the card's harness command validates as the run's recipe on the export
    from harness.recipe import load_recipe

    harness_command = next(line for line in card.text.splitlines() if line.startswith("harness evaluate "))
    _, _, recipe_file, *overrides, _, _ = shlex.split(harness_command.replace("PATH", str(out)))
    evaluated = load_recipe(recipe_file, overrides)
    assert evaluated.evaluation.models == ["base"] and evaluated.model.source == str(out)

    again = harness("export", str(run), "--out", str(out), cwd=work)
    assert again.returncode == 2 and "exists and is not empty" in again.stderr


def test_report_shows_the_loss_curve(finished_run):
    _work, _, run, _ = finished_run
    assert (run / "report" / "loss_curve.png").is_file()
    assert "Training loss per optimizer step" in (run / "report" / "report.md").read_text()
    # lm-eval's own files, read by lm-eval's table script
    from lm_eval.utils import make_table

    results = json.loads(next((run / "eval" / "lm_eval" / "trained").glob("results_*.json")).read_text())
    assert "slam_demo_de" in make_table(results)


def test_leaderboard_reads_a_finished_run(finished_run):
    work, _, run, _ = finished_run
    result = harness("leaderboard", str(run), "--reference", f"{run}:base", "--json", cwd=work)
    assert result.returncode == 0, result.stderr[-2000:]
    table = json.loads(result.stdout)["tables"][0]
    trained = next(row for group in table["groups"] for row in group["rows"] if row["label"] == "run (trained)")
    share = json.loads((run / "train" / "train.json").read_text())["plan"]["share"]
    assert trained["cells"][2]["display"] == f"{100 * share:.1f}%"
    assert trained["cells"][-1]["description"].startswith("McNemar exact p")
