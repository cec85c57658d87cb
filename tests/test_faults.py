"""Fault injection: whatever goes wrong, no finished stage and none of the user's files is lost.

Every case of issue 9 (case 3, half-written checkpoints, is tested with the checkpoint code) on
one tiny finished run, copied per test: the exit code, the first line of the message, and the
finished stages' files byte for byte afterwards.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.cli import main
from harness.runs import die_with_parent

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
STAGES = ("selection", "train", "eval", "report")


def finished_files(run: Path) -> dict[str, str]:
    """sha256 of every file of the finished stage folders."""
    return {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for stage in STAGES
        for p in sorted((run / stage).rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def finished(tiny_llama_dir, tmp_path_factory):
    """One tiny run, finished through the CLI once for the whole module."""
    work = tmp_path_factory.mktemp("faults")
    recipe = work / "tiny.yaml"
    recipe.write_text(
        textwrap.dedent(f"""
        name: tiny_faults
        languages: [de, en]
        model: {{source: "{tiny_llama_dir}"}}
        selection:
          layers: {{policy: first_k, k: 1}}
          probe: {{dataset: demo, n: 4, batch_size: 4, max_tokens: 32}}
        training:
          data: {{source: demo, max_pairs_per_language: 4}}
          epochs: 1
          global_batch_size: 4
          per_device_batch_size: 4
          max_length: 128
        evaluation:
          tasks: [{{name: demo, limit: 2}}]
          batch_size: 4
          max_new_tokens: 4
        report: {{plots: false, formats: [markdown]}}
    """)
    )
    result = subprocess.run(
        [sys.executable, "-m", "harness", "run", str(recipe), "--run-dir", str(work / "run")],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return recipe, work / "run"


@pytest.fixture
def run(finished, tmp_path, monkeypatch):
    """(recipe, a copy of the finished run, its finished files before the test)."""
    recipe, original = finished
    copy = tmp_path / "run"
    shutil.copytree(original, copy, symlinks=True)
    monkeypatch.chdir(tmp_path)
    return recipe, copy, finished_files(copy)


def harness(capsys, *args) -> tuple[int, str]:
    """Exit code and stderr of one in-process command."""
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def first_error(err: str) -> str:
    return next(line for line in err.splitlines() if line.startswith(("error", "harness")))


# -- 1. a folder that is not a run --------------------------------------------------------------


def test_1_a_folder_that_is_not_a_run_is_refused(finished, tmp_path, capsys):
    recipe, _ = finished
    user = tmp_path / "mine"
    for name in ("train", "eval", "report", "selection"):
        (user / name).mkdir(parents=True)
        (user / name / "notes.txt").write_text("my work")
    (user / "manifest.json").write_text('{"mine": true}')
    before = {p: p.read_bytes() for p in user.rglob("*") if p.is_file()}
    code, err = harness(capsys, "run", recipe, "--run-dir", user)
    assert code == 2 and "not a harness run" in first_error(err) and "Traceback" not in err
    assert {p: p.read_bytes() for p in user.rglob("*") if p.is_file()} == before


# -- 2. publish on success only; history restored ----------------------------------------------


def test_2_a_failed_attempt_keeps_the_result(run, capsys):
    recipe, root, before = run
    code, err = harness(
        capsys, "run", recipe, "training.epochs=2", "training.data.source=missing.jsonl", "--run-dir", root
    )
    assert code == 2 and "training.data.source" in first_error(err)
    assert finished_files(root) == before
    code, err = harness(capsys, "run", recipe, "--run-dir", root)
    assert code == 0 and err.count("up to date, skipped") == 4


def test_2_a_result_whose_inputs_come_back_is_restored(run, capsys):
    recipe, root, before = run
    code, err = harness(capsys, "run", recipe, "report.formats=[latex]", "--run-dir", root)
    assert code == 0 and (root / "report" / "report.tex").exists()
    code, err = harness(capsys, "run", recipe, "--run-dir", root)
    assert code == 0 and "report: restored from" in err and "not recomputed" in err
    assert finished_files(root) == before


# -- 4. one writer per run folder ----------------------------------------------------------------


def test_4_a_second_invocation_is_refused_while_the_first_holds_the_run(run, capsys):
    recipe, root, before = run
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from harness.runs import Run; import time; Run.create({str(root)!r}).lock(); "
            "print('locked', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, err = harness(capsys, "run", recipe, "--run-dir", root, "--force", "report")
    finally:
        holder.kill()
        holder.wait()
    assert code == 2 and f"in use by PID {holder.pid} on " in first_error(err) and " since " in err
    assert finished_files(root) == before


def test_7_a_worker_dies_with_its_parent(tmp_path):
    """The training launcher's preexec_fn: kill -9 of the harness ends the worker too."""
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent("""
        import subprocess, sys, time
        from harness.runs import die_with_parent
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], preexec_fn=die_with_parent)
        print(child.pid, flush=True)
        time.sleep(60)
    """)
    )
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.time() + 10
    while time.time() < deadline and _alive(child):
        time.sleep(0.1)
    assert not _alive(child)
    assert die_with_parent() is None  # harmless in this process too


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


# -- 5. a failed command changes neither the manifest nor a later verdict ----------------------


def test_5_failed_commands_leave_manifest_and_compare_settings(run, capsys):
    recipe, root, before = run
    manifest = (root / "manifest.json").read_bytes()
    code, err = harness(capsys, "run", recipe, "--run-dir", root, "--force", "selct")
    assert code == 2 and "unknown stage 'selct'" in first_error(err)
    code, err = harness(
        capsys,
        "run",
        recipe,
        "report.tolerance=0",
        "training.epochs=2",
        "training.data.source=missing.jsonl",
        "--run-dir",
        root,
    )
    assert code == 2
    assert (root / "manifest.json").read_bytes() == manifest
    code, _ = harness(capsys, "compare", root, f"{root}:base", "--json")
    assert code == 0 and json.loads(capsys.readouterr().out or "{}").get("tolerance") is None
    assert finished_files(root) == before


# -- 6. one line and exit 2 instead of a traceback ------------------------------------------------


def _non_utf8_recipe(recipe, root, tmp_path):
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(recipe.read_bytes().replace(b"name: tiny_faults", b"name: caf\xe9"))
    return ["run", bad, "--run-dir", root], "not UTF-8 text"


def _non_utf8_override(recipe, root, tmp_path):
    return ["run", recipe, "training.data.source=caf\udce9", "--run-dir", root], "not UTF-8 text"


def _infinite_epochs(recipe, root, tmp_path):
    return ["run", recipe, "training.epochs=.inf", "--run-dir", root], "finite number"


def _wrong_shape(relative: str, data: str, expected: str):
    def case(recipe, root, tmp_path):
        (root / relative).write_text(data)
        return ["run", recipe, "--run-dir", root], expected

    case.__name__ = f"wrong_shape_{relative}"
    return case


def _wrong_shape_scores(recipe, root, tmp_path):
    (root / "eval" / "scores.json").write_text('{"models": {"base": {"tasks": {"demo": {"languages": {"de": {}}}}}}}')
    return ["compare", root, f"{root}:base"], "scores.json: changed since stage 'evaluate' finished"


def _symlinked_stage(recipe, root, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    shutil.move(root / "eval", elsewhere)
    (root / "eval").symlink_to(elsewhere)
    return ["run", recipe, "--run-dir", root], "a symbolic link"


def _truncated_gguf(recipe, root, tmp_path):
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(tmp_path / "model.gguf", "llama")
    writer.add_tensor("token_embd.weight", np.zeros((64, 32), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    data = (tmp_path / "model.gguf").read_bytes()
    (tmp_path / "model.gguf").write_bytes(data[: len(data) // 2])
    return [
        "run",
        recipe,
        f"model.source={tmp_path / 'model.gguf'}",
        "--run-dir",
        tmp_path / "other",
    ], "not a complete GGUF file"


ONE_LINE_CASES = [
    _non_utf8_recipe,
    _non_utf8_override,
    _infinite_epochs,
    _wrong_shape("manifest.json", '{"recipe": []}', "manifest.json: recipe: "),
    _wrong_shape("train/DONE.json", '{"fingerprint": 1}', "DONE.json: fingerprint: "),
    _wrong_shape("selection/selection.json", '{"selected_layers": "all"}', "changed since it finished"),
    _wrong_shape_scores,
    _symlinked_stage,
    _truncated_gguf,
]


@pytest.mark.parametrize("case", ONE_LINE_CASES, ids=lambda case: case.__name__.strip("_"))
def test_6_one_line_and_exit_2(run, case, tmp_path, capsys):
    recipe, root, _before = run
    args, expected = case(recipe, root, tmp_path)
    touched = finished_files(root)  # what the case itself changed on purpose
    code, err = harness(capsys, *args)
    assert code == 2 and expected in first_error(err), err
    assert "Traceback" not in err and sum(line.startswith("error") for line in err.splitlines()) == 1
    assert finished_files(root) == touched


def test_6_disk_full_is_one_line(run, capsys, monkeypatch, tmp_path):
    """On a small tmpfs where this test may mount one (root), else a write that raises ENOSPC."""
    recipe, root, before = run
    small = tmp_path / "small"
    small.mkdir()
    size_kb = sum(-(-p.stat().st_size // 4096) * 4 for p in root.rglob("*") if p.is_file()) + 48  # in 4 KiB pages
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(small)], capture_output=True
        ).returncode
        == 0
    )
    try:
        if mounted:
            shutil.copytree(root, small / "run", symlinks=True)
            root = small / "run"
            (small / "filler").write_bytes(b"\0" * (shutil.disk_usage(small).free - 4096))
        else:
            import harness.reporting.stage as report_stage

            def full(path, text):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

            monkeypatch.setattr(report_stage, "atomic_write_text", full)
        code, err = harness(capsys, "run", recipe, "--run-dir", root, "--force", "report")
        assert code == 2 and "No space left on device" in first_error(err), err
        assert "Traceback" not in err
        assert finished_files(root) == before
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(small)], check=False)
    print(f"disk full simulated with {'a tmpfs of ' + str(size_kb) + ' KiB' if mounted else 'a write raising ENOSPC'}")


# -- 8. tolerances are finite ---------------------------------------------------------------------


def test_8_nan_or_inf_tolerance_is_refused(run, capsys):
    recipe, root, before = run
    code, err = harness(capsys, "compare", root, f"{root}:base", "--tolerance", "nan")
    assert code == 2 and "not a finite number" in err
    code, err = harness(capsys, "run", recipe, "report.tolerance=.inf", "--run-dir", root)
    assert code == 2 and "report.tolerance: Input should be a finite number" in first_error(err)
    assert finished_files(root) == before


# -- 9. changed outputs are reported; --force gets past a corrupt DONE.json -------------------


@pytest.mark.parametrize("damage", ["truncate", "edit", "delete"])
def test_9_changed_outputs_are_reported_with_the_fix(run, capsys, damage):
    recipe, root, _before = run
    target = root / "train" / "train.json"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:10])
    elif damage == "edit":  # same size, other bytes
        data = bytearray(target.read_bytes())
        data[5] = ord("X") if data[5] != ord("X") else ord("Y")
        target.write_bytes(bytes(data))
    else:
        target.unlink()
    code, err = harness(capsys, "run", recipe, "--run-dir", root)
    line = first_error(err)
    assert code == 2 and "stage 'train' changed since it finished" in line and "--force train" in line


def test_9_force_gets_past_a_corrupt_done_json(run, capsys):
    recipe, root, before = run
    (root / "report" / "DONE.json").write_text("{not json")
    code, err = harness(capsys, "run", recipe, "--run-dir", root)
    assert code == 2 and "report/DONE.json: line 1: not valid JSON" in first_error(err)
    code, err = harness(capsys, "run", recipe, "--run-dir", root, "--force", "report")
    assert code == 0, err
    assert (root / "history" / "report-unreadable" / "DONE.json").read_text() == "{not json"
    assert {k: v for k, v in finished_files(root).items() if not k.startswith("report")} == {
        k: v for k, v in before.items() if not k.startswith("report")
    }


# -- issue 21: files the harness writes are never written through a planted symbolic link ------


@pytest.mark.parametrize("name", [".lock", "invocations.jsonl"])
def test_21_run_bookkeeping_is_not_written_through_a_planted_link(run, capsys, tmp_path, name):
    recipe, root, before = run
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's file\n")
    (root / name).unlink(missing_ok=True)
    (root / name).symlink_to(victim)
    code, err = harness(capsys, "run", recipe, "--run-dir", root)
    assert code == 2 and f"{name}: a symbolic link" in first_error(err), err
    assert victim.read_text() == "the user's file\n"
    assert finished_files(root) == before


# -- issue 21: a damaged tokenisation cache entry is named and rebuilt -------------------------


@pytest.mark.parametrize("damage", ["truncate", "empty"])
def test_21_a_damaged_token_cache_entry_is_named_and_rebuilt(run, capsys, damage):
    recipe, root, _before = run
    entry = Path(json.loads((root / "train" / "train.json").read_text())["data"]["tokenized"]["folder"])
    arrow = next(entry.glob("*.arrow"))
    arrow.write_bytes(arrow.read_bytes()[: arrow.stat().st_size // 2] if damage == "truncate" else b"")
    code, err = harness(capsys, "run", recipe, "--run-dir", root, "--force", "train")
    assert code == 0, err
    assert f"warning: the tokenisation cache entry {entry} is damaged ({arrow.name} is " in err and "rebuilding" in err
    report = json.loads((root / "train" / "train.json").read_text())
    assert report["data"]["tokenized"]["cache"] == "miss" and report["data"]["tokenized"]["folder"] == str(entry)
    code, err = harness(capsys, "run", recipe, "--run-dir", root, "--force", "train")
    assert code == 0 and "rebuilding it" not in err
    assert json.loads((root / "train" / "train.json").read_text())["data"]["tokenized"]["cache"] == "hit"


# -- issue 21: a kill between the two renames of a publish loses nothing ----------------------

KILL_AFTER_RETIRE = """
import os, signal, sys
import harness.runs as runs
retire = runs.Run._retire
def retire_then_die(self, stage):
    retire(self, stage)
    if stage == sys.argv[1]:
        os.kill(os.getpid(), signal.SIGKILL)  # between moving the old result away and renaming the new one in
runs.Run._retire = retire_then_die
from harness.cli import main
sys.exit(main(sys.argv[2:]))
"""


def killed_between_renames(stage: str, *args) -> None:
    result = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_RETIRE, stage, *map(str, args)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == -9, result.stderr[-2000:]


def test_21_a_kill_between_the_renames_of_a_publish_keeps_the_finished_result(run, capsys):
    recipe, root, before = run
    killed_between_renames("report", "run", recipe, "report.formats=[latex]", "--run-dir", root)
    assert not (root / "report").exists() and (root / "report.partial" / "DONE.json").is_file()
    finished_id = json.loads((root / "report.partial" / "DONE.json").read_text())["output_id"]
    code, err = harness(capsys, "run", recipe, "report.formats=[latex]", "--run-dir", root)
    assert code == 0 and "report: finished publishing the result an interrupted invocation left complete" in err
    assert "report: up to date, skipped" in err
    assert json.loads((root / "report" / "DONE.json").read_text())["output_id"] == finished_id
    assert (root / "report" / "report.tex").is_file() and not (root / "report.partial").exists()
    assert {k: v for k, v in finished_files(root).items() if not k.startswith("report")} == {
        k: v for k, v in before.items() if not k.startswith("report")
    }


def test_21_an_interrupted_rescore_is_finished_not_regenerated(run, capsys):
    recipe, root, _before = run
    killed_between_renames("evaluate", "evaluate", recipe, "--rescore", "--run-dir", root)
    assert not (root / "eval").exists()
    code, err = harness(capsys, "evaluate", recipe, "--rescore", "--run-dir", root)
    assert code == 0, err
    assert "evaluate: finished publishing" in err and "samples.jsonl: not found" not in err
    assert (root / "eval" / "scores.json").is_file()


def test_21_a_rescore_with_eval_in_history_reads_the_responses_there(run, capsys):
    recipe, root, _before = run
    (root / "history").mkdir(exist_ok=True)
    (root / "eval").rename(root / "history" / "eval-moved")
    code, err = harness(capsys, "evaluate", recipe, "--rescore", "--run-dir", root)
    assert code == 0, err
    assert f"re-scoring the responses kept in {root / 'history' / 'eval-moved'}" in err
    assert json.loads((root / "eval" / "scores.json").read_text())["models"].keys() == {"base", "trained"}


# -- issue 21: every reader checks what it reads ----------------------------------------------


def _edit_scores(root: Path, value) -> None:
    scores = json.loads((root / "eval" / "scores.json").read_text())
    for model in scores["models"].values():
        for task in model["tasks"].values():
            task["average"]["accuracy"] = value
            for language in task["languages"].values():
                language["accuracy"] = value
    (root / "eval" / "scores.json").write_text(json.dumps(scores))


def _reseal(root: Path, stage: str) -> None:
    """Update DONE.json to the edited files, as a careful hand editor would (seal included)."""
    from harness.artifacts import seal_of
    from harness.runs import output_files

    folder = root / stage
    done = json.loads((folder / "DONE.json").read_text())
    done["outputs"] = {k: v.model_dump() for k, v in output_files(folder).items()}
    done["seal"] = seal_of(done)
    (folder / "DONE.json").write_text(json.dumps(done))


@pytest.mark.parametrize("command", ["leaderboard", "compare", "export", "report"])
def test_21_readers_refuse_a_hand_edited_scores_json(run, capsys, tmp_path, command):
    recipe, root, _before = run
    _edit_scores(root, 1.0)
    args = {
        "leaderboard": ["leaderboard", root],
        "compare": ["compare", root, f"{root}:base", "--tolerance", "1"],
        "export": ["export", root, "--out", tmp_path / "exported"],
        "report": ["run", recipe, "--run-dir", root, "--force", "report"],
    }[command]
    code, err = harness(capsys, *args)
    line = first_error(err)
    assert code == 2 and "scores.json" in line and "changed since" in line and "--force evaluate" in line, err
    assert not (tmp_path / "exported").exists()


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_21_non_finite_accuracies_do_not_pass_compare(run, capsys, value):
    _recipe, root, _before = run
    _edit_scores(root, value)
    _reseal(root, "eval")
    code, err = harness(capsys, "compare", root, f"{root}:base", "--tolerance", "1")
    assert code == 2 and "finite number" in first_error(err), err
    code, err = harness(capsys, "leaderboard", root)
    assert code == 2 and "finite number" in first_error(err), err


def test_21_a_hand_edited_fingerprint_in_done_json_is_not_trusted(run, capsys):
    recipe, root, before = run
    marker = root / "train" / "DONE.json"
    done = json.loads(marker.read_text())
    done["fingerprint"] = "0" * 16
    marker.write_text(json.dumps(done))
    code, err = harness(capsys, "run", recipe, "training.learning_rate=0.5", "--run-dir", root)
    line = first_error(err)
    assert code == 2 and "train/DONE.json" in line and "not trusted" in line and "--force train" in line, err
    assert finished_files(root) == {**before, "train/DONE.json": hashlib.sha256(marker.read_bytes()).hexdigest()}


# -- issue 21: leaderboard --out writes through no planted link, replaces only when asked ------


def test_21_leaderboard_out_neither_follows_a_planted_link_nor_replaces_unasked(run, capsys, tmp_path):
    _recipe, root, before = run
    board = tmp_path / "board"
    code, err = harness(capsys, "leaderboard", root, "--out", board)
    assert code == 0, err
    png = next(board.glob("*.png"))
    first = {p.name: p.read_bytes() for p in board.iterdir()}
    code, err = harness(capsys, "leaderboard", root, "--out", board)
    assert code == 2 and "already holds leaderboard.md" in first_error(err) and "--replace" in first_error(err)
    assert {p.name: p.read_bytes() for p in board.iterdir()} == first

    victim = tmp_path / "victim.png"
    victim.write_bytes(b"the user's picture")
    png.unlink()
    png.symlink_to(victim)
    code, err = harness(capsys, "leaderboard", root, "--out", board)
    assert code == 2 and png.name in first_error(err)
    code, err = harness(capsys, "leaderboard", root, "--out", board, "--replace")
    assert code == 0, err
    assert victim.read_bytes() == b"the user's picture"
    assert not png.is_symlink() and png.read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in board.iterdir()) == sorted(first)  # no staging folder left
    assert finished_files(root) == before


# -- issue 21: fingerprints cover what changes results, and nothing else ----------------------


def test_21_fields_that_change_no_weight_retrain_nothing(run, capsys):
    recipe, root, before = run
    neutral = [
        "training.logging_steps=3",
        "training.keep_checkpoints=true",
        "training.report_to=[none]",
        "training.gpu_memory_gib=40",
    ]
    assert main([str(a) for a in ("run", recipe, *neutral, "--run-dir", root, "--dry-run")]) == 0
    assert "# train: up to date, would skip" in capsys.readouterr().out
    code, err = harness(capsys, "run", recipe, *neutral, "--run-dir", root)
    assert code == 0 and err.count("up to date, skipped") == 4, err
    assert finished_files(root) == before


def test_21_dry_run_says_what_runs_and_a_new_training_reuses_the_base_evaluation(run, capsys):
    recipe, root, _before = run
    code = main([str(a) for a in ("run", recipe, "training.learning_rate=1e-3", "--run-dir", root, "--dry-run")])
    out = capsys.readouterr().out
    assert code == 0
    assert "# select: up to date, would skip" in out and "# train: would run" in out
    assert "# evaluate: would run (after train)" in out and "# report: would run (after train, evaluate)" in out
    code, err = harness(capsys, "run", recipe, "training.learning_rate=1e-3", "--run-dir", root)
    assert code == 0, err
    assert f"evaluate: the base model's results reused from {root / 'eval'}" in err
    assert "evaluate base " not in err and "evaluate trained " in err
    old = [json.loads(line) for line in (root / "history").glob("eval-*/demo/samples.jsonl").__next__().open()]
    new = [json.loads(line) for line in (root / "eval" / "demo" / "samples.jsonl").open()]
    assert [r for r in new if r["model"] == "base"] == [r for r in old if r["model"] == "base"]


# -- issue 21: Markdown outputs show HTML as text; the model card's blocks hold ----------------

HOSTILE = "<img src=x onerror=alert(1)>"


def _html_in_markdown(text: str) -> list[str]:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(text)
    inline = [child for token in tokens for child in (token.children or [])]
    return [t.content for t in [*tokens, *inline] if t.type in ("html_block", "html_inline")]


def test_21_report_and_leaderboard_markdown_show_html_as_text(run, capsys, tmp_path):
    recipe, root, _before = run
    hostile = tmp_path / HOSTILE
    shutil.copytree(root, hostile, symlinks=True)
    code, err = harness(capsys, "run", recipe, "--run-dir", hostile, "--force", "report")
    assert code == 0, err
    report = (hostile / "report" / "report.md").read_text()
    assert HOSTILE not in report and _html_in_markdown(report) == []
    code, err = harness(capsys, "leaderboard", hostile, "--out", tmp_path / "board")
    assert code == 0, err
    board = (tmp_path / "board" / "leaderboard.md").read_text()
    assert "&lt;img src=x" in board and _html_in_markdown(board) == []


def test_21_the_model_card_cannot_be_closed_by_a_description():
    from huggingface_hub import ModelCard
    from markdown_it import MarkdownIt

    from harness.export import model_card
    from harness.recipe import load_recipe

    description = f"mine\n---\nlicense: evil\n{HOSTILE}\n```\n# injected\n````"
    recipe = load_recipe(REPO / "harness" / "recipes" / "quickstart.yaml", [f"description={description}"])
    card = str(model_card(recipe, recipe.resolved(), {}, None, "float32"))
    assert "license" not in ModelCard(card).data.to_dict()  # the front matter is the harness's alone
    tokens = MarkdownIt("commonmark").parse(card.split("\n---\n", 1)[1])
    fences = [t for t in tokens if t.type == "fence"]
    assert any("# injected" in t.content and HOSTILE in t.content for t in fences)
    assert not [t for t in tokens if t.type == "heading_open" and t.map and "injected" in t.content]
    assert _html_in_markdown(card.split("\n---\n", 1)[1]) == []


# -- issue 21: one line, exit 2, for what used to be a traceback ------------------------------


def _model_dir(recipe: Path) -> Path:
    import yaml

    return Path(yaml.safe_load(recipe.read_text())["model"]["source"])


def _deep_yaml(recipe, root, tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: deep\nmodel: " + "[" * 2000 + "]" * 2000 + "\n")
    return ["run", deep, "--run-dir", tmp_path / "other"], "nested too deeply for a recipe"


def _deep_json(recipe, root, tmp_path):
    (root / "manifest.json").write_text("[" * 2000 + "]" * 2000)
    return ["run", recipe, "--run-dir", root], "manifest.json: nested too deeply"


def _huge_recipe(recipe, root, tmp_path):
    huge = tmp_path / "huge.yaml"
    huge.write_text(recipe.read_text() + "\n" + "# padding\n" * 200_000)
    return ["run", huge, "--run-dir", root], "more than a recipe holds"


def _defaults_not_a_recipe(recipe, root, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    other = tmp_path / "other.yaml"
    other.write_text(f"defaults: {secret}\nname: other\n")
    return ["run", other, "--run-dir", tmp_path / "other"], "defaults: names a recipe file"


def _a_config_of_100000_layers(recipe, root, tmp_path):
    folder = tmp_path / "huge-model"
    folder.mkdir()
    config = json.loads((_model_dir(recipe) / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 100_000}))
    return ["plan", recipe, f"model.source={folder}"], "num_hidden_layers 100,000 is more than a model has"


def _corrupt_safetensors(recipe, root, tmp_path):
    folder = tmp_path / "corrupt-model"
    shutil.copytree(_model_dir(recipe), folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    return ["run", recipe, f"model.source={folder}", "--run-dir", tmp_path / "other"], "its weights cannot be read"


@pytest.mark.parametrize(
    "case",
    [_deep_yaml, _deep_json, _huge_recipe, _defaults_not_a_recipe, _a_config_of_100000_layers, _corrupt_safetensors],
    ids=lambda case: case.__name__.strip("_"),
)
def test_21_one_line_and_exit_2(run, case, tmp_path, capsys):
    recipe, root, _before = run
    args, expected = case(recipe, root, tmp_path)
    touched = finished_files(root)
    started = time.time()
    code, err = harness(capsys, *args)
    assert code == 2 and expected in first_error(err), err
    assert "Traceback" not in err and sum(line.startswith("error") for line in err.splitlines()) == 1
    assert "root:x:0:0" not in err
    assert finished_files(root) == touched
    assert time.time() - started < 60


def test_21_a_full_disk_during_export_is_one_line(run, capsys, tmp_path, monkeypatch):
    """A real 256 KiB tmpfs under --out where this test may mount one (root), else a save raising
    safetensors' own error for ENOSPC."""
    _recipe, root, before = run
    small = tmp_path / "small"
    small.mkdir()
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(small)], capture_output=True
        ).returncode
        == 0
    )
    try:
        if not mounted:
            from safetensors import SafetensorError

            import harness.export as export

            def full(*args, **kwargs):
                raise SafetensorError("Error while serializing: IoError(No space left on device (os error 28))")

            monkeypatch.setattr(export, "fsync_tree", full)
        code, err = harness(capsys, "export", root, "--out", small / "model")
        line = first_error(err)
        assert code == 2 and "--out" in line and "No space left on device" in line and "Traceback" not in err, err
        assert not (small / "model").exists() and not list(small.glob(".model*"))
        assert finished_files(root) == before
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(small)], check=False)


KILL_AFTER_RESTORE = """
import os, signal, sys
import harness.runs as runs
restore = runs.Run.restore
def restore_then_die(self, stage, folder):
    restore(self, stage, folder)
    if stage == sys.argv[1]:
        os.kill(os.getpid(), signal.SIGKILL)  # the result is back in place; reports/ not yet copied
runs.Run.restore = restore_then_die
from harness.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_21_reports_copy_is_mended_after_a_kill_during_a_restore_from_history(run, capsys, tmp_path):
    recipe, root, _ = run
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "harness", "run", str(recipe), "report.formats=[latex]", "--run-dir", str(root)]
    first = subprocess.run(
        command, env=env, capture_output=True, text=True
    )  # not in this process: it would hold the lock
    assert first.returncode == 0, first.stderr[-2000:]
    published = tmp_path / "reports" / root.name
    assert (published / "report.tex").is_file()
    result = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_RESTORE, "report", "run", str(recipe), "--run-dir", str(root)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == -9, result.stderr[-2000:]
    assert (root / "report" / "report.md").is_file() and not (published / "report.md").is_file()  # stale
    code, err = harness(capsys, "run", recipe, "--run-dir", root)
    assert code == 0 and "report: up to date, skipped" in err
    assert f"report: {Path('reports') / root.name} was stale" in err or f"report: {published} was stale" in err, err
    assert (published / "report.md").read_bytes() == (root / "report" / "report.md").read_bytes()
    code, err = harness(capsys, "run", recipe, "--run-dir", root)
    assert code == 0 and "was stale" not in err
