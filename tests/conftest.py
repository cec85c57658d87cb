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


def build_tiny_llama(vocab_size: int, seed: int = 0, **overrides):
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
    config.update(overrides)
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


def write_tiny_gguf(path, seed: int = 0, **overrides):
    """The tiny Llama (and its tokenizer) written as a float32 GGUF file that transformers loads."""
    import json

    import gguf
    import numpy as np

    tokenizer = build_tiny_tokenizer()
    model = build_tiny_llama(len(tokenizer), seed=seed, **overrides)
    config = model.config
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(config.num_hidden_layers)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_freq_base(10000.0)
    writer.add_vocab_size(len(tokenizer))
    state = json.loads(tokenizer.backend_tokenizer.to_str())["model"]
    tokens = sorted(state["vocab"], key=state["vocab"].get)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_merges([" ".join(m) if isinstance(m, list) else m for m in state["merges"]])
    writer.add_token_types([1] * len(tokens))
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_pad_token_id(0)
    top = {"model.embed_tokens.weight": "token_embd", "model.norm.weight": "output_norm", "lm_head.weight": "output"}
    per_layer = {
        "self_attn.q_proj": "attn_q",
        "self_attn.k_proj": "attn_k",
        "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output",
        "mlp.gate_proj": "ffn_gate",
        "mlp.up_proj": "ffn_up",
        "mlp.down_proj": "ffn_down",
        "input_layernorm": "attn_norm",
        "post_attention_layernorm": "ffn_norm",
    }

    def unpermute(weights, heads):  # llama.cpp stores q/k rotated; transformers' reader undoes it
        return weights.reshape(heads, 2, weights.shape[0] // heads // 2, -1).swapaxes(1, 2).reshape(weights.shape)

    for name, tensor in model.state_dict().items():
        values = tensor.float().numpy()
        if name in top:
            gguf_name = top[name]
        else:
            _, _, layer, *module, _ = name.split(".")
            module = ".".join(module)
            gguf_name = f"blk.{layer}.{per_layer[module]}"
            if module == "self_attn.q_proj":
                values = unpermute(values, config.num_attention_heads)
            elif module == "self_attn.k_proj":
                values = unpermute(values, config.num_key_value_heads)
        writer.add_tensor(f"{gguf_name}.weight", np.ascontiguousarray(values))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory):
    """The tiny Llama as ``.../tiny.gguf``."""
    return write_tiny_gguf(tmp_path_factory.mktemp("tiny-gguf") / "tiny.gguf")
