"""Hub dataset repositories as local folders, laid out as the hub lays them out, in both eras.

``<root>/<revision>/<owner>/<name>/`` (the folder keeps the repository's name, which ``datasets``
matches against a script's): ``main`` holds either a loading script (the script era:
``xcsr.py``, which current ``datasets`` refuses) or data files with their configs in README.md
(the parquet era); ``refs/convert/parquet`` holds the hub's conversion of a script-era repository,
``<config>/<split>/0000.parquet``. :class:`LocalHub` answers for them in place of the hub.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from harness.hub_datasets import CONVERTED_REF, Hub


class LocalHub(Hub):
    """The hub, read from a folder of repositories; a revision's commit is a hash of its files."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.folders: dict[str, Path] = {}
        self.loads: list[tuple[str, str, str]] = []

    def listing(self, repo, revision):
        folder = self.folders.get(revision or "") or self.root / (revision or "main") / repo  # a commit, or a ref
        if not folder.is_dir():
            raise FileNotFoundError(f"404 Client Error: Revision Not Found for {repo}@{revision}")
        files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        digest = hashlib.sha1()
        for file in files:
            digest.update(file.encode() + (folder / file).read_bytes())
        commit = digest.hexdigest()
        self.folders[commit] = folder
        return commit, files

    def load(self, repo, commit, config, split):
        import datasets

        self.loads.append(("load", repo, commit))
        return datasets.load_dataset(str(self.folders[commit]), config, split=split)

    def load_parquet(self, repo, commit, files):
        import datasets

        self.loads.append(("parquet", repo, commit))
        folder = self.folders[commit]
        return datasets.load_dataset("parquet", data_files={"rows": [str(folder / f) for f in files]}, split="rows")


def _write_parquet(path: Path, rows: list[dict]) -> None:
    import datasets

    path.parent.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_list(rows).to_parquet(str(path))


def script_era_repo(root: Path, repo: str, configs: dict[str, dict[str, list[dict]]]) -> Path:
    """A loading-script repository on main, and the hub's parquet conversion of it."""
    main = root / "main" / repo
    main.mkdir(parents=True, exist_ok=True)
    name = repo.split("/")[-1]
    (main / f"{name}.py").write_text("import datasets  # a loading script: builds the configs at load time\n")
    (main / "README.md").write_text(f"# {name}\n\nLoaded by {name}.py.\n")
    for config, splits in configs.items():
        for split, rows in splits.items():
            _write_parquet(root / CONVERTED_REF / repo / config / split / "0000.parquet", rows)
    return main


def parquet_era_repo(root: Path, repo: str, configs: dict[str, dict[str, list[dict]]]) -> Path:
    """A repository of parquet files on main, its configs declared in README.md."""
    main = root / "main" / repo
    lines = ["---", "configs:"]
    for config, splits in configs.items():
        lines += [f"- config_name: {config}", "  data_files:"]
        for split, rows in splits.items():
            lines += [f"  - split: {split}", f"    path: {config}/{split}-*.parquet"]
            _write_parquet(main / config / f"{split}-00000-of-00001.parquet", rows)
    (main / "README.md").write_text("\n".join([*lines, "---", "", f"# {repo}", ""]))
    return main


def mgsm_rows(lang: str, n: int = 3) -> list[dict]:
    return [
        {"question": f"[{lang}] {i} + 10?", "answer": None, "answer_number": 10 + i, "equation_solution": None}
        for i in range(n)
    ]


def xcsqa_rows(lang: str, n: int = 3) -> list[dict]:
    return [
        {
            "id": f"q{i}",
            "lang": lang,
            "answerKey": "ABCDE"[i],
            "question": {"stem": f"[{lang}] where {i}?", "choices": {"label": list("ABCDE"), "text": list("vwxyz")}},
        }
        for i in range(n)
    ]
