"""lm-eval's HF model with stop strings that cost nothing per step.

lm-eval's ``HFLM`` stops generation with one criterion per stop string (the harness's tasks have
six, plus the end-of-text token), and each criterion decodes the last tokens of every row of the
batch at every generated token: seven batch decodes per step on the host, while the GPU waits.
:class:`HarnessHFLM` hands the same strings to transformers' ``StopStringCriteria`` instead,
which matches them on token ids with tables built once per tokenizer and stop list, on the
device. The answers are the same: generation of a row still ends at the first token that
completes a stop string, and lm-eval still cuts each answer at its first stop string.
(Unlike lm-eval's, the criterion also sees the prompt's last tokens, so a stop string that
began inside the prompt and ended in the first generated token would stop at once; none of the
harness's stop strings can, as they start with a newline or a marker no prompt ends with.)
"""

from __future__ import annotations

from lm_eval.models.huggingface import HFLM


class HarnessHFLM(HFLM):
    """``HFLM`` whose ``_model_generate`` stops on strings through ``StopStringCriteria``."""

    _stop_criteria: dict[tuple[str, ...], object]

    def _stopping_criteria(self, stop: list[str]):
        from transformers import StoppingCriteriaList, StopStringCriteria

        cache = self.__dict__.setdefault("_stop_criteria", {})
        key = tuple(stop)
        if key not in cache:
            cache[key] = StoppingCriteriaList([StopStringCriteria(self.tokenizer, list(key))]) if key else None
        return cache[key]

    def _model_generate(self, context, max_length: int, stop: list[str], **generation_kwargs):
        import torch

        # greedy unless asked otherwise, as HFLM decides (temperature 0 -> do_sample False)
        generation_kwargs["temperature"] = generation_kwargs.get("temperature", 0.0)
        do_sample = generation_kwargs.get("do_sample")
        if (temperature := generation_kwargs.get("temperature")) == 0.0 and do_sample is None:
            generation_kwargs["do_sample"] = do_sample = False
        if do_sample is False and temperature == 0.0:
            generation_kwargs.pop("temperature", None)
        with torch.autocast(
            device_type=self.device.type,
            dtype=self.mixed_precision_dtype,
            enabled=self.mixed_precision_dtype is not None,
        ):
            return self.model.generate(
                input_ids=context,
                max_length=max_length,
                stopping_criteria=self._stopping_criteria(stop),
                pad_token_id=self.tokenizer.pad_token_id,
                use_cache=True,
                **generation_kwargs,
            )
