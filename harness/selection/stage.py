"""The `select` stage: probe the frozen model, apply the layer policy, write selection.json.

Outputs (in the stage folder):

- ``selection.json``: the contract of ARCHITECTURE.md (model, languages, probe settings, per
  layer the activation rate of each language, each non-English language's overlap with English
  and their average, the MSD; boundary, theta, selected layers), plus the sub-layers and exact
  parameter names to train, the definitions used, the paper's literal reading and a sensitivity
  table over other firing-share thresholds;
- ``counts.pt``: the raw probe counts (:class:`~harness.selection.probe.ProbeCounts`), to
  re-analyse without a forward pass;
- ``selection.png`` (the three panels), ``activation_rate.png``, ``overlap.png``, ``msd.png``.

Only ``slam_msd`` needs the probe; other policies skip it unless ``selection.probe.always``, or
``selection.check`` asks for SLAM's rule as a check beside pinned layers (``probe_check`` in
selection.json, and a warning on the terminal when the probe picks other layers).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness import console as terminal
from harness.artifacts import SELECTION_FILE, Selection
from harness.errors import HarnessError
from harness.open_choices import open_choices
from harness.runs import write_artifact
from harness.selection import statistics
from harness.selection.config import ProbeConfig, SelectionConfig
from harness.selection.policies import select_layers
from harness.selection.questions import probe_question_set, question_set_note

COUNTS_FILE = "counts.pt"
PLOTS = {
    "selection": "selection.png",
    "activation_rate": "activation_rate.png",
    "overlap": "overlap.png",
    "msd": "msd.png",
}


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _probe_with_progress(model, tokenizer, questions: Mapping[str, list[str]], probe: ProbeConfig):
    import sys
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from harness.selection.probe import probe_model

    total = sum(len(q) for q in questions.values())
    seen = dict.fromkeys(questions, 0)
    started = time.time()
    with Progress(
        TextColumn("probe {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        console=terminal.console(stderr=True),
    ) as progress:
        task = progress.add_task("", total=total)

        def step(lang: str, done: int) -> None:
            progress.update(task, advance=done, description=lang)
            seen[lang] += done
            if seen[lang] == len(questions[lang]) and not progress.console.is_terminal:  # a log: one line each
                print(
                    f"select: probed {lang} ({seen[lang]} questions), {time.time() - started:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )

        return probe_model(model, tokenizer, questions, probe, progress=step)


def run_select(recipe, run, out) -> None:
    """Probe the model (when needed), choose the layers, write the stage's files into ``out``."""
    from harness.models import adapter_for, load_config, load_model, load_tokenizer, release_memory

    selection: SelectionConfig = recipe.selection
    if selection is None:
        raise HarnessError(f"recipe {recipe.name!r} has no `selection:` section")
    out = Path(out)
    languages = list(recipe.languages)
    config = load_config(recipe.model)
    adapter = adapter_for(config)
    num_layers, d_inter = adapter.num_layers(config), adapter.intermediate_size(config)
    policy = selection.layers
    if not policy.needs_probe:  # fail on a bad list or k before loading any weights
        select_layers(selection.layers, num_layers)

    result: dict[str, Any] = {
        "model": {
            "source": recipe.model.source,
            "revision": recipe.model.revision,
            "model_type": config.model_type,
            "architecture": adapter.family,
            "num_layers": num_layers,
            "d_inter": d_inter,
        },
        "languages": languages,
        "policy": {**selection.layers.model_dump(mode="json"), "description": policy.describe()},
        "probe": None,
        "definitions": statistics.DEFINITIONS,
    }
    analysis = None
    names_by_layer = None  # from the probed model when there is one, else the family's layout
    if selection.runs_probe:
        statistics.check_languages(languages)
        questions, question_info = probe_question_set(
            selection.probe, languages, recipe.training.data if recipe.training is not None else None
        )
        device = _device()
        model = load_model(recipe.model, device=device)
        tokenizer = load_tokenizer(recipe.model)
        started = time.time()
        counts = _probe_with_progress(model, tokenizer, questions, selection.probe)
        seconds = time.time() - started
        names_by_layer = {i: adapter.parameter_names(i, selection.sublayers, model) for i in range(num_layers)}
        del model  # the train stage's processes and vLLM need this GPU memory
        release_memory()
        counts.save(out / COUNTS_FILE)
        peak_search = getattr(selection.check or selection.layers, "peak_search", "all_layers")
        analysis = statistics.analyze(counts.fired_tokens, counts.tokens, selection.probe.firing_share, peak_search)
        result["probe"] = {
            **selection.probe.model_dump(mode="json"),
            "questions_per_language": len(next(iter(questions.values()))),
            "questions": question_info,
            "question_set": question_set_note(selection.probe, recipe),
            "tokens": counts.tokens,
            "device": device,
            "seconds": round(seconds, 2),
        }
        result.update(analysis_json(analysis, counts, selection.probe.sensitivity, peak_search))
        result["plots"] = write_plots(analysis, out, title=f"{recipe.model.source}: {', '.join(languages)}")

    try:
        layers = select_layers(selection.layers, num_layers, analysis)
    except HarnessError as error:
        result.update({"selected_layers": None, "error": str(error)})
        write_artifact(out / SELECTION_FILE, Selection.model_validate(result))
        raise HarnessError(f"{error} [analysis kept in {out}]") from None
    result["selected_layers"] = layers
    result["sublayers"] = selection.sublayers
    result["parameter_names"] = {
        str(i): names_by_layer[i] if names_by_layer else adapter.parameter_names(i, selection.sublayers) for i in layers
    }
    if selection.check is not None:
        result["probe_check"] = probe_check(selection, layers, num_layers, analysis)
        warn_if_different(result["probe_check"])
    result["open_choices"] = open_choices(recipe, "selection")
    write_artifact(out / SELECTION_FILE, Selection.model_validate(result))


def probe_check(selection: SelectionConfig, pinned: list[int], num_layers: int, analysis) -> dict:
    """What SLAM's rule (``selection.check``) picks on this model, beside the pinned layers."""
    check = selection.check
    assert check is not None, "called only when selection.check is set"
    try:
        found, error = select_layers(check, num_layers, analysis), None
    except HarnessError as problem:
        found, error = [], str(problem)
    agrees = found == list(pinned)
    check_data = {
        "pinned_layers": list(pinned),
        "pinned_by": selection.layers.describe(),
        "probe_layers": found,
        "agrees": agrees,
        "rule": {
            "activation_threshold": {
                "field": "selection.probe.firing_share",
                "value": selection.probe.firing_share,
                "definition": statistics.DEFINITIONS["activated_set"],
            },
            "boundary_rule": {
                "field": "selection.check.peak_search",
                "value": check.peak_search,
                "definition": statistics.DEFINITIONS["boundary"],
            },
            "selected": statistics.DEFINITIONS["selected"],
        },
        "boundary": analysis.boundary,
        "theta": None if analysis.theta is None else float(analysis.theta),
        "error": error,
        "warning": None,
    }
    if not agrees:
        check_data["warning"] = (
            f"the probe picks layers {found or 'none'} on this model (firing_share "
            f"{selection.probe.firing_share}, peak_search {check.peak_search}), not the pinned "
            f"{list(pinned)}; the pinned layers are trained (the paper's), the probe's are only reported"
        )
    return check_data


def warn_if_different(check: dict) -> None:
    """A visible line on the terminal when the probe disagrees with the pinned layers."""
    console = terminal.console(stderr=True)
    if check["warning"]:
        console.print(f"[bold yellow]warning: layer check: {check['warning']}[/bold yellow]")
    else:
        console.print(f"[green]layer check: the probe picks the pinned layers {check['pinned_layers']}[/green]")


def analysis_json(analysis, counts, thresholds: list[float], peak_search: str = "all_layers") -> dict:
    """The analysis fields of selection.json."""
    data = statistics.to_json(analysis)
    layers = data.pop("layers")
    literal = statistics.literal_rates(counts.fired_questions, counts.questions)
    for row in layers:
        i = row["layer"]
        row["literal_union_rate"] = {lang: literal[lang]["union"][i] for lang in literal}
        row["literal_question_rate"] = {lang: literal[lang]["per_question"][i] for lang in literal}
    return {
        "peak_search": data["peak_search"],
        "peak_searched_from": data["peak_searched_from"],
        "boundary": data["boundary"],
        "language_specific_layers": data["language_specific_layers"],
        "theta": data["theta"],
        "msd_selected": data["selected"],
        "peak_average_overlap": data["peak_average_overlap"],
        "notes": data["notes"],
        "layers": layers,
        "sensitivity": statistics.sensitivity(
            counts.fired_tokens, counts.tokens, [*thresholds, analysis.firing_share], peak_search
        ),
    }


def write_plots(analysis, out: Path, title: str | None = None) -> dict[str, str]:
    from harness.selection import plots

    plots.plot_selection(analysis, out / PLOTS["selection"], title=title)
    plots.plot_activation_rates(analysis, out / PLOTS["activation_rate"])
    plots.plot_overlap(analysis, out / PLOTS["overlap"])
    plots.plot_msd(analysis, out / PLOTS["msd"])
    return dict(PLOTS)


# -- for the stages after this one ---------------------------------------------------------------
