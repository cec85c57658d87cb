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


# -- the hub: repositories of both eras as local folders laid out as the hub lays them out ------


@pytest.fixture
def local_hub(tmp_path, monkeypatch):
    from hub_fixtures import LocalHub

    from harness import benchmarks, hub_datasets

    hub = LocalHub(tmp_path / "hub")
    monkeypatch.setattr(hub_datasets, "HUB", hub)
    monkeypatch.setattr("harness.hub.hub_reachable", lambda: True)  # a hub that answers
    hub_datasets._listing.cache_clear()
    monkeypatch.setattr(benchmarks, "HUB_SOURCES", {})
    yield hub
    hub_datasets._listing.cache_clear()


@pytest.mark.parametrize("era", ["script", "parquet"])
def test_mgsm_and_xcsqa_load_from_repositories_of_both_eras(local_hub, era):
    from hub_fixtures import mgsm_rows, parquet_era_repo, script_era_repo, xcsqa_rows

    from harness.benchmarks import hub_source

    make = script_era_repo if era == "script" else parquet_era_repo
    make(local_hub.root, "juletxara/mgsm", {lang: {"test": mgsm_rows(lang)} for lang in ("en", "de")})
    make(local_hub.root, "INK-USC/xcsr", {f"X-CSQA-{lang}": {"validation": xcsqa_rows(lang)} for lang in ("en", "fr")})

    mgsm = load_benchmark("mgsm", "de")
    assert [(e.id, e.question, e.answer) for e in mgsm] == [
        ("0", "[de] 0 + 10?", "10"),
        ("1", "[de] 1 + 10?", "11"),
        ("2", "[de] 2 + 10?", "12"),
    ]
    xcsqa = load_benchmark("xcsqa", "fr")
    assert (xcsqa[2].id, xcsqa[2].answer, xcsqa[2].choices[2]) == ("q2", "C", ("C", "x"))

    for name in ("mgsm", "xcsqa"):
        source = hub_source(name)
        assert len(source["commit"]) == 40 and source["revision"] is None
        if era == "script":  # datasets refuses the script: the hub's parquet conversion is read
            assert source["ref"] == "refs/convert/parquet"
            assert source["layout"] == "parquet conversion of a loading-script dataset"
        else:
            assert (source["ref"], source["layout"]) == ("main", "data files")


def test_a_pinned_revision_is_read_and_recorded(local_hub):
    from hub_fixtures import mgsm_rows, script_era_repo

    from harness.benchmarks import hub_source

    script_era_repo(local_hub.root, "juletxara/mgsm", {"en": {"test": mgsm_rows("en", 2)}})
    assert len(load_benchmark("mgsm", "en", revision="refs/convert/parquet")) == 2
    assert hub_source("mgsm", "refs/convert/parquet")["layout"] == "parquet conversion (refs/convert/parquet)"
    # a revision pinned to the script: the fix is named
    with pytest.raises(
        HarnessError, match=r"revision 'main' is a loading-script dataset.*`revision: refs/convert/parquet`"
    ):
        load_benchmark("mgsm", "en", revision="main")
    with pytest.raises(
        HarnessError, match=r"at revision 'v9' not found on the hub.*check the dataset id and `revision`"
    ):
        load_benchmark("mgsm", "en", revision="v9")


def test_a_missing_config_names_those_there(local_hub):
    from hub_fixtures import script_era_repo, xcsqa_rows

    script_era_repo(local_hub.root, "INK-USC/xcsr", {"X-CSQA-en": {"validation": xcsqa_rows("en")}})
    with pytest.raises(HarnessError, match=r"has no X-CSQA-fr/validation; it has configs: X-CSQA-en"):
        load_benchmark("xcsqa", "fr")


def test_hub_failure_is_a_clear_error(local_hub):
    with pytest.raises(HarnessError, match=r"mgsm: juletxara/mgsm not found on the hub"):
        load_benchmark("mgsm", "en")


def test_the_evaluation_records_the_commit_it_read(local_hub, tmp_path):
    """evaluation.tasks.N.revision through the runner: scores.json names the revision and commit."""
    from evaluation_fixtures import GoldLM
    from hub_fixtures import mgsm_rows, script_era_repo

    from harness.evaluation.config import EvaluationConfig, TaskConfig
    from harness.evaluation.runner import resolve_tasks, run_models

    script_era_repo(local_hub.root, "juletxara/mgsm", {lang: {"test": mgsm_rows(lang)} for lang in ("en", "de")})
    commit, _ = local_hub.listing("juletxara/mgsm", "refs/convert/parquet")
    evaluation = EvaluationConfig(
        tasks=[TaskConfig(name="mgsm", languages=["en", "de"], revision=commit)], models=["base"], max_new_tokens=8
    )
    scores = run_models(
        evaluation, resolve_tasks(evaluation, ["en", "de"]), tmp_path / "eval", lambda m: (GoldLM(), "x")
    )
    entry = scores["models"]["base"]["tasks"]["mgsm"]
    assert (entry["data"], entry["revision"], entry["data_commit"]) == ("juletxara/mgsm", commit, commit)
    assert entry["languages"]["de"]["accuracy"] == 100.0
    with pytest.raises(ValueError, match="revision pins the hub dataset, path reads local files"):
        TaskConfig(name="mgsm", path="x", revision="main")
