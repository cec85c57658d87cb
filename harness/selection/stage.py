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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness import console as terminal
from harness.artifacts import SELECTION_FILE
from harness.errors import HarnessError
from harness.open_choices import open_choices
from harness.runs import write_json
from harness.selection import statistics
from harness.selection.config import ProbeConfig, SelectionConfig
from harness.selection.policies import select_layers

COUNTS_FILE = "counts.pt"
PLOTS = {
    "selection": "selection.png",
    "activation_rate": "activation_rate.png",
    "overlap": "overlap.png",
    "msd": "msd.png",
}


# -- probe questions ---------------------------------------------------------------------------


def probe_question_set(probe: ProbeConfig, languages: Sequence[str], training_data=None):
    """(questions per language, facts about them): the same n question indices in every language.

    When a language has fewer than n questions, every language is cut to the smallest count so
    that the questions stay parallel; a language with none is an error. ``training_data`` (the
    recipe's ``training.data``) is where ``dataset: translation`` reads pairs when
    ``probe.path`` is not set.
    """
    info: dict[str, Any] = {"parallel": True}
    if probe.dataset == "translation":
        by_lang, info = _translation_questions(probe, list(languages), training_data)
    else:
        by_lang = {lang: _questions(probe, lang) for lang in languages}
    empty = [lang for lang, questions in by_lang.items() if not questions]
    if empty:
        raise HarnessError(
            f"selection.probe.dataset {probe.dataset!r}"
            + (f" (path {probe.path!r})" if probe.path else "")
            + f": no probe question for language(s) {', '.join(empty)}; point selection.probe.path "
            "at files that have them, or remove those languages from the recipe's languages"
        )
    common = min(len(questions) for questions in by_lang.values())
    if common < probe.n:
        info["note"] = " ".join(
            filter(
                None,
                [
                    info.get("note"),
                    f"{common} questions per language, fewer than selection.probe.n = {probe.n}: "
                    "the smallest language's count, so that every language has the same number",
                ],
            )
        )
    return {lang: questions[:common] for lang, questions in by_lang.items()}, info


def _questions(probe: ProbeConfig, lang: str) -> list[str]:
    from harness.benchmarks import load_benchmark

    try:
        examples = load_benchmark(probe.dataset, lang, path=probe.path, limit=probe.n)
    except HarnessError as error:
        raise HarnessError(f"selection.probe.dataset {probe.dataset!r}: {error}") from None
    return [example.question for example in examples][: probe.n]


def _translation_questions(
    probe: ProbeConfig, languages: list[str], training_data
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Parallel questions from X->English translation pairs (question side).

    Pairs of different languages are matched through their English side: the questions are the
    English sentences that every language translates (in the order of the first language's
    pairs), English itself, and each language's translation of them.
    """
    from harness.translation import TranslationDataConfig, load_pairs

    if probe.path is not None:
        data = TranslationDataConfig(source=probe.path, sides="questions")
    elif training_data is not None and training_data.kind == "instructions":
        raise HarnessError(
            "selection.probe.dataset 'translation': training.data is instruction data, not translation pairs; "
            "set selection.probe.path to a translation source (`demo`, a folder or a JSONL file of pairs) or "
            "probe a benchmark (selection.probe.dataset: mgsm)"
        )
    elif training_data is not None:
        data = training_data.model_copy(update={"sides": "questions", "missing_languages": "error"})
    else:
        raise HarnessError(
            "selection.probe.dataset 'translation': set selection.probe.path (a translation source: "
            "`demo`, a folder, a JSONL file or a hub id) or add a `training.data` section"
        )
    others = [lang for lang in languages if lang != "en"]
    try:
        pairs = load_pairs(data, others).pairs
    except HarnessError as error:
        raise HarnessError(f"selection.probe.dataset 'translation' (source {data.source!r}): {error}") from None
    by_english: dict[str, dict[str, str]] = {lang: {} for lang in others}
    for lang in others:
        for pair in pairs.get(lang, []):
            by_english[lang].setdefault(pair.target.strip(), pair.source)
    order = list(by_english[others[0]]) if others else []
    shared = [text for text in order if all(text in by_english[lang] for lang in others)][: probe.n]
    if shared:
        out = {lang: [by_english[lang][text] for text in shared] for lang in others}
        out["en"] = list(shared)
        info: dict[str, Any] = {"parallel": True, "matched_on": "English side of the pairs"}
    else:
        # No English sentence is translated into every language: not a parallel set. Each language
        # gets the source side of its first n pairs; English the English side of the first
        # language's. The statistics compare languages on different sentences: said in selection.json.
        out = {lang: list(by_english[lang].values())[: probe.n] for lang in others}
        out["en"] = order[: probe.n]
        info = {
            "parallel": False,
            "note": (
                f"the translation pairs of {data.source!r} share no English sentence across all "
                "languages, so the probe questions are not parallel: each language's first n source "
                "sentences, English the English side of the " + others[0] + " pairs"
            ),
        }
    return {lang: out.get(lang, []) for lang in languages}, info


# -- the stage ---------------------------------------------------------------------------------


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
        write_json(out / SELECTION_FILE, result)
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
    write_json(out / SELECTION_FILE, result)


def question_set_note(probe: ProbeConfig, recipe) -> dict:
    """Which probe questions were used, and whether the run is also scored on them."""
    scored = [t.name for t in recipe.evaluation.tasks] if recipe.evaluation is not None else []
    if probe.dataset == "translation":
        return {
            "dataset": "translation",
            "disjoint_from_test_sets": True,
            "note": "the question side of the translation-training pairs; no test question",
        }
    return {
        "dataset": probe.dataset,
        "disjoint_from_test_sets": probe.dataset not in scored,
        "note": (
            f"the {probe.dataset} test questions, the same set this run is scored on; "
            "selection.probe.dataset: translation probes on training questions instead"
        )
        if probe.dataset in scored
        else f"the {probe.dataset} questions (not scored by this run)",
    }


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
