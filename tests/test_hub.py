"""The hub: asked once, fast; unreachable means the local cache only; what a recipe needs, checked first."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from huggingface_hub import constants
from test_cli import harness

from harness import hub
from harness.errors import HarnessError
from harness.models import ModelConfig, load_config, load_tokenizer
from harness.preflight import check_hub, hub_needs, machine_warnings
from harness.recipe import load_recipe


@pytest.fixture
def online_env(monkeypatch):
    """No offline variable set, and everything the probe switches restored afterwards."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.setenv(name, "0")
        monkeypatch.delenv(name)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub, "_probe_failed", False)
    hub.hub_reachable.cache_clear()
    yield monkeypatch
    hub.hub_reachable.cache_clear()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_offline_requested_means_no_probe(monkeypatch):
    hub.hub_reachable.cache_clear()
    monkeypatch.setattr(constants, "ENDPOINT", "http://probe.must.not.run.invalid")
    assert hub.hub_reachable() is False
    assert hub.why_unreachable() == "HF_HUB_OFFLINE=1 is set"
    hub.hub_reachable.cache_clear()


def test_unreachable_hub_is_detected_once_fast_and_switches_to_the_cache(online_env):
    online_env.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{_closed_port()}")
    started = time.time()
    assert hub.hub_reachable() is False
    assert time.time() - started < 10  # huggingface_hub's own retries take 23 s (1+2+4+8+8)
    assert constants.HF_HUB_OFFLINE is True  # the libraries now read the cache only, no retries
    assert hub.why_unreachable().startswith("the hub (http://127.0.0.1:")
    with pytest.raises(
        HarnessError,
        match=r"cannot be reached and the model is not in the local cache; point it "
        r"at a local model folder, or download it .*`hf download org/absent`",
    ):
        load_config(ModelConfig(source="org/absent"))


def test_reachable_hub_answers_any_status(online_env, capsys):
    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.send_response(404)
            self.end_headers()

        do_GET = do_HEAD

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_port}"
        online_env.setattr(constants, "ENDPOINT", endpoint)
        online_env.setattr(
            constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}"
        )
        assert hub.hub_reachable() is True
        assert constants.HF_HUB_OFFLINE is False
        # `plan` on a hub model says that it fetches the config (and only that) before it does
        with pytest.raises(HarnessError, match="could not load it"):  # this hub has no such model
            load_config(ModelConfig(source="org/absent"))
        assert (
            "model.source 'org/absent': fetching its config.json from the hub (no weights)" in capsys.readouterr().err
        )
    finally:
        server.shutdown()


def test_a_cached_hub_model_loads_offline(tiny_llama_dir, tmp_path, monkeypatch):
    """The hub cache's own layout (refs/main -> snapshots/<commit>/): a hub id loads without a network."""
    commit = "0" * 40
    repo = tmp_path / "hub" / "models--org--tiny"
    shutil.copytree(tiny_llama_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert hub.model_cached("org/tiny") and not hub.model_cached("org/other")
    assert load_config(ModelConfig(source="org/tiny")).num_hidden_layers == 4
    assert load_tokenizer(ModelConfig(source="org/tiny")).pad_token is not None


def test_dataset_cache_follows_the_datasets_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path))
    assert not hub.dataset_cached("Mathoctopus/MSVAMP")
    (tmp_path / "Mathoctopus___msvamp" / "bn" / "0.0.0" / "abc").mkdir(parents=True)
    assert hub.dataset_cached("Mathoctopus/MSVAMP")
    from datasets.naming import camelcase_to_snakecase

    for name in ("MSVAMP", "GSM8KInstruct_Parallel", "mgsm", "xcsr", "MyDataSet2"):
        assert hub._snake_case(name) == camelcase_to_snakecase(name)


def test_an_uncached_hub_benchmark_fails_at_once_with_the_local_alternative():
    from harness.benchmarks import load_benchmark

    with pytest.raises(
        HarnessError,
        match=r"^mgsm: HF_HUB_OFFLINE=1 is set and juletxara/mgsm is not in the local "
        r"datasets cache; point its `path` .* \(mgsm_<lang>.tsv\)$",
    ):
        load_benchmark("mgsm", "en")


def test_needs_of_each_stage():
    recipe = load_recipe("recipes/slam_13b.yaml")
    places = {need.place: need.repo_id for need in hub_needs(recipe, ["select", "train", "evaluate", "report"])}
    assert places == {
        "model.source": "meta-math/MetaMath-13B-V1.0",
        "evaluation.tasks.0": "juletxara/mgsm",
        # the probe (a check beside the pinned layers) reads the training questions: one entry per repo
        "selection.probe, training.data.source": "Mathoctopus/GSM8KInstruct_Parallel",
        "evaluation.tasks.1": "Mathoctopus/MSVAMP",
    }
    assert hub_needs(recipe, ["report"]) == []
    local = load_recipe(
        "recipes/slam_13b.yaml", ["evaluation.tasks.0.path=/data/mgsm", "evaluation.tasks.1.path=/data/msvamp"]
    )
    assert [need.repo_id for need in hub_needs(local, ["evaluate"])] == ["meta-math/MetaMath-13B-V1.0"]
    assert hub_needs(load_recipe("recipes/quickstart.yaml"), ["select", "train", "evaluate"]) == []


def test_check_hub_names_everything_missing():
    recipe = load_recipe("recipes/slam_13b.yaml")
    with pytest.raises(HarnessError) as error:
        check_hub(recipe, ["select", "train", "evaluate", "report"])
    message = str(error.value)
    for place in (
        "meta-math/MetaMath-13B-V1.0 (model.source)",
        "juletxara/mgsm (evaluation.tasks.0)",
        "Mathoctopus/GSM8KInstruct_Parallel (selection.probe, training.data.source)",
    ):
        assert place in message
    check_hub(load_recipe("recipes/quickstart.yaml"), ["select", "train", "evaluate"])  # all local: passes


def test_machine_warnings_name_gpus_hub_and_files():
    recipe = load_recipe("recipes/slam_13b.yaml", ["evaluation.tasks.0.path=/no/such/mgsm"])
    warnings = machine_warnings(recipe, ["select", "train", "evaluate"])
    text = "\n".join(warnings)
    assert (
        "training launches 8 processes, one per GPU (training.num_gpus, launcher deepspeed); this machine has" in text
    )
    assert "HF_HUB_OFFLINE=1 is set and the local cache lacks: meta-math/MetaMath-13B-V1.0 (model.source)" in text
    assert "evaluation.tasks.0.path '/no/such/mgsm': not found" in text
    assert machine_warnings(load_recipe("recipes/quickstart.yaml"), ["select", "train", "evaluate"]) == []


def test_offline_run_fails_at_once_and_leaves_no_run_folder(tmp_path):
    result = harness("run", "recipes/slam_13b.yaml", "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "the local cache lacks what this run needs (meta-math/MetaMath-13B-V1.0 (model.source)" in result.stderr
    assert not (tmp_path / "run").exists()

    result = harness("run", "recipes/slam_13b.yaml", "--dry-run", "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 0
    assert "warning: training launches 8 processes" in result.stderr
    assert not (tmp_path / "run").exists()
