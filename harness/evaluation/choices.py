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


def stop_sequences(stop: str, template_until: list[str]) -> list[str]:
    """The generation's stop list for ``evaluation.stop``."""
    return list(template_until) if stop == "harness" else list(METAMATH_STOP)
