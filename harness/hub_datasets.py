"""Benchmark splits from the Hugging Face Hub, pinned: the commit each load read, whatever era the
repository is in.

A hub dataset repository is in one of two eras for current ``datasets`` (4 and later):

- **data files** (parquet, JSON, ...), with the configs in its README: ``datasets.load_dataset``
  reads it at the resolved commit (MGSM's ``juletxara/mgsm`` since its 2026 conversion);
- **a loading script** (``xcsr.py``), which current ``datasets`` refuses to run ("Dataset scripts
  are no longer supported"): the hub keeps a parquet conversion of such a repository on its
  ``refs/convert/parquet`` branch, one folder per config and split
  (``X-CSQA-en/validation/0000.parquet``), which is read instead (X-CSQA's ``INK-USC/xcsr``, and
  MGSM before its conversion).

``evaluation.tasks.N.revision`` pins a branch, tag or commit; the commit that was read is
returned with the rows and recorded in scores.json, so a number names the data it was measured
on. Offline, a split already in the local ``datasets`` cache loads without a commit to record.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError

CONVERTED_REF = "refs/convert/parquet"
"""The hub's parquet conversion branch of a dataset repository."""
SCRIPTS_REFUSED = "Dataset scripts are no longer supported"


@dataclass(frozen=True)
class HubSource:
    """Where a benchmark's rows came from: what the recipe asked for and what was read."""

    hub_id: str
    revision: str | None
    """As the recipe pinned it (None: the default branch)."""
    ref: str | None
    """The branch, tag or commit read (the conversion branch for a script-era repository)."""
    commit: str | None
    """The resolved commit; None when loaded offline from the local cache."""
    layout: str

    def as_json(self) -> dict[str, Any]:
        return {
            "hub_id": self.hub_id,
            "revision": self.revision,
            "ref": self.ref,
            "commit": self.commit,
            "layout": self.layout,
        }


class Hub:
    """The hub as ``huggingface_hub`` and ``datasets`` reach it (tests put a local folder laid out
    as the hub lays out repositories in its place)."""

    def listing(self, repo: str, revision: str | None) -> tuple[str, list[str]]:
        """(commit, file paths) of a dataset repository at ``revision``."""
        from huggingface_hub import HfApi

        info = HfApi().dataset_info(repo, revision=revision)
        assert info.sha is not None, "the hub answers with the commit it read"
        return info.sha, [sibling.rfilename for sibling in info.siblings or []]

    def load(self, repo: str, commit: str | None, config: str, split: str):
        import datasets

        return datasets.load_dataset(repo, config, split=split, revision=commit)

    def load_parquet(self, repo: str, commit: str, files: list[str]):
        import datasets

        urls = [f"hf://datasets/{repo}@{commit}/{file}" for file in files]
        return datasets.load_dataset("parquet", data_files={"rows": urls}, split="rows")


HUB = Hub()


def converted_files(files: list[str], config: str, split: str) -> list[str]:
    """The parquet files of one config and split in the conversion branch's layout."""
    pattern = re.compile(rf"{re.escape(config)}/(partial-)?{re.escape(split)}/[^/]+\.parquet")
    return sorted(file for file in files if pattern.fullmatch(file))


@functools.cache
def _listing(repo: str, revision: str | None) -> tuple[str, tuple[str, ...]]:
    commit, files = HUB.listing(repo, revision)
    return commit, tuple(files)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}"


def load_split(hub_id: str, config: str, split: str, revision: str | None, place: str, offline: bool = False):
    """(rows, HubSource) of one config and split of a hub dataset, at ``revision``.

    ``offline``: the hub cannot be reached; the local ``datasets`` cache is read (no commit).
    Raises HarnessError naming the fix when the repository, revision, config or split is not
    there, or a pinned revision holds only a loading script.
    """
    if offline:
        try:
            rows = HUB.load(hub_id, revision, config, split)
        except Exception as error:
            raise HarnessError(
                f"{place}: could not load {hub_id} ({config}, split {split}) from the local cache "
                f"({_first_line(error)}); point the task's `path` at local files in the original format"
            ) from None
        return rows, HubSource(hub_id, revision, revision, None, "local datasets cache (offline)")
    try:
        commit, files = _listing(hub_id, revision)
    except Exception as error:
        raise HarnessError(
            f"{place}: {hub_id}" + (f" at revision {revision!r}" if revision else "") + f" not found on the hub "
            f"({_first_line(error)}); check the dataset id and `revision` (a branch, tag or commit)"
        ) from None
    converted = converted_files(list(files), config, split)
    if converted:  # the conversion branch itself, pinned by the recipe
        rows = HUB.load_parquet(hub_id, commit, converted)
        return rows, HubSource(hub_id, revision, revision, commit, "parquet conversion (refs/convert/parquet)")
    try:
        rows = HUB.load(hub_id, commit, config, split)
        return rows, HubSource(hub_id, revision, revision or "main", commit, "data files")
    except Exception as error:
        if SCRIPTS_REFUSED not in str(error):
            raise HarnessError(
                f"{place}: could not load {hub_id} ({config}, split {split}) at commit {commit} "
                f"({_first_line(error)}); check the config name, or point the task's `path` at local files"
            ) from None
    import datasets

    if revision is not None:
        raise HarnessError(
            f"{place}: {hub_id} at revision {revision!r} is a loading-script dataset, which datasets "
            f"{datasets.__version__} no longer runs; set its `revision: {CONVERTED_REF}` (the hub's parquet "
            "conversion of it) or a commit of that branch, or point its `path` at local files"
        )
    try:
        commit, files = _listing(hub_id, CONVERTED_REF)
    except Exception as error:
        raise HarnessError(
            f"{place}: {hub_id} is a loading-script dataset, which datasets {datasets.__version__} no longer "
            f"runs, and its parquet conversion ({CONVERTED_REF}) could not be read ({_first_line(error)}); "
            "point the task's `path` at local files in the original format"
        ) from None
    converted = converted_files(list(files), config, split)
    if not converted:
        configs = sorted({file.split("/")[0] for file in files if file.endswith(".parquet")})
        raise HarnessError(
            f"{place}: {hub_id}'s parquet conversion ({CONVERTED_REF}@{commit[:12]}) has no {config}/{split}; "
            f"it has configs: {', '.join(configs) or 'none'}"
        )
    rows = HUB.load_parquet(hub_id, commit, converted)
    return rows, HubSource(hub_id, None, CONVERTED_REF, commit, "parquet conversion of a loading-script dataset")
