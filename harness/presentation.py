"""What the commands print: one console, one way to write a number, an interval and a p-value.

The domain modules return data (a plan, scores, a comparison, baselines); the CLI hands it to
the functions here, which print it. Nothing here computes a result.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from harness.console import console
from harness.stats import drop_beyond

EMPTY = "–"
"""What a missing value prints as."""
TEXT_MIN_WIDTH = 10
"""The narrowest a wrapping text column gets before the numbers are split into another table."""


def print_table(table, out=None) -> None:
    """Print a rich table so that no number is ever cut at any width.

    Columns that do not wrap (numbers, short names) keep their full width; text columns (those
    that wrap) give up width first. When even that is too wide for the console, the columns after
    the first are dealt into several tables, each repeating the first column (as pandas wraps a
    wide frame), so every cell prints whole."""
    out = out or console()
    for part in fit_columns(table, out.width):
        out.print(part)


def _cell_width(cell) -> int:
    from rich.cells import cell_len

    text = cell.plain if hasattr(cell, "plain") else str(cell)
    return max((cell_len(line) for line in text.splitlines()), default=0)


def _column_width(column) -> int:
    """What a column needs on the screen, its padding and border included."""
    content = max([_cell_width(column.header), *(_cell_width(c) for c in column.cells)])
    return (min(content, TEXT_MIN_WIDTH) if not column.no_wrap else content) + 3


def fit_columns(table, width: int) -> list:
    """``table`` itself when its numbers fit in ``width`` columns, else several narrower tables."""
    import dataclasses

    from rich.table import Table

    for column in table.columns:
        if column.no_wrap:  # a column that cannot wrap must not be squeezed to "…" either
            column.min_width = max([_cell_width(column.header), *(_cell_width(c) for c in column.cells)])
    needed = [_column_width(column) for column in table.columns]
    if 1 + sum(needed) <= width or len(table.columns) < 3:
        return [table]
    key, rest = table.columns[0], list(enumerate(table.columns))[1:]
    parts: list[list[int]] = [[]]
    room = width - 1 - needed[0]
    used = 0
    for index, _ in rest:
        if parts[-1] and used + needed[index] > room:
            parts.append([])
            used = 0
        parts[-1].append(index)
        used += needed[index]
    tables = []
    for number, indices in enumerate(parts):
        title = table.title if number == 0 else None
        part = Table(
            title=f"{title}" if title else None,
            title_justify=table.title_justify,
            caption=table.caption if number == len(parts) - 1 else None,
            caption_justify=table.caption_justify,
            box=table.box,
            show_lines=table.show_lines,
        )
        for column in (key, *(table.columns[i] for i in indices)):
            part.columns.append(dataclasses.replace(column, _cells=list(column.cells), _index=len(part.columns)))
        for row in table.rows:
            part.rows.append(dataclasses.replace(row))
        tables.append(part)
    return tables


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


# -- numbers -----------------------------------------------------------------------------------


def number(value: float | None, digits: int = 1, suffix: str = "") -> str:
    """``12.34`` -> ``12.3``; None -> EMPTY."""
    return EMPTY if value is None else f"{value:.{digits}f}{suffix}"


def signed(value: float | None) -> str:
    """A difference in points: ``+1.2``, ``−1.2`` (a real minus sign), ``±0.0``; None -> EMPTY."""
    if value is None:
        return EMPTY
    rounded = round(value, 1)
    if rounded == 0:
        return "±0.0"
    return f"+{rounded:.1f}" if rounded > 0 else f"−{abs(rounded):.1f}"


def interval(ci: Iterable[float] | None, signed: bool = False) -> str:
    """``[40.1, 59.9]`` (``[-2.0, +1.5]`` for a difference); None -> EMPTY."""
    if not ci:
        return EMPTY
    low, high = ci
    return f"[{low:+.1f}, {high:+.1f}]" if signed else f"[{low:.1f}, {high:.1f}]"


def p_value(p: float | None) -> str:
    """``0.031``, ``<0.001``; None -> EMPTY."""
    if p is None:
        return EMPTY
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def gib(n: float) -> str:
    return f"{n / 2**30:,.2f} GiB"


def _table(title: str | None, columns: Iterable[str], left: Iterable[str] = ()):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    left = set(left)
    for name in columns:
        table.add_column(name, justify="left" if name in left else "right", no_wrap=True)
    return table


def _wrapping(table, *names: str):
    """Let these text columns wrap (fold long names) so that they give up width before the numbers."""
    for column in table.columns:
        if column.header in names:
            column.no_wrap, column.overflow = False, "fold"
    return table


# -- harness run --dry-run, validate, ls -------------------------------------------------------


def dry_run(resolved: dict, run_dir, stages: list[tuple[str, str]], warnings: Iterable[str] = ()) -> None:
    """The resolved recipe as YAML, then what each stage would do; what the machine lacks (stderr)."""
    import yaml

    print(yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True), end="")
    print(f"# run directory: {run_dir}")
    for name, state in stages:
        print(f"# {name}: {state}")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def validation(count: int, problems: list[str]) -> None:
    """Every problem (stdout), then the count (stderr when there are problems)."""
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {count} file(s)", file=sys.stderr)
    else:
        print(f"{count} recipe file(s) valid")


def recipes(rows: list[dict]) -> None:
    """`harness ls recipes`: file, and what it reproduces (or its description, or its error)."""
    table = _table(None, ("recipe", "reproduces / description"), left=("recipe", "reproduces / description"))
    _wrapping(table, "reproduces / description")
    for row in rows:
        text = row.get("reproduces") or row.get("description") or ""
        table.add_row(row["file"], f"[red]error:[/] {row['error']}" if "error" in row else text)
    console().print(table, highlight=False)


def tasks(rows: list[dict]) -> None:
    """`harness ls tasks`: one row per benchmark, with a header."""
    columns = {
        "task": "task",
        "lm_eval_group": "lm-eval group",
        "languages": "languages",
        "average_over": "avg over",
        "source": "source",
        "local_format": "local files",
        "description": "description",
    }
    table = _table(None, columns.values(), left=[v for k, v in columns.items() if k != "average_over"])
    table.columns[-1].no_wrap = False
    for row in rows:
        table.add_row(*(str(row[key]) for key in columns))
    console().print(table, highlight=False)


def baselines(data) -> None:
    """`harness ls baselines`: every published row, grouped by the table (or document) it is read
    from, with the name that `harness compare` takes (``baseline:<benchmark>/<size>/<system>``),
    the printed average beside the mean of the printed cells; under each table, where it was read
    and each row's base model, what it trains and its provenance."""
    out = console()
    out.print(
        "avg and non-en: the published averages, as printed; mean: the mean of the printed cells; "
        "?: a cell that cannot be a score of the benchmark; !: an average that differs from its cells",
        highlight=False,
    )
    groups: dict[tuple[str, str, str], list] = {}
    for row in data.rows:
        groups.setdefault((row.provenance.table, row.benchmark, row.provenance.file), []).append(row)
    for (table_name, benchmark, file), rows in groups.items():
        languages = list(rows[0].languages)
        has_cost = any(r.cost is not None or r.cost_note or r.trained_share is not None for r in rows)
        has_non_en = any(r.non_english_average is not None for r in rows)
        has_avg = any(r.average is not None for r in rows)
        has_cells = any(r.mean_over(r.languages) is not None for r in rows)
        columns = ["compare as", "size", "system", *(["cost", "trained"] * has_cost), *languages]
        columns += ["non-en"] * has_non_en + ["avg"] * has_avg + ["mean"] * has_cells
        table = _table(f"{table_name}: {benchmark} ({file})", columns, left=("compare as", "size", "system"))
        _wrapping(table, "compare as", "system")
        notes = []
        first = rows[0].provenance
        if first.url:
            notes.append(f"read from {first.url}" + (f" at {first.version}" if first.version else ""))
        for r in rows:
            mark = " !" if any("average" in w for w in r.warnings) else ""
            cost = r.cost_note or EMPTY if r.cost is None else number(r.cost, suffix="x")
            label = r.label + (" (further reading)" if r.alternative else "")
            cells = [r.reference, r.size, label] + [cost, number(r.trained_share, suffix="%")] * has_cost
            cells += [number(r.scores.get(lang)) + (" ?" if lang in r.impossible else "") for lang in languages]
            cells += [number(r.non_english_average) + mark] * has_non_en
            cells += [number(r.average, _decimals(r.average)) + mark] * has_avg
            cells += [number(r.mean_over(r.languages), 2)] * has_cells
            table.add_row(*cells)
            model = "; ".join(
                filter(None, [f"base {r.base}" if r.base else None, f"trains {r.trained}" if r.trained else None])
            )
            cite = _short_cite(r) if r.provenance.url else r.provenance.cite()
            notes.append(f"{r.label}: " + "; ".join(filter(None, [model, cite])))
        print_table(table, out)
        for note in notes:
            out.print(f"  {note}", highlight=False, soft_wrap=False, overflow="fold")
        out.print()
    if data.training_samples:
        table = _table(
            "Table 13: training samples of the baselines",
            ("system", "languages", "samples", "provenance"),
            left=("system", "provenance"),
        )
        for s in data.training_samples:
            table.add_row(
                s.system,
                str(s.languages),
                f"{s.samples:,}",
                f"arXiv {s.provenance.arxiv} {s.provenance.table}, row {s.provenance.row}",
            )
        out.print(table)
    if data.warnings:
        out.print(
            "[bold yellow]Warnings (published numbers kept as printed; averages that differ from their "
            "cells marked !, cells that cannot be scores of the benchmark marked ? above):[/]"
        )
        for warning in data.warnings:
            out.print(f"  [yellow]warning:[/] {warning}", highlight=False)


def _decimals(value: float | None) -> int:
    """Print a published number with the decimals it was printed with (38.32, not 38.3)."""
    if value is None:
        return 1
    text = repr(float(value))
    return max(1, len(text.split(".")[1].rstrip("0"))) if "." in text and "e" not in text else 1


def _short_cite(row) -> str:
    """A row read from a repository or model card: its row and notes (the table title has the URL)."""
    text = f"{row.provenance.table}, row {row.provenance.row}; arXiv {row.provenance.arxiv}"
    return f"{text}; {row.provenance.note}" if row.provenance.note else text


# -- harness plan ------------------------------------------------------------------------------


def plan(plan, origin: str, source: str, memory: dict) -> None:
    """`harness plan`: layers, parameter names, share, and the memory of the recipe's set-up."""
    lines = [
        f"model: {source} ({plan.model_type}, {plan.num_layers} layers, {plan.base_total:,} parameters)",
        f"mode: {plan.mode}" + (f" (rank {plan.lora_rank})" if plan.lora_rank else ""),
        f"layers: {plan.layers if plan.mode != 'full' else 'all'}  [{origin}]",
        f"sub-layers: {plan.sublayers}",
        f"trainable: {plan.trainable:,} of {plan.total:,} parameters = {plan.share:.1%}",
    ]
    if plan.mode == "full":
        lines.append(f"parameter names: all {len(plan.names)} tensors")
    else:
        label = "parameter names" if plan.mode == "selective" else "adapted parameters"
        lines.append(f"{label} ({len(plan.names)}):")
        lines += [f"  {name}  {plan.counts[name]:,}" for name in plan.names]
    unit = "GPU" if memory["sharded"] else "process"
    lines.append(f"memory per {unit} ({memory['setup']}):")
    lines.append(f"  {_memory_sum(memory['estimate'])}")
    if memory["with_deepspeed"]:
        alternative = memory["with_deepspeed"]
        lines.append(
            f"  with training.deepspeed: true ({alternative['setup']}): {_memory_sum(alternative['estimate'])}"
        )
    activations = memory.get("activations")
    if activations and activations["total"]:
        mode = "with" if activations["checkpointing"] else "without"
        lines.append(
            f"  activations {gib(activations['total'])} ({activations['tokens']:,} tokens per micro-batch, "
            f"{mode} gradient checkpointing; layers {gib(activations['layers'])} + loss {gib(activations['logits'])})"
        )
        lines.append(f"  peak estimate {gib(memory['peak'])}")
    if memory.get("fits") is True:
        lines.append(f"  fits the recipe's GPUs: {gib(memory['peak'])} of {memory['gpu_memory_gib']:g} GiB")
    elif memory.get("fits") is False:
        lines.append(
            f"  DOES NOT FIT the recipe's GPUs: {gib(memory['peak'])} > {memory['gpu_memory_gib']:g} GiB; "
            f"{memory['advice']}"
        )
    if memory.get("cpu_offload"):
        lines.append(f"  CPU memory for the offloaded state: {gib(memory['cpu_offload'])} per process")
    options = memory.get("zero_options")
    if options:
        lines.append(f"DeepSpeed set-ups on {memory['world_size']} GPU(s) at this micro-batch (peak per GPU):")
        for row in options:
            verdict = {True: "fits", False: "does not fit", None: "no gpu_memory_gib to check"}[row["fits"]]
            cpu = f", CPU {gib(row['cpu_offload'])} per process" if row["cpu_offload"] else ""
            mark = "  <- the recipe's" if row["recipe"] else ""
            lines.append(f"  {row['setup']:<42} {gib(row['peak']):>10}  {verdict}{cpu}{mark}")
            if row["fits"] and not row["recipe"]:
                lines.append(f"  {'':<42} {'':>10}  ({row['overrides']})")
    print("\n".join(lines))


def _memory_sum(estimate: dict) -> str:
    extra = "".join(
        f" + {label} {gib(estimate[key])}"
        for key, label in (("accumulation", "fp32 accumulation"), ("buffers", "buffers"))
        if key in estimate
    )
    return (
        f"weights {gib(estimate['weights'])} + grads {gib(estimate['gradients'])} + optimizer "
        f"{gib(estimate['optimizer'])}{extra} = {gib(estimate['total'])}"
    )


def _speed(report: dict) -> str:
    """Steady-state tokens/s (and share of the bf16 peak), else the Trainer's overall figure."""
    steady = report.get("steady_tokens_per_second")
    if steady is None:
        return f"{report['throughput_tokens_per_s']} tokens/s overall"
    share = report.get("share_of_bf16_peak")
    peak = f", {share:.1%} of the bf16 peak" if share is not None else ""
    return f"{steady:,.0f} tokens/s in steady state{peak} ({report['throughput_tokens_per_s']:,.0f} overall)"


def trained(report: dict) -> None:
    """One line (stderr) when the train stage finishes: what was trained, the loss, the throughput."""
    curve = report.get("loss_curve") or []
    first, last = (number(curve[0]["loss"], 3), number(curve[-1]["loss"], 3)) if curve else (EMPTY, EMPTY)
    console(stderr=True).print(
        f"trained {report['plan']['trainable']:,} parameters ({report['plan']['share']:.1%}) for "
        f"{report['steps']} steps; loss {first} -> {last}; {_speed(report)}; "
        f"saved {', '.join(report['outputs'])}",
        highlight=False,
    )


# -- harness score -----------------------------------------------------------------------------


def scores(task: str, extraction: str, other: str, scores: dict, out=None) -> None:
    """One task's scores: per language n, correct, accuracy, its interval, the other extraction
    mode's accuracy (yellow where it differs), PCR; then the paper's average."""
    from rich.text import Text

    table = _table(
        f"{task}: accuracy (%), extraction {extraction}",
        ("lang", "n", "correct", "accuracy", "95% CI", f"acc ({other})", "PCR"),
        left=("lang",),
    )
    pcr = scores.get("pcr", {})
    for lang, row in scores["languages"].items():
        differs = row[f"accuracy_{other}"] != row["accuracy"]
        table.add_row(
            lang,
            str(row["n"]),
            str(row["correct"]),
            number(row["accuracy"]),
            interval(row["ci95"]),
            Text(number(row[f"accuracy_{other}"]), style="yellow" if differs else ""),
            number(pcr.get(lang)),
        )
    average = scores["average"]
    if average.get("languages"):
        table.add_section()
        shown = interval(average["ci95"])
        low, high = shown.strip("[]").split(", ") if shown != EMPTY else ("", "")
        table.add_row(
            f"avg ({len(average['languages'])})",
            "",
            "",
            number(average["accuracy"]),
            EMPTY if low == high else shown,  # answers all alike: the bootstrap has no width
            number(average[f"accuracy_{other}"]),
            number(scores.get("pcr_average")),
        )
    table.caption = "95% CI: Wilson per language; for the average, a bootstrap over questions"
    if scores.get("reasoning_end"):
        unfinished = {lang: row.get("reasoning_unfinished", 0) for lang, row in scores["languages"].items()}
        listed = ", ".join(f"{lang} {count}" for lang, count in unfinished.items() if count) or "none"
        table.caption += (
            f"\nanswers read after {scores['reasoning_end']!r}; still reasoning at the end of the "
            f"response, scored wrong: {listed}"
        )
    table.caption_justify = "left"
    print_table(table, out)


# -- harness compare ---------------------------------------------------------------------------


def comparison(doc: dict) -> None:
    """`harness compare`: per task and language A, B, the difference with its interval, the paired
    test; the verdict column only when a tolerance was set."""
    from rich.text import Text

    out = console()
    out.print(f"[bold]A[/] (candidate): {doc['a']['label']}", highlight=False)
    out.print(f"[bold]B[/] (reference): {doc['b']['label']}", highlight=False)
    tolerance = doc["tolerance"]
    failed = {(r["task"], r["language"]) for r in doc["regressions"]}
    for task, data in doc["tasks"].items():
        versions = data["task_version"]
        title = f"{task}: A − B, accuracy points"
        if versions["b"] is not None:
            title += f" (task version {versions['a']})"
        columns = ["lang", "A", "B", "Δ A−B", "95% CI", "paired n", "A only", "B only", "McNemar p"]
        if tolerance is not None:
            columns.append(f"within {tolerance:g}")
        table = _table(title, columns, left=("lang", columns[-1] if tolerance is not None else "lang"))
        for lang, row in [*data["languages"].items(), ("avg", data["average"])]:
            paired = row.get("paired") or {}
            delta = row.get("delta")
            beyond = drop_beyond(delta, tolerance)
            regression = beyond and (task, lang) in failed
            style = "red" if beyond else ("green" if delta and delta > 0 else "")
            cells = [
                Text(lang, style="bold" if lang == "avg" else ""),
                number(row.get("a")),
                number(row.get("b")),
                Text(signed(delta), style=style),
                interval(row.get("ci95"), signed=True),
                str(paired.get("n", EMPTY)),
                str(paired.get("only_a", EMPTY)),
                str(paired.get("only_b", EMPTY)),
                p_value(paired.get("p_value")),
            ]
            if tolerance is not None:
                status = "" if delta is None else ("REGRESSION" if regression else "not real" if beyond else "ok")
                cells.append(Text(status, style="bold red" if regression else "yellow" if beyond else "green"))
            table.add_row(*cells)
        print_table(table, out)
    for warning in doc["warnings"]:
        out.print(f"[bold yellow]warning:[/] {warning}", highlight=False)
    if tolerance is None:
        out.print("no tolerance set (--tolerance or the recipe's report.tolerance): nothing checked, exit 0")
        return
    gate = doc.get("gate") or {}
    out.print(
        f"gate: a regression is {gate.get('statement', 'any drop beyond the tolerance')} "
        f"(tolerance {tolerance:g} point(s), {doc['tolerance_source']})",
        highlight=False,
    )
    for note in doc.get("notes", []):
        out.print(f"[bold yellow]note:[/] {note}", highlight=False)
    if doc.get("too_small"):
        small = ", ".join(f"{r['task']} {r['language']} (n = {r['n']})" for r in doc["too_small"])
        out.print(
            f"[bold red]TOO SMALL[/]: fewer than {gate['min_questions']} questions, too few to tell a "
            f"regression from noise: {small}",
            highlight=False,
        )
    if doc["regressions"]:
        drops = ", ".join(
            f"{r['task']} {r['language']} ({signed(r['delta'])}, {r['evidence']})" for r in doc["regressions"]
        )
        out.print(
            f"[bold red]REGRESSION[/]: {len(doc['regressions'])} drop(s) beyond {tolerance:g} point(s): {drops}",
            highlight=False,
        )
    elif not doc.get("too_small"):
        out.print(
            f"[bold green]PASS[/]: no regression beyond {tolerance:g} point(s) under the gate's rule", highlight=False
        )


# -- harness data ------------------------------------------------------------------------------


def format_accounting(table: dict[str, Any]) -> str:
    """The accounting as a plain-text table (terminal)."""
    from tabulate import tabulate

    lines = [f"paper: {table['paper']['source']}"]
    for side, total in table["totals"].items():
        rows = []
        for lang, entry in table["by_language"].items():
            e = entry[side]
            reasons = ", ".join(f"{r} {n:,}" for r, n in e["dropped"].items()) or "-"
            rows.append([lang, f"{e['loaded']:,}", reasons, f"{e['kept']:,}", f"{e['used']:,}", e.get("missing", "")])
        reasons = ", ".join(f"{r} {n:,}" for r, n in total["dropped"].items()) or "-"
        rows.append(["all", f"{total['loaded']:,}", reasons, f"{total['kept']:,}", f"{total['used']:,}", ""])
        if total["paper"] is not None:
            rows.append(["paper (Table 1)", "", "", "", f"{total['paper']:,}", ""])
        lines.append(f"{side} pairs:")
        lines.append(
            tabulate(
                rows, headers=["lang", "loaded", "dropped (reason n)", "kept", "used", "missing"], tablefmt="simple"
            )
        )
        if total["difference"] is not None:
            lines.append(
                f"difference used - paper = {total['difference']:+,} = "
                + " ".join(f"{n:+,} ({what})" for what, n in total["difference_by_reason"].items())
            )
        else:
            lines.append(f"the paper gives no {side} count for this training set")
        lines.append("")
    lines += [f"warning: {w}" for w in table.get("warnings") or []]
    return "\n".join(lines).rstrip()
