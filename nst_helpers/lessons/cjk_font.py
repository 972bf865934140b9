"""Chinese text in matplotlib figures: the bundled font, and a check that no glyph is missing.

matplotlib's default font (DejaVu Sans) has no Chinese characters: a Chinese title shows empty
boxes, with only a warning ("Glyph 20869 (...) missing from font(s) DejaVu Sans"). The package
ships Noto Sans CJK SC cut down to the characters the lessons need (nst_helpers/fonts/, ~0.8 MB,
built by tools/subset_font.py), so it works everywhere (Binder, Colab) with no system font and no
download. ``use_cjk_font()`` adds it to ``font.family`` as a fallback: Latin letters, digits and
Greek still come from DejaVu Sans. The lessons' figure code calls ``use_language_font()`` first
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

from ..i18n import language

FONT_FILE = Path(__file__).resolve().parents[1] / "fonts" / "NotoSansCJKsc-Regular-subset.otf"
FAMILY = "Noto Sans CJK SC"
_MISSING = re.compile(r"Glyph .* missing from font|does not have a glyph")


def use_cjk_font() -> str:
    """Let matplotlib draw Chinese: register the bundled font (once) and append its family to
    ``rcParams["font.family"]``, the fallback for characters the others lack (idempotent)."""
    import matplotlib as mpl
    from matplotlib import font_manager

    if FAMILY not in {f.name for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(FONT_FILE))
    families = list(mpl.rcParams["font.family"])
    if FAMILY not in families:
        mpl.rcParams["font.family"] = [*families, FAMILY]
    return FAMILY


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
            if _MISSING.search(str(warning.message)):
                found.append(str(warning.message))
            else:
                warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                       warning.lineno)  # fmt: skip
    finally:
        logger.removeHandler(handler)
