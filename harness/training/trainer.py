"""Training with `transformers.Trainer`: the plan applied, the paper's hyper-parameters, the cost.

This module runs in the process that trains: the pipeline's own process (``launcher: none``),
or each rank that a launcher started (:mod:`harness.training.worker`). The launch itself is in
:mod:`harness.training.stage`.
"""

from __future__ import annotations

import os
import resource
import shutil
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from harness.artifacts import TRAIN_FILE, TrainRecord
from harness.errors import HarnessError
from harness.runs import write_artifact

CHECKPOINTS = "checkpoints"
DEEPSPEED_FILE = "deepspeed.json"


# -- settings derived from the recipe ----------------------------------------------------------


def resolve_precision(training, cuda: bool) -> str:
    """`bf16` or `fp32`: ``auto`` is bf16 on GPUs and fp32 on a CPU."""
    if training.precision == "auto":
        return "bf16" if cuda else "fp32"
    return training.precision


def gradient_accumulation(training, world_size: int) -> int:
    """global batch / (per-device batch x world size), which must divide exactly."""
    per_step = training.per_device_batch_size * world_size
    if training.global_batch_size % per_step:
        raise HarnessError(
            f"training.global_batch_size {training.global_batch_size} is not a multiple of "
            f"per_device_batch_size {training.per_device_batch_size} x world size {world_size} = {per_step}; "
            f"choose a global batch that is (e.g. {max(1, training.global_batch_size // per_step) * per_step}) "
            "or another per-device batch"
        )
    return training.global_batch_size // per_step


def deepspeed_config(training, bf16: bool, cuda: bool) -> dict[str, Any]:
    """A ZeRO-2 or ZeRO-3 config (``training.zero_stage``) for `Trainer(deepspeed=...)`.

    bf16 is set explicitly (the authors' released config leaves it out, which trains in fp32);
    batch sizes, accumulation and clipping are "auto" so they follow TrainingArguments. There is
    no `optimizer` block: Trainer's AdamW (torch) is handed to DeepSpeed, which shards its state,
    and no CUDA/C++ optimizer kernel has to be compiled on the machine; except with
    ``offload_optimizer``, where DeepSpeed's CPU Adam (an `optimizer` block of type AdamW, its
    settings "auto" from TrainingArguments) runs the update in CPU memory. Gradients accumulate in
    fp32 over the micro-batches (``data_types.grad_accum_dtype``): bf16 sums over 8 to 64
    micro-batches lose the low bits. ZeRO-3 gathers the whole 16-bit weights on save, so the
    delta and the merged model are complete tensors.
    """
    zero: dict[str, Any] = {
        "stage": training.zero_stage,
        "overlap_comm": bool(cuda),
        "contiguous_gradients": True,
        "reduce_bucket_size": 200_000_000,
    }
    if training.zero_stage == 2:
        zero.update({"allgather_partitions": True, "allgather_bucket_size": 200_000_000, "reduce_scatter": True})
    else:
        zero.update(
            {
                "sub_group_size": 1_000_000_000,
                "stage3_prefetch_bucket_size": 50_000_000,
                "stage3_param_persistence_threshold": 100_000,
                "stage3_max_live_parameters": 1_000_000_000,
                "stage3_max_reuse_distance": 1_000_000_000,
                "stage3_gather_16bit_weights_on_model_save": True,
            }
        )
    if training.offload_optimizer:
        zero["offload_optimizer"] = {"device": "cpu", "pin_memory": bool(cuda)}
    if training.offload_parameters:
        zero["offload_param"] = {"device": "cpu", "pin_memory": bool(cuda)}
    config: dict[str, Any] = {
        "bf16": {"enabled": bool(bf16)},
        "fp16": {"enabled": False},
        "data_types": {"grad_accum_dtype": "fp32"},
        "zero_optimization": zero,
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "steps_per_print": 1_000_000_000,
        "wall_clock_breakdown": False,
    }
    if training.offload_optimizer:
        config["optimizer"] = {
            "type": "AdamW",
            "params": {"lr": "auto", "betas": "auto", "eps": "auto", "weight_decay": "auto"},
        }
    return config


def distributed_env() -> tuple[int, int, int]:
    """(rank, local rank, world size) from the launcher's environment (0, 0, 1 without one)."""
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("LOCAL_RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)))


# -- measuring ---------------------------------------------------------------------------------


class PeakMemory:
    """Peak resident memory (sampled every 20 ms) and, on CUDA, peak allocated memory.

    Sampling (rather than ``ru_maxrss``) measures this block only, even in a process that did
    other work before (the pipeline runs several stages in one process).
    """

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.peak_rss = 0
        self.cuda_peak: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _rss(self) -> int:
        try:
            import psutil

            return psutil.Process().memory_info().rss
        except ImportError:  # pragma: no cover - psutil comes with accelerate
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_rss = max(self.peak_rss, self._rss())

    def __enter__(self) -> PeakMemory:
        import torch

        self.peak_rss = self._rss()
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        import torch

        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_rss = max(self.peak_rss, self._rss())
        if torch.cuda.is_available():
            self.cuda_peak = torch.cuda.max_memory_allocated()


def _counting_trainer_class():
    from transformers import Trainer, TrainerCallback

    from harness.training.data import TOKEN_COUNTS

    class CountingTrainer(Trainer):
        """Trainer that counts, without a host sync per micro-batch, the tokens it trained on.

        The collator counts each batch's non-padding, target (English-side) and padded tokens on
        the host (:data:`harness.training.data.TOKEN_COUNTS`); they are summed here, and over
        the ranks only when a step is logged or saved (:class:`FlushCounts`), so the loop never
        waits for the GPU to count. The totals are logged with every loss (saved in each
        checkpoint's log history, restored on resume); the non-padding count is the Trainer's
        own ``num_input_tokens_seen``, which its state keeps.
        """

        target_tokens_seen = 0
        padded_tokens_seen = 0
        """Tokens the GPUs computed on, padding included (non-padding / padded = useful share)."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.pending = [0, 0, 0, 0]  # non-pad, target, padded, steady non-pad: this rank, not yet summed
            self.step_tokens = 0
            self.steady: dict = {}

        def get_batch_samples(self, epoch_iterator, num_batches, device):
            batches, items = super().get_batch_samples(epoch_iterator, num_batches, device)
            self.step_tokens = 0
            for batch in batches:
                non_pad, target, padded = batch.pop(TOKEN_COUNTS)
                self.pending[0] += non_pad
                self.pending[1] += target
                self.pending[2] += padded
                self.step_tokens += non_pad
            return batches, items

        def flush_counts(self) -> None:
            """Add every rank's pending counts to the totals (one all-reduce, none on one rank)."""
            import torch

            local = [*self.pending[:3], self.steady.get("local_tokens", 0) - self.steady.get("summed_local", 0)]
            if self.args.world_size > 1:
                totals = torch.tensor(local, dtype=torch.int64, device=self.args.device)
                summed = self.accelerator.reduce(totals, reduction="sum").tolist()
            else:
                summed = local
            self.state.num_input_tokens_seen += int(summed[0])
            self.target_tokens_seen += int(summed[1])
            self.padded_tokens_seen += int(summed[2])
            self.steady["tokens"] = self.steady.get("tokens", 0) + int(summed[3])
            self.steady["summed_local"] = self.steady.get("local_tokens", 0)
            self.pending = [0, 0, 0, 0]

        def steady_tokens_per_second(self) -> float | None:
            seconds = self.steady.get("seconds")
            return self.steady.get("tokens", 0) / seconds if seconds else None

        def log(self, logs, start_time=None):
            logs["target_tokens_seen"] = self.target_tokens_seen
            logs["padded_tokens_seen"] = self.padded_tokens_seen
            steady = self.steady_tokens_per_second()
            if "loss" in logs and steady is not None:
                logs["steady_tokens_per_second"] = round(steady, 2)
            super().log(logs, start_time)

    class FlushCounts(TrainerCallback):
        """Sum the counts over the ranks before a step is logged or saved, and at the end."""

        def __init__(self, trainer):
            self.trainer = trainer

        def on_step_end(self, args, state, control, **kwargs):
            if (
                control.should_log
                or control.should_save
                or control.should_training_stop
                or (state.max_steps and state.global_step >= state.max_steps)
            ):
                self.trainer.flush_counts()

        def on_epoch_end(self, args, state, control, **kwargs):
            self.trainer.flush_counts()  # an epoch's checkpoint (save_strategy: epoch) follows

    class RestoreCounts(TrainerCallback):
        def __init__(self, trainer):
            self.trainer = trainer

        def on_train_begin(self, args, state, control, **kwargs):
            for key in ("target_tokens_seen", "padded_tokens_seen"):
                seen = [entry[key] for entry in state.log_history if key in entry]
                setattr(self.trainer, key, seen[-1] if seen else 0)

    return CountingTrainer, RestoreCounts, FlushCounts


# -- the model ---------------------------------------------------------------------------------


def wrap_lora(model, plan, training):
    """peft LoRA adapters on exactly the plan's modules (rank and alpha from the recipe)."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=training.lora_rank,
        lora_alpha=training.lora_alpha or 2 * training.lora_rank,
        lora_dropout=training.lora_dropout,
        target_modules=list(plan.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    with warnings.catch_warnings():
        # peft reads transformers' deprecated `is_gradient_checkpointing` alias; a FutureWarning
        # about the two libraries, not about anything the user can change
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        wrapped = get_peft_model(model, config)
    trainable = sum(p.numel() for p in wrapped.parameters() if p.requires_grad)
    if trainable != plan.trainable:
        raise RuntimeError(f"LoRA adapters have {trainable} parameters, the plan says {plan.trainable}")
    return wrapped


def prepare_model(model, plan, training):
    """Freeze to the plan (selective/full) or add adapters (lora); gradient checkpointing."""
    from harness.training.plan import apply_plan

    if plan.mode == "lora":
        model = wrap_lora(model, plan, training)
        trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    else:
        trainable = apply_plan(model, plan)
    if training.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if plan.mode != "full":
            model.enable_input_require_grads()
    return model, trainable


def trainable_in_fp32(model) -> None:
    """Hold the trainable parameters in fp32 (their updates and accumulated gradients too)."""
    import torch

    for param in model.parameters():
        if param.requires_grad and param.dtype != torch.float32:
            param.data = param.data.float()


# -- training ----------------------------------------------------------------------------------


def train_layers(recipe, run) -> list[int] | None:
    """The layers this run trains: from the select stage (None for full fine-tuning)."""
    if recipe.training.mode == "full":
        return None
    run.require("select")
    return run.selection().chosen_layers(run.stage_dir("select"))


def train_in_process(recipe, run, out: Path) -> dict[str, Any] | None:
    """Train in this process (one rank); rank 0 writes the outputs and returns train.json's data.

    Returns with the model, its optimizer state and the Trainer gone (their reference cycles
    collected, the CUDA cache emptied): the next stage of the pipeline, a vLLM engine or an
    evaluation worker, gets the GPU memory back.
    """
    from harness.models import release_memory

    try:
        return _train(recipe, run, out)
    finally:
        release_memory()


def bind_device(local_rank: int, cuda: bool) -> str:
    """This rank's device, made current before anything touches CUDA (a model loaded first would
    open a context on GPU 0 from every rank)."""
    if not cuda:
        return "cpu"
    import torch

    torch.cuda.set_device(local_rank)
    return f"cuda:{local_rank}"


def _train(recipe, run, out: Path) -> dict[str, Any] | None:
    import torch
    from transformers import TrainingArguments

    from harness.models import load_model, load_tokenizer
    from harness.models.delta import ADAPTER_DIR, MERGED_DIR, export_merged, save_delta
    from harness.training.checkpoints import checkpointing_trainer, last_complete_checkpoint
    from harness.training.data import PadCollator
    from harness.training.examples import build_training_data
    from harness.training.plan import build_plan

    started = time.time()
    training = recipe.training
    out = Path(out)
    rank, local_rank, world = distributed_env()
    cuda = torch.cuda.is_available()
    device = bind_device(local_rank, cuda)
    precision = resolve_precision(training, cuda)
    accumulation = gradient_accumulation(training, world)
    deepspeed_file = out / DEEPSPEED_FILE if training.deepspeed else None
    if deepspeed_file is not None and not deepspeed_file.exists():
        raise HarnessError(f"{deepspeed_file}: missing; the train stage writes it before launching")

    layers = train_layers(recipe, run)
    sublayers = recipe.selection.sublayers if recipe.selection is not None else "up_down"
    tokenizer = load_tokenizer(recipe.model, padding_side="right")
    data = build_training_data(training.data, list(recipe.languages), tokenizer, training.max_length, recipe.seed)

    # bf16: the weights are held in bf16. DeepSpeed keeps fp32 master copies of the trainable ones
    # in its optimizer; without it the trainable ones are held in fp32 themselves (autocast computes
    # in bf16), which costs what DeepSpeed's copies cost without its per-micro-batch overhead.
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    model = load_model(recipe.model, dtype=dtype, device=device)
    plan = build_plan(model.config, layers, sublayers, training.mode, training.lora_rank, model=model)
    model, trainable_names = prepare_model(model, plan, training)
    start_weights = weights_to_revert(model, plan, training)
    if precision == "bf16" and not training.deepspeed:
        trainable_in_fp32(model)
    model.config.use_cache = False

    checkpoints = out / CHECKPOINTS
    if "tensorboard" in training.report_to or "all" in training.report_to:
        # the default (checkpoints/runs/) is deleted with the checkpoints after training
        os.environ.setdefault("TENSORBOARD_LOGGING_DIR", str(out / "tensorboard"))
    if "wandb" in training.report_to or "all" in training.report_to:
        from harness.tracker_runs import wandb_environment

        # the evaluate stage logs its results into this same W&B run (harness/evaluation/tracking.py)
        for key, value in wandb_environment(Path(out).resolve().parent, recipe.name).items():
            os.environ.setdefault(key, value)
    args = TrainingArguments(
        output_dir=str(checkpoints),
        per_device_train_batch_size=training.per_device_batch_size,
        gradient_accumulation_steps=accumulation,
        num_train_epochs=training.epochs,
        max_steps=training.max_steps or -1,
        learning_rate=training.learning_rate,
        lr_scheduler_type=training.lr_scheduler,
        warmup_steps=training.warmup_ratio,
        weight_decay=training.weight_decay,
        max_grad_norm=training.max_grad_norm,
        optim="adamw_torch_fused" if cuda else "adamw_torch",
        bf16=precision == "bf16",
        logging_steps=training.logging_steps,
        logging_first_step=True,
        save_strategy="steps" if training.save_steps else "epoch",
        save_steps=training.save_steps or 500,
        save_total_limit=2,
        seed=recipe.seed,
        data_seed=recipe.seed,
        use_cpu=not cuda,
        dataloader_pin_memory=cuda,
        remove_unused_columns=False,
        logging_nan_inf_filter=False,  # its isnan/isinf check waits for the GPU at every micro-batch
        report_to=list(training.report_to),
        deepspeed=str(deepspeed_file) if deepspeed_file else None,
        disable_tqdm=True,  # one line per step instead (harness/training/progress.py)
    )
    trainer_class, restore_counts, flush_counts = _counting_trainer_class()
    trainer_class = checkpointing_trainer(trainer_class)
    if training.group_by_length:
        from harness.training.batching import length_grouped_trainer

        trainer_class = length_grouped_trainer(trainer_class)
    from harness.training.ranks import SeenExamples, rank_record

    dataset = SeenExamples(data.examples)  # which examples this rank draws (a list is a map-style dataset)
    trainer = trainer_class(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=PadCollator(tokenizer.pad_token_id, count_tokens=True),
        processing_class=tokenizer,
    )
    trainer.add_callback(restore_counts(trainer))
    from harness.training.speed import flops_per_token, step_timer_callback

    trainer.add_callback(step_timer_callback(trainer))
    trainer.add_callback(flush_counts(trainer))
    trainer.add_callback(dataset.callback())
    from harness.training.progress import use_step_lines

    use_step_lines(trainer)
    resume = last_complete_checkpoint(checkpoints, clean=rank == 0)

    with PeakMemory() as memory:
        result = trainer.train(resume_from_checkpoint=resume)
    trainer.flush_counts()
    peaks = _gather_peaks(trainer, memory)
    ranks = rank_record(dataset, trainer.state.global_step, trainer.state.epoch)
    # ZeRO-3 holds each rank's shard of every weight: gather the whole 16-bit tensors (a collective
    # call, every rank takes part; rank 0 receives them) before rank 0 saves them.
    gathered = trainer.accelerator.get_state_dict(trainer.deepspeed) if _zero3(training) else None
    if rank != 0:
        return None

    # -- outputs (rank 0) ----------------------------------------------------------------------
    unwrapped = trainer.model
    if plan.mode == "lora":
        unwrapped.save_pretrained(out / ADAPTER_DIR)
        unwrapped = unwrapped.merge_and_unload()
    kept_names, revert = list(plan.names), None
    if start_weights is not None:
        revert = revert_updates(unwrapped, gathered, start_weights, plan, training)
        kept_names = [name for name in plan.names if name not in start_weights]
    base_info = {
        "base_model": {"source": recipe.model.source, "revision": recipe.model.revision},
        "mode": plan.mode,
        "layers": plan.layers,
        "sublayers": plan.sublayers,
    }
    outputs: dict[str, Any] = {}
    if training.save in ("delta", "both"):
        record = save_delta(unwrapped, kept_names, out, base_info, state=gathered)
        outputs["delta"] = {
            "file": record.file,
            "parameters": record.parameters,
            "bytes": record.bytes,
            "dtype": record.dtype,
        }
    if training.save in ("merged", "both"):
        export_dtype = torch.bfloat16 if precision == "bf16" else None  # not the fp32 master weights
        merged = export_merged(unwrapped, tokenizer, out / MERGED_DIR, export_dtype, state_dict=gathered)
        outputs["merged"] = str(merged.name)

    state = trainer.state
    flops = flops_per_token(trainer.model, plan)
    wall = time.time() - started
    runtime = result.metrics.get("train_runtime", wall)
    session_tokens = state.num_input_tokens_seen - getattr(trainer, "_initial_num_input_tokens_seen", 0)
    report = {
        "mode": plan.mode,
        "plan": {
            "layers": plan.layers,
            "sublayers": plan.sublayers,
            "trainable": plan.trainable,
            "total": plan.total,
            "share": plan.share,
            "lora_rank": plan.lora_rank,
            "names": plan.names,
            "counts": plan.counts,
        },
        "trainable_names": trainable_names,
        "revert": revert,
        "hyperparameters": {
            "epochs": training.epochs,
            "max_steps": training.max_steps,
            "global_batch_size": training.global_batch_size,
            "per_device_batch_size": training.per_device_batch_size,
            "gradient_accumulation_steps": accumulation,
            "world_size": world,
            "learning_rate": training.learning_rate,
            "lr_scheduler": training.lr_scheduler,
            "warmup_ratio": training.warmup_ratio,
            "weight_decay": training.weight_decay,
            "max_length": training.max_length,
            "precision": precision,
            "seed": recipe.seed,
            "group_by_length": training.group_by_length,
            "deepspeed": training.deepspeed,
            "zero_stage": training.zero_stage if training.deepspeed else None,
            "offload_optimizer": training.offload_optimizer,
            "offload_parameters": training.offload_parameters,
            "launcher": training.launcher,
            "device": "cuda" if cuda else "cpu",
            "optimizer": args.optim.value if hasattr(args.optim, "value") else str(args.optim),
            "report_to": list(training.report_to),
        },
        "data": data.report,
        "open_choices": _open_choices(recipe),
        "steps": state.global_step,
        "epochs_done": state.epoch,
        "loss_curve": [
            {
                "step": e["step"],
                "loss": e["loss"],
                "learning_rate": e.get("learning_rate"),
                "grad_norm": e.get("grad_norm"),
                "epoch": e.get("epoch"),
            }
            for e in state.log_history
            if "loss" in e
        ],
        "train_loss": result.training_loss,
        "tokens_seen": {
            "non_pad": int(state.num_input_tokens_seen),
            "target": int(getattr(trainer, "target_tokens_seen", 0)),
            "padded": int(getattr(trainer, "padded_tokens_seen", 0)),
        },
        "resumed_from": Path(resume).name if resume else None,
        "wall_time_s": round(wall, 3),
        "train_runtime_s": round(runtime, 3),
        "throughput_tokens_per_s": round(session_tokens / runtime, 2) if runtime else None,
        **steady_speed(trainer, flops, cuda),
        "peak_memory": peaks,
        "ranks": ranks,
        "gpu_hours": round(runtime * world / 3600, 6) if cuda else 0.0,
        "outputs": outputs,
    }
    if not training.keep_checkpoints:
        shutil.rmtree(checkpoints, ignore_errors=True)
    write_artifact(out / TRAIN_FILE, TrainRecord.model_validate(report))
    return report


def layer_of(name: str) -> int | None:
    import re

    found = re.search(r"\.layers\.(\d+)\.", name)
    return int(found.group(1)) if found else None


def weights_to_revert(model, plan, training) -> dict[str, Any] | None:
    """For ``training.revert_except``: a CPU copy of the starting weights of every planned tensor
    outside the kept layers (embeddings, norms and the head included), taken before training."""
    if training.revert_except is None:
        return None
    from harness.selection.policies import select_layers

    keep = set(select_layers(training.revert_except, plan.num_layers))
    params = dict(model.named_parameters())
    # peft's names (LoRA): a prefix, and the adapted weight under `base_layer`
    lookup = {name.removeprefix("base_model.model.").replace(".base_layer.", "."): p for name, p in params.items()}
    return {
        name: lookup[name].detach().to("cpu", copy=True)
        for name in plan.names
        if layer_of(name) not in keep and name in lookup
    }


def revert_updates(model, gathered: dict | None, start: dict[str, Any], plan, training) -> dict[str, Any]:
    """Put the tensors of ``start`` back (in the model, or in ZeRO-3's gathered state dict)."""
    import torch

    from harness.selection.policies import select_layers

    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, weights in start.items():
            if gathered is not None:
                gathered[name] = weights.to(gathered[name].dtype)
            else:
                params[name].copy_(weights.to(device=params[name].device, dtype=params[name].dtype))
    return {
        "policy": training.revert_except.model_dump(mode="json"),
        "kept_layers": select_layers(training.revert_except, plan.num_layers),
        "reverted_tensors": len(start),
        "reverted_parameters": sum(t.numel() for t in start.values()),
        "kept_tensors": len(plan.names) - len(start),
    }


def steady_speed(trainer, flops: dict[str, Any], cuda: bool) -> dict[str, Any]:
    """train.json's steady-state figures (:mod:`harness.training.speed`): tokens/s from the second
    step on, checkpoint saves apart, and the share of the bf16 peak of every GPU of the run."""
    import torch

    from harness.training.speed import peak_tflops

    steady = trainer.steady_tokens_per_second()
    world = trainer.args.world_size
    device = torch.cuda.get_device_name() if cuda else "cpu"
    peak = peak_tflops(device) if cuda else None
    achieved = steady * flops["flops_per_token"] if steady else None
    return {
        "steady_tokens_per_second": round(steady, 2) if steady else None,
        "steady": {
            "steps": trainer.steady.get("steps", 0),
            "seconds": round(trainer.steady.get("seconds", 0.0), 6),  # tokens / seconds gives the speed above
            "tokens": trainer.steady.get("tokens", 0),
            "checkpoint_save_s": round(trainer.steady.get("checkpoint_save_s", 0.0), 3),
            "scope": "optimizer steps from the second of this session on, synchronized, checkpoint saves apart",
        },
        "flops": flops,
        "device_name": device,
        "peak_bf16_tflops_per_gpu": peak,
        "share_of_bf16_peak": round(achieved / (peak * 1e12 * world), 4) if achieved and peak else None,
    }


def _zero3(training) -> bool:
    return bool(training.deepspeed and training.zero_stage == 3)


def _open_choices(recipe) -> list[dict[str, Any]]:
    from harness.open_choices import open_choices

    return open_choices(recipe, "training")


def _gather_peaks(trainer, memory: PeakMemory) -> dict[str, Any]:
    """Peak memory: the largest over ranks (CPU RSS; CUDA max allocated on GPUs)."""
    import torch

    values = torch.tensor([memory.peak_rss, memory.cuda_peak or 0], dtype=torch.float64, device=trainer.args.device)
    if trainer.args.world_size > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.all_reduce(values, op=dist.ReduceOp.MAX)
    rss, cuda_peak = (int(v) for v in values.tolist())
    return {
        "cpu_rss_bytes": rss,
        "cuda_max_allocated_bytes": cuda_peak if memory.cuda_peak is not None else None,
        "scope": "the training loop (max over ranks)",
    }
