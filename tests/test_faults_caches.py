"""Caches outside the run folder hold what they are keyed by, or are named and rebuilt.

GGUF conversions are keyed by the sha256 of the whole file (two files of one name and size that
differ in the middle get two conversions), built by one process at a time and published by
rename (two processes first using one GGUF both succeed); a damaged entry is named and rebuilt.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.caches import ENTRY, entry_problems
from harness.models.config import ModelConfig
from harness.models.loading import local_folder

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private ~/.cache for the test (the GGUF conversions live under it)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "harness" / "gguf"


def tensors(folder: str) -> dict:
    from safetensors.torch import load_file

    return load_file(Path(folder) / "model.safetensors")


def test_two_ggufs_of_one_name_and_size_that_differ_in_the_middle_get_their_own_conversion(tmp_path, cache):
    from conftest import write_tiny_gguf

    base_file = write_tiny_gguf(tmp_path / "tiny.gguf", intermediate_size=1024)  # 3.6 MB: a middle to differ in
    data = bytearray(base_file.read_bytes())
    assert len(data) > 3 * 2**20
    middle = len(data) // 2  # inside the tensor data, far from the first and last MiB of a real model
    data[middle : middle + 4] = b"\x00\x00\x80\x3f" if data[middle : middle + 4] != b"\x00\x00\x80\x3f" else b"\0" * 4
    tuned = tmp_path / "fine-tuned" / base_file.name
    tuned.parent.mkdir()
    tuned.write_bytes(bytes(data))
    assert tuned.stat().st_size == base_file.stat().st_size

    base_folder = local_folder(ModelConfig(source=str(base_file)))
    tuned_folder = local_folder(ModelConfig(source=str(tuned)))
    assert base_folder != tuned_folder
    base, changed = tensors(base_folder), tensors(tuned_folder)
    assert [name for name in base if not base[name].equal(changed[name])], "the conversions hold the same weights"
    assert local_folder(ModelConfig(source=str(tuned))) == tuned_folder  # the hash is remembered


def test_two_processes_first_using_one_gguf_both_succeed(tiny_gguf, cache):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "harness.models.loading", str(tiny_gguf)]
    both = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in "ab"]
    results = [(p.wait(), *p.communicate()) for p in both]
    assert [code for code, _, _ in results] == [0, 0], [err[-2000:] for _, _, err in results]
    folders = {out.strip() for _, out, _ in results}
    assert len(folders) == 1
    folder = Path(folders.pop())
    assert entry_problems(folder) == [] and (folder / ENTRY).is_file()
    assert sorted(p.name for p in cache.iterdir() if p.name.startswith(".")) == []  # no staging left behind


@pytest.mark.parametrize("damage", ["truncate", "empty"])
def test_a_damaged_conversion_is_named_and_rebuilt(tiny_gguf, cache, capsys, damage):
    folder = Path(local_folder(ModelConfig(source=str(tiny_gguf))))
    reference = {name: value.clone() for name, value in tensors(str(folder)).items()}
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2] if damage == "truncate" else b"")
    capsys.readouterr()
    again = Path(local_folder(ModelConfig(source=str(tiny_gguf))))
    err = capsys.readouterr().err
    assert again == folder and f"{folder} is damaged (model.safetensors is " in err and "rebuilding it" in err, err
    assert entry_problems(folder) == []
    rebuilt = tensors(str(folder))
    assert all(rebuilt[name].equal(reference[name]) for name in reference)
