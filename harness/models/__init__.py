"""Model loading and architecture adapters.

The names load on first use: a recipe imports `harness.models.config` (and so this package)
without paying for torch, so that commands which fail early (no hub, bad recipe) fail fast.
"""

import importlib

_WHERE = {
    "SUBLAYERS": "adapters", "ArchitectureAdapter": "adapters", "adapter_for": "adapters",
    "ModelConfig": "config",
    "load_config": "loading", "load_model": "loading", "load_tokenizer": "loading",
    "local_folder": "loading", "resolve_source": "loading",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
