"""The `harness` command: run recipes, single stages, and the read-only tools around them."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness import __version__
from harness.errors import HarnessError

STAGE_COMMANDS = {
    "select": "measure activations and choose the multilingualism-handling layers",
    "train": "fine-tune the selected sub-layers on X->English pairs",
    "evaluate": "evaluate the base and/or trained model through lm-eval",
    "report": "render comparison tables against the published baselines",
}


def _add_recipe_args(parser: argparse.ArgumentParser, run_dir: bool = True) -> None:
    parser.add_argument(
        "recipe", help="recipe YAML file, or a shipped recipe by name (recipes/slam_7b.yaml; `harness ls recipes`)"
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="key=value",
        help="override recipe fields, e.g. training.epochs=1 evaluation.tasks.0.limit=5",
    )
    if run_dir:
        parser.add_argument("--run-dir", help="run directory (default: runs/<recipe name>)")


EXAMPLES = """\
examples:
  harness run recipes/quickstart.yaml                 the whole pipeline on a CPU, in minutes
  harness run recipes/slam_13b.yaml --dry-run         the resolved recipe and what would run
  harness run recipes/slam_7b.yaml training.num_gpus=4 --run-dir runs/slam_7b_4gpu
  harness cp templates/new_base_model.yaml mine.yaml  a shipped recipe to edit
  harness validate mine.yaml recipes/                 every problem at once
  harness plan recipes/slam_7b.yaml                   what would be trained, from the config alone
  harness score generations.jsonl --task mgsm         score answers made elsewhere
  harness compare runs/candidate runs/reference --tolerance 2
  harness env                                         what this install runs on (for a bug report)

A recipe is a file, or a shipped recipe by name (`harness ls recipes`).

exit codes:
  0    done (compare: no regression)
  1    compare: a regression beyond the tolerance (the regression gate)
  2    a user mistake: bad recipe or override, missing file, unknown name, missing package;
       one line names the place and the fix, and nothing already computed is touched
  130  interrupted (Ctrl-C): finished stages are kept; the same command resumes
"""


def build_parser() -> argparse.ArgumentParser:
    from harness.benchmarks import BENCHMARKS

    benchmarks = sorted(BENCHMARKS.names())
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Reproduce and extend SLAM (arXiv 2501.03681) from declarative recipes.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a recipe end to end: select, train, evaluate, report")
    _add_recipe_args(run)
    run.add_argument(
        "--force",
        action="append",
        default=[],
        metavar="STAGE",
        help="redo this stage even if it is up to date (repeatable)",
    )
    run.add_argument("--dry-run", action="store_true", help="print the resolved recipe and the stages, run nothing")

    for name, text in STAGE_COMMANDS.items():
        stage = commands.add_parser(name, help=f"one stage: {text}")
        _add_recipe_args(stage)
        stage.add_argument("--force", action="store_true", help="redo it even if it is up to date")
        if name == "evaluate":
            stage.add_argument(
                "--rescore",
                action="store_true",
                help="rebuild scores.json from the run's samples.jsonl (no model; e.g. after an extraction fix)",
            )

    validate = commands.add_parser("validate", help="check recipe files and folders; every problem at once")
    validate.add_argument("paths", nargs="+", metavar="PATH")

    ls = commands.add_parser("ls", help="list recipes, tasks or baselines (the shipped ones, or your own folder)")
    ls.add_argument("what", choices=["recipes", "tasks", "baselines"])
    ls.add_argument(
        "folder", nargs="?", help="a folder of your own recipes or baseline files (default: the ones harness ships)"
    )
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.add_argument(
        "--path",
        action="store_true",
        help='print only the folder read (e.g. lm_eval --include_path "$(harness ls tasks --path)")',
    )

    cp = commands.add_parser("cp", help="copy a shipped recipe to edit (its defaults: keep working)")
    cp.add_argument("recipe", help="shipped recipe (recipes/slam_7b.yaml, templates/new_base_model.yaml)")
    cp.add_argument("dest", help="new file, or an existing folder to copy into")

    plan = commands.add_parser(
        "plan",
        help="what would be trained: layers, parameters, share, memory "
        "(reads the model's config only; a hub model's is fetched if not cached)",
    )
    _add_recipe_args(plan)
    plan.add_argument("--json", action="store_true")

    data = commands.add_parser("data", help="training pairs kept per language and side, against the paper's Table 1")
    _add_recipe_args(data, run_dir=False)
    data.add_argument("--json", action="store_true")

    score = commands.add_parser(
        "score",
        help="score generations (JSONL: lang, index|id, response), a run's "
        "samples.jsonl or lm-eval's samples file, without the model",
    )
    score.add_argument("file", help="generations JSONL file, RUN/eval/TASK/samples.jsonl or lm-eval's samples_*.jsonl")
    score.add_argument("--model", choices=["base", "trained"], help="which model's answers (a run's samples.jsonl)")
    score.add_argument("--task", required=True, choices=benchmarks, help="the benchmark the answers are for")
    score.add_argument("--extraction", choices=["paper", "strict"], default="paper")
    score.add_argument("--path", help="local benchmark files (original format) for the gold answers")
    score.add_argument(
        "--reasoning-end",
        metavar="MARK",
        help="read the answer after this end-of-reasoning marker only (e.g. '</think>'); a response "
        "without it is still reasoning and scored wrong",
    )
    score.add_argument("--json", action="store_true")

    compare = commands.add_parser("compare", help="compare two runs, or a run and a baseline; exit 1 on a regression")
    compare.add_argument("a", help="run directory (optionally RUN:base or RUN:trained)")
    compare.add_argument("b", help="run directory, or baseline:<benchmark>/<size>/<system>")
    compare.add_argument("--tolerance", type=finite_float, help="largest allowed drop in accuracy points")
    compare.add_argument(
        "--gate",
        choices=["drop_and_test", "drop"],
        help="what fails: a drop beyond the tolerance the paired test says is real (drop_and_test, the "
        "default) or any drop beyond it (drop); default: the recipe's report.gate",
    )
    compare.add_argument("--alpha", type=finite_float, help="significance level of the paired test (default 0.05)")
    compare.add_argument(
        "--min-questions", type=int, metavar="N", help="fail when a compared language has fewer than N questions"
    )
    compare.add_argument("--task", choices=benchmarks, help="only this benchmark")
    compare.add_argument("--json", action="store_true")

    export = commands.add_parser(
        "export", help="the trained model as a folder with a model card (lm_eval --model hf loads it)"
    )
    export.add_argument("run", help="run directory with a finished train stage")
    export.add_argument("--out", required=True, metavar="DIR", help="new folder for the model")
    export.add_argument("--push-to-hub", metavar="REPO", help="also upload the folder to this hub repository")
    export.add_argument("--private", action="store_true", help="create the hub repository as private")

    cost = commands.add_parser("cost", help="training cost of runs, per stage, and its ratio to a reference run")
    cost.add_argument("runs", nargs="+", metavar="RUN", help="run directory with finished train stages")
    cost.add_argument("--reference", metavar="RUN", help="ratios to this run (default: the first run training SLAM)")
    cost.add_argument("--json", action="store_true")

    env = commands.add_parser(
        "env",
        help="what this install runs on (versions, Python, OS, CPU, GPUs, driver, CUDA): start a bug report with it",
    )
    env.add_argument("--json", action="store_true")

    board = commands.add_parser("leaderboard", help="many runs in one table beside the published rows")
    board.add_argument("runs", nargs="+", metavar="RUN", help="run directory (optionally RUN:base or RUN:trained)")
    board.add_argument("--task", choices=benchmarks, help="only this benchmark")
    board.add_argument("--size", help="the paper's size group to show (7B, 13B; default: every size)")
    board.add_argument("--reference", metavar="RUN", help="paired McNemar test of every run against this one")
    board.add_argument("--json", action="store_true")
    board.add_argument("--out", metavar="DIR", help="write leaderboard.md, .tex, .html, .json and PNGs here")
    board.add_argument("--replace", action="store_true", help="replace the leaderboard files already in --out")
    return parser


def finite_float(text: str) -> float:
    """A float option that must be a finite number (nan or inf would pass every comparison)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def os_error_message(error: OSError) -> str:
    """One line: the path and the cause (no space left, read-only, permission, ...)."""
    cause = error.strerror or str(error)
    paths = " -> ".join(str(p) for p in (error.filename, error.filename2) if p is not None)
    hint = {
        28: "; free some space and run the same command again (finished stages are kept)",
        30: "; that file system is mounted read-only: choose a writable folder",
        13: "; no permission there: check the folder's owner and mode, or choose another folder",
    }.get(error.errno or 0, "")
    return f"{paths or 'a file'}: {cause}{hint}"


def cmd_run(args) -> int:
    from harness import presentation
    from harness.pipeline import default_run_dir, open_run, plan_stages, run_pipeline
    from harness.preflight import check_hub, check_packages, machine_warnings
    from harness.recipe import load_recipe

    recipe = load_recipe(args.recipe, args.overrides)
    run_dir = Path(args.run_dir) if args.run_dir else default_run_dir(recipe)
    if _joins_first_node(recipe):
        from harness.training.join import join_training

        join_training(recipe, run_dir)
        return 0
    states = plan_stages(recipe, run_dir, tuple(args.force))
    pending = [name for name, state in states if state.startswith("would run")]
    if args.dry_run:
        presentation.dry_run(recipe.resolved(), run_dir, states, machine_warnings(recipe, pending))
        return 0
    check_packages(recipe, pending)  # a missing tracker or DeepSpeed stops the run before it selects
    check_hub(recipe, pending)  # before the run folder exists: a run that cannot start leaves none
    run = open_run(recipe, args.run_dir, tuple(args.force))
    run_pipeline(recipe, run, tuple(args.force), shown=show_stage_result)
    return 0


def _joins_first_node(recipe) -> bool:
    """A node after the first of torchrun's multi-node training (it joins the training, nothing else)."""
    if recipe.training is None or recipe.training.nnodes == 1:
        return False  # decided without importing the training code
    from harness.training.join import joins_first_node

    return joins_first_node(recipe)


def show_stage_result(name: str, run) -> None:
    """What a stage that has just run prints beside its files: the training's summary."""
    if name == "train":
        from harness import presentation
        from harness.artifacts import TRAIN_FILE
        from harness.runs import read_json

        presentation.trained(read_json(run.stage_dir("train") / TRAIN_FILE))


def cmd_stage(args) -> int:
    from harness.pipeline import open_run, run_stage
    from harness.preflight import check_hub, check_packages
    from harness.recipe import load_recipe

    recipe = load_recipe(args.recipe, args.overrides)
    if args.command == "train" and _joins_first_node(recipe):
        from harness.pipeline import default_run_dir
        from harness.training.join import join_training

        join_training(recipe, Path(args.run_dir) if args.run_dir else default_run_dir(recipe))
        return 0
    check_packages(recipe, [args.command])
    check_hub(recipe, [args.command])
    run = open_run(recipe, args.run_dir)
    if getattr(args, "rescore", False):
        import time

        from harness.console import console
        from harness.pipeline import rescore_evaluation

        started = time.time()
        result, kept = rescore_evaluation(recipe, run)
        for line in result.changes():
            console(stderr=True).print(line, highlight=False)
        console(stderr=True).print(
            f"re-scored {run.stage_dir('evaluate') / 'scores.json'} from samples.jsonl in "
            f"{time.time() - started:.2f} s; the previous result is kept in {kept}",
            highlight=False,
        )
        return 0
    run_stage(recipe, run, args.command, force=args.force, shown=show_stage_result)
    return 0


def cmd_validate(args) -> int:
    from harness import presentation
    from harness.preflight import validate_paths

    count, problems = validate_paths(args.paths)
    presentation.validation(count, problems)
    return 2 if problems else 0


def cmd_ls(args) -> int:
    from harness import presentation
    from harness.shipped import shipped_folder

    if args.folder is not None and args.what == "tasks":
        raise HarnessError("harness ls tasks: takes no folder; the tasks are the ones harness ships")
    folder = Path(args.folder) if args.folder is not None else shipped_folder(args.what)
    if args.path:
        print(folder.resolve())
        return 0
    where = "your folder" if args.folder is not None else "shipped with harness"
    if not args.json:  # where it looked, before what it found there
        print(f"{args.what} in {folder.resolve()} ({where})")
    if args.what == "recipes":
        from harness.recipe import recipe_summaries

        rows = recipe_summaries(args.folder)
        if not rows:
            raise HarnessError(f"{folder}: no recipe files (*.yaml) in this folder")
        if args.json:
            presentation.print_json(rows)
        else:
            presentation.recipes(rows)
            if args.folder is None:
                print(
                    "run one by name from any folder (harness run recipes/quickstart.yaml); "
                    "harness cp RECIPE DEST copies one to edit"
                )
        return 0
    if args.what == "tasks":
        from harness.evaluation.tasks import list_tasks

        rows = list_tasks()
        if args.json:
            presentation.print_json(rows)
        else:
            presentation.tasks(rows)
            print(f'plain lm-eval: lm_eval --include_path "{folder.resolve()}" --tasks slam_mgsm ...')
        return 0
    return list_baselines(args.json, args.folder)


def cmd_cp(args) -> int:
    from harness.shipped import copy_recipe

    target, parent = copy_recipe(args.recipe, args.dest)
    inherits = f"; it inherits defaults: {parent} (the shipped file)" if parent else ""
    print(f"copied to {target}{inherits}")
    print(f"edit it, then: harness validate {target} && harness run {target}")
    return 0


def list_baselines(as_json: bool = False, folder: Path | str | None = None) -> int:
    """`harness ls baselines [--json]`: every published row and the name `compare` takes for it."""
    from harness import presentation
    from harness.reporting.baselines import load_baselines

    data = load_baselines(folder)
    if as_json:
        presentation.print_json(data.to_json())
    else:
        presentation.baselines(data)
    return 0


def cmd_plan(args) -> int:
    from harness.recipe import load_recipe

    return plan_command(load_recipe(args.recipe, args.overrides), args.json, run_dir=args.run_dir)


def plan_command(recipe, as_json: bool, run_dir: str | Path | None = None) -> int:
    """`harness plan RECIPE [--json]`: what would be trained, and the memory of the recipe's set-up;
    for a recipe with `stages:`, every training stage in order (each on the recipe's model config:
    a stage changes weights, not shapes)."""
    from harness import presentation
    from harness.pipeline import default_run_dir, stage_recipes

    parts = [
        (stage.name, sub.model_copy(update={"model": recipe.model}))
        for stage, sub in zip(recipe.stages, stage_recipes(recipe, Path(run_dir or default_run_dir(recipe))))
    ]
    parts.append(("training", recipe))
    results = []
    for index, (name, part) in enumerate(parts, 1):
        if len(parts) > 1 and not as_json:
            print(f"\n== training stage {index}/{len(parts)}: {name} ==")
        results.append(_plan_one(part, as_json, run_dir if name == "training" else None))
    if as_json:
        presentation.print_json(
            results[0]
            if len(results) == 1
            else {"stages": [{"stage": name, **result} for (name, _), result in zip(parts, results)]}
        )
    return 0


def _plan_one(recipe, as_json: bool, run_dir) -> dict:
    from harness import presentation
    from harness.training.memory import recipe_memory, zero_options
    from harness.training.plan import recipe_plan

    plan, origin = recipe_plan(recipe, run_dir)
    memory = recipe_memory(plan, recipe.training)
    if recipe.training is not None and recipe.training.deepspeed:
        memory["zero_options"] = zero_options(plan, recipe.training)
    if not as_json:
        presentation.plan(plan, origin, recipe.model.source, memory)
    return {**plan.to_json(), "memory": memory, "model_source": recipe.model.source, "layers_origin": origin}


def cmd_data(args) -> int:
    """`harness data RECIPE [--json]`: training pairs kept per language and side against Table 1."""
    from harness import presentation
    from harness.recipe import load_recipe
    from harness.training.accounting import account_recipe_data

    table = account_recipe_data(load_recipe(args.recipe, args.overrides))
    if args.json:
        presentation.print_json(table)
    else:
        print(f"training data: {table['origin']} (before tokenising: too_long is counted in train.json)")
        print(presentation.format_accounting(table))
    return 0


def cmd_score(args) -> int:
    return score_command(args.file, args.task, args.extraction, args.path, args.json, args.model, args.reasoning_end)


def score_command(
    path: str,
    task: str,
    extraction: str,
    data_path: str | None,
    as_json: bool,
    model: str | None = None,
    reasoning_end: str | None = None,
) -> int:
    """`harness score FILE --task NAME [--model base|trained] [--extraction MODE] [--path DIR]
    [--reasoning-end MARK] [--json]`."""
    from harness import presentation
    from harness.evaluation.score import score_file
    from harness.numbers import MODES

    scores = score_file(path, task, extraction, data_path, model, reasoning_end)
    if as_json:
        presentation.print_json(scores)
    else:
        presentation.scores(task, extraction, next(mode for mode in MODES if mode != extraction), scores)
    return 0


def cmd_compare(args) -> int:
    return compare_command(
        args.a, args.b, args.tolerance, args.task, args.json, args.gate, args.alpha, args.min_questions
    )


def cmd_env(args) -> int:
    from harness import presentation
    from harness.environment import environment, format_environment

    record = environment()
    if args.json:
        presentation.print_json(record)
    else:
        print(format_environment(record))
    return 0


def cmd_export(args) -> int:
    from harness.export import export_run

    export_run(args.run, args.out, args.push_to_hub, args.private)
    return 0


def cmd_cost(args) -> int:
    """`harness cost RUN... [--reference RUN] [--json]`: steady-state device-hours per stage and ratios."""
    from harness import presentation
    from harness.reporting.cost import cost_table, format_cost_table

    data = cost_table(args.runs, args.reference)
    if args.json:
        presentation.print_json(data)
    else:
        print(format_cost_table(data))
    return 0


def cmd_leaderboard(args) -> int:
    return leaderboard_command(args.runs, args.task, args.size, args.reference, args.json, args.out, args.replace)


def leaderboard_command(
    runs: list[str],
    task: str | None = None,
    size: str | None = None,
    reference: str | None = None,
    as_json: bool = False,
    out: str | None = None,
    replace: bool = False,
) -> int:
    """`harness leaderboard RUN... [--task T] [--size S] [--reference RUN] [--json] [--out DIR [--replace]]`."""
    from harness import presentation
    from harness.reporting.leaderboard import write_leaderboard
    from harness.reporting.render import print_terminal

    tables, data = write_leaderboard(runs, task, size, reference, out, replace)
    if as_json:
        presentation.print_json(data)
        return 0
    print_terminal(tables)
    for warning in data["warnings"]:
        print(f"warning: {warning}")
    if out is not None:
        print(f"leaderboard: {Path(out) / 'leaderboard.md'} (and .html, .tex, .json, .png)")
    return 0


def compare_command(
    a: str,
    b: str,
    tolerance: float | None = None,
    task: str | None = None,
    as_json: bool = False,
    rule: str | None = None,
    alpha: float | None = None,
    min_questions: int | None = None,
) -> int:
    """`harness compare A B [--tolerance T] [--gate RULE] [--alpha A] [--min-questions N] [--task NAME]
    [--json]`; returns the exit code."""
    from harness import presentation
    from harness.reporting.compare import compare_sides

    doc = compare_sides(a, b, tolerance, task, rule, alpha, min_questions)
    if as_json:
        presentation.print_json(doc)
    else:
        presentation.comparison(doc)
    return doc["exit_code"]


COMMANDS = {
    "run": cmd_run,
    "validate": cmd_validate,
    "ls": cmd_ls,
    "cp": cmd_cp,
    "plan": cmd_plan,
    "data": cmd_data,
    "score": cmd_score,
    "compare": cmd_compare,
    "leaderboard": cmd_leaderboard,
    "cost": cmd_cost,
    "export": cmd_export,
    "env": cmd_env,
    **{name: cmd_stage for name in STAGE_COMMANDS},
}


def main(argv: list[str] | None = None) -> int:
    if not Path("/dev/nvidiactl").exists():
        os.environ.setdefault("DS_ACCELERATOR", "cpu")  # silences DeepSpeed's CPU warning
    if not sys.stderr.isatty():  # a log file: the stages' own lines, not the libraries' bars
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, --version, or a usage error argparse has printed (exit 2)
        return int(done.code or 0) if not isinstance(done.code, str) else 2
    try:
        return COMMANDS[args.command](args)
    except HarnessError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:  # `harness ls tasks | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0
    except OSError as error:  # a full or read-only disk, a permission: the path and the cause
        print(f"error: {os_error_message(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished stages are kept; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
