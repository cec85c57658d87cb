"""Fault injection by hand on a tiny run: case -> exit code -> first line -> finished files byte-identical.

    PYTHONPATH=. python scripts/fault_table.py [--work DIR]

Builds a tiny random Llama and one finished run (select, train, evaluate, report), then, for every
case, damages a copy of the run (or the machine around it) as a user, an attacker or a scheduler
would, runs the harness command as a user types it, and prints one Markdown row per case. "byte-
identical" compares every file of the finished stage folders before and after the command (what the
case itself changed on purpose excepted). The tests in tests/test_faults*.py hold the same cases.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STAGES = ("selection", "train", "eval", "report")
ENV = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def finished_files(run: Path) -> dict[str, str]:
    return {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for stage in STAGES
        for p in sorted((run / stage).rglob("*"))
        if p.is_file()
    }


def harness(*args, cwd: Path, env=None) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "harness", *map(str, args)], cwd=cwd, env=env or ENV, capture_output=True, text=True
    )
    return result.returncode, result.stderr


def first_line(err: str) -> str:
    wanted = ("error", "warning", "regression", "evaluate:", "report:", "select:", "train:")
    for line in err.splitlines():
        if line.startswith(("error", "warning", "regression")):
            return line
    lines = [line for line in err.splitlines() if line.startswith(wanted)]
    return lines[-1] if lines else (err.strip().splitlines() or [""])[-1]


def build(work: Path) -> tuple[Path, Path, Path]:
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import build_tiny_llama, build_tiny_tokenizer, write_tiny_gguf

    model = work / "tiny-llama"
    tokenizer = build_tiny_tokenizer()
    build_tiny_llama(len(tokenizer)).save_pretrained(model)
    tokenizer.save_pretrained(model)
    (work / "gguf").mkdir(parents=True, exist_ok=True)
    write_tiny_gguf(work / "gguf" / "tiny.gguf", intermediate_size=1024)
    recipe = work / "tiny.yaml"
    recipe.write_text(
        textwrap.dedent(f"""
        name: tiny_faults
        languages: [de, en]
        model: {{source: "{model}"}}
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
    code, err = harness("run", recipe, "--run-dir", work / "run", cwd=work)
    assert code == 0, err[-3000:]
    return recipe, work / "run", model


KILL = """
import os, signal, sys
import harness.runs as runs
method, stage = sys.argv[1], sys.argv[2]
original = getattr(runs.Run, method)
def then_die(self, name, *rest):
    original(self, name, *rest)
    if name == stage:
        os.kill(os.getpid(), signal.SIGKILL)
setattr(runs.Run, method, then_die)
from harness.cli import main
sys.exit(main(sys.argv[3:]))
"""


def killed(method: str, stage: str, *args, cwd: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", KILL, method, stage, *map(str, args)], cwd=cwd, env=ENV, capture_output=True
    )
    assert result.returncode == -9, result.stderr[-2000:]


def edit_scores(root: Path, value) -> None:
    path = root / "eval" / "scores.json"
    scores = json.loads(path.read_text())
    for model in scores["models"].values():
        for task in model["tasks"].values():
            task["average"]["accuracy"] = value
            for language in task["languages"].values():
                language["accuracy"] = value
    path.write_text(json.dumps(scores))


def reseal(root: Path, stage: str) -> None:
    from harness.artifacts import seal_of
    from harness.runs import output_files

    done = json.loads((root / stage / "DONE.json").read_text())
    done["outputs"] = {k: v.model_dump() for k, v in output_files(root / stage).items()}
    done["seal"] = seal_of(done)
    (root / stage / "DONE.json").write_text(json.dumps(done))


def cases(recipe: Path, model: Path, work: Path):
    """(item, case, set-up(root, tmp) -> (args, cwd, env) or a callable that runs it all)."""

    def plain(*args):
        return lambda root, tmp: (args, tmp, None)

    def gguf_twins(root, tmp):
        data = bytearray((work / "gguf" / "tiny.gguf").read_bytes())
        middle = len(data) // 2
        data[middle : middle + 4] = b"\x00\x00\x80\x3f"
        (tmp / "tuned").mkdir()
        (tmp / "tuned" / "tiny.gguf").write_bytes(bytes(data))
        env = {**ENV, "XDG_CACHE_HOME": str(tmp / "cache")}
        folders = []
        for source in (work / "gguf" / "tiny.gguf", tmp / "tuned" / "tiny.gguf"):
            out = subprocess.run(
                [sys.executable, "-m", "harness.models.loading", str(source)], env=env, capture_output=True, text=True
            )
            folders.append(out.stdout.strip())
        return 0, f"two conversions: {Path(folders[0]).name} != {Path(folders[1]).name}: {folders[0] != folders[1]}"

    def gguf_at_once(root, tmp):
        env = {**ENV, "XDG_CACHE_HOME": str(tmp / "cache")}
        command = [sys.executable, "-m", "harness.models.loading", str(work / "gguf" / "tiny.gguf")]
        both = [
            subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        codes = [p.wait() for p in both]
        return max(codes), f"exit codes {codes}; one folder: {len({p.stdout.read().strip() for p in both}) == 1}"

    def gguf_damaged(root, tmp):
        env = {**ENV, "XDG_CACHE_HOME": str(tmp / "cache")}
        command = [sys.executable, "-m", "harness.models.loading", str(work / "gguf" / "tiny.gguf")]
        folder = Path(subprocess.run(command, env=env, capture_output=True, text=True).stdout.strip())
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
        again = subprocess.run(command, env=env, capture_output=True, text=True)
        return again.returncode, first_line(again.stderr)

    def token_cache(root, tmp):
        entry = Path(json.loads((root / "train" / "train.json").read_text())["data"]["tokenized"]["folder"])
        arrow = next(entry.glob("*.arrow"))
        arrow.write_bytes(b"")
        return ("run", recipe, "--run-dir", root, "--force", "train"), tmp, None

    def publish_kill(root, tmp):
        killed("_retire", "report", "run", recipe, "report.formats=[latex]", "--run-dir", root, cwd=tmp)
        return ("run", recipe, "report.formats=[latex]", "--run-dir", root), tmp, None

    def rescore_kill(root, tmp):
        killed("_retire", "evaluate", "evaluate", recipe, "--rescore", "--run-dir", root, cwd=tmp)
        return ("evaluate", recipe, "--rescore", "--run-dir", root), tmp, None

    def edited(command):
        def setup(root, tmp):
            edit_scores(root, 1.0)
            args = {
                "leaderboard": ("leaderboard", root),
                "compare": ("compare", root, f"{root}:base", "--tolerance", "1"),
                "export": ("export", root, "--out", tmp / "exported"),
            }[command]
            return args, tmp, None

        return setup

    def nan_compare(root, tmp):
        edit_scores(root, float("nan"))
        reseal(root, "eval")
        return ("compare", root, f"{root}:base", "--tolerance", "1"), tmp, None

    def png_link(root, tmp):
        board = tmp / "board"
        harness("leaderboard", root, "--out", board, cwd=tmp)
        png = next(board.glob("*.png"))
        (tmp / "victim.png").write_bytes(b"mine")
        png.unlink()
        png.symlink_to(tmp / "victim.png")
        code, err = harness("leaderboard", root, "--out", board, cwd=tmp)
        code2, _ = harness("leaderboard", root, "--out", board, "--replace", cwd=tmp)
        intact = (tmp / "victim.png").read_bytes() == b"mine"
        return code, f"{first_line(err)} || with --replace: exit {code2}, the link's target intact: {intact}"

    def link(name):
        def setup(root, tmp):
            (root / name).unlink(missing_ok=True)
            (tmp / "victim.txt").write_text("mine")
            (root / name).symlink_to(tmp / "victim.txt")
            return ("run", recipe, "--run-dir", root), tmp, None

        return setup

    neutral = ("training.logging_steps=3", "training.keep_checkpoints=true", "training.gpu_memory_gib=40")

    def dry_run(root, tmp):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "harness",
                "run",
                recipe,
                "training.learning_rate=1e-3",
                "--run-dir",
                root,
                "--dry-run",
            ],
            cwd=tmp,
            env=ENV,
            capture_output=True,
            text=True,
        ).stdout
        return 0, "; ".join(line[2:] for line in out.splitlines() if line.startswith("# ") and ":" in line[2:])[:200]

    def base_reuse(root, tmp):
        code, err = harness("run", recipe, "training.learning_rate=1e-3", "--run-dir", root, cwd=tmp)
        lines = [line for line in err.splitlines() if "base model's results reused" in line or "evaluate base" in line]
        return code, (lines[0] if lines else "base evaluated again")[:160]

    def fingerprint(root, tmp):
        done = json.loads((root / "train" / "DONE.json").read_text())
        done["fingerprint"] = "0" * 16
        (root / "train" / "DONE.json").write_text(json.dumps(done))
        return ("run", recipe, "training.learning_rate=0.5", "--run-dir", root), tmp, None

    def worker_sigkill(root, tmp):
        text = recipe.read_text().replace("  max_length: 128", "  max_length: 128\n  max_steps: 40\n  deepspeed: true")
        (tmp / "long.yaml").write_text(text)
        log = tmp / "log"
        with log.open("w") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "harness", "run", tmp / "long.yaml", "--run-dir", tmp / "fresh"],
                cwd=tmp,
                env={**ENV, "PYTHONUNBUFFERED": "1"},
                stderr=stderr,
                stdout=subprocess.DEVNULL,
            )
        while "train step 2/" not in log.read_text() and process.poll() is None:
            time.sleep(0.05)
        for entry in Path("/proc").iterdir():
            try:
                argv = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"harness.training.worker" in argv and str(tmp / "fresh").encode() in argv:
                os.kill(int(entry.name), signal.SIGKILL)
        return process.wait(), first_line(log.read_text())

    def full_disk_export(root, tmp):
        small = tmp / "small"
        small.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(small)], check=True)
        try:
            code, err = harness("export", root, "--out", small / "model", cwd=tmp)
        finally:
            subprocess.run(["umount", "-l", str(small)], check=False)
        return code, first_line(err)

    def corrupt_weights(root, tmp):
        shutil.copytree(model, tmp / "corrupt")
        weights = tmp / "corrupt" / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:100])
        return ("run", recipe, f"model.source={tmp / 'corrupt'}", "--run-dir", tmp / "other"), tmp, None

    def deep_yaml(root, tmp):
        (tmp / "deep.yaml").write_text("name: deep\nmodel: " + "[" * 2000 + "]" * 2000 + "\n")
        return ("run", tmp / "deep.yaml", "--run-dir", tmp / "other"), tmp, None

    def deep_json(root, tmp):
        (root / "manifest.json").write_text("[" * 2000 + "]" * 2000)
        return ("run", recipe, "--run-dir", root), tmp, None

    def huge_recipe(root, tmp):
        (tmp / "huge.yaml").write_text(recipe.read_text() + "# padding\n" * 200_000)
        return ("run", tmp / "huge.yaml", "--run-dir", root), tmp, None

    def layers(root, tmp):
        (tmp / "huge-model").mkdir()
        config = json.loads((model / "config.json").read_text())
        (tmp / "huge-model" / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 100_000}))
        return ("plan", recipe, f"model.source={tmp / 'huge-model'}"), tmp, None

    def markdown(root, tmp):
        hostile = tmp / "<img src=x onerror=alert(1)>"
        shutil.copytree(root, hostile, symlinks=True)
        harness("run", recipe, "--run-dir", hostile, "--force", "report", cwd=tmp)
        text = (hostile / "report" / "report.md").read_text()
        raw = "<img src=x" in text
        return 0, f"report.md holds the raw tag: {raw}; escaped: {'&lt;img src=x' in text}"

    def card(root, tmp):
        script = (
            "from harness.recipe import load_recipe; from harness.export import model_card; "
            "from huggingface_hub import ModelCard; import sys; "
            "r = load_recipe(sys.argv[1], ['description=mine\\n---\\nlicense: evil\\n```\\n# injected']); "
            "c = str(model_card(r, r.resolved(), {}, None, 'float32')); "
            "print('license' in ModelCard(c).data.to_dict(), c.count('````'))"
        )
        out = subprocess.run([sys.executable, "-c", script, str(recipe)], env=ENV, capture_output=True, text=True)
        licensed, fences = out.stdout.split()
        return (
            out.returncode,
            f"front matter took the description's key: {licensed}; recipe block fenced with ````: {fences}",
        )

    def restore_kill(root, tmp):
        harness("run", recipe, "report.formats=[latex]", "--run-dir", root, cwd=tmp)
        killed("restore", "report", "run", recipe, "--run-dir", root, cwd=tmp)
        return ("run", recipe, "--run-dir", root), tmp, None

    def defaults(root, tmp):
        (tmp / "other.yaml").write_text("defaults: /etc/passwd\nname: other\n")
        return ("run", tmp / "other.yaml", "--run-dir", tmp / "other"), tmp, None

    return [
        ("2", "two GGUFs, one name and size, differ in the middle", gguf_twins),
        ("2", "two processes first use one GGUF at once", gguf_at_once),
        ("2", "damaged GGUF conversion (half model.safetensors)", gguf_damaged),
        ("2", "empty token-cache entry, --force train", token_cache),
        ("3", "kill -9 between the two renames of a publish, rerun", publish_kill),
        ("3", "kill -9 between the renames of evaluate --rescore, rerun", rescore_kill),
        ("4", "hand-edited scores.json -> leaderboard", edited("leaderboard")),
        ("4", "hand-edited scores.json -> compare --tolerance 1", edited("compare")),
        ("4", "hand-edited scores.json -> export", edited("export")),
        ("4", "NaN accuracies, DONE.json resealed -> compare --tolerance 1", nan_compare),
        ("5", "leaderboard --out over a planted PNG link", png_link),
        ("5", ".lock is a planted link", link(".lock")),
        ("5", "invocations.jsonl is a planted link", link("invocations.jsonl")),
        ("6", "gpu_memory_gib, logging_steps, keep_checkpoints changed", plain("run", recipe, *neutral, "--run-dir")),
        ("6", "--dry-run after a training change", dry_run),
        ("6", "a training change: the base model's evaluation", base_reuse),
        ("6", "hand-edited fingerprint in train/DONE.json", fingerprint),
        ("7", "training worker killed by SIGKILL (OOM-kill)", worker_sigkill),
        ("7", "full disk during export (256 KiB tmpfs)", full_disk_export),
        ("7", "corrupt model.safetensors", corrupt_weights),
        ("7", "YAML recipe nested 2,000 deep", deep_yaml),
        ("7", "manifest.json nested 2,000 deep", deep_json),
        ("7", "recipe of 2 MB", huge_recipe),
        ("7", "plan on a config of 100,000 layers", layers),
        ("9", "run folder named <img src=x onerror=alert(1)>: report.md", markdown),
        ("9", "description with --- and ``` in the model card", card),
        ("10", "kill -9 after a restore from history, before reports/ is copied; rerun", restore_kill),
        ("10", "defaults: /etc/passwd", defaults),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--only", default=None, help="run the cases whose name contains this")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="fault-table-"))
    ENV["HARNESS_CACHE"] = str(work / "harness-cache")
    recipe, original, model = build(work)
    print("| item | case | exit | first line of the message | finished files byte-identical |")
    print("|---|---|---|---|---|")
    for index, (item, name, setup) in enumerate(cases(recipe, model, work)):
        if args.only and args.only not in name:
            continue
        tmp = work / f"case-{index}"
        tmp.mkdir()
        root = tmp / "run"
        shutil.copytree(original, root, symlinks=True)
        before = finished_files(root)
        outcome = setup(root, tmp)
        if len(outcome) == 3:
            command, cwd, env = outcome
            if command[-1] == "--run-dir":
                command = (*command, root)
            touched = finished_files(root)
            code, err = harness(*command, cwd=cwd, env=env)
            line = first_line(err)
        else:
            (code, line), touched = outcome, before
        same = finished_files(root) == touched
        changed = "" if touched == before else " (but what the case edited)"
        line = line.replace("|", "\\|").replace(str(work), "$W")[:230]
        print(f"| {item} | {name} | {code} | {line} | {'yes' if same else 'no'}{changed} |", flush=True)


if __name__ == "__main__":
    main()
