"""`harness export RUN --out DIR [--push-to-hub REPO]`: a run's trained model, on its own.

The folder holds the merged model (base + the trained tensors, in the dtype training produced)
as safetensors with its config and tokenizer, so ``AutoModelForCausalLM.from_pretrained(DIR)``
and ``lm_eval --model hf --model_args pretrained=DIR`` load it, plus:

- ``README.md``: a model card (huggingface_hub's ``ModelCard``) naming the base model, the
  selected layers and sub-layers, the trained share, the training data and pair counts, the
  run's scores (also as the hub's ``model-index`` metadata), the harness version and the recipe;
- ``harness_recipe.yaml``: the run's resolved recipe.

The folder is written next to ``DIR`` and renamed into place when complete; an existing,
non-empty ``DIR`` is never overwritten. ``--push-to-hub`` uploads the folder through
huggingface_hub (``HF_TOKEN`` or ``huggingface-cli login``).
"""

from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

import yaml

from harness.artifacts import MANIFEST, SCORES_FILE, TRAIN_FILE, Scores, read_artifact, redo
from harness.errors import HarnessError
from harness.reporting.scored import ScoredModel
from harness.runs import Run, fsync_tree, read_json, verified_output

CARD_FILE = "README.md"
RECIPE_FILE = "harness_recipe.yaml"


def _recipe_of(run_root: Path):
    from harness.recipe import Recipe

    manifest = run_root / MANIFEST
    if not manifest.is_file():
        raise HarnessError(f"{run_root}: no manifest.json; is this a run directory (`harness run ... --run-dir`)?")
    resolved = read_json(manifest).get("recipe") or {}
    try:
        return Recipe.model_validate(resolved), resolved
    except Exception as error:  # a run made by another harness version
        raise HarnessError(
            f"{manifest}: its recipe does not validate with this harness ({str(error).splitlines()[0]}); "
            "export with the harness version that made the run"
        ) from None


def trained_dtype(train_dir: Path, train: dict):
    """The dtype training left the trained tensors in (the delta's, else the precision's)."""
    import torch

    delta = train_dir / "delta.json"
    name = read_json(delta).get("dtype") if delta.is_file() else None
    if not isinstance(name, str):
        name = "bfloat16" if (train.get("hyperparameters") or {}).get("precision") == "bf16" else "float32"
    return getattr(torch, name)


def _hub_id(source: str) -> str | None:
    """``owner/name`` when the source is a hub id (not a local path or a package GGUF)."""
    if ":" in source or source.startswith((".", "/", "~")) or Path(source).exists() or source.count("/") != 1:
        return None
    return source


def model_card(recipe, resolved: dict, train: dict, scores: Scores | None, dtype_name: str):
    """The model card, with the scores of the run's trained model as ``model-index`` results."""
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    from harness import __version__
    from harness.benchmarks import get_benchmark
    from harness.reporting.paper import TASK_TITLES

    plan = train.get("plan") or {}
    data = train.get("data") or {}
    trained = ScoredModel("trained", scores) if scores is not None and "trained" in scores.models else None
    tasks = {task: trained.entry.tasks[task] for task in trained.tasks()} if trained is not None else {}
    results = []
    score_lines = []
    for task, entry in tasks.items():
        benchmark = get_benchmark(task)
        dataset = benchmark.hub_id or f"harness/{task}"
        title = TASK_TITLES.get(task, task)
        for lang, row in entry.languages.items():
            if row.accuracy is None:
                continue
            results.append(
                EvalResult(
                    task_type="text-generation",
                    dataset_type=dataset,
                    dataset_name=f"{title} ({lang})",
                    dataset_config=lang,
                    dataset_split="test",
                    metric_type="accuracy",
                    metric_value=row.accuracy,
                    metric_name=f"accuracy ({lang}, n={row.n})",
                )
            )
            score_lines.append(f"| {task} | {lang} | {row.n} | {row.accuracy:.1f} |")
        average = entry.average
        if average is not None and average.accuracy is not None:
            covered = average.languages
            results.append(
                EvalResult(
                    task_type="text-generation",
                    dataset_type=dataset,
                    dataset_name=f"{title} (average)",
                    dataset_split="test",
                    metric_type="accuracy",
                    metric_value=average.accuracy,
                    metric_name=f"average accuracy over {', '.join(covered)}",
                )
            )
            score_lines.append(f"| {task} | average ({len(covered)}) | | {average.accuracy:.1f} |")

    name = f"{recipe.name}-slam"
    base = html.escape(
        recipe.model.source + (f"@{recipe.model.revision}" if recipe.model.revision else ""), quote=False
    )
    card_data = ModelCardData(
        model_name=name,
        base_model=_hub_id(recipe.model.source),
        library_name="transformers",
        pipeline_tag="text-generation",
        tags=["slam", "multilingual", "harness"],
        language=list(recipe.languages),
        eval_results=results or None,
    )
    pairs = data.get("pairs_after_filter") or {}
    examples = data.get("examples") or {}
    share = plan.get("share")
    lines = [
        f"# {name}",
        "",
        f"{base} after SLAM-style selective fine-tuning (arXiv 2501.03681): only the chosen sub-layers of the "
        "selected layers were trained on X->English translation pairs; everything else is the base model.",
        "",
        "## Training",
        "",
        f"- **Base model**: `{base}`",
        f"- **Mode**: {train.get('mode', '?')}",
        f"- **Selected layers**: {plan.get('layers')}",
        f"- **Sub-layers**: {plan.get('sublayers')}",
        f"- **Trained share**: {share:.2%} of {plan.get('total', 0):,} parameters"
        if share is not None
        else "- **Trained share**: not recorded",
        f"- **Data**: {html.escape(str(data.get('source', '?')), quote=False)} ({data.get('sides', '?')}); "
        "translation pairs after filtering: "
        + (", ".join(f"{lang} {n}" for lang, n in pairs.items()) or "not recorded")
        + f"; examples trained on: {data.get('examples_total', sum(examples.values()))}",
        f"- **Steps**: {train.get('steps')}; {_loss_line(train)}",
        f"- **Weights dtype**: {dtype_name} (as trained)",
        f"- **Exported by**: harness {__version__}",
        "",
        "## Scores",
        "",
    ]
    if score_lines:
        extraction = scores.extraction if scores is not None else "paper"
        lines += [
            f"Accuracy (%) measured by the run's evaluate stage (lm-eval, `{extraction}` answer extraction):",
            "",
            "| task | language | n | accuracy |",
            "|---|---|---:|---:|",
            *score_lines,
            "",
        ]
    else:
        lines += ["The run evaluated no trained model.", ""]
    lines += [
        "## Use",
        "",
        "```python",
        "from transformers import AutoModelForCausalLM, AutoTokenizer",
        "",
        'model = AutoModelForCausalLM.from_pretrained("PATH")',
        'tokenizer = AutoTokenizer.from_pretrained("PATH")',
        "```",
        "",
        *_evaluation_lines(recipe),
        "",
        "## Recipe",
        "",
        f"The run's resolved recipe (also in `{RECIPE_FILE}`):",
        "",
        *_code_block(yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True).rstrip(), "yaml"),
        "",
    ]
    return ModelCard.from_template(card_data, template_str="---\n{{ card_data }}\n---\n\n" + "\n".join(lines))


def _code_block(text: str, language: str) -> list[str]:
    """A fenced block that no text in it can close: the fence is longer than any backtick run inside
    (a recipe's description may hold ```)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", text, fence]


def _loss_line(train: dict) -> str:
    """What the run's training measured: the first and last logged loss, and the mean the Trainer
    reports (``train_loss`` is the mean over all steps, not the last loss)."""
    curve = train.get("loss_curve") or []
    mean = train.get("train_loss")
    parts = []
    if curve:
        first, last = curve[0], curve[-1]
        parts.append(
            f"training loss {first['loss']:.3f} (step {first['step']}) -> {last['loss']:.3f} (step {last['step']})"
        )
    if isinstance(mean, (int, float)):
        parts.append(f"mean over training {mean:.3f}")
    return ", ".join(parts) or "loss not recorded"


TASKS_PATH_SHELL = '"$(harness ls tasks --path)"'
"""The harness's lm-eval task folder, as a shell expression (wherever harness is installed)."""


def evaluation_commands(recipe, path: str = "PATH") -> tuple[str, str, list[str]]:
    """The commands that re-evaluate an exported model as the run evaluated its trained model:
    (the harness command: the run's own recipe on the export; the lm-eval command: the same tasks,
    prompts and generation settings under plain `lm_eval`; notes on what the latter cannot carry).
    """
    import json
    import shlex

    from harness.evaluation.runner import resolve_tasks
    from harness.evaluation.tasks import task_name

    evaluation = recipe.evaluation
    overrides = [f"model.source={path}", "evaluation.models=[base]"]  # the export is a base model now
    overrides += ["selection=null", "training=null"]
    if getattr(recipe, "stages", None):
        overrides.append("stages=[]")
    if recipe.model.revision:
        overrides.append("model.revision=null")
    if recipe.model.tokenizer:
        overrides.append("model.tokenizer=null")
    harness_command = shlex.join(
        ["harness", "evaluate", f"{path}/{RECIPE_FILE}", *overrides, "--run-dir", f"runs/{recipe.name}-export"]
    )
    if evaluation is None:
        return harness_command, "", ["the run's recipe has no evaluation: section"]
    notes: list[str] = []
    tasks = resolve_tasks(evaluation, recipe.languages)
    names = [task_name(task.benchmark, lang) for task in tasks for lang in task.languages]
    model_args: dict = {"pretrained": path}
    if evaluation.chat_template_args:
        model_args["chat_template_args"] = dict(evaluation.chat_template_args)
    head = ["lm_eval", "run", "--model", evaluation.backend, "--model_args", json.dumps(model_args)]
    tail = ["--tasks", *names]
    if evaluation.chat_template:
        tail.append("--apply_chat_template")
    if evaluation.system_prompt:
        tail += ["--system_instruction", evaluation.system_prompt]
    tail += ["--gen_kwargs", f"max_gen_toks={evaluation.new_tokens('trained')}"]
    limits = {task.limit for task in tasks}
    if len(limits) == 1 and None not in limits:
        tail += ["--limit", str(limits.pop())]
    elif len(limits) > 1:
        notes.append("the run's tasks have different limits; lm-eval takes one `--limit` for all")
    metadata = {f"{task.benchmark}_path": task.path for task in tasks if task.path}
    if evaluation.reasoning_end:
        metadata["reasoning_end"] = evaluation.reasoning_end
    if metadata:
        tail += ["--metadata", json.dumps(metadata, ensure_ascii=False)]
    if evaluation.backend == "hf":
        tail += ["--batch_size", str(evaluation.batch_size)]
    tail += ["--seed", str(recipe.seed)]
    if evaluation.stop != "harness":
        notes.append(f"evaluation.stop: {evaluation.stop} changes the stop list, which the lm-eval command does not")
    if evaluation.extraction != "paper":
        notes.append(
            f"lm-eval's `acc` is the paper's extraction; the run's scores are {evaluation.extraction!r} (`acc_strict`)"
        )
    lm_eval_command = f"{shlex.join(head)} --include_path {TASKS_PATH_SHELL} {shlex.join(tail)}"
    return harness_command, lm_eval_command, notes


def _evaluation_lines(recipe) -> list[str]:
    harness_command, lm_eval_command, notes = evaluation_commands(recipe)
    lines = [
        "## Re-evaluate",
        "",
        "As the run evaluated its trained model (same tasks, languages, questions, prompts and generation "
        f"settings), with `PATH` this folder; the harness command reads the run's recipe (`{RECIPE_FILE}`, here):",
        "",
        "```bash",
        harness_command,
        "```",
    ]
    if lm_eval_command:
        lines += [
            "",
            "With plain lm-eval and the harness's task folder (`pip install harness` provides it):",
            "",
            "```bash",
            lm_eval_command,
            "```",
            *(f"- Note: {note}" for note in notes),
        ]
    return lines


def _usual_permissions(folder: Path) -> None:
    """Files readable by everyone, as ``umask`` allows (save_pretrained's temporary files are 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    folder.chmod(0o777 & ~mask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)


def export_run(run_dir: str | Path, out: str | Path, push_to_hub: str | None = None, private: bool = False) -> Path:
    """Write the run's trained model and card to ``out``; push it when asked."""
    import torch

    from harness.models import load_tokenizer
    from harness.models.loading import load_trained_model

    run_root = Path(run_dir)
    if not run_root.is_dir():
        raise HarnessError(f"{run_root}: no such run directory")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise HarnessError(f"--out {out}: exists and is not empty; choose a new folder (nothing was changed)")
    recipe, resolved = _recipe_of(run_root)
    run = Run(run_root)
    train_dir = run.require("train")
    train = read_json(verified_output(run_root, "train", TRAIN_FILE))
    scores = (
        read_artifact(verified_output(run_root, "evaluate", SCORES_FILE), Scores, redo("evaluate", run_root))
        if run.is_done("evaluate")
        else None
    )

    dtype = trained_dtype(train_dir, train)
    dtype_name = str(dtype).removeprefix("torch.")
    model = load_trained_model(recipe, train_dir, device="cpu", dtype=dtype)
    tokenizer = load_tokenizer(recipe.model)
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        model.config.use_cache = True
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        (staging / RECIPE_FILE).write_text(
            yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        model_card(recipe, resolved, train, scores, dtype_name).save(staging / CARD_FILE)
        _usual_permissions(staging)
        fsync_tree(staging)
        if out.exists():
            out.rmdir()  # empty, checked above
        os.replace(staging, out)
    except Exception as error:  # safetensors and torch report a full disk as their own errors
        from harness.pipeline import disk_error

        disk = error if isinstance(error, OSError) else disk_error(error, staging)
        if disk is None:
            raise
        raise HarnessError(
            f"--out {out}: the export could not be written ({os.strerror(disk.errno) if disk.errno else disk}); "
            "free space (or choose another --out) and run it again; the run is unchanged"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    del model
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    print(f"exported {run_root} (trained model, {dtype_name}) to {out}")
    if push_to_hub:
        from huggingface_hub import HfApi

        api = HfApi()
        try:
            api.create_repo(push_to_hub, private=private, exist_ok=True)
            commit = api.upload_folder(
                folder_path=str(out), repo_id=push_to_hub, commit_message=f"harness export of {recipe.name}"
            )
        except Exception as error:  # offline, no token, no rights: the folder itself is complete
            raise HarnessError(
                f"--push-to-hub {push_to_hub}: {type(error).__name__}: {str(error).splitlines()[0]}; "
                f"the export in {out} is complete: push it later with "
                f"`hf upload {push_to_hub} {out}`"
            ) from None
        print(f"pushed to {getattr(commit, 'repo_url', push_to_hub)}")
    return out
