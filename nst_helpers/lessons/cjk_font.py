"""Chinese text in matplotlib figures: the system's full CJK font or the bundled subset, and a
check that no glyph is missing.

matplotlib's default font (DejaVu Sans) has no Chinese characters: a Chinese title shows empty
boxes, with only a warning ("Glyph 20869 (...) missing from font(s) DejaVu Sans"). A learner's
own text (我的猫咪…) needs a full Chinese font: ``use_cjk_font()`` takes the system's
(``SYSTEM_FAMILIES``: Debian's fonts-noto-cjk, which binder/apt.txt installs; Windows', macOS'),
else the one the package ships, Noto Sans CJK SC cut down to the characters the lessons need
(nst_helpers/fonts/, ~0.8 MB, built by tools/subset_font.py; Colab has no Chinese font). A Chinese
character the font in use lacks is then named in a ``MissingGlyphWarning`` (in the lessons'
language). The font is added to ``font.family`` as a fallback: Latin letters, digits and Greek
still come from DejaVu Sans. The lessons' figure code calls ``use_language_font()`` first
(the font is added when ``NST_LANG=zh``). A string with ``$…$`` is drawn by mathtext, whose fonts
have no Chinese: keep formulas out of Chinese strings (α/β, E₁, ½, Σ need no mathtext).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..i18n import language

if TYPE_CHECKING:
    from matplotlib.font_manager import FontEntry

FONT_FILE = Path(__file__).resolve().parents[1] / "fonts" / "NotoSansCJKsc-Regular-subset.otf"
FAMILY = "Noto Sans CJK SC"
#: Full Chinese fonts a system may have, by matplotlib's family names, the preferred first.
SYSTEM_FAMILIES = (FAMILY, "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei",
                   "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "SimHei",
                   "Noto Sans CJK JP")  # fmt: skip
_MISSING = re.compile(r"Glyph .* missing from font|does not have a glyph")
_MATPLOTLIBS: list = []  # matplotlib's own report of a missing glyph, replaced by ours
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\U00020000-\U0003ffff]")


class MissingGlyphWarning(UserWarning):
    """A Chinese character of a figure's text that the font in use lacks: drawn as a box."""


@cache
def system_font() -> FontEntry | None:
    """A full Chinese font of this system (``SYSTEM_FAMILIES``), or None. Font files installed
    after matplotlib cached its font list (apt install fonts-noto-cjk) are registered first."""
    from matplotlib import font_manager

    known = {f.fname for f in font_manager.fontManager.ttflist}
    pattern = re.compile(r"(?i)cjk|sourcehan|wqy|msyh|yahei|pingfang|simhei|notosanssc")
    for path in font_manager.findSystemFonts():
        if path not in known and pattern.search(Path(path).name):
            font_manager.fontManager.addfont(path)
    fonts = [f for f in font_manager.fontManager.ttflist if f.fname != str(FONT_FILE)
             and f.style == "normal" and f.weight in (400, "normal")]  # fmt: skip
    return next((f for name in SYSTEM_FAMILIES for f in fonts if f.name == name), None)


def use_cjk_font() -> str:
    """Let matplotlib draw Chinese with the system's full font (``system_font``), else the bundled
    one: register it, put it first among fonts of its name, append its family to
    ``rcParams["font.family"]`` (the fallback for characters the others lack; idempotent) and
    report a missing Chinese glyph with ``MissingGlyphWarning``. Returns the family."""
    import matplotlib as mpl
    from matplotlib import _text_helpers, font_manager

    manager, font = font_manager.fontManager, system_font()
    if font is None:
        if str(FONT_FILE) not in {f.fname for f in manager.ttflist}:
            manager.addfont(str(FONT_FILE))
        font = next(f for f in manager.ttflist if f.fname == str(FONT_FILE))
    if manager.ttflist[0] is not font:  # findfont takes the first of equally good fonts
        manager.ttflist.remove(font)
        manager.ttflist.insert(0, font)
        manager._findfont_cached.cache_clear()
    families = list(mpl.rcParams["font.family"])
    if font.name not in families:
        mpl.rcParams["font.family"] = [*families, font.name]
    hook = getattr(_text_helpers, "warn_on_missing_glyph", _warn_missing_glyph)  # private
    if hook is not _warn_missing_glyph:
        _MATPLOTLIBS.append(hook)
        _text_helpers.warn_on_missing_glyph = _warn_missing_glyph
    return font.name


def _warn_missing_glyph(codepoint: int, fontnames: str) -> None:
    """matplotlib's report of a glyph drawn as a box: for a Chinese character, one warning in the
    lessons' language that names it and says what to install."""
    if not _CJK.match(chr(codepoint)):
        return _MATPLOTLIBS[0](codepoint, fontnames)
    from ..i18n import _

    message = _(
        "the font in use ({font}) has no “{char}”: it is drawn as a box; install a full "
        "Chinese font (Debian/Ubuntu: apt install fonts-noto-cjk), then restart the kernel"
    )
    warnings.warn(message.format(font=fontnames, char=chr(codepoint)), MissingGlyphWarning, 2)


def use_language_font() -> None:
    """``use_cjk_font()`` when the lessons speak Chinese (``NST_LANG=zh``); nothing otherwise."""
    if language() == "zh":
        use_cjk_font()


@cache
def _charmap(path: str) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(path).get_charmap())


def uncovered(text: str) -> set[str]:
    """The characters of ``text`` that neither DejaVu Sans nor the bundled font can draw."""
    from matplotlib import font_manager

    dejavu = font_manager.findfont("DejaVu Sans", fallback_to_default=True)
    covered = _charmap(dejavu) | _charmap(str(FONT_FILE))
    return {c for c in text if not c.isspace() and ord(c) not in covered}


@contextmanager
def missing_glyphs() -> Iterator[list[str]]:
    """Collect matplotlib's reports of characters drawn as empty boxes inside the block: its
    ``Glyph … missing from font(s)`` warnings (the warnings are swallowed) and mathtext's logged
    ``does not have a glyph`` messages.

        with missing_glyphs() as found:
            fig.canvas.draw()
        assert not found, found
    """
    found: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda r: found.append(r.getMessage()) if _MISSING.search(r.getMessage()) else 0
    logger = logging.getLogger("matplotlib")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield found
        for warning in caught:
            if _MISSING.search(str(warning.message)) or warning.category is MissingGlyphWarning:
                found.append(str(warning.message))
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                       warning.lineno)  # fmt: skip
    finally:
        logger.removeHandler(handler)
