"""`harness cost`: device-hours per stage from train.json, summed over a chained run's stages, as a
ratio to the SLAM run beside the published ratio; clear errors for what is not a finished run."""

from __future__ import annotations

import json

import pytest

from harness.errors import HarnessError
from harness.reporting.cost import cost_table, format_cost_table, published_ratio, stage_cost


def train_record(tokens: int, world: int, steady: float | None, overall: float) -> dict:
    return {
        "hyperparameters": {"world_size": world, "device": "cuda"},
        "tokens_seen": {"non_pad": tokens, "target": tokens // 2, "padded": tokens * 2},
        "steady_tokens_per_second": steady,
        "throughput_tokens_per_s": overall,
    }


def write_run(root, name, method, size, stages: dict[str, dict]):
    recipe = {"name": name, "report": {"method": method, "size": size}}
    recipe["stages"] = [{"name": stage} for stage in stages if stage != "training"]
    root.mkdir(parents=True)
    (root / "manifest.json").write_text(json.dumps({"recipe": recipe}))
    for stage, record in stages.items():
        folder = root / "train" if stage == "training" else root / "stages" / stage / "train"
        folder.mkdir(parents=True)
        (folder / "train.json").write_text(json.dumps(record))
    return root


def test_stage_cost_is_tokens_at_the_steady_speed_times_the_processes():
    cost = stage_cost("training", train_record(7_200_000, 8, steady=1000.0, overall=800.0))
    assert cost.basis == "steady" and cost.hours == pytest.approx(7_200_000 / 1000 * 8 / 3600)
    older = stage_cost("training", train_record(7_200_000, 8, steady=None, overall=800.0))
    assert older.basis == "overall" and older.hours == pytest.approx(7_200_000 / 800 * 8 / 3600)


def test_ratios_to_the_slam_run_beside_the_published_ones(tmp_path):
    slam = write_run(tmp_path / "slam", "slam_7b", "SLAM", "7B", {"training": train_record(3600, 1, 1.0, 1.0)})
    qalign = write_run(
        tmp_path / "qalign",
        "qalign_7b",
        "QAlign",
        "7B",
        {"question_alignment": train_record(3600, 2, 1.0, 1.0), "training": train_record(7200, 1, 1.0, 1.0)},
    )
    table = cost_table([str(slam), str(qalign)])
    assert table["reference"] == str(slam)
    slam_row, qalign_row = table["runs"]
    assert slam_row["hours"] == pytest.approx(1.0) and slam_row["ratio"] == pytest.approx(1.0)
    assert [s["stage"] for s in qalign_row["stages"]] == ["question_alignment", "training"]
    assert qalign_row["hours"] == pytest.approx(2.0 + 2.0) and qalign_row["ratio"] == pytest.approx(4.0)
    assert qalign_row["paper_ratio"] == 4.1 and published_ratio("QAlign", "13B") == 11.9
    text = format_cost_table(table)
    assert "4.00x" in text and "4.1x" in text and "question_alignment" in text


def test_a_run_without_its_stages_trained_is_a_clear_error(tmp_path):
    with pytest.raises(HarnessError, match="not a harness run"):
        cost_table([str(tmp_path)])
    run = write_run(tmp_path / "run", "x", None, None, {"training": train_record(10, 1, 1.0, 1.0)})
    (run / "manifest.json").write_text(json.dumps({"recipe": {"name": "x", "stages": [{"name": "first"}]}}))
    with pytest.raises(HarnessError, match="stage 'first' has not trained"):
        cost_table([str(run)])


def test_the_leaderboards_cost_cells_are_the_measured_ratios_to_the_slam_run(tmp_path):
    from harness.artifacts import Scores
    from harness.reporting.leaderboard import Entry, measured_costs
    from harness.reporting.run_rows import TrainingRecord
    from harness.reporting.scored import ScoredModel

    slam = write_run(tmp_path / "slam", "slam_7b", "SLAM", "7B", {"training": train_record(3600, 1, 1.0, 1.0)})
    octopus = write_run(
        tmp_path / "octopus", "mathoctopus_7b", "MathOctopus", "7B", {"training": train_record(1800, 1, 1.0, 1.0)}
    )
    entries = [
        Entry(ScoredModel(role, Scores(models={}), run), TrainingRecord(8.0, "1 s", 1.0, "absolute"), name)
        for run, name in ((slam, "slam_7b"), (octopus, "mathoctopus_7b"))
        for role in ("base", "trained")
    ]
    measured_costs(entries)
    trained = {entry.recipe: entry.training for entry in entries if entry.role == "trained"}
    assert trained["slam_7b"].cost_display == "1.00x" and trained["mathoctopus_7b"].cost_display == "0.50x"
    assert "the paper: 0.8x" in trained["mathoctopus_7b"].cost_description
    assert entries[0].training.cost_display == "1 s"  # a base model's row is left as it was


def test_a_chained_runs_report_counts_every_stage(tmp_path):
    from harness.reporting.run_rows import TrainingRecord
    from harness.reporting.stage import chained_cost

    run = write_run(
        tmp_path / "qalign",
        "qalign_7b",
        "QAlign",
        "7B",
        {"question_alignment": train_record(3600, 2, 1.0, 1.0), "training": train_record(7200, 1, 1.0, 1.0)},
    )
    cell = chained_cost(TrainingRecord(100.0, "2.00 GPU-h", 2.0, "the last stage"), run)
    assert cell.cost_value == pytest.approx(4.0) and cell.cost_display == "4 device-h"
    assert "question_alignment: 2 h on 2 cuda" in cell.cost_description and cell.trained_share == 100.0
