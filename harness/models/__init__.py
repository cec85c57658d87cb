"""Model loading and architecture adapters.

The names load on first use (PEP 562), so that reading a recipe, which needs only
``ModelConfig``, does not import torch.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "SUBLAYERS": "adapters",
    "ArchitectureAdapter": "adapters",
    "adapter_for": "adapters",
    "ModelConfig": "config",
    "load_config": "loading",
    "load_model": "loading",
    "load_tokenizer": "loading",
    "local_folder": "loading",
    "release_memory": "loading",
    "resolve_source": "loading",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'harness.models' has no attribute {name!r}")
    return getattr(importlib.import_module(f"harness.models.{_HOMES[name]}"), name)
