"""The report stage: scores + baselines -> tables (terminal, Markdown, LaTeX, HTML), plots, JSON.

Reads ``eval/scores.json`` (and ``train/train.json``, ``selection/selection.png`` when the run has
them), writes into the stage folder ``out``:

    report.md  report.tex  report.html (self-contained)  report.json (the table data)
    <task>_accuracy.png ...  selection.png

then copies that folder to ``reports/<run folder name>/`` and prints the tables. A report folder
that belongs to another run (same folder name, another run directory) is never overwritten: the
copy goes to ``reports/<name>-2/`` (and so on) and the message says so.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from harness.artifacts import (
    ATTEMPT,
    MARKER,
    SCORES_FILE,
    SELECTION_FILE,
    STAGES_DIR,
    TRAIN_FILE,
    Scores,
    Selection,
    TrainRecord,
    read_artifact,
    read_json_file,
    redo,
)
from harness.errors import HarnessError
from harness.reporting.baselines import load_baselines
from harness.reporting.config import ReportConfig
from harness.reporting.paper import BENCHMARK_OF_TASK, TASK_TITLES
from harness.reporting.paper_tables import TableOptions, report_tables
from harness.reporting.plots import (
    copy_selection_plot,
    language_bars,
    loss_curve_plot,
    overlap_before_after_plot,
    plot_baselines,
)
from harness.reporting.render import (
    Document,
    Image,
    Section,
    html_document,
    latex_document,
    markdown_document,
    print_terminal,
)
from harness.reporting.reproduction import reproduction_section
from harness.reporting.run_rows import TrainingRecord
from harness.reporting.scored import scored_models
from harness.runs import atomic_write_text, verified_output, write_json

OWNER_FILE = "REPORT_OF.json"
"""Written into every report folder: which run directory it belongs to."""


def reports_root() -> Path:
    """Where report folders are published: ``reports/`` under the current folder."""
    return Path("reports")


def run_report(recipe, run, out, reports_dir: Path | None = None) -> Path:
    """Build every table and plot of a run's report into ``out``; publish and print it.

    Returns the published folder (``reports/<run name>/`` or a suffixed sibling).
    """
    out = Path(out)
    config: ReportConfig = getattr(recipe, "report", None) or ReportConfig()
    scores_path = run.stage_dir("evaluate") / SCORES_FILE
    if not scores_path.is_file():
        raise HarnessError(
            f"{scores_path}: not found; the report needs the evaluate stage "
            f"(`harness evaluate RECIPE --run-dir {run.root}`)"
        )
    scores = read_artifact(verified_output(run.root, "evaluate", SCORES_FILE), Scores, redo("evaluate"))
    train_json = run.stage_dir("train") / TRAIN_FILE
    training = TrainingRecord.from_record(
        read_artifact(verified_output(run.root, "train", TRAIN_FILE), TrainRecord, redo("train"))
        if train_json.is_file()
        else None
    )
    if training is not None and (Path(run.root) / STAGES_DIR).is_dir():  # a chained run: `stages:`
        training = chained_cost(training, run.root)
    baselines = load_baselines()

    document = build_document(recipe, run, scores, training, baselines, config, out)
    tables = [t for section in document.sections for t in section.tables]

    formats = set(config.formats)
    if "markdown" in formats:
        atomic_write_text(out / "report.md", markdown_document(document))
    if "latex" in formats:
        atomic_write_text(out / "report.tex", latex_document(document))
    if "html" in formats:
        atomic_write_text(out / "report.html", html_document(document))
    write_json(
        out / "report.json",
        {
            "recipe": getattr(recipe, "name", None),
            "run": str(Path(run.root).resolve()),
            "metadata": dict(document.metadata),
            "tables": [table.to_json() for table in tables],
            "images": [image.path.name for section in document.sections for image in section.images],
            "warnings": document.warnings,
        },
    )
    published = publish(out, Path(run.root), reports_dir or reports_root())

    if "terminal" in formats:
        print_terminal([t for t in tables if not t.id.endswith("_details")])
        for section in document.sections:
            if section.title == "Layer selection":
                print("\n".join(section.text) + "\n")
    print(
        f"report: {published}/report.md" + (" (and .html, .tex, .json)" if formats - {"terminal"} else ""),
        file=sys.stderr,
    )
    return published


def chained_cost(training: TrainingRecord, root: Path) -> TrainingRecord:
    """The cost cell of a run with `stages:`: every stage's device-hours, not the last stage's alone."""
    from dataclasses import replace

    from harness.reporting.cost import run_cost

    cost = run_cost(root)
    if cost.hours is None:
        return training
    stages = "; ".join(
        f"{stage.stage}: {stage.hours:.3g} h on {stage.processes} {stage.device}" for stage in cost.stages
    )
    return replace(
        training,
        cost_value=cost.hours,
        cost_display=f"{cost.hours:.3g} device-h",
        cost_description=f"measured by this run over its {len(cost.stages)} training stages ({stages}); "
        "`harness cost` gives the ratio to a SLAM run; the paper's costs are training time relative to SLAM's",
    )


def build_document(
    recipe, run, scores: Scores, training: TrainingRecord | None, baselines, config: ReportConfig, out: Path
) -> Document:
    options = TableOptions(size=config.size, systems=config.baselines)
    tables = report_tables(scores, baselines, options, training)
    by_task: dict[str, list] = {}
    for table in tables:
        by_task.setdefault(table.id.rsplit("_", 1)[0], []).append(table)

    sections: list[Section] = []
    shown_warnings: list[str] = []
    for task, task_tables in by_task.items():
        images = []
        if config.plots:
            published = plot_baselines(task, baselines, config.size, config.baselines)
            path = language_bars(task, scores, published, out / f"{task}_accuracy.png")
            if path is not None:
                names = ", ".join(f"{r.label} {r.size}" for r in published)
                images.append(
                    Image(
                        f"{TASK_TITLES.get(task, task)}: accuracy per language"
                        + (f" against {names} (paper)" if names else ""),
                        path,
                    )
                )
        sections.append(Section(TASK_TITLES.get(task, task), task_tables, images))
        for row in baselines.rows:
            benchmark_rows = any(t.id == f"{task}_accuracy" for t in task_tables)
            shown = config.size in (None, row.size) and row.primary
            if benchmark_rows and row.benchmark == task and row.warnings and shown:
                shown_warnings += [w for w in row.warnings if w not in shown_warnings]
    selection_file = run.stage_dir("select") / SELECTION_FILE
    selection = run.selection() if selection_file.is_file() else None
    if getattr(recipe, "selection", None) is not None and selection is not None:
        plot = copy_selection_plot(run.stage_dir("select"), out) if config.plots else None
        sections.append(
            Section(
                "Layer selection",
                text=selection_in_words(selection, getattr(recipe, "training", None)),
                images=[
                    Image(
                        "Layer selection: activation overlap with English and MSD per layer; selected layers marked",
                        plot,
                    )
                ]
                if plot
                else [],
            )
        )

    from harness.selection.after_training import PROBE_TRAINED_FILE, describe

    after_file = run.stage_dir("evaluate") / PROBE_TRAINED_FILE
    if after_file.is_file():
        after = read_json_file(after_file)
        plot = overlap_before_after_plot(after, out / "overlap_before_after.png") if config.plots else None
        caption = (
            "Overlap of each language's activated neurons with English's per layer, before and after "
            "training (the paper's Figures 6 and 9; eval/probe_trained.json)"
        )
        sections.append(
            Section(
                "Overlap with English before and after training",
                text=[describe(after)],
                images=[Image(caption, plot)] if plot else [],
            )
        )

    if config.plots:
        curve = loss_curve_plot(run.stage_dir("train") / TRAIN_FILE, out / "loss_curve.png")
        if curve is not None:
            sections.append(
                Section("Training", images=[Image("Training loss per optimizer step (train/train.json)", curve)])
            )
    reproduction, notes = reproduction_section(recipe, run, scores, baselines, config.size)
    if reproduction:
        sections.append(Section("Reproduction: layers, open choices, training data", reproduction))
    for note in notes:  # visible on the terminal too, not only in the files
        print(f"warning: {note}", file=sys.stderr)
    shown_warnings += [note for note in notes if note not in shown_warnings]

    metadata = [
        ("Recipe", str(getattr(recipe, "name", "?"))),
        ("Reproduces", str(getattr(recipe, "reproduces", None) or "–")),
        ("Run directory", str(Path(run.root))),
        ("Models", "; ".join(f"{model.role}: {model.source}" for model in scored_models(scores)) or "–"),
        (
            "Compared with",
            "no published baselines (none of the run's tasks is a paper benchmark)"
            if not any(task in BENCHMARK_OF_TASK for task in by_task)
            else f"the paper's {config.size} rows"
            if config.size
            else "every size group of the paper",
        ),
        ("Answer extraction", str(scores.extraction)),
        (
            "Versions",
            f"harness {scores.harness_version or '?'}, lm-eval {scores.lm_eval_version}",
        ),
        ("Generated", time.strftime("%Y-%m-%d %H:%M:%S %Z")),
    ]
    if selection is not None and selection.selected_layers:
        metadata.append(("Selected layers", _selection_headline(selection)))
    if training is not None and training.cost_description:
        metadata.append(("Training", training.cost_description))
    return Document(f"SLAM harness report: {getattr(recipe, 'name', run.root)}", metadata, sections, shown_warnings)


SUBLAYER_WORDS = {
    "up_down": "up_proj and down_proj (the FFN's up and down projections)",
    "ffn": "gate_proj, up_proj and down_proj (the whole FFN)",
    "attention": "the attention projections q, k, v and o",
    "ffn_attention": "the FFN (gate, up, down) and the attention projections (q, k, v, o)",
}
PAPER_SELECTION = (
    "The paper's selection for MetaMath-7B and -13B was the first six layers (0-5); "
    "the authors' released 7B script lists layers 0-4."
)


def _layer_list(layers: list[int]) -> str:
    return ", ".join(str(i) for i in layers)


def _is_papers_rule(selection: Selection) -> bool:
    return (
        selection.policy.policy == "slam_msd"
        and selection.policy.peak_search == "all_layers"
        and selection.probe is not None
        and selection.probe.firing_share == 0
    )


def _total_layers(selection: Selection) -> int | str:
    return "?" if selection.model is None else selection.model.num_layers


def _selection_headline(selection: Selection) -> str:
    layers = selection.selected_layers or []
    total = _total_layers(selection)
    policy = selection.policy.policy or "?"
    rule = (
        "the paper's rule"
        if _is_papers_rule(selection)
        else "SLAM's rule, changed (see Layer selection)"
        if policy == "slam_msd"
        else f"policy {policy}, not SLAM's rule"
    )
    return f"{_layer_list(layers)} of {total} (0-based), by {rule}"


def selection_in_words(selection: Selection, training=None) -> list[str]:
    """What selection.json says, as sentences: which layers, by which rule, and whether that is
    the paper's rule (and if not, how it differs)."""
    layers = selection.selected_layers or []
    total = _total_layers(selection)
    policy = selection.policy
    name = policy.policy
    probe = selection.probe
    if not layers:
        return [f"The selection chose no layer: {selection.error or 'see selection.json'}"]
    what = SUBLAYER_WORDS.get(selection.sublayers, selection.sublayers)
    mode = getattr(training, "mode", "selective")
    trained = {
        "full": "Training updates every parameter (training.mode full); the selection below is "
        "recorded but not used to freeze anything.",
        "lora": f"Training adds LoRA adapters to {what} of layers {_layer_list(layers)}.",
    }.get(mode, f"Training updates {what} of layers {_layer_list(layers)}; everything else is frozen.")
    text = [f"Selected layers: {_layer_list(layers)} ({len(layers)} of the model's {total}, 0-based). {trained}"]
    if name == "slam_msd":
        boundary, theta = selection.boundary, selection.theta
        text.append(
            f"Rule: SLAM's (policy slam_msd, paper eq. 3-7). The average overlap of each language's activated "
            f"FFN neurons with English's peaks at layer {boundary}, so layers 0-{boundary - 1} are "
            f"language-specific; of these, the layers whose mean squared deviation (MSD) of activation rates "
            f"across languages exceeds θ = {float(theta):.3g} (their mean MSD) are selected."
            if boundary and theta is not None
            else "Rule: SLAM's (policy slam_msd, paper eq. 3-7)."
        )
        changes = []
        if policy.peak_search != "all_layers":
            searched_from = "?" if selection.peak_searched_from is None else selection.peak_searched_from
            changes.append(
                f"the overlap peak is searched only after the overlap's initial decline (from layer "
                f"{searched_from}; peak_search: {policy.peak_search}), "
                "where the paper searches every layer"
            )
        share = None if probe is None else probe.firing_share
        if share:
            changes.append(
                f"a neuron counts as activated for a language when it fires on more than {share:.0%} "
                f"of that language's tokens (selection.probe.firing_share {share}), where the paper "
                "counts a neuron that fires on any token (0, which saturates on real models)"
            )
        text.append(
            "This is the paper's rule."
            if not changes
            else "This is not exactly the paper's rule: " + "; and ".join(changes) + "."
        )
        if probe is not None and probe.questions_per_language:
            text.append(
                f"Probe: {probe.questions_per_language} parallel questions per language from "
                f"{probe.dataset or '?'}, in {len(selection.languages)} languages."
            )
    else:
        description = policy.description or name
        text.append(f"Rule: {description} (policy {name}), chosen in the recipe: not SLAM's activation-based rule.")
    text.append(PAPER_SELECTION)
    return text


def show_report(recipe, run) -> Path:
    """A run whose report is up to date: its headline tables again, and where the report is."""
    config: ReportConfig = getattr(recipe, "report", None) or ReportConfig()
    scores = read_artifact(run.stage_dir("evaluate") / SCORES_FILE, Scores, redo("evaluate"))
    train_json = run.stage_dir("train") / TRAIN_FILE
    training = TrainingRecord.from_record(
        read_artifact(train_json, TrainRecord, redo("train")) if train_json.is_file() else None
    )
    if training is not None and (Path(run.root) / STAGES_DIR).is_dir():  # a chained run: `stages:`
        training = chained_cost(training, run.root)
    if "terminal" in config.formats:
        tables = report_tables(scores, load_baselines(), TableOptions(config.size, config.baselines), training)
        print_terminal([t for t in tables if not t.id.endswith("_details")])
    folder = published_folder(Path(run.root), reports_root()) or run.stage_dir("report")
    print(f"report: {folder}/report.md (up to date)", file=sys.stderr)
    return folder


def published_folder(run_root: Path, root: Path) -> Path | None:
    """Where :func:`publish` put this run's report (``root/<run name>`` or a suffixed sibling)."""
    name = run_root.resolve().name
    for candidate in [root / name, *sorted(root.glob(f"{name}-*"))]:
        if candidate.is_dir() and _belongs_to(candidate, str(run_root.resolve())):
            return candidate
    return None


def republish(recipe, run, folder: Path) -> Path:
    """Copy a report restored from the run's history to ``reports/`` again."""
    published = publish(Path(folder), Path(run.root), reports_root())
    print(f"report: {published}/report.md (restored)", file=sys.stderr)
    return published


def republish_if_stale(recipe, run, folder: Path) -> Path | None:
    """When the report stage is up to date but this run's copy in ``reports/`` differs from it (an
    invocation was killed between restoring a report from history and copying it there), copy it again."""
    root = reports_root()
    owner = str(Path(run.root).resolve())
    copies = [p for p in root.glob(f"{Path(run.root).resolve().name}*") if p.is_dir() and _belongs_to(p, owner)]
    if not copies:
        return None
    files = [
        p for p in Path(folder).iterdir() if p.is_file() and p.name not in ("ATTEMPT.json", "DONE.json", OWNER_FILE)
    ]
    copy = copies[0]
    if all((copy / p.name).is_file() and (copy / p.name).read_bytes() == p.read_bytes() for p in files):
        return None
    published = publish(Path(folder), Path(run.root), root)
    print(f"report: {published} was stale (an earlier invocation was interrupted); copied again", file=sys.stderr)
    return published


def publish(out: Path, run_root: Path, root: Path) -> Path:
    """Copy the report files of ``out`` to ``root/<run folder name>``; never over another run's."""
    owner = {"run": str(run_root.resolve())}
    root.mkdir(parents=True, exist_ok=True)
    name = run_root.resolve().name
    target = root / name
    suffix = 1
    while target.exists() and not _belongs_to(target, owner["run"]):
        suffix += 1
        target = root / f"{name}-{suffix}"
    if suffix > 1:
        print(f"report: {root / name} belongs to another run; publishing to {target} instead", file=sys.stderr)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{target.name}."))
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes it private; a report is for reading
        # The owner mark goes only to the published copy: the stage folder stays as it finished.
        (staging / OWNER_FILE).write_text(json.dumps(owner, indent=2) + "\n", encoding="utf-8")
        os.chmod(staging / OWNER_FILE, 0o666 & ~umask)
        for item in out.iterdir():
            if item.is_file() and item.name not in (ATTEMPT, MARKER, OWNER_FILE):
                shutil.copyfile(item, staging / item.name)
                os.chmod(staging / item.name, 0o666 & ~umask)
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _belongs_to(folder: Path, run: str) -> bool:
    marker = folder / OWNER_FILE
    if not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text(encoding="utf-8")).get("run") == run
    except (OSError, json.JSONDecodeError):
        return False
