"""Run directories: ownership, one writer at a time, stages changed only by success.

A run folder carries an ownership mark (a non-empty folder without one is refused) and a lock
held by the one invocation working on it. A stage works in ``<run>/<dir>.partial/`` and, on
success, writes ``DONE.json`` (input fingerprint, size and sha256 of every output) there; only
then is the previous result moved to ``history/`` and the new one renamed into place. A stage
killed or failing midway leaves the previous result where it was and its ``.partial`` folder
(e.g. training checkpoints) for the next attempt with the same inputs. A result in ``history/``
whose inputs come back is restored instead of recomputed. The file layout and the shape of every
file are in :mod:`harness.artifacts`.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import json
import os
import platform
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.artifacts import (
    ATTEMPT,
    HISTORY,
    INVOCATIONS,
    LOCK_FILE,
    MANIFEST,
    MARKER,
    OWNER_MARK,
    SAMPLES_FILE,
    SCORES_FILE,
    SELECTION_FILE,
    STAGE_DIRS,
    TRAIN_FILE,
    Artifact,
    Attempt,
    Done,
    Invocation,
    Manifest,
    OutputFile,
    OwnerMark,
    SampleRow,
    Scores,
    Selection,
    TrainRecord,
    parse_artifact,
    read_artifact,
    read_samples,
    redo,
    seal_of,
)
from harness.artifacts import read_json_file as read_json  # noqa: F401 (the name the stages import from here)
from harness.errors import HarnessError

_UMASK = os.umask(0)
os.umask(_UMASK)


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
            handle.flush()
            os.fsync(handle.fileno())  # on disk before the rename publishes it (a crash leaves old or new)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes owner-only files; results are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fsync_tree(folder: Path) -> None:
    """Flush every file and folder under ``folder`` (and it) to disk, before a rename publishes it.

    Without it a crash soon after a publish can leave zero-byte files in a result marked finished.
    """
    folder = Path(folder)
    for path in sorted(folder.rglob("*"), reverse=True):  # files before the folders that hold them
        if path.is_symlink():
            continue
        _fsync_path(path)
    _fsync_path(folder)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=_jsonable) + "\n")


def write_artifact(path: Path, artifact: Artifact) -> None:
    """A stage's typed output, as JSON: the fields it was built with (no defaults added, NaN kept)."""
    write_json(path, artifact.model_dump(exclude_unset=True))


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


def environment() -> dict:
    from harness.environment import environment as record

    return record()


def git_commit() -> str | None:
    """The harness checkout's commit (with "-dirty" when it has local changes), if any."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("-dirty" if dirty else "")) or None


def package_versions() -> dict[str, str | None]:
    from harness.environment import package_versions as versions

    return versions()


def code_version() -> str:
    """What a stage's fingerprint holds of the code: the harness release.

    Not the git commit: any commit (a typo fixed in a README) would then redo hours of training.
    The commit is recorded in the manifest; bump the version when results change.
    """
    from harness import __version__

    return __version__


def die_with_parent() -> None:
    """In a child process: ask Linux to send SIGTERM when the parent dies (no-op elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


PARENT_ENV = "HARNESS_PARENT"
"""Set for training workers: ``host:pid:start`` of the harness process that launched them."""


def _start_time(pid: int) -> str | None:
    """A process's start time (clock ticks since boot), which tells it from a later one on its PID."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if fields[0] != "Z" else None  # field 22 of stat; a zombie is gone


def parent_identity() -> str:
    """This process, as a training worker's watchdog recognises it (see :func:`watch_launcher`)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def watch_launcher(interval: float = 0.5) -> None:
    """In a training worker: end this process as soon as the harness process that launched it ends.

    PR_SET_PDEATHSIG covers the direct parent only; between the harness and a worker sit
    launchers (DeepSpeed's runner and its ``launch`` child, torchrun's agent) that a kill -9 of
    the harness re-parents to PID 1 instead of ending. The worker watches the harness itself:
    through a pidfd, which wakes the moment it ends (a tiny model trains several steps and
    saves a checkpoint in half a second, so polling would let an orphan train on), else by
    polling every ``interval`` seconds.
    """
    host, _, rest = os.environ.get(PARENT_ENV, "").partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return  # launched by hand, or a rank on another node (its launcher ends it with the run)
    try:
        pidfd: int | None = os.pidfd_open(int(pid))  # opened before the check, so the PID cannot be reused between
    except (AttributeError, OSError):
        pidfd = None

    def stop() -> None:
        print(
            f"error: the harness process {pid} that launched this training has ended; stopping this worker "
            f"(PID {os.getpid()}); run the command again to resume",
            file=sys.stderr,
            flush=True,
        )
        os._exit(3)

    def watch() -> None:
        if pidfd is not None and _start_time(int(pid)) == started:
            select.select([pidfd], [], [])  # readable once the process has ended
        while _start_time(int(pid)) == started:
            time.sleep(interval)
        stop()

    threading.Thread(target=watch, name="watch-launcher", daemon=True).start()


WORKERS_LOCK = ".workers.lock"
"""Held (shared) by every training worker of the run while it lives, whoever launched it."""


def hold_workers_lock(run_root: Path) -> int:
    """In a training worker: hold the run's workers lock (shared) until the process ends."""
    fd = _open_no_follow(Path(run_root) / WORKERS_LOCK)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def _open_no_follow(path: Path, flags: int = os.O_RDWR | os.O_CREAT) -> int:
    """Open a file the harness writes, refusing a symbolic link planted in its place."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW, 0o666 & ~_UMASK)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise HarnessError(
                f"{path}: a symbolic link (to {os.readlink(path)}); the harness does not write through "
                "links it did not make: remove the link and run again"
            ) from None
        raise


def _run_workers(root: Path) -> list[int]:
    """PIDs of training workers (on this machine) working on the run folder ``root``."""
    found = []
    needle = str(Path(root).resolve()).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"harness.training.worker" in argv and needle in argv:
            found.append(int(entry.name))
    return found


def wait_for_workers(root: Path, timeout: float = 30.0) -> None:
    """Wait until no training worker of an earlier invocation holds the run; refuse after ``timeout``.

    A worker whose harness was killed ends by itself within a second (:func:`watch_launcher`);
    one still running after ``timeout`` (a worker that is not ours to stop) is named.
    """
    fd = _open_no_follow(Path(root) / WORKERS_LOCK)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pids = ", ".join(map(str, _run_workers(root))) or "unknown"
                    raise HarnessError(
                        f"{root}: training workers of an earlier invocation still run (PID {pids}); stop them "
                        "(`kill PID`) and run the command again; nothing was changed"
                    ) from None
                time.sleep(0.2)
    finally:
        os.close(fd)


_HELD: dict[Path, int] = {}
"""Run locks this process holds, by lock file: released when the process ends."""


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()  # hashlib.file_digest is 3.11+; the package supports 3.10
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def output_files(folder: Path) -> dict[str, OutputFile]:
    """Size and sha256 of every file in a finished stage folder (its markers excepted)."""
    found = {}
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative in (MARKER, ATTEMPT):
            continue
        stat = path.stat()
        found[relative] = OutputFile(size=stat.st_size, sha256=file_digest(path), mtime_ns=stat.st_mtime_ns)
    return found


def changed_outputs(folder: Path, recorded: dict[str, OutputFile]) -> list[str]:
    """What differs from the recorded outputs: one phrase per file; [] when intact.

    A file with its recorded size and modification time is taken as unchanged (hashing a
    merged 13B model on every skip would cost a minute); any other is hashed.
    """
    problems = []
    for relative, expected in recorded.items():
        path = Path(folder) / relative
        try:
            stat = path.stat()
        except FileNotFoundError:
            problems.append(f"{relative} vanished")
            continue
        if stat.st_size != expected.size:
            problems.append(f"{relative} is {stat.st_size} bytes, not {expected.size}")
        elif stat.st_mtime_ns != expected.mtime_ns and file_digest(path) != expected.sha256:
            problems.append(f"{relative} was edited (sha256 differs)")
    return problems


def verified_output(root: Path, stage: str, relative: str) -> Path:
    """``<root>/<stage folder>/<relative>``, checked against the stage's DONE.json (size and sha256).

    What every reader of a run's results (report, compare, leaderboard, export) goes through: a
    file edited after its stage finished is refused, as ``harness run`` refuses it.
    """
    folder = Path(root) / STAGE_DIRS[stage]
    path = folder / relative
    marker = folder / MARKER
    if not marker.is_file():
        raise HarnessError(
            f"{path}: stage {stage!r} has not finished in run {root} (no {marker.name}); run it first "
            f"(`harness {stage} RECIPE --run-dir {root}`)"
        )
    done = read_artifact(marker, Done, redo(stage, root))
    if done.outputs is None:  # written before outputs were recorded: nothing to check against
        return path
    recorded = done.outputs.get(relative)
    if recorded is None:
        raise HarnessError(f"{path}: not among the files stage {stage!r} finished with; {redo(stage, root)}")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise HarnessError(f"{path}: vanished since stage {stage!r} finished; {redo(stage, root)}") from None
    if size != recorded.size:
        why = f"{size} bytes, not {recorded.size}"
    elif file_digest(path) != recorded.sha256:
        why = "its sha256 differs"
    else:
        return path
    raise HarnessError(f"{path}: changed since stage {stage!r} finished ({why}); it is not read; {redo(stage, root)}")


MODEL_ROLES = ("base", "trained")
"""The models a run evaluates: its base model and the model it trained."""


def parse_model_ref(text: str) -> tuple[Path, str | None]:
    """``RUN`` or ``RUN:base`` / ``RUN:trained`` (what compare, the leaderboard and the report take):
    the run folder and the model (None: the caller's default)."""
    head, sep, tail = text.rpartition(":")
    if sep and tail in MODEL_ROLES:
        return Path(head), tail
    return Path(text), None


@dataclass
class Run:
    """One run directory."""

    root: Path
    lock_fd: int | None = field(default=None, repr=False)
    """The open lock file while this process holds the run (passed on to worker processes)."""

    @classmethod
    def create(cls, root: Path) -> Run:
        """Open (creating if absent) a run folder that the harness owns; refuse any other."""
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise HarnessError(f"--run-dir {root}: exists and is not a folder; choose another path")
        mark = root / OWNER_MARK
        if root.is_dir() and any(root.iterdir()) and not mark.is_file() and not _legacy_run(root):
            raise HarnessError(
                f"--run-dir {root}: a non-empty folder that is not a harness run (no {OWNER_MARK}); "
                "nothing was changed; pass a new or empty folder"
            )
        root.mkdir(parents=True, exist_ok=True)
        if not mark.is_file():
            write_json(mark, OwnerMark(harness_run=True, created=now()).model_dump())
        run = cls(root)
        run.check_links()
        return run

    def check_links(self) -> None:
        """Stage folders must be real folders: renames publish them, and a link would be lost."""
        for name in [*STAGE_DIRS.values(), HISTORY]:
            for path in (self.root / name, self.root / f"{name}.partial"):
                if path.is_symlink():
                    raise HarnessError(
                        f"{path}: a symbolic link (to {os.readlink(path)}); stage folders must be real "
                        "folders: move the folder it points to there, or put the whole run on that "
                        "disk with --run-dir"
                    )

    # -- one writer at a time ---------------------------------------------------------------
    def lock(self) -> None:
        """Hold the run's lock until this process (and the workers it hands ``lock_fd``) ends."""
        if self.lock_fd is not None:
            return
        path = self.root.resolve() / LOCK_FILE
        if path in _HELD:  # this process holds it already (another Run object on the same folder)
            self.lock_fd = _HELD[path]
            return
        fd = _open_no_follow(self.root / LOCK_FILE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode("utf-8", "replace")
            os.close(fd)
            try:
                info = json.loads(holder)
                who = f"PID {info['pid']} on {info['host']} since {info['since']}"
            except (ValueError, KeyError, TypeError):
                who = "another process"
            raise HarnessError(
                f"{self.root}: in use by {who}; wait for it to end (or stop it) and run "
                "the command again; nothing was changed"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": now()}).encode())
        self.lock_fd = _HELD[path] = fd
        wait_for_workers(self.root)

    # -- manifest ---------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def manifest(self) -> Manifest:
        return read_artifact(
            self.manifest_path, Manifest, "delete it (every stage keeps its own recipe in its DONE.json) and run again"
        )

    def check_recipe(self, recipe_name: str) -> None:
        """Refuse to reuse a run directory that belongs to another recipe."""
        if self.manifest_path.exists():
            previous = self.manifest().recipe.name
            if previous != recipe_name:
                raise HarnessError(
                    f"{self.root}: this run directory belongs to recipe {previous!r}, not "
                    f"{recipe_name!r}; pass another --run-dir (nothing was changed)"
                )

    def write_manifest(self, resolved_recipe: dict, seed: int) -> None:
        """Record the resolved recipe and the environment that produced the run's results.

        Written when a stage publishes (and when the run is created), never by an invocation
        that fails before producing anything; each stage's DONE.json keeps its own recipe.
        """
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
                "environment": environment(),  # what `harness env` prints: GPUs, driver, CUDA, CPU
            },
        )

    def log_invocation(self, resolved_recipe: dict) -> None:
        """Append this command to ``invocations.jsonl`` (every command that worked on the run)."""
        entry = Invocation(
            time=now(),
            host=socket.gethostname(),
            pid=os.getpid(),
            argv=sys.argv,
            recipe=str(resolved_recipe.get("name")),
            recipe_fingerprint=fingerprint(resolved_recipe),
        )
        fd = _open_no_follow(self.root / INVOCATIONS, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        with os.fdopen(fd, "a", encoding="utf-8") as log:
            log.write(entry.model_dump_json() + "\n")

    # -- stages -----------------------------------------------------------------------------
    def stage_dir(self, stage: str) -> Path:
        """The finished output folder of a stage (may not exist yet)."""
        return self.root / STAGE_DIRS[stage]

    # -- the stages' files, read back typed ---------------------------------------------------
    def selection(self) -> Selection:
        """``selection/selection.json``."""
        return read_artifact(self.stage_dir("select") / SELECTION_FILE, Selection, redo("select", self.root))

    def train_record(self) -> TrainRecord:
        """``train/train.json``."""
        return read_artifact(self.stage_dir("train") / TRAIN_FILE, TrainRecord, redo("train", self.root))

    def scores(self) -> Scores:
        """``eval/scores.json``."""
        return read_artifact(self.stage_dir("evaluate") / SCORES_FILE, Scores, redo("evaluate", self.root))

    def samples_file(self, task: str) -> Path:
        return self.stage_dir("evaluate") / task / SAMPLES_FILE

    def samples(self, task: str, role: str | None = None) -> list[SampleRow]:
        """The rows of ``eval/<task>/samples.jsonl`` (of one model, ``base`` or ``trained``, when given)."""
        rows = read_samples(self.samples_file(task), redo("evaluate", self.root))
        return [row for row in rows if role is None or row.model == role]

    def partial_dir(self, stage: str) -> Path:
        return self.root / (STAGE_DIRS[stage] + ".partial")

    def finished(self, stage: str) -> Done | None:
        """The stage's DONE.json, None when it has not finished; a broken one is an error."""
        marker = self.stage_dir(stage) / MARKER
        if not marker.is_file():
            return None
        return read_artifact(marker, Done, redo(stage, self.root))

    def is_done(self, stage: str, inputs: str | None = None) -> bool:
        """Whether the stage finished; with ``inputs``, whether it finished on those inputs."""
        try:
            done = self.finished(stage)
        except HarnessError:
            return False
        return done is not None and (inputs is None or done.fingerprint == inputs)

    def check_outputs(self, stage: str, done: Done) -> None:
        """Refuse a finished result whose files changed or vanished since it finished."""
        problems = changed_outputs(self.stage_dir(stage), done.outputs or {})
        if problems:
            raise HarnessError(
                f"{self.stage_dir(stage)}: stage {stage!r} changed since it finished ({'; '.join(problems[:3])}"
                f"{'; ...' if len(problems) > 3 else ''}); redo it with `--force {stage}` (the changed "
                "folder is kept under history/)"
            )

    def require(self, stage: str) -> Path:
        """The output folder of a finished, intact upstream stage, or a clear error."""
        self.require_done(stage)
        return self.stage_dir(stage)

    def require_done(self, stage: str) -> Done:
        """The DONE.json of a finished, intact upstream stage, or a clear error."""
        done = self.finished(stage)
        if done is None:
            raise HarnessError(
                f"{self.root}: stage {stage!r} has not finished in this run; run it first "
                f"(`harness {stage} RECIPE --run-dir {self.root}` or `harness run`)"
            )
        self.check_outputs(stage, done)
        return done

    def finish_publishes(self) -> list[str]:
        """Complete the publish of any stage killed between its two renames; returns those stages.

        A ``.partial`` folder with DONE.json, no ATTEMPT.json and every output as DONE.json lists
        it is a finished result: it is put in place (the previous one, if still there, goes to
        history), never recomputed.
        """
        finished = []
        for stage in STAGE_DIRS:
            work = self.partial_dir(stage)
            if not (work / MARKER).is_file() or (work / ATTEMPT).exists():
                continue
            try:
                done = read_artifact(work / MARKER, Done, "")
            except HarnessError:
                continue
            if done.outputs is None or changed_outputs(work, done.outputs):
                continue
            self._retire(stage)
            os.replace(work, self.stage_dir(stage))
            _fsync_path(self.root)
            finished.append(stage)
        return finished

    def result_or_kept(self, stage: str) -> Path:
        """The stage's finished folder; else (an invocation was killed after moving it to history/)
        the latest intact result in history/; else the error of :meth:`require`."""
        if self.finished(stage) is not None:
            return self.require(stage)
        kept = []
        for folder in (self.root / HISTORY).glob(f"{STAGE_DIRS[stage]}-*"):
            try:
                done = read_artifact(folder / MARKER, Done, "")
            except HarnessError:
                continue
            if done.outputs is not None and not changed_outputs(folder, done.outputs):
                kept.append((done.finished, folder))
        if not kept:
            return self.require(stage)
        return max(kept)[1]

    # -- history ----------------------------------------------------------------------------
    def from_history(self, stage: str, inputs: str) -> Path | None:
        """An intact earlier result of ``stage`` on exactly these inputs, if history has one."""
        for folder in sorted((self.root / HISTORY).glob(f"{STAGE_DIRS[stage]}-{inputs}*")):
            try:
                done = read_artifact(folder / MARKER, Done, "")
            except HarnessError:
                continue
            if done.fingerprint == inputs and not changed_outputs(folder, done.outputs or {}):
                return folder
        return None

    def restore(self, stage: str, folder: Path) -> None:
        """Put an earlier result back in place; the current one (if any) goes to history."""
        self._retire(stage)
        os.replace(folder, self.stage_dir(stage))

    def _retire(self, stage: str) -> None:
        """Move the finished result (if any) to ``history/<dir>-<fingerprint>``; never delete it."""
        final = self.stage_dir(stage)
        if not final.exists():
            return
        try:
            key = read_artifact(final / MARKER, Done, "").fingerprint
        except HarnessError:
            key = "unreadable"
        history = self.root / HISTORY
        history.mkdir(exist_ok=True)
        target = history / f"{final.name}-{key}"
        if target.exists():
            target = history / f"{final.name}-{key}-{uuid.uuid4().hex[:8]}"
        os.replace(final, target)

    @contextmanager
    def stage(
        self,
        stage: str,
        inputs: str,
        *,
        recipe: dict | None = None,
        upstream: dict[str, str] | None = None,
        fresh: bool = False,
    ) -> Iterator[Path]:
        """Work on a stage in its ``.partial`` folder; publish it only on success.

        A leftover ``.partial`` folder from an interrupted attempt on the same inputs is reused
        (so training resumes from its checkpoints) unless ``fresh``; one from other inputs is
        cleared. The previous result stays in place until the new one is complete.
        """
        self.check_links()
        work = self.partial_dir(stage)
        attempt = work / ATTEMPT
        if work.exists() and (fresh or _attempt_of(attempt) != inputs):
            shutil.rmtree(work)
        work.mkdir(parents=True, exist_ok=True)
        write_json(attempt, {"fingerprint": inputs})
        started = time.time()
        yield work
        attempt.unlink()
        fsync_tree(work)  # every output on disk before DONE.json says the stage finished
        done = Done(
            fingerprint=inputs,
            output_id=uuid.uuid4().hex,
            seconds=round(time.time() - started, 2),
            finished=now(),
            outputs=output_files(work),
            upstream=upstream or {},
            recipe=recipe,
        )
        marker = done.model_dump(exclude_none=True)
        write_json(work / MARKER, {**marker, "seal": seal_of(marker)})
        self._retire(stage)
        os.replace(work, self.stage_dir(stage))
        _fsync_path(self.root)  # the renames themselves


def _attempt_of(path: Path) -> str | None:
    try:
        return parse_artifact(path, Attempt, json.loads(path.read_text(encoding="utf-8")), "").fingerprint
    except (OSError, ValueError, HarnessError):
        return None


def _legacy_run(root: Path) -> bool:
    """A run made before ownership marks: its manifest.json has the harness's shape."""
    try:
        read_artifact(root / MANIFEST, Manifest, "")
    except HarnessError:
        return False
    return True
