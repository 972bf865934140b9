"""The lessons' run-time messages in other languages: gettext catalogs, kept with polib.

    python tools/catalog.py compile  # each nst_helpers/locale/*/LC_MESSAGES/*.po -> its .mo
    python tools/catalog.py check    # stale .mo; entries missing, left over, fuzzy, empty
    python tools/catalog.py update   # msgmerge: new messages added, "#:" renewed, gone ones #~

The .po files are the source a translator edits (any PO editor works); the .mo files are what
gettext reads at run time (nst_helpers/i18n.py). Both are committed: ``make zh`` compiles, and
tests/test_i18n.py fails when a .mo is not what its .po compiles to (the same .po, the same
bytes). Messages are found with ``ast``, so also inside f-strings (Babel's extractor is blind
there before Python 3.12): ``_``, ``N_``, ``ngettext``, ``pgettext`` with string literals.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import Counter
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nst_helpers"
LOCALE_DIR = PACKAGE / "locale"
DOMAIN = "nst_helpers"
# The marking functions: which PO fields their leading string-literal arguments are.
FIELDS = {"_": ("msgid",), "N_": ("msgid",), "ngettext": ("msgid", "msgid_plural")}
FIELDS["pgettext"] = ("msgctxt", "msgid")


def read_po(source: str | Path) -> polib.POFile:
    """A PO file (a path) or PO text (a str), never re-wrapped; ValueError: file and line."""
    try:
        return polib.pofile(str(source), wrapwidth=0)
    except OSError as error:
        raise ValueError(f"{source if isinstance(source, Path) else '<po>'}: {error}") from None


def po_files() -> list[Path]:
    return sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def translated_text() -> str:
    """Every translation of every catalog, joined (the characters the lessons may draw)."""
    entries = [e for po in po_files() for e in read_po(po) if not e.obsolete]
    return "".join(text for e in entries for text in [e.msgstr, *e.msgstr_plural.values()])


def extract(package: Path = PACKAGE) -> polib.POFile:
    """Every message marked in ``package``, as a template (empty msgstr) whose references are
    "nst_helpers/…/file.py:line"; polib's key ``msgid_with_context`` is "context\\x04msgid"."""
    found: dict[str, polib.POEntry] = {}
    for path in sorted(package.rglob("*.py")):
        where = path.relative_to(package.parent).as_posix()
        for node in ast.walk(ast.parse(path.read_bytes(), where)):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            fields = FIELDS.get(node.func.id, ())
            strings = [getattr(a, "value", None) for a in node.args][: len(fields)]
            if not fields or [type(s) for s in strings] != [str] * len(fields):
                continue
            plural = {0: ""} if "msgid_plural" in fields else {}  # Chinese has one plural form
            entry = polib.POEntry(**dict(zip(fields, strings, strict=True)), msgstr_plural=plural)
            entry = found.setdefault(entry.msgid_with_context, entry)
            entry.occurrences.append((where, str(node.lineno)))
    if package == PACKAGE:  # the English notebooks' own lines: nst.tr("…", …)
        for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
            for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
                if cell["cell_type"] != "code":
                    continue
                for node in ast.walk(ast.parse("".join(cell["source"]))):
                    if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "tr"):
                        continue
                    if node.args and isinstance(getattr(node.args[0], "value", None), str):
                        entry = polib.POEntry(msgid=node.args[0].value)
                        entry = found.setdefault(entry.msgid_with_context, entry)
                        where = (path.relative_to(ROOT).as_posix(), cell.get("id", "?"))
                        entry.occurrences.append(where)
    template = polib.POFile()
    template.extend(found.values())
    return template


def check() -> list[str]:
    """What is wrong with each catalog (an empty list: nothing); changes no file."""
    problems = []
    template = extract()
    marked = {e.msgid_with_context for e in template}
    for path in po_files():
        name = path.relative_to(ROOT)
        po = read_po(path)
        mo = path.with_suffix(".mo")
        if not mo.is_file() or mo.read_bytes() != po.to_binary():
            problems.append(f"{name}: its .mo is missing or old: make zh")
        entries = [e for e in po if not e.obsolete]
        keys = Counter(e.msgid_with_context for e in entries)
        for e in template:
            if e.msgid_with_context not in keys:
                where = ":".join(e.occurrences[0])
                problems.append(f"{name}: no entry for {e.msgid!r} ({where}): catalog.py update")
        for entry in entries:
            if keys[entry.msgid_with_context] > 1:
                problems.append(f"{name}: {entry.msgid!r} has more than one entry")
            elif entry.msgid_with_context not in marked:
                problems.append(f"{name}: {entry.msgid!r} is not in the code any more")
            elif entry.fuzzy:
                problems.append(f"{name}: {entry.msgid!r} is fuzzy (check it, drop the flag)")
            elif not entry.translated():
                problems.append(f"{name}: {entry.msgid!r} is not translated (yet)")
    return problems


def update() -> int:
    """Merge the code's messages into each .po as ``msgmerge`` does (translations and fuzzy
    flags kept); returns how many entries were added."""
    template = extract()
    added = 0
    for path in po_files():
        po = read_po(path)
        before = {e.msgid_with_context for e in po if not e.obsolete}
        po.merge(template)
        new = len({e.msgid_with_context for e in po if not e.obsolete} - before)
        po.save(str(path))
        print(f"{path.relative_to(ROOT)}: {new} new message(s) to translate")
        added += new
    return added


def compile_all() -> None:
    """Each .po -> its .mo (untranslated and fuzzy entries left out), written only if changed."""
    for path in po_files():
        data = read_po(path).to_binary()
        mo = path.with_suffix(".mo")
        if not mo.is_file() or mo.read_bytes() != data:
            mo.write_bytes(data)
            print(f"wrote {mo.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["compile", "check", "update"])
    command = parser.parse_args(argv).command
    try:
        problems = check() if command == "check" else []
        if command != "check":
            (compile_all if command == "compile" else update)()
    except ValueError as error:  # a PO syntax error, named with its file and line
        problems = [str(error)]
    for problem in problems:
        print(problem, file=sys.stderr)
    if command == "check" and not problems:
        print(f"{len(po_files())} catalog(s) up to date")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
