"""Build the lessons' Chinese figure font: nst_helpers/fonts/NotoSansCJKsc-Regular-subset.otf.

    python tools/subset_font.py [--source FONT]

Noto Sans CJK SC (SIL Open Font License 1.1, no reserved names) cut down to what the figures
need: the 3755 most common Chinese characters (GB 2312 level 1), Chinese punctuation and
full-width forms, and every character of the catalogs' translations (nst_helpers/locale/*/
LC_MESSAGES/*.po). About 0.8 MB instead of 16-20 MB; Latin letters, digits and Greek come from
matplotlib's DejaVu Sans. Run it again when tests/test_i18n.py says a translation uses a
character the font lacks.

The source font: --source (a .otf, or a .ttc collection: its "Noto Sans CJK SC" face is used), or
the PyPI package noto-cjk-sans-otc (`pip install noto-cjk-sans-otc`), or Debian's fonts-noto-cjk
(/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc). Needs fontTools (a matplotlib
dependency).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import catalog  # noqa: E402

TARGET = ROOT / "nst_helpers" / "fonts" / "NotoSansCJKsc-Regular-subset.otf"
FAMILY = "Noto Sans CJK SC"
DEBIAN = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
PUNCTUATION = "，。、；：？！“”‘’（）《》〈〉【】〔〕「」『』…—–·～￥"


def gb2312_level_1() -> str:
    """GB 2312's first level: 3755 characters, rows 16-55 (bytes 0xB0A1-0xD7F9)."""
    chars = []
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(chars)


def lessons_text() -> str:
    """The Chinese lessons' own text (their translation files): names a learner may put in a
    figure, such as 梵高 (van Gogh), beyond GB 2312's first level."""
    root = Path(__file__).resolve().parents[1] / "notebooks" / "zh" / "translations"
    return "".join(p.read_text(encoding="utf-8") for p in sorted(root.glob("*.yaml")))


def characters() -> str:
    """Every character the subset holds (sorted, no duplicates)."""
    wanted = (
        set(gb2312_level_1())
        | set(PUNCTUATION)
        | set(catalog.translated_text())
        | set(lessons_text())
    )
    wanted |= {chr(c) for c in range(0x3000, 0x3040)} | {chr(c) for c in range(0xFF01, 0xFF5F)}
    return "".join(sorted(c for c in wanted if not c.isspace() or c == "\u3000"))


def find_source(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    spec = importlib.util.find_spec("noto_cjk_sans_otc")
    if spec and spec.origin:
        path = Path(spec.origin).parent / "NotoSansCJK-Regular.ttc"
        if path.is_file():
            return path
    if DEBIAN.is_file():
        return DEBIAN
    raise SystemExit(
        "no source font: pass --source, `pip install noto-cjk-sans-otc`, or "
        "`apt-get install fonts-noto-cjk`"
    )


def face_index(path: Path) -> int:
    from fontTools.ttLib import TTCollection

    if path.suffix.lower() not in (".ttc", ".otc"):
        return 0
    for index, font in enumerate(TTCollection(str(path)).fonts):
        if font["name"].getDebugName(1) == FAMILY:
            return index
    raise SystemExit(f"{path} has no {FAMILY!r} face")


def main(argv: list[str] | None = None) -> int:
    from fontTools import subset

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", help="a Noto Sans CJK SC .otf or the Noto Sans CJK .ttc")
    parser.add_argument("--output", default=str(TARGET))
    args = parser.parse_args(argv)
    source = find_source(args.source)
    options = subset.Options()
    options.layout_features = []  # matplotlib does no shaping: horizontal text needs none
    options.hinting = False
    options.name_IDs = ["*"]  # keep the copyright, trademark and licence records
    options.font_number = face_index(source)
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters())
    subsetter.subset(font)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    subset.save_font(font, args.output, options)
    size = Path(args.output).stat().st_size
    count = len(characters())
    print(f"wrote {args.output} ({count} characters, {size / 1e6:.2f} MB) from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
