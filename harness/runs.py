"""Run directories: manifest, per-stage folders with atomic completion and input fingerprints.

A stage works in ``<run>/<dir>.partial/`` and, on success, writes ``DONE.json`` (its input
fingerprint) there and renames the folder to ``<run>/<dir>/``. A stage killed midway leaves its
``.partial`` folder (e.g. training checkpoints) for the next attempt with the same inputs; a
finished stage whose fingerprint still matches is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from harness.errors import HarnessError

_UMASK = os.umask(0)
os.umask(_UMASK)

STAGE_DIRS = {"select": "selection", "train": "train", "evaluate": "eval", "report": "report"}
MARKER = "DONE.json"


def fingerprint(*parts: Any) -> str:
    """A stable hash of JSON-serialisable inputs."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes owner-only files; results are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=_jsonable) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HarnessError(f"{path}: file not found") from None
    except json.JSONDecodeError as error:
        raise HarnessError(f"{path}: line {error.lineno}: not valid JSON ({error.msg})") from None


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def git_commit() -> str | None:
    """The harness checkout's commit (with "-dirty" when it has local changes), if any."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("-dirty" if dirty else "")) or None


def package_versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    names = ["harness", "torch", "transformers", "lm-eval", "deepspeed", "datasets", "peft"]
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def code_version() -> str:
    """What a stage's fingerprint holds of the code: the harness release.

    Not the git commit: any commit (a typo fixed in a README) would then redo hours of training.
    The commit is recorded in the manifest; bump the version when results change.
    """
    from harness import __version__

    return __version__


@dataclass
class Run:
    """One run directory."""

    root: Path

    @classmethod
    def create(cls, root: Path) -> "Run":
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise HarnessError(f"--run-dir {root}: exists and is not a folder; choose another path")
        root.mkdir(parents=True, exist_ok=True)
        return cls(root)

    # -- manifest ---------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def check_recipe(self, recipe_name: str) -> None:
        """Refuse to reuse a run directory that belongs to another recipe."""
        if self.manifest_path.exists():
            previous = read_json(self.manifest_path).get("recipe", {}).get("name")
            if previous not in (None, recipe_name):
                raise HarnessError(
                    f"{self.root}: this run directory belongs to recipe {previous!r}, not "
                    f"{recipe_name!r}; pass another --run-dir (nothing was changed)"
                )

    def write_manifest(self, resolved_recipe: dict, seed: int) -> None:
        """Record the resolved recipe and the environment; keep the history of invocations."""
        previous = read_json(self.manifest_path) if self.manifest_path.exists() else {}
        invocations = previous.get("invocations", [])
        invocations.append({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": socket.gethostname()})
        write_json(
            self.manifest_path,
            {
                "recipe": resolved_recipe,
                "versions": package_versions(),
                "git_commit": git_commit(),
                "seed": seed,
                "host": {
                    "name": socket.gethostname(),
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                },
                "invocations": invocations,
            },
        )

    # -- stages -----------------------------------------------------------------------------
    def stage_dir(self, stage: str) -> Path:
        """The finished output folder of a stage (may not exist yet)."""
        return self.root / STAGE_DIRS[stage]

    def partial_dir(self, stage: str) -> Path:
        return self.root / (STAGE_DIRS[stage] + ".partial")

    def is_done(self, stage: str, inputs: str | None = None) -> bool:
        """Whether the stage finished; with ``inputs``, whether it finished on those inputs."""
        marker = self.stage_dir(stage) / MARKER
        if not marker.exists():
            return False
        return inputs is None or read_json(marker).get("fingerprint") == inputs

    def require(self, stage: str) -> Path:
        """The output folder of a finished upstream stage, or a clear error."""
        if not self.is_done(stage):
            raise HarnessError(
                f"{self.root}: stage {stage!r} has not finished in this run; run it first "
                f"(`harness {stage} RECIPE --run-dir {self.root}` or `harness run`)"
            )
        return self.stage_dir(stage)

    @contextmanager
    def stage(self, stage: str, inputs: str, fresh: bool = False) -> Iterator[Path]:
        """Work on a stage in its ``.partial`` folder; publish it atomically on success.

        A leftover ``.partial`` folder from an interrupted attempt on the same inputs is reused
        (so training resumes from its checkpoints); one from other inputs, or any with ``fresh``
        (``--force STAGE``), is cleared.
        """
        work = self.partial_dir(stage)
        attempt = work / "ATTEMPT.json"
        if work.exists() and (fresh or not attempt.exists() or read_json(attempt).get("fingerprint") != inputs):
            shutil.rmtree(work)
        work.mkdir(parents=True, exist_ok=True)
        write_json(attempt, {"fingerprint": inputs})
        started = time.time()
        yield work
        attempt.unlink()
        # output_id identifies this result: stages downstream fingerprint it, so a redone
        # stage invalidates them even when its own inputs did not change.
        write_json(work / MARKER, {"fingerprint": inputs, "output_id": uuid.uuid4().hex, "seconds": round(time.time() - started, 2),
                                   "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
        final = self.stage_dir(stage)
        if final.exists():
            # The old result is replaced only now that the new one is complete.
            stale = final.with_name(final.name + ".old")
            shutil.rmtree(stale, ignore_errors=True)
            os.replace(final, stale)
            os.replace(work, final)
            shutil.rmtree(stale)
        else:
            os.replace(work, final)
