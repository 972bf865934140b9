"""Build the Chinese lessons (notebooks/zh/) from the English ones and one translation file each.

    python tools/translate_notebooks.py            # (re)build every notebooks/zh/NN_name.ipynb
    python tools/translate_notebooks.py --check    # change nothing; list what is stale or missing
    python tools/translate_notebooks.py --stub 04  # add entries for 04's untranslated cells

`make zh` and `make zh-check` run the first two. For each English notebook
`notebooks/NN_name.ipynb` the translation is `notebooks/zh/translations/NN_name.yaml`:

    cells:
      f154ad92:               # the English cell's id
        en: "3f2a9c1e"        # hash of the English text this translation was made from
        zh: |
          # 00 · 环境检查
          ...
      b693c630:               # a code cell: its comments, English → Chinese
        comments:
          "# downloads on first use": "# 首次使用时下载"
          "# exercises.show_hint(\"x\")": null     # null: keep as it is (commented-out code)

The Chinese notebook is the English one with every markdown cell's text replaced by its `zh`,
every comment in the code replaced by its translation (the code itself is copied unchanged), and
one extra code cell, before the lesson's first code cell, that sets `NST_LANG=zh`
(LANGUAGE_CELL_ID).

Two cells are not this script's business: the badge cell and the Colab set-up cell that
`tools/links.py` (`make links`) owns, recognised by their tags (OWNED_TAGS). They need no
translation; the links tool writes their Chinese versions in notebooks/zh/, and this script keeps
whatever the committed Chinese notebook has for them (the English cell when it has none yet,
until `make links` runs). So `make zh` and `make links`, in either order, converge: once both
have run, running either again changes nothing.

A markdown translation is *stale* when the English cell's hash is no longer its `en`: the English
text changed after it was translated. The hash ignores how the text is wrapped (runs of
whitespace count as one space). The build refuses to write anything while a translation is
missing or stale, so a Chinese notebook never shows English text silently; `--check` lists every
problem (stale, missing, left over, and committed Chinese notebooks that differ from what this
script produces) and prints the hash to put in `en` once the translation is updated.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import importlib.util
import io
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
ENGLISH_DIR = ROOT / "notebooks"
CHINESE_DIR = ENGLISH_DIR / "zh"
TRANSLATIONS_DIR = CHINESE_DIR / "translations"

LANGUAGE = "zh"
LANGUAGE_CELL_ID = "nst-lang-zh"
LANGUAGE_CELL_SOURCE = (
    'import os\n\nos.environ["NST_LANG"] = "zh"  # 中文版：练习的反馈、提示和图的标题都用中文'
)
HASH_LENGTH = 8


def _load_links_tool():
    """tools/links.py, which owns two cells of every notebook (a script, not a package module)."""
    name = "nst_links_tool"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("links.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


_links = _load_links_tool()
#: Tags of the cells tools/links.py owns (the badge cell, the Colab set-up cell).
OWNED_TAGS = (_links.LINKS_TAG, _links.SETUP_TAG)


@dataclass(frozen=True)
class Problem:
    """One reason why a Chinese notebook cannot be built as it is."""

    notebook: str
    cell: str | None
    kind: str  # missing, untranslated, stale, comment, leftover, invalid, outdated, stray
    message: str

    def __str__(self) -> str:
        where = f"{self.notebook}, cell {self.cell}" if self.cell else self.notebook
        return f"{where}: {self.kind}: {self.message}"


class TranslationError(Exception):
    """Raised by the build when a notebook has problems; carries the list."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def source_hash(text: str) -> str:
    """The hash a translation records of the English text: SHA-256 of the text with every run
    of whitespace made one space (re-wrapping a paragraph does not make its translation stale)."""
    normalised = " ".join(text.split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:HASH_LENGTH]


def english_notebooks() -> list[Path]:
    return sorted(ENGLISH_DIR.glob("[0-9][0-9]_*.ipynb"))


def translation_path(english: Path) -> Path:
    return TRANSLATIONS_DIR / f"{english.stem}.yaml"


def chinese_path(english: Path) -> Path:
    return CHINESE_DIR / english.name


# --- comments in code ------------------------------------------------------------------------


def _comment_tokens(source: str) -> list[tokenize.TokenInfo]:
    readline = io.StringIO(source).readline
    return [t for t in tokenize.generate_tokens(readline) if t.type == tokenize.COMMENT]


def code_comments(source: str) -> list[str]:
    """The comments of a code cell, in order, each as written (`# ...`)."""
    return [t.string for t in _comment_tokens(source)]


def replace_comments(source: str, replace) -> str:
    """`source` with each comment `c` replaced by `replace(c)`; code and spacing stay as is."""
    lines = source.splitlines(keepends=True)
    # From the last comment back, so earlier positions stay valid.
    for token in reversed(_comment_tokens(source)):
        (row, start), (end_row, end) = token.start, token.end
        assert row == end_row
        line = lines[row - 1]
        lines[row - 1] = line[:start] + replace(token.string) + line[end:]
    return "".join(lines)


def without_comments(source: str) -> str:
    """The code with every comment removed (and the spaces before it): what must be equal
    between an English code cell and its Chinese copy."""
    stripped = replace_comments(source, lambda _comment: "")
    return "\n".join(line.rstrip() for line in stripped.splitlines())


# --- translation files -----------------------------------------------------------------------


def load_translation(path: Path) -> dict:
    """The `cells` mapping of a translation file ({} when the file does not exist)."""
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not isinstance(data.get("cells", {}), dict):
        raise ValueError(f"{path}: expected a mapping with a `cells:` mapping inside")
    cells = data.get("cells") or {}
    return {str(key): value for key, value in cells.items()}


def _markdown_text(english: str, entry: dict) -> str:
    text = entry["zh"]
    # YAML's `|` ends the text with a newline; keep the English cell's own ending instead.
    ending = english[len(english.rstrip("\n")) :]
    return text.rstrip("\n") + ending


def _translate_markdown(name, cell, entry, problems) -> str | None:
    current = source_hash(cell.source)
    first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    if entry is None:
        problems.append(
            Problem(
                name,
                cell.id,
                "missing",
                f"no translation (English hash {current}): {first_line[:70]!r}",
            )
        )
        return None
    if not isinstance(entry, dict) or "en" not in entry or "zh" not in entry:
        problems.append(Problem(name, cell.id, "invalid", "a markdown entry needs `en:` and `zh:`"))
        return None
    if not isinstance(entry["en"], str):
        message = f'write the hash in quotes, en: "{current}" (YAML reads some digits as numbers)'
        problems.append(Problem(name, cell.id, "invalid", message))
        return None
    if not isinstance(entry["zh"], str) or not entry["zh"].strip():
        problems.append(
            Problem(name, cell.id, "untranslated", f"`zh:` is empty (English hash {current})")
        )
        return None
    if str(entry["en"]) != current:
        problems.append(
            Problem(
                name,
                cell.id,
                "stale",
                f"the English text changed since it was translated (was {entry['en']}, "
                f'now {current}): update `zh:`, then set `en: "{current}"`. '
                f"English: {first_line[:60]!r}",
            )
        )
        return None
    return _markdown_text(cell.source, entry)


def _translate_code(name, cell, entry, problems) -> str | None:
    try:
        comments = code_comments(cell.source)
    except (tokenize.TokenError, SyntaxError) as error:
        message = f"cannot read the code's comments: {error}"
        problems.append(Problem(name, cell.id, "invalid", message))
        return None
    if not comments:
        if entry:
            problems.append(
                Problem(name, cell.id, "leftover", "translates comments, but the cell has none")
            )
        return cell.source
    mapping = (entry or {}).get("comments") if isinstance(entry, dict) else None
    mapping = mapping or {}
    missing = [c for c in comments if c not in mapping]
    for comment in missing:
        problems.append(
            Problem(
                name,
                cell.id,
                "comment",
                f"no translation for the comment {comment!r} (null keeps it as it is)",
            )
        )
    for english, chinese in mapping.items():
        if english not in comments:
            problems.append(
                Problem(name, cell.id, "leftover", f"the cell has no comment {english!r} any more")
            )
        elif chinese is not None and (
            not isinstance(chinese, str) or not chinese.startswith("#") or "\n" in chinese
        ):
            problems.append(
                Problem(name, cell.id, "invalid", f"{chinese!r} must be one line starting with #")
            )
    if missing:
        return None

    def replace(comment: str) -> str:
        chinese = mapping[comment]
        return comment if chinese is None else chinese

    return replace_comments(cell.source, replace)


def owned_tag(cell) -> str | None:
    """The tag of a cell that tools/links.py owns, or None for the lesson's own cells."""
    tags = cell.get("metadata", {}).get("tags", [])
    return next((tag for tag in OWNED_TAGS if tag in tags), None)


def _committed_owned_cells(path: Path | None) -> dict:
    """The cells tools/links.py wrote into the committed Chinese notebook, by tag."""
    if path is None or not path.is_file():
        return {}
    nb = nbformat.read(path, as_version=4)
    return {tag: cell for cell in nb.cells if (tag := owned_tag(cell))}


def language_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(LANGUAGE_CELL_SOURCE)
    cell.id = LANGUAGE_CELL_ID
    return cell


def build(
    english: Path, translations: dict | None = None, committed: Path | None = None
) -> nbformat.NotebookNode:
    """The Chinese notebook for `english`; raises TranslationError listing every problem.

    `committed` is the Chinese notebook whose links-tool cells are kept (default: the one in
    notebooks/zh/ when `translations` is not given, none otherwise)."""
    name = english.name
    if translations is None:
        translations = load_translation(translation_path(english))
        committed = chinese_path(english) if committed is None else committed
    kept = _committed_owned_cells(committed)
    nb = nbformat.read(english, as_version=4)
    problems: list[Problem] = []
    cells = []
    ids = set()
    for cell in nb.cells:
        if not cell.get("id"):
            problems.append(Problem(name, None, "invalid", "an English cell has no id"))
            continue
        ids.add(cell.id)
        entry = translations.get(cell.id)
        tag = owned_tag(cell)
        if tag:
            if entry is not None:
                message = f"tools/links.py writes this cell ({tag}): remove its translation"
                problems.append(Problem(name, cell.id, "leftover", message))
            out = copy.deepcopy(kept.get(tag, cell))
            if out.cell_type == "code":
                out.outputs = []
                out.execution_count = None
            cells.append(out)
            continue
        out = copy.deepcopy(cell)
        if cell.cell_type == "markdown":
            text = _translate_markdown(name, cell, entry, problems)
        elif cell.cell_type == "code":
            text = _translate_code(name, cell, entry, problems)
            out.outputs = []
            out.execution_count = None
        else:
            text = cell.source
        if text is not None:
            out.source = text
        cells.append(out)
    for key in translations:
        if key not in ids:
            problems.append(
                Problem(name, key, "leftover", "no English cell has this id (any more)")
            )
    if LANGUAGE_CELL_ID in ids:
        problems.append(Problem(name, LANGUAGE_CELL_ID, "invalid", "this id is reserved"))
    if problems:
        raise TranslationError(problems)
    # Before the lesson's first code cell: after the Colab set-up cell, which stays first.
    first_code = next(
        (i for i, c in enumerate(cells) if c.cell_type == "code" and not owned_tag(c)), len(cells)
    )
    cells.insert(first_code, language_cell())
    nb.cells = cells
    nbformat.validate(nb)
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    """The file's text, as Jupyter itself writes it."""
    return nbformat.writes(nb) + "\n"


# --- the commands ----------------------------------------------------------------------------


def check(englishes: list[Path]) -> list[Problem]:
    """Every problem, building nothing: translations and the committed Chinese notebooks."""
    problems: list[Problem] = []
    for english in englishes:
        try:
            text = render(build(english))
        except TranslationError as error:
            problems.extend(error.problems)
            continue
        except (ValueError, yaml.YAMLError) as error:
            problems.append(Problem(english.name, None, "invalid", str(error)))
            continue
        committed = chinese_path(english)
        if not committed.is_file():
            problems.append(
                Problem(english.name, None, "outdated", f"{_rel(committed)} does not exist")
            )
        elif committed.read_text(encoding="utf-8") != text:
            problems.append(
                Problem(
                    english.name,
                    None,
                    "outdated",
                    f"{_rel(committed)} is not what the translation produces (run make zh)",
                )
            )
    names = {e.name for e in english_notebooks()}
    for path in sorted(CHINESE_DIR.glob("*.ipynb")):
        if path.name not in names:
            problems.append(Problem(path.name, None, "stray", "no English notebook of this name"))
    for path in sorted(TRANSLATIONS_DIR.glob("*.yaml")):
        if f"{path.stem}.ipynb" not in names:
            problems.append(Problem(path.name, None, "stray", "no English notebook of this name"))
    return problems


def write_all(englishes: list[Path]) -> list[Problem]:
    """Build every notebook; write them only when none has a problem."""
    built, problems = {}, []
    for english in englishes:
        try:
            built[english] = render(build(english))
        except TranslationError as error:
            problems.extend(error.problems)
        except (ValueError, yaml.YAMLError) as error:
            problems.append(Problem(english.name, None, "invalid", str(error)))
    if problems:
        return problems
    CHINESE_DIR.mkdir(parents=True, exist_ok=True)
    for english, text in built.items():
        target = chinese_path(english)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {_rel(target)}")
    return []


def _yaml_block(text: str, indent: str) -> str:
    return "".join(f"{indent}{line}\n" if line else "\n" for line in text.splitlines())


def _yaml_quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def stub(english: Path) -> int:
    """Append an entry for every markdown cell without a translation and every code cell with an
    untranslated comment to the notebook's translation file, the English text as a YAML comment
    above an empty `zh:` (the build refuses empty ones). Returns how many entries it added."""
    path = translation_path(english)
    translations = load_translation(path)
    nb = nbformat.read(english, as_version=4)
    parts = []
    for cell in nb.cells:
        entry = translations.get(cell.id)
        if owned_tag(cell):
            continue
        if cell.cell_type == "markdown" and entry is None:
            parts.append(
                f"  {cell.id}:\n"
                + _yaml_block(cell.source, "    # ")
                + f'    en: "{source_hash(cell.source)}"\n    zh:\n'
            )
        elif cell.cell_type == "code" and entry is None:
            comments = list(dict.fromkeys(code_comments(cell.source)))
            if comments:
                lines = "".join(f"      {_yaml_quoted(c)}: null\n" for c in comments)
                parts.append(f"  {cell.id}:\n    comments:\n{lines}")
    if not parts:
        return 0
    TRANSLATIONS_DIR.mkdir(parents=True, exist_ok=True)
    if path.is_file():
        text = path.read_text(encoding="utf-8").rstrip("\n") + "\n"
    else:
        text = (
            f"# Chinese (Simplified) text of notebooks/{english.name}.\n"
            "# How to edit it: tools/translate_notebooks.py (its docstring) and README.md.\n"
            "cells:\n"
        )
    path.write_text(text + "".join(parts), encoding="utf-8")
    return len(parts)


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _select(names: list[str]) -> list[Path]:
    everything = english_notebooks()
    if not names:
        return everything
    chosen = []
    for name in names:
        matches = [p for p in everything if p.stem == name or p.name == name or p.stem[:2] == name]
        if not matches:
            raise SystemExit(f"no English notebook matches {name!r}")
        chosen.extend(matches)
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="e.g. 04 or 04_style_transfer (default: all)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="change nothing; report problems")
    mode.add_argument("--stub", action="store_true", help="add entries for untranslated cells")
    args = parser.parse_args(argv)
    englishes = _select(args.notebooks)
    if args.stub:
        for english in englishes:
            added = stub(english)
            if added:
                print(f"{_rel(translation_path(english))}: {added} entries to translate")
        return 0
    problems = check(englishes) if args.check else write_all(englishes)
    if args.check and args.notebooks:
        # The stray-file check concerns the whole folder; keep it for full checks only.
        problems = [p for p in problems if p.kind != "stray"]
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        notebooks = len({p.notebook for p in problems})
        verb = "found" if args.check else "nothing written:"
        print(f"{verb} {len(problems)} problem(s) in {notebooks} notebook(s)", file=sys.stderr)
        return 1
    if args.check:
        print(f"{len(englishes)} Chinese notebook(s) up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
