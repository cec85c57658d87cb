"""The data inside the package (tasks, baselines, recipes): found from any folder, listed with where
it was looked for, copied with `harness cp` so that `defaults:` keeps working."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.preflight import validate_paths
from harness.recipe import load_recipe
from harness.shipped import copy_recipe, locate_recipe, shipped_folder, shipped_recipe

PACKAGE = Path(__file__).resolve().parent.parent / "harness"


def harness(*args, cwd):
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True)


def test_shipped_folders_are_inside_the_package():
    for kind in ("tasks", "baselines", "recipes"):
        assert shipped_folder(kind) == PACKAGE / kind
    assert (shipped_folder("tasks") / "slam_mgsm" / "_slam_mgsm.yaml").is_file()


@pytest.mark.parametrize("name", ["recipes/slam_7b.yaml", "slam_7b.yaml", "slam_7b", "./recipes/slam_7b.yaml"])
def test_a_shipped_recipe_is_found_by_name_from_any_folder(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert shipped_recipe(name) == PACKAGE / "recipes" / "slam_7b.yaml"
    assert load_recipe(name).name == "slam_7b"


def test_a_file_on_disk_wins_over_the_shipped_recipe_of_that_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "recipes").mkdir()
    mine = tmp_path / "recipes" / "slam_7b.yaml"
    mine.write_text("name: my_own\nmodel: {source: a/b}\n")
    assert locate_recipe("recipes/slam_7b.yaml") == Path("recipes/slam_7b.yaml")
    assert load_recipe("recipes/slam_7b.yaml").name == "my_own"


def test_names_outside_the_shipped_folder_are_not_looked_up(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert shipped_recipe("../cli.py") is None and shipped_recipe("/etc/passwd") is None
    with pytest.raises(HarnessError, match="recipe file not found"):
        load_recipe("recipes/no_such_recipe.yaml")


def test_cp_rewrites_defaults_so_the_copy_keeps_inheriting(tmp_path):
    target, parent = copy_recipe("templates/new_base_model.yaml", tmp_path / "mine.yaml")
    assert parent == "recipes/_slam_math.yaml"
    text = target.read_text()
    assert "defaults: recipes/_slam_math.yaml    # the paper's data" in text  # the comment is kept
    assert "# CHOOSE" in text
    recipe = load_recipe(target)
    assert recipe.name == "new_base_model" and recipe.training.global_batch_size == 512  # from _slam_math.yaml
    assert validate_paths([str(target)]) == (1, [])

    nested, parent = copy_recipe("recipes/eval/metamath_7b.yaml", f"{tmp_path / 'sub'}/")
    assert nested == tmp_path / "sub" / "metamath_7b.yaml" and parent == "recipes/eval/_eval_math.yaml"
    assert load_recipe(nested).evaluation is not None


def test_cp_never_overwrites_and_suggests_a_name(tmp_path):
    copy_recipe("quickstart", tmp_path / "q.yaml")
    before = (tmp_path / "q.yaml").read_text()
    with pytest.raises(HarnessError, match="already exists"):
        copy_recipe("quickstart", tmp_path / "q.yaml")
    assert (tmp_path / "q.yaml").read_text() == before
    with pytest.raises(HarnessError, match=r"did you mean [^?]*'recipes/slam_7b.yaml'"):
        copy_recipe("recipes/slam_7.yaml", tmp_path / "x.yaml")


def test_a_missing_defaults_file_is_named_with_the_file_that_asked(tmp_path):
    copied = tmp_path / "qalign_7b.yaml"  # a plain copy: its defaults: is relative to eval/
    copied.write_text((PACKAGE / "recipes" / "eval" / "qalign_7b.yaml").read_text())
    with pytest.raises(HarnessError) as error:
        load_recipe(copied)
    message = str(error.value)
    assert message.startswith(f"{copied}: defaults: '_eval_math.yaml' not found")
    assert "harness cp" in message


def test_ls_from_another_folder_says_where_it_looked_and_lists_the_shipped_data(tmp_path):
    result = harness("ls", "recipes", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"recipes in {PACKAGE / 'recipes'} (shipped with harness)"
    assert "recipes/quickstart.yaml" in result.stdout
    rows = json.loads(harness("ls", "recipes", "--json", cwd=tmp_path).stdout)
    assert {row["file"] for row in rows} >= {"recipes/quickstart.yaml", "recipes/eval/metamath_7b.yaml"}
    assert not [row for row in rows if "error" in row]

    assert harness("ls", "tasks", "--path", cwd=tmp_path).stdout.strip() == str(PACKAGE / "tasks")
    baselines = harness("ls", "baselines", cwd=tmp_path)
    assert baselines.returncode == 0 and "baseline:mgsm/7B/SLAM" in baselines.stdout.replace("\n", "")


def test_ls_reads_a_folder_of_the_users_own_recipes(tmp_path):
    own = tmp_path / "mine"
    own.mkdir()
    (own / "a.yaml").write_text("name: own_a\nmodel: {source: a/b}\ndescription: my first\n")
    result = harness("ls", "recipes", str(own), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [row["name"] for row in json.loads(result.stdout)] == ["own_a"]
    text = harness("ls", "recipes", "mine", cwd=tmp_path)
    assert text.stdout.startswith(f"recipes in {own} (your folder)")

    empty = harness("ls", "recipes", str(tmp_path / "nothing"), cwd=tmp_path)
    assert empty.returncode == 2 and "not a folder" in empty.stderr and "Traceback" not in empty.stderr
    (tmp_path / "blank").mkdir()
    blank = harness("ls", "recipes", "blank", cwd=tmp_path)
    assert blank.returncode == 2 and "no recipe files" in blank.stderr


def test_cp_and_validate_from_another_folder(tmp_path):
    copied = harness("cp", "templates/new_base_model.yaml", "mine.yaml", cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    assert "recipes/_slam_math.yaml" in copied.stdout
    result = harness("validate", "mine.yaml", "recipes/", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shipped_files_cite_nothing_outside_the_repository():
    """A user of the wheel has no ../shared/ or /work/ folder: shipped text must not point there."""
    offenders = [
        str(path.relative_to(PACKAGE))
        for kind in ("tasks", "baselines", "recipes")
        for path in (PACKAGE / kind).rglob("*")
        if path.is_file()
        and path.suffix != ".pyc"
        and ("../shared" in path.read_text() or "/work/" in path.read_text())
    ]
    assert offenders == []


def test_every_paper_model_has_a_shipped_config_and_plan_works_offline(capsys):
    from harness.cli import main
    from harness.models.loading import resolve_source

    sources = set()
    for path in (PACKAGE / "recipes").rglob("*.yaml"):
        if path.name.startswith("_") or "templates" in path.parts:
            continue  # the templates name an example model to replace, not a paper model
        source = load_recipe(path).model.source
        if resolve_source(source).kind == "hub" and not source.startswith("models/"):  # not a user's own folder
            sources.add(source)
    missing = [
        s for s in sorted(sources) if not (PACKAGE / "model_configs" / s.replace("/", "--") / "config.json").is_file()
    ]
    assert sources and missing == []

    assert main(["plan", "recipes/slam_13b.yaml", "--json"]) == 0  # HF_HUB_OFFLINE=1 in the tests
    captured = capsys.readouterr()
    plan = json.loads(captured.out)
    assert "using the published config that ships with harness" in captured.err
    assert plan["layers"] == [0, 1, 2, 3, 4, 5] and round(100 * plan["share"], 1) == 6.5  # the paper's 13B share
