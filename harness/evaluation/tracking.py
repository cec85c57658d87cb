"""A run's evaluation in the experiment trackers its recipe names (``training.report_to``), next
to the training curves of the same run.

- **TensorBoard**: the evaluate stage writes ``eval/tensorboard/<base|trained>/``: one scalar per
  task and language (``eval/<task>/<lang>``) and the paper's average (``eval/<task>/avg``), at the
  model's training step (the trained model at the last step, the base model at 0), and the first
  questions of each task with their responses as a text table. ``tensorboard --logdir RUN`` shows
  them beside the training curves in ``train/tensorboard/``.
- **W&B**: through lm-eval's own ``WandbLogger`` (results table, per-task sample tables), from
  the lm-eval files the stage wrote. The trained model's results go into the training's W&B run
  (the same run id, ``tracker_run_id``, resumed); the base model gets a run of its own in the
  same group. ``WANDB_MODE=offline`` keeps the run on disk under ``RUN/wandb/``.

Both are optional installs (``pip install harness[tensorboard]``, ``harness[wandb]``).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from harness.artifacts import SAMPLES_FILE
from harness.errors import HarnessError
from harness.tracker_runs import wandb_environment

TENSORBOARD_DIR = "tensorboard"
SAMPLES_SHOWN = 20
"""Questions per task shown in TensorBoard's text table (all of them are in samples.jsonl)."""
PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb"}


def trackers(recipe) -> list[str]:
    """The trackers the evaluation logs to: ``evaluation.report_to``, else ``training.report_to``."""
    evaluation = recipe.evaluation
    if evaluation is not None and evaluation.report_to is not None:
        names = list(evaluation.report_to)
    else:
        names = list(recipe.training.report_to) if recipe.training is not None else []
    if "all" in names:
        names = [name for name in PACKAGES if importlib.util.find_spec(PACKAGES[name]) is not None]
    return [name for name in names if name in PACKAGES]


def check_installed(recipe) -> None:
    """Fail before anything runs when a named tracker's package is missing."""
    for name in trackers(recipe):
        if importlib.util.find_spec(PACKAGES[name]) is None:
            raise HarnessError(
                f"training.report_to: {name} is not installed; `pip install 'harness[{name}]'` "
                f"or remove it from report_to"
            )


def log_evaluation(recipe, run_root: Path, out: Path, scores: dict, train_steps: int | None) -> list[str]:
    """Send the evaluation to every tracker the recipe names; returns what was written, for the log."""
    written = []
    names = trackers(recipe)
    if "tensorboard" in names:
        log_tensorboard(out, scores, train_steps)
        written.append(f"TensorBoard ({Path(out).name.removesuffix('.partial')}/{TENSORBOARD_DIR}/)")
    if "wandb" in names:
        written += log_wandb(recipe, run_root, out, scores)
    return written


def _samples(out: Path, task: str, model: str) -> list[dict]:
    path = out / task / SAMPLES_FILE
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if row.get("model") == model]


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")[:300]


def log_tensorboard(out: Path, scores: dict, train_steps: int | None) -> Path:
    """Scalars and sample tables per model under ``out/tensorboard/<model>/``."""
    from torch.utils.tensorboard import SummaryWriter

    extraction = scores.get("extraction") or "paper"
    root = Path(out) / TENSORBOARD_DIR
    for model, entry in scores["models"].items():
        step = (train_steps or 0) if model == "trained" else 0
        writer = SummaryWriter(log_dir=str(root / model))
        try:
            for task, data in (entry.get("tasks") or {}).items():
                for lang, row in (data.get("languages") or {}).items():
                    writer.add_scalar(f"eval/{task}/{lang}", row["accuracy"], step)
                average = data.get("average") or {}
                if average.get("accuracy") is not None:
                    writer.add_scalar(f"eval/{task}/avg", average["accuracy"], step)
                if data.get("pcr_average") is not None:
                    writer.add_scalar(f"eval/{task}/pcr_avg", data["pcr_average"], step)
                rows = _samples(out, task, model)[:SAMPLES_SHOWN]
                table = ["| lang | question | target | response | extracted | correct |", "|---|---|---|---|---|---|"]
                table += [
                    f"| {r['lang']} | {_cell(r['question'])} | {_cell(r['target'])} | {_cell(r['response'])} | "
                    f"{_cell(r['extracted'][extraction])} | {r['correct'][extraction]} |"
                    for r in rows
                ]
                writer.add_text(f"samples/{task}", "\n".join(table), step)
        finally:
            writer.close()
    return root


def _as_in_memory(sample: dict) -> dict:
    """A sample as lm-eval holds it in memory (what its WandbLogger reads): the samples file stores
    each request's arguments as ``{"gen_args_0": {"arg_0": prompt, "arg_1": kwargs}}``."""
    arguments = sample.get("arguments")
    if isinstance(arguments, dict):
        sample = {**sample, "arguments": [list(request.values()) for request in arguments.values()]}
    return sample


def log_wandb(recipe, run_root: Path, out: Path, scores: dict) -> list[str]:
    """lm-eval's WandbLogger on each model's lm-eval results and samples files."""
    import wandb
    from lm_eval.loggers import WandbLogger

    from harness.artifacts import LM_EVAL_DIR, latest_results

    environment = wandb_environment(run_root, recipe.name)
    written = []
    # the trained model first: it attaches to the training's run when that is still open here
    for model in sorted(scores["models"], key=lambda name: name != "trained"):
        results_file = latest_results(out, model)
        if results_file is None:
            continue
        results = json.loads(results_file.read_text(encoding="utf-8"))
        samples = {}
        for name in results.get("configs") or {}:
            files = sorted((Path(out) / LM_EVAL_DIR / model).glob(f"samples_{name}_*.jsonl"))
            if files:
                lines = files[-1].read_text(encoding="utf-8").splitlines()
                samples[name] = [_as_in_memory(json.loads(line)) for line in lines if line.strip()]
        run_id = environment["WANDB_RUN_ID"] + ("" if model == "trained" else f"-{model}")
        if wandb.run is not None and wandb.run.id != run_id:  # lm-eval's logger would attach to it
            wandb.run.finish()
        logger = WandbLogger(
            init_args={
                "project": environment["WANDB_PROJECT"],
                "id": run_id,
                "resume": "allow",
                "group": environment["WANDB_RUN_GROUP"],
                "name": f"{recipe.name} ({model})" if model != "trained" else recipe.name,
                "dir": environment["WANDB_DIR"],
                "job_type": "eval" if model != "trained" else "train",
            },
            config_args={"harness_model": model, "harness_scores": scores["models"][model]},
        )
        try:
            logger.post_init(results)
            logger.log_eval_result()
            if samples:
                logger.log_eval_samples(samples)
            written.append(f"W&B run {run_id} ({wandb.run.dir if wandb.run else environment['WANDB_DIR']})")
        finally:
            logger.run.finish()
    return written
