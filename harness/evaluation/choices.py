"""Evaluation choices the paper leaves open: stop sequences and the X-CSQA label rule.

- ``evaluation.stop``: ``metamath`` (the list of MetaMath's own evaluation script, eval_gsm8k.py:
  the paper adopts MetaMath's inference settings and prompt, Table 8; the paper recipes' default)
  or ``harness`` (the task templates' list: the next ``### Instruction``, a new Alpaca preamble,
  and the end-of-text tokens of common tokenizers; the default elsewhere).
- ``evaluation.choice_label``: ``last`` (the paper: the last bracketed label of the response),
  ``authors`` (the authors' X-CSQA script: the first "The answer is (X)."; a response without one
  counts wrong; it also generates up to 1,024 tokens) or ``first`` (ours: the first bracketed
  label anywhere, which reads "(A) is wrong ... The answer is (C)." as A where the authors get C).
"""

from __future__ import annotations

from harness.open_choices import AUTHORS, OURS, PAPER

METAMATH_STOP = [
    "Question:",
    "Question",
    "USER:",
    "USER",
    "ASSISTANT:",
    "ASSISTANT",
    "Instruction:",
    "Instruction",
    "Response:",
    "Response",
]
"""MetaMath's eval_gsm8k.py (vLLM SamplingParams stop list)."""

STOP_ORIGINS = {
    "harness": (OURS, "the task templates' list: ### Instruction, a new Alpaca preamble, end-of-text tokens"),
    "metamath": (
        PAPER,
        "the paper adopts MetaMath's (Yu et al.) inference settings: the stop list of MetaMath's "
        "eval_gsm8k.py (Question, USER, ASSISTANT, Instruction, Response)",
    ),
}
LABEL_ORIGINS = {
    "last": (PAPER, "the last bracketed label (A)-(E) of the response"),
    "authors": (
        AUTHORS,
        'the first "The answer is (X)." of the response, as the authors\' X-CSQA script reads it (none: '
        "wrong; the script generates up to 1,024 new tokens)",
    ),
    "first": (OURS, 'the first bracketed label anywhere in the response (not the authors\' "The answer is (X).")'),
}


def stop_sequences(stop: str, template_until: list[str]) -> list[str]:
    """The generation's stop list for ``evaluation.stop``."""
    return list(template_until) if stop == "harness" else list(METAMATH_STOP)
