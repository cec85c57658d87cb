"""Training progress as one readable line per logged step (a log file stays readable).

Replaces Trainer's own progress output (a tqdm bar and a raw dict per log) with lines such as

    train step 3/14: loss 2.413, lr 8.6e-05, grad norm 1.92, 1,204 tokens, 160 tokens/s steady, 7.9 s

(steady: from the second step on, checkpoint saves apart; :mod:`harness.training.speed`)
"""

from __future__ import annotations

import time

from harness.console import say


def step_lines_callback():
    from transformers import TrainerCallback

    class StepLines(TrainerCallback):
        def __init__(self):
            self.started = time.time()

        def on_train_begin(self, args, state, control, **kwargs):
            self.started = time.time()
            if state.is_world_process_zero and state.global_step:
                say(f"train: resumed at step {state.global_step}/{state.max_steps}")

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs or "loss" not in logs:
                return
            parts = [f"loss {float(logs['loss']):.4f}"]
            if logs.get("learning_rate") is not None:
                parts.append(f"lr {float(logs['learning_rate']):.2e}")
            if logs.get("grad_norm") is not None:
                parts.append(f"grad norm {float(logs['grad_norm']):.3f}")
            if state.num_input_tokens_seen:
                parts.append(f"{int(state.num_input_tokens_seen):,} tokens")
            if logs.get("steady_tokens_per_second") is not None:
                parts.append(f"{float(logs['steady_tokens_per_second']):,.0f} tokens/s steady")
            parts.append(f"{time.time() - self.started:.1f} s")
            say(f"train step {state.global_step}/{state.max_steps}: {', '.join(parts)}")

    return StepLines()


def use_step_lines(trainer) -> None:
    """Swap Trainer's bar / dict printer for :func:`step_lines_callback` (needs ``disable_tqdm=True``)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(step_lines_callback())
