"""Evaluation choices the paper leaves open: stop sequences and the X-CSQA label rule.

- ``evaluation.stop``: ``harness`` (the task templates' list: the next ``### Instruction``, a new
  Alpaca preamble, and the end-of-text tokens of common tokenizers) or ``metamath`` (the list of
  MetaMath's own evaluation script, eval_gsm8k.py, whose prompt the paper's Table 8 adopts).
- ``evaluation.choice_label``: ``last`` (the paper: the last bracketed label of the response) or
  ``first`` (the authors' X-CSQA script: the first match; it also generates up to 1,024 tokens).
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
