"""The data that ships inside the package: lm-eval tasks, published baselines and recipes.

They live in ``harness/tasks``, ``harness/baselines`` and ``harness/recipes`` and are read through
:mod:`importlib.resources`, so a wheel installed anywhere carries them and works from any folder.

One rule finds a recipe: a path that exists (relative to the current folder) is that file;
otherwise the name is looked up among the shipped recipes, with or without the ``recipes/``
prefix and the ``.yaml`` suffix (``recipes/slam_7b.yaml``, ``slam_7b.yaml`` and ``slam_7b`` are
the same shipped file). A recipe's ``defaults:`` follows the same rule, relative to the file
that names it first.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import Literal

from harness.errors import HarnessError

Kind = Literal["tasks", "baselines", "recipes", "model_configs"]
RECIPE_PREFIX = "recipes/"
"""What the README's commands write before a shipped recipe (`harness run recipes/quickstart.yaml`)."""


def package_path(kind: Kind) -> Path:
    """Where the installed package keeps ``kind`` (not checked; :func:`shipped_folder` checks)."""
    return Path(str(files("harness").joinpath(kind)))


def shipped_folder(kind: Kind) -> Path:
    """The installed folder of ``kind`` (a real directory: lm-eval's ``--include_path`` needs one)."""
    folder = files("harness").joinpath(kind)
    if not isinstance(folder, Path) or not folder.is_dir():
        raise HarnessError(
            f"harness/{kind}: the package's {kind} folder is missing from this install ({folder}); "
            "reinstall harness with pip (a zipped or partial install cannot serve lm-eval a task folder)"
        )
    return folder


def shipped_recipe(name: str | Path) -> Path | None:
    """The shipped recipe ``name`` stands for (``recipes/slam_7b.yaml``, ``slam_7b``), or None;
    ``recipes`` itself (or ``recipes/``) is the shipped folder."""
    text = str(name).replace("\\", "/").removeprefix("./")
    root = shipped_folder("recipes")
    if text.rstrip("/") == RECIPE_PREFIX.rstrip("/"):
        return root
    text = text.removeprefix(RECIPE_PREFIX)
    if not text or Path(text).is_absolute() or ".." in Path(text).parts:
        return None
    for candidate in (root / text, root / f"{text}.yaml"):
        if candidate.exists():
            return candidate
    return None


def locate_recipe(name: str | Path, relative_to: Path | None = None) -> Path | None:
    """A recipe file or folder by the one rule above: on disk first (relative to ``relative_to``
    or the current folder), then among the shipped recipes. None when neither has it."""
    path = Path(name)
    on_disk = (relative_to / path) if relative_to is not None else path
    if on_disk.exists():
        return on_disk
    return shipped_recipe(name)


def display_name(path: Path) -> str:
    """How a user names ``path``: ``recipes/<relative path>`` for a shipped recipe, else the path."""
    try:
        return RECIPE_PREFIX + path.resolve().relative_to(shipped_folder("recipes").resolve()).as_posix()
    except ValueError:
        return str(path)


DEFAULTS_LINE = re.compile(r"^(?P<key>defaults:[ \t]*)(?P<quote>['\"]?)(?P<value>[^'\"#\s]+)(?P=quote)", re.MULTILINE)


def copy_recipe(name: str, dest: str | Path) -> tuple[Path, str | None]:
    """`harness cp RECIPE DEST`: copy a shipped recipe to edit; returns the new file and its ``defaults:``.

    The copy's ``defaults:`` is rewritten to the shipped file's name (``recipes/_slam_math.yaml``),
    so it keeps inheriting wherever the copy lives; comments and layout stay as they are. An
    existing file is never overwritten."""
    source = shipped_recipe(name)
    if source is None or not source.is_file():
        from harness.registry import suggest

        known = [display_name(p) for p in sorted(shipped_folder("recipes").rglob("*.yaml"))]
        raise HarnessError(
            f"{name}: no shipped recipe of that name"
            f"{suggest(RECIPE_PREFIX + str(name).removeprefix(RECIPE_PREFIX), known)}; "
            "`harness ls recipes` lists them"
        )
    target = Path(dest)
    if target.is_dir() or str(dest).endswith(("/", "\\")):
        target = target / source.name
    if target.exists():
        raise HarnessError(f"{target}: already exists; choose another destination (nothing was overwritten)")
    text = source.read_text(encoding="utf-8")
    match = DEFAULTS_LINE.search(text)
    parent = None
    if match:
        parent = display_name((source.parent / match["value"]).resolve())
        text = text[: match.start("quote")] + parent + text[match.end() :]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target, parent
