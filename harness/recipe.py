"""Recipes: the YAML that drives a run, its schema, loading, overrides and validation.

Every problem is reported at once, each as ``file: dotted.path: message``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from harness.errors import HarnessError
from harness.evaluation.config import EvaluationConfig
from harness.languages import MATH_LANGUAGES, check_known
from harness.models.config import ModelConfig
from harness.registry import suggest
from harness.reporting.config import ReportConfig
from harness.schema import Section
from harness.selection.config import SelectionConfig
from harness.shipped import display_name, locate_recipe, shipped_folder
from harness.training.config import TrainingConfig, TrainingStage

DEFAULTS_KEY = "defaults"


class Recipe(Section):
    """One experiment: model, layer selection, training, evaluation and report."""

    name: str
    """Short identifier (letters, digits, `_`, `.`, `-`); names the run and report folders."""
    description: str = ""
    reproduces: str | None = None
    """What this recipe reproduces (paper, table, row), if anything."""
    seed: int = 42
    languages: list[str] = Field(default_factory=lambda: list(MATH_LANGUAGES), min_length=1)
    """Language codes, English included (the pivot of overlap and PCR)."""
    model: ModelConfig
    selection: SelectionConfig | None = None
    """Omit for evaluation-only recipes."""
    stages: list[TrainingStage] = Field(default_factory=list)
    """Training stages before `training:`, in order (QAlign: question alignment, then `training:` is the
    response alignment). Each trains the model the one before it trained (the first trains `model`) in a
    run of its own under `<run>/stages/<name>/`, skipped when up to date and resumed on its own; a
    change to a stage redoes it and every stage after it. `training:` starts from the last one's model;
    `base` in evaluation stays `model`."""
    training: TrainingConfig | None = None
    """Omit for evaluation-only recipes."""
    evaluation: EvaluationConfig | None = None
    report: ReportConfig | None = None

    @field_validator("name")
    @classmethod
    def _usable_as_folder_name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
            raise ValueError(
                f"{name!r} must be letters, digits, '_', '.' or '-' (it names folders), e.g. "
                f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name).strip('_.-') or 'my_recipe'!r}"
            )
        return name

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, languages: list[str]) -> list[str]:
        check_known(languages)
        if len(set(languages)) != len(languages):
            raise ValueError("a language is listed twice")
        return languages

    @model_validator(mode="after")
    def _stages_fit_together(self) -> Recipe:
        if self.training is not None and self.training.mode != "full" and self.selection is None:
            raise ValueError("training.mode is selective or lora, which needs a `selection:` section")
        if self.evaluation is not None and "trained" in self.evaluation.models and self.training is None:
            raise ValueError(
                "evaluation.models lists 'trained' but the recipe has no `training:` section; "
                "use `models: [base]` for an evaluation-only recipe"
            )
        if self.stages and self.training is None:
            raise ValueError("`stages:` train before `training:`, which is missing; add the last stage as `training:`")
        names = [stage.name for stage in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stages: two stages share a name ({', '.join(names)}); each names a folder")
        if self.selection is not None and self.selection.after_training:
            selection = self.selection
            if self.training is None or self.evaluation is None:
                raise ValueError(
                    "selection.after_training probes the trained model after the evaluate stage: the recipe needs "
                    "`training:` and `evaluation:` sections"
                )
            if not (selection.layers.needs_probe or selection.check is not None or selection.probe.always):
                raise ValueError(
                    "selection.after_training compares with the probe of the base model, which this policy does "
                    "not run: add `selection.check: {policy: slam_msd}` or `selection.probe.always: true`"
                )
        if self.selection is not None and "en" not in self.languages:
            raise ValueError("languages must include 'en': SLAM measures overlap with English")
        return self

    def resolved(self) -> dict[str, Any]:
        """The recipe with every default filled in, as plain data."""
        return self.model_dump(mode="json")


# -- loading ---------------------------------------------------------------------------------


MAX_RECIPE_BYTES = 1 << 20
"""A recipe is a page of settings; a file above this is not one (and would cost the parser memory)."""
MAX_NESTING = 32
"""Sections nest a few levels deep; a file nested deeper is not a recipe (and ~2,000 levels overflow
the parser's stack)."""


def nesting_depth(data: Any) -> int:
    """How deeply mappings and lists nest in ``data`` (a scalar: 0), without recursion."""
    deepest, stack = 0, [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth + 1)
            if depth + 1 <= MAX_NESTING:
                stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a recipe file and the chain of files it names under ``defaults:``."""
    if not path.is_file():
        raise HarnessError(
            f"{path}: recipe file not found; check the path (`harness ls recipes` lists the shipped ones)"
        )
    if path.stat().st_size > MAX_RECIPE_BYTES:
        raise HarnessError(
            f"{path}: {path.stat().st_size:,} bytes, more than a recipe holds ({MAX_RECIPE_BYTES:,} at most); "
            "point at a recipe file"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise HarnessError(f"{path}: nested too deeply for a recipe ({MAX_NESTING} levels at most)") from None
    except UnicodeDecodeError as error:
        raise HarnessError(f"{path}: not UTF-8 text (byte {error.start}); save the recipe as UTF-8") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise HarnessError(f"{path}: {where}not valid YAML ({getattr(error, 'problem', error)})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise HarnessError(f"{path}: a recipe is a mapping of sections (model:, selection:, ...)")
    if nesting_depth(data) > MAX_NESTING:
        raise HarnessError(f"{path}: nested too deeply for a recipe ({MAX_NESTING} levels at most)")
    parent = data.pop(DEFAULTS_KEY, None)
    if parent is None:
        return data
    if not str(parent).endswith((".yaml", ".yml")):
        raise HarnessError(f"{path}: defaults: names a recipe file (.yaml or .yml); {str(parent)[:80]!r} is not one")
    found = locate_recipe(str(parent), relative_to=path.parent)
    if found is None or not found.is_file():
        raise HarnessError(
            f"{path}: defaults: {parent!r} not found (looked in {path.parent.resolve()} and among the shipped "
            f"recipes); point it at an existing file, relative to {path.name}, or at a shipped one "
            "(`harness ls recipes`; `harness cp RECIPE DEST` copies one with its defaults: rewritten)"
        )
    parent_path = found.resolve()
    if parent_path in seen:
        raise HarnessError(f"{path}: defaults: {parent!r} forms a cycle")
    return deep_merge(_read_yaml(parent_path, (*seen, path.resolve())), data)


def deep_merge(base: dict, override: dict) -> dict:
    """Mappings merge key by key; anything else in ``override`` replaces ``base``. A mapping whose
    ``policy`` tag changes (``selection.layers: {policy: slam_msd}`` over ``first_k``) replaces the
    parent's: the other policy's keys (``k``) mean nothing to it."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        parent = merged.get(key)
        if (
            isinstance(value, dict)
            and isinstance(parent, dict)
            and value.get("policy", parent.get("policy")) != parent.get("policy")
        ):
            merged[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(parent, dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def parse_override(text: str) -> tuple[list[str], Any]:
    """``training.epochs=2`` -> (["training", "epochs"], 2); values are read as YAML scalars."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8 reach argv as lone surrogates
        shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        raise HarnessError(f"override {shown!r}: not UTF-8 text; retype it in a UTF-8 terminal") from None
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise HarnessError(f"override {text!r}: write it as dotted.key=value, e.g. training.epochs=1")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_override(data: dict, path: list[str], value: Any, text: str) -> None:
    """Set ``data[path] = value``; lists are addressed by index (``evaluation.tasks.0.limit``)."""
    node: Any = data
    for depth, key in enumerate(path[:-1]):
        if isinstance(node, list):
            node = node[_list_index(node, key, path[: depth + 1], text)]
            continue
        if not isinstance(node.get(key), (dict, list)):
            node[key] = {}
        node = node[key]
    last = path[-1]
    if isinstance(node, list):
        node[_list_index(node, last, path, text)] = value
    else:
        node[last] = value


def _list_index(node: list, key: str, path: list[str], text: str) -> int:
    if not key.isdigit() or int(key) >= len(node):
        raise HarnessError(
            f"override {text!r}: {'.'.join(path)}: a list of {len(node)} items; use an index 0..{len(node) - 1}"
        )
    return int(key)


def _format_errors(error: ValidationError, origin: str, overridden: dict[tuple[str, ...], str]) -> list[str]:
    lines = []
    for item in error.errors():
        loc = tuple(str(part) for part in item["loc"])
        where = ".".join(loc) or "(top level)"
        source = origin
        for path, text in overridden.items():
            if loc[: len(path)] == path or path[: len(loc)] == loc:
                source = f"{origin} (override {text})"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key; remove it or check its spelling"
            allowed = _allowed_keys(loc[:-1])
            if allowed:
                message += f"{suggest(loc[-1], allowed)}; allowed here: {', '.join(sorted(allowed))}"
        elif item["type"] == "missing":
            message = "required; add it"
        lines.append(f"{source}: {where}: {message}")
    return lines


def _allowed_keys(loc: tuple[str, ...]) -> list[str]:
    """Field names of the schema section at ``loc``, walking lists, optionals and union tags."""
    candidates: list[Any] = [Recipe]
    for part in loc:
        if part.isdigit():
            continue
        by_tag = {_tag(model): model for model in candidates}
        if part in by_tag:  # pydantic puts a discriminated union's tag in the location
            candidates = [by_tag[part]]
            continue
        fields = candidates[0].model_fields if len(candidates) == 1 else {}
        if part not in fields:
            return []
        candidates = _models_in(fields[part].annotation)
    return list(candidates[0].model_fields) if len(candidates) == 1 else []


def _tag(model: Any) -> Any:
    """A union member's tag: its `policy` (selection) or `kind` (training data) literal."""
    import typing

    for name in ("policy", "kind"):
        field = model.model_fields.get(name)
        if field is not None:
            values = typing.get_args(field.annotation)
            return values[0] if values else field.default
    return None


def _models_in(annotation: Any) -> list[Any]:
    """The pydantic models inside an annotation (``X | None``, ``list[X]``, a union)."""
    import typing

    if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def load_recipe(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Load, merge defaults, apply ``key=value`` overrides and validate; all errors at once.

    ``path`` is a file, or the name of a shipped recipe (``recipes/slam_7b.yaml``; see
    :mod:`harness.shipped`)."""
    path = locate_recipe(path) or Path(path)
    data = _read_yaml(path)
    _check_is_a_recipe(path, data)
    overridden: dict[tuple[str, ...], str] = {}
    for text in overrides:
        keys, value = parse_override(text)
        apply_override(data, keys, value, text)
        overridden[tuple(keys)] = text
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as error:
        raise HarnessError("\n".join(_format_errors(error, str(path), overridden))) from None
    return recipe


def _check_is_a_recipe(path: Path, data: dict) -> None:
    """One clear line for another kind of YAML file (a baselines file, a CI config) instead of an
    error for each of its keys."""
    foreign = [key for key in data if key not in Recipe.model_fields]
    if "name" in data or "model" in data or not foreign:
        return
    if {"benchmark", "rows"} <= set(data):
        raise HarnessError(f"{path}: not a recipe but a published-baselines file (`harness ls baselines` reads those)")
    raise HarnessError(f"{path}: not a recipe: no name: or model:, and {', '.join(foreign)} are not recipe sections")


def recipe_files(paths: Sequence[str | Path]) -> list[Path]:
    """Recipe files named directly or found in folders; ``_*.yaml`` are shared fragments."""
    files: list[Path] = []
    for name in paths:
        path = locate_recipe(name)
        if path is None:
            raise HarnessError(
                f"{name}: no such file or folder, and no shipped recipe of that name (`harness ls recipes`)"
            )
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.y*ml") if not p.name.startswith("_"))
        else:
            files.append(path)
    return files


def recipe_summaries(folder: str | Path | None = None) -> list[dict]:
    """`harness ls recipes [FOLDER]`: file, name, what each recipe reproduces, or the first line of its
    error; the shipped recipes when ``folder`` is None (their files named as ``recipes/...``)."""
    if folder is None:
        folder = shipped_folder("recipes")
    elif not Path(folder).is_dir():
        raise HarnessError(f"{folder}: not a folder; give a folder of recipe files, or none for the shipped recipes")
    rows = []
    for file in recipe_files([str(folder)]):
        try:
            recipe = load_recipe(file)
            rows.append(
                {
                    "file": display_name(file),
                    "name": recipe.name,
                    "reproduces": recipe.reproduces,
                    "description": recipe.description,
                }
            )
        except HarnessError as error:
            rows.append({"file": display_name(file), "error": str(error).splitlines()[0]})
    return rows


def local_paths(recipe: Recipe, stages: Iterable[str] = ("select", "train", "evaluate")) -> list[tuple[str, str]]:
    """(recipe key, path) of the local files the stages read besides models and training data: the
    probe's questions, the tasks' data, the hostfile."""
    paths = []
    if "select" in stages and recipe.selection is not None and recipe.selection.probe.path:
        paths.append(("selection.probe.path", recipe.selection.probe.path))
    if "evaluate" in stages and recipe.evaluation is not None:
        paths += [(f"evaluation.tasks.{i}.path", t.path) for i, t in enumerate(recipe.evaluation.tasks) if t.path]
    if "train" in stages and recipe.training is not None and recipe.training.hostfile:
        paths.append(("training.hostfile", recipe.training.hostfile))
    return paths


def check_local_paths(recipe: Recipe, origin: str) -> list[str]:
    """Problems with local files the recipe names (models and datasets), without loading them."""
    from harness.models.loading import resolve_source

    problems = []
    try:
        resolve_source(recipe.model.source)
    except HarnessError as error:
        problems.append(f"{origin}: model.source: {str(error).removeprefix('model.source ')}")
    for where, value in local_paths(recipe):
        if not Path(value).exists():
            problems.append(
                f"{origin}: {where}: {value!r} does not exist; fix the path (relative to the current folder)"
            )
    return problems
