"""The Chinese lessons (notebooks/zh/) are what tools/translate_notebooks.py makes of the English
ones and their translation files: nothing stale, nothing missing, the code unchanged.

Fast: nothing is executed. When one of these fails after an English notebook changed, run
`make zh-check`: it names each stale cell and the hash to record once its Chinese text is updated.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "translate_notebooks", ROOT / "tools" / "translate_notebooks.py"
)
tn = importlib.util.module_from_spec(_spec)
sys.modules["translate_notebooks"] = tn
_spec.loader.exec_module(tn)

ENGLISH = tn.english_notebooks()
IDS = [p.stem for p in ENGLISH]
CJK = r"\u3000-\u303f\u3400-\u9fff\uff00-\uffef"  # CJK ideographs and full-width punctuation


def chinese(english: Path) -> nbformat.NotebookNode:
    path = tn.chinese_path(english)
    assert path.is_file(), f"{path} is missing: run make zh"
    return nbformat.read(path, as_version=4)


def paired_cells(english: Path):
    """(English cell, Chinese cell) pairs, the language cell left out."""
    zh_cells = [c for c in chinese(english).cells if c.get("id") != tn.LANGUAGE_CELL_ID]
    en_cells = nbformat.read(english, as_version=4).cells
    assert [(c.id, c.cell_type) for c in zh_cells] == [(c.id, c.cell_type) for c in en_cells]
    return list(zip(en_cells, zh_cells, strict=True))


# --- the committed notebooks -----------------------------------------------------------------


def test_every_english_lesson_has_a_chinese_one():
    assert ENGLISH
    assert sorted(p.name for p in tn.CHINESE_DIR.glob("*.ipynb")) == [p.name for p in ENGLISH]
    assert sorted(p.stem for p in tn.TRANSLATIONS_DIR.glob("*.yaml")) == IDS


@pytest.mark.parametrize("english", ENGLISH, ids=IDS)
def test_translations_are_complete_and_current(english):
    """Fails when an English markdown cell changed (stale), was added (missing), or a comment in
    the code has no translation: the message names the notebook, the cell and the new hash."""
    try:
        tn.build(english)
    except tn.TranslationError as error:
        pytest.fail(f"run `make zh-check`, update the translation, then `make zh`:\n{error}")


@pytest.mark.parametrize("english", ENGLISH, ids=IDS)
def test_the_committed_chinese_notebook_is_what_the_generator_makes(english):
    try:
        expected = tn.render(tn.build(english))
    except tn.TranslationError:
        pytest.skip("the translation has problems (see the test above)")
    path = tn.chinese_path(english)
    assert path.read_text(encoding="utf-8") == expected, f"{path} was edited or is old: make zh"


@pytest.mark.parametrize("english", ENGLISH, ids=IDS)
def test_code_cells_equal_the_english_ones_apart_from_comments(english):
    for en, zh in paired_cells(english):
        if en.cell_type == "code":
            assert tn.without_comments(zh.source) == tn.without_comments(en.source), en.id
            assert not zh.outputs and zh.execution_count is None


@pytest.mark.parametrize("english", ENGLISH, ids=IDS)
def test_the_only_extra_cell_sets_the_language_before_the_lessons_code(english):
    """After the Colab set-up cell (which stays the first code cell), before any other code."""
    cells = chinese(english).cells
    extra = [i for i, c in enumerate(cells) if c.get("id") == tn.LANGUAGE_CELL_ID]
    assert len(extra) == 1
    first_code = next(
        i for i, c in enumerate(cells) if c.cell_type == "code" and not tn.owned_tag(c)
    )
    assert extra == [first_code]
    assert cells[first_code].source == tn.LANGUAGE_CELL_SOURCE
    assert 'os.environ["NST_LANG"] = "zh"' in tn.LANGUAGE_CELL_SOURCE
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")


def _formulas(text: str):
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"`[^`]*`", "", text)  # code such as `$TORCH_HOME` holds no formula
    # words in a formula are translated: \text{if} is \text{若}, a subscript _{here} _{\text{这里}}
    text = re.sub(r"_\{([a-z]{3,})\}", r"_{\\text{\1}}", text)
    text = re.sub(r"\\text\{[^{}]*\}", r"\\text{}", text)
    display = re.findall(r"\$\$.*?\$\$", text, flags=re.S)
    inline = re.findall(r"\$[^$]+\$", re.sub(r"\$\$.*?\$\$", "", text, flags=re.S))
    return display, Counter(inline)


@pytest.mark.parametrize("english", ENGLISH, ids=IDS)
def test_markdown_is_translated_and_keeps_every_formula(english):
    for en, zh in paired_cells(english):
        if en.cell_type != "markdown" or tn.owned_tag(en):  # the badges: no text to translate
            continue
        assert re.search(f"[{CJK}]", zh.source), f"{en.id}: no Chinese text"
        display, inline = _formulas(en.source)
        zh_display, zh_inline = _formulas(zh.source)
        assert zh_display == display, f"{en.id}: the displayed formulas differ from the English"
        differ = (inline - zh_inline) + (zh_inline - inline)
        assert zh_inline == inline, f"{en.id}: inline formulas differ: {dict(differ)}"


def _prose(text: str) -> str:
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", "MATH", text, flags=re.S)
    text = re.sub(r"\$[^$]+\$", "MATH", text)
    return re.sub(r"`[^`]*`", "CODE", text)


@pytest.mark.parametrize("english", ENGLISH, ids=IDS)
def test_chinese_markdown_renders_as_meant(english):
    """Two ways Chinese Markdown goes wrong silently: a line break inside a paragraph between two
    Chinese characters shows as a space; `**粗体。**后文` (emphasis ending in punctuation, then a
    letter) is not emphasis in CommonMark and shows its asterisks."""
    mistune = pytest.importorskip("mistune")
    render = mistune.create_markdown()
    for en, zh in paired_cells(english):
        if en.cell_type != "markdown":
            continue
        prose = _prose(zh.source)
        broken = re.findall(f"[{CJK}]\n[{CJK}]", prose)
        assert not broken, f"{en.id}: join the lines of a paragraph (one paragraph, one line)"
        text = re.sub(r"<[^>]+>", "", render(prose))
        assert "*" not in text, f"{en.id}: emphasis that does not render: {text[:200]!r}"


# --- the generator on a small notebook -------------------------------------------------------


def _small_notebook(folder: Path, name: str = "00_demo.ipynb") -> Path:
    nb = nbformat.v4.new_notebook()
    title = nbformat.v4.new_markdown_cell("# 00 · Demo\n\nSome text.")
    title.id = "title"
    code = nbformat.v4.new_code_cell("x = 1  # one\n# y = 2\nprint(x)")
    code.id = "code"
    nb.cells = [title, code]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


def _entries(english_text="# 00 · Demo\n\nSome text."):
    return {
        "title": {"en": tn.source_hash(english_text), "zh": "# 00 · 演示\n\n一些文字。\n"},
        "code": {"comments": {"# one": "# 一", "# y = 2": None}},
    }


def test_the_build_translates_text_and_comments_and_adds_the_language_cell(tmp_path):
    nb = tn.build(_small_notebook(tmp_path), _entries())
    assert [c.id for c in nb.cells] == ["title", tn.LANGUAGE_CELL_ID, "code"]
    assert nb.cells[0].source == "# 00 · 演示\n\n一些文字。"  # the English cell's ending
    assert nb.cells[2].source == "x = 1  # 一\n# y = 2\nprint(x)"


def test_rewrapping_the_english_text_does_not_make_it_stale():
    assert tn.source_hash("Some  text\nwrapped.") == tn.source_hash("Some text wrapped.")
    assert tn.source_hash("Some text.") != tn.source_hash("Some text!")


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        (lambda e: e["title"].update(en="00000000"), "stale"),
        (lambda e: e.pop("title"), "missing"),
        (lambda e: e["title"].update(zh=None), "untranslated"),
        (lambda e: e["code"]["comments"].pop("# one"), "comment"),
        (lambda e: e.update(gone={"en": "1", "zh": "旧"}), "leftover"),
        (lambda e: e["title"].update(en=123), "invalid"),
    ],
)
def test_the_build_fails_loudly_naming_the_cell(tmp_path, change, kind):
    entries = _entries()
    change(entries)
    with pytest.raises(tn.TranslationError) as error:
        tn.build(_small_notebook(tmp_path), entries)
    assert kind in {p.kind for p in error.value.problems}, error.value
    assert "00_demo.ipynb" in str(error.value)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """The generator pointed at a scratch notebooks/ folder."""
    monkeypatch.setattr(tn, "ENGLISH_DIR", tmp_path / "notebooks")
    monkeypatch.setattr(tn, "CHINESE_DIR", tmp_path / "notebooks" / "zh")
    monkeypatch.setattr(tn, "TRANSLATIONS_DIR", tmp_path / "notebooks" / "zh" / "translations")
    return _small_notebook(tmp_path / "notebooks")


def test_stub_build_and_check_round_trip(project, capsys):
    assert tn.main(["--stub"]) == 0
    path = tn.translation_path(project)
    text = path.read_text(encoding="utf-8")
    assert "    # Some text." in text  # the English text, as a reminder
    # An empty `zh:` is not a translation: nothing is written.
    assert tn.main([]) == 1
    assert "untranslated" in capsys.readouterr().err
    assert not tn.chinese_path(project).exists()
    text = text.replace("    zh:\n", "    zh: |\n      # 00 · 演示\n\n      一些文字。\n")
    text = text.replace('"# one": null', '"# one": "# 一"')
    path.write_text(text, encoding="utf-8")
    assert tn.main([]) == 0
    assert tn.main(["--check"]) == 0
    # The English text changes: --check names the cell and says what hash to record.
    nb = nbformat.read(project, as_version=4)
    nb.cells[0].source += "\n\nA new sentence."
    nbformat.write(nb, project)
    assert tn.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "00_demo.ipynb, cell title: stale" in err
    assert tn.source_hash(nb.cells[0].source) in err
    # A new English cell without a translation is an error, not English in the Chinese notebook.
    new = nbformat.v4.new_markdown_cell("## New section")
    new.id = "new"
    nb.cells.append(new)
    nbformat.write(nb, project)
    assert tn.main([]) == 1
    assert "cell new: missing" in capsys.readouterr().err


def test_check_reports_a_hand_edited_chinese_notebook(project, capsys):
    entries = _entries()
    path = tn.translation_path(project)
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump({"cells": entries}, allow_unicode=True), encoding="utf-8")
    assert tn.main([]) == 0
    target = tn.chinese_path(project)
    target.write_text(target.read_text(encoding="utf-8").replace("一些文字", "改过的"), "utf-8")
    assert tn.main(["--check"]) == 1
    assert "outdated" in capsys.readouterr().err


# --- the cells tools/links.py owns ------------------------------------------------------------


def test_the_owned_tags_are_the_links_tools():
    links = tn._load_links_tool()
    assert tn.OWNED_TAGS == (links.LINKS_TAG, links.SETUP_TAG)


@pytest.mark.parametrize("english", ENGLISH, ids=IDS)
def test_the_links_tools_cells_are_its_own_chinese_ones(english):
    """The badge cell and the Colab cell come from `make links` (Chinese comments, links to the
    Chinese notebook), never from a translation file."""
    assert not set(tn.load_translation(tn.translation_path(english))) & set(tn.OWNED_TAGS)
    for en, zh in paired_cells(english):
        if tag := tn.owned_tag(en):
            assert tn.owned_tag(zh) == tag
            if en.cell_type == "code":
                assert re.search(f"[{CJK}]", zh.source), "the set-up cell's comments are Chinese"
            else:
                assert f"notebooks/zh/{english.name}" in zh.source


def _owned_cell(tag: str, kind: str, source: str):
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    cell.id = tag
    cell.metadata["tags"] = [tag]
    return cell


def test_the_build_keeps_the_committed_notebooks_owned_cells_and_asks_no_translation(tmp_path):
    english = _small_notebook(tmp_path)
    nb = nbformat.read(english, as_version=4)
    links_tag, setup_tag = tn.OWNED_TAGS
    nb.cells[1:1] = [
        _owned_cell(links_tag, "markdown", "[badge](notebooks/00_demo.ipynb)"),
        _owned_cell(setup_tag, "code", "import sys  # English comment"),
    ]
    nbformat.write(nb, english)
    # no Chinese notebook yet: the English cells, until `make links` writes the Chinese ones
    built = tn.build(english, _entries())
    ids = [c.id for c in built.cells]
    assert ids == ["title", links_tag, setup_tag, tn.LANGUAGE_CELL_ID, "code"]
    assert built.cells[2].source == "import sys  # English comment"
    # what `make links` wrote into the Chinese notebook is kept as it is
    built.cells[1].source = "[badge](notebooks/zh/00_demo.ipynb)"
    built.cells[2].source = "import sys  # 中文注释"
    committed = tmp_path / "zh.ipynb"
    nbformat.write(built, committed)
    again = tn.build(english, _entries(), committed=committed)
    assert tn.render(again) == committed.read_text(encoding="utf-8")
    # a translation of an owned cell is a mistake, reported
    entries = {**_entries(), setup_tag: {"comments": {"# English comment": "# 中文"}}}
    with pytest.raises(tn.TranslationError) as error:
        tn.build(english, entries)
    assert {(p.cell, p.kind) for p in error.value.problems} == {(setup_tag, "leftover")}


def _copy_course(root: Path) -> None:
    import shutil

    for name in ("README.md", "README.zh-CN.md", "pyproject.toml", "requirements.txt"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns("runs"))


def _texts(root: Path) -> dict[str, str]:
    files = [root / "README.md", root / "README.zh-CN.md", *(root / "notebooks").rglob("*.ipynb")]
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in files}


def test_make_zh_and_make_links_converge_in_either_order(tmp_path, monkeypatch):
    """From nothing (no Chinese notebooks), and after each tool changes what it owns: the two
    commands, run in either order, reach the committed files; run again, they change nothing."""
    links = tn._load_links_tool()
    root = tmp_path / "repo"
    root.mkdir()
    _copy_course(root)
    monkeypatch.setattr(tn, "ENGLISH_DIR", root / "notebooks")
    monkeypatch.setattr(tn, "CHINESE_DIR", root / "notebooks" / "zh")
    monkeypatch.setattr(tn, "TRANSLATIONS_DIR", root / "notebooks" / "zh" / "translations")
    committed = _texts(root)

    def both(first_zh: bool) -> None:
        for step in ("zh", "links") if first_zh else ("links", "zh"):
            code = tn.main([]) if step == "zh" else links.main([], root=root)
            assert code == 0, step

    for path in (root / "notebooks" / "zh").glob("*.ipynb"):
        path.unlink()
    both(first_zh=True)
    assert _texts(root) == committed
    for first_zh in (True, False):
        both(first_zh)
        assert _texts(root) == committed
    assert tn.main(["--check"]) == 0 and links.main(["--check"], root=root) == 0

    # the links tool's cells change (a fork's address): `make links` rewrites them in both
    # languages, and `make zh` then keeps the Chinese ones
    assert links.main(["--repository", "https://github.com/FORK_OWNER/FORK_REPO"], root=root) == 0
    changed = _texts(root)
    assert "FORK_OWNER" in changed["notebooks/zh/00_setup_check.ipynb"]
    both(first_zh=True)
    both(first_zh=False)
    assert _texts(root) == changed
    assert tn.main(["--check"]) == 0 and links.main(["--check"], root=root) == 0


# --- README.zh-CN.md -------------------------------------------------------------------------

# Each README.md section heading and its heading in README.zh-CN.md. A section added to README.md
# needs its Chinese section (and a line here) in the same place.
README_HEADINGS = {
    "Two commands": "两条命令",
    "Installing elsewhere (CPU-only PyTorch)": "在其他机器上安装（只用 CPU 的 PyTorch）",
    "The notebooks": "各课 notebook",
    "The lessons in Chinese": "中文版课程",
    "VGG19 weights": "VGG19 的权重",
    "The default path, in a few lines": "默认路径，寥寥几行",
    "Inside `nst_helpers`: the paper first": "`nst_helpers` 的内部：论文在先",
    "Command line": "命令行",
    "Choosing α and β": "如何选择 α 和 β",
    "Binder (self-study)": "Binder（自学）",
    "Google Colab (a free GPU)": "Google Colab（免费的 GPU）",
    "The repository's address (Binder and Colab links)": "仓库的地址（Binder 和 Colab 链接）",
    "A course on JupyterHub (instructors)": "在 JupyterHub 上开课（教师）",
    "Offline labs": "离线上机实验",
    "Mirrors (campus networks)": "镜像（校园网）",
    "Speed and memory (measured)": "速度与内存（实测）",
    "Troubleshooting": "故障排除",
    "Credits": "致谢",
}


def _headings(path: Path) -> list[tuple[str, str]]:
    """The ## and ### headings outside code blocks, in order: (level, text)."""
    headings, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"(#{2,3}) (.+)", line)):
            headings.append((match[1], match[2].strip()))
    return headings


def test_the_chinese_readme_has_the_english_readmes_sections_in_order():
    english = _headings(ROOT / "README.md")
    unknown = [text for _, text in english if text not in README_HEADINGS]
    assert not unknown, (
        f"README.md has new sections {unknown}: add them to README.zh-CN.md, in the same place, "
        "and to README_HEADINGS in tests/test_translations.py"
    )
    expected = [(level, README_HEADINGS[text]) for level, text in english]
    assert _headings(ROOT / "README.zh-CN.md") == expected


def test_each_readme_links_to_the_other_and_the_chinese_lessons_exist():
    english = (ROOT / "README.md").read_text(encoding="utf-8")
    chinese = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert "(README.zh-CN.md)" in english.split("\n## ")[0]  # at the top
    assert "(README.md)" in chinese.split("\n## ")[0]
    links = re.findall(r"\]\((notebooks/zh/[^)]+\.ipynb)\)", chinese)
    assert sorted(set(links)) == [f"notebooks/zh/{p.name}" for p in ENGLISH]
    assert all((ROOT / link).is_file() for link in links)
