"""What the lessons say at run time, in the language NST_LANG chooses: gettext catalogs compiled
by tools/catalog.py, and a bundled Chinese font with which matplotlib misses no glyph."""

from __future__ import annotations

import functools
import gettext
import importlib.util
import io
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
    (folder / f"{i18n.DOMAIN}.mo").write_bytes(catalog.read_po(PO).to_binary())
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
    mo.write_bytes(catalog.read_po(PO).to_binary())
    with mo.open("rb") as f:
        translations = gettext.GNUTranslations(f)
    assert translations.info()["content-type"] == "text/plain; charset=UTF-8"
    assert translations.gettext("Correct!") == "正确！"
    assert translations.ngettext("{n} evaluation", "{n} evaluations", 1) == "{n} 次评估"
    # The same input always gives the same bytes (the .mo is committed and compared).
    assert catalog.read_po(PO).to_binary() == mo.read_bytes()


def _catalog(tmp_path, monkeypatch, po_text: str, code: dict[str, str]) -> Path:
    """A scratch project for tools/catalog.py: ``po_text`` as its zh catalog, ``code`` (file
    name -> source) as its package; returns the .po's path."""
    package = tmp_path / "nst_helpers"
    package.mkdir()
    for name, source in code.items():
        (package / name).write_text(source, encoding="utf-8")
    folder = package / "locale" / "zh" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = folder / f"{i18n.DOMAIN}.po"
    po.write_text(po_text, encoding="utf-8")
    monkeypatch.setattr(catalog, "LOCALE_DIR", package / "locale")
    monkeypatch.setattr(catalog, "ROOT", tmp_path)
    monkeypatch.setattr(catalog, "extract", functools.partial(catalog.extract, package))
    return po


def test_a_po_syntax_error_names_the_file_and_line(tmp_path, monkeypatch, capsys):
    broken = 'msgid "a"\nmsgtsr "b"\n'
    with pytest.raises(ValueError, match=r"<po>: .*line 2"):
        catalog.read_po(broken)
    po = _catalog(tmp_path, monkeypatch, broken, {})
    assert catalog.main(["check"]) == 1
    assert f"{po}: " in capsys.readouterr().err


def test_messages_are_found_in_the_code(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "m.py").write_text(
        "from nst_helpers.i18n import N_, _, ngettext, pgettext\n"
        'TITLE = N_("Loss curves")\n'
        'print(_("Correct!"), _(variable), ngettext("{n} run", "{n} runs", 2))\n'
        'print(pgettext("loss", "content"), f"<b>{_(\'in an f-string\')}</b>")\n'
    )
    found = catalog.extract(package)
    assert {(e.msgctxt, e.msgid, e.msgid_plural) for e in found} == {
        (None, "Loss curves", ""),
        (None, "Correct!", ""),
        (None, "{n} run", "{n} runs"),
        ("loss", "content", ""),
        (None, "in an f-string", ""),
    }
    assert found.find("Correct!").occurrences == [("pkg/m.py", "3")]


def test_check_lists_what_is_missing_left_over_unsure_or_stale_and_changes_nothing(
    tmp_path, monkeypatch
):
    code = 'print(_("Correct!"), _("Unsure"), _("Untranslated"), _("New"))\n'
    po = _catalog(tmp_path, monkeypatch, PO, {"m.py": code})
    problems = catalog.check()

    def about(msgid: str) -> list[str]:
        return [problem for problem in problems if repr(msgid) in problem]

    assert about("New"), "a message of the code without an entry"
    assert about("Unsure") and about("Untranslated"), "a fuzzy or an empty translation"
    assert about("Run") and about("{n} evaluation"), "entries no longer in the code"
    assert not about("Correct!") and not about("Old"), "translated, or already obsolete (#~)"
    assert any(".mo" in problem for problem in problems), "no .mo compiled yet"
    assert po.read_text(encoding="utf-8") == PO and not po.with_suffix(".mo").exists()
    assert catalog.main(["check"]) == 1

    catalog.compile_all()
    compiled = po.with_suffix(".mo").read_bytes()
    assert not any(".mo" in problem for problem in catalog.check())
    catalog.compile_all()  # nothing changed: the same bytes
    assert po.with_suffix(".mo").read_bytes() == compiled


def test_update_merges_the_code_into_the_catalog_as_msgmerge_does(tmp_path, monkeypatch):
    """New messages get an empty entry, translations and fuzzy flags stay, messages no longer
    in the code become obsolete (#~). ``pgettext("loss", "content")`` (the content loss) and
    ``_("content")`` (the image) are two entries, and the compiled catalog keeps them apart."""
    code = 'print(_("Correct!"), _("Unsure"), _("content"), pgettext("loss", "content"))\n'
    po = _catalog(tmp_path, monkeypatch, PO, {"m.py": code})
    assert catalog.update() == 2
    entries = catalog.read_po(po)
    assert entries.find("Correct!").msgstr == "正确！"
    assert entries.find("Correct!").occurrences == [("nst_helpers/m.py", "1")]
    assert entries.find("Unsure").fuzzy
    assert entries.find("Run", msgctxt="button", include_obsolete_entries=True).obsolete
    text = po.read_text(encoding="utf-8")
    assert 'msgctxt "loss"\nmsgid "content"\nmsgstr ""' in text
    text = text.replace(
        'msgctxt "loss"\nmsgid "content"\nmsgstr ""',
        'msgctxt "loss"\nmsgid "content"\nmsgstr "内容损失"',
    )
    text = text.replace('msgid "content"\nmsgstr ""', 'msgid "content"\nmsgstr "内容图"')
    with io.BytesIO(catalog.read_po(text).to_binary()) as f:
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
        for entry in catalog.read_po(po):
            if entry.obsolete:
                continue
            for text in list(entry.msgstr_plural.values()) or [entry.msgstr]:
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

    found, constants = set(), set()
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            if cell["cell_type"] != "code" or cell["metadata"].get("tags"):
                continue
            for node in ast.walk(ast.parse("".join(cell["source"]))):
                constants.update(strings(node))  # names printed through nst.tr(name)
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
    marked = {entry.msgid for entry in catalog.extract()}
    assert found - marked == set(), "add them to NOTEBOOK_TEXTS, then tools/catalog.py update"
    assert set(NOTEBOOK_TEXTS) <= constants | {"content", "style"}, "no longer in any notebook"


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
