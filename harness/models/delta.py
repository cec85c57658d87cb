"""Trained weights as the changed tensors only: saved by training, applied on a loaded base model.

A selective run changes a few % of the model (six layers' up_proj and down_proj of Llama-2-7B:
8.0%), so the train stage saves just those tensors (``delta.safetensors``, listed with the base
model they apply to in ``delta.json``). A LoRA run saves its adapters merged into the target
weights the same way (and the peft adapter folder beside them). ``save: merged|both`` also
exports a complete model folder (``merged/``) that any transformers user can load.

Training writes these files; :func:`harness.models.loading.load_trained_model` rebuilds the trained
model from them (loading imports this module, never the other way).
"""

from __future__ import annotations

from pathlib import Path

from harness.artifacts import ADAPTER_DIR, DELTA_FILE, DELTA_INFO, MERGED_DIR, DeltaRecord
from harness.errors import HarnessError
from harness.runs import file_digest, write_artifact

__all__ = ["ADAPTER_DIR", "DELTA_FILE", "DELTA_INFO", "MERGED_DIR", "apply_delta", "export_merged", "save_delta"]


def save_delta(model, names: list[str], out: Path, info: dict, state: dict | None = None) -> DeltaRecord:
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
    record = DeltaRecord.model_validate(
        {
            **info,
            "file": DELTA_FILE,
            "names": list(names),
            "shapes": {name: list(t.shape) for name, t in tensors.items()},
            "dtype": dtypes[0] if len(dtypes) == 1 else dtypes,
            "parameters": sum(t.numel() for t in tensors.values()),
            "bytes": path.stat().st_size,
            "sha256": file_digest(path),
        }
    )
    write_artifact(out / DELTA_INFO, record)
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
