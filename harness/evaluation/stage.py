"""The `evaluate` stage: the base and/or trained model on the recipe's tasks, through lm-eval.

Outputs (in the stage folder): ``<task>/samples.jsonl`` and ``scores.json`` (see
:mod:`harness.evaluation.runner`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from harness import presentation
from harness.errors import HarnessError
from harness.evaluation.runner import quiet_lm_eval, resolve_tasks, run_models

TRAINED_EXPORT = ".trained-model"
"""A merged copy of the trained model for vLLM (which needs a folder), removed afterwards."""


def run_evaluate(recipe, run, out: Path) -> dict:
    """Evaluate ``recipe.evaluation.models`` on ``recipe.evaluation.tasks``; returns scores.json."""
    import torch

    evaluation = recipe.evaluation
    tasks = resolve_tasks(evaluation, recipe.languages)
    train_dir = run.require("train") if "trained" in evaluation.models else None
    device = "cuda" if torch.cuda.is_available() else "cpu"
    from harness.evaluation.sharding import device_groups, needs_workers

    groups = device_groups(evaluation, torch.cuda.device_count(), os.environ.get("CUDA_VISIBLE_DEVICES"))
    groups = groups if needs_workers(evaluation, groups) else None
    if "base" in evaluation.models:
        reuse_base_evaluation(recipe, run, Path(out), tasks)
    make_lm = lm_factory(recipe, train_dir, device, Path(out) / TRAINED_EXPORT, groups)
    settings = {"device": device, "dtype": _dtype_name(recipe, device), "processes": len(groups) if groups else 1}
    try:
        from harness.open_choices import open_choices

        settings["open_choices"] = open_choices(recipe, "evaluation")
        return run_models(evaluation, tasks, Path(out), make_lm, seed=recipe.seed, settings=settings)
    finally:
        shutil.rmtree(Path(out) / TRAINED_EXPORT, ignore_errors=True)


def base_inputs(resolved: dict) -> str:
    """The fingerprint of the base model's evaluation: the model, languages, seed and evaluation
    settings (but which models are evaluated). Training and selection are not in it: the base model
    does not change with them."""
    from harness.pipeline import model_identity
    from harness.runs import code_version, fingerprint

    evaluation = {k: v for k, v in (resolved.get("evaluation") or {}).items() if k != "models"}
    return fingerprint(
        "evaluate:base",
        model_identity(resolved.get("model") or {}),
        resolved.get("languages"),
        resolved.get("seed"),
        evaluation,
        code_version(),
    )


def reuse_base_evaluation(recipe, run, out: Path, tasks) -> Path | None:
    """Seed ``out`` with the base model's results of an earlier evaluation on the same base inputs.

    Looked for in the finished ``eval/`` and in ``history/``; a folder whose files changed since it
    finished is passed over. Returns the folder reused, if any.
    """
    from harness.artifacts import HISTORY, MARKER, STAGE_DIRS, Done, read_artifact
    from harness.evaluation.lm_eval_files import LM_EVAL_DIR
    from harness.evaluation.runner import _part_file, _read_done
    from harness.runs import changed_outputs, write_json

    wanted = base_inputs(recipe.resolved())
    root = Path(run.root)
    candidates = [root / STAGE_DIRS["evaluate"], *sorted((root / HISTORY).glob(f"{STAGE_DIRS['evaluate']}-*"))]
    for folder in candidates:
        try:
            done = read_artifact(folder / MARKER, Done, "")
        except HarnessError:
            continue
        if done.recipe is None or base_inputs(done.recipe) != wanted:
            continue
        if done.outputs is None or changed_outputs(folder, done.outputs):
            continue
        try:
            found = {task.benchmark: _read_done(folder, task) for task in tasks}
        except (OSError, ValueError, KeyError):
            continue
        if not all(("base", lang) in found[t.benchmark] for t in tasks for lang in t.languages):
            continue
        for task in tasks:
            for lang in task.languages:
                write_json(_part_file(out, task.benchmark, "base", lang), found[task.benchmark][("base", lang)])
        if (folder / LM_EVAL_DIR / "base").is_dir():
            shutil.rmtree(out / LM_EVAL_DIR / "base", ignore_errors=True)
            shutil.copytree(folder / LM_EVAL_DIR / "base", out / LM_EVAL_DIR / "base")
        presentation.console(stderr=True).print(
            f"evaluate: the base model's results reused from {folder} (same model, languages, seed and "
            "evaluation settings; training does not change the base model)",
            soft_wrap=True,
        )
        return folder
    return None


def _dtype_name(recipe, device: str) -> str:
    """The dtype the models are evaluated in (``auto`` resolved), recorded for `compare`."""
    from harness.models.loading import resolve_dtype

    return str(resolve_dtype(recipe.model, device)).removeprefix("torch.")


def _source(recipe, name: str, train_dir: Path | None) -> str:
    base = recipe.model.source + (f"@{recipe.model.revision}" if recipe.model.revision else "")
    return base if name == "base" else f"{base} + trained ({train_dir})"


def _load(recipe, name: str, train_dir: Path | None, device: str, dtype=None):
    """The model (on ``device``, in ``dtype`` or the recipe's) and its tokenizer (left padding)."""
    from harness.models import load_model, load_tokenizer

    tokenizer = load_tokenizer(recipe.model, padding_side="left")
    if name == "base":
        return load_model(recipe.model, dtype=dtype, device=device), tokenizer
    from harness.models.delta import load_trained_model

    return load_trained_model(recipe, train_dir, device=device, dtype=dtype), tokenizer


def lm_factory(recipe, train_dir: Path | None, device: str, export_dir: Path, groups: list | None = None):
    """model name -> (lm-eval LM, source) for the recipe's backend.

    ``groups``: the devices of each worker process (:mod:`harness.evaluation.sharding`); None
    evaluates in this process.
    """
    evaluation = recipe.evaluation
    if groups:

        def make_sharded(name: str):
            from harness.evaluation.sharding import ShardedLM

            if evaluation.backend == "vllm" and name == "trained":
                _trained_folder(recipe, train_dir, export_dir)  # once, before the workers read it
            return ShardedLM(recipe, name, train_dir, groups, export_dir), _source(recipe, name, train_dir)

        return make_sharded

    def make_hf(name: str):
        from lm_eval.models.huggingface import HFLM

        model, tokenizer = _load(recipe, name, train_dir, device)
        with quiet_lm_eval():  # it warns that a model object makes its loading arguments moot
            lm = HFLM(
                pretrained=model,
                tokenizer=tokenizer,
                batch_size=evaluation.batch_size,
                device=device,
                chat_template_args=dict(evaluation.chat_template_args),
            )
        if evaluation.batch_size == "auto":
            # lm-eval would search again in every language's call: search once per model
            lm.batch_size_per_gpu = lm._detect_batch_size()
            presentation.console(stderr=True).print(
                f"[dim]{name}: batch size {lm.batch_size_per_gpu} (evaluation.batch_size: auto)[/dim]"
            )
        return lm, _source(recipe, name, train_dir)

    def make_vllm(name: str):
        import importlib.util

        if importlib.util.find_spec("vllm") is None:
            raise HarnessError(
                "evaluation.backend: vllm is not installed; install it (`pip install vllm`, GPU only) "
                "or set evaluation.backend=hf"
            )
        from lm_eval.models.vllm_causallms import VLLM

        from harness.models import local_folder

        if name == "base":
            folder = local_folder(recipe.model)
        else:
            folder = str(_trained_folder(recipe, train_dir, export_dir))
        tokenizer = (
            local_folder(type(recipe.model)(source=recipe.model.tokenizer)) if recipe.model.tokenizer else folder
        )
        dtype = "auto" if recipe.model.dtype == "auto" else recipe.model.dtype
        lm = VLLM(
            pretrained=folder,
            tokenizer=tokenizer,
            dtype=dtype,
            revision=recipe.model.revision if name == "base" else None,
            batch_size="auto",
            max_gen_toks=evaluation.new_tokens(name),
            chat_template_args=dict(evaluation.chat_template_args),
            seed=recipe.seed,
            tensor_parallel_size=evaluation.tensor_parallel_size,
            gpu_memory_utilization=evaluation.gpu_memory_utilization,
            max_model_len=evaluation.max_model_len,
        )
        return lm, _source(recipe, name, train_dir)

    return make_vllm if evaluation.backend == "vllm" else make_hf


def _trained_folder(recipe, train_dir: Path, export_dir: Path) -> Path:
    """A full model folder of the trained model: the training's merged export, or one made now."""
    from harness.models.delta import MERGED_DIR

    from harness.models.loading import resolve_dtype
    from harness.models.delta import export_merged

    merged = Path(train_dir) / MERGED_DIR
    if (merged / "config.json").exists():
        return merged
    if (Path(export_dir) / "config.json").exists():
        return Path(export_dir)
    # built on the CPU in the dtype the GPUs evaluate in (bf16 under dtype auto), not fp32
    model, tokenizer = _load(recipe, "trained", train_dir, "cpu", dtype=resolve_dtype(recipe.model, "cuda"))
    return export_merged(model, tokenizer, Path(export_dir))
