"""Evaluation on every GPU: one worker process per GPU (hf) or per vLLM engine, each with its own
copy of the model, each answering a share of the questions.

:class:`ShardedLM` is an lm-eval ``LM``: the runner hands it a language's requests as it would to
one model; it deals them out (every n-th request to each worker, so long and short prompts
spread evenly), lets each worker answer its share with the recipe's backend on its own devices
(``CUDA_VISIBLE_DEVICES`` set before the worker touches CUDA), and puts the answers back in the
order of the requests. The answers come back in the order of the requests whatever the number
of workers. They equal one process's answers exactly at batch size 1, and on a CPU in float32;
on a GPU in bf16 with batches of several prompts a worker's batches hold other prompts than one
process's would (other shapes, other kernels), so a greedy choice between near-tied tokens can
flip and an answer differ: the scores agree within that noise, not to the last question.

Workers are not daemonic: vLLM's engine starts a process of its own, which Python refuses in a
daemonic process. They end when the LM is closed or collected, when the pipeline exits, and (by
``PR_SET_PDEATHSIG``) when the pipeline's process dies.

The chat template is the worker's: lm-eval asks the LM for ``tokenizer_name``, ``chat_template``
and ``apply_chat_template``, and the first worker answers with its own backend's LM.

The workers live as long as the model: closing the LM (the runner deletes it before the next
model) ends them, and their GPU memory goes back with their process. So the pipeline process
never holds a vLLM engine, and the base and trained models never share a process.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import traceback
import weakref
from pathlib import Path
from typing import Any

from lm_eval.api.model import LM

from harness.errors import HarnessError
from harness.evaluation.backends import EvaluationJob, model_source, trained_folder


def device_groups(evaluation, device_count: int, visible: str | None = None) -> list[str | None]:
    """``CUDA_VISIBLE_DEVICES`` of each worker: one GPU per hf worker, ``tensor_parallel_size``
    per vLLM engine; as many workers as the GPUs allow unless ``data_parallel_size`` says.

    On a CPU (``device_count`` 0) the workers get no GPU (None) and default to one.
    """
    per_worker = evaluation.tensor_parallel_size if evaluation.backend == "vllm" else 1
    if device_count == 0:
        return [None] * (evaluation.data_parallel_size or 1)
    ids = (
        [part.strip() for part in visible.split(",") if part.strip()]
        if visible
        else [str(i) for i in range(device_count)]
    )
    ids = ids[:device_count]
    workers = evaluation.data_parallel_size or max(1, len(ids) // per_worker)
    if workers * per_worker > len(ids):
        raise HarnessError(
            f"evaluation.data_parallel_size {workers} x {per_worker} GPU(s) per model copy needs "
            f"{workers * per_worker} GPUs; {len(ids)} visible: lower data_parallel_size"
            + (" or tensor_parallel_size" if per_worker > 1 else "")
        )
    return [",".join(ids[w * per_worker : (w + 1) * per_worker]) for w in range(workers)]


def needs_workers(evaluation, groups: list[str | None]) -> bool:
    """Several model copies, or vLLM (whose engine is kept out of the pipeline's process)."""
    return len(groups) > 1 or evaluation.backend == "vllm"


LM_FACTORY = "harness.evaluation.backends:lm_factory"
"""``module:function`` that builds a worker's LM: ``(job, train_dir, device, export_dir) -> make_lm``."""


def sharded_factory(job: EvaluationJob, train_dir: Path | None, groups: list[str | None], export_dir: Path):
    """model name -> (ShardedLM, source): one worker process per device group."""

    def make_sharded(name: str):
        if job.evaluation.backend == "vllm" and name == "trained":
            trained_folder(job.model, train_dir, export_dir)  # once, before the workers read it
        return ShardedLM(job, name, train_dir, groups, export_dir), model_source(job, name, train_dir)

    return make_sharded


class ShardedLM(LM):
    """An lm-eval LM whose requests are answered by worker processes, one model copy each."""

    def __init__(
        self,
        job: EvaluationJob,
        model: str,
        train_dir: Path | None,
        groups: list[str | None],
        export_dir: Path,
        factory: str = LM_FACTORY,
    ):
        super().__init__()
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: CUDA not yet initialised
        self._workers = []
        self._tokenizer_name: str | None = None
        job_data = job.model_dump(mode="json")
        for group in groups:
            parent, child = context.Pipe()
            process = context.Process(
                target=_worker,
                daemon=False,  # vLLM's engine starts a child process: not allowed in a daemonic one
                args=(
                    job_data,
                    model,
                    str(train_dir) if train_dir else None,
                    str(export_dir),
                    group,
                    child,
                    len(groups),
                    factory,
                ),
            )
            process.start()
            child.close()
            self._workers.append((process, parent))
        self._finalizer = weakref.finalize(self, _stop, self._workers)
        for process, connection in self._workers:  # a loading error surfaces here, once
            _receive(process, connection)

    @property
    def world(self) -> int:
        return len(self._workers)

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        n = len(self._workers)
        shares = [[request.args for request in requests[w::n]] for w in range(n)]
        for (_, connection), share in zip(self._workers, shares):
            connection.send(("generate", share))
        answers: list[str] = [""] * len(requests)
        for w, (process, connection) in enumerate(self._workers):
            answers[w::n] = _receive(process, connection)
        return answers

    def _ask_first_worker(self, name: str, *args, **kwargs) -> Any:
        process, connection = self._workers[0]
        connection.send(("call", name, args, kwargs))
        return _receive(process, connection)

    @property
    def tokenizer_name(self) -> str:
        if self._tokenizer_name is None:
            self._tokenizer_name = self._ask_first_worker("tokenizer_name")
        return self._tokenizer_name

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        return self._ask_first_worker("chat_template", chat_template)

    def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        return self._ask_first_worker("apply_chat_template", chat_history, add_generation_prompt=add_generation_prompt)

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError("the harness's tasks generate; loglikelihood is not sharded")

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError("the harness's tasks generate; loglikelihood is not sharded")

    def close(self) -> None:
        """End the workers (their GPU memory goes back with them)."""
        self._finalizer()


def _receive(process, connection) -> Any:
    try:
        kind, payload = connection.recv()
    except EOFError:
        process.join(timeout=5)
        raise RuntimeError(
            f"evaluation worker {process.pid} died (exit code {process.exitcode}); its output is above"
        ) from None
    if kind == "harness_error":
        raise HarnessError(payload)
    if kind == "error":
        raise RuntimeError(f"evaluation worker {process.pid} failed:\n{payload}")
    return payload


def _stop(workers) -> None:
    for _process, connection in workers:
        with contextlib.suppress(BrokenPipeError, OSError):
            connection.send(None)
    for process, connection in workers:
        process.join(timeout=60)
        if process.is_alive():
            process.terminate()
            process.join()
        connection.close()


def _worker(
    job_data: dict,
    model: str,
    train_dir: str | None,
    export_dir: str,
    group: str | None,
    connection,
    workers: int = 1,
    factory: str = LM_FACTORY,
) -> None:
    """One model copy: load it on this worker's devices, answer shares until told to stop."""
    if group is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = group
    from harness.runs import die_with_parent

    die_with_parent()  # not daemonic: never outlive the pipeline
    try:
        import importlib

        import torch

        if group is None:  # CPU workers share the cores instead of each taking all of them
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))
        from lm_eval.api.instance import Instance

        module, _, function = factory.partition(":")
        lm_factory = getattr(importlib.import_module(module), function)
        job = EvaluationJob.model_validate(job_data)
        device = "cuda" if torch.cuda.is_available() else "cpu"
        make_lm = lm_factory(job, Path(train_dir) if train_dir else None, device, Path(export_dir))
        lm, _ = make_lm(model)
    except HarnessError as error:
        connection.send(("harness_error", str(error)))
        return
    except BaseException:
        connection.send(("error", traceback.format_exc()))
        return
    connection.send(("ready", None))
    while True:
        try:
            message = connection.recv()
        except EOFError:  # the parent is gone
            return
        if message is None:
            return
        try:
            if message[0] == "call":  # the chat template of this worker's LM
                _, name, args, kwargs = message
                attribute = getattr(lm, name)
                connection.send(("answer", attribute(*args, **kwargs) if callable(attribute) else attribute))
                continue
            requests = [Instance("generate_until", {}, tuple(args), i) for i, args in enumerate(message[1])]
            connection.send(("answers", list(lm.generate_until(requests, disable_tqdm=True)) if requests else []))
        except BaseException:
            connection.send(("error", traceback.format_exc()))
