"""The quickstart's demo data: parallel, well-formed, disjoint, and exactly what the generator writes."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from harness.demo import DEMO_ROOT, demo_math_dir, demo_translation_dir
from harness.languages import MATH_LANGUAGES

# The generator is a script outside the package (scripts/generate_demo.py).
_spec = importlib.util.spec_from_file_location(
    "generate_demo", Path(__file__).resolve().parents[1] / "scripts" / "generate_demo.py"
)
generate_demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate_demo)
N_PAIRS, N_PROBLEMS, PROBLEMS, STATEMENTS = (
    generate_demo.N_PAIRS,
    generate_demo.N_PROBLEMS,
    generate_demo.PROBLEMS,
    generate_demo.STATEMENTS,
)
EASY_DRAWS, N_EASY = generate_demo.EASY_DRAWS, generate_demo.N_EASY
_ru_form, build, render, write = generate_demo._ru_form, generate_demo.build, generate_demo.render, generate_demo.write

NON_EN = [lang for lang in MATH_LANGUAGES if lang != "en"]
# A character every sentence of the language must contain (its script).
SCRIPT = {
    "bn": r"[\u0980-\u09FF]",
    "th": r"[\u0E00-\u0E7F]",
    "ja": r"[\u3040-\u30FF]",
    "zh": r"[\u4E00-\u9FFF]",
    "ru": r"[\u0400-\u04FF]",
    "sw": r"[a-z]",
    "de": r"[a-z]",
    "fr": r"[a-z]",
    "es": r"[a-z]",
    "en": r"[a-z]",
}


def read_tsv(lang: str) -> list[list[str]]:
    text = (demo_math_dir() / f"mgsm_{lang}.tsv").read_text(encoding="utf-8")
    assert text.endswith("\n")
    return [line.split("\t") for line in text.split("\n")[:-1]]


def read_pairs(lang: str) -> tuple[list[str], list[str]]:
    folder = demo_translation_dir() / f"{lang}-en"
    return tuple((folder / f"train.{side}").read_text(encoding="utf-8").split("\n")[:-1] for side in (lang, "en"))


def test_folders():
    assert demo_math_dir().parent == DEMO_ROOT == demo_translation_dir().parent
    assert sorted(p.name for p in demo_math_dir().iterdir()) == sorted(f"mgsm_{lang}.tsv" for lang in MATH_LANGUAGES)
    assert sorted(p.name for p in demo_translation_dir().iterdir()) == sorted(f"{lang}-en" for lang in NON_EN)


def test_templates_cover_every_language():
    assert len(PROBLEMS) >= 12
    assert len({t["id"] for t in PROBLEMS + STATEMENTS}) == len(PROBLEMS + STATEMENTS)
    for template in PROBLEMS + STATEMENTS:
        assert set(MATH_LANGUAGES) <= set(template), template["id"]


def test_math_files_are_parallel_mgsm_tsv():
    rows = {lang: read_tsv(lang) for lang in MATH_LANGUAGES}
    for lang, lines in rows.items():
        assert len(lines) == N_PROBLEMS, lang
        for fields in lines:
            assert len(fields) == 2, (lang, fields)  # exactly one tab: question<TAB>answer
            question, answer = fields
            assert question.strip() == question and question, (lang, fields)
            assert '"' not in question and "\r" not in question, (lang, question)
            assert re.fullmatch(r"[0-9]+", answer) and int(answer) > 0, (lang, answer)
            assert re.search(SCRIPT[lang], question), (lang, question)
    for i in range(N_PROBLEMS):
        assert len({rows[lang][i][1] for lang in MATH_LANGUAGES}) == 1, f"row {i}: answers differ"
    assert len({fields[0] for fields in rows["en"]}) == N_PROBLEMS, "duplicate questions"


def test_every_question_contains_its_numbers():
    problems = build()["problems"]
    assert len(problems) == N_PROBLEMS
    for problem in problems:
        for lang, text in problem["text"].items():
            for value in problem["numbers"].values():
                assert re.search(rf"(?<![0-9]){value}(?![0-9])", text), (lang, value, text)


def test_every_template_is_evaluated():
    problems = build()["problems"]
    assert {p["template"] for p in problems} == {t["id"] for t in PROBLEMS}
    assert len({p["answer"] for p in problems}) > 10


def test_the_first_rows_are_one_step_problems_with_small_numbers():
    problems = build()["problems"]
    for problem in problems[:N_EASY]:
        assert problem["template"] in EASY_DRAWS, problem
        assert all(value <= 20 for value in problem["numbers"].values()) and 0 < problem["answer"] <= 20, problem
    assert {p["template"] for p in problems[:N_EASY]} == set(EASY_DRAWS)


def test_translation_pairs_are_line_parallel():
    for lang in NON_EN:
        source, target = read_pairs(lang)
        assert len(source) == len(target) == N_PAIRS, lang
        for xx, en in zip(source, target):
            assert xx.strip() == xx and en.strip() == en and xx and en, (lang, xx, en)
            assert "\t" not in xx + en and "\r" not in xx + en
            assert re.search(SCRIPT[lang], xx) and re.search(SCRIPT["en"], en), (lang, xx, en)
            assert set(re.findall(r"[0-9]+", en)) <= set(re.findall(r"[0-9]+", xx)), (lang, xx, en)
        assert len(set(zip(source, target))) == N_PAIRS, f"{lang}: duplicate pairs"


def test_no_evaluation_question_in_translation_data():
    eval_en = {fields[0] for fields in read_tsv("en")}
    for lang in NON_EN:
        source, target = read_pairs(lang)
        assert not eval_en & set(target), lang
        assert not {fields[0] for fields in read_tsv(lang)} & set(source), lang


def test_regeneration_is_identical(tmp_path):
    written = write(tmp_path)
    fresh = {p.relative_to(tmp_path) for p in written}
    committed = {
        p.relative_to(DEMO_ROOT) for d in ("math", "translation") for p in (DEMO_ROOT / d).rglob("*") if p.is_file()
    }
    assert fresh == committed
    for rel in sorted(fresh):
        assert (tmp_path / rel).read_bytes() == (DEMO_ROOT / rel).read_bytes(), (
            f"{rel} is stale: run python scripts/generate_demo.py"
        )


def test_russian_number_agreement():
    forms = ["яблоко", "яблока", "яблок"]
    assert [_ru_form(n, forms) for n in (1, 2, 5, 11, 12, 21, 22, 25, 111, 104)] == [
        "яблоко",
        "яблока",
        "яблок",
        "яблок",
        "яблок",
        "яблоко",
        "яблока",
        "яблок",
        "яблок",
        "яблока",
    ]


@pytest.mark.parametrize("lang", ["ru", "de", "fr"])
def test_forms_that_depend_on_numbers_and_names(lang):
    add = next(t for t in PROBLEMS if t["id"] == "add")
    draw = {"names": (0, 1), "object": 0, "numbers": {"a": 21, "b": 3}}  # Amina (f), Carlos (m); apples
    expected = {
        "ru": "У Амины есть 21 яблоко. Амина покупает ещё 3 яблока. Сколько яблок теперь у Амины?",
        "de": "Amina hat 21 Äpfel. Amina kauft noch 3 Äpfel dazu. Wie viele Äpfel hat Amina jetzt?",
        "fr": "Amina a 21 pommes. Amina achète 3 pommes de plus. Combien de pommes Amina a-t-elle maintenant ?",
    }
    assert render(add, lang, draw) == expected[lang]
