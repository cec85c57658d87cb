"""`harness cost`: training cost measured the same way for every method, and its ratio to a reference.

Per training stage (a chained recipe's ``stages/<name>/`` runs, then its own ``train/``), from
train.json: the processes (GPUs, or CPU processes on a machine without one) it trained on, the
non-padding tokens it saw, its steady-state speed, and the device-hours those tokens take at that
speed: ``tokens / steady tokens per second x processes / 3600``. The steady speed is train.json's
``steady_tokens_per_second`` (from the second optimizer step on, checkpoint saves apart), else its
overall ``throughput_tokens_per_s`` (warm-up and saves included, said so). A run's cost is the sum
over its stages; its ratio is that sum over the reference run's (SLAM's), beside the published ratio
of the system the recipe trains (``report.method``; the paper's Training Cost column, SLAM = 1.0x).
Ratios only mean something between runs of one machine: say which.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.artifacts import MANIFEST, STAGE_DIRS, STAGES_DIR, TRAIN_FILE
from harness.errors import HarnessError
from harness.runs import read_json


@dataclass
class StageCost:
    stage: str
    processes: int
    device: str
    tokens: int
    tokens_per_second: float | None
    basis: str
    """`steady` or `overall` (warm-up and checkpoint saves included)."""
    hours: float | None
    """Device-hours: processes x hours at that speed."""


@dataclass
class RunCost:
    run: Path
    recipe: str | None
    method: str | None
    size: str | None
    stages: list[StageCost] = field(default_factory=list)
    ratio: float | None = None
    paper_ratio: float | None = None

    @property
    def hours(self) -> float | None:
        hours = [stage.hours for stage in self.stages]
        return sum(hours) if hours and None not in hours else None  # type: ignore[arg-type]


def stage_cost(stage: str, train: dict[str, Any]) -> StageCost:
    """The cost of one train stage from its train.json."""
    hyper = train.get("hyperparameters") or {}
    processes = int(hyper.get("world_size") or 1)
    tokens = int((train.get("tokens_seen") or {}).get("non_pad") or 0)
    steady = train.get("steady_tokens_per_second")
    rate, basis = (steady, "steady") if steady else (train.get("throughput_tokens_per_s"), "overall")
    hours = tokens / rate * processes / 3600 if rate else None
    return StageCost(stage, processes, str(hyper.get("device") or "?"), tokens, rate, basis, hours)


def run_cost(root: str | Path) -> RunCost:
    """Every training stage of the run at ``root``, in the order they trained."""
    root = Path(root)
    manifest = root / MANIFEST
    if not manifest.is_file():
        raise HarnessError(f"{root}: not a harness run (no {MANIFEST}); pass a run directory")
    recipe = read_json(manifest).get("recipe") or {}
    report = recipe.get("report") or {}
    cost = RunCost(root, recipe.get("name"), report.get("method"), report.get("size"))
    folders = [(stage["name"], root / STAGES_DIR / stage["name"]) for stage in recipe.get("stages") or []]
    folders.append(("training", root))
    for name, folder in folders:
        train = folder / STAGE_DIRS["train"] / TRAIN_FILE
        if not train.is_file():
            raise HarnessError(f"{root}: stage {name!r} has not trained ({train} missing); run the recipe first")
        cost.stages.append(stage_cost(name, read_json(train)))
    return cost


def published_ratio(method: str | None, size: str | None) -> float | None:
    """The paper's training cost of ``method`` relative to SLAM's (its Training Cost column)."""
    if method is None:
        return None
    if method == "SLAM":
        return 1.0
    from harness.reporting.baselines import load_baselines

    for row in load_baselines().rows:
        if row.system == method and (size is None or row.size == size) and row.cost is not None:
            return row.cost
    return None


def cost_table(runs: list[str], reference: str | None = None) -> dict[str, Any]:
    """The costs of ``runs`` and their ratios to ``reference`` (default: the first run whose recipe trains SLAM)."""
    costs = [run_cost(root) for root in runs]
    base: RunCost | None = run_cost(reference) if reference is not None else None
    if base is None:
        base = next((cost for cost in costs if cost.method == "SLAM"), None)
    for cost in costs:
        if base is not None and base.hours and cost.hours is not None:
            cost.ratio = cost.hours / base.hours
        cost.paper_ratio = published_ratio(cost.method, cost.size)
    return {
        "reference": str(base.run) if base is not None else None,
        "runs": [{**asdict(cost), "run": str(cost.run), "hours": cost.hours} for cost in costs],
        "definition": __doc__.split("\n\n")[1].replace("\n", " ") if __doc__ else "",
    }


def format_cost_table(data: dict[str, Any]) -> str:
    """One row per training stage and one total per run: processes, tokens, speed, device-hours, ratios."""
    from tabulate import tabulate

    rows = []
    for run in data["runs"]:
        for index, stage in enumerate(run["stages"]):
            rate = stage["tokens_per_second"]
            rows.append(
                [
                    run["recipe"] if index == 0 else "",
                    run["method"] or "" if index == 0 else "",
                    stage["stage"],
                    f"{stage['processes']} {stage['device']}",
                    f"{stage['tokens']:,}",
                    f"{rate:,.1f} ({stage['basis']})" if rate else "n/a",
                    f"{stage['hours']:.6f}" if stage["hours"] is not None else "n/a",
                    "",
                    "",
                ]
            )
        rows.append(
            [
                "",
                "",
                "total",
                "",
                f"{sum(stage['tokens'] for stage in run['stages']):,}",
                "",
                f"{run['hours']:.6f}" if run["hours"] is not None else "n/a",
                f"{run['ratio']:.2f}x" if run["ratio"] is not None else "n/a",
                f"{run['paper_ratio']:.1f}x" if run["paper_ratio"] is not None else "n/a",
            ]
        )
    headers = ["run", "method", "stage", "processes", "tokens seen", "tokens/s", "device-hours", "measured", "paper"]
    reference = data["reference"] or "none (no SLAM run given)"
    return (
        tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)
        + f"\n\nmeasured: device-hours relative to {reference}; paper: the published training cost relative to SLAM"
    )
