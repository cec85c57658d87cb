"""Caches outside the run folder (GGUF conversions, tokenised data): keyed by content, checked on read.

An entry is a folder named by a hash of everything it is made from. It is built by one process at
a time (a file lock beside it: a second process waits, then reads), in a staging folder that is
renamed into place once complete, with ``ENTRY.json`` listing the size and sha256 of every file.
An entry whose files differ from that list (a truncated write, a disk error, a hand edit) is
named on the terminal and rebuilt, never read.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from harness.runs import changed_outputs, file_digest, fsync_tree, output_files, write_json

ENTRY = "ENTRY.json"


def file_sha256(path: Path, memo: Path) -> str:
    """The sha256 of a file's whole content, remembered (under ``memo``) by its path, size, mtime and inode.

    Hashing a multi-GB model file costs seconds; a file that kept all four is taken as unchanged.
    """
    path = Path(path).resolve()
    stat = path.stat()
    key = hashlib.sha256(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ino}".encode()).hexdigest()
    remembered = memo / f"{key[:32]}.sha256"
    try:
        value = remembered.read_text(encoding="ascii").strip()
        if len(value) == 64:
            return value
    except (OSError, UnicodeDecodeError):
        pass
    value = file_digest(path)
    memo.mkdir(parents=True, exist_ok=True)
    staging = remembered.with_name(f".{remembered.name}.{uuid.uuid4().hex[:8]}")
    staging.write_text(value + "\n", encoding="ascii")
    os.replace(staging, remembered)
    return value


def entry_problems(folder: Path) -> list[str]:
    """What is wrong with a cache entry (one phrase each); [] when every file is as it was written."""
    try:
        recorded = json.loads((folder / ENTRY).read_text(encoding="utf-8"))["files"]
        from harness.artifacts import OutputFile

        files = {name: OutputFile.model_validate(value) for name, value in recorded.items()}
    except FileNotFoundError:
        return [f"{ENTRY} is missing"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return [f"{ENTRY} is unreadable ({type(error).__name__})"]
    return changed_outputs(folder, files)


def cached_entry(folder: Path, build: Callable[[Path], None], what: str) -> tuple[Path, bool]:
    """The complete entry ``folder``, built by ``build(staging_folder)`` when absent or damaged.

    Returns (folder, whether it was already there). ``what`` names the entry in messages.
    """
    from filelock import FileLock

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder.parent / f"{folder.name}.lock")):
        if folder.exists():
            problems = entry_problems(folder)
            if not problems:
                return folder, True
            print(
                f"warning: {what} {folder} is damaged ({'; '.join(problems[:3])}); rebuilding it",
                file=sys.stderr,
                flush=True,
            )
            shutil.rmtree(folder)
        staging = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}")
        staging.mkdir()
        try:
            build(staging)
            write_json(staging / ENTRY, {"files": {k: v.model_dump() for k, v in output_files(staging).items()}})
            fsync_tree(staging)
            os.replace(staging, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return folder, False
