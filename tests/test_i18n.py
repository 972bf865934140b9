"""What the lessons say at run time, in the language NST_LANG chooses: gettext catalogs compiled
by tools/catalog.py, and a bundled Chinese font with which matplotlib misses no glyph."""

from __future__ import annotations

import gettext
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from nst_helpers import i18n
from nst_helpers.lessons import cjk_font

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("catalog", ROOT / "tools" / "catalog.py")
catalog = importlib.util.module_from_spec(_spec)
sys.modules["catalog"] = catalog
_spec.loader.exec_module(catalog)

PO = """\
# a comment
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"

#: nst_helpers/lessons/exercises.py:10
msgid "Correct!"
msgstr "正确！"

msgid ""
"Two lines,\\n"
"with \\"quotes\\"."
msgstr "两行，\\n带“引号”。"

msgid "{n} evaluation"
msgid_plural "{n} evaluations"
msgstr[0] "{n} 次评估"

msgctxt "button"
msgid "Run"
msgstr "运行"

#, fuzzy
msgid "Unsure"
msgstr "不确定"

msgid "Untranslated"
msgstr ""

#~ msgid "Old"
#~ msgstr "旧"
"""


@pytest.fixture
def zh_catalog(tmp_path, monkeypatch):
    """PO above compiled into a scratch locale folder that i18n reads."""
    folder = tmp_path / "zh" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / f"{i18n.DOMAIN}.mo").write_bytes(catalog.compile_mo(catalog.read_po(PO)))
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    yield
    i18n.translations.cache_clear()


@pytest.mark.parametrize(
    ("value", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("zh", "zh"),
        ("zh_CN", "zh"),
        ("zh-Hans", "zh"),
        ("zh_CN.UTF-8", "zh"),
        ("ZH", "zh"),
        ("en_GB", "en"),
        ("fr", "en"),
    ],
)
def test_nst_lang_chooses_the_language(monkeypatch, value, language):
    if value is None:
        monkeypatch.delenv("NST_LANG", raising=False)
    else:
        monkeypatch.setenv("NST_LANG", value)
    assert i18n.language() == language


def test_messages_follow_nst_lang_at_every_call(zh_catalog, monkeypatch):
    monkeypatch.delenv("NST_LANG", raising=False)
    assert i18n._("Correct!") == "Correct!"
    monkeypatch.setenv("NST_LANG", "zh")  # after import, as the Chinese notebooks' first cell
    assert i18n._("Correct!") == "正确！"
    assert i18n._('Two lines,\nwith "quotes".') == "两行，\n带“引号”。"
    assert i18n.ngettext("{n} evaluation", "{n} evaluations", 5) == "{n} 次评估"
    assert i18n.translations("zh").pgettext("button", "Run") == "运行"
    # Fuzzy, empty and obsolete entries are not translations: English is shown.
    assert i18n._("Unsure") == "Unsure"
    assert i18n._("Untranslated") == "Untranslated"
    assert i18n._("Old") == "Old"
    assert i18n._("Not in the catalog") == "Not in the catalog"
    assert i18n.N_("Correct!") == "Correct!"


def test_the_compiled_catalog_is_what_gnu_gettext_reads(tmp_path):
    mo = tmp_path / "x.mo"
    mo.write_bytes(catalog.compile_mo(catalog.read_po(PO)))
    with mo.open("rb") as f:
        translations = gettext.GNUTranslations(f)
    assert translations.info()["content-type"] == "text/plain; charset=UTF-8"
    assert translations.gettext("Correct!") == "正确！"
    assert translations.ngettext("{n} evaluation", "{n} evaluations", 1) == "{n} 次评估"
    # The same input always gives the same bytes (the .mo is committed and compared).
    assert catalog.compile_mo(catalog.read_po(PO)) == mo.read_bytes()


def test_the_po_reader_names_the_line_of_a_mistake():
    with pytest.raises(ValueError, match="<po>:2"):
        catalog.read_po('msgid "a"\nmsgstr unquoted\n')


def test_messages_are_found_in_the_code(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "m.py").write_text(
        "from nst_helpers.i18n import N_, _, ngettext, pgettext\n"
        'TITLE = N_("Loss curves")\n'
        'print(_("Correct!"), _(variable), ngettext("{n} run", "{n} runs", 2))\n'
        'print(pgettext("loss", "content"))\n'
    )
    found = catalog.extract(package)
    assert set(found) == {"Loss curves", "Correct!", "{n} run\0{n} runs", "loss\x04content"}
    assert found["Correct!"] == ["pkg/m.py:3"]


def test_a_message_with_a_context_is_its_own_entry(tmp_path, monkeypatch):
    """``pgettext("loss", "content")`` (the content loss) and ``_("content")`` (the image) are
    two entries: update writes the msgctxt, the compiled catalog keeps them apart."""
    folder = tmp_path / "locale" / "zh" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = folder / f"{i18n.DOMAIN}.po"
    po.write_text(PO.split("\n\n")[0] + "\n", encoding="utf-8")
    monkeypatch.setattr(catalog, "LOCALE_DIR", tmp_path / "locale")
    monkeypatch.setattr(
        catalog,
        "extract",
        lambda: {"content": ["pkg/m.py:1"], "loss\x04content": ["pkg/m.py:2"]},
    )
    monkeypatch.setattr(catalog, "ROOT", tmp_path)
    assert catalog.update() == 2
    text = po.read_text(encoding="utf-8")
    assert 'msgctxt "loss"\nmsgid "content"' in text
    text = text.replace(
        'msgctxt "loss"\nmsgid "content"\nmsgstr ""',
        'msgctxt "loss"\nmsgid "content"\nmsgstr "内容损失"',
    )
    text = text.replace('msgid "content"\nmsgstr ""', 'msgid "content"\nmsgstr "内容图"')
    entries = catalog.read_po(text)
    assert {catalog._key(e) for e in entries if e.msgid} == {"content", "loss\x04content"}
    mo = tmp_path / "x.mo"
    mo.write_bytes(catalog.compile_mo(entries))
    with mo.open("rb") as f:
        translations = gettext.GNUTranslations(f)
    assert translations.gettext("content") == "内容图"
    assert translations.pgettext("loss", "content") == "内容损失"


def test_the_committed_catalogs_are_compiled_complete_and_current():
    assert catalog.po_files(), "no catalog: nst_helpers/locale/zh/LC_MESSAGES/nst_helpers.po"
    problems = catalog.check()
    assert not problems, "\n".join(problems)


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"\{[^{}]*\}", text))


def test_each_translation_keeps_the_placeholders_and_uses_no_mathtext():
    """str.format fills the same {names} (and formats) in both languages, and a Chinese string
    has no $…$: matplotlib's mathtext has no Chinese glyphs."""
    for po in catalog.po_files():
        for entry in catalog.read_po(po.read_text(encoding="utf-8"), str(po)):
            if not entry.msgid:
                continue
            for text in entry.msgstr:
                assert _placeholders(text) == _placeholders(entry.msgid), entry.msgid
                assert "$" not in text, entry.msgid


def test_the_notebooks_figure_texts_are_in_the_catalog():
    """The titles and labels the notebooks' own code passes to the lessons' figures (string
    literals) are marked in nst_helpers/lessons/notebook_texts.py, so the Chinese notebooks, which
    run the same code, draw them in Chinese."""
    import ast

    from nst_helpers.lessons.notebook_texts import NOTEBOOK_TEXTS

    calls = {"show_images", "plot_losses", "plot_history", "plot_runs", "plot_series"}
    calls |= {"snapshot_grid", "plot_grams", "plot_line", "loss_slice", "plot_ratio_grid"}
    keywords = {"title", "suptitle", "d1_label", "d2_label", "labels", "titles"}

    def strings(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.Tuple | ast.List):
            return [s for e in node.elts for s in strings(e)]
        return []

    found = set()
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            if cell["cell_type"] != "code" or cell["metadata"].get("tags"):
                continue
            for node in ast.walk(ast.parse("".join(cell["source"]))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "attr", getattr(node.func, "id", None))
                if name not in calls:
                    continue
                for keyword in node.keywords:
                    if keyword.arg in keywords:
                        found.update(strings(keyword.value))
                if node.args and isinstance(node.args[0], ast.Dict):
                    found.update(s for k in node.args[0].keys if k for s in strings(k))
    marked = set(catalog.extract())
    assert found - marked == set(), "add them to NOTEBOOK_TEXTS, then tools/catalog.py update"
    assert set(NOTEBOOK_TEXTS) <= found | {"content", "style"}, "no longer in any notebook"


def test_the_chinese_catalog_loads_with_gettext(monkeypatch):
    i18n.translations.cache_clear()
    try:
        translations = i18n.translations("zh")
        assert isinstance(translations, gettext.GNUTranslations)
        assert "nplurals=1" in translations.info()["plural-forms"]
    finally:
        i18n.translations.cache_clear()


def test_the_package_ships_its_catalogs_and_font():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "locale/*/LC_MESSAGES/*.mo" in text and "fonts/*" in text


# --- the font --------------------------------------------------------------------------------

matplotlib = pytest.importorskip("matplotlib")


def test_the_font_has_every_character_the_translations_use():
    """Fails when a translation uses a character the bundled font lacks: run
    tools/subset_font.py (it adds every character of the catalogs and the Chinese lessons)."""
    sample = "内容图风格图初始图迭代图生成图内容损失风格损失总损失评估次数"
    sample += "过滤器特征图感受野练习提示参考答案快照梵高"  # 梵: beyond GB 2312's first level
    missing = cjk_font.uncovered(catalog.translated_text() + sample + "，。：；（）“”！？、…·")
    assert not missing, f"characters without a glyph: {''.join(sorted(missing))}"
    assert cjk_font.FONT_FILE.stat().st_size < 1_500_000


def _draw(text: str) -> list[str]:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        ax.set_title(text)
        ax.set_xlabel(text)
        with cjk_font.missing_glyphs() as found:
            fig.canvas.draw()
    finally:
        plt.close(fig)
    return found


def test_matplotlib_draws_chinese_titles_with_no_missing_glyph(monkeypatch):
    matplotlib.use("agg")
    monkeypatch.setitem(matplotlib.rcParams, "font.family", ["sans-serif"])
    title = "内容图与风格图：迭代 100 次后的总损失（α/β = 1e-9，E₁ … E₅，½Σ）"
    # The detector works: without the fallback font, the Chinese characters are missing.
    assert _draw(title)
    assert cjk_font.use_cjk_font() == cjk_font.FAMILY
    assert cjk_font.use_cjk_font() == cjk_font.FAMILY  # twice: no second registration
    assert list(matplotlib.rcParams["font.family"]) == ["sans-serif", cjk_font.FAMILY]
    assert _draw(title) == []
    assert _draw(catalog.translated_text() or "正确！") == []


def test_mathtext_in_a_chinese_string_is_reported(monkeypatch):
    """The one case the font cannot fix: `$…$` makes mathtext draw the whole string."""
    matplotlib.use("agg")
    monkeypatch.setitem(matplotlib.rcParams, "font.family", ["sans-serif"])
    cjk_font.use_cjk_font()
    assert _draw("风格损失 $E_l$")
    assert _draw("Style loss $E_l$") == []
