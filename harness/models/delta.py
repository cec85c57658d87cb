"""Trained weights as the changed tensors only, and the trained model rebuilt as base + delta.

A selective run changes a few % of the model (six layers' up_proj and down_proj of Llama-2-7B:
8.0%), so the train stage saves just those tensors (``delta.safetensors``, listed with the base
model they apply to in ``delta.json``). A LoRA run saves its adapters merged into the target
weights the same way (and the peft adapter folder beside them). ``save: merged|both`` also
exports a complete model folder (``merged/``) that any transformers user can load.

It lives with model loading because two stages meet here: training writes these files and
evaluation loads the trained model from them.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import HarnessError
from harness.runs import file_digest, read_json, write_json

DELTA_FILE = "delta.safetensors"
DELTA_INFO = "delta.json"
MERGED_DIR = "merged"
ADAPTER_DIR = "adapter"


def save_delta(model, names: list[str], out: Path, info: dict, state: dict | None = None) -> dict:
    """Write ``names``' tensors of ``model`` to ``out/delta.safetensors`` and describe them.

    ``info`` (base model source and revision, mode, ...) is stored in ``delta.json`` with the
    names, shapes, dtype, sizes and the file's sha256. ``state``: the whole tensors by name when the
    model holds shards only (DeepSpeed ZeRO-3's gathered state dict).
    """
    from safetensors.torch import save_file

    params = dict(state) if state is not None else dict(model.named_parameters())
    missing = [name for name in names if name not in params]
    if missing:
        raise HarnessError(f"cannot save the delta: parameter(s) {missing[:3]} not in the model")
    tensors = {name: params[name].detach().to("cpu").contiguous() for name in names}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / DELTA_FILE
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"format": "pt"})
    tmp.replace(path)
    dtypes = sorted({str(t.dtype).removeprefix("torch.") for t in tensors.values()})
    record = {
        **info,
        "file": DELTA_FILE,
        "names": list(names),
        "shapes": {name: list(t.shape) for name, t in tensors.items()},
        "dtype": dtypes[0] if len(dtypes) == 1 else dtypes,
        "parameters": sum(t.numel() for t in tensors.values()),
        "bytes": path.stat().st_size,
        "sha256": file_digest(path),
    }
    write_json(out / DELTA_INFO, record)
    return record


def apply_delta(model, train_dir: Path) -> list[str]:
    """Copy the delta's tensors into ``model`` (cast to its dtype); returns the names applied."""
    import torch
    from safetensors.torch import load_file

    train_dir = Path(train_dir)
    path = train_dir / DELTA_FILE
    if not path.exists():
        raise HarnessError(f"{train_dir}: no {DELTA_FILE}; run the train stage (or use save: delta|both)")
    tensors = load_file(str(path))
    params = dict(model.named_parameters())
    unknown = [name for name in tensors if name not in params]
    if unknown:
        raise HarnessError(
            f"{path}: tensor(s) {unknown[:3]} do not exist in the base model; the delta was trained "
            "on another architecture (check model.source against delta.json's base_model)"
        )
    with torch.no_grad():
        for name, tensor in tensors.items():
            target = params[name]
            if tuple(target.shape) != tuple(tensor.shape):
                raise HarnessError(
                    f"{path}: {name} has shape {list(tensor.shape)} but the base model's is "
                    f"{list(target.shape)}; the delta belongs to another model"
                )
            target.copy_(tensor.to(device=target.device, dtype=target.dtype))
    return list(tensors)


def load_trained_model(recipe, train_dir, device: str = "cpu", dtype=None):
    """The trained model of a run: the base model + its delta, or the exported merged folder.

    ``train_dir`` is the train stage's folder (``<run>/train``). LoRA runs are stored merged in
    the delta, so this returns a plain transformers model in every mode.
    """
    return trained_from(recipe.model, train_dir, device, dtype)


def trained_from(model_cfg, train_dir, device: str = "cpu", dtype=None):
    """:func:`load_trained_model` from the `model:` section the run was made with. A delta trained on
    another run's model (``run:``, a chained stage) applies to that run's trained model."""
    from harness.models.config import ModelConfig
    from harness.models.loading import RUN_PREFIX, load_model

    train_dir = Path(train_dir)
    if (train_dir / DELTA_FILE).exists():
        info = read_json(train_dir / DELTA_INFO) if (train_dir / DELTA_INFO).exists() else {}
        base = info.get("base_model", {})
        start = model_cfg
        if str(base.get("source") or "").startswith(RUN_PREFIX):
            start = ModelConfig(source=base["source"], tokenizer=model_cfg.tokenizer, dtype=model_cfg.dtype)
        elif base.get("source") not in (None, model_cfg.source):
            raise HarnessError(
                f"{train_dir}: the delta was trained on {base.get('source')!r} but the recipe's "
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
    from harness.models.loading import run_base_model, run_folder
    from harness.runs import Run

    train_dir = Run(run_folder(cfg.source)).require("train")
    return trained_from(run_base_model(cfg.source), train_dir, device, dtype)


def export_merged(model, tokenizer, folder: Path, dtype=None, state_dict: dict | None = None) -> Path:
    """A complete model folder (safetensors + config + tokenizer) of the trained model.

    ``dtype``: the dtype to save in (the trained precision: a bf16 run whose Trainer kept fp32
    master weights exports bf16, half the size, what vLLM loads); None keeps the model's.
    ``state_dict``: the whole tensors when the model holds shards only (ZeRO-3), saved as they are.
    """
    folder = Path(folder)
    if state_dict is None and dtype is not None and model.dtype != dtype:
        model = model.to(dtype)
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    model.save_pretrained(tmp, safe_serialization=True, state_dict=state_dict)
    if tokenizer is not None:
        tokenizer.save_pretrained(tmp)
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    tmp.replace(folder)
    return folder
