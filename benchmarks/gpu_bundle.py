"""Pack what a lent GPU machine lacks, for benchmarks/gpu_checks.sh to unpack there.

    python benchmarks/gpu_bundle.py            # writes .cache/gpu-bundle/ (ignored by git)

The lent machines have torch, transformers, peft and accelerate (Python 3.12) but not deepspeed,
lm-eval, datasets or pydantic, and no network (../shared/design/ENVIRONMENT.md). This writes
- ``site.tar.gz``: the pure-Python distributions below, taken from this venv with their
  dist-info (so importlib.metadata versions work), lm-eval without its 14,000 task folders;
- ``pydantic_core-*.whl``: the one compiled package, downloaded for CPython 3.12 manylinux;
- ``pairs/``: the first ``--pair-lines`` lines of each ``<xx>-en`` folder of ``--pairs`` (QAlign's
  question translations, ../shared/data/qalign_gsm8kinstruct_question): the real question pairs
  the train check trains on (gpu_checks.sh uses them when present).
Carry ``.cache/gpu-bundle`` with the device tool (its ``carry``), about 12 MB.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
from importlib.metadata import PackageNotFoundError, distribution, version
from pathlib import Path

DISTRIBUTIONS = (
    "deepspeed",
    "hjson",
    "py-cpuinfo",
    "lm-eval",
    "datasets",
    "evaluate",
    "dill",
    "multiprocess",
    "pytablewriter",
    "DataProperty",
    "mbstrdecoder",
    "pathvalidate",
    "tabledata",
    "tcolorpy",
    "typepy",
    "sqlitedict",
    "word2number",
    "more-itertools",
    "rouge-score",
    "chardet",
    "pydantic",
    "annotated-types",
    "typing-inspection",
)


def wanted(path: str) -> bool:
    parts = Path(path).parts
    if "__pycache__" in parts or path.endswith(".pyc"):
        return False
    # lm_eval/tasks/<task folder>/...: lm-eval's own tasks, not used by the harness (its own task folder)
    return not (len(parts) > 3 and parts[:2] == ("lm_eval", "tasks"))


def copy_pairs(folder: Path, out: Path, lines: int) -> None:
    """The first ``lines`` line pairs of each ``<xx>-en/train.<xx>`` + ``train.en`` of ``folder``."""
    if not folder.is_dir():
        print(f"{folder}: not found, no real pairs in the bundle (the train check falls back to the demo pairs)")
        return
    for pair in sorted(folder.glob("*-en")):
        lang = pair.name.removesuffix("-en")
        files = [pair / f"train.{lang}", pair / "train.en"]
        if not all(f.is_file() for f in files):
            continue
        (out / pair.name).mkdir(parents=True, exist_ok=True)
        for file in files:
            with open(file, encoding="utf-8") as handle:
                head = [line for _, line in zip(range(lines), handle)]
            (out / pair.name / file.name).write_text("".join(head), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=".cache/gpu-bundle")
    parser.add_argument(
        "--pairs", default="../shared/data/qalign_gsm8kinstruct_question", help="a QAlign-layout folder"
    )
    parser.add_argument("--pair-lines", type=int, default=2000, help="lines kept per language")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    copy_pairs(Path(args.pairs), out / "pairs", args.pair_lines)
    added, missing = 0, []
    with tarfile.open(out / "site.tar.gz", "w:gz") as tar:
        for name in DISTRIBUTIONS:
            try:
                dist = distribution(name)
            except PackageNotFoundError:
                missing.append(name)
                continue
            for file in dist.files or []:
                source = Path(dist.locate_file(file))
                if wanted(str(file)) and source.is_file() and not str(file).startswith(".."):
                    tar.add(source, arcname=str(file))
                    added += 1
    core = version("pydantic_core")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.12",
            "--implementation",
            "cp",
            "--platform",
            "manylinux2014_x86_64",
            "-d",
            str(out),
            f"pydantic_core=={core}",
        ],
        check=True,
    )
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
    print(
        f"{out}: {added} files from {len(DISTRIBUTIONS) - len(missing)} distributions + pydantic_core {core} "
        f"wheel, {size:.1f} MiB" + (f"; not installed here: {', '.join(missing)}" if missing else "")
    )


if __name__ == "__main__":
    main()
