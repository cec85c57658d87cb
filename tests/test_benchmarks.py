"""Benchmark loaders: local files in each original format, the hub conversions, clear errors."""

from __future__ import annotations

import json

import pytest

from harness.benchmarks import BENCHMARKS, get_benchmark, load_benchmark
from harness.errors import HarnessError


def write_mgsm(
    folder,
    lang="en",
    rows=(
        ("Anna has 3 apples and buys 2,000 more. How many?", "2,003"),
        ("Tom has 5 pens. He loses 2. How many are left?", "3"),
    ),
):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"mgsm_{lang}.tsv").write_text("".join(f"{q}\t{a}\n" for q, a in rows), encoding="utf-8")
    return folder


def write_jsonl(file, rows):
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows), encoding="utf-8"
    )
    return file


def xcsqa_row(i, answer="B", stem="Where would you put a plate?"):
    return {
        "id": f"q{i}",
        "lang": "en",
        "answerKey": answer,
        "question": {
            "stem": stem,
            "choices": [
                {"label": label, "text": text}
                for label, text in zip("ABCDE", ["roof", "cupboard", "river", "sky", "shoe"])
            ],
        },
    }


# -- local files --------------------------------------------------------------------------------


def test_mgsm_tsv(tmp_path):
    examples = load_benchmark("mgsm", "en", write_mgsm(tmp_path))
    assert [(e.id, e.index, e.lang, e.answer) for e in examples] == [("0", 0, "en", "2,003"), ("1", 1, "en", "3")]
    assert examples[0].question.startswith("Anna") and examples[0].choices is None


def test_mgsm_tsv_limit_and_trailing_blank_lines(tmp_path):
    folder = write_mgsm(tmp_path)
    (folder / "mgsm_en.tsv").write_text((folder / "mgsm_en.tsv").read_text() + "\n\n", encoding="utf-8")
    assert len(load_benchmark("mgsm", "en", folder)) == 2
    assert len(load_benchmark("mgsm", "en", folder, limit=1)) == 1


def test_mgsm_tsv_wrong_field_count_names_file_and_line(tmp_path):
    folder = write_mgsm(tmp_path, rows=(("q one", "1"), ("a header?\tanswer\textra", "2")))
    with pytest.raises(HarnessError, match=r"mgsm_en\.tsv: line 2: expected 2 tab-separated fields"):
        load_benchmark("mgsm", "en", folder)


def test_mgsm_tsv_non_numeric_answer(tmp_path):
    folder = write_mgsm(tmp_path, rows=(("question", "answer"),))  # a header line
    with pytest.raises(HarnessError, match=r"line 1: field 2 \(answer\): answer 'answer' is not a number"):
        load_benchmark("mgsm", "en", folder)


def test_msvamp_jsonl(tmp_path):
    write_jsonl(
        tmp_path / "test_German.json",
        [
            {"m_query": "Julia spielte mit 18 Kindern.", "response": "8.0", "equation": "- number0 number1"},
            {"m_query": "Noch eine Frage?", "response": "1.0", "query": "another question ?"},
        ],
    )
    examples = load_benchmark("msvamp", "de", tmp_path)
    assert [(e.id, e.question, e.answer) for e in examples] == [
        ("0", "Julia spielte mit 18 Kindern.", "8.0"),
        ("1", "Noch eine Frage?", "1.0"),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"m_query": "Q", "response": "8.0"', r"line 2: not valid JSON"),
        ('["Q", "8.0"]', r"line 2: expected a JSON object, found list"),
        ('{"query": "Q", "response": "8.0"}', r"line 2: field 'm_query': expected a non-empty string, found missing"),
        ('{"m_query": "Q"}', r"line 2: field 'response' \(the numeric answer\) is missing"),
        ('{"m_query": "Q", "response": "eight"}', r"line 2: field 'response': answer 'eight' is not a number"),
    ],
)
def test_msvamp_bad_lines(tmp_path, line, message):
    write_jsonl(tmp_path / "test_English.json", [{"m_query": "Fine", "response": "1.0"}, line])
    with pytest.raises(HarnessError, match=r"test_English\.json: " + message):
        load_benchmark("msvamp", "en", tmp_path)


def test_xcsqa_jsonl(tmp_path):
    write_jsonl(tmp_path / "en" / "dev.jsonl", [xcsqa_row(0), xcsqa_row(1, "E")])
    examples = load_benchmark("xcsqa", "en", tmp_path)
    assert [(e.id, e.answer) for e in examples] == [("q0", "B"), ("q1", "E")]
    assert examples[0].choices[1] == ("B", "cupboard")
    assert examples[0].as_doc()["choices"][4] == {"label": "E", "text": "shoe"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("id"), r"field 'id'"),
        (lambda r: r["question"].pop("stem"), r"field 'question.stem'"),
        (lambda r: r["question"].update(choices="ABCDE"), r"field 'question.choices'"),
        (lambda r: r["question"]["choices"][2].update(label="Z"), r"field 'question.choices\[2\]'"),
        (lambda r: r.update(answerKey="F"), r"field 'answerKey': 'F' is not one of the choices' labels"),
    ],
)
def test_xcsqa_bad_rows(tmp_path, change, message):
    row = xcsqa_row(1)
    change(row)
    write_jsonl(tmp_path / "de" / "dev.jsonl", [xcsqa_row(0), row])
    with pytest.raises(HarnessError, match=r"de/dev\.jsonl: line 2: " + message):
        load_benchmark("xcsqa", "de", tmp_path)


def test_not_utf8(tmp_path):
    (tmp_path / "mgsm_en.tsv").write_bytes(b"caf\xe9\t1\n")
    with pytest.raises(HarnessError, match="not UTF-8"):
        load_benchmark("mgsm", "en", tmp_path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(HarnessError, match=r"mgsm_de\.tsv: file not found"):
        load_benchmark("mgsm", "de", write_mgsm(tmp_path))
    with pytest.raises(HarnessError, match="not a folder"):
        load_benchmark("mgsm", "en", tmp_path / "nowhere")


def test_unknown_language_lists_the_benchmarks_languages(tmp_path):
    with pytest.raises(
        HarnessError, match=r"'msvamp' has no language 'te'; it has: bn, th, sw, ja, zh, de, fr, ru, es, en"
    ):
        load_benchmark("msvamp", "te", tmp_path)


def test_unknown_benchmark_suggests():
    with pytest.raises(HarnessError, match=r"unknown benchmark 'mgms' \(did you mean 'mgsm'"):
        load_benchmark("mgms", "en")


def test_registry():
    assert set(BENCHMARKS) == {"mgsm", "msvamp", "xcsqa", "demo"}
    assert "te" in get_benchmark("mgsm").languages and "te" not in get_benchmark("mgsm").average_languages
    assert len(get_benchmark("xcsqa").languages) == 16


def test_demo_set_ships_with_the_package():
    english = load_benchmark("demo", "en")
    bengali = load_benchmark("demo", "bn")
    assert len(english) == len(bengali) > 0
    assert [e.answer for e in english] == [e.answer for e in bengali]  # parallel


# -- the hub (datasets.load_dataset stubbed: no network in tests) ------------------------------


@pytest.fixture
def fake_hub(monkeypatch):
    import datasets

    calls = []
    tables = {
        ("juletxara/mgsm", "de", "test"): [
            {"question": "Wie viele?", "answer": None, "answer_number": 18, "equation_solution": None}
        ],
        ("Mathoctopus/MSVAMP", "bn", "test"): [{"m_query": "কত?", "response": "8.0", "query": "how many ?"}],
        ("INK-USC/xcsr", "X-CSQA-fr", "validation"): [
            {
                "id": "abc",
                "lang": "fr",
                "answerKey": "C",
                "question": {"stem": "Où?", "choices": {"label": list("ABCDE"), "text": list("vwxyz")}},
            }
        ],
    }

    def load_dataset(path, name=None, split=None, **kwargs):
        calls.append((path, name, split))
        if (path, name, split) not in tables:
            raise ConnectionError(f"Couldn't reach '{path}' on the Hub (offline)")
        return datasets.Dataset.from_list(tables[(path, name, split)])

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    monkeypatch.setattr("harness.hub.hub_reachable", lambda: True)  # a hub that answers
    return calls


def test_hub_loaders(fake_hub):
    mgsm = load_benchmark("mgsm", "de")
    assert (mgsm[0].question, mgsm[0].answer) == ("Wie viele?", "18")
    msvamp = load_benchmark("msvamp", "bn")
    assert (msvamp[0].question, msvamp[0].answer) == ("কত?", "8.0")
    xcsqa = load_benchmark("xcsqa", "fr")
    assert (xcsqa[0].id, xcsqa[0].answer, xcsqa[0].choices[2]) == ("abc", "C", ("C", "x"))
    assert fake_hub == [
        ("juletxara/mgsm", "de", "test"),
        ("Mathoctopus/MSVAMP", "bn", "test"),
        ("INK-USC/xcsr", "X-CSQA-fr", "validation"),
    ]


def test_hub_failure_is_a_clear_error(fake_hub):
    with pytest.raises(
        HarnessError, match=r"could not load juletxara/mgsm \(en, split test\).*point the task's `path` at local files"
    ):
        load_benchmark("mgsm", "en")
