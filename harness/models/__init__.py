"""Model loading and architecture adapters."""

from harness.models.adapters import SUBLAYERS, ArchitectureAdapter, adapter_for
from harness.models.config import ModelConfig
from harness.models.loading import (
    load_config, load_model, load_tokenizer, local_folder, release_memory, resolve_source,
)

__all__ = [
    "SUBLAYERS", "ArchitectureAdapter", "ModelConfig", "adapter_for", "load_config", "load_model",
    "load_tokenizer", "local_folder", "release_memory", "resolve_source",
]
