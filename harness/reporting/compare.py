"""`harness compare A B`: did A regress against B?

A is a run directory (the candidate); B is another run directory or a published row
(``baseline:mgsm/13B/SLAM``). ``RUN:base`` / ``RUN:trained`` picks the model of a run (default: the
trained model when the run has one, else the base). For every task both sides have, per language
and on the average: A's accuracy, B's, the delta A - B with a 95% interval and, when both sides
kept per-question outputs (``eval/<task>/samples.jsonl``), the exact McNemar test on the paired
questions.

Scores of different task versions or answer extractions are not comparable: the comparison is
refused (exit 2) rather than printed as if they were. The gate (exit 1) fails on a drop beyond
the tolerance, in accuracy points (``--tolerance``, else the ``report.tolerance`` of A's recipe),
that the paired test says is real (``report.gate: drop_and_test``, the default: McNemar p <
``alpha``), or on any drop beyond it (``drop``); a drop it lets pass is listed with a note of how
small a drop the run's questions could show; ``--min-questions`` fails a run too small to tell.
Exit 0 otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.artifacts import MARKER, SCORES_FILE, Done, Scores, read_artifact, redo
from harness.environment import describe_hardware, same_hardware
from harness.errors import HarnessError
from harness.reporting.baselines import Baseline, load_baselines
from harness.reporting.scored import ScoredModel
from harness.runs import Run, parse_model_ref, verified_output
from harness.stats import drop_beyond, mcnemar_exact, newcombe_interval, paired_average_interval, paired_interval


@dataclass
class Side:
    """One side of a comparison: a run's model, or a published row."""

    reference: str
    label: str
    model: ScoredModel | None = None
    """The run's model (None for a published row)."""
    baseline: Baseline | None = None

    @property
    def run_root(self) -> Path | None:
        return None if self.model is None else self.model.run_root

    @property
    def role(self) -> str:
        return "" if self.model is None else self.model.role

    def tasks(self) -> list[str]:
        if self.baseline is not None:
            return [self.baseline.benchmark]
        assert self.model is not None
        return self.model.tasks()

    def task_version(self, task: str):
        return None if self.model is None else self.model.task_version(task)

    def accuracy(self, task: str, lang: str) -> tuple[float | None, list[float] | None, int | None]:
        """(accuracy %, 95% interval, n) of one language; Nones when it was not evaluated."""
        if self.baseline is not None:
            return self.baseline.scores.get(lang), None, None
        assert self.model is not None
        return self.model.accuracy(task, lang)

    def languages(self, task: str) -> list[str]:
        if self.baseline is not None:
            return list(self.baseline.languages)
        assert self.model is not None
        return self.model.languages(task)

    def average(self, task: str) -> tuple[float | None, list[float] | None, list[str]]:
        if self.baseline is not None:
            return self.baseline.average, None, list(self.baseline.languages)
        assert self.model is not None
        return self.model.average(task)

    def outcomes(self, task: str) -> dict[str, dict[str, bool]] | None:
        """Per language, question id -> right, from eval/<task>/samples.jsonl (None if absent)."""
        return None if self.model is None else self.model.outcomes(task)

    def describe(self) -> dict:
        out: dict[str, Any] = {"reference": self.reference, "label": self.label}
        if self.baseline is not None:
            out["baseline"] = self.baseline.to_json()
        elif self.model is not None:
            out.update(
                {
                    "run": str(self.run_root),
                    "model": self.role,
                    "source": self.model.source,
                    "extraction": self.model.extraction,
                    "lm_eval_version": self.model.lm_eval_version,
                }
            )
        return out


def parse_side(text: str, which: str) -> Side:
    """``RUN``, ``RUN:base``, ``RUN:trained`` or (for B) ``baseline:<benchmark>/<size>/<system>``."""
    if text.startswith("baseline:"):
        if which == "A":
            raise HarnessError(
                f"A = {text!r}: A is the candidate and must be a run directory; put the "
                "baseline second: `harness compare RUN baseline:...`"
            )
        row = load_baselines().resolve(text)
        label = f"{row.label} {row.size} ({'paper' if row.from_slam else 'published'}, {row.provenance.table})"
        return Side(text, label, baseline=row)
    root, role = parse_model_ref(text)
    if not root.is_dir():
        raise HarnessError(
            f"{which} = {text!r}: no such run directory"
            + ("" if which == "A" else "; B may also be baseline:<benchmark>/<size>/<system>")
        )
    scores_path = Run(root).stage_dir("evaluate") / SCORES_FILE
    if not scores_path.is_file():
        raise HarnessError(
            f"{which} = {text!r}: {scores_path} not found; has the evaluate stage finished? "
            f"(`harness evaluate RECIPE --run-dir {root}`)"
        )
    scores = read_artifact(verified_output(root, "evaluate", SCORES_FILE), Scores, redo("evaluate", root))
    models = list(scores.models)
    if role is None:
        role = "trained" if "trained" in models else "base"
    if role not in models:
        raise HarnessError(
            f"{which} = {text!r}: this run evaluated no {role!r} model; it has: {', '.join(models) or 'none'}"
        )
    return Side(text, f"{root} ({role})", model=ScoredModel(role, scores, root))


def _recorded_report(side: Side) -> tuple[dict, str | None]:
    """The ``report:`` section of the recipe that produced A's results, and where it was read.

    From the report stage's DONE.json when that report was built on A's scores, else from the
    evaluate stage's: the settings of the results compared, never those of a later command
    (which may have failed, or changed only the manifest).
    """
    if side.run_root is None:
        return {}, None
    evaluated = Run(side.run_root).stage_dir("evaluate") / MARKER
    if not evaluated.is_file():
        return {}, None
    done = read_artifact(evaluated, Done, redo("evaluate"))
    report = Run(side.run_root).stage_dir("report") / MARKER
    if report.is_file():
        report_done = read_artifact(report, Done, redo("report"))
        if report_done.upstream.get("evaluate") == done.output_id and report_done.recipe is not None:
            done, evaluated = report_done, report
    return ((done.recipe or {}).get("report") or {}), f"the recipe recorded in {evaluated}"


def _tolerance_of(side: Side) -> tuple[float | None, str | None]:
    """``report.tolerance`` of the recipe that produced A's results, and where it was read."""
    section, where = _recorded_report(side)
    value = section.get("tolerance")
    if value is None:
        return None, None
    value = float(value)
    if not math.isfinite(value):
        raise HarnessError(f"{where}: recipe.report.tolerance is {value}: not a finite number; pass --tolerance")
    return value, f"report.tolerance of {where}"


# -- comparing -------------------------------------------------------------------------------


def compare(a: Side, b: Side, task: str | None = None) -> dict:
    """The comparison as data (what ``--json`` prints, less the verdict)."""
    a_tasks, b_tasks = set(a.tasks()), set(b.tasks())
    tasks: list[str]
    warnings: list[str] = []
    if task is not None:
        for side, present in ((a, a_tasks), (b, b_tasks)):
            if task not in present:
                raise HarnessError(
                    f"--task {task}: {side.reference} has no {task!r} scores "
                    f"(it has: {', '.join(sorted(present)) or 'none'})"
                )
        tasks = [task]
    else:
        tasks = sorted(a_tasks & b_tasks)
        if not tasks:
            raise HarnessError(
                f"refusing to compare different tasks: {a.reference} has {', '.join(sorted(a_tasks)) or 'none'}, "
                f"{b.reference} has {', '.join(sorted(b_tasks)) or 'none'}; scores of different benchmarks "
                "are not comparable"
            )
        for side, other in ((a, b_tasks), (b, a_tasks)):
            alone = sorted(set(side.tasks()) - other)
            if alone:
                warnings.append(f"not compared: {', '.join(alone)} (only {side.reference} has it)")

    for t in tasks:
        va, vb = a.task_version(t), b.task_version(t)
        if b.baseline is None and va != vb:
            raise HarnessError(
                f"refusing to compare {t}: task versions differ ({a.reference}: {va!r}, {b.reference}: {vb!r}); "
                "scores of different task versions are not comparable: re-evaluate one side with the "
                "other's harness version"
            )
    if b.model is not None:
        assert a.model is not None
        ea, eb = a.model.extraction, b.model.extraction
        if ea != eb:
            raise HarnessError(
                f"refusing to compare: answer extractions differ ({a.reference}: {ea!r}, "
                f"{b.reference}: {eb!r}); re-score one side (`harness score`) with the other's"
            )
        ca, cb = _chat_template(a), _chat_template(b)
        if ca != cb:
            raise HarnessError(
                f"refusing to compare: chat templates differ ({a.reference}: {ca!r}, {b.reference}: "
                f"{cb!r}); the models were prompted differently: evaluate both sides the same way"
            )
        prompt_a, prompt_b = a.model.prompting(), b.model.prompting()
        for key in prompt_a:
            if prompt_a[key] != prompt_b[key]:
                raise HarnessError(
                    f"refusing to compare: {key} differs ({a.reference}: {prompt_a[key]!r}, {b.reference}: "
                    f"{prompt_b[key]!r}); the models were asked or given room differently: evaluate both "
                    "sides with the same setting"
                )
        for t in tasks:
            pa, pb = getattr(a.model.task(t), "prompt_sha", None), getattr(b.model.task(t), "prompt_sha", None)
            if pa and pb and pa != pb:
                raise HarnessError(
                    f"refusing to compare {t}: the prompts differ ({a.reference}: {pa}, {b.reference}: "
                    f"{pb}); re-evaluate one side with the other's task files"
                )
        la, lb = a.model.lm_eval_version, b.model.lm_eval_version
        if la != lb:
            warnings.append(f"lm-eval versions differ: {a.reference} {la}, {b.reference} {lb}")
        sa, sb = a.model.settings, b.model.settings
        for key in ("backend", "dtype", "batch_size", "device"):
            if sa.get(key) != sb.get(key):
                warnings.append(
                    f"{key.replace('_', ' ')} differs ({a.reference}: {sa.get(key)!r}, {b.reference}: "
                    f"{sb.get(key)!r}): greedy generations can differ slightly between them"
                )
        ha, hb = sa.get("hardware"), sb.get("hardware")
        if ha and hb and not same_hardware(ha, hb):
            warnings.append(
                f"the runs ran on different hardware ({a.reference}: {describe_hardware(ha)}, {b.reference}: "
                f"{describe_hardware(hb)}): bf16 generations and speed can differ between them"
            )
    else:
        assert b.baseline is not None
        if _chat_template(a):
            warnings.append(f"{a.reference} was prompted through a chat template; the published numbers were not")
        if a.model is not None and a.model.extraction not in (None, "paper"):
            warnings.append(
                f"{a.reference} scores use the {a.model.extraction!r} extraction; the "
                "published numbers use the paper's rule"
            )
        where = f"arXiv {b.baseline.provenance.arxiv} {b.baseline.provenance.table}, row {b.baseline.provenance.row}"
        warnings.append(
            f"B is a published number ({where}): no interval or "
            "per-question outputs on its side, so no paired test; the interval is A's alone"
        )
        readings = load_baselines().readings(b.baseline)
        if len(readings) > 1:
            others = ", ".join(r.reference for r in readings if r is not b.baseline)
            warnings.append(
                f"{b.baseline.label} {b.baseline.size} has {len(readings)} published readings; this comparison "
                f"uses {b.baseline.provenance.table}'s ({b.baseline.reference}); the others: {others}"
            )

    result: dict = {"tasks": {}, "warnings": warnings}
    for t in tasks:
        result["tasks"][t] = _compare_task(a, b, t, warnings)
    return result


def _chat_template(side: Side):
    """The chat template a run's models were prompted with (scores.json settings; missing: off)."""
    return (side.model.settings if side.model is not None else {}).get("chat_template") or False


def _compare_task(a: Side, b: Side, task: str, warnings: list[str]) -> dict:
    a_out = a.outcomes(task)
    b_out = b.outcomes(task) if b.baseline is None else None
    if b.baseline is None and (a_out is None or b_out is None):
        missing = [s.reference for s, o in ((a, a_out), (b, b_out)) if o is None]
        warnings.append(f"{task}: no paired test: no eval/{task}/samples.jsonl for {', '.join(missing)}")
    languages = [lang for lang in b.languages(task) if lang in a.languages(task)]
    for side, other in ((a, b), (b, a)):
        alone = [lang for lang in side.languages(task) if lang not in other.languages(task)]
        if alone:
            warnings.append(f"{task}: not compared: {', '.join(alone)} (only {side.reference} has it)")
    if a.model is not None and b.model is not None:
        task_a, task_b = a.model.task(task), b.model.task(task)
        for key in ("data", "data_commit", "limit"):
            va, vb = getattr(task_a, key, None), getattr(task_b, key, None)
            if va != vb:
                warnings.append(
                    f"{task}: {key} differs ({a.reference}: {va!r}, {b.reference}: {vb!r}): "
                    "the two sides may not have answered the same questions"
                )
    rows: dict[str, dict] = {}
    for lang in languages:
        acc_a, ci_a, n_a = a.accuracy(task, lang)
        acc_b, ci_b, n_b = b.accuracy(task, lang)
        if acc_a is None or acc_b is None:
            continue
        row: dict[str, Any] = {
            "a": acc_a,
            "b": acc_b,
            "delta": round(acc_a - acc_b, 4),
            "n_a": n_a,
            "n_b": n_b,
            "ci95": _round(newcombe_interval(acc_a, ci_a, acc_b, ci_b)),
            "paired": None,
        }
        if n_a is not None and n_b is not None and n_a != n_b:
            warnings.append(f"{task} {lang}: different question counts ({a.reference}: {n_a}, {b.reference}: {n_b})")
        if a_out and b_out and lang in a_out and lang in b_out:
            test = mcnemar_exact(a_out[lang], b_out[lang])
            row["paired"] = {**test.as_dict(), "ci95": _round(paired_interval(test.only_a, test.only_b, test.n))}
            row["ci95"] = row["paired"]["ci95"]
        rows[lang] = row

    avg_a, avg_ci_a, covered_a = a.average(task)
    avg_b, avg_ci_b, covered_b = b.average(task)
    average: dict = {"a": avg_a, "b": avg_b, "languages": covered_a, "paired": None}
    if set(covered_a) != set(covered_b) or avg_a is None or avg_b is None:
        common = [lang for lang in languages if lang in rows]
        if common:
            avg_a = sum(rows[lang]["a"] for lang in common) / len(common)
            avg_b = sum(rows[lang]["b"] for lang in common) / len(common)
            avg_ci_a = avg_ci_b = None
            note = (
                f"{task}: averages cover different languages ({a.reference}: {', '.join(covered_a)}; "
                f"{b.reference}: {', '.join(covered_b)}): compared the mean over the {len(common)} "
                f"common language(s) instead"
            )
            warnings.append(note)
            average.update({"a": round(avg_a, 4), "b": round(avg_b, 4), "languages": common, "recomputed": True})
    if average["a"] is not None and average["b"] is not None:
        average["delta"] = round(average["a"] - average["b"], 4)
        average["ci95"] = _round(newcombe_interval(average["a"], avg_ci_a, average["b"], avg_ci_b))
        if a_out and b_out:
            pooled_a = {(lang, i): v for lang in average["languages"] for i, v in (a_out.get(lang) or {}).items()}
            pooled_b = {(lang, i): v for lang in average["languages"] for i, v in (b_out.get(lang) or {}).items()}
            if pooled_a and pooled_b:
                test = mcnemar_exact(pooled_a, pooled_b)
                average["paired"] = test.as_dict()
                interval = paired_average_interval(a_out, b_out, average["languages"])
                if interval is not None:
                    average["ci95"] = _round(interval)
                    average["paired"]["ci95"] = average["ci95"]
    else:
        average["delta"] = None
        average["ci95"] = None
    return {
        "task_version": {"a": a.task_version(task), "b": b.task_version(task)},
        "languages": rows,
        "average": average,
    }


def _round(interval: list[float] | None) -> list[float] | None:
    return [round(x, 4) for x in interval] if interval else None


GATES = {
    "drop_and_test": "a drop beyond the tolerance that the paired test says is real (McNemar p < {alpha:g}; "
    "against a published number: the 95% interval of the difference below 0)",
    "drop": "any drop beyond the tolerance",
}
"""`report.gate` / `--gate`: what makes a drop a regression, as the output states it."""


def detectable_questions(alpha: float) -> int:
    """The fewest questions, all lost by A, that the exact two-sided McNemar test calls real at
    ``alpha`` (6 at 0.05: p = 2 / 2^6 = 0.031): a smaller drop is never significant, at any n."""
    return max(1, math.ceil(math.log2(2 / alpha)))


def _evidence(row: dict, alpha: float) -> tuple[bool | None, str]:
    """(whether the paired test says A's drop is real, how it was told); None: no test possible."""
    paired = row.get("paired")
    if paired and paired.get("p_value") is not None:
        p = paired["p_value"]
        return p < alpha, f"McNemar p = {p:.3f}"
    interval = row.get("ci95")
    if interval:
        return interval[1] < 0, f"95% interval of the difference [{interval[0]:+.1f}, {interval[1]:+.1f}]"
    return None, "no per-question outputs or interval"


def _power_note(task: str, lang: str, row: dict, tolerance: float, alpha: float, how: str) -> str:
    """Why a drop beyond the tolerance was not called a regression, and how small the run is."""
    paired = row.get("paired") or {}
    n = paired.get("n") or row.get("n_a")
    text = f"{task} {lang}: a {abs(row['delta']):.1f}-point drop is beyond the tolerance of {tolerance:g}"
    if paired:
        lost = paired["only_b"] - paired["only_a"]
        text += f", {lost} question(s) net of {n}"
    text += f", but not shown to be real ({how})"
    if not paired:
        return text + ": without per-question outputs on both sides, only the sides' own intervals count"
    if n:
        k = detectable_questions(alpha)
        floor = 100 * k / n
        if floor > tolerance:
            text += (
                f"; with {n} questions the paired test cannot call a drop smaller than {k} questions "
                f"({floor:.1f} points) real at alpha {alpha:g}: evaluate more questions to tell "
                f"(or `--min-questions` to fail runs this small)"
            )
    return text


def gate(
    result: dict, tolerance: float | None, rule: str = "drop_and_test", alpha: float = 0.05, min_questions=None
) -> dict:
    """The gate's verdict: the regressions under ``rule``, the drops beyond the tolerance it let
    pass (each with a note), and the languages with fewer than ``min_questions`` questions."""
    regressions: list[dict] = []
    notes: list[str] = []
    too_small: list[dict] = []
    if tolerance is None:
        return {"regressions": regressions, "notes": notes, "too_small": too_small}
    for task, data in result["tasks"].items():
        for lang, row in [*data["languages"].items(), ("avg", data["average"])]:
            n = (row.get("paired") or {}).get("n") or row.get("n_a")
            if min_questions is not None and lang != "avg" and n is not None and n < min_questions:
                too_small.append({"task": task, "language": lang, "n": n})
            delta = row.get("delta")
            if not drop_beyond(delta, tolerance):
                continue
            real, how = _evidence(row, alpha)
            found = {"task": task, "language": lang, "delta": delta, "evidence": how}
            if rule == "drop" or real is not False:  # no test possible: the drop alone decides
                regressions.append(found)
            else:
                notes.append(_power_note(task, lang, row, tolerance, alpha, how))
    return {"regressions": regressions, "notes": notes, "too_small": too_small}


def regressions(result: dict, tolerance: float | None, rule: str = "drop_and_test", alpha: float = 0.05) -> list[dict]:
    """Every language or average whose drop (B - A) is a regression under ``rule``."""
    return gate(result, tolerance, rule, alpha)["regressions"]


def compare_sides(
    a: str,
    b: str,
    tolerance: float | None = None,
    task: str | None = None,
    rule: str | None = None,
    alpha: float | None = None,
    min_questions: int | None = None,
) -> dict:
    """`harness compare A B`: the comparison, the gate it was held to (tolerance, rule, alpha:
    the command line's, else the ``report:`` of A's recipe, else the defaults), the regressions
    under it, the drops it let pass with their notes, and the exit code (1 on a regression or a
    run smaller than ``min_questions``)."""
    if tolerance is not None and tolerance < 0:
        raise HarnessError(f"--tolerance {tolerance}: must be 0 or more (accuracy points)")
    if rule is not None and rule not in GATES:
        raise HarnessError(f"--gate {rule!r}: choose from {', '.join(GATES)}")
    if alpha is not None and not 0 < alpha < 1:
        raise HarnessError(f"--alpha {alpha}: a significance level between 0 and 1, e.g. 0.05")
    if min_questions is not None and min_questions < 1:
        raise HarnessError(f"--min-questions {min_questions}: must be 1 or more")
    side_a, side_b = parse_side(a, "A"), parse_side(b, "B")
    result = compare(side_a, side_b, task)
    source = "command line" if tolerance is not None else None
    if tolerance is None:
        tolerance, source = _tolerance_of(side_a)
    recorded, _ = _recorded_report(side_a)
    rule = rule or recorded.get("gate") or "drop_and_test"
    alpha = alpha if alpha is not None else float(recorded.get("alpha") or 0.05)
    if min_questions is None:
        min_questions = recorded.get("min_questions")
    verdict = gate(result, tolerance, rule, alpha, min_questions)
    return {
        "a": side_a.describe(),
        "b": side_b.describe(),
        "tolerance": tolerance,
        "tolerance_source": source,
        "gate": {
            "rule": rule,
            "alpha": alpha,
            "min_questions": min_questions,
            "statement": GATES[rule].format(alpha=alpha),
        },
        **result,
        **verdict,
        "exit_code": 1 if verdict["regressions"] or verdict["too_small"] else 0,
    }
