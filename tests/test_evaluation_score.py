"""`harness score` on made-up generation files, and `harness ls tasks`."""

from __future__ import annotations

import json

import pytest
from evaluation_fixtures import write_mgsm_folder, write_xcsqa_folder

from harness.cli import main, score_command
from harness.errors import HarnessError
from harness.evaluation.score import list_tasks, score_generations


def write_generations(file, rows):
    file.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows), encoding="utf-8"
    )
    return file


def math_rows(languages=("en", "de"), n=6, right=lambda lang, i: i % 2 == 0):
    """Answers for write_mgsm_folder's questions (gold 10 + i), right when ``right(lang, i)``."""
    rows = []
    for lang in languages:
        for i in range(n):
            rows.append(
                {"lang": lang, "index": i, "response": f"So it is {10 + i}." if right(lang, i) else "I give up."}
            )
    return rows


@pytest.fixture
def mgsm_dir(tmp_path):
    return write_mgsm_folder(tmp_path / "mgsm", languages=("en", "de"), n=6)


def test_score_json(tmp_path, mgsm_dir, capsys):
    file = write_generations(tmp_path / "gen.jsonl", math_rows(right=lambda lang, i: i < (4 if lang == "en" else 2)))
    assert score_command(str(file), "mgsm", "paper", str(mgsm_dir), as_json=True) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["task"] == "mgsm" and result["extraction"] == "paper"
    assert list(result["languages"]) == ["de", "en"]  # the benchmark's order
    assert result["languages"]["en"]["correct"] == 4 and result["languages"]["de"]["correct"] == 2
    assert result["languages"]["en"]["accuracy_strict"] == pytest.approx(400 / 6, abs=1e-3)
    assert result["average"]["accuracy"] == pytest.approx(50.0)
    assert result["pcr"] == {"de": 50.0}


def test_score_table_through_the_cli(tmp_path, mgsm_dir, capsys):
    file = write_generations(tmp_path / "gen.jsonl", math_rows())
    assert main(["score", str(file), "--task", "mgsm", "--path", str(mgsm_dir)]) == 0
    out = capsys.readouterr().out
    assert "mgsm: accuracy (%), extraction paper" in out and "avg (2)" in out and "50.0" in out


def test_strict_and_paper_differ_on_signs(tmp_path, mgsm_dir):
    rows = math_rows(languages=("en",), right=lambda lang, i: True)
    rows[0]["response"] = "The answer is -10."
    by_mode, scored = score_generations(write_generations(tmp_path / "g.jsonl", rows), "mgsm", str(mgsm_dir))
    assert by_mode["paper"]["en"]["0"] is True and by_mode["strict"]["en"]["0"] is False
    assert scored[0]["extracted"] == {"paper": "10", "strict": "-10"}


def test_xcsqa_by_id(tmp_path):
    folder = write_xcsqa_folder(tmp_path / "xcsqa", languages=("en",), n=5)
    rows = [
        {"lang": "en", "id": f"q{i}", "response": f"({'ABCDE'[i % 5]})" if i < 3 else "(A)"} for i in (4, 3, 2, 1, 0)
    ]
    by_mode, _ = score_generations(write_generations(tmp_path / "g.jsonl", rows), "xcsqa", str(folder))
    assert sum(by_mode["paper"]["en"].values()) == 3


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda rows: rows.pop(3), r"en: 1 of 6 questions have no generation \(indices 3\)"),
        (
            lambda rows: rows.append({"lang": "en", "index": 2, "response": "12"}),
            r"line 13: duplicate: en question 2 \(id 2\) was already answered on line 3",
        ),
        (lambda rows: rows.insert(1, "{not json"), r"line 2: not valid JSON"),
        (lambda rows: rows[0].pop("response"), r"line 1: field 'response' is missing"),
        (lambda rows: rows[0].pop("index"), r"line 1: needs 'index' \(0-based question number\) or 'id'"),
        (lambda rows: rows[0].update(index=6), r"line 1: index 6 is out of range; en has questions 0..5"),
        (lambda rows: rows[0].update(lang="xx"), r"line 1: benchmark 'mgsm' has no language 'xx'"),
        (lambda rows: rows[0].update(response=7), r"line 1: field 'response': expected a string"),
    ],
)
def test_bad_generation_files(tmp_path, mgsm_dir, edit, message):
    rows = math_rows()
    edit(rows)
    file = write_generations(tmp_path / "gen.jsonl", rows)
    with pytest.raises(HarnessError, match=message):
        score_command(str(file), "mgsm", "paper", str(mgsm_dir), as_json=True)


def test_bad_input_exits_2(tmp_path, mgsm_dir, capsys):
    file = write_generations(tmp_path / "gen.jsonl", math_rows()[1:])
    assert main(["score", str(file), "--task", "mgsm", "--path", str(mgsm_dir)]) == 2
    assert "have no generation" in capsys.readouterr().err
    assert main(["score", str(tmp_path / "missing.jsonl"), "--task", "mgsm"]) == 2
    assert main(["score", str(file), "--task", "gsm8k"]) == 2
    assert "invalid choice: 'gsm8k' (choose from 'demo', 'mgsm', 'msvamp', 'xcsqa')" in capsys.readouterr().err


def test_null_response_counts_as_wrong(tmp_path, mgsm_dir):
    rows = math_rows(languages=("en",), right=lambda lang, i: True)
    rows[0]["response"] = None
    by_mode, _ = score_generations(write_generations(tmp_path / "g.jsonl", rows), "mgsm", str(mgsm_dir))
    assert by_mode["paper"]["en"]["0"] is False and sum(by_mode["paper"]["en"].values()) == 5


def test_list_tasks():
    rows = {row["task"]: row for row in list_tasks()}
    assert set(rows) == {"mgsm", "msvamp", "xcsqa", "demo"}
    assert rows["mgsm"]["lm_eval_group"] == "slam_mgsm" and "te" in rows["mgsm"]["languages"]
    assert rows["xcsqa"]["source"] == "INK-USC/xcsr"
