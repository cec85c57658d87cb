"""The probe's questions: the same n question indices in every language, from a benchmark's
questions or the question side of X->English translation pairs, and whether the run is also
scored on them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.errors import HarnessError
from harness.selection.config import ProbeConfig


def probe_question_set(probe: ProbeConfig, languages: Sequence[str], training_data=None):
    """(questions per language, facts about them): the same n question indices in every language.

    When a language has fewer than n questions, every language is cut to the smallest count so
    that the questions stay parallel; a language with none is an error. ``training_data`` (the
    recipe's ``training.data``) is where ``dataset: translation`` reads pairs when
    ``probe.path`` is not set.
    """
    info: dict[str, Any] = {"parallel": True}
    if probe.dataset == "translation":
        by_lang, info = _translation_questions(probe, list(languages), training_data)
    else:
        by_lang = {lang: _questions(probe, lang) for lang in languages}
    empty = [lang for lang, questions in by_lang.items() if not questions]
    if empty:
        raise HarnessError(
            f"selection.probe.dataset {probe.dataset!r}"
            + (f" (path {probe.path!r})" if probe.path else "")
            + f": no probe question for language(s) {', '.join(empty)}; point selection.probe.path "
            "at files that have them, or remove those languages from the recipe's languages"
        )
    common = min(len(questions) for questions in by_lang.values())
    if common < probe.n:
        info["note"] = " ".join(
            filter(
                None,
                [
                    info.get("note"),
                    f"{common} questions per language, fewer than selection.probe.n = {probe.n}: "
                    "the smallest language's count, so that every language has the same number",
                ],
            )
        )
    return {lang: questions[:common] for lang, questions in by_lang.items()}, info


def _questions(probe: ProbeConfig, lang: str) -> list[str]:
    from harness.benchmarks import load_benchmark

    try:
        examples = load_benchmark(probe.dataset, lang, path=probe.path, limit=probe.n)
    except HarnessError as error:
        raise HarnessError(f"selection.probe.dataset {probe.dataset!r}: {error}") from None
    return [example.question for example in examples][: probe.n]


def _translation_questions(
    probe: ProbeConfig, languages: list[str], training_data
) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """Parallel questions from X->English translation pairs (question side).

    Pairs of different languages are matched through their English side: the questions are the
    English sentences that every language translates (in the order of the first language's
    pairs), English itself, and each language's translation of them.
    """
    from harness.translation import TranslationDataConfig, load_pairs

    if probe.path is not None:
        data = TranslationDataConfig(source=probe.path, sides="questions")
    elif training_data is not None and training_data.kind == "instructions":
        raise HarnessError(
            "selection.probe.dataset 'translation': training.data is instruction data, not translation pairs; "
            "set selection.probe.path to a translation source (`demo`, a folder or a JSONL file of pairs) or "
            "probe a benchmark (selection.probe.dataset: mgsm)"
        )
    elif training_data is not None:
        data = training_data.model_copy(update={"sides": "questions", "missing_languages": "error"})
    else:
        raise HarnessError(
            "selection.probe.dataset 'translation': set selection.probe.path (a translation source: "
            "`demo`, a folder, a JSONL file or a hub id) or add a `training.data` section"
        )
    others = [lang for lang in languages if lang != "en"]
    try:
        pairs = load_pairs(data, others).pairs
    except HarnessError as error:
        raise HarnessError(f"selection.probe.dataset 'translation' (source {data.source!r}): {error}") from None
    by_english: dict[str, dict[str, str]] = {lang: {} for lang in others}
    for lang in others:
        for pair in pairs.get(lang, []):
            by_english[lang].setdefault(pair.target.strip(), pair.source)
    order = list(by_english[others[0]]) if others else []
    shared = [text for text in order if all(text in by_english[lang] for lang in others)][: probe.n]
    if shared:
        out = {lang: [by_english[lang][text] for text in shared] for lang in others}
        out["en"] = list(shared)
        info: dict[str, Any] = {"parallel": True, "matched_on": "English side of the pairs"}
    else:
        # No English sentence is translated into every language: not a parallel set. Each language
        # gets the source side of its first n pairs; English the English side of the first
        # language's. The statistics compare languages on different sentences: said in selection.json.
        out = {lang: list(by_english[lang].values())[: probe.n] for lang in others}
        out["en"] = order[: probe.n]
        info = {
            "parallel": False,
            "note": (
                f"the translation pairs of {data.source!r} share no English sentence across all "
                "languages, so the probe questions are not parallel: each language's first n source "
                "sentences, English the English side of the " + others[0] + " pairs"
            ),
        }
    return {lang: out.get(lang, []) for lang in languages}, info


# -- the stage ---------------------------------------------------------------------------------


def question_set_note(probe: ProbeConfig, recipe) -> dict:
    """Which probe questions were used, and whether the run is also scored on them."""
    scored = [t.name for t in recipe.evaluation.tasks] if recipe.evaluation is not None else []
    if probe.dataset == "translation":
        return {
            "dataset": "translation",
            "disjoint_from_test_sets": True,
            "note": "the question side of the translation-training pairs; no test question",
        }
    return {
        "dataset": probe.dataset,
        "disjoint_from_test_sets": probe.dataset not in scored,
        "note": (
            f"the {probe.dataset} test questions, the same set this run is scored on; "
            "selection.probe.dataset: translation probes on training questions instead"
        )
        if probe.dataset in scored
        else f"the {probe.dataset} questions (not scored by this run)",
    }
