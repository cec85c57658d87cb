"""The lm-eval model of the base or the trained model, for the evaluation's backend (hf or vLLM).

:class:`EvaluationJob` is what loading a model for evaluation reads: the evaluate stage builds it
from the recipe, and the GPU-sharding workers (:mod:`harness.evaluation.sharding`) receive it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from harness import console as terminal
from harness.errors import HarnessError
from harness.evaluation.config import EvaluationConfig
from harness.evaluation.runner import quiet_lm_eval
from harness.models.config import ModelConfig


class EvaluationJob(BaseModel):
    """The part of a recipe that loading a model for evaluation reads (other sections are ignored)."""

    model: ModelConfig
    seed: int
    evaluation: EvaluationConfig

    @classmethod
    def of(cls, recipe) -> EvaluationJob:
        return cls(model=recipe.model, seed=recipe.seed, evaluation=recipe.evaluation)


def model_source(job: EvaluationJob, name: str, train_dir: Path | None) -> str:
    base = job.model.source + (f"@{job.model.revision}" if job.model.revision else "")
    return base if name == "base" else f"{base} + trained ({train_dir})"


def _load(model: ModelConfig, name: str, train_dir: Path | None, device: str, dtype=None):
    """The model (on ``device``, in ``dtype`` or the recipe's) and its tokenizer (left padding)."""
    from harness.models import load_model, load_tokenizer

    tokenizer = load_tokenizer(model, padding_side="left")
    if name == "base":
        return load_model(model, dtype=dtype, device=device), tokenizer
    from harness.models.loading import trained_from

    return trained_from(model, train_dir, device=device, dtype=dtype), tokenizer


def lm_factory(job: EvaluationJob, train_dir: Path | None, device: str, export_dir: Path):
    """model name -> (lm-eval LM, source) for the job's backend, in this process."""
    evaluation = job.evaluation

    def make_hf(name: str):
        from harness.evaluation.hf_model import HarnessHFLM

        model, tokenizer = _load(job.model, name, train_dir, device)
        with quiet_lm_eval():  # it warns that a model object makes its loading arguments moot
            lm = HarnessHFLM(
                pretrained=model,
                tokenizer=tokenizer,
                batch_size=evaluation.batch_size,
                device=device,
                chat_template_args=dict(evaluation.chat_template_args),
            )
        if evaluation.batch_size == "auto":
            # lm-eval would search again in every call: search once per model
            lm.batch_size_per_gpu = lm._detect_batch_size()
            terminal.console(stderr=True).print(
                f"[dim]{name}: batch size {lm.batch_size_per_gpu} (evaluation.batch_size: auto)[/dim]"
            )
        return lm, model_source(job, name, train_dir)

    def make_vllm(name: str):
        import importlib.util

        if importlib.util.find_spec("vllm") is None:
            raise HarnessError(
                "evaluation.backend: vllm is not installed; install it (`pip install vllm`, GPU only) "
                "or set evaluation.backend=hf"
            )
        from lm_eval.models.vllm_causallms import VLLM

        from harness.models import local_folder

        folder = local_folder(job.model) if name == "base" else str(trained_folder(job.model, train_dir, export_dir))
        tokenizer = local_folder(type(job.model)(source=job.model.tokenizer)) if job.model.tokenizer else folder
        dtype = "auto" if job.model.dtype == "auto" else job.model.dtype
        lm = VLLM(
            pretrained=folder,
            tokenizer=tokenizer,
            dtype=dtype,
            revision=job.model.revision if name == "base" else None,
            batch_size="auto",
            max_gen_toks=evaluation.new_tokens(name),
            chat_template_args=dict(evaluation.chat_template_args),
            seed=job.seed,
            tensor_parallel_size=evaluation.tensor_parallel_size,
            gpu_memory_utilization=evaluation.gpu_memory_utilization,
            max_model_len=evaluation.max_model_len,
        )
        return lm, model_source(job, name, train_dir)

    return make_vllm if evaluation.backend == "vllm" else make_hf


def trained_folder(model: ModelConfig, train_dir: Path | None, export_dir: Path) -> Path:
    """A full model folder of the trained model: the training's merged export, or one made now."""
    assert train_dir is not None, "the trained model is evaluated from the train stage's folder"
    from harness.models.delta import MERGED_DIR, export_merged
    from harness.models.loading import resolve_dtype

    merged = Path(train_dir) / MERGED_DIR
    if (merged / "config.json").exists():
        return merged
    if (Path(export_dir) / "config.json").exists():
        return Path(export_dir)
    # built on the CPU in the dtype the GPUs evaluate in (bf16 under dtype auto), not fp32
    trained, tokenizer = _load(model, "trained", train_dir, "cpu", dtype=resolve_dtype(model, "cuda"))
    return export_merged(trained, tokenizer, Path(export_dir))
