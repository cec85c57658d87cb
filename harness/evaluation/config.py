"""The `evaluation:` section of a recipe."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from harness.schema import Section

PAPER_MAX_NEW_TOKENS = 512
"""The paper's generation budget, and a model's when `max_new_tokens` names only the other one."""


class TaskConfig(Section):
    name: str
    """Benchmark: `mgsm`, `msvamp`, `xcsqa` or `demo`."""
    languages: list[str] | None = None
    """Languages to run; default: the recipe's languages that the benchmark has."""
    path: str | None = None
    """Local files in the benchmark's original format instead of the hub."""
    limit: int | None = Field(None, gt=0)
    """Evaluate only the first N questions per language."""
    revision: str | None = None
    """Hub revision of the benchmark's dataset (branch, tag or commit) to pin; the commit read is
    recorded in scores.json either way. A loading-script repository is read from the hub's parquet
    conversion (`refs/convert/parquet`), which current `datasets` can load."""

    @model_validator(mode="after")
    def _known_benchmark_and_languages(self) -> TaskConfig:
        from harness.benchmarks import BENCHMARKS
        from harness.registry import suggest

        if self.name not in BENCHMARKS:
            raise ValueError(
                f"unknown benchmark {self.name!r}{suggest(self.name, BENCHMARKS.names())}; "
                f"choose from: {', '.join(BENCHMARKS.names())} (`harness ls tasks`)"
            )
        if self.path and self.revision:
            raise ValueError("revision pins the hub dataset, path reads local files: set one of them")
        known = BENCHMARKS.get(self.name).languages
        unknown = [lang for lang in self.languages or [] if lang not in known]
        if unknown:
            raise ValueError(f"{self.name!r} has no language {', '.join(unknown)}; it has: {', '.join(known)}")
        return self


class HubResultsConfig(Section):
    """Where lm-eval's EvaluationTracker pushes a run's results (and per-question details)."""

    org: str
    """Hub user or organisation of the dataset repositories."""
    results_repo: str = "lm-eval-results"
    details_repo: str = "lm-eval-results"
    push_samples: bool = True
    """Also push the per-question samples (lm-eval's details)."""
    public: bool = False
    """Public repositories (else `<repo>-private`, private)."""


class EvaluationConfig(Section):
    tasks: list[TaskConfig] = Field(min_length=1)
    models: list[Literal["base", "trained"]] = Field(default_factory=lambda: ["base", "trained"])  # type: ignore[arg-type]
    """Which models to evaluate: the base model, the trained one, or both (before/after)."""
    backend: Literal["hf", "vllm"] = "hf"
    batch_size: Annotated[int, Field(gt=0)] | Literal["auto"] = 8
    """Questions generated together (hf backend; vLLM schedules its own batches); `auto`: the
    largest batch that fits on the GPU, found once per model by lm-eval (for a new base model of
    unknown size; on a CPU it settles on lm-eval's maximum, 64)."""
    max_new_tokens: Annotated[int, Field(gt=0)] | dict[Literal["base", "trained"], Annotated[int, Field(gt=0)]] = (
        PAPER_MAX_NEW_TOKENS
    )
    """The paper's 512; lower it for quick runs, raise it for a model that reasons first (a
    Qwen3-style thinker needs thousands). Per model: `{base: 4096, trained: 1024}` (a model left
    out gets 512). Recorded per model in scores.json; `compare` refuses runs that differ in it."""
    chat_template: bool = False
    """Prompt in the model's chat template (lm-eval's `apply_chat_template`): a math question is
    the user turn on its own (the chat format replaces the paper's Alpaca scaffold), a
    multiple-choice prompt is wrapped as it is. An instruction-tuned model such as
    SmolLM2-Instruct answers only in its own format. Recorded in scores.json's settings; the
    paper's models take the plain Alpaca prompt (false)."""
    system_prompt: str | None = None
    """A system turn before every question (lm-eval's `system_instruction`): under the chat
    template the model's system message, without it a line before the prompt. Recorded in
    scores.json; runs that differ in it are not compared or ranked together."""
    chat_template_args: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments for the tokenizer's chat template (lm-eval's `chat_template_args`), e.g.
    `{enable_thinking: true}` for a Qwen3-style model; needs `chat_template: true`."""
    reasoning_end: str | None = None
    """The marker that ends a model's reasoning (`</think>` for Qwen3): the answer is read only
    from the text after its last occurrence, and a response in which it never appears (the
    reasoning was cut by max_new_tokens) is scored wrong and counted (`reasoning_unfinished` in
    scores.json). The full response is kept in samples.jsonl."""
    report_to: list[Literal["tensorboard", "wandb", "none"]] | None = None
    """Trackers the scores and per-question samples are sent to; None: those of
    `training.report_to` (next to the training curves of the same run); an evaluation-only recipe
    names its own here."""
    hub: HubResultsConfig | None = None
    """Opt-in: push lm-eval's results and samples files to the hub (HF_TOKEN) after the evaluation,
    through lm-eval's EvaluationTracker; None: the files stay in `eval/lm_eval/`."""
    stop: Literal["harness", "metamath"] = "harness"
    """Stop sequences: `harness` (ours: `### Instruction`, a new Alpaca preamble, end-of-text tokens)
    or `metamath` (MetaMath's own evaluation list: Question, USER, ASSISTANT, Instruction, Response)."""
    choice_label: Literal["last", "authors", "first"] = "last"
    """X-CSQA label rule: `last` bracketed label (the paper); `authors` the first "The answer is (X)."
    (the authors' script: none counts wrong); `first` the first bracketed label anywhere (ours)."""
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
    def _vllm_settings_need_vllm(self) -> EvaluationConfig:
        if self.backend != "vllm" and self.tensor_parallel_size > 1:
            raise ValueError(
                "tensor_parallel_size is a vLLM setting; set backend: vllm "
                "(the hf backend runs one GPU per process: data_parallel_size)"
            )
        return self

    @model_validator(mode="after")
    def _prompting_fits_together(self) -> EvaluationConfig:
        if self.chat_template_args and not self.chat_template:
            raise ValueError("chat_template_args are passed to the chat template: set chat_template: true")
        if self.reasoning_end is not None and not self.reasoning_end.strip():
            raise ValueError("reasoning_end is empty; give the marker that ends the reasoning, e.g. '</think>'")
        if self.reasoning_end is not None and self.chat_template_args.get("enable_thinking") is False:
            raise ValueError(
                "reasoning_end is set but chat_template_args.enable_thinking is false: the template then "
                "closes the reasoning inside the prompt, so no response would contain the marker; remove "
                "reasoning_end (or enable thinking)"
            )
        return self

    def new_tokens(self, model: str) -> int:
        """The max new tokens of ``model`` (base or trained)."""
        if isinstance(self.max_new_tokens, int):
            return self.max_new_tokens
        return self.max_new_tokens.get(model, PAPER_MAX_NEW_TOKENS)  # type: ignore[call-overload]

    @model_validator(mode="after")
    def _each_task_once(self) -> EvaluationConfig:
        names = [task.name for task in self.tasks]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"task {', '.join(twice)} listed twice; merge the entries")
        return self
