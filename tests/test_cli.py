"""The command line: exit codes, messages without tracebacks, --dry-run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def harness(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True)


def test_help_lists_the_contract_commands():
    result = harness("--help")
    assert result.returncode == 0
    for command in ("run", "validate", "ls", "select", "train", "evaluate", "report", "plan", "score", "compare"):
        assert command in result.stdout
    for text in ("cp", "env", "examples:", "harness run recipes/quickstart.yaml", "exit codes:", "130  interrupted"):
        assert text in result.stdout


def test_bad_recipe_is_exit_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nmodel: {source: a/b}\nselection: {layers: {policy: first_k, k: 0}}\nbogus: 1\n")
    result = harness("validate", str(bad))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert f"{bad}: selection.layers.first_k.k: Input should be greater than 0" in result.stdout
    assert f"{bad}: bogus: unknown key" in result.stdout

    result = harness("run", str(bad), "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()  # nothing is created for a bad recipe


def test_dry_run_prints_resolved_recipe_and_touches_nothing(tmp_path):
    result = harness(
        "run", "recipes/quickstart.yaml", "training.epochs=2", "--dry-run", "--run-dir", str(tmp_path / "run")
    )
    assert result.returncode == 0, result.stderr
    assert "epochs: 2" in result.stdout and "learning_rate: 0.0001" in result.stdout
    assert "# select: would run" in result.stdout
    assert not (tmp_path / "run").exists()


def test_read_only_commands_start_without_torch(tmp_path):
    """validate, ls and run --dry-run read YAML files: importing torch (~1 s) would be waste."""
    commands = [
        ["validate", "recipes/"],
        ["ls", "recipes"],
        ["ls", "tasks"],
        ["ls", "baselines"],
        ["run", "recipes/quickstart.yaml", "--dry-run", "--run-dir", str(tmp_path / "run")],
    ]
    script = (
        f"import sys\nfrom harness.cli import main\nfor args in {commands!r}:\n    assert main(args) == 0, args\n"
        "heavy = [m for m in ('torch', 'transformers', 'lm_eval', 'datasets') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
