"""The files the harness writes and reads back: one pydantic model per file, and the run layout.

Writers build these models and readers validate against them, so a file of the wrong shape (a
hand edit, a file from another tool, a truncated write) is one error naming the file, the field
and the fix, never a ``KeyError`` deep in a later stage. Models keep unknown keys (``extra:
allow``): files carry more than their readers need, and newer files stay readable.

    <run>/
      .harness-run.json          the ownership mark (a folder without it is not the harness's)
      .lock                      held (flock) by the one invocation working on the run
      manifest.json              Manifest: the recipe and environment of the last invocation
      invocations.jsonl          Invocation per line: every command that ran on the run
      selection/ train/ eval/ report/    finished stages, each with DONE.json (Done)
      <stage>.partial/           the attempt in progress (ATTEMPT.json), published on success
      history/<stage>-<fingerprint>/     earlier results, restored when their inputs come back
      stages/<name>/             a run of its own per earlier training stage (recipe `stages:`)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from harness.errors import HarnessError

# -- the run layout ----------------------------------------------------------------------------

RUNS_DIR = "runs"
"""Where a recipe's run goes unless --run-dir says: ``runs/<recipe name>/``."""
STAGE_DIRS = {"select": "selection", "train": "train", "evaluate": "eval", "report": "report"}
MARKER = "DONE.json"
ATTEMPT = "ATTEMPT.json"
OWNER_MARK = ".harness-run.json"
LOCK_FILE = ".lock"
MANIFEST = "manifest.json"
INVOCATIONS = "invocations.jsonl"
HISTORY = "history"
STAGES_DIR = "stages"
"""A chained recipe's earlier training stages, each a run of its own: ``stages/<name>/``."""
SELECTION_FILE = "selection.json"
TRAIN_FILE = "train.json"
SCORES_FILE = "scores.json"
SAMPLES_FILE = "samples.jsonl"
DELTA_FILE = "delta.safetensors"
DELTA_INFO = "delta.json"
MERGED_DIR = "merged"
ADAPTER_DIR = "adapter"
LM_EVAL_DIR = "lm_eval"
"""eval/lm_eval/<model>/: lm-eval's own results and samples files, in lm-eval's schema."""


def default_run_dir(recipe_name: str) -> Path:
    return Path(RUNS_DIR) / recipe_name


class Artifact(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=True)


# -- run bookkeeping ---------------------------------------------------------------------------


class OwnerMark(Artifact):
    """``.harness-run.json``: this folder was created by the harness as a run directory."""

    harness_run: bool
    created: str


class Manifest(Artifact):
    """``manifest.json``: the resolved recipe and the environment of the last invocation."""

    class RecipeName(Artifact):
        name: str

    recipe: RecipeName
    versions: dict[str, str | None]
    git_commit: str | None = None
    seed: int
    host: dict[str, Any]
    environment: dict[str, Any] | None = None
    """`harness env`'s record (versions, Python, OS, CPU, GPUs, driver, CUDA); None in older runs."""


class Invocation(Artifact):
    """One line of ``invocations.jsonl``."""

    time: str
    host: str
    pid: int
    argv: list[str]
    recipe: str
    recipe_fingerprint: str


class OutputFile(Artifact):
    size: int
    sha256: str
    mtime_ns: int
    """Only to skip re-hashing an untouched file; the size and sha256 decide."""


def seal_of(data: dict[str, Any]) -> str:
    """A sha256 of a marker's fields (but ``seal``): a marker edited by hand no longer matches it."""
    fields = {key: value for key, value in data.items() if key != "seal"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


class Done(Artifact):
    """``<stage>/DONE.json``: the stage finished on these inputs with these output files."""

    @model_validator(mode="before")
    @classmethod
    def _sealed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "seal" in data and data["seal"] != seal_of(data):
            raise ValueError("edited after the stage finished (its seal does not match its fields), so not trusted")
        return data

    fingerprint: str
    output_id: str
    """Identifies this result: downstream stages fingerprint it."""
    seconds: float = 0.0
    finished: str = ""
    outputs: dict[str, OutputFile] | None = None
    """Relative path -> size and sha256 of every file the stage left (None: written by an older
    harness, before outputs were recorded)."""
    upstream: dict[str, str] = {}
    recipe: dict[str, Any] | None = None
    """The resolved recipe of the invocation that produced this result."""
    seal: str | None = None
    """:func:`seal_of` the other fields (None: written before markers were sealed)."""


class Attempt(Artifact):
    """``<stage>.partial/ATTEMPT.json``: the inputs of the attempt in progress."""

    fingerprint: str


# -- stage outputs -----------------------------------------------------------------------------


class SelectedModel(Artifact):
    source: str
    revision: str | None = None
    model_type: str | None = None
    architecture: str | None = None
    num_layers: int
    d_inter: int | None = None
    """The FFN's intermediate size (neurons per layer the probe watches)."""


class OpenChoice(Artifact):
    """One choice the paper leaves open, as a stage made it: its recipe field, value and origin."""

    field: str
    what: str
    value: Any
    origin: str
    """``paper``, ``authors' code`` or ``ours`` (stated nowhere)."""
    note: str


class SelectionPolicy(Artifact):
    """The `selection.layers` settings and their description."""

    policy: str | None = None
    peak_search: str = "all_layers"
    description: str | None = None


class ProbeRecord(Artifact):
    """The probe's settings (`selection.probe`), its questions and tokens."""

    firing_share: float = 0.0
    dataset: str | None = None
    questions_per_language: int | None = None
    tokens: dict[str, int] | None = None
    device: str | None = None
    seconds: float | None = None


class RuleSetting(Artifact):
    field: str
    value: Any
    definition: str


class CheckRule(Artifact):
    activation_threshold: RuleSetting
    boundary_rule: RuleSetting
    selected: str


class ProbeCheck(Artifact):
    """What SLAM's rule (`selection.check`) picks on this model, beside the pinned layers."""

    pinned_layers: list[int]
    pinned_by: str
    probe_layers: list[int]
    agrees: bool
    rule: CheckRule
    boundary: int | None = None
    theta: float | None = None
    error: str | None = None
    warning: str | None = None


class Selection(Artifact):
    """``selection/selection.json``: the model, languages, policy and probe settings; per layer the
    activation rate of each language, the overlap of each non-English language with English and
    its average, and the MSD; the language-specific boundary, theta, and the selected layers.

    Only ``selected_layers`` is required (what training reads; None, with ``error``, when the
    policy chose none); the probe's fields are None when the policy ran without it."""

    model: SelectedModel | None = None
    languages: list[str] = []
    policy: SelectionPolicy = SelectionPolicy()
    probe: ProbeRecord | None = None
    layers: list[dict[str, Any]] | None = None
    """Per layer: ``activation_rate`` per language, ``overlap_with_en`` per non-English language,
    ``average_overlap``, ``msd``."""
    peak_search: str | None = None
    peak_searched_from: int | None = None
    boundary: int | None = None
    theta: float | None = None
    language_specific_layers: list[int] | None = None
    msd_selected: list[int] | None = None
    selected_layers: list[int] | None
    error: str | None = None
    sublayers: str = "up_down"
    parameter_names: dict[str, list[str]] = {}
    probe_check: ProbeCheck | None = None
    open_choices: list[OpenChoice] = []

    def chosen_layers(self, where: Path | str) -> list[int]:
        """The selected layers, or an error when the selection chose none."""
        if not self.selected_layers:
            raise HarnessError(f"{where}: the selection chose no layer; see its 'error' and rerun `harness select`")
        return list(self.selected_layers)


class TrainPlan(Artifact):
    layers: list[int] | None = None
    trainable: int
    total: int
    share: float
    """Fraction (0-1) of all parameters trained."""


class LossPoint(Artifact):
    step: int
    loss: float


class TrainData(Artifact):
    """What the training data was: sources, and per language and side the pairs loaded, dropped, kept
    and used against the paper's Table 1 (``accounting``)."""

    accounting: dict[str, Any] | None = None


class TrainRecord(Artifact):
    """``train/train.json``."""

    mode: str
    plan: TrainPlan
    hyperparameters: dict[str, Any] = {}
    steps: int
    loss_curve: list[LossPoint] = []
    wall_time_s: float | None = None
    train_runtime_s: float | None = None
    throughput_tokens_per_s: float | None = None
    steady_tokens_per_second: float | None = None
    """Non-padding tokens/s from the second step on, checkpoint saves apart (harness/training/speed.py)."""
    share_of_bf16_peak: float | None = None
    gpu_hours: float | None = None
    outputs: dict[str, Any] = {}
    data: TrainData = TrainData()
    open_choices: list[OpenChoice] = []


class BaseModelRef(Artifact):
    source: str | None = None
    revision: str | None = None


class DeltaRecord(Artifact):
    """``train/delta.json``: the tensors of ``delta.safetensors`` and the base model they apply to."""

    base_model: BaseModelRef = BaseModelRef()
    """A hub id or folder, or ``run:<folder>`` (a chained stage: that run's trained model)."""
    mode: str | None = None
    layers: list[int] | None = None
    sublayers: str | None = None
    file: str
    names: list[str]
    shapes: dict[str, list[int]]
    dtype: str | list[str]
    parameters: int
    bytes: int
    sha256: str


class Numbers(Artifact):
    """Scores: a NaN or infinite accuracy is refused where it is read (it would pass every gate).

    The mode of record gives ``accuracy`` (and ``correct``); every other extraction mode adds
    ``accuracy_<mode>`` (and ``correct_<mode>``) beside it."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    def other_modes(self) -> list[str]:
        """The extraction modes besides the one of record that these scores carry."""
        return [key.removeprefix("accuracy_") for key in self.model_extra or {} if key.startswith("accuracy_")]

    def accuracy_in(self, mode: str) -> float | None:
        value = (self.model_extra or {}).get(f"accuracy_{mode}")
        return None if value is None else float(value)

    def correct_in(self, mode: str) -> int | None:
        return (self.model_extra or {}).get(f"correct_{mode}")


class LanguageScore(Numbers):
    n: int
    correct: int | None = None
    accuracy: float | None = None
    ci95: list[float] | None = None


class AverageScore(Numbers):
    languages: list[str] = []
    accuracy: float | None = None
    ci95: list[float] | None = None


class TaskScores(Numbers):
    task_version: Any = None
    prompt_sha: str | None = None
    """A digest of the task's prompt: two scores compare only when theirs are equal."""
    data: str | None = None
    """Where the questions came from (a file, a hub id, or bundled with harness)."""
    data_commit: str | None = None
    data_ref: str | None = None
    limit: int | None = None
    languages: dict[str, LanguageScore] = {}
    average: AverageScore | None = None
    pcr: dict[str, float | None] | None = None
    pcr_average: float | None = None


class ModelScores(Artifact):
    source: str | None = None
    max_new_tokens: int | None = None
    """The room this model was given to answer (None in older runs: see the settings)."""
    tasks: dict[str, TaskScores] = {}


class Scores(Artifact):
    """``eval/scores.json``."""

    harness_version: str | None = None
    lm_eval_version: str | None = None
    extraction: str | None = None
    """The answer extraction of record (``paper`` or ``strict``)."""
    settings: dict[str, Any] = {}
    """How the models were evaluated: backend, batch size, max new tokens, seed, stop strings,
    chat template, system prompt, hardware, ..."""
    models: dict[str, ModelScores]
    comparisons: dict[str, Any] | None = None


class SampleRow(Artifact):
    """One line of ``eval/<task>/samples.jsonl``."""

    model: str
    lang: str
    doc_id: int | str
    id: int | str
    """The benchmark's question id: rows of two runs pair on it."""
    correct: dict[str, bool]
    """Per extraction mode (``paper``, ``strict``)."""


# -- reading -----------------------------------------------------------------------------------

Model = TypeVar("Model", bound=BaseModel)


def read_json_file(path: Path) -> Any:
    """Parsed JSON, or one error naming the file (missing, unreadable, not JSON)."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HarnessError(f"{path}: file not found") from None
    except UnicodeDecodeError as error:
        raise HarnessError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise HarnessError(f"{path}: line {error.lineno}: not valid JSON ({error.msg})") from None
    except RecursionError:
        raise HarnessError(f"{path}: nested too deeply to be a file the harness wrote") from None


def shape_error(path: Path, error: ValidationError, fix: str, line: int | None = None) -> HarnessError:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or ("(the line)" if line else "(the whole file)")
    where = f"{path}: line {line}" if line is not None else str(path)
    return HarnessError(f"{where}: {field}: {first['msg'].lower()}; {fix}")


def parse_artifact(path: Path, model: type[Model], data: Any, fix: str) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise shape_error(path, error, fix) from None


def read_artifact(path: Path, model: type[Model], fix: str) -> Model:
    """``path`` validated as ``model``; ``fix`` says what to do when it is broken."""
    try:
        data = read_json_file(path)
    except HarnessError as error:
        if not fix or "file not found" in str(error):
            raise
        raise HarnessError(f"{error}; {fix}") from None
    return parse_artifact(Path(path), model, data, fix)


def redo(stage: str, run: Path | str | None = None) -> str:
    """The fix for a broken output of ``stage`` (of the run folder ``run`` when known)."""
    return f"redo that stage: `harness run RECIPE --run-dir {run or 'RUN'} --force {stage}`"


def read_samples(path: Path, fix: str = redo("evaluate")) -> list[SampleRow]:
    """Every row of a samples.jsonl file."""
    from harness.textfiles import read_json_lines

    rows = []
    for number, record in read_json_lines(path):
        try:
            rows.append(SampleRow.model_validate(record))
        except ValidationError as error:
            raise shape_error(path, error, fix, line=number) from None
    return rows


def latest_results(eval_dir: Path, model: str) -> Path | None:
    """The newest lm-eval ``results_*.json`` of a model in a run's eval folder."""
    files = sorted((Path(eval_dir) / LM_EVAL_DIR / model).glob("results_*.json"))
    return files[-1] if files else None
