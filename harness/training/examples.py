"""The examples of a recipe's ``training.data``: X->English translation pairs (SLAM, QAlign's first
stage) or instruction rows (``kind: instructions``: QAlign's second stage, MathOctopus-style tuning)."""

from __future__ import annotations

from harness.training.data import TranslationData, build_translation_data
from harness.training.instructions import build_instruction_data


def build_training_data(data, languages: list[str], tokenizer, max_length: int, seed: int) -> TranslationData:
    """Tokenised, filtered examples of either kind, with their accounting report."""
    if data.kind == "instructions":
        return build_instruction_data(data, tokenizer, max_length, seed)
    return build_translation_data(data, languages, tokenizer, max_length, seed)
