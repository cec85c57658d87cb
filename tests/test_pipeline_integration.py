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
  probe: {{dataset: demo, n: 6, batch_size: 4, max_tokens: 64}}
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


def test_second_run_skips_every_stage(finished_run):
    work, recipe, run, _ = finished_run
    result = harness("run", str(recipe), "--run-dir", str(run), cwd=work)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.count("up to date, skipped") == 4
