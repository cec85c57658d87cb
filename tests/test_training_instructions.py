"""Instruction data as a training source: MetaMathQA's and MathOctopus's formats, field names from
the recipe, the prompt template, the loss mask, the token cache and the filter counts."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from harness.errors import HarnessError
from harness.training.config import TrainingConfig
from harness.training.examples import build_training_data
from harness.training.instructions import InstructionDataConfig, build_instruction_data, format_example


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


METAMATH_ROWS = [  # MetaMathQA-395K.json's fields (a JSON array in the original)
    {
        "query": "Anna has 12 apples and eats 2. How many are left?",
        "response": "12 - 2 = 10\nThe answer is: 10",
        "type": "GSM_Rephrased",
        "original_question": "Anna has 12 apples.",
    },
    {
        "query": "Pedro has 9 apples and buys 3. How many now?",
        "response": "9 + 3 = 12\nThe answer is: 12",
        "type": "GSM_AnsAug",
        "original_question": "Pedro has 9 apples.",
    },
    {
        "query": "Pedro has 9 apples and buys 3. How many now?",
        "response": "9 + 3 = 12\nThe answer is: 12",
        "type": "GSM_AnsAug",
        "original_question": "Pedro has 9 apples.",
    },
    {"query": "   ", "response": "nothing", "type": "GSM_AnsAug", "original_question": ""},
]


def mathoctopus_prompt(language, question):  # MathOctopus's hub rows carry the whole prompt
    return (
        "Below is an instruction that describes a task. Write a response that appropriately completes the request "
        f"in {language}. Please answer in {language}.\n\n### Instruction:\n{question}\n\n### Response:"
    )


def test_training_data_is_translation_pairs_unless_kind_says_instructions():
    assert TrainingConfig().data.kind == "translation"
    assert "kind" not in TrainingConfig().model_dump()["data"]  # old fingerprints stay the same
    data = TrainingConfig(data={"kind": "instructions", "source": "rows.jsonl"}).data
    assert isinstance(data, InstructionDataConfig) and data.query_field == "query"
    with pytest.raises(ValidationError, match="give a template with"):
        InstructionDataConfig(kind="instructions", source="x", prompt="no placeholder")
    with pytest.raises(ValidationError, match="unknown placeholder"):
        InstructionDataConfig(kind="instructions", source="x", prompt="{query} {answer}")


def test_metamath_rows_train_on_the_response_in_alpacas_prompt(tmp_path, tiny_tokenizer):
    source = tmp_path / "MetaMathQA-395K.json"
    source.write_text(json.dumps(METAMATH_ROWS), encoding="utf-8")  # a JSON array, as published
    data = InstructionDataConfig(kind="instructions", source=str(source))
    built = build_training_data(data, ["en", "de"], tiny_tokenizer, 256, seed=1)
    report = built.report
    assert report["rows_loaded"] == {"en": 4}
    assert report["filtered"] == {"en": {"duplicate": 1, "empty": 1}}
    assert report["examples"] == {"en": 2} and built.langs == ["en", "en"]
    assert report["tokenized"]["cache"] == "miss"
    prompt, completion = format_example(METAMATH_ROWS[0]["query"], METAMATH_ROWS[0]["response"], "en", data)
    assert prompt.endswith("### Instruction:\n" + METAMATH_ROWS[0]["query"] + "\n\n### Response:")
    assert completion == " " + METAMATH_ROWS[0]["response"]
    example = built.examples[0]
    trained = [t for t, label in zip(example["input_ids"], example["labels"]) if label != -100]
    assert tiny_tokenizer.decode(trained[:-1]) == completion  # the whole response, first token included
    assert trained[-1] == tiny_tokenizer.eos_token_id
    assert tiny_tokenizer.decode(
        [t for t, label in zip(example["input_ids"], example["labels"]) if label == -100]
    ).endswith("### Response:")
    again = build_instruction_data(data, tiny_tokenizer, 256, seed=1)
    assert again.report["tokenized"]["cache"] == "hit" and again.examples == built.examples


def test_mathoctopus_rows_get_their_language_from_the_preamble(tmp_path, tiny_tokenizer):
    rows = [
        {"prompt": mathoctopus_prompt("German", "Anna hat 12 Äpfel."), "chosen": "12 Äpfel.\n#### 12"},
        {"prompt": mathoctopus_prompt("Swahili", "Juma ana machungwa 7."), "chosen": "machungwa 7\n#### 7"},
        {"prompt": mathoctopus_prompt("English", "Anna has 12 apples."), "chosen": "12 apples\n#### 12"},
    ]
    source = write_jsonl(tmp_path / "MGSM8KInstruct_Parallel.json", rows)
    data = InstructionDataConfig(
        kind="instructions", source=str(source), query_field="prompt", response_field="chosen", prompt="as_is"
    )
    built = build_instruction_data(data, tiny_tokenizer, 256, seed=1)
    assert built.report["examples"] == {"de": 1, "sw": 1, "en": 1}
    only = data.model_copy(update={"languages": ["sw"]})
    assert build_instruction_data(only, tiny_tokenizer, 256, seed=1).report["examples"] == {"sw": 1}


def test_language_field_named_template_and_the_cap(tmp_path, tiny_tokenizer):
    rows = [{"instruction": f"Frage {i}?", "output": f"Antwort {i}", "lang": "de"} for i in range(5)]
    rows += [{"instruction": "Question?", "output": "Answer", "lang": "English"}]
    source = write_jsonl(tmp_path / "rows.jsonl", rows)
    data = InstructionDataConfig(
        kind="instructions",
        source=str(source),
        query_field="instruction",
        response_field="output",
        language_field="lang",
        prompt="mathoctopus",
        max_examples=4,
    )
    built = build_instruction_data(data, tiny_tokenizer, 256, seed=3)
    assert built.report["rows_loaded"] == {"de": 5, "en": 1} and built.report["capped"] == 2
    assert built.report["examples_total"] == 4
    assert format_example("Frage?", "Antwort", "de", data)[0].startswith(
        "Below is an instruction that describes a task. Write a response that appropriately completes the request "
        "in German. Please answer in German."
    )


def test_a_long_prompt_is_counted_too_long(tmp_path, tiny_tokenizer):
    rows = [
        {"query": " ".join(f"item{i}" for i in range(300)), "response": "x"},
        {"query": "short?", "response": "yes"},
    ]
    data = InstructionDataConfig(kind="instructions", source=str(write_jsonl(tmp_path / "r.jsonl", rows)))
    built = build_instruction_data(data, tiny_tokenizer, 64, seed=1)
    assert built.report["filtered"]["en"] == {"too_long": 1} and built.report["examples_total"] == 1


def test_bad_instruction_sources_fail_clearly(tmp_path, tiny_tokenizer):
    source = write_jsonl(tmp_path / "rows.jsonl", [{"question": "q", "answer": "a"}])
    data = InstructionDataConfig(kind="instructions", source=str(source))
    with pytest.raises(
        HarnessError,
        match=r"no field 'query', 'response'; it has answer, question; set "
        r"training.data.query_field / response_field",
    ):
        build_instruction_data(data, tiny_tokenizer, 64, seed=1)
    with pytest.raises(HarnessError, match="a folder; instruction data is a JSON/JSONL file"):
        build_instruction_data(data.model_copy(update={"source": str(tmp_path)}), tiny_tokenizer, 64, seed=1)
    unknown = write_jsonl(tmp_path / "u.jsonl", [{"query": "q", "response": "a", "lang": "Klingon"}])
    with pytest.raises(HarnessError, match="name a language the harness does not know"):
        build_instruction_data(
            data.model_copy(update={"source": str(unknown), "language_field": "lang"}), tiny_tokenizer, 64, seed=1
        )


@pytest.fixture(scope="module")
def tiny_tokenizer(tiny_llama):
    return tiny_llama[1]
