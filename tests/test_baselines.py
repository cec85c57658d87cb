"""The shipped baselines load, their published averages are checked, and bad files fail clearly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.cli import list_baselines
from harness.errors import HarnessError
from harness.languages import MATH_LANGUAGES, XCSQA_LANGUAGES
from harness.reporting.baselines import (
    AVERAGE_TOLERANCE,
    BASELINES_DIR,
    load_baselines,
)

# Published averages that the paper prints differently from the mean of their own cells (the
# list in TABLES.md): they must be kept as printed and flagged.
FLAGGED = {
    ("Table 4", "msvamp", "7B", "MAmmoTH"): (26.3, 26.95),
    ("Table 4", "msvamp", "7B", "MetaMath"): (46.2, 46.50),
    ("Table 4", "msvamp", "7B", "MathOctopus"): (44.1, 44.42),
    ("Table 4", "msvamp", "7B", "QAlign"): (57.2, 57.36),
}


def _key(row):
    return (row.provenance.table, row.benchmark, row.size, row.system)


def test_every_table_is_there():
    data = load_baselines()
    rows = [r for r in data.rows if r.from_slam]
    tables = {(r.provenance.table, r.benchmark) for r in rows}
    assert tables == {
        ("Table 2", "mgsm"),
        ("Table 4", "msvamp"),
        ("Table 3", "mgsm"),
        ("Table 3", "msvamp"),
        ("Table 6", "mgsm"),
        ("Table 6", "msvamp"),
        ("Table 10", "xcsqa"),
        ("Table 5", "xcsqa"),
        ("Table 11", "mgsm"),
        ("Table 12", "msvamp"),
    }
    assert len(rows) == 14 + 14 + 6 + 6 + 4 + 4 + 2 + 2 + 4 + 4
    assert [s.system for s in data.training_samples] == ["MAmmoTH", "WizardMath", "MetaMath", "MathOctopus", "QAlign"]
    for row in rows:
        if row.benchmark in ("mgsm", "msvamp") and row.provenance.table in (
            "Table 2",
            "Table 4",
            "Table 11",
            "Table 12",
        ):
            assert row.languages == MATH_LANGUAGES
        if row.benchmark == "xcsqa" and row.provenance.table == "Table 10":
            assert row.languages == XCSQA_LANGUAGES
        assert row.provenance.arxiv == "2501.03681"


def test_published_averages_recomputed_and_flagged_without_change():
    data = load_baselines()
    flagged = {}
    for row in data.rows:
        if not row.from_slam:
            continue
        if row.average is not None and row.languages and len(row.scores) == len(row.languages):
            mean = sum(row.scores.values()) / len(row.scores)
            if abs(mean - row.average) > AVERAGE_TOLERANCE + 1e-9:
                flagged[_key(row)] = (row.average, round(mean, 2))
                assert any("differs from the mean of its cells" in w and f"{mean:.2f}" in w for w in row.warnings)
            else:
                assert not [w for w in row.warnings if "average" in w], (_key(row), row.warnings)
    assert flagged == FLAGGED
    mammoth = next(r for r in data.rows if _key(r) == ("Table 4", "msvamp", "7B", "MAmmoTH"))
    assert mammoth.average == 26.3  # kept as printed


# -- systems published beside or since SLAM ------------------------------------------------------

NEWER = {
    ("MindMerger README", "mgsm"): ["MindMerger"],
    ("MindMerger README", "xcsqa"): [
        "Llama2-7B-X-CSQA",
        "MindMerger (Llama2-7B-X-CSQA)",
        "LLaMAX2-7B-X-CSQA",
        "MindMerger (LLaMAX-7B-X-CSQA)",
    ],
    ("mCoT README", "mgsm"): [
        "WizardMath",
        "MathOctopus",
        "MathOctopus-Mistral",
        "xCoT",
        "WizardMath",
        "MathOctopus",
        "xCoT",
        "mCoT",
    ],
    ("mCoT README", "msvamp"): [
        "WizardMath",
        "MathOctopus",
        "MathOctopus-Mistral",
        "WizardMath",
        "MathOctopus",
        "mCoT",
    ],
    ("MAPO README", "mgsm"): ["MAPO-DPO", "MathOctopus"],
    ("MAPO README", "msvamp"): ["MAPO-DPO", "MathOctopus"],
    ("LLaMAX2-7B-MetaMath card", "mgsm"): ["MetaMath", "MetaMath", "LLaMAX2-MetaMath"],
}


def test_newer_systems_carry_where_they_were_read():
    data = load_baselines()
    newer = [r for r in data.rows if not r.from_slam]
    tables: dict[tuple[str, str], list[str]] = {}
    for row in newer:
        tables.setdefault((row.provenance.table, row.benchmark), []).append(row.system)
        assert row.provenance.url and row.provenance.version, row.key
        if "github.com" in row.provenance.url:
            assert row.provenance.version in row.provenance.url and len(row.provenance.version) == 40
    assert tables == NEWER
    mindmerger = data.resolve("baseline:mgsm/7B/MindMerger")
    assert mindmerger.languages[0] == "te" and mindmerger.average == 57.6
    assert mindmerger.mean_over(mindmerger.languages) == pytest.approx(57.6)
    assert mindmerger.mean_over(MATH_LANGUAGES) == pytest.approx(58.08)  # SLAM's ten, te left out
    assert mindmerger.base == "MetaMath-7B" and "mapping layer" in mindmerger.trained
    mapo = data.resolve("baseline:mgsm/7B/MAPO-DPO")
    assert mapo.average is None and mapo.non_english_average == 41.1  # MAPO's "Avg." leaves English out
    mcot = data.resolve("baseline:mgsm/7B/mCoT")
    assert set(mcot.impossible) == {"fr"} and mcot.scores["fr"] == 63.8
    octopus = data.resolve("baseline:mgsm/7B/MathOctopus@mcotreadme")
    assert "te" not in octopus.scores and octopus.mean_over(octopus.languages) is None  # printed "-"
    wizard = data.resolve("baseline:msvamp/7B/WizardMath@mcotreadme")
    assert any("printed 27.0, cells give 28.74" in w for w in wizard.warnings)


def test_one_system_several_readings():
    data = load_baselines()
    paper = data.resolve("baseline:mgsm/7B/MetaMath")
    assert paper.provenance.table == "Table 2" and not paper.alternative
    readings = data.readings(paper)
    assert [(r.provenance.table, r.reading, r.average) for r in readings] == [
        ("Table 2", None, 38.4),
        ("LLaMAX2-7B-MetaMath card", "official", 38.32),
        ("LLaMAX2-7B-MetaMath card", "reproduced", 38.08),
    ]
    official = data.resolve("baseline:mgsm/7B/MetaMath@llamax27bmetamathcard@official")
    assert official.alternative and official.scores["zh"] == 38.4 and paper.scores["zh"] == 45.2
    assert max(abs(paper.scores[lang] - official.scores[lang]) for lang in MATH_LANGUAGES) == pytest.approx(6.8)
    with pytest.raises(HarnessError, match="ambiguous"):
        data.resolve("baseline:mgsm/7B/MetaMath@llamax27bmetamathcard")
    assert [r.provenance.table for r in data.readings(data.resolve("mgsm/7B/MathOctopus"))] == [
        "Table 2",
        "MAPO README",
        "mCoT README",
    ]
    shown = data.for_benchmark("mgsm", size="7B")
    assert sum(r.system == "MetaMath" for r in shown) == 1  # further readings only when asked
    assert sum(r.system == "MetaMath" for r in data.for_benchmark("mgsm", size="7B", readings=True)) == 3


def test_table6_summary_checked_against_table11():
    data = load_baselines()
    table6 = {(_key(r)[1:]): r for r in data.rows if r.provenance.table == "Table 6"}
    assert [w for r in table6.values() for w in r.warnings] == [w for w in table6[("mgsm", "13B", "RFT")].warnings]
    (warning,) = table6[("mgsm", "13B", "RFT")].warnings
    assert "printed 38.0, cells give 42.84" in warning and "Table 11" in warning


def test_table5_is_checked_against_table10_over_its_six_languages(tmp_path):
    data = load_baselines()
    table5 = [r for r in data.rows if r.provenance.table == "Table 5"]
    assert [(r.reference, r.average, r.warnings) for r in table5] == [
        ("baseline:xcsqa/7B/Llama2-mono@table5", 45.6, ()),
        ("baseline:xcsqa/7B/SLAM@table5", 48.6, ()),
    ]
    assert data.resolve("baseline:xcsqa/7B/SLAM").provenance.table == "Table 10"
    copy = tmp_path / "b"
    shutil.copytree(BASELINES_DIR, copy)
    text = (copy / "table5_xcsqa.yaml").read_text().replace("average: 48.6", "average: 52.1")
    (copy / "table5_xcsqa.yaml").write_text(text)
    (slam,) = [r for r in load_baselines(copy).rows if r.reference == "baseline:xcsqa/7B/SLAM@table5"]
    assert any("printed 52.1, Table 10's cells give 48.62" in w for w in slam.warnings)


def test_table3_repeats_agree_with_table2_and_4():
    data = load_baselines()
    for row in data.rows:
        if row.provenance.table == "Table 3" and row.system in ("MetaMath", "SLAM"):
            assert not row.warnings


def test_for_benchmark_adds_only_new_systems_from_summary_tables():
    data = load_baselines()
    rows = data.for_benchmark("mgsm", size="13B")
    names = [(r.provenance.table, r.system) for r in rows]
    assert ("Table 3", "LangBridge") in names
    assert ("Table 3", "SLAM") not in names and ("Table 6", "RFT") not in names
    assert sum(1 for _, s in names if s == "SLAM") == 1
    assert [r.system for r in data.for_benchmark("mgsm", size="7B", systems=["slam", "QAlign"])] == ["QAlign", "SLAM"]


def test_resolve_references():
    data = load_baselines()
    assert data.resolve("baseline:mgsm/13B/SLAM").provenance.table == "Table 2"
    assert data.resolve("baseline:mgsm/13B/SLAM@table3").provenance.table == "Table 3"
    assert data.resolve("baseline:msvamp/7B/LangBridge-9B").system == "LangBridge"
    assert data.resolve("xcsqa/7B/SLAM").average == 52.1
    with pytest.raises(HarnessError, match="did you mean 'SLAM'"):
        data.resolve("baseline:mgsm/13B/SLAMM")
    with pytest.raises(HarnessError, match="unknown benchmark 'mgms'"):
        data.resolve("baseline:mgms/13B/SLAM")
    with pytest.raises(HarnessError, match="expected baseline:<benchmark>/<size>/<system>"):
        data.resolve("baseline:mgsm-SLAM")
    with pytest.raises(HarnessError, match="no '70B' rows"):
        data.resolve("baseline:mgsm/70B/SLAM")


def test_list_baselines_json(capsys):
    assert list_baselines(as_json=True) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["rows"]) == len(load_baselines().rows)
    first = doc["rows"][0]
    assert set(first) >= {"benchmark", "size", "system", "languages", "average", "cost", "trained_share", "provenance"}
    assert first["provenance"]["note"] == "quoted from Zhu et al. 2024 (QAlign)"
    assert first["languages"]["bn"] == 3.6 and first["cost"] == 2.7
    paper = [w for w in doc["warnings"] if "baselines/table" in w]
    assert len(paper) == 5 + 2  # five averages, two impossible cells
    mindmerger = next(r for r in doc["rows"] if r["reference"] == "baseline:mgsm/7B/MindMerger")
    assert mindmerger["provenance"]["version"] == "02ad59ce9684f4d54f4d5940bab10f6d702817e9"
    assert mindmerger["recomputed_average"] == pytest.approx(57.6) and mindmerger["average"] == 57.6
    metamath = next(r for r in doc["rows"] if r["reference"] == "baseline:mgsm/7B/MetaMath")
    assert set(metamath["impossible_cells"]) == {"en"}


def test_list_baselines_text(capsys):
    assert list_baselines(as_json=False) == 0
    out = capsys.readouterr().out
    assert "QAlign +LoRA (r=256)" in out and "LangBridge-20B" in out and "468,559" in out
    assert "26.3 !" in out and "cells give 26.95" in out
    assert "65.5 ?" in out and "3.4 ?" in out and "47.6 " in out and "23.0 !" not in out


# -- scores that cannot be scores --------------------------------------------------------------


@pytest.mark.parametrize(
    "value, benchmark, possible",
    [
        (65.6, "mgsm", True),
        (0.4, "mgsm", True),
        (100.0, "mgsm", True),
        (65.5, "mgsm", False),
        (3.4, "mgsm", False),
        (63.8, "mgsm", False),
        (43.0, "mgsm", False),
        (46.2, "msvamp", True),
        (46.25, "msvamp", False),
        (38.32, "mgsm", False),
        (52.1, "xcsqa", True),
    ],
)
def test_impossible_score_on_the_lattice_of_question_counts(value, benchmark, possible):
    from harness.reporting.baselines import impossible_score

    assert (impossible_score(value, benchmark) is None) is possible


def test_shipped_impossible_cells_are_flagged_and_kept():
    data = load_baselines()
    flagged = {(_key(r), lang) for r in data.rows for lang in r.impossible if r.provenance.arxiv == "2501.03681"}
    assert flagged == {
        (("Table 2", "mgsm", "7B", "WizardMath"), "sw"),
        (("Table 2", "mgsm", "7B", "MetaMath"), "en"),
    }
    metamath = data.resolve("baseline:mgsm/7B/MetaMath")
    assert metamath.scores["en"] == 65.5
    assert any(
        w.startswith("impossible score: Table 2 mgsm 7B MetaMath") and "65.2 and 65.6" in w for w in metamath.warnings
    )


# -- bad files -------------------------------------------------------------------------------

GOOD = """\
source: {paper: P, arxiv: "0000.00000", table: "Table 9"}
benchmark: mgsm
languages: [bn, en]
rows:
  - {row: 1, size: 7B, system: A, scores: {bn: 10.0, en: 20.0}, average: 15.0}
  - {row: 2, size: 7B, system: B, scores: {bn: 30.0, en: 40.0}, average: 35.0}
"""


def _folder(tmp_path: Path, text: str, name: str = "table9_test.yaml") -> Path:
    folder = tmp_path / "baselines"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder


def test_good_file_loads(tmp_path):
    data = load_baselines(_folder(tmp_path, GOOD))
    assert [r.system for r in data.rows] == ["A", "B"] and data.warnings == []


def test_missing_language_names_file_and_row(tmp_path):
    folder = _folder(tmp_path, GOOD.replace("{bn: 30.0, en: 40.0}", "{en: 40.0}"))
    with pytest.raises(HarnessError) as error:
        load_baselines(folder)
    assert "table9_test.yaml: rows[1] (7B B): missing language(s) bn" in str(error.value)


def test_duplicate_row(tmp_path):
    folder = _folder(tmp_path, GOOD.replace("system: B", "system: A"))
    with pytest.raises(HarnessError, match=r"table9_test.yaml: rows\[1\] \(7B A\): duplicate row"):
        load_baselines(folder)


@pytest.mark.parametrize("bad", ["101.0", "-0.5"])
def test_number_out_of_range(tmp_path, bad):
    folder = _folder(tmp_path, GOOD.replace("bn: 30.0", f"bn: {bad}"))
    with pytest.raises(HarnessError) as error:
        load_baselines(folder)
    message = str(error.value)
    assert "table9_test.yaml: rows[1].scores.bn (7B B)" in message and "[0, 100]" in message


def test_unknown_key(tmp_path):
    folder = _folder(tmp_path, GOOD.replace("rows:\n", "colour: red\nrows:\n"))
    with pytest.raises(HarnessError, match="table9_test.yaml: colour: Extra inputs are not permitted"):
        load_baselines(folder)


def test_unknown_language(tmp_path):
    text = GOOD.replace("[bn, en]", "[bn, en, xx]").replace("en: 20.0}", "en: 20.0, xx: 1.0}")
    text = text.replace("en: 40.0}", "en: 40.0, xx: 1.0}")
    with pytest.raises(HarnessError, match="table9_test.yaml: languages: unknown language 'xx'"):
        load_baselines(_folder(tmp_path, text))


def test_every_problem_at_once(tmp_path):
    bad = GOOD.replace("{bn: 30.0, en: 40.0}", "{en: 40.0}").replace("system: A", "system: B")
    with pytest.raises(HarnessError) as error:
        load_baselines(_folder(tmp_path, bad))
    assert "duplicate row" in str(error.value) and "missing language" in str(error.value)


def test_flagged_average_in_a_user_file(tmp_path):
    data = load_baselines(_folder(tmp_path, GOOD.replace("average: 35.0", "average: 36.0")))
    (warning,) = data.warnings
    assert "printed 36.0, cells give 35.00 (kept as printed)" in warning
    assert data.rows[1].average == 36.0


def test_invalid_yaml_names_the_line(tmp_path):
    with pytest.raises(HarnessError, match=r"table9_test.yaml: line \d+: not valid YAML"):
        load_baselines(_folder(tmp_path, GOOD + "  - {row: 3, size: 7B\n"))


def test_the_shipped_folder_is_the_repository_one():
    assert BASELINES_DIR.name == "baselines" and (BASELINES_DIR / "table2_mgsm.yaml").is_file()


def test_a_copy_of_the_shipped_files_loads_the_same(tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(BASELINES_DIR, copy)
    assert len(load_baselines(copy).rows) == len(load_baselines().rows)
