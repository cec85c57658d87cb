"""The training prompt variants (``training.data.prompt``): three readings of SLAM's Table 7, and
QAlign's question-alignment prompt.

- ``table7``: Table 7 as printed, language names in brackets (the default: the paper as printed);
- ``alma``: the prompt of ALMA (Xu et al., 2024), which the paper says it adopts: no brackets;
- ``llama_factory``: Table 7 wrapped in LLaMA-Factory's ``default`` template (``Human: ...\\nAssistant:``),
  what the authors' LLaMA-Factory fork trains on (no system text; newer LLaMA-Factory versions
  drop the space after ``Assistant:``, which the English side's leading space restores);
- ``qalign``: QAlign's stage 1 (its ``gsmtrans.py`` instruction in its ``finetune.py`` Alpaca prompt
  without input): "Translate the following sentences from {X} to English." and the sentence.

Each prompt ends where the English side begins; the English side follows after one space and
is the only part the loss counts.
"""

from __future__ import annotations

TABLE7 = "Translate this from [{source_lang}] to [English]:\n[{source_lang}]: {source}\n[English]:"
PROMPTS = {
    "table7": TABLE7,
    "alma": "Translate this from {source_lang} to English:\n{source_lang}: {source}\nEnglish:",
    "llama_factory": "Human: " + TABLE7 + "\nAssistant:",
    "qalign": (
        "Below is an instruction that describes a task. Write a response that appropriately completes the request."
        "\n\n### Instruction:\nTranslate the following sentences from {source_lang} to English. {source}"
        "\n\n### Response:"
    ),
}
