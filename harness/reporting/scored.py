"""One evaluated model of a run (``base`` or ``trained``), as ``eval/scores.json`` records it.

The one answer to "what did this run's model score?" that the report's tables, plots and
reproduction checks, ``harness compare``, the leaderboard and the export's model card read: built
from the typed :class:`harness.artifacts.Scores`, so that a new field of scores.json touches that
model, this view and the code that shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.artifacts import LanguageScore, ModelScores, Scores, TaskScores, read_samples, redo
from harness.errors import HarnessError
from harness.runs import MODEL_ROLES, Run


def as_scores(scores: Scores | dict) -> Scores:
    """scores.json as its typed model (a dict, as tests and the lm-eval folder reader build it, validated)."""
    return scores if isinstance(scores, Scores) else Scores.model_validate(scores)


@dataclass
class ScoredModel:
    role: str
    scores: Scores
    run_root: Path | None = None
    """The run it belongs to (None: scores not read from a run folder)."""
    _outcomes: dict[str, dict[str, dict[str, bool]] | None] = field(default_factory=dict, repr=False)

    @property
    def entry(self) -> ModelScores:
        return self.scores.models[self.role]

    @property
    def source(self) -> str | None:
        return self.entry.source

    @property
    def extraction(self) -> str | None:
        return self.scores.extraction

    @property
    def lm_eval_version(self) -> str | None:
        return self.scores.lm_eval_version

    @property
    def settings(self) -> dict[str, Any]:
        """How the run evaluated (chat template, system prompt, ...): ``settings`` of scores.json."""
        return self.scores.settings

    def tasks(self) -> list[str]:
        return list(self.entry.tasks)

    def task(self, task: str) -> TaskScores | None:
        """The task's entry of scores.json, or None when the task was not evaluated."""
        return self.entry.tasks.get(task)

    def language(self, task: str, lang: str) -> LanguageScore | None:
        scores = self.entry.tasks.get(task)
        return None if scores is None else scores.languages.get(lang)

    def languages(self, task: str) -> list[str]:
        scores = self.entry.tasks.get(task)
        return [] if scores is None else list(scores.languages)

    def accuracy(self, task: str, lang: str) -> tuple[float | None, list[float] | None, int | None]:
        """(accuracy %, 95% interval, n) of one language; Nones when it was not evaluated."""
        entry = self.language(task, lang)
        if entry is None or entry.accuracy is None:
            return None, None, None
        return float(entry.accuracy), entry.ci95, entry.n

    def average(self, task: str) -> tuple[float | None, list[float] | None, list[str]]:
        scores = self.entry.tasks.get(task)
        average = None if scores is None else scores.average
        if average is None:
            return None, None, []
        value = average.accuracy
        return (float(value) if value is not None else None, average.ci95, list(average.languages))

    def task_version(self, task: str) -> Any:
        scores = self.entry.tasks.get(task)
        return None if scores is None else scores.task_version

    def prompting(self) -> dict:
        """How the model was asked and given room to answer, beyond the task's prompt and the chat
        template: what must be equal for two scores to be compared or ranked together, by recipe
        field. A setting missing from an older scores.json reads as its default."""
        settings = self.settings
        return {
            "evaluation.system_prompt": settings.get("system_prompt"),
            "evaluation.chat_template_args": settings.get("chat_template_args") or {},
            "evaluation.reasoning_end": settings.get("reasoning_end"),
            "evaluation.max_new_tokens": self.entry.max_new_tokens
            if self.entry.max_new_tokens is not None
            else settings.get("max_new_tokens"),
        }

    def outcomes(self, task: str) -> dict[str, dict[str, bool]] | None:
        """Per language, question id -> right, from eval/<task>/samples.jsonl (None if absent)."""
        if self.run_root is None:
            return None
        if task not in self._outcomes:
            self._outcomes[task] = read_outcomes(
                Run(self.run_root).samples_file(task), self.role, self.extraction or "paper"
            )
        return self._outcomes[task]


def scored_models(scores: Scores | dict, run_root: Path | None = None) -> list[ScoredModel]:
    """The run's evaluated models, base first."""
    typed = as_scores(scores)
    return [ScoredModel(role, typed, run_root) for role in MODEL_ROLES if role in typed.models]


def read_outcomes(path: Path, role: str, mode: str = "paper") -> dict[str, dict[str, bool]] | None:
    """Per language, question id -> right, for one model of a run's samples.jsonl.

    As the evaluation stage writes it: ``id`` is the benchmark's question id and ``correct`` one
    bool per extraction mode (``{"paper": true, "strict": false}``), of which the run's mode of
    record counts.
    """
    if not path.is_file():
        return None
    outcomes: dict[str, dict[str, bool]] = {}
    for row in read_samples(path):
        if row.model != role:
            continue
        if mode not in row.correct:
            raise HarnessError(f"{path}: doc {row.doc_id}: correct: no {mode!r} entry; {redo('evaluate')}")
        outcomes.setdefault(row.lang, {})[str(row.id)] = row.correct[mode]
    return outcomes or None
