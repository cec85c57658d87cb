"""Tokenise the translation pairs once: a folder keyed by the data and the tokenizer.

The key is a sha256 of the exact (prompt, completion) texts in training order, the tokenizer's
fingerprint (its serialised fast-tokenizer JSON and special-token ids), ``max_length`` and
:data:`FORMAT`. Anything that changes a token changes the key; a rerun, a resumed run, another
run on the same data, and every rank of a multi-process run read the same folder. The first
process to arrive builds it under a file lock (the others wait, then read), writes it as an
Arrow dataset (`datasets.Dataset.save_to_disk`) into a temporary folder and renames it into
place, so a half-written cache is never read; an entry damaged later is named and rebuilt
(:mod:`harness.caches`).

The folder is ``$HARNESS_CACHE/tokenized``, else ``$XDG_CACHE_HOME/harness/tokenized``
(``~/.cache/harness/tokenized``): like ``HF_DATASETS_CACHE``, it moves the cache, nothing else.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.errors import HarnessError

FORMAT = "harness-tokenized-v2"
"""Bump when the tokenisation code changes what it makes from the same texts (v2: entries carry
ENTRY.json, see :mod:`harness.caches`)."""


def cache_root() -> Path:
    if os.environ.get("HARNESS_CACHE"):
        return Path(os.environ["HARNESS_CACHE"]) / "tokenized"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "harness" / "tokenized"


def tokenizer_fingerprint(tokenizer) -> str:
    digest = hashlib.sha256(type(tokenizer).__name__.encode())
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        # Without the truncation and padding settings: a call on the tokenizer changes them (and
        # they do not change a token), so a used tokenizer must hash as a fresh one.
        state = json.loads(backend.to_str())
        state.pop("truncation", None)
        state.pop("padding", None)
        digest.update(json.dumps(state, sort_keys=True).encode("utf-8"))
    else:  # a slow tokenizer: its vocabulary stands for it
        digest.update(repr(sorted(tokenizer.get_vocab().items())).encode("utf-8"))
    digest.update(
        repr(
            (
                tokenizer.bos_token_id,
                tokenizer.eos_token_id,
                tokenizer.pad_token_id,
                getattr(tokenizer, "add_bos_token", None),
                getattr(tokenizer, "add_eos_token", None),
            )
        ).encode()
    )
    return digest.hexdigest()


def cache_key(texts: Sequence[tuple[str, str]], tokenizer, max_length: int) -> str:
    digest = hashlib.sha256(f"{FORMAT}\0{max_length}\0{tokenizer_fingerprint(tokenizer)}".encode())
    for prompt, completion in texts:
        digest.update(b"\1" + prompt.encode("utf-8") + b"\2" + completion.encode("utf-8"))
    return digest.hexdigest()[:32]


def tokenize_cached(
    texts: Sequence[tuple[str, str]],
    tokenizer,
    max_length: int,
    tokenize: Callable[[int], dict | None],
    root: Path | None = None,
) -> tuple[list[dict | None], dict]:
    """``tokenize(i)`` for every i, from the cache when it has them.

    Returns (examples, record): examples[i] is None where ``tokenize`` returned None (the
    example did not fit); the record says whether the cache was hit, its key and the seconds.
    """
    from harness.caches import cached_entry

    started = time.perf_counter()
    root = Path(root) if root is not None else cache_root()
    key = cache_key(texts, tokenizer, max_length)

    def build(staging: Path) -> None:
        _write(staging, [tokenize(i) for i in range(len(texts))])

    folder, hit = cached_entry(root / key, build, "the tokenisation cache entry")
    try:
        examples = _read(folder)
    except Exception as error:  # passed its size check yet unreadable: not a file this code wrote
        raise HarnessError(
            f"{folder}: the tokenisation cache entry is unreadable ({type(error).__name__}: {error}); delete that "
            "folder and run again"
        ) from None
    if len(examples) != len(texts):
        raise HarnessError(
            f"{folder}: the tokenisation cache entry holds {len(examples)} examples, not {len(texts)}; delete that "
            "folder and run again"
        )
    return examples, {
        "cache": "hit" if hit else "miss",
        "key": key,
        "folder": str(folder),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _write(folder: Path, examples: list[dict | None]) -> None:
    import datasets

    columns: dict[str, list] = {"input_ids": [], "labels": [], "fits": []}
    for example in examples:
        columns["fits"].append(example is not None)
        columns["input_ids"].append(example["input_ids"] if example else [])
        columns["labels"].append(example["labels"] if example else [])
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # one line per stage step in the log, not a bar per file
    try:
        datasets.Dataset.from_dict(columns).save_to_disk(str(folder))
    finally:
        if bars:
            datasets.enable_progress_bars()


def _read(folder: Path) -> list[dict | None]:
    import datasets

    table = datasets.load_from_disk(str(folder)).data.table
    ids, labels, fits = (table.column(name).to_pylist() for name in ("input_ids", "labels", "fits"))
    return [
        {"input_ids": tokens, "attention_mask": [1] * len(tokens), "labels": targets} if ok else None
        for tokens, targets, ok in zip(ids, labels, fits)
    ]
