"""Every Binder and Colab link comes from one address, and `make links` keeps them in agreement.

The address is ``[project.urls] Repository`` in pyproject.toml; ``tools/links.py`` writes the
README's links and each notebook's badge cell and Colab set-up cell from it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .colab_fakes import ROOT, load_links

links = load_links()

LINK = re.compile(
    r"https://(?:colab\.research\.google\.com/github|mybinder\.org/v2/gh)/[^\s)\"'\\]+"
)


def repository_texts(root: Path) -> dict[str, str]:
    readmes = [root / r.name for r in links.READMES if (root / r.name).is_file()]
    files = [*readmes, *sorted((root / "notebooks").glob("**/*.ipynb"))]
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in files}


def copy_repository(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    for name in ("README.md", "README.zh-CN.md", "pyproject.toml", "requirements.txt"):
        shutil.copy(ROOT / name, root / name)
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        shutil.copy(path, root / "notebooks" / path.name)
    if (ROOT / "notebooks" / "zh").is_dir():
        shutil.copytree(ROOT / "notebooks" / "zh", root / "notebooks" / "zh")
    return root


def test_links_check_passes():
    """`python tools/links.py --check`: run `make links` after editing README or notebooks."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "links.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_every_link_points_at_the_configured_repository_and_an_existing_notebook():
    repo = links.read_repo()
    colab = f"https://colab.research.google.com/github/{repo.owner}/{repo.name}/blob/{repo.branch}/"
    binder = f"https://mybinder.org/v2/gh/{repo.owner}/{repo.name}/{repo.branch}?urlpath=lab/tree/"
    found = 0
    for name, text in repository_texts(ROOT).items():
        for url in LINK.findall(text):
            found += 1
            prefix = colab if "colab" in url else binder
            assert url.startswith(prefix), (name, url)
            assert (ROOT / url.removeprefix(prefix)).is_file(), (name, url)
    assert found >= 3 * len(links.notebook_paths())  # a README row + two badges per notebook
    assert len(links.READMES) == 2 and all((ROOT / r.name).is_file() for r in links.READMES)
    assert "OWNER/REPO" not in "".join(repository_texts(ROOT).values())


def test_the_address_is_a_placeholder_no_real_account_can_have_or_a_real_one():
    repo = links.read_repo()
    # GitHub user names are letters, digits and single hyphens: the placeholder can never be one
    if repo.is_placeholder:
        assert "_" in repo.owner
    else:
        assert re.fullmatch(r"[A-Za-z0-9](?:-?[A-Za-z0-9])*", repo.owner)


def test_the_set_up_cell_installs_from_the_configured_repository():
    repo = links.read_repo()
    for path in links.notebook_paths():
        nb = json.loads((ROOT / path).read_text(encoding="utf-8"))
        text = "".join("".join(c["source"]) for c in nb["cells"])
        assert f'"{repo.pip_url()}"' in text, path


def test_colab_gets_the_requirements_except_torch_and_the_jupyter_stack():
    names = links.colab_requirements()
    assert "torch" not in names and "torchvision" not in names
    assert {"ipywidgets", "matplotlib", "pillow", "tqdm"} <= set(names)


def test_running_it_again_changes_nothing(tmp_path):
    root = copy_repository(tmp_path)
    before = repository_texts(root)
    assert links.main([], root=root) == 0
    assert repository_texts(root) == before


def test_it_puts_its_cells_back_after_others_edit_the_notebooks(tmp_path):
    root = copy_repository(tmp_path)
    path = root / "notebooks" / "04_style_transfer.ipynb"
    original = path.read_text(encoding="utf-8")
    nb = json.loads(original)
    links_cell, setup_cell = nb["cells"][1], nb["cells"][2]
    others = [c for c in nb["cells"] if c not in (links_cell, setup_cell)]
    # someone moves the badge cell to the end, edits the set-up cell, adds a cell at the top of
    # the lesson, and another copy of the set-up cell lands lower down
    setup_cell["source"] = ["print('edited')\n"]
    setup_cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["edited\n"]}]
    setup_cell["execution_count"] = 3
    new_cell = {"cell_type": "markdown", "id": "new-cell", "metadata": {}, "source": ["New."]}
    duplicate = {**setup_cell, "id": "copied"}
    nb["cells"] = [others[0], setup_cell, new_cell, *others[1:], duplicate, links_cell]
    path.write_text(links.dump_notebook(nb), encoding="utf-8")

    assert links.main(["--check"], root=root) == 1
    assert links.main([], root=root) == 0
    fixed = json.loads(path.read_text(encoding="utf-8"))
    assert [c.get("id") for c in fixed["cells"][:4]] == [
        others[0]["id"],
        "nst-open-links",
        "nst-colab-setup",
        "new-cell",
    ]
    assert fixed["cells"][2]["outputs"] == [] and fixed["cells"][2]["execution_count"] is None
    assert fixed["cells"][4:] == others[1:]  # every other cell exactly as it was
    fixed["cells"].remove(fixed["cells"][3])
    assert links.dump_notebook(fixed) == original
    assert links.main(["--check"], root=root) == 0


def test_a_fork_sets_its_address_with_one_command(tmp_path):
    root = copy_repository(tmp_path)
    fork = "https://github.com/FORK_OWNER/FORK_REPO"  # not a possible GitHub account either
    assert links.main(["--repository", fork, "--branch", "course-2027"], root=root) == 0
    repo = links.read_repo(root)
    assert (repo.url, repo.branch) == (fork, "course-2027")
    texts = repository_texts(root)
    assert not any("YOUR_GITHUB_USER/" in text for text in texts.values())
    urls = [url for text in texts.values() for url in LINK.findall(text)]
    assert urls and all("/FORK_OWNER/FORK_REPO/" in url and "course-2027" in url for url in urls)
    assert "git+https://github.com/FORK_OWNER/FORK_REPO@course-2027" in "".join(texts.values())
    assert links.main(["--check"], root=root) == 0


@pytest.mark.parametrize(
    "url", ["https://gitlab.com/a/b", "github.com/a/b", "https://github.com/a", "not a url"]
)
def test_an_address_that_is_not_a_github_repository_is_refused(url, tmp_path):
    root = copy_repository(tmp_path)
    pyproject = (root / "pyproject.toml").read_text()
    assert links.main(["--repository", url], root=root) == 2
    assert (root / "pyproject.toml").read_text() == pyproject


def test_translations_get_their_cells_and_a_row_in_the_chinese_readme(tmp_path, capsys):
    root = copy_repository(tmp_path)
    shutil.copy(
        root / "notebooks" / "00_setup_check.ipynb", root / "notebooks" / "zh" / "00_x.ipynb"
    )
    assert links.main([], root=root) == 1  # written, but README.zh-CN.md has no row for it yet
    err = capsys.readouterr().err
    assert "README.zh-CN.md: no lesson-table row for notebooks/zh/00_x.ipynb" in err
    assert "README.md:" not in err  # the English table lists the English lessons only
    nb = json.loads((root / "notebooks" / "zh" / "00_x.ipynb").read_text(encoding="utf-8"))
    assert "notebooks/zh/00_x.ipynb" in "".join(nb["cells"][1]["source"])
    assert "新的 Colab 运行时" in "".join(nb["cells"][2]["source"])
    readme = root / "README.zh-CN.md"
    english = (root / "README.md").read_text(encoding="utf-8")
    text = readme.read_text(encoding="utf-8")
    readme.write_text(
        text + "\n| [`00_x`](notebooks/zh/00_x.ipynb) | 设置检查 |\n", encoding="utf-8"
    )
    assert links.main([], root=root) == 0
    text = readme.read_text(encoding="utf-8")
    row = text.splitlines()[-1]
    assert row.startswith("| [`00_x`](notebooks/zh/00_x.ipynb) [![Open In Colab]")  # link kept
    assert "blob/main/notebooks/zh/00_x.ipynb) | 设置检查 |" in row
    assert (root / "README.md").read_text(encoding="utf-8") == english
    assert links.main(["--check"], root=root) == 0


def test_each_readme_opens_its_own_first_lesson_on_binder():
    repo = links.read_repo()
    for readme, first in zip(
        links.READMES,
        ["notebooks/00_setup_check.ipynb", "notebooks/zh/00_setup_check.ipynb"],
        strict=True,
    ):
        text = (ROOT / readme.name).read_text(encoding="utf-8")
        assert f"[![Binder]({links.BINDER_BADGE})]({repo.binder(first)})" in text, readme.name


def test_every_chinese_lesson_has_a_colab_badge_in_the_chinese_readme_only():
    repo = links.read_repo()
    english = (ROOT / "README.md").read_text(encoding="utf-8")
    chinese = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    for path in links.notebook_paths():
        own, other = (chinese, english) if path.startswith("notebooks/zh/") else (english, chinese)
        assert repo.colab(path) in own and repo.colab(path) not in other, path


def test_a_row_for_a_lesson_that_does_not_exist_is_reported(tmp_path, capsys):
    root = copy_repository(tmp_path)
    readme = root / "README.zh-CN.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\n| `09_gone` | 没了 |\n", "utf-8")
    assert links.main(["--check"], root=root) == 1
    assert "README.zh-CN.md: the lesson table names `09_gone`" in capsys.readouterr().err


def test_a_pip_install_from_the_repository_carries_every_subpackage():
    """Colab installs with `pip install git+URL` (not editable): setuptools' package finder must
    match nst_helpers.lessons and every other subpackage, not only the top-level package."""
    from fnmatch import fnmatchcase

    setuptools = links._load_toml((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert isinstance(setuptools["packages"], dict), "a fixed package list leaves subpackages out"
    include = setuptools["packages"]["find"]["include"]
    packages = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "nst_helpers").rglob("__init__.py")
    }
    assert "nst_helpers.lessons" in packages
    for package in packages:  # setuptools matches these patterns with fnmatch
        assert any(fnmatchcase(package, pattern) for pattern in include), package
    assert not any(fnmatchcase("tests", pattern) for pattern in include)
