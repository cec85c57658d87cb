"""Rehearse the paper path on a CPU: `recipes/slam_7b.yaml` and `recipes/slam_xcsqa_7b.yaml`
themselves, through all four stages, with only the model replaced (a tiny random Llama of 8
layers) and the data pointed at small local files written here in the original formats, trained
by the DeepSpeed launcher on two ranks (gloo, ZeRO-2).

Checked: the ranks draw disjoint examples and take the same steps; only the planned tensors
change; the delta is written once; the losses equal those of one rank with the same global batch;
the report sets the run beside the published 7B rows; the probe check and the open choices are
recorded. Kept lean: 3 optimizer steps, one question per language, 4 new tokens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import build_tiny_tokenizer

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent
MATH = ["bn", "th", "sw", "ja", "zh", "de", "fr", "ru", "es", "en"]
NAMES = {
    "bn": "Bengali",
    "th": "Thai",
    "sw": "Swahili",
    "ja": "Japanese",
    "zh": "Chinese",
    "de": "German",
    "fr": "French",
    "ru": "Russian",
    "es": "Spanish",
    "en": "English",
}
PROBLEMS = [
    ("Anna has {a} apples and buys {b} more. How many apples does she have?", lambda a, b: a + b),
    ("Pedro had {a} coins and lost {b}. How many coins are left?", lambda a, b: a - b),
    ("A box holds {a} pens. How many pens are in {b} boxes?", lambda a, b: a * b),
]
STEPS = 3
PLANNED = {f"model.layers.{i}.mlp.{p}_proj.weight" for i in range(6) for p in ("up", "down")}


def problems(lang: str, count: int):
    """(question, answer, solution) in a given 'language' (a marked copy of the English text)."""
    out = []
    for k in range(count):
        template, solve = PROBLEMS[k % len(PROBLEMS)]
        a, b = 7 + k, 2 + k % 5
        mark = "" if lang == "en" else f"[{lang}] "
        question = mark + template.format(a=a, b=b)
        answer = solve(a, b)
        out.append((question, answer, f"{mark}We compute it step by step: the result is {answer}.\n#### {answer}"))
    return out


def write_math_data(root: Path) -> dict[str, Path]:
    """MGSM8KInstruct_Parallel (MathOctopus JSON lines), MGSM TSVs, MSVAMP JSON lines."""
    root.mkdir()
    rows = []
    for lang in MATH:
        for question, _, solution in problems(lang, 8):
            preamble = (
                f"Below is an instruction that describes a task. Write a response that appropriately "
                f"completes the request in {NAMES[lang]}. Please answer in {NAMES[lang]}."
            )
            rows.append({"prompt": f"{preamble}\n\n### Instruction:\n{question}\n\n### Response:", "chosen": solution})
    train = root / "MGSM8KInstruct_Parallel.json"
    train.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    mgsm, msvamp = root / "mgsm", root / "msvamp"
    mgsm.mkdir()
    msvamp.mkdir()
    for lang in MATH:
        items = problems(lang, 2)
        (mgsm / f"mgsm_{lang}.tsv").write_text("".join(f"{q}\t{a}\n" for q, a, _ in items), encoding="utf-8")
        lines = [
            {"m_query": q, "response": f"{float(a)}", **({"query": q} if lang != "en" else {})} for q, a, _ in items
        ]
        (msvamp / f"test_{NAMES[lang]}.json").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    return {"train": train, "mgsm": mgsm, "msvamp": msvamp}


XCSQA = ["ar", "de", "es", "fr", "hi", "it", "ja", "nl", "pl", "pt", "ru", "sw", "ur", "vi", "zh", "en"]


def write_xcsqa_data(root: Path) -> dict[str, Path]:
    """X-CSR's <lang>/dev.jsonl and the recipe's X->English pair file (lang, source, target)."""
    root.mkdir()
    xcsr = root / "xcsr"
    pairs = []
    for lang in XCSQA:
        (xcsr / lang).mkdir(parents=True)
        row = {
            "id": f"q-{lang}-0",
            "question": {
                "stem": f"[{lang}] Where do you keep milk?",
                "choices": [
                    {"label": label, "text": text}
                    for label, text in zip("ABCDE", ["fridge", "oven", "car", "tree", "bed"])
                ],
            },
            "answerKey": "A",
        }
        (xcsr / lang / "dev.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
        if lang != "en":
            for k, english in enumerate(
                [
                    "Where do you keep milk?",
                    "The cat sleeps on the bed.",
                    "Rain makes the street wet.",
                    "Birds fly south in winter.",
                ]
                * 2
            ):
                pairs.append({"lang": lang, "source": f"[{lang}] {english} ({k})", "target": f"{english} ({k})"})
    train = root / "xcsqa_flores_x_en.jsonl"
    train.write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
    return {"train": train, "xcsr": xcsr}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A tiny random Llama of 8 layers (the recipes pin up to 6) with the test tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    root = tmp_path_factory.mktemp("rehearsal")
    tokenizer = build_tiny_tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=8,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=len(tokenizer),
        max_position_embeddings=512,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
        tie_word_embeddings=False,
    )
    LlamaForCausalLM(config).save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    return root


def harness(*args, cwd: Path):
    from harness.models.loading import cache_root

    env = {
        **os.environ,
        "TORCH_EXTENSIONS_DIR": os.environ.get("TORCH_EXTENSIONS_DIR") or str(cache_root() / "torch_extensions"),
        "PYTHONPATH": str(REPO),
    }
    started = time.time()
    result = subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result, time.time() - started


def common_overrides(model: Path, steps: int = STEPS) -> list[str]:
    """Only the model, the data and the size of the job change; the recipe's choices stay."""
    return [
        f"model.source={model}",
        "model.dtype=float32",
        "training.num_gpus=2",
        "training.per_device_batch_size=2",
        "training.global_batch_size=8",
        f"training.max_steps={steps}",
        "training.precision=fp32",
        "training.max_length=96",
        "training.learning_rate=1.0e-3",
        "training.save=both",
        "training.save_steps=1000",
        "selection.probe.n=4",
        "selection.probe.max_tokens=32",
        "selection.probe.batch_size=8",
        "evaluation.batch_size=4",
        "evaluation.max_new_tokens=4",
        "report.formats=[markdown]",
        "report.plots=false",
    ]


def losses(train_dir: Path) -> list[float]:
    return [point["loss"] for point in json.loads((train_dir / "train.json").read_text())["loss_curve"]]


def check_training(run: Path, model: Path) -> dict:
    """Two ranks, disjoint draws, same steps, only planned tensors changed, one delta."""
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    train = json.loads((run / "train" / "train.json").read_text())
    assert train["hyperparameters"]["world_size"] == 2 and train["hyperparameters"]["zero_stage"] == 2
    assert train["hyperparameters"]["launcher"] == "deepspeed" and train["steps"] == STEPS
    ranks = train["ranks"]
    assert [r["rank"] for r in ranks["per_rank"]] == [0, 1] and ranks["same_steps"]
    assert ranks["examples_drawn_by_several_ranks"] == 0  # fewer steps than one epoch: sharded
    assert all(r["examples_drawn"] > 0 for r in ranks["per_rank"])
    planned = set(train["plan"]["names"])
    base = AutoModelForCausalLM.from_pretrained(model).state_dict()
    trained = AutoModelForCausalLM.from_pretrained(run / "train" / "merged").state_dict()
    changed = {name for name in base if not (base[name] == trained[name]).all()}
    assert changed == planned
    deltas = sorted(p.relative_to(run) for p in run.rglob("delta*.safetensors"))
    assert deltas == [Path("train/delta.safetensors")]
    delta = load_file(run / "train" / "delta.safetensors")
    assert set(delta) == planned and all((delta[n] == trained[n]).all() for n in planned)
    return train


def test_slam_7b_on_two_ranks_through_all_four_stages(work):
    data = write_math_data(work / "math")
    overrides = [
        *common_overrides(work / "model"),
        f"training.data.source={data['train']}",
        f"evaluation.tasks.0.path={data['mgsm']}",
        "evaluation.tasks.0.limit=1",
        f"evaluation.tasks.1.path={data['msvamp']}",
        "evaluation.tasks.1.limit=1",
    ]
    run = work / "slam_7b"
    segments = set(Path("/dev/shm").glob(f"deepspeed_allreduce_buffer_{os.getuid()}_*"))
    result, seconds = harness(
        "run", str(REPO / "harness" / "recipes" / "slam_7b.yaml"), *overrides, "--run-dir", str(run), cwd=work
    )
    # DeepSpeed's CPU all-reduce buffers (~69 MB of RAM per rank) do not outlive the run
    assert set(Path("/dev/shm").glob(f"deepspeed_allreduce_buffer_{os.getuid()}_*")) <= segments

    selection = json.loads((run / "selection" / "selection.json").read_text())
    assert selection["selected_layers"] == [0, 1, 2, 3, 4, 5]  # pinned: the paper's six layers
    check = selection["probe_check"]
    assert check["pinned_layers"] == [0, 1, 2, 3, 4, 5] and check["rule"]["boundary_rule"]["value"] == "all_layers"
    assert (check["warning"] is None) == check["agrees"]
    if not check["agrees"]:
        assert "warning: layer check" in result.stderr
    assert selection["probe"]["question_set"]["disjoint_from_test_sets"] is True
    assert {c["field"] for c in selection["open_choices"]} >= {
        "selection.probe.firing_share",
        "selection.check.peak_search",
    }

    train = check_training(run, work / "model")
    assert train["data"]["prompt_variant"] == "table7"
    accounting = train["data"]["accounting"]
    for side, paper in (("question", 57_817), ("answer", 65_968)):
        total = accounting["totals"][side]
        assert total["loaded"] == 9 * 8 and total["used"] == total["loaded"] - sum(total["dropped"].values())
        assert total["difference"] == total["used"] - paper == sum(total["difference_by_reason"].values())
    assert accounting["totals"]["answer"]["dropped"] == {"duplicate": 9}  # the same solution text twice

    # one rank, the same global batch (accumulation 4 instead of 2): the same losses
    one = work / "slam_7b_one_rank"
    one_rank_overrides = [*overrides, "training.num_gpus=1", "selection.check=null"]  # the same pinned layers, no probe
    for stage in ("select", "train"):
        harness(
            stage,
            str(REPO / "harness" / "recipes" / "slam_7b.yaml"),
            *one_rank_overrides,
            "--run-dir",
            str(one),
            cwd=work,
        )
    two_ranks, one_rank = losses(run / "train"), losses(one / "train")
    print(
        f"\nrehearsal slam_7b: {seconds:.0f} s for all four stages on two ranks ("
        + ", ".join(line.split(" -> ")[0].strip() for line in result.stderr.splitlines() if ": done in" in line)
        + ")"
    )
    print("step  loss (2 ranks)  loss (1 rank)")
    for step, (a, b) in enumerate(zip(two_ranks, one_rank), 1):
        print(f"{step:>4}  {a:.6f}      {b:.6f}")
    assert len(two_ranks) == len(one_rank) == STEPS
    assert two_ranks == pytest.approx(one_rank, rel=1e-4)

    scores = json.loads((run / "eval" / "scores.json").read_text())
    assert set(scores["models"]) == {"base", "trained"}
    assert set(scores["models"]["trained"]["tasks"]) == {"mgsm", "msvamp"}
    assert {c["field"] for c in scores["settings"]["open_choices"]} >= {"evaluation.stop", "evaluation.max_new_tokens"}
    report = (run / "report" / "report.md").read_text()
    for row in (
        "This run: trained",
        "MetaMath",
        "QAlign",
        "SLAM",
        "Open choices and their origin",
        "Layers: pinned vs the probe",
        "Training pairs against the paper's Table 1",
    ):
        assert row in report
    tables = json.loads((run / "report" / "report.json").read_text())["tables"]
    mgsm = next(t for t in tables if t["id"] == "mgsm_accuracy")
    assert "7B" in [g["name"] for g in mgsm["groups"]] and "13B" not in [g["name"] for g in mgsm["groups"]]


def test_slam_xcsqa_7b_on_two_ranks_through_all_four_stages(work):
    data = write_xcsqa_data(work / "xcsqa")
    overrides = [
        *common_overrides(work / "model"),
        f"training.data.source={data['train']}",
        f"evaluation.tasks.0.path={data['xcsr']}",
        "evaluation.tasks.0.limit=1",
    ]
    run = work / "slam_xcsqa_7b"
    harness(
        "run", str(REPO / "harness" / "recipes" / "slam_xcsqa_7b.yaml"), *overrides, "--run-dir", str(run), cwd=work
    )
    selection = json.loads((run / "selection" / "selection.json").read_text())
    assert selection["selected_layers"] == [0, 1, 2, 3] and selection["probe_check"]["pinned_layers"] == [0, 1, 2, 3]
    train = check_training(run, work / "model")  # two ranks, disjoint draws, planned tensors only, one delta
    accounting = train["data"]["accounting"]
    assert train["plan"]["layers"] == [0, 1, 2, 3] and accounting["paper"]["reference"] == "common_sense"
    assert accounting["totals"]["question"]["difference"] == 15 * 8 - (16_110 + 14_955)  # X-CSQA test + Flores dev
    scores = json.loads((run / "eval" / "scores.json").read_text())
    assert set(scores["models"]["trained"]["tasks"]["xcsqa"]["languages"]) == set(XCSQA)
    assert scores["settings"]["choice_label"] == "last"
    report = (run / "report" / "report.md").read_text()
    assert "Llama2-mono" in report and "This run: trained" in report
