"""The `evaluation:` section of a recipe."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from harness.schema import Section


class TaskConfig(Section):
    name: str
    """Benchmark: `mgsm`, `msvamp`, `xcsqa` or `demo`."""
    languages: list[str] | None = None
    """Languages to run; default: the recipe's languages that the benchmark has."""
    path: str | None = None
    """Local files in the benchmark's original format instead of the hub."""
    limit: int | None = Field(None, gt=0)
    """Evaluate only the first N questions per language."""

    @model_validator(mode="after")
    def _known_benchmark_and_languages(self) -> "TaskConfig":
        from harness.benchmarks import BENCHMARKS
        from harness.registry import suggest

        if self.name not in BENCHMARKS:
            raise ValueError(
                f"unknown benchmark {self.name!r}{suggest(self.name, BENCHMARKS.names())}; "
                f"choose from: {', '.join(BENCHMARKS.names())} (`harness ls tasks`)"
            )
        known = BENCHMARKS.get(self.name).languages
        unknown = [lang for lang in self.languages or [] if lang not in known]
        if unknown:
            raise ValueError(f"{self.name!r} has no language {', '.join(unknown)}; it has: {', '.join(known)}")
        return self


class EvaluationConfig(Section):
    tasks: list[TaskConfig] = Field(min_length=1)
    models: list[Literal["base", "trained"]] = Field(default_factory=lambda: ["base", "trained"])
    """Which models to evaluate: the base model, the trained one, or both (before/after)."""
    backend: Literal["hf", "vllm"] = "hf"
    batch_size: Annotated[int, Field(gt=0)] | Literal["auto"] = 8
    """Questions generated together (hf backend; vLLM schedules its own batches); `auto`: the
    largest batch that fits on the GPU, found once per model by lm-eval (for a new base model of
    unknown size; on a CPU it settles on lm-eval's maximum, 64)."""
    max_new_tokens: int = Field(512, gt=0)
    """The paper's 512; lower it for quick runs."""
    chat_template: bool = False
    """Prompt in the model's chat template (lm-eval's `apply_chat_template`): a math question is
    the user turn on its own (the chat format replaces the paper's Alpaca scaffold), a
    multiple-choice prompt is wrapped as it is. An instruction-tuned model such as
    SmolLM2-Instruct answers only in its own format. Recorded in scores.json's settings; the
    paper's models take the plain Alpaca prompt (false)."""
    stop: Literal["harness", "metamath"] = "harness"
    """Stop sequences: `harness` (ours: `### Instruction`, a new Alpaca preamble, end-of-text tokens)
    or `metamath` (MetaMath's own evaluation list: Question, USER, ASSISTANT, Instruction, Response)."""
    choice_label: Literal["last", "first"] = "last"
    """X-CSQA label rule: `last` bracketed label (the paper) or `first` (the authors' script)."""
    extraction: Literal["paper", "strict"] = "paper"
    """Answer extraction of record: `paper` (the authors' rule) or `strict`; both are stored."""
    data_parallel_size: int | None = Field(None, gt=0)
    """Copies of the model answering different questions, each in its own process (hf: one GPU
    each; vllm: tensor_parallel_size GPUs each). None: as many as the visible GPUs allow (one on
    a CPU). The samples come back in the same order whatever it is; the greedy answers are the
    same at batch size 1 or in float32, but on GPUs in bf16 with larger batches other batch shapes
    can flip near-tied tokens, so a few answers (and the scores, within that noise) may differ."""
    tensor_parallel_size: int = Field(1, gt=0)
    """vLLM: GPUs one engine spans (for a model too large for one GPU's memory)."""
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1)
    """vLLM: share of each GPU's memory an engine takes (weights, then KV cache from the rest)."""
    max_model_len: int | None = Field(None, gt=0)
    """vLLM: context length (prompt + new tokens); None: the model's. Shorter leaves more KV cache."""

    @model_validator(mode="after")
    def _vllm_settings_need_vllm(self) -> "EvaluationConfig":
        if self.backend != "vllm" and self.tensor_parallel_size > 1:
            raise ValueError(
                "tensor_parallel_size is a vLLM setting; set backend: vllm "
                "(the hf backend runs one GPU per process: data_parallel_size)"
            )
        return self

    @model_validator(mode="after")
    def _each_task_once(self) -> "EvaluationConfig":
        names = [task.name for task in self.tasks]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"task {', '.join(twice)} listed twice; merge the entries")
        return self
