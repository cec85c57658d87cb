"""What a recipe needs from this machine (hub ids, local files, GPUs), checked before a run starts.

``check_hub`` runs before the run folder is made, so a first run that cannot get its model or
data fails in about a second and leaves nothing behind; ``machine_warnings`` is what
``harness run --dry-run`` says about the machine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness import hub
from harness.errors import HarnessError
from harness.recipe import Recipe, check_local_paths, load_recipe, local_paths, recipe_files


@dataclass(frozen=True)
class HubNeed:
    """A hub model or dataset a stage loads."""

    place: str
    """Where the recipe names it, e.g. `model.source`, `evaluation.tasks.0`."""
    repo_id: str
    kind: Literal["model", "dataset"]
    revision: str | None = None

    def cached(self) -> bool:
        if self.kind == "model":
            return hub.model_cached(self.repo_id, self.revision)
        return hub.dataset_cached(self.repo_id)


def _model_needs(recipe: Recipe) -> list[HubNeed]:
    from harness.models.loading import resolve_source

    needs = []
    for place, source, revision in (
        ("model.source", recipe.model.source, recipe.model.revision),
        ("model.tokenizer", recipe.model.tokenizer, None),
    ):
        if source and resolve_source(source).kind == "hub":
            needs.append(HubNeed(place, source, "model", revision))
    return needs


def _translation_need(recipe: Recipe, place: str = "training.data.source", data=None) -> list[HubNeed]:
    from harness.translation import resolve_source

    if data is None:
        data = recipe.training.data if recipe.training is not None else None
    if data is None or resolve_source(data.source)[0] != "hub":
        return []
    return [HubNeed(place, data.source, "dataset", data.revision)]


def _benchmark_need(place: str, name: str, path: str | None) -> list[HubNeed]:
    from harness.benchmarks import get_benchmark

    benchmark = get_benchmark(name)
    if path or benchmark.default_path or not benchmark.hub_id:
        return []
    return [HubNeed(place, benchmark.hub_id, "dataset")]


def hub_needs(recipe: Recipe, stages: list[str]) -> list[HubNeed]:
    """The hub models and datasets the named stages load."""
    needs: list[HubNeed] = []
    if {"select", "train", "evaluate"} & set(stages):
        needs += _model_needs(recipe)
    if "select" in stages and recipe.selection is not None:
        probe = recipe.selection.probe
        if recipe.selection.runs_probe:
            if probe.dataset != "translation":
                needs += _benchmark_need("selection.probe.dataset", probe.dataset, probe.path)
            elif not probe.path:
                needs += _translation_need(recipe, "selection.probe")
    if "train" in stages:
        needs += _translation_need(recipe)
        for index, stage in enumerate(recipe.stages):  # earlier training stages (QAlign's question alignment)
            needs += _translation_need(recipe, f"stages.{index}.training.data.source", stage.training.data)
    if "evaluate" in stages and recipe.evaluation is not None:
        for index, task in enumerate(recipe.evaluation.tasks):
            needs += _benchmark_need(f"evaluation.tasks.{index}", task.name, task.path)
    merged: dict[tuple[str, str], HubNeed] = {}  # one entry per repo, naming every place
    for need in needs:
        key = (need.repo_id, need.kind)
        first = merged.get(key)
        merged[key] = (
            need
            if first is None
            else HubNeed(f"{first.place}, {need.place}", first.repo_id, first.kind, first.revision)
        )
    return list(merged.values())


def missing_from_hub(recipe: Recipe, stages: list[str]) -> list[HubNeed]:
    """What the stages need from the hub when it cannot be used and the local cache lacks it."""
    needs = hub_needs(recipe, stages)
    if not needs or hub.hub_reachable():
        return []
    return [need for need in needs if not need.cached()]


def check_hub(recipe: Recipe, stages: list[str]) -> None:
    """Fail, naming every missing model and dataset and the fix, when the stages cannot get them."""
    missing = missing_from_hub(recipe, stages)
    if missing:
        listed = "; ".join(f"{need.repo_id} ({need.place})" for need in missing)
        raise HarnessError(
            f"{hub.why_unreachable()} and the local cache lacks what this run needs ({listed}). "
            "Point these at local copies (model.source: a model folder; a task's or the probe's "
            "`path`: the benchmark's files; training.data.source: a folder or JSONL file), or fetch "
            "them where there is a network, copy the Hugging Face cache here and set HF_HUB_OFFLINE=1"
        )


TRACKER_PACKAGES = {
    "tensorboard": (("tensorboard", "tensorboardX"), "harness[tensorboard]"),
    "wandb": (("wandb",), "harness[wandb]"),
    "mlflow": (("mlflow",), "mlflow"),
    "trackio": (("trackio",), "trackio"),
    "comet_ml": (("comet_ml",), "comet_ml"),
    "neptune": (("neptune",), "neptune"),
    "clearml": (("clearml",), "clearml"),
    "azure_ml": (("azureml",), "azureml-core"),
    "codecarbon": (("codecarbon",), "codecarbon"),
    "dagshub": (("dagshub",), "dagshub"),
    "dvclive": (("dvclive",), "dvclive"),
    "flyte": (("flytekit",), "flytekit"),
    "swanlab": (("swanlab",), "swanlab"),
}
"""A `report_to` tracker: the modules transformers looks for (any one will do) and what to install."""

ALL_STAGES = ("select", "train", "evaluate", "report")


def _installed(*modules: str) -> bool:
    import importlib.util

    return any(importlib.util.find_spec(module) is not None for module in modules)


def missing_packages(recipe: Recipe, stages: Iterable[str] = ALL_STAGES) -> list[str]:
    """Packages the stages need that this install lacks: one line each, the place and what to install.

    Checked by `harness validate`, `harness run --dry-run` and before any stage starts, so a missing
    tracker or DeepSpeed stops a run before it selects, not after."""
    problems: list[str] = []
    stages = list(stages)
    trackers: list[tuple[str, list[str]]] = []  # where the recipe names them, and the names
    if "train" in stages and recipe.training is not None:
        trackers.append(("training.report_to", list(recipe.training.report_to)))
    if "evaluate" in stages and recipe.evaluation is not None:  # the evaluation logs there too
        if recipe.evaluation.report_to is not None:
            trackers.append(("evaluation.report_to", list(recipe.evaluation.report_to)))
        elif recipe.training is not None:
            trackers.append(("training.report_to", list(recipe.training.report_to)))
    for place, names in trackers:
        for name in names:
            modules, install = TRACKER_PACKAGES.get(name, ((), ""))
            line = (
                f"{place}: {name!r} needs the {modules[0]} package, which is not installed: "
                f"pip install '{install}' (or report_to: [none])"
                if modules
                else ""
            )
            if modules and not _installed(*modules) and line not in problems:
                problems.append(line)
    training = recipe.training if "train" in stages else None
    if (
        training is not None
        and (training.deepspeed or training.launcher == "deepspeed")
        and not _installed("deepspeed")
    ):
        place = "training.deepspeed" if training.deepspeed else "training.launcher"
        problems.append(f"{place}: DeepSpeed is not installed: pip install 'harness[train]'")
    evaluation = recipe.evaluation if "evaluate" in stages else None
    if evaluation is not None and evaluation.backend == "vllm" and not _installed("vllm"):
        problems.append(
            "evaluation.backend: vllm is not installed: pip install 'harness[vllm]' on a GPU machine (or backend: hf)"
        )
    return problems


def check_packages(recipe: Recipe, stages: Iterable[str]) -> None:
    """Fail before a run starts when the stages need a package this install lacks."""
    missing = missing_packages(recipe, stages)
    if missing:
        raise HarnessError("\n".join(f"recipe {recipe.name}: {line}" for line in missing))


def _gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _missing_paths(recipe: Recipe, stages: list[str]) -> list[str]:
    """Local files the recipe names that are not there (hub ids and shipped data aside)."""
    from harness.models.loading import resolve_source as model_source
    from harness.translation import resolve_source as data_source

    problems = []
    sources: list[tuple[Callable[[str], object], str]] = []
    if {"select", "train", "evaluate"} & set(stages):
        sources.append((model_source, recipe.model.source))
        if recipe.model.tokenizer:
            sources.append((model_source, recipe.model.tokenizer))
    if "train" in stages and recipe.training is not None:
        sources.append((data_source, recipe.training.data.source))
        sources += [(data_source, stage.training.data.source) for stage in recipe.stages]
    for resolve, source in sources:
        try:
            resolve(source)
        except HarnessError as error:
            problems.append(str(error))
    problems += [
        f"{place} {path!r}: not found"
        for place, path in local_paths(recipe, stages)
        if not Path(path).expanduser().exists()
    ]
    return problems


def machine_warnings(recipe: Recipe, stages: list[str]) -> list[str]:
    """What this machine lacks for the stages: GPUs, hub access, local files. Empty when nothing."""
    warnings = list(missing_packages(recipe, stages))
    training = recipe.training if "train" in stages else None
    if training is not None and training.launcher != "none" and training.hostfile is None:
        gpus = _gpu_count()
        if gpus < training.num_gpus:
            warnings.append(
                f"training launches {training.num_gpus} processes, one per GPU (training.num_gpus, launcher "
                f"{training.launcher}); this machine has {gpus or 'no'} GPU{'' if gpus == 1 else 's'}"
                + (": they would share the CPU, far slower" if not gpus else "")
            )
    if (
        "evaluate" in stages
        and recipe.evaluation is not None
        and recipe.evaluation.backend == "vllm"
        and not _gpu_count()
    ):
        warnings.append("evaluation.backend vllm needs a GPU; this machine has none (use backend: hf)")
    missing = missing_from_hub(recipe, stages)
    if missing:
        warnings.append(
            f"{hub.why_unreachable()} and the local cache lacks: "
            + "; ".join(f"{need.repo_id} ({need.place})" for need in missing)
        )
    warnings += _missing_paths(recipe, stages)
    return warnings


def validate_paths(paths: list[str]) -> tuple[int, list[str]]:
    """Validate recipe files: (number of files checked, every problem found): the schema, the local
    files they name, and the packages their settings need (trackers, DeepSpeed, vLLM)."""
    problems: list[str] = []
    files = recipe_files(paths)
    for file in files:
        try:
            recipe = load_recipe(file)
        except HarnessError as error:
            problems += str(error).splitlines()
            continue
        problems += check_local_paths(recipe, str(file))
        problems += [f"{file}: {line}" for line in missing_packages(recipe)]
    return len(files), problems
