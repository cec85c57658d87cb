"""Report tables from a hand-made scores.json: rows, deltas, best marks, empty-cell reasons, renderers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from reporting_fixtures import BASE_13B, TRAINED_13B, make_run, make_scores

from harness.artifacts import Selection, TrainRecord
from harness.reporting.baselines import load_baselines
from harness.reporting.config import ReportConfig
from harness.reporting.paper_tables import TableOptions, accuracy_table, details_table, pcr_table, report_tables
from harness.reporting.render import (
    html_table,
    latex_escape,
    latex_table,
    markdown_table,
    terminal_table,
)
from harness.reporting.run_rows import TrainingRecord
from harness.reporting.table import LANGUAGE_NOT_EVALUATED, NO_BASELINE_NUMBER, NOT_TRAINED, TASK_NOT_RUN
from harness.runs import Run

TRAIN = {
    "mode": "selective",
    "steps": 100,
    "gpu_hours": 80.0,
    "train_runtime_s": 36_000,
    "plan": {"trainable": 845_000_000, "total": 13_000_000_000, "share": 0.065},
}


@pytest.fixture(scope="module")
def baselines():
    return load_baselines()


@pytest.fixture(scope="module")
def scores():
    data, _ = make_scores({"mgsm": {"base": BASE_13B, "trained": TRAINED_13B}, "msvamp": {"base": BASE_13B}})
    return data


def _table(scores, baselines, size="13B", systems=None, training=TRAIN):
    return accuracy_table(
        "mgsm",
        scores,
        baselines,
        TableOptions(size, systems),
        TrainingRecord.from_record(TrainRecord.model_validate(training)),
    )


def test_rows_grouped_by_size_with_the_run_beside_the_baselines(scores, baselines):
    table = _table(scores, baselines)
    assert [g.name for g in table.groups] == ["13B"]
    labels = [r.label for r in table.groups[0].rows]
    assert labels[:7] == [
        "MAmmoTH†",
        "WizardMath†",
        "MetaMath†",
        "MathOctopus†",
        "QAlign†",
        "QAlign +LoRA (r=256)",
        "SLAM",
    ]
    assert "LangBridge-20B†" in labels and "RFT+SLAM (Table 11)" in labels
    assert "This run: base (MetaMath-13B-V1.0)" in labels and "This run: trained" in labels
    all_sizes = _table(scores, baselines, size=None)
    assert [g.name for g in all_sizes.groups] == ["7B", "13B", "This run"]


def test_run_cells_carry_accuracy_interval_cost_and_share(scores, baselines):
    table = _table(scores, baselines)
    cell = table.cell("This run: trained", "bn")
    assert cell.value == pytest.approx(45.6) and cell.display == "45.6"
    assert "95% CI [39.5, 51.8]" in cell.description and "114/250" in cell.description
    assert table.cell("This run: trained", "Trained").display == "6.5%"
    assert table.cell("This run: trained", "Cost").display == "80.00 GPU-h"
    assert table.cell("This run: trained", "Avg").value == pytest.approx(58.36)


def test_deltas_against_base_and_against_the_papers_slam(scores, baselines):
    table = _table(scores, baselines)
    base = table.cell("Δ trained − base", "bn")
    assert base.value == pytest.approx(45.6 - 12.4) and base.display == "+33.2" and base.sign == 1
    assert table.cell("Δ trained − base", "de").display == "−1.2"
    slam = table.cell("Δ trained − SLAM 13B (paper)", "Avg")
    assert slam.value == pytest.approx(58.36 - 58.3) and slam.display == "+0.1"
    assert table.cell("Δ trained − SLAM 13B (paper)", "bn").display == "±0.0"
    seven = _table(scores, baselines, size=None)
    assert {r.label for r in seven.rows() if r.kind == "delta"} == {
        "Δ trained − base",
        "Δ trained − SLAM 7B (paper)",
        "Δ trained − SLAM 13B (paper)",
    }


def test_best_per_column_marked_within_the_size_group(scores, baselines):
    table = _table(scores, baselines)
    assert table.cell("QAlign†", "th").best and not table.cell("SLAM", "th").best
    assert table.cell("This run: trained", "Avg").best  # 58.4 beats SLAM's 58.3
    assert not table.cell("SLAM", "Avg").best
    # RFT (Table 11: another base model) sits beside Table 2's rows but outside the bolding,
    # although its en 75.2 tops the column
    assert table.cell("RFT (Table 11)", "en").value == 75.2 and not table.cell("RFT (Table 11)", "en").best
    assert table.cell("SLAM", "en").best or table.cell("This run: trained", "en").best
    assert any("from the paper's other tables" in n and "Table 11" in n for n in table.notes)
    assert not any(c.best for r in table.rows() if r.kind == "delta" for c in r.cells)


def test_empty_cells_say_why(scores, baselines):
    table = _table(scores, baselines)
    langbridge = table.cell("LangBridge-20B†", "bn")
    assert langbridge.value is None and langbridge.footnote.startswith(NO_BASELINE_NUMBER)
    assert "averages only" in langbridge.footnote
    assert table.cell("This run: base (MetaMath-13B-V1.0)", "Trained").footnote == NOT_TRAINED
    msvamp = accuracy_table("msvamp", scores, baselines, TableOptions("13B"), None)
    assert msvamp.cell("This run: trained", "bn").footnote == TASK_NOT_RUN
    assert msvamp.cell("This run: trained", "Cost").footnote == "no train/train.json in this run"
    # a language the run did not evaluate
    partial, _ = make_scores({"mgsm": {"base": {"en": 100, "de": 90}}})
    table = accuracy_table("mgsm", partial, baselines, TableOptions("7B"), None)
    assert table.cell("This run: base (MetaMath-13B-V1.0)", "bn").footnote == LANGUAGE_NOT_EVALUATED
    avg = table.cell("This run: base (MetaMath-13B-V1.0)", "Avg")
    assert avg.footnote.startswith("not comparable") and not avg.best
    # te: evaluated by the run, never by the paper
    with_te, _ = make_scores({"mgsm": {"base": {**BASE_13B, "te": 20}}})
    table = accuracy_table("mgsm", with_te, baselines, TableOptions("13B"), None)
    assert table.columns[-2].name == "te"
    assert table.cell("SLAM", "te").footnote == f"{NO_BASELINE_NUMBER}: the paper does not report te"
    assert any("no te numbers" in n for n in table.notes)


def test_flagged_published_average_is_footnoted(scores, baselines):
    msvamp, _ = make_scores({"msvamp": {"base": BASE_13B}})
    table = accuracy_table("msvamp", msvamp, baselines, TableOptions("7B"), None)
    cell = table.cell("MAmmoTH†", "Avg")
    assert cell.value == 26.3 and "cells give 26.95" in cell.footnote


def test_demo_task_has_no_baselines_and_says_why(baselines):
    demo, _ = make_scores({"demo": {"base": {"en": 4, "de": 2}, "trained": {"en": 5, "de": 4}}}, n=8)
    table = accuracy_table("demo", demo, baselines, TableOptions(None), None)
    assert [g.name for g in table.groups] == ["This run"]
    assert [r.kind for r in table.rows()] == ["run", "run", "delta"]
    assert [c.name for c in table.columns][3:] == ["de", "en", "Avg"]
    assert table.cell("Δ trained − base", "de").display == "+25.0"
    assert any("No published baselines" in n and "demo" in n for n in table.notes)


def test_all_wrong_run_has_no_bold_ties_and_no_zero_width_interval(baselines):
    zero, _ = make_scores({"demo": {"base": {"en": 0, "de": 0}, "trained": {"en": 0, "de": 2}}}, n=8)
    table = accuracy_table("demo", zero, baselines, TableOptions(None), None)
    assert not table.cell("This run: base (MetaMath-13B-V1.0)", "en").best  # 0.0 = 0.0: nothing stands out
    assert (
        table.cell("This run: trained", "de").best and not table.cell("This run: base (MetaMath-13B-V1.0)", "de").best
    )
    assert zero["models"]["base"]["tasks"]["demo"]["average"]["ci95"] == [0.0, 0.0]
    average = table.cell("This run: base (MetaMath-13B-V1.0)", "Avg")
    assert "no interval" in average.description and "[0.0, 0.0]" not in average.description
    assert "(bootstrap over questions)" in table.cell("This run: trained", "Avg").description
    details = details_table("demo", zero)
    assert (
        details.cell("avg", "base 95% CI").empty
        and "bootstrap has no spread" in details.cell("avg", "base 95% CI").footnote
    )
    assert details.cell("en", "base 95% CI").display == "[0.0, 32.4]"  # Wilson per language
    assert "Wilson's score interval per language" in details.caption and "bootstrap" in details.caption


def test_strict_extraction_rows_appear_only_when_they_differ(baselines):
    same, _ = make_scores({"mgsm": {"base": BASE_13B}})
    assert [r.kind for r in _table(same, baselines).rows() if r.kind == "strict"] == []
    differs, _ = make_scores({"mgsm": {"base": BASE_13B}}, strict_delta=1)
    table = _table(differs, baselines)
    strict = [r for r in table.rows() if r.kind == "strict"]
    assert [r.label for r in strict] == ["This run: base (MetaMath-13B-V1.0) · strict"]
    assert table.cell(strict[0].label, "bn").value == pytest.approx(12.0)


def test_pcr_table(scores):
    table = pcr_table("mgsm", scores)
    assert [c.name for c in table.columns] == ["System", "bn", "th", "sw", "ja", "zh", "de", "fr", "ru", "es", "Avg"]
    bn = table.cell("This run: trained", "bn")
    expected = scores["models"]["trained"]["tasks"]["mgsm"]["pcr"]["bn"]
    assert bn.value == pytest.approx(expected) and bn.best
    assert table.cell("Δ trained − base", "Avg").value == pytest.approx(
        scores["models"]["trained"]["tasks"]["mgsm"]["pcr_average"]
        - scores["models"]["base"]["tasks"]["mgsm"]["pcr_average"]
    )
    assert any("figures only" in n for n in table.notes)
    msvamp = pcr_table("msvamp", scores)
    assert msvamp.cell("This run: trained", "bn").footnote == TASK_NOT_RUN


def test_details_table(scores):
    table = details_table("mgsm", scores)
    assert table.cell("bn", "trained correct").display == "114"
    assert table.cell("bn", "trained 95% CI").display == "[39.5, 51.8]"


def test_training_record_from_train_json():
    assert TrainingRecord.from_record(None) is None
    record = TrainingRecord.from_record(
        TrainRecord.model_validate(
            {
                "mode": "selective",
                "steps": 3,
                "plan": {"trainable": 90, "total": 1000, "share": 0.09},
                "train_runtime_s": 42.0,
                "wall_time_s": 50.0,
                "gpu_hours": 0.0,
                "hyperparameters": {"device": "cpu"},
            }
        )
    )
    assert record.trained_share == pytest.approx(9.0) and record.cost_display == "42 s (CPU)"
    minutes = TrainingRecord.from_record(
        TrainRecord.model_validate(
            {"mode": "full", "steps": 3, "plan": {"trainable": 1, "total": 4, "share": 0.25}, "wall_time_s": 90}
        )
    )
    assert minutes.trained_share == 25.0 and minutes.cost_display == "1.5 min"
    gpu = TrainingRecord.from_record(
        TrainRecord.model_validate(
            {
                "mode": "selective",
                "steps": 3,
                "plan": {"trainable": 65, "total": 1000, "share": 0.065},
                "train_runtime_s": 3600.0,
                "gpu_hours": 8.0,
                "hyperparameters": {"device": "cuda"},
            }
        )
    )
    assert gpu.cost_display == "8.00 GPU-h" and "8.000 GPU-hours" in gpu.cost_description


# -- renderers -------------------------------------------------------------------------------


def _numbers(table):
    return [c.display for r in table.rows() for c in r.cells[3:] if c.display]


def test_markdown_has_every_number_best_in_bold_and_reasons(scores, baselines):
    table = _table(scores, baselines)
    text = markdown_table(table)
    for display in _numbers(table):
        assert display in text
    assert "| **13B** |" in text
    assert "**58.4**" in text and "| 58.3 |" in text  # run's avg best, SLAM's not
    assert "*This run: trained*" in text
    assert re.search(r"–ᵃ", text) and "ᵃ baseline has no number" in text
    assert "+33.2" in text and "−1.2" in text


def test_latex_escapes_and_marks(scores, baselines):
    table = _table(scores, baselines)
    text = latex_table(table)
    assert r"\begin{tabular}" in text and r"\toprule" in text and r"\bottomrule" in text
    assert r"\textbf{58.4}" in text and r"\textit{This run: trained}" in text
    assert r"QAlign +LoRA (r=256)" in text and r"6.5\%" in text
    assert r"$\Delta$ trained $-$ base" in text and r"\textsuperscript{a}" in text
    assert "MAmmoTH\\textsuperscript{\\dag}" in text
    assert latex_escape("a_b & 50% #1 {x}") == r"a\_b \& 50\% \#1 \{x\}"
    assert text.count(r"\\") >= len(list(table.rows()))


def test_html_is_self_contained_with_tooltips(scores, baselines):
    table = _table(scores, baselines)
    text = html_table(table)
    assert '<td class="num best"' in text and "58.4" in text
    assert 'title="95% CI [39.5, 51.8], 114/250 correct"' in text
    assert "<sup>a</sup>" in text and "baseline has no number" in text
    assert 'class="num up"' in text and 'class="num down"' in text


def test_terminal_renders(scores, baselines):
    from rich.console import Console

    console = Console(width=220, record=True)
    console.print(terminal_table(_table(scores, baselines)))
    text = console.export_text()
    assert "This run: trained" in text and "58.4" in text and "+33.2" in text and "ᵃ baseline has no number" in text


def test_report_tables_cover_every_task(scores, baselines):
    tables = report_tables(scores, baselines, TableOptions("13B"), None)
    assert [t.id for t in tables] == [
        "mgsm_accuracy",
        "mgsm_pcr",
        "mgsm_details",
        "msvamp_accuracy",
        "msvamp_pcr",
        "msvamp_details",
    ]
    json.dumps([t.to_json() for t in tables])


# -- the stage -------------------------------------------------------------------------------


def _recipe(name="slam13", size="13B", **report):
    return SimpleNamespace(
        name=name, reproduces="SLAM Table 2, 13B", selection=None, report=ReportConfig(size=size, **report)
    )


def test_an_up_to_date_report_prints_its_results_and_where_it_is(tmp_path, capsys, monkeypatch):
    from harness.reporting.stage import run_report, show_report

    monkeypatch.chdir(tmp_path)  # reports/ is published under the current folder
    root = make_run(tmp_path / "runs" / "slam13", {"mgsm": {"base": BASE_13B, "trained": TRAINED_13B}}, train=TRAIN)
    out = root / "report"
    out.mkdir()
    run_report(_recipe(plots=False), Run(root), out)
    capsys.readouterr()
    assert show_report(_recipe(plots=False), Run(root)) == Path("reports") / "slam13"
    captured = capsys.readouterr()
    assert "This run: trained" in captured.out and "58.4" in captured.out
    assert "report: reports/slam13/report.md (up to date)" in captured.err


def test_run_report_writes_every_format_and_publishes(tmp_path, capsys):
    from harness.reporting.stage import run_report

    root = make_run(tmp_path / "runs" / "slam13", {"mgsm": {"base": BASE_13B, "trained": TRAINED_13B}}, train=TRAIN)
    out = root / "report.partial"
    out.mkdir()
    published = run_report(_recipe(), Run(root), out, reports_dir=tmp_path / "reports")
    assert published == tmp_path / "reports" / "slam13"
    names = {p.name for p in published.iterdir()}
    assert {"report.md", "report.tex", "report.html", "report.json", "mgsm_accuracy.png"} <= names
    md = (published / "report.md").read_text()
    assert "**58.4**" in md and "![MGSM (in-domain): accuracy per language" in md
    html_text = (published / "report.html").read_text()
    assert "data:image/png;base64," in html_text and "<style>" in html_text and 'src="http' not in html_text
    data = json.loads((published / "report.json").read_text())
    assert data["tables"][0]["id"] == "mgsm_accuracy"
    assert (published / "mgsm_accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "This run: trained" in printed and "per-language details" not in printed
    import os

    umask = os.umask(0)
    os.umask(umask)
    assert (published / "report.md").stat().st_mode & 0o777 == 0o666 & ~umask
    assert published.stat().st_mode & 0o777 == 0o777 & ~umask


def test_report_never_overwrites_another_runs_folder(tmp_path):
    from harness.reporting.stage import run_report

    reports = tmp_path / "reports"
    first = make_run(tmp_path / "a" / "slam13", {"mgsm": {"base": BASE_13B}})
    second = make_run(tmp_path / "b" / "slam13", {"mgsm": {"base": TRAINED_13B}})
    for root in (first, second, first):
        out = root / "report.partial"
        out.mkdir(exist_ok=True)
        run_report(_recipe(formats=["markdown"], plots=False), Run(root), out, reports_dir=reports)
    assert sorted(p.name for p in reports.iterdir() if not p.name.startswith(".")) == ["slam13", "slam13-2"]
    assert json.loads((reports / "slam13" / "REPORT_OF.json").read_text())["run"] == str(first.resolve())
    assert json.loads((reports / "slam13-2" / "REPORT_OF.json").read_text())["run"] == str(second.resolve())


def test_run_report_without_scores_is_a_clear_error(tmp_path):
    from harness.errors import HarnessError
    from harness.reporting.stage import run_report

    root = tmp_path / "empty"
    root.mkdir()
    with pytest.raises(HarnessError, match="scores.json: not found"):
        run_report(_recipe(), Run(root), root / "out", reports_dir=tmp_path / "reports")


def test_delta_tooltips_carry_the_paired_test(baselines):
    from harness.evaluation.metrics import paired_comparison

    data, raw = make_scores({"mgsm": {"base": BASE_13B, "trained": TRAINED_13B}})
    data["comparisons"] = {
        "trained_vs_base": {"mgsm": paired_comparison(raw[("mgsm", "base")], raw[("mgsm", "trained")])}
    }
    cell = _table(data, baselines).cell("Δ trained − base", "bn")
    assert (
        "exact McNemar on 250 paired questions: 83 right only after training, 0 only before, p=<0.001"
        in cell.description
    )


def _selection(policy: dict, firing_share: float = 0.0, layers=(1, 2, 3)) -> Selection:
    return Selection.model_validate(
        {
            "model": {"source": "a-model", "num_layers": 30},
            "languages": ["de", "en"],
            "policy": policy,
            "probe": {"dataset": "demo", "firing_share": firing_share, "questions_per_language": 24},
            "boundary": 5,
            "theta": 0.0123,
            "peak_searched_from": 2,
            "selected_layers": list(layers),
            "sublayers": "up_down",
        }
    )


def test_selection_in_words_names_layers_rule_threshold_and_departures():
    from harness.reporting.stage import _selection_headline, selection_in_words

    changed = _selection({"policy": "slam_msd", "peak_search": "after_initial_decline"}, firing_share=0.5)
    text = " ".join(selection_in_words(changed))
    assert "Selected layers: 1, 2, 3 (3 of the model's 30, 0-based)" in text
    assert "up_proj and down_proj" in text and "peaks at layer 5, so layers 0-4 are language-specific" in text
    assert "θ = 0.0123" in text
    assert "not exactly the paper's rule: the overlap peak is searched only after" in text
    assert "fires on more than 50% of that language's tokens" in text
    assert _selection_headline(changed) == "1, 2, 3 of 30 (0-based), by SLAM's rule, changed (see Layer selection)"

    papers = _selection({"policy": "slam_msd", "peak_search": "all_layers"})
    assert "This is the paper's rule." in selection_in_words(papers)
    assert _selection_headline(papers).endswith("by the paper's rule")

    fixed = _selection({"policy": "first_k", "k": 6, "description": "the first 6 layers"}, layers=range(6))
    words = " ".join(selection_in_words(fixed))
    assert "Rule: the first 6 layers (policy first_k), chosen in the recipe: not SLAM's activation-based rule." in words
    assert _selection_headline(fixed).endswith("by policy first_k, not SLAM's rule")


def test_a_published_cell_that_cannot_be_a_score_carries_a_footnote(scores, baselines):
    table = _table(scores, baselines, size="7B")
    cell = table.cell("MetaMath†", "en")
    assert cell.display == "65.5" and "not a possible score" in cell.footnote and "kept as printed" in cell.footnote
    assert table.cell("MetaMath†", "bn").footnote is None


def test_newer_systems_sit_beside_the_paper_rows_marked_and_unbolded(scores, baselines):
    table = _table(scores, baselines, size="7B")
    labels = [r.label for r in table.rows()]
    assert "MindMerger (MetaMath-Llama-7B)‡" in labels and "mCoT-7B‡" in labels and "MAPO-DPO-7B‡" in labels
    assert "MetaMath-7B (official)‡" not in labels  # a further reading: named in a note, not a row
    mindmerger = table.cell("MindMerger (MetaMath-Llama-7B)‡", "Avg")
    assert mindmerger.value == pytest.approx(58.08)  # over SLAM's ten; MindMerger prints 57.6 over 11
    assert "prints 57.60 over its 11 languages (te included)" in mindmerger.footnote
    mapo = table.cell("MAPO-DPO-7B‡", "Avg")
    assert mapo.value == pytest.approx(41.56) and "non-English" in mapo.footnote
    assert table.cell("mCoT-7B‡", "fr").footnote and "not a possible score" in table.cell("mCoT-7B‡", "fr").footnote
    assert not any(c.best for r in table.rows() if r.label.endswith("‡") for c in r.cells)
    bn = [c.name for c in table.columns].index("bn")
    (best,) = [r for r in table.rows() if r.cells[bn].best]
    assert best.ranked and table.cell("mCoT-7B‡", "bn").value > best.cells[bn].value  # mCoT's 65.6 is not bolded
    spread = next(n for n in table.notes if n.startswith("MetaMath 7B has 3 published readings"))
    assert "Table 2 avg 38.40" in spread and "LLaMAX2-7B-MetaMath card official avg 38.32" in spread
    assert "up to 6.8 points (zh)" in spread and "use Table 2's" in spread
    assert any(n.startswith("‡ published outside the SLAM paper") and "02ad59ce9684" in n for n in table.notes)


def test_terminal_caption_keeps_footnote_marks_past_z():
    from rich.console import Console

    from harness.reporting.table import Cell, Column, Group, Row, Table

    cells = [Cell(None, "", None, f"reason {i}") for i in range(28)]
    table = Table("t", "T", [Column(f"c{i}") for i in range(28)], [Group("g", [Row("r", cells)])])
    console = Console(record=True, width=400)
    console.print(terminal_table(table))
    text = console.export_text()
    assert "[a1] reason 26" in text and "[b1] reason 27" in text  # not eaten as rich markup
