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
    assert doc["exit_code"] == 1
    assert doc["regressions"] == [
        {"task": "mgsm", "language": "bn", "delta": -2.4, "evidence": "McNemar p = 0.031"}  # 6 of 250: real
    ]
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
    # a published number has no per-question outputs: A's own interval decides whether the drop is real
    assert compare_command(str(new), "baseline:mgsm/13B/SLAM", 1.0, None, as_json=True) == 0
    doc = _json(capsys)
    bn = doc["tasks"]["mgsm"]["languages"]["bn"]
    assert bn["b"] == 45.6 and bn["delta"] == pytest.approx(-2.4) and bn["paired"] is None
    assert doc["tasks"]["mgsm"]["average"]["b"] == 58.3
    assert any("published number" in w for w in doc["warnings"])
    assert doc["notes"][0].startswith("mgsm bn: a 2.4-point drop is beyond the tolerance of 1, but not shown")
    assert compare_command(str(new), "baseline:mgsm/13B/SLAM", 1.0, None, as_json=True, rule="drop") == 1
    capsys.readouterr()
    assert compare_command(str(new), "baseline:mgsm/13B/SLAM", 3.0, None, as_json=True) == 0


def test_against_a_system_with_several_published_readings(runs, capsys):
    _, _, new = runs
    compare_command(str(new), "baseline:mgsm/13B/MathOctopus", None, None, as_json=True)
    doc = _json(capsys)
    (note,) = [w for w in doc["warnings"] if "published readings" in w]
    assert "uses Table 2's (baseline:mgsm/13B/MathOctopus)" in note and "@mcotreadme" in note
    compare_command(str(new), "baseline:mgsm/13B/MathOctopus@mcotreadme", None, None, as_json=True)
    doc = _json(capsys)
    assert doc["tasks"]["mgsm"]["languages"]["bn"]["b"] == 42.0  # the mCoT README's reading
    assert "(published, mCoT README)" in doc["b"]["label"]


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
    assert compare_command(str(new), str(old), 1.0, None, as_json=True) == 0  # the unpaired interval spans 0
    doc = _json(capsys)
    assert doc["tasks"]["mgsm"]["languages"]["bn"]["paired"] is None
    assert any("no paired test" in w for w in doc["warnings"])
    assert "only the sides' own intervals count" in doc["notes"][0]
    assert compare_command(str(new), str(old), 1.0, None, as_json=True, rule="drop") == 1


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
    from harness.reporting.scored import read_outcomes

    path = tmp_path / "samples.jsonl"
    path.write_text(
        '{"model": "base", "lang": "en", "doc_id": 0, "id": "q0", "correct": {"paper": true, "strict": false}}\n'
        '{"model": "trained", "lang": "en", "doc_id": 0, "id": "q0", "correct": {"paper": false, "strict": false}}\n'
        '{"model": "base", "lang": "de", "doc_id": 3, "id": "q3", "correct": {"paper": true, "strict": true}}\n'
    )
    assert read_outcomes(path, "base", "paper") == {"en": {"q0": True}, "de": {"q3": True}}
    assert read_outcomes(path, "base", "strict")["en"] == {"q0": False}
    assert read_outcomes(path, "trained", "paper") == {"en": {"q0": False}}
    path.write_text('{"model": "base", "lang": "en"}\n')
    with pytest.raises(HarnessError, match="samples.jsonl: line 1: doc_id: field required; .*--force evaluate"):
        read_outcomes(path, "base")


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


# -- the gate: a drop beyond the tolerance that the paired test says is real ---------------------


@pytest.fixture
def small_runs(tmp_path):
    """24 questions: B right on 12, A on 11 of them (4.2 points, 1 question, McNemar p = 1)."""
    reference = make_run(tmp_path / "reference", {"mgsm": {"trained": {"en": 12}}}, n=24)
    candidate = make_run(tmp_path / "candidate", {"mgsm": {"trained": {"en": 11}}}, n=24)
    return candidate, reference


def test_a_drop_of_one_question_in_24_passes_with_a_note(small_runs, capsys):
    candidate, reference = small_runs
    assert compare_command(str(candidate), str(reference), 2.0, None, as_json=True) == 0
    doc = _json(capsys)
    en = doc["tasks"]["mgsm"]["languages"]["en"]
    assert en["delta"] == pytest.approx(-4.1667) and en["paired"]["p_value"] == 1.0
    assert doc["regressions"] == [] and doc["gate"]["rule"] == "drop_and_test"
    assert doc["notes"][0] == (
        "mgsm en: a 4.2-point drop is beyond the tolerance of 2, 1 question(s) net of 24, but not shown to be "
        "real (McNemar p = 1.000); with 24 questions the paired test cannot call a drop smaller than 6 questions "
        "(25.0 points) real at alpha 0.05: evaluate more questions to tell (or `--min-questions` to fail runs "
        "this small)"
    )
    assert compare_command(str(candidate), str(reference), 2.0, None, as_json=False) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "gate: a regression is a drop beyond the tolerance that the paired test says is real" in out
    assert "not real" in out and "PASS" in out


def test_the_gate_rule_and_min_questions(small_runs, capsys):
    candidate, reference = small_runs
    assert compare_command(str(candidate), str(reference), 2.0, None, as_json=True, rule="drop") == 1
    assert _json(capsys)["regressions"][0]["evidence"] == "McNemar p = 1.000"
    assert compare_command(str(candidate), str(reference), 2.0, None, as_json=False, min_questions=100) == 1
    assert "TOO SMALL: fewer than 100 questions" in " ".join(capsys.readouterr().out.split())
    # the rule is a recipe field: report.gate of the recipe that produced A
    done = candidate / "eval" / "DONE.json"
    record = json.loads(done.read_text())
    record["recipe"]["report"].update(gate="drop", tolerance=2.0)
    done.write_text(json.dumps(record))
    assert compare_command(str(candidate), str(reference), None, None, as_json=True) == 1
    assert _json(capsys)["gate"]["statement"] == "any drop beyond the tolerance"


def test_the_gate_options_on_the_command_line(small_runs):
    from harness.cli import main

    candidate, reference = small_runs
    assert main(["compare", str(candidate), str(reference), "--tolerance", "2"]) == 0
    assert main(["compare", str(candidate), str(reference), "--tolerance", "2", "--gate", "drop"]) == 1
    assert main(["compare", str(candidate), str(reference), "--tolerance", "2", "--min-questions", "50"]) == 1
    assert main(["compare", str(candidate), str(reference), "--tolerance", "2", "--alpha", "1.5"]) == 2
