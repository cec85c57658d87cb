"""Architecture adapters on tiny random configs of every supported family; source resolution."""

from __future__ import annotations

import pytest
import torch

from harness.errors import HarnessError
from harness.models import ModelConfig, adapter_for, load_config, load_model, load_tokenizer, resolve_source

TINY = dict(
    hidden_size=32,
    intermediate_size=48,
    num_hidden_layers=3,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=100,
    head_dim=8,
)


def tiny_config(family: str):
    from transformers import Gemma2Config, Gemma3TextConfig, LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config

    classes = {
        "llama": LlamaConfig,
        "mistral": MistralConfig,
        "qwen2": Qwen2Config,
        "qwen3": Qwen3Config,
        "gemma2": Gemma2Config,
        "gemma3_text": Gemma3TextConfig,
    }
    return classes[family](**TINY)


@pytest.mark.parametrize("family", ["llama", "mistral", "qwen2", "qwen3", "gemma2", "gemma3_text"])
def test_adapter_finds_layers_ffn_and_attention(family):
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(tiny_config(family))
    adapter = adapter_for(model)
    layers = adapter.layers(model)
    assert len(layers) == adapter.num_layers(model.config) == 3
    ffn = adapter.ffn_modules(layers[1])
    assert ffn["gate"].out_features == ffn["up"].out_features == adapter.intermediate_size(model.config) == 48
    assert ffn["down"].in_features == 48

    # The activation hook sees act_fn(W_gate x): one value per token and FFN neuron.
    seen = []
    handle = adapter.act_fn(layers[1]).register_forward_hook(lambda m, i, o: seen.append(o.shape))
    model(torch.tensor([[1, 2, 3, 4, 5]]))
    handle.remove()
    assert seen == [torch.Size([1, 5, 48])]

    # Names from the layout alone equal the names read off the model, and all exist.
    params = dict(model.named_parameters())
    for sublayers in ("up_down", "ffn", "attention", "ffn_attention"):
        from_model = adapter.parameter_names(2, sublayers, model)
        assert adapter.parameter_names(2, sublayers) == from_model
        assert all(name in params for name in from_model)
    assert adapter.parameter_names(0, "up_down") == [
        "model.layers.0.mlp.up_proj.weight",
        "model.layers.0.mlp.down_proj.weight",
    ]


def test_unsupported_and_refused_architectures():
    from transformers import GPT2Config, Phi3Config

    with pytest.raises(HarnessError, match="supported model types: .*llama"):
        adapter_for(GPT2Config())
    with pytest.raises(HarnessError, match="gate_up_proj"):
        adapter_for(Phi3Config(**{k: v for k, v in TINY.items() if k != "head_dim"}))


def test_source_resolution_errors(tmp_path):
    with pytest.raises(HarnessError, match="not found"):
        resolve_source(str(tmp_path / "missing.gguf"))
    with pytest.raises(HarnessError, match="no config.json"):
        resolve_source(str(tmp_path))
    with pytest.raises(HarnessError, match="no such model folder"):
        resolve_source("./no/such/folder")
    with pytest.raises(HarnessError, match="not installed"):
        resolve_source("package:no_such_package_xyz/model.gguf")
    assert resolve_source("meta-math/MetaMath-7B-V1.0").kind == "hub"


def test_offline_hub_id_is_a_clear_error():
    with pytest.raises(
        HarnessError,
        match="HF_HUB_OFFLINE=1 is set and the model is not in the local cache; "
        "unset HF_HUB_OFFLINE to download it, or point it at a local model folder",
    ):
        load_config(ModelConfig(source="nobody-here/no-such-model-xyz"))


def test_load_local_folder(tiny_llama_dir):
    cfg = ModelConfig(source=str(tiny_llama_dir))
    model = load_model(cfg)
    assert model.dtype == torch.float32 and not model.training
    tokenizer = load_tokenizer(cfg)
    assert tokenizer.padding_side == "left" and tokenizer.pad_token is not None
    assert load_config(cfg).num_hidden_layers == 4
