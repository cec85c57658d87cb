"""The choices SLAM's paper leaves open, where each recipe value comes from.

A reproduction has to decide things the paper (arXiv 2501.03681) does not state, or states
differently from the authors' released code. Each such choice is a recipe field; this module
says, for the value a recipe holds, whether it follows the paper, the authors' code, or is our
own choice, so that every stage records it in its JSON (``open_choices``) and the report shows it.

Origins: ``paper`` (stated in the paper, or the source it says it adopts), ``authors' code`` (the
authors' released scripts or the code their evaluation reuses), ``ours`` (not stated anywhere
we could find: this project's choice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PAPER = "paper"
AUTHORS = "authors' code"
OURS = "ours"
ORIGINS = (PAPER, AUTHORS, OURS)


@dataclass(frozen=True)
class OpenChoice:
    field: str
    """Dotted recipe path."""
    what: str
    read: Callable[[Any], Any]
    """recipe -> the value (None: the recipe has no such section)."""
    origin: Callable[[Any, Any], tuple[str, str]]
    """(value, recipe) -> (origin, note)."""
    section: str | None = None
    """The stage section that records it, for a choice no recipe field sets (``field`` then says where it is made)."""

    def entry(self, recipe) -> dict[str, Any] | None:
        value = self.read(recipe)
        if value is None:
            return None
        origin, note = self.origin(value, recipe)
        return {"field": self.field, "what": self.what, "value": value, "origin": origin, "note": note}


def _selection(recipe):
    return recipe.selection


def _boundary_rule(recipe):
    selection = recipe.selection
    if selection is None:
        return None
    rule = selection.check if selection.check is not None else selection.layers
    return getattr(rule, "peak_search", None)


def _boundary_field(recipe) -> str:
    return "selection.check.peak_search" if recipe.selection.check is not None else "selection.layers.peak_search"


def _probe_runs(recipe) -> bool:
    return recipe.selection is not None and recipe.selection.runs_probe


def _firing_share(value, recipe):
    if value == 0:
        return PAPER, "the literal reading of eq. 3 (fired on some token); saturates on real models"
    return OURS, (
        "not stated: a neuron counts for a language when it fires on more than this share of the language's tokens"
    )


def _peak_search(value, recipe):
    if value == "all_layers":
        return OURS, ("not stated: the boundary is the first global maximum of the average overlap with English")
    return OURS, "not stated: the overlap peak is searched after its initial decline (saturated first layers)"


TEST_SETS = {"mgsm": "MGSM", "msvamp": "MSVAMP", "xcsqa": "X-CSQA dev"}


def _probe_dataset(value, recipe):
    scored = [t.name for t in (recipe.evaluation.tasks if recipe.evaluation else [])]
    if value == "translation":
        return OURS, (
            'not stated ("n questions"): the question side of the translation-training '
            "pairs, disjoint from the test sets"
        )
    if value in scored:
        return OURS, (
            f'not stated ("n questions"): the {TEST_SETS.get(value, value)} test questions, '
            "the same set this run is scored on"
        )
    return OURS, 'not stated ("n questions")'


def _probe_n(value, recipe):
    return OURS, 'not stated ("n questions in 10 languages")'


def _sublayers(value, recipe):
    if value == "up_down":
        return AUTHORS, (
            "the paper says FFN; its shares (8.0% / 6.5%) count up_proj + down_proj, which "
            "the authors' scripts train (--only_mlp)"
        )
    if value == "ffn":
        return PAPER, "the FFN as the paper words it (gate, up, down): 12.0% of a 7B model, not 8.0%"
    return OURS, "an ablation (the paper's sub-layer study, Figures 5 and 8)"


PROMPT_ORIGINS = {
    "table7": (PAPER, "Table 7 as printed, with brackets: [{source_lang}]"),
    "alma": (PAPER, "ALMA's prompt, which the paper says it adopts (no brackets)"),
    "llama_factory": (
        AUTHORS,
        "Table 7 in LLaMA-Factory's default template (Human: ... Assistant:), as the authors' fork trains",
    ),
    "qalign": (
        AUTHORS,
        "QAlign's question-alignment prompt (NJUNLP/QAlign gsmtrans.py + finetune.py: Alpaca, "
        "'Translate the following sentences from X to English.')",
    ),
}
"""training.data.prompt (the prompts themselves: harness/training/prompts.py)."""
TEMPLATE_ORIGINS = {
    "alpaca": "Alpaca's prompt without input, as QAlign's finetune.py and MetaMath's train_math.py train",
    "mathoctopus": "MathOctopus's training prompt: Alpaca's, naming the language to answer in",
    "as_is": "the query field already holds the whole prompt (MathOctopus's hub rows: `prompt`)",
}
"""training.data.prompt of instruction data (the templates themselves: harness/training/instructions.py)."""
STOP_ORIGINS = {
    "harness": (OURS, "the task templates' list: ### Instruction, a new Alpaca preamble, end-of-text tokens"),
    "metamath": (
        PAPER,
        "the paper adopts MetaMath's (Yu et al.) inference settings: the stop list of MetaMath's "
        "eval_gsm8k.py (Question, USER, ASSISTANT, Instruction, Response)",
    ),
}
"""evaluation.stop (the lists themselves: harness/evaluation/choices.py)."""
LABEL_ORIGINS = {
    "last": (PAPER, "the last bracketed label (A)-(E) of the response"),
    "authors": (
        AUTHORS,
        'the first "The answer is (X)." of the response, as the authors\' X-CSQA script reads it (none: '
        "wrong; the script generates up to 1,024 new tokens)",
    ),
    "first": (OURS, 'the first bracketed label anywhere in the response (not the authors\' "The answer is (X).")'),
}
"""evaluation.choice_label."""


def _prompt(value, recipe):
    if recipe.training.data.kind == "instructions":
        if value in TEMPLATE_ORIGINS:
            return AUTHORS, TEMPLATE_ORIGINS[value]
        return OURS, "the recipe's own template"
    return PROMPT_ORIGINS[value]


def _filter(value, recipe):
    if recipe.training.data.kind == "instructions":
        return OURS, ("drops empty, duplicate and repetitive rows" if value else "no filter: every row of the source")
    if value:
        return OURS, (
            "the paper reports 57,817 question / 65,968 answer pairs after an unstated "
            "quality filter; ours drops empty, duplicate, untranslated, repetitive and "
            "length-outlier pairs (train.json's data accounting)"
        )
    return OURS, "no filter: every pair of the source"


def _caps(value, recipe):
    return OURS, (
        "Table 1's counts (57,817 questions, 65,968 answers) spread evenly over the languages and sides: "
        "the paper prints no per-language counts"
    )


def _scheduler(value, recipe):
    return OURS, "not stated: LLaMA-Factory's usual cosine schedule"


def _stop(value, recipe):
    if value == "metamath" and not any(t.name in ("mgsm", "msvamp") for t in recipe.evaluation.tasks):
        return OURS, "MetaMath's eval_gsm8k.py list, on tasks the paper adopts no MetaMath setting for"
    return STOP_ORIGINS[value]


def _label(value, recipe):
    return LABEL_ORIGINS[value]


def _max_new_tokens(value, recipe):
    if value == 512:
        return PAPER, "appendix: greedy, at most 512 new tokens"
    if value == 1024 and any(t.name == "xcsqa" for t in recipe.evaluation.tasks):
        return AUTHORS, "the authors' X-CSQA script generates up to 1,024 new tokens"
    return OURS, "lowered or raised from the paper's 512"


def _extraction(value, recipe):
    if value == "paper":
        return PAPER, (
            "the paper's rule (section 4.4: the last number of the response), implemented as "
            "MathOctopus/QAlign's extract_last_num reads it"
        )
    return OURS, "strict reading of numbers (signs, separators, fractions, every script)"


def _probe_input(value, recipe):
    return OURS, ("not stated: each probe question is fed raw (no prompt template, no answer), cut at this many tokens")


XCSQA_LAYOUT = "the question, then 'Answer Choices: (A) ... (E) ...' on one line, inside Table 9's prompt"


def _xcsqa_layout(value, recipe):
    return OURS, "Table 9 gives the instruction, not how the question and its five choices are laid out"


LOSS_NORMALISATION = "mean over the target tokens of the whole global batch"


def _loss_normalisation(value, recipe):
    return OURS, (
        "not stated: transformers' Trainer averages over every target token of an optimizer step "
        "(all micro-batches and devices); the authors' stack averaged per micro-batch, then over them"
    )


CHOICES: tuple[OpenChoice, ...] = (
    OpenChoice(
        "selection.probe.firing_share",
        "activation threshold of the probe",
        lambda r: r.selection.probe.firing_share if _probe_runs(r) else None,
        _firing_share,
    ),
    OpenChoice(
        "selection.*.peak_search",
        "boundary rule of the probe (end of the language-specific layers)",
        lambda r: _boundary_rule(r) if _probe_runs(r) else None,
        _peak_search,
    ),
    OpenChoice(
        "selection.probe.dataset",
        "probe questions",
        lambda r: r.selection.probe.dataset if _probe_runs(r) else None,
        _probe_dataset,
    ),
    OpenChoice(
        "selection.probe.n",
        "probe questions per language",
        lambda r: r.selection.probe.n if _probe_runs(r) else None,
        _probe_n,
    ),
    OpenChoice(
        "selection.probe.max_tokens",
        "probe input (format and length)",
        lambda r: r.selection.probe.max_tokens if _probe_runs(r) else None,
        _probe_input,
    ),
    OpenChoice(
        "selection.sublayers",
        "trained sub-layers of the selected layers",
        lambda r: r.selection.sublayers if r.selection else None,
        _sublayers,
    ),
    OpenChoice(
        "training.data.prompt", "training prompt", lambda r: r.training.data.prompt if r.training else None, _prompt
    ),
    OpenChoice(
        "training.data.filter",
        "quality filter of the translation pairs",
        lambda r: r.training.data.filter if r.training else None,
        _filter,
    ),
    OpenChoice(
        "(no field: transformers' Trainer)",
        "loss normalisation",
        lambda r: LOSS_NORMALISATION if r.training else None,
        _loss_normalisation,
        "training",
    ),
    OpenChoice(
        "training.data.max_pairs_per_language",
        "per-language cap of the training pairs",
        lambda r: (
            "table1" if r.training and getattr(r.training.data, "max_pairs_per_language", None) == "table1" else None
        ),
        _caps,
    ),
    OpenChoice(
        "training.lr_scheduler",
        "learning-rate schedule",
        lambda r: r.training.lr_scheduler if r.training else None,
        _scheduler,
    ),
    OpenChoice(
        "evaluation.stop", "stop sequences of generation", lambda r: r.evaluation.stop if r.evaluation else None, _stop
    ),
    OpenChoice(
        "evaluation.choice_label",
        "X-CSQA label rule",
        lambda r: (
            r.evaluation.choice_label if r.evaluation and any(t.name == "xcsqa" for t in r.evaluation.tasks) else None
        ),
        _label,
    ),
    OpenChoice(
        "(no field: tasks/_choice_template_yaml)",
        "X-CSQA question layout",
        lambda r: XCSQA_LAYOUT if r.evaluation and any(t.name == "xcsqa" for t in r.evaluation.tasks) else None,
        _xcsqa_layout,
        "evaluation",
    ),
    OpenChoice(
        "evaluation.max_new_tokens",
        "longest generation",
        lambda r: r.evaluation.max_new_tokens if r.evaluation else None,
        _max_new_tokens,
    ),
    OpenChoice(
        "evaluation.extraction",
        "answer extraction of record",
        lambda r: r.evaluation.extraction if r.evaluation else None,
        _extraction,
    ),
)


def open_choices(recipe, section: str | None = None) -> list[dict[str, Any]]:
    """Every open choice the recipe makes (of one section: ``selection``, ``training``,
    ``evaluation``), with its value, origin and a note."""
    out = []
    for choice in CHOICES:
        if section is not None and (choice.section or choice.field.split(".")[0]) != section:
            continue
        entry = choice.entry(recipe)
        if entry is not None:
            if choice.field == "selection.*.peak_search":
                entry["field"] = _boundary_field(recipe)
            out.append(entry)
    return out
