"""`harness compare` on hand-made run directories: exit codes, paired test, refusals."""

from __future__ import annotations

import json

import pytest
from reporting_fixtures import BASE_13B, TRAINED_13B, make_run

from harness.cli import compare_command
from harness.errors import HarnessError
from harness.stats import newcombe_interval, paired_interval

DROPPED = {**TRAINED_13B, "bn": TRAINED_13B["bn"] - 6}  # 45.6 -> 43.2: a 2.4-point drop in bn


@pytest.fixture
def runs(tmp_path):
    old = make_run(tmp_path / "old", {"mgsm": {"base": BASE_13B, "trained": TRAINED_13B}})
    same = make_run(tmp_path / "same", {"mgsm": {"base": BASE_13B, "trained": TRAINED_13B}})
    new = make_run(tmp_path / "new", {"mgsm": {"base": BASE_13B, "trained": DROPPED}})
    return old, same, new


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_pass_is_exit_0(runs, capsys):
    old, same, _ = runs
    assert compare_command(str(same), str(old), 0.5, None, as_json=False) == 0
    assert "PASS" in capsys.readouterr().out


def test_regression_beyond_tolerance_is_exit_1(runs, capsys):
    old, _, new = runs
    assert compare_command(str(new), str(old), 1.0, None, as_json=True) == 1
    doc = _json(capsys)
    assert doc["exit_code"] == 1 and doc["regressions"] == [{"task": "mgsm", "language": "bn", "delta": -2.4}]
    bn = doc["tasks"]["mgsm"]["languages"]["bn"]
    assert bn["paired"] == {"n": 250, "only_a": 0, "only_b": 6, "p_value": pytest.approx(2 / 64), "ci95": bn["ci95"]}
    assert bn["ci95"][0] < -2.4 < bn["ci95"][1] < 0
    average = doc["tasks"]["mgsm"]["average"]
    assert average["delta"] == pytest.approx(-0.24) and average["paired"]["only_b"] == 6


def test_drop_within_tolerance_is_exit_0(runs, capsys):
    old, _, new = runs
    assert compare_command(str(new), str(old), 3.0, None, as_json=False) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "0.031" in out


def test_tolerance_from_the_recipe_of_a(tmp_path, capsys):
    old = make_run(tmp_path / "old", {"mgsm": {"trained": TRAINED_13B}})
    new = make_run(tmp_path / "new", {"mgsm": {"trained": DROPPED}}, tolerance=2.0)
    assert compare_command(str(new), str(old), None, None, as_json=True) == 1
    assert _json(capsys)["tolerance_source"].startswith("report.tolerance of")
    assert compare_command(str(new), str(old), 5.0, None, as_json=True) == 0  # command line wins


def test_no_tolerance_reports_and_exits_0(runs, capsys):
    old, _, new = runs
    assert compare_command(str(new), str(old), None, None, as_json=False) == 0
    assert "nothing checked" in capsys.readouterr().out


def test_model_selection_syntax(runs, capsys):
    old, _, _ = runs
    assert compare_command(f"{old}:base", f"{old}:trained", 1.0, None, as_json=True) == 1
    doc = _json(capsys)
    assert doc["a"]["model"] == "base" and doc["b"]["model"] == "trained"
    with pytest.raises(HarnessError, match="evaluated no 'trained' model"):
        only_base = make_run(old.parent / "base_only", {"mgsm": {"base": BASE_13B}})
        compare_command(f"{only_base}:trained", str(old), None, None, False)


def test_against_a_published_row(runs, capsys):
    _, _, new = runs
    assert compare_command(str(new), "baseline:mgsm/13B/SLAM", 1.0, None, as_json=True) == 1
    doc = _json(capsys)
    bn = doc["tasks"]["mgsm"]["languages"]["bn"]
    assert bn["b"] == 45.6 and bn["delta"] == pytest.approx(-2.4) and bn["paired"] is None
    assert doc["tasks"]["mgsm"]["average"]["b"] == 58.3
    assert any("published number" in w for w in doc["warnings"])
    assert compare_command(str(new), "baseline:mgsm/13B/SLAM", 3.0, None, as_json=True) == 0


def test_refuses_different_task_versions(tmp_path):
    old = make_run(tmp_path / "old", {"mgsm": {"trained": TRAINED_13B}}, task_version=1)
    new = make_run(tmp_path / "new", {"mgsm": {"trained": TRAINED_13B}}, task_version=2)
    with pytest.raises(HarnessError, match="task versions differ"):
        compare_command(str(new), str(old), 1.0, None, False)


def test_refuses_different_tasks(tmp_path):
    mgsm = make_run(tmp_path / "mgsm", {"mgsm": {"trained": TRAINED_13B}})
    msvamp = make_run(tmp_path / "msvamp", {"msvamp": {"trained": TRAINED_13B}})
    with pytest.raises(HarnessError, match="refusing to compare different tasks"):
        compare_command(str(mgsm), str(msvamp), 1.0, None, False)
    with pytest.raises(HarnessError, match="mgsm has mgsm, baseline:msvamp/13B/SLAM has msvamp"):
        compare_command(str(mgsm), "baseline:msvamp/13B/SLAM", 1.0, None, False)
    with pytest.raises(HarnessError, match="--task xcsqa"):
        compare_command(str(mgsm), str(mgsm), 1.0, "xcsqa", False)


def test_refuses_different_extractions(tmp_path):
    old = make_run(tmp_path / "old", {"mgsm": {"trained": TRAINED_13B}})
    new = make_run(tmp_path / "new", {"mgsm": {"trained": TRAINED_13B}})
    scores_path = new / "eval" / "scores.json"
    scores = json.loads(scores_path.read_text())
    scores["extraction"] = "strict"
    scores_path.write_text(json.dumps(scores))
    with pytest.raises(HarnessError, match="answer extractions differ"):
        compare_command(str(new), str(old), 1.0, None, False)


def test_without_samples_no_paired_test_and_a_warning(tmp_path, capsys):
    old = make_run(tmp_path / "old", {"mgsm": {"trained": TRAINED_13B}}, samples=False)
    new = make_run(tmp_path / "new", {"mgsm": {"trained": DROPPED}})
    assert compare_command(str(new), str(old), 1.0, None, as_json=True) == 1
    doc = _json(capsys)
    assert doc["tasks"]["mgsm"]["languages"]["bn"]["paired"] is None
    assert any("no paired test" in w for w in doc["warnings"])


def test_labels_partial_language_overlap(tmp_path, capsys):
    old = make_run(tmp_path / "old", {"mgsm": {"trained": TRAINED_13B}})
    few = make_run(tmp_path / "few", {"mgsm": {"trained": {"en": 178, "bn": 100}}})
    compare_command(str(few), str(old), None, None, as_json=True)
    doc = _json(capsys)
    assert set(doc["tasks"]["mgsm"]["languages"]) == {"bn", "en"}
    assert doc["tasks"]["mgsm"]["average"]["recomputed"] is True
    assert any("averages cover different languages" in w for w in doc["warnings"])


def test_bad_references(tmp_path):
    with pytest.raises(HarnessError, match="no such run directory"):
        compare_command(str(tmp_path / "nope"), "baseline:mgsm/13B/SLAM", None, None, False)
    with pytest.raises(HarnessError, match="A is the candidate"):
        compare_command("baseline:mgsm/13B/SLAM", str(tmp_path), None, None, False)
    (tmp_path / "bare").mkdir()
    with pytest.raises(HarnessError, match="has the evaluate stage finished"):
        compare_command(str(tmp_path / "bare"), "baseline:mgsm/13B/SLAM", None, None, False)


def test_intervals():
    assert paired_interval(0, 0, 100) == [0.0, 0.0]
    low, high = paired_interval(0, 6, 250)
    assert low < -2.4 < high
    low, high = newcombe_interval(50.0, [40.0, 60.0], 45.0, None)
    assert (low, high) == (-5.0, 15.0)


def test_cli_exit_codes(runs):
    """Through the console script's code path: 0 for a pass, 1 for a regression, 2 for an error."""
    from harness.cli import main

    old, same, new = runs
    assert main(["compare", str(same), str(old), "--tolerance", "0.5"]) == 0
    assert main(["compare", str(new), str(old), "--tolerance", "1", "--json"]) == 1
    assert main(["compare", str(new), "baseline:mgsm/13B/SLAMM"]) == 2


def test_samples_read_in_the_mode_of_record(tmp_path):
    from harness.reporting.compare import _read_samples

    path = tmp_path / "samples.jsonl"
    path.write_text(
        '{"model": "base", "lang": "en", "doc_id": 0, "id": "q0", "correct": {"paper": true, "strict": false}}\n'
        '{"model": "trained", "lang": "en", "doc_id": 0, "id": "q0", "correct": {"paper": false, "strict": false}}\n'
        '{"model": "base", "lang": "de", "doc_id": 3, "id": "q3", "correct": {"paper": true, "strict": true}}\n'
    )
    assert _read_samples(path, "base", "paper") == {"en": {"q0": True}, "de": {"q3": True}}
    assert _read_samples(path, "base", "strict")["en"] == {"q0": False}
    assert _read_samples(path, "trained", "paper") == {"en": {"q0": False}}
    path.write_text('{"model": "base", "lang": "en"}\n')
    with pytest.raises(HarnessError, match="samples.jsonl: line 1: doc_id: field required; .*--force evaluate"):
        _read_samples(path, "base")


def test_labels_different_limits(tmp_path, capsys):
    old = make_run(tmp_path / "old", {"mgsm": {"trained": TRAINED_13B}})
    new = make_run(tmp_path / "new", {"mgsm": {"trained": TRAINED_13B}})
    scores_path = new / "eval" / "scores.json"
    scores = json.loads(scores_path.read_text())
    scores["models"]["trained"]["tasks"]["mgsm"]["limit"] = 50
    scores_path.write_text(json.dumps(scores))
    compare_command(str(new), str(old), 1.0, None, as_json=True)
    assert any("limit differs" in w for w in _json(capsys)["warnings"])


def _edit_scores(run, edit):
    path = run / "eval" / "scores.json"
    scores = json.loads(path.read_text())
    edit(scores)
    path.write_text(json.dumps(scores))


def test_warns_when_backend_dtype_batch_size_or_device_differ(tmp_path, capsys):
    old = make_run(tmp_path / "old", {"mgsm": {"trained": TRAINED_13B}})
    new = make_run(tmp_path / "new", {"mgsm": {"trained": TRAINED_13B}})
    _edit_scores(
        old, lambda s: s.setdefault("settings", {}).update(backend="hf", dtype="float32", batch_size=8, device="cpu")
    )
    _edit_scores(
        new,
        lambda s: s.setdefault("settings", {}).update(
            backend="vllm", dtype="bfloat16", batch_size="auto", device="cuda"
        ),
    )
    assert compare_command(str(new), str(old), 1.0, None, as_json=True) == 0
    warnings = "\n".join(_json(capsys)["warnings"])
    for text in ("backend differs", "dtype differs", "batch size differs", "device differs"):
        assert text in warnings


def test_refuses_different_chat_templates_or_prompts(tmp_path):
    old = make_run(tmp_path / "old", {"mgsm": {"trained": TRAINED_13B}})
    new = make_run(tmp_path / "new", {"mgsm": {"trained": TRAINED_13B}})
    _edit_scores(new, lambda s: s.setdefault("settings", {}).update(chat_template=True))
    with pytest.raises(HarnessError, match=r"chat templates differ \(.*True.*False\)"):
        compare_command(str(new), str(old), 1.0, None, False)
    _edit_scores(new, lambda s: s["settings"].update(chat_template=False))
    _edit_scores(new, lambda s: s["models"]["trained"]["tasks"]["mgsm"].update(prompt_sha="aaaa"))
    _edit_scores(old, lambda s: s["models"]["trained"]["tasks"]["mgsm"].update(prompt_sha="bbbb"))
    with pytest.raises(HarnessError, match="refusing to compare mgsm: the prompts differ"):
        compare_command(str(new), str(old), 1.0, None, False)
