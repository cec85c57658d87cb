"""Shared fixtures: offline environment, a tiny random Llama with its own tokenizer."""

from __future__ import annotations

import os

# Tests never touch a hub: a mistake must fail fast instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DS_ACCELERATOR", "cpu")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_harness_cache(tmp_path_factory):
    """The tokenisation cache of the tests (harness/training/token_cache.py), not the user's;
    set in the environment so that training worker processes see it too."""
    os.environ["HARNESS_CACHE"] = str(tmp_path_factory.mktemp("harness-cache"))


TINY_CORPUS = [
    "Translate this from [German] to [English]:\n[German]: Anna hat 12 Äpfel.\n[English]: Anna has 12 apples.",
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.",
    "### Instruction:\nHow many apples are left?\n\n### Response: Let's think step by step. The answer is 42.",
    "Juma ana machungwa 7. Marie a 3 pommes. У Ивана 5 яблок. 太郎は りんごを 4 個 持っています。",
    "小明有 8 个苹果。 রাম এর কাছে ৫টি আপেল আছে। สมชายมีแอปเปิ้ล 6 ผล Pedro tiene 9 manzanas.",
    "0 1 2 3 4 5 6 7 8 9 10 100 1,000 3.5 (A) (B) (C) (D) (E)",
]


def build_tiny_tokenizer():
    """A byte-level BPE tokenizer trained in memory: covers every script, no download."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(TINY_CORPUS * 4, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
    )


def build_tiny_llama(vocab_size: int, seed: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=vocab_size,
        max_position_embeddings=512,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
        tie_word_embeddings=False,
    )
    return LlamaForCausalLM(config).eval()


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory):
    """A saved tiny random Llama folder (config, safetensors, tokenizer)."""
    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = build_tiny_tokenizer()
    build_tiny_llama(len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_llama(tiny_llama_dir):
    """(model, tokenizer) loaded from ``tiny_llama_dir``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_llama_dir).eval(), AutoTokenizer.from_pretrained(tiny_llama_dir)
