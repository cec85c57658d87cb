"""`harness leaderboard` over runs evaluated by the real runner (answers from a dummy LM), and
`harness score` on a run's samples.jsonl and on lm-eval's samples files."""

from __future__ import annotations

import json

import pytest
from evaluation_fixtures import GoldLM, write_mgsm_folder

from harness.cli import main, score_command
from harness.errors import HarnessError
from harness.evaluation.config import EvaluationConfig, TaskConfig
from harness.evaluation.runner import resolve_tasks, run_models
from harness.reporting.leaderboard import build_leaderboard
from harness.reporting.render import markdown_table
from harness.runs import Run


def make_run(tmp_path, name, rules, extraction="paper", settings=None, limit=None):
    """A run folder whose eval/ the runner wrote (scores.json, samples.jsonl, lm-eval files)."""
    folder = tmp_path / "mgsm"
    if not folder.exists():
        write_mgsm_folder(folder, languages=("en", "de", "bn"), n=20)
    config = EvaluationConfig(
        tasks=[TaskConfig(name="mgsm", path=str(folder), languages=["en", "de", "bn"], limit=limit)],
        models=list(rules),
        max_new_tokens=16,
        extraction=extraction,
    )
    run = Run.create(tmp_path / name)
    with run.stage("evaluate", f"test-{name}") as out:  # published with its DONE.json, which readers check
        run_models(
            config,
            resolve_tasks(config, ["en"]),
            out,
            lambda m: (GoldLM(rules[m]), f"test:{name}:{m}"),
            settings=settings,
        )
    return run.root


STRONG = {"base": lambda doc: doc["index"] < 4, "trained": lambda doc: doc["index"] < 16}
WEAK = {"trained": lambda doc: doc["index"] < 6}
SAME = {"trained": lambda doc: doc["index"] < 5}


@pytest.fixture
def runs(tmp_path):
    return [make_run(tmp_path, "strong", STRONG), make_run(tmp_path, "weak", WEAK), make_run(tmp_path, "same", SAME)]


def test_leaderboard_of_three_runs(runs, capsys):
    _strong, weak, _same = runs
    tables, warnings, entries = build_leaderboard([str(r) for r in runs], size="7B", reference=str(weak))
    assert len(tables) == 1 and not warnings
    table = tables[0]
    assert [e.label for e in entries] == ["strong (base)", "strong (trained)", "weak (trained)", "same (trained)"]
    runs_group = table.groups[-1]
    assert runs_group.name == "Runs"
    assert [row.label for row in runs_group.rows] == [
        "strong (trained)",
        "weak (trained)",
        "same (trained)",
        "strong (base)",
    ]
    assert table.cell("strong (trained)", "de").value == 80.0
    assert table.cell("strong (trained)", "de").description.endswith("16/20 correct (n = 20)")
    # Best per column across published and run rows (MGSM 7B's best published en is 68.0)
    assert table.cell("strong (trained)", "bn").best and not table.cell("weak (trained)", "bn").best
    assert table.cell("strong (trained)", "en").best and not table.cell("SLAM", "en").best
    assert table.cell("same (trained)", "es").footnote == "language not evaluated"
    # Avg over 3 of 10 languages: not comparable with the published averages, so never bold
    assert table.cell("strong (trained)", "Avg").footnote.startswith("not comparable")
    assert table.cell("strong (trained)", "non-En Avg").value == 80.0
    assert table.cell("strong (trained)", "PCR").value == 100.0
    # Paired test against the reference: strong is right on 10 more questions per language (30 of 60)
    from scipy.stats import binomtest

    versus = table.cell("strong (trained)", "Δ vs ref")
    assert versus.value == pytest.approx(50.0) and versus.display == "+50.0*"
    assert binomtest(0, 30).pvalue < 0.001 and "McNemar exact p <0.001 on 60 shared questions" in versus.description
    assert "p = 0.250" in table.cell("same (trained)", "Δ vs ref").description
    assert table.cell("same (trained)", "Δ vs ref").display == "−5.0"  # 3 discordant: p = 0.25
    assert table.cell("weak (trained)", "Δ vs ref").display == "reference"
    assert table.cell("SLAM", "Δ vs ref").footnote.startswith("published row")
    assert [g.name for g in table.groups] == ["Published 7B", "Runs"]

    markdown = markdown_table(table)
    assert "| System " in markdown and "| *strong (trained)* " in markdown and "**Published 7B**" in markdown
    assert "* p &lt; 0.05 (exact McNemar test)" in markdown  # HTML-escaped: Markdown shows "p < 0.05"


def test_runs_that_differ_in_extraction_or_chat_template_get_tables_of_their_own(tmp_path):
    paper = make_run(tmp_path, "paper", WEAK)
    strict = make_run(tmp_path, "strict", WEAK, extraction="strict")
    chat = make_run(tmp_path, "chat", WEAK, settings={"chat_template": True})
    tables, warnings, _ = build_leaderboard([str(paper), str(strict), str(chat)], reference=str(paper))
    assert [t.id for t in tables] == ["mgsm_leaderboard_1", "mgsm_leaderboard_2", "mgsm_leaderboard_3"]
    assert "answer extraction: 'strict' here, 'paper' in the first table" in tables[1].notes[0]
    assert "chat template: True here, False in the first table" in tables[2].notes[0]
    assert any("strict (trained) in a separate table" in w for w in warnings)
    assert tables[1].cell("strict (trained)", "Δ vs ref").footnote.startswith("not comparable with the reference")


def test_leaderboard_files_and_cli_errors(runs, tmp_path, capsys):
    out = tmp_path / "board"
    assert main(["leaderboard", *map(str, runs), "--out", str(out), "--reference", f"{runs[1]}:trained"]) == 0
    for name in ("leaderboard.md", "leaderboard.tex", "leaderboard.html", "leaderboard.json", "mgsm_leaderboard.png"):
        assert (out / name).is_file(), name
    assert "data:image/png;base64," in (out / "leaderboard.html").read_text()
    data = json.loads((out / "leaderboard.json").read_text())
    assert data["runs"][0]["comparability"]["mgsm"]["answer extraction"] == "paper"
    assert main(["leaderboard", str(tmp_path / "nowhere")]) == 2
    assert "no such run directory" in capsys.readouterr().err
    assert main(["leaderboard", str(runs[0]), "--task", "xcsqa"]) == 2
    assert "none of the runs has 'xcsqa' scores" in capsys.readouterr().err
    assert main(["leaderboard", str(runs[0]), "--size", "70B"]) == 2
    assert "--size 70B: the paper has no 70B rows; choose from: 13B, 7B" in capsys.readouterr().err


# -- harness score on samples files ----------------------------------------------------------------


def test_score_reproduces_scores_json_from_the_runs_samples(tmp_path, capsys):
    run = make_run(tmp_path, "partial", STRONG, limit=7)  # a limit: 7 of 20 questions per language
    scores = json.loads((run / "eval" / "scores.json").read_text())
    samples = run / "eval" / "mgsm" / "samples.jsonl"
    for model in ("base", "trained"):
        assert score_command(str(samples), "mgsm", "paper", None, True, model) == 0
        result = json.loads(capsys.readouterr().out)
        expected = {
            k: v
            for k, v in scores["models"][model]["tasks"]["mgsm"].items()
            if k not in ("task_version", "prompt_sha", "data", "limit")
        }
        assert {k: result[k] for k in expected} == expected
        assert result["languages"]["de"]["n"] == 7
    with pytest.raises(HarnessError, match="holds the answers of base and trained; pick one with --model"):
        score_command(str(samples), "mgsm", "paper", None, True)

    # lm-eval's own samples file of one language gives the same figures for that language
    lm_file = next((run / "eval" / "lm_eval" / "trained").glob("samples_slam_mgsm_de_*.jsonl"))
    assert score_command(str(lm_file), "mgsm", "paper", None, True) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["languages"]["de"] == scores["models"]["trained"]["tasks"]["mgsm"]["languages"]["de"]


def test_score_accepts_the_first_n_questions_of_a_language(tmp_path, capsys):
    folder = write_mgsm_folder(tmp_path / "mgsm", languages=("en",), n=6)
    file = tmp_path / "gen.jsonl"
    file.write_text("".join(json.dumps({"lang": "en", "index": i, "response": f"{10 + i}"}) + "\n" for i in range(3)))
    assert score_command(str(file), "mgsm", "paper", str(folder), True) == 0
    assert json.loads(capsys.readouterr().out)["languages"]["en"]["n"] == 3


def test_leaderboard_shows_every_published_reading_and_which_one_a_comparison_uses(tmp_path):
    run = make_run(tmp_path, "strong", STRONG)
    (table,), _, _ = build_leaderboard([str(run)], size="7B")
    labels = [row.label for group in table.groups[:-1] for row in group.rows]
    assert "MetaMath† [Table 2]" in labels
    assert "MetaMath-7B (official)‡ [LLaMAX2-7B-MetaMath card official]" in labels
    assert "MindMerger (MetaMath-Llama-7B)‡" in labels and "RFT (Table 11)" in labels
    ranked = {row.label for group in table.groups[:-1] for row in group.rows if row.ranked}
    assert "MetaMath† [Table 2]" in ranked and not any(label.endswith("]") and "‡" in label for label in ranked)
    assert "RFT (Table 11)" not in ranked
    (spread,) = [n for n in table.notes if n.startswith("MetaMath 7B has 3 published readings")]
    assert "up to 6.8 points (zh)" in spread and "a comparison by name uses Table 2's" in spread
    index = [c.name for c in table.columns].index("Avg")
    mindmerger = next(r for g in table.groups for r in g.rows if r.label.startswith("MindMerger"))
    assert mindmerger.cells[index].value == pytest.approx(58.08)  # SLAM's ten languages, not its own 11
