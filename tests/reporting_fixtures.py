"""Hand-made run directories for the reporting and compare tests (no model, no lm-eval)."""

from __future__ import annotations

import json
from pathlib import Path

from harness.evaluation.metrics import task_scores
from harness.languages import MATH_LANGUAGES

PAPER_AVERAGE = {"mgsm": MATH_LANGUAGES, "msvamp": MATH_LANGUAGES, "demo": MATH_LANGUAGES}


def outcomes(correct: dict[str, int], n: int, shift: int = 0) -> dict[str, dict[str, bool]]:
    """Per language, question id -> right; the first ``correct[lang]`` ids (rotated by shift) are right."""
    return {lang: {str(i): ((i + shift) % n) < k for i in range(n)} for lang, k in correct.items()}


def make_scores(
    tasks: dict[str, dict[str, dict[str, int]]],
    n: int = 250,
    task_version: int | str = 1,
    sources: dict[str, str] | None = None,
    strict_delta: int = 0,
) -> tuple[dict, dict]:
    """scores.json for ``tasks = {task: {role: {lang: correct}}}``; also returns the outcomes."""
    sources = sources or {"base": "meta-math/MetaMath-13B-V1.0", "trained": "runs/x/train/model"}
    models: dict = {}
    raw: dict = {}
    for task, roles in tasks.items():
        for role, correct in roles.items():
            result = outcomes(correct, n)
            strict = outcomes({k: max(0, v - strict_delta) for k, v in correct.items()}, n)
            entry = task_scores({"paper": result, "strict": strict}, "paper", PAPER_AVERAGE.get(task, list(correct)))
            entry["task_version"] = task_version
            models.setdefault(role, {"source": sources.get(role, role), "tasks": {}})["tasks"][task] = entry
            raw[(task, role)] = result
    scores = {"harness_version": "0.1.0", "lm_eval_version": "0.4.13", "extraction": "paper", "models": models}
    return scores, raw


def make_run(
    root: Path,
    tasks: dict,
    n: int = 250,
    task_version: int | str = 1,
    samples: bool = True,
    train: dict | None = None,
    tolerance: float | None = None,
    **kwargs,
) -> Path:
    """A run directory with eval/scores.json (+ samples.jsonl per task, train/train.json)."""
    root = Path(root)
    scores, raw = make_scores(tasks, n, task_version, **kwargs)
    eval_dir = root / "eval"
    eval_dir.mkdir(parents=True, exist_ok=True)
    (eval_dir / "scores.json").write_text(json.dumps(scores, indent=2))
    recipe = {"name": root.name, "report": {"tolerance": tolerance}}
    done = {"fingerprint": "test", "output_id": f"{root.name}-eval", "recipe": recipe}
    (eval_dir / "DONE.json").write_text(json.dumps(done))
    if samples:
        for task in tasks:
            lines = []
            for (t, role), result in raw.items():
                if t != task:
                    continue
                for lang, per_question in result.items():
                    for doc_id, right in per_question.items():
                        # as the evaluation stage writes them: correct per extraction mode
                        lines.append(
                            json.dumps(
                                {
                                    "model": role,
                                    "lang": lang,
                                    "doc_id": int(doc_id),
                                    "id": f"q{doc_id}",
                                    "response": "...",
                                    "correct": {"paper": right, "strict": right},
                                }
                            )
                        )
            (eval_dir / task).mkdir(exist_ok=True)
            (eval_dir / task / "samples.jsonl").write_text("\n".join(lines) + "\n")
    if train is not None:
        (root / "train").mkdir(exist_ok=True)
        (root / "train" / "train.json").write_text(json.dumps(train))
        (root / "train" / "DONE.json").write_text(json.dumps({**done, "output_id": f"{root.name}-train"}))
    (root / "manifest.json").write_text(json.dumps({"recipe": recipe}))
    return root


# A 13B-like run: MetaMath-13B's published cells as the base, a SLAM-like trained model.
BASE_13B = {"bn": 31, "th": 28, "sw": 16, "ja": 105, "zh": 115, "de": 160, "fr": 156, "ru": 154, "es": 162, "en": 171}
TRAINED_13B = {
    "bn": 114,
    "th": 119,
    "sw": 116,
    "ja": 135,
    "zh": 147,
    "de": 157,
    "fr": 163,
    "ru": 161,
    "es": 169,
    "en": 178,
}
