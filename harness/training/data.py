"""SLAM's training examples: translation pairs (:mod:`harness.translation`) as a prompt of
``training.data.prompt`` (default the paper's Table 7, :data:`PROMPT`; the variants are in
:mod:`harness.training.prompts`), tokenised so that the loss counts only the English side and the EOS
token after it; a pair whose prompt alone fills ``max_length`` is dropped as ``too_long``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.languages import language_name
from harness.training.prompts import PROMPTS
from harness.translation import SIDES, TranslationPair, load_pairs, mix_pairs

# -- prompts and tokens ------------------------------------------------------------------------


def format_pair(pair: TranslationPair, prompt: str = "table7") -> tuple[str, str]:
    """(prompt, completion): the prompt variant (default Table 7) and the English side (with its leading space)."""
    prompt = PROMPTS[prompt].format(source_lang=language_name(pair.lang), source=pair.source)
    return prompt, " " + pair.target


def tokenize_pair(
    pair: TranslationPair, tokenizer, max_length: int, prompt: str = "table7"
) -> dict[str, list[int]] | None:
    """:func:`tokenize_texts` of the pair's prompt and English side."""
    return tokenize_texts(*format_pair(pair, prompt), tokenizer, max_length)


def tokenize_texts(prompt: str, completion: str, tokenizer, max_length: int) -> dict[str, list[int]] | None:
    """input_ids / attention_mask / labels of ``prompt + completion``: -100 on the prompt; EOS closes
    the completion.

    The boundary is found through the fast tokenizer's character offsets on the whole text, so
    a token that straddles it counts as prompt. None when no completion token fits in ``max_length``.
    """
    encoded = tokenizer(prompt + completion, return_offsets_mapping=True, add_special_tokens=True)
    ids = list(encoded["input_ids"])
    offsets = encoded["offset_mapping"]
    boundary = len(prompt)
    labels = [tid if (end > start and start >= boundary) else -100 for tid, (start, end) in zip(ids, offsets)]
    # Special tokens the tokenizer appends (an EOS of its own) are not the English side.
    if tokenizer.eos_token_id is None:
        raise HarnessError("the tokenizer has no EOS token; set model.tokenizer to one that has")
    if ids and ids[-1] == tokenizer.eos_token_id:
        ids, labels = ids[:-1], labels[:-1]
    ids.append(tokenizer.eos_token_id)
    labels.append(tokenizer.eos_token_id)
    ids, labels = ids[:max_length], labels[:max_length]
    if all(label == -100 for label in labels):
        return None
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels}


def tokenize_pairs_once(
    pairs: list[TranslationPair], tokenizer, max_length: int, prompt: str = "table7"
) -> tuple[list, dict]:
    """:func:`tokenize_pair` over ``pairs`` through the tokenisation cache (harness/training/token_cache.py)."""
    from harness.training.token_cache import tokenize_cached

    return tokenize_cached(
        [format_pair(pair, prompt) for pair in pairs],
        tokenizer,
        max_length,
        lambda i: tokenize_pair(pairs[i], tokenizer, max_length, prompt),
    )


@dataclass
class TranslationData:
    """Tokenised training examples and the record of how they were made."""

    examples: list[dict[str, list[int]]]
    langs: list[str]
    report: dict[str, Any]


def build_translation_data(data, languages: list[str], tokenizer, max_length: int, seed: int) -> TranslationData:
    """Load, filter, mix and tokenise the pairs of a recipe's ``training.data`` section."""
    wanted = [lang for lang in (data.languages or languages) if lang != "en"]
    if not wanted:
        raise HarnessError(
            "training.data.languages: no non-English language to translate from; list at least one besides en"
        )
    from harness.training.accounting import accounting, filter_by_side, paper_reference, side_counts

    pairs = load_pairs(data, wanted)
    loaded = pairs.counts()
    loaded_by_side = side_counts(pairs)
    dropped_by_side = filter_by_side(pairs, data.max_length_ratio) if data.filter else {}
    kept_by_side = side_counts(pairs)
    mixed = mix_pairs(pairs, data.mixing, data.max_pairs_per_language, seed)
    examples, langs = [], []
    tokens: Counter = Counter()
    targets: Counter = Counter()
    used_by_side: dict[str, Counter] = defaultdict(Counter)
    ordered = [pair for items in mixed.values() for pair in items]
    tokenized, cache_record = tokenize_pairs_once(ordered, tokenizer, max_length, data.prompt)
    for pair, example in zip(ordered, tokenized):
        lang = pair.lang
        if example is None:
            pairs.dropped[lang]["too_long"] += 1
            dropped_by_side.setdefault(lang, {}).setdefault(pair.side, Counter())["too_long"] += 1
            continue
        used_by_side[lang][pair.side] += 1
        examples.append(example)
        langs.append(lang)
        tokens[lang] += len(example["input_ids"])
        targets[lang] += sum(1 for label in example["labels"] if label != -100)
    if not examples:
        raise HarnessError(
            f"training.data: every pair was filtered out ({dict(pairs.dropped)}); "
            "check the data, training.max_length and training.data.max_length_ratio"
        )
    used = Counter(langs)
    report = {
        "source": data.source,
        "origin": pairs.origin,
        "sides": data.sides,
        "mixing": data.mixing,
        "prompt": PROMPTS[data.prompt],
        "prompt_variant": data.prompt,
        "languages": list(mixed),
        "skipped_languages": pairs.skipped,
        "pairs_loaded": loaded,
        "filtered": {lang: dict(pairs.dropped.get(lang, {})) for lang in loaded},
        "pairs_after_filter": pairs.counts(),
        "examples": dict(used),
        "examples_total": len(examples),
        "tokens_per_epoch": dict(tokens),
        "target_tokens_per_epoch": dict(targets),
        "tokenized": cache_record,
        "accounting": accounting(
            loaded_by_side,
            dropped_by_side,
            kept_by_side,
            used_by_side,
            pairs.skipped,
            SIDES[data.sides],
            paper_reference(wanted),
        ),
    }
    return TranslationData(examples, langs, report)


TOKEN_COUNTS = "token_counts"
"""A batch's (non-padding, target, padded) token counts, host integers the collator computes so
that counting never waits for the GPU; the trainer takes them out before the forward pass."""


class PadCollator:
    """Right-pads a batch: pad id for inputs, -100 for the labels, and no attention mask.

    With right padding a causal model's real tokens never see the pads that follow them, and pads
    carry no loss (-100), so the loss and gradients equal those with a padding mask; without a
    mask PyTorch's SDPA can take its flash kernel (``is_causal``) instead of a masked one.

    ``count_tokens``: add :data:`TOKEN_COUNTS` (for the harness's trainer, which takes it out).
    """

    def __init__(self, pad_token_id: int, count_tokens: bool = False):
        self.pad_token_id = pad_token_id
        self.count_tokens = count_tokens

    def __call__(self, batch: Iterable[dict[str, list[int]]]):
        import torch

        batch = list(batch)
        width = max(len(item["input_ids"]) for item in batch)
        out: dict[str, Any] = {
            "input_ids": torch.full((len(batch), width), self.pad_token_id, dtype=torch.long),
            "labels": torch.full((len(batch), width), -100, dtype=torch.long),
        }
        for row, item in enumerate(batch):
            n = len(item["input_ids"])
            out["input_ids"][row, :n] = torch.tensor(item["input_ids"])
            out["labels"][row, :n] = torch.tensor(item["labels"])
        if self.count_tokens:
            non_pad = sum(len(item["input_ids"]) for item in batch)
            target = sum(label != -100 for item in batch for label in item["labels"])
            out[TOKEN_COUNTS] = (non_pad, target, len(batch) * width)
        return out
