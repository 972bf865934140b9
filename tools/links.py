"""Write every Binder and Colab link, and the notebooks' Colab set-up cell, from ONE address.

The address is ``[project.urls] Repository`` in ``pyproject.toml`` (a GitHub repository; the
branch is ``[tool.nst_links] branch``). From it this script (re)writes:

- in each README (READMES: ``README.md`` for ``notebooks/``, ``README.zh-CN.md`` for
  ``notebooks/zh/``): the Binder badge line (it opens the README's first lesson), the "Open In
  Colab" badge in the first cell of every lesson-table row that names one of its notebooks
  (`` `04_style_transfer` ``, or `` [`04_style_transfer`](notebooks/zh/04_style_transfer.ipynb) ``
  where the name links to the file), the prefix of any other Binder or Colab address, and the
  repository in nbgitpuller links;
- in every notebook (``notebooks/*.ipynb``, ``notebooks/zh/*.ipynb``) two cells it owns, found by
  their tags: a markdown cell with the Colab and Binder badges, right after the title cell, and
  the code cell that prepares a Colab runtime right after it (the first code cell a learner sees).

Other cells are left exactly as they are (ids, metadata, text); notebooks stay without outputs.
Running it again changes nothing; after others edit the notebooks it only puts its two cells
back in place. Usage (``make links`` runs the first):

    python tools/links.py                      # write
    python tools/links.py --check              # change nothing; exit 1 and say what differs
    python tools/links.py --repository https://github.com/NAME/REPO [--branch main]
                                               # a fork: set the address in pyproject.toml, write
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIRS = ("notebooks", "notebooks/zh")  # English lessons, then translations
LINKS_TAG = "nst-open-links"
SETUP_TAG = "nst-colab-setup"
PLACEHOLDER_OWNER = "YOUR_GITHUB_USER"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
#: requirements.txt entries the Colab cell must not install: Colab's own CUDA build of PyTorch,
#: and the Jupyter front end and kernel that Colab replaces with its own.
COLAB_KEEPS = frozenset({"torch", "torchvision", "jupyterlab", "ipykernel", "nbclient", "nbformat"})
GITHUB = re.compile(r"^https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")


class LinksError(Exception):
    """The configuration or a file cannot be handled (the message says which and why)."""


@dataclass(frozen=True)
class Repo:
    owner: str
    name: str
    branch: str

    @property
    def url(self) -> str:
        return f"https://github.com/{self.owner}/{self.name}"

    @property
    def is_placeholder(self) -> bool:
        return self.owner == PLACEHOLDER_OWNER

    def colab(self, notebook: str) -> str:
        """Colab's address for a notebook given by its path in the repository."""
        return f"https://colab.research.google.com/github/{self.owner}/{self.name}/blob/{self.branch}/{notebook}"

    def binder(self, notebook: str) -> str:
        return f"https://mybinder.org/v2/gh/{self.owner}/{self.name}/{self.branch}?urlpath=lab/tree/{notebook}"

    def pip_url(self) -> str:
        return f"git+{self.url}@{self.branch}"


# -- configuration ---------------------------------------------------------------------------


def _load_toml(text: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise LinksError(
                "reading pyproject.toml needs Python >= 3.11 or `pip install tomli`"
            ) from None
    return tomllib.loads(text)


def parse_repository(url: str, branch: str = "main") -> Repo:
    match = GITHUB.match(url.strip())
    if not match:
        raise LinksError(
            f"{url!r} is not a GitHub repository's address (https://github.com/OWNER/NAME); "
            "Binder's and Colab's links need one"
        )
    if not re.fullmatch(r"[A-Za-z0-9._/-]+", branch) or branch.startswith("-"):
        raise LinksError(f"{branch!r} is not a branch name")
    return Repo(match.group(1), match.group(2), branch)


def read_repo(root: Path = ROOT) -> Repo:
    """The repository's address and branch, from pyproject.toml."""
    data = _load_toml((root / "pyproject.toml").read_text(encoding="utf-8"))
    url = data.get("project", {}).get("urls", {}).get("Repository")
    if not url:
        raise LinksError("pyproject.toml has no [project.urls] Repository = '...'")
    branch = data.get("tool", {}).get("nst_links", {}).get("branch", "main")
    return parse_repository(url, branch)


def set_repo(root: Path, url: str, branch: str | None) -> None:
    """Write a new address (and branch) into pyproject.toml, keeping everything else."""
    parse_repository(url, branch or "main")  # refuse a bad address before writing anything
    path = root / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    text, n = re.subn(
        r'(?m)^(Repository\s*=\s*)"[^"]*"', lambda m: f'{m.group(1)}"{url.strip()}"', text, count=1
    )
    if n != 1:
        raise LinksError('pyproject.toml: no `Repository = "..."` line under [project.urls]')
    if branch:
        text, n = re.subn(
            r'(?ms)(^\[tool\.nst_links\][^\[]*?^branch\s*=\s*)"[^"]*"',
            lambda m: f'{m.group(1)}"{branch}"',
            text,
            count=1,
        )
        if n != 1:
            raise LinksError('pyproject.toml: no `branch = "..."` line under [tool.nst_links]')
    path.write_text(text, encoding="utf-8")


def colab_requirements(root: Path = ROOT) -> list[str]:
    """requirements.txt's packages that Colab does not bring, by name only (no version ranges):
    pip then installs only what is missing and never upgrades what Colab has already imported."""
    names = []
    for line in (root / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        name = re.match(r"[A-Za-z0-9_.-]+", line)
        if name and name.group(0).lower() not in COLAB_KEEPS:
            names.append(name.group(0).lower())
    return names


# -- the two cells -----------------------------------------------------------------------------

#: The set-up cell's comments, per notebook language (the code is the same everywhere).
COMMENTS = {
    "en": {
        "title": "# Prepares a Google Colab runtime (does nothing anywhere else): installs the\n"
        "# course, turns on Colab's widget support, and uses the GPU when there is one.",
        "fresh": "# a fresh Colab runtime",
        "deps": "# the course without its dependencies (Colab's own torch and torchvision stay),\n"
        "# then those of its packages that are missing (pip upgrades nothing Colab has)",
        "gpu": "# Runtime → Change runtime type → GPU",
        "paper": "# the paper's 512 px images and long runs",
    },
    "zh": {
        "title": "# 为 Google Colab 准备运行环境（在其他环境中什么也不做）：安装本课程，\n"
        "# 启用 Colab 的小部件支持；运行时有 GPU 时使用 GPU。",
        "fresh": "# 新的 Colab 运行时",
        "deps": "# 先安装课程本身、不装依赖（保留 Colab 自带的 torch 和 torchvision），\n"
        "# 再安装缺少的包（pip 不会升级 Colab 已有的包）",
        "gpu": "# 代码执行程序 → 更改运行时类型 → GPU",
        "paper": "# 论文的设置：512 像素的图像、较长的运行",
    },
}


def setup_source(repo: Repo, requirements: list[str], language: str = "en") -> str:
    """The code cell that prepares a Colab runtime (and does nothing anywhere else)."""
    c = COMMENTS.get(language, COMMENTS["en"])
    deps = c["deps"].replace("\n", "\n        ")
    packages = ", ".join(f'"{name}"' for name in requirements)
    return f"""{c["title"]}
import importlib.util
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    if importlib.util.find_spec("nst_helpers") is None:  {c["fresh"]}
        pip = [sys.executable, "-m", "pip", "install", "--quiet"]
        course = "{repo.pip_url()}"
        {deps}
        subprocess.run([*pip, "--no-deps", course], check=True)
        missing = [{packages}]
        subprocess.run([*pip, *missing], check=True)
        subprocess.run([sys.executable, "-m", "nst_helpers", "fetch-samples", "--quiet"])
    from google.colab import output

    output.enable_custom_widget_manager()
    import torch

    if torch.cuda.is_available():  {c["gpu"]}
        os.environ.setdefault("NST_PROFILE", "paper")  {c["paper"]}"""


def links_source(repo: Repo, notebook: str) -> str:
    """The markdown cell with the notebook's Colab and Binder badges."""
    return (
        f"[![Open In Colab]({COLAB_BADGE})]({repo.colab(notebook)})\n"
        f"[![Binder]({BINDER_BADGE})]({repo.binder(notebook)})"
    )


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _owned(cell: dict, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", []) or cell.get("id") == tag


def update_notebook(nb: dict, repo: Repo, notebook: str, requirements: list[str]) -> dict:
    """The notebook with its two owned cells (re)written and placed; other cells untouched."""
    language = notebook.split("/")[1] if notebook.count("/") >= 2 else "en"
    with_ids = (nb.get("nbformat"), nb.get("nbformat_minor", 0)) >= (4, 5)
    old = {
        tag: next((c for c in nb["cells"] if _owned(c, tag)), None)
        for tag in (LINKS_TAG, SETUP_TAG)
    }
    cells = [c for c in nb["cells"] if not (_owned(c, LINKS_TAG) or _owned(c, SETUP_TAG))]
    for cell in cells:
        if cell.get("id") in (LINKS_TAG, SETUP_TAG):
            raise LinksError(f"{notebook}: another cell already has the id {cell['id']!r}")

    def owned(tag: str, kind: str, source: str) -> dict:
        cell = dict(old[tag] or {})
        metadata = dict(cell.get("metadata", {}))
        tags = [t for t in metadata.get("tags", []) if t != tag]
        metadata["tags"] = [tag, *tags]
        cell.update(cell_type=kind, metadata=metadata, source=_lines(source))
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        if with_ids:
            cell["id"] = tag
        else:
            cell.pop("id", None)
        return cell

    links = owned(LINKS_TAG, "markdown", links_source(repo, notebook))
    setup = owned(SETUP_TAG, "code", setup_source(repo, requirements, language))
    first = cells[0] if cells else None
    at = (
        1
        if first and first["cell_type"] == "markdown" and "".join(first["source"]).startswith("# ")
        else 0
    )
    return {**nb, "cells": [*cells[:at], links, setup, *cells[at:]]}


def dump_notebook(nb: dict) -> str:
    """The notebook as nbformat writes it (so editing it in Jupyter shows no spurious diff)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# -- README ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Readme:
    """A README and the notebook folder whose lessons its lesson table lists."""

    name: str
    folder: str


#: Each README and its lessons: the English table lists notebooks/, the Chinese one notebooks/zh/.
READMES = (Readme("README.md", "notebooks"), Readme("README.zh-CN.md", "notebooks/zh"))

BINDER_LINE = re.compile(r"(?m)^\[!\[Binder\]\(" + re.escape(BINDER_BADGE) + r"\)\]\([^)\s]*\)$")
#: a lesson-table row's first cell: `NN_name`, or [`NN_name`](path/NN_name.ipynb), then anything
TABLE_ROW = re.compile(
    r"(?m)^\|\s*(?:(?P<linked>\[)`(?P<stem>\d\d_[A-Za-z0-9_]+)`\]\([^)\s]*\)"
    r"|`(?P<plain>\d\d_[A-Za-z0-9_]+)`)[^|\n]*\|"
)
COLAB_PREFIX = re.compile(
    r"https://colab\.research\.google\.com/github/[^/\s)]+/[^/\s)]+/blob/[^/\s)]+/"
)
#: an nbgitpuller link's repository part (README, the JupyterHub section)
PULLER = re.compile(
    r"repo=https://github\.com/[^/&\s]+/[^/&\s]+&branch=[^&\s]+&urlpath=lab/tree/[^/\s]+/"
)
BINDER_PREFIX = re.compile(r"https://mybinder\.org/v2/gh/[^/\s)]+/[^/\s)]+/[^?/\s)]+")


def update_readme(
    text: str, repo: Repo, notebooks: list[str], readme: Readme = READMES[0]
) -> tuple[str, list[str]]:
    """The README with its links rewritten, and the problems the script cannot fix itself.

    `notebooks` are the lessons of `readme.folder` (paths in the repository): each needs a row
    in the README's lesson table, and each row must name one of them."""
    problems = []
    text = COLAB_PREFIX.sub(
        f"https://colab.research.google.com/github/{repo.owner}/{repo.name}/blob/{repo.branch}/",
        text,
    )
    text = BINDER_PREFIX.sub(
        f"https://mybinder.org/v2/gh/{repo.owner}/{repo.name}/{repo.branch}", text
    )
    puller = f"repo={repo.url}&branch={repo.branch}&urlpath=lab/tree/{repo.name}/"
    text = PULLER.sub(lambda _: puller, text)
    first = notebooks[0] if notebooks else f"{readme.folder}/00_setup_check.ipynb"
    if not BINDER_LINE.search(text):
        problems.append(f"{readme.name}: no Binder badge line ([![Binder](...)](...)) to write")
    text = BINDER_LINE.sub(f"[![Binder]({BINDER_BADGE})]({repo.binder(first)})", text)

    rows = set()

    def row(match: re.Match) -> str:
        stem = match.group("stem") or match.group("plain")
        path = f"{readme.folder}/{stem}.ipynb"
        rows.add(path)
        if path not in notebooks:
            problems.append(
                f"{readme.name}: the lesson table names `{stem}`, but {path} does not exist"
            )
        name = f"[`{stem}`]({path})" if match.group("linked") else f"`{stem}`"
        return f"| {name} [![Open In Colab]({COLAB_BADGE})]({repo.colab(path)}) |"

    text = TABLE_ROW.sub(row, text)
    for path in notebooks:
        if path not in rows:
            stem = path.removeprefix(f"{readme.folder}/").removesuffix(".ipynb")
            problems.append(
                f"{readme.name}: no lesson-table row for {path} (add one starting `| `{stem}` |`)"
            )
    return text, problems


# -- the whole repository ----------------------------------------------------------------------


def notebook_paths(root: Path = ROOT) -> list[str]:
    """Every lesson notebook, as a path in the repository (English first, then translations)."""
    found = []
    for folder in NOTEBOOK_DIRS:
        found += sorted(p.relative_to(root).as_posix() for p in (root / folder).glob("*.ipynb"))
    return found


def plan(root: Path = ROOT) -> tuple[dict[Path, str], list[str]]:
    """Every file's expected text (path -> text), and problems that need a person."""
    repo = read_repo(root)
    requirements = colab_requirements(root)
    notebooks = notebook_paths(root)
    expected = {}
    for rel in notebooks:
        path = root / rel
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise LinksError(f"{rel}: not a notebook ({exc})") from None
        expected[path] = dump_notebook(update_notebook(nb, repo, rel, requirements))
    problems = []
    for readme in READMES:
        lessons = [p for p in notebooks if p.rpartition("/")[0] == readme.folder]
        path = root / readme.name
        if not path.is_file():
            if lessons:
                problems.append(
                    f"{readme.name} does not exist: it lists the lessons in {readme.folder}/"
                )
            continue
        expected[path], found = update_readme(
            path.read_text(encoding="utf-8"), repo, lessons, readme
        )
        problems += found
    return expected, problems


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if out of date"
    )
    parser.add_argument("--repository", help="set [project.urls] Repository first (a fork)")
    parser.add_argument("--branch", help="set [tool.nst_links] branch first")
    args = parser.parse_args(argv)
    try:
        if args.check and (args.repository or args.branch):
            raise LinksError("--check changes nothing: give --repository/--branch without it")
        if args.repository or args.branch:
            set_repo(root, args.repository or read_repo(root).url, args.branch)
        expected, problems = plan(root)
    except LinksError as exc:
        print(f"links: {exc}", file=sys.stderr)
        return 2
    stale = [p for p, text in expected.items() if p.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(
                f"links: out of date: {path.relative_to(root)} (run `make links`)", file=sys.stderr
            )
    else:
        for path in stale:
            path.write_text(expected[path], encoding="utf-8")
            print(f"links: wrote {path.relative_to(root)}")
    for problem in problems:
        print(f"links: {problem}", file=sys.stderr)
    repo = read_repo(root)
    if repo.is_placeholder and not args.check:
        print(
            f"links: note: {repo.url} is the placeholder address; a fork sets its own with "
            "`python tools/links.py --repository https://github.com/NAME/REPO`"
        )
    return 1 if problems or (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
