"""The activation probe: how often each FFN neuron's SwiGLU gate fires, per language and layer.

A forward hook on every layer's gate activation (``adapter.act_fn(layer)``, whose output is
``act_fn(W_gate x)``, shape [batch, tokens, d_inter]) adds, for the language being probed:

- ``fired_tokens[layer, neuron]``: real tokens on which the gate was > 0;
- ``fired_questions[layer, neuron]``: questions on which it was > 0 on at least one real token
  (the paper's literal reading of eq. 3);

and the probe counts ``tokens`` (real tokens) and ``questions``. "Real" means attention mask 1
and not a special token added by the tokenizer (BOS/EOS: the same in every language). Padding is
on the right and the causal mask keeps real tokens from seeing it, so a question gets the same
counts alone or in a padded batch.

Questions stream through in batches; the accumulators are int64 [layers, d_inter] per language on
the model's device, so memory does not grow with the number of questions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from harness.errors import HarnessError


@dataclass
class ProbeCounts:
    """Raw probe counts per language (int64 tensors [layers, d_inter] on the CPU)."""

    fired_tokens: dict[str, torch.Tensor] = field(default_factory=dict)
    fired_questions: dict[str, torch.Tensor] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    questions: dict[str, int] = field(default_factory=dict)

    @property
    def languages(self) -> list[str]:
        return list(self.fired_tokens)

    @property
    def shape(self) -> tuple[int, int]:
        first = next(iter(self.fired_tokens.values()))
        return tuple(first.shape)  # type: ignore[return-value]

    def to_dict(self) -> dict:
        """Plain tensors and ints, loadable with ``torch.load(..., weights_only=True)``."""
        return {
            "languages": self.languages,
            "fired_tokens": self.fired_tokens,
            "fired_questions": self.fired_questions,
            "tokens": self.tokens,
            "questions": self.questions,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> ProbeCounts:
        return cls(
            fired_tokens=dict(data["fired_tokens"]),
            fired_questions=dict(data["fired_questions"]),
            tokens={k: int(v) for k, v in data["tokens"].items()},
            questions={k: int(v) for k, v in data["questions"].items()},
        )

    def save(self, path) -> None:
        torch.save(self.to_dict(), path)

    @classmethod
    def load(cls, path) -> ProbeCounts:
        return cls.from_dict(torch.load(path, weights_only=True))


class _Accumulator:
    """Per-layer forward hooks that add one batch's firing counts to int64 accumulators."""

    def __init__(self, num_layers: int, d_inter: int, device: torch.device):
        self.fired_tokens = torch.zeros(num_layers, d_inter, dtype=torch.int64, device=device)
        self.fired_questions = torch.zeros(num_layers, d_inter, dtype=torch.int64, device=device)
        self.count_mask: torch.Tensor | None = None  # [batch, 1, tokens] float32 0/1, set per batch

    def hook(self, layer: int, transform: Callable[[torch.Tensor], torch.Tensor] | None = None):
        def record(module, inputs, output):
            gate = transform(output) if transform is not None else output
            fired = (gate > 0).to(torch.float32)  # [batch, tokens, d_inter]
            # Per question and neuron: counted tokens on which it fired. A batched matrix product
            # (mask [batch, 1, tokens] x fired) is 3-4x cheaper than masking and summing booleans;
            # float32 is exact for counts up to 2^24 tokens per question.
            assert self.count_mask is not None, "the hooks run inside a batch"
            per_question = torch.bmm(self.count_mask, fired).squeeze(1).to(torch.int64)
            self.fired_tokens[layer] += per_question.sum(dim=0)
            self.fired_questions[layer] += (per_question > 0).sum(dim=0)

        return record


def gate_modules(model, adapter) -> list[tuple[torch.nn.Module, Callable | None]]:
    """(module to hook, transform of its output) per layer: the gate activation when every layer
    has its own ``act_fn`` module, else ``gate_proj`` followed by the activation."""
    layers = adapter.layers(model)
    acts = [adapter.act_fn(layer) for layer in layers]
    if len({id(a) for a in acts}) == len(acts):
        return [(a, None) for a in acts]
    # A single activation module shared by all layers: its hook cannot tell layers apart.
    return [(adapter.ffn_modules(layer)["gate"], act) for layer, act in zip(layers, acts)]


@contextmanager
def _hooks(model, adapter, accumulator: _Accumulator) -> Iterator[None]:
    handles = [
        module.register_forward_hook(accumulator.hook(i, transform))
        for i, (module, transform) in enumerate(gate_modules(model, adapter))
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def encode_batch(tokenizer, texts: Sequence[str], max_tokens: int, device) -> dict[str, torch.Tensor]:
    """Right-padded ids, attention mask and the mask of tokens that count (real, not special)."""
    encoded = tokenizer(
        list(texts),
        add_special_tokens=True,
        truncation=True,
        max_length=max_tokens,
        return_special_tokens_mask=True,
    )
    ids, special = encoded["input_ids"], encoded["special_tokens_mask"]
    width = max((len(row) for row in ids), default=0)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
    attention = torch.zeros((len(ids), width), dtype=torch.long)
    counted = torch.zeros((len(ids), width), dtype=torch.bool)
    for row, (tokens, specials) in enumerate(zip(ids, special)):
        input_ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        attention[row, : len(tokens)] = 1
        counted[row, : len(tokens)] = torch.tensor(specials, dtype=torch.long) == 0
    return {
        "input_ids": input_ids.to(device),
        "attention_mask": attention.to(device),
        "counted": counted.to(device),
    }


def batches(texts: Sequence[str], batch_size: int) -> Iterator[list[str]]:
    """Questions in batches of similar length (less padding); counts do not depend on order."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(order), batch_size):
        yield [texts[i] for i in order[start : start + batch_size]]


def probe_language(
    model,
    tokenizer,
    questions: Sequence[str],
    adapter,
    max_tokens: int,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
):
    """Counts for one language: (fired_tokens, fired_questions, tokens, questions)."""
    device = next(model.parameters()).device
    num_layers = len(adapter.layers(model))
    d_inter = adapter.intermediate_size(model.config)
    accumulator = _Accumulator(num_layers, d_inter, device)
    tokens = 0
    with torch.inference_mode(), _hooks(model, adapter, accumulator):
        for texts in batches(questions, batch_size):
            batch = encode_batch(tokenizer, texts, max_tokens, device)
            counted = batch.pop("counted")
            if batch["input_ids"].shape[1] > 0:  # a batch of empty questions has nothing to count
                accumulator.count_mask = counted.unsqueeze(1).to(torch.float32)
                model(**batch, use_cache=False)
                tokens += int(counted.sum())
            if progress is not None:
                progress(len(texts))
    accumulator.count_mask = None
    return accumulator.fired_tokens.cpu(), accumulator.fired_questions.cpu(), tokens, len(questions)


def probe_model(
    model,
    tokenizer,
    questions_by_lang: Mapping[str, Sequence[str]],
    cfg,
    progress: Callable[[str, int], None] | None = None,
) -> ProbeCounts:
    """Probe a loaded model (base or trained) on parallel questions per language.

    Args:
        model: a causal LM of a supported family (see harness.models.adapters).
        tokenizer: its tokenizer.
        questions_by_lang: language code -> question texts (the same questions in each language).
        cfg: a :class:`~harness.selection.config.ProbeConfig` (``max_tokens``, ``batch_size``).
        progress: optional callback ``(language, questions done in this step)``.
    """
    from harness.models import adapter_for

    adapter = adapter_for(model)
    if not questions_by_lang:
        raise HarnessError("selection.probe: no language to probe; the recipe's languages are empty")
    counts = ProbeCounts()
    for lang, questions in questions_by_lang.items():
        if not questions:
            raise HarnessError(
                f"selection.probe: no probe question for language {lang!r}; check "
                "selection.probe.dataset/path, or drop the language from the recipe's languages"
            )
        step = (lambda done, _lang=lang: progress(_lang, done)) if progress is not None else None
        fired, fired_q, tokens, n = probe_language(
            model, tokenizer, questions, adapter, cfg.max_tokens, cfg.batch_size, step
        )
        if tokens == 0:
            raise HarnessError(
                f"selection.probe: the {lang!r} probe questions contain no real token "
                "(empty strings?); check selection.probe.dataset/path"
            )
        counts.fired_tokens[lang], counts.fired_questions[lang] = fired, fired_q
        counts.tokens[lang], counts.questions[lang] = tokens, n
    return counts
