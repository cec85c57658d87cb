"""Rehearse the competitors on a CPU, side by side with SLAM: `recipes/slam_7b.yaml`,
`recipes/competitors/qalign_7b.yaml` (both stages) and `recipes/competitors/mathoctopus_7b.yaml`
themselves, on one tiny random Llama, with only the model replaced, the data pointed at small local
files written here in the original formats (MGSM8KInstruct_Parallel JSON lines, QAlign's
line-parallel question folders, MetaMathQA's JSON array) and the job made small (one process, 16
examples a step). Each recipe keeps its own epochs, prompts, data kinds and modes; the data sizes are
in the published proportions (SLAM 123,785 pairs, QAlign 66,078 question pairs + 395,000 MetaMathQA rows,
MathOctopus 73,559 rows), divided by about 7,000: the measured cost ratios have the paper's shape, not its
values (the texts here are short and alike, and a tiny model's step costs little).

Checked: every stage trains what its recipe says (SLAM: the six pinned layers on translation pairs;
QAlign: all parameters on question pairs, then all parameters on MetaMathQA from stage 1's model;
MathOctopus: all parameters on instruction rows); `harness cost` sets the three methods in one table
with their measured ratios to SLAM beside the published ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_paper_rehearsal import MATH, REPO, harness, problems, work, write_math_data  # noqa: F401 (work: fixture)

pytestmark = pytest.mark.integration

SMALL = [
    "training.launcher=none",
    "training.num_gpus=1",
    "training.deepspeed=false",
    "training.zero_stage=2",
    "training.precision=fp32",
    "training.global_batch_size=16",
    "training.per_device_batch_size=8",
    "training.max_length=160",
    "training.learning_rate=1.0e-3",
    "training.save=delta",
    "training.save_steps=1000",
    "training.gpu_memory_gib=null",
]


def small(prefix: str) -> list[str]:
    return [item.replace("training.", prefix, 1) for item in SMALL]


def write_qalign_questions(root: Path, count: int) -> Path:
    """QAlign's data/gsmtrans/gsm8kinstruct_question layout: <xx>-en/train.<xx> beside train.en."""
    for lang in MATH[:-1]:
        folder = root / f"{lang}-en"
        folder.mkdir(parents=True)
        pairs = [(q, e) for (q, _, _), (e, _, _) in zip(problems(lang, count), problems("en", count))]
        (folder / f"train.{lang}").write_text("".join(q + "\n" for q, _ in pairs), encoding="utf-8")
        (folder / "train.en").write_text("".join(e + "\n" for _, e in pairs), encoding="utf-8")
    return root


def write_metamathqa(path: Path, count: int) -> Path:
    """MetaMathQA-395K.json: a JSON array of query/response/type/original_question."""
    rows = []
    for k in range(count):
        a, b = 3 + k, 1 + k % 7
        rows.append(
            {
                "query": f"Tom has {a} marbles and wins {b} more. How many marbles does he have now?",
                "response": f"Tom starts with {a} and wins {b}, so {a} + {b} = {a + b}.\nThe answer is: {a + b}",
                "type": "GSM_Rephrased",
                "original_question": f"Tom has {a} marbles and wins {b}.",
            }
        )
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def test_slam_qalign_and_mathoctopus_side_by_side_with_measured_costs(work):
    data = write_math_data(work / "competitors")  # 8 problems per language, both sides
    questions = write_qalign_questions(work / "gsm8kinstruct_question", 1)
    metamath = write_metamathqa(work / "MetaMathQA-395K.json", 57)
    model = [f"model.source={work / 'model'}", "model.dtype=float32"]
    runs = {name: work / "runs" / name for name in ("slam", "qalign", "mathoctopus")}

    harness(
        "run",
        str(REPO / "harness" / "recipes" / "slam_7b.yaml"),
        *model,
        *SMALL,
        f"training.data.source={data['train']}",
        "training.data.max_pairs_per_language=2",
        "selection.check=null",
        "evaluation=null",
        "--run-dir",
        str(runs["slam"]),
        cwd=work,
    )
    result, _ = harness(
        "run",
        str(REPO / "harness" / "recipes" / "competitors" / "qalign_7b.yaml"),
        *model,
        *small("stages.0.training."),
        f"stages.0.training.data.source={questions}",
        *SMALL,
        f"training.data.source={metamath}",
        "evaluation=null",
        "--run-dir",
        str(runs["qalign"]),
        cwd=work,
    )
    assert "training stage 1/2: question_alignment" in result.stderr
    harness(
        "run",
        str(REPO / "harness" / "recipes" / "competitors" / "mathoctopus_7b.yaml"),
        *model,
        *SMALL,
        f"training.data.source={data['train']}",
        "training.data.max_examples=10",
        "evaluation=null",
        "--run-dir",
        str(runs["mathoctopus"]),
        cwd=work,
    )

    def train_json(folder: Path) -> dict:
        return json.loads((folder / "train" / "train.json").read_text())

    slam = train_json(runs["slam"])
    assert slam["mode"] == "selective" and slam["plan"]["layers"] == [0, 1, 2, 3, 4, 5]
    assert slam["data"]["prompt_variant"] == "table7" and slam["hyperparameters"]["epochs"] == 4
    stage1 = train_json(runs["qalign"] / "stages" / "question_alignment")
    assert stage1["mode"] == "full" and stage1["data"]["prompt_variant"] == "qalign"
    assert stage1["data"]["examples_total"] == 9 and stage1["hyperparameters"]["epochs"] == 3
    stage2 = train_json(runs["qalign"])
    assert stage2["mode"] == "full" and stage2["data"]["kind"] == "instructions"
    assert stage2["data"]["examples_total"] == 57 and stage2["data"]["prompt_variant"] == "alpaca"
    delta = json.loads((runs["qalign"] / "train" / "delta.json").read_text())
    assert delta["base_model"]["source"] == f"run:{(runs['qalign'] / 'stages' / 'question_alignment').resolve()}"
    octopus = train_json(runs["mathoctopus"])
    assert octopus["mode"] == "full" and octopus["data"]["examples_total"] == 10
    assert set(octopus["data"]["examples"]) <= set(MATH) and octopus["data"]["fields"]["query"] == "prompt"
    assert octopus["data"]["prompt_variant"] == "as_is"

    result, _ = harness("cost", *(str(run) for run in runs.values()), "--json", cwd=work)
    table = json.loads(result.stdout)
    assert table["reference"] == str(runs["slam"])
    by_name = {run["recipe"]: run for run in table["runs"]}
    assert [s["stage"] for s in by_name["qalign_7b"]["stages"]] == ["question_alignment", "training"]
    assert by_name["slam_7b"]["ratio"] == pytest.approx(1.0)
    for name, paper in (("slam_7b", 1.0), ("qalign_7b", 4.1), ("mathoctopus_7b", 0.8)):
        run = by_name[name]
        assert run["paper_ratio"] == paper
        assert run["hours"] == pytest.approx(sum(s["hours"] for s in run["stages"]))
        assert run["ratio"] == pytest.approx(run["hours"] / by_name["slam_7b"]["hours"])
        assert all(s["tokens"] > 0 and s["processes"] == 1 and s["device"] == "cpu" for s in run["stages"])
    result, _ = harness("cost", *(str(run) for run in runs.values()), cwd=work)
    print("\nrehearsal of the competitors (taken on a busy machine):\n" + result.stdout)
    assert "question_alignment" in result.stdout and "4.1x" in result.stdout
