"""The lessons' run-time messages in other languages: gettext catalogs, with the standard library.

    python tools/catalog.py compile   # every nst_helpers/locale/*/LC_MESSAGES/*.po -> .mo
    python tools/catalog.py check     # .mo current; every _("...") in the code in each .po; no
                                      # translation left over or empty
    python tools/catalog.py update    # append the code's new messages to each .po (empty msgstr)

The ``.po`` files are the source a translator edits (GNU gettext's format: any PO editor works);
the ``.mo`` files are what ``gettext`` reads at run time (nst_helpers/i18n.py). Both are
committed; ``make zh`` compiles, and tests/test_i18n.py fails when a ``.mo`` is not what its
``.po`` compiles to. The compiler is a small re-implementation of ``msgfmt`` (the format is in
the GNU gettext manual, "The Format of GNU MO Files"), so no gettext tools are needed.
Messages are found in the code as the first argument of ``_("...")``, ``N_("...")`` and
``ngettext("...", "...", n)``, and as ``pgettext("context", "...")`` (a msgctxt), string literals
only.
"""

from __future__ import annotations

import argparse
import ast
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nst_helpers"
LOCALE_DIR = PACKAGE / "locale"
DOMAIN = "nst_helpers"
MO_MAGIC = 0x950412DE


@dataclass
class Entry:
    msgid: str
    msgstr: list[str]  # one string, or one per plural form
    msgid_plural: str | None = None
    msgctxt: str | None = None
    fuzzy: bool = False
    references: list[str] = field(default_factory=list)

    @property
    def translated(self) -> bool:
        return not self.fuzzy and all(self.msgstr) and bool(self.msgstr)


def _unquote(text: str, where: str) -> str:
    text = text.strip()
    if not (len(text) >= 2 and text[0] == text[-1] == '"'):
        raise ValueError(f"{where}: expected a quoted string, got {text!r}")
    return ast.literal_eval(text)  # PO's escapes (\n \t \" \\) are Python's


def read_po(text: str, name: str = "<po>") -> list[Entry]:
    """The entries of a PO file (obsolete ``#~`` entries skipped); the header is msgid ""."""
    entries: list[Entry] = []
    current: dict = {}
    key = None

    def finish():
        nonlocal current, key
        if "msgid" in current:
            plural = sorted(k for k in current if k.startswith("msgstr["))
            msgstr = [current[k] for k in plural] if plural else [current.get("msgstr", "")]
            entries.append(
                Entry(
                    current["msgid"],
                    msgstr,
                    current.get("msgid_plural"),
                    current.get("msgctxt"),
                    current.get("fuzzy", False),
                    current.get("references", []),
                )
            )
        current, key = {}, None

    for number, line in enumerate(text.splitlines(), 1):
        where = f"{name}:{number}"
        stripped = line.strip()
        if not stripped:
            finish()
        elif stripped.startswith("#~"):
            continue
        elif stripped.startswith("#"):
            if key and key != "comment":
                finish()
            if stripped.startswith("#,") and "fuzzy" in stripped:
                current["fuzzy"] = True
            elif stripped.startswith("#:"):
                current.setdefault("references", []).extend(stripped[2:].split())
            key = "comment"
        elif stripped.startswith('"'):
            if key in (None, "comment"):
                raise ValueError(f"{where}: a continuation line outside an entry")
            current[key] += _unquote(stripped, where)
        else:
            keyword, _, rest = stripped.partition(" ")
            if keyword in ("msgctxt", "msgid") and key not in (None, "comment", "msgctxt"):
                finish()
            if keyword not in ("msgctxt", "msgid", "msgid_plural", "msgstr") and not (
                keyword.startswith("msgstr[") and keyword.endswith("]")
            ):
                raise ValueError(f"{where}: unknown keyword {keyword!r}")
            key = keyword
            current[key] = _unquote(rest, where)
    finish()
    return entries


def compile_mo(entries: list[Entry]) -> bytes:
    """The MO file of the translated entries (as ``msgfmt`` writes it, little-endian, no hash
    table; untranslated and fuzzy entries are left out, like msgfmt does)."""
    messages: dict[bytes, bytes] = {}
    for entry in entries:
        if entry.msgid == "":  # the header: always kept
            messages[b""] = entry.msgstr[0].encode("utf-8")
            continue
        if not entry.translated:
            continue
        key = entry.msgid if entry.msgid_plural is None else f"{entry.msgid}\0{entry.msgid_plural}"
        if entry.msgctxt is not None:
            key = f"{entry.msgctxt}\x04{key}"
        messages[key.encode("utf-8")] = "\0".join(entry.msgstr).encode("utf-8")
    keys = sorted(messages)
    ids = strs = b""
    offsets = []
    for key in keys:
        offsets.append((len(ids), len(key), len(strs), len(messages[key])))
        ids += key + b"\0"
        strs += messages[key] + b"\0"
    start_ids = 7 * 4 + 16 * len(keys)
    start_strs = start_ids + len(ids)
    key_table, value_table = [], []
    for id_offset, id_length, str_offset, str_length in offsets:
        key_table += [id_length, id_offset + start_ids]
        value_table += [str_length, str_offset + start_strs]
    header = struct.pack("<Iiiiiii", MO_MAGIC, 0, len(keys), 28, 28 + 8 * len(keys), 0, 0)
    tables = struct.pack(f"<{len(key_table)}i", *key_table)
    tables += struct.pack(f"<{len(value_table)}i", *value_table)
    return header + tables + ids + strs


def po_files() -> list[Path]:
    return sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def translated_text() -> str:
    """Every translation of every catalog, joined (the characters the lessons may draw)."""
    text = []
    for po in po_files():
        for entry in read_po(po.read_text(encoding="utf-8"), str(po)):
            if entry.msgid:
                text.extend(entry.msgstr)
    return "".join(text)


def extract(package: Path = PACKAGE) -> dict[str, list[str]]:
    """Every message marked in the code: msgid -> ["path:line", …] (plural: "singular\\0plural",
    with a context: "context\\x04msgid", gettext's own key)."""
    found: dict[str, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            strings = [
                a.value
                for a in node.args
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
            if node.func.id in ("_", "N_") and len(strings) == 1 and len(node.args) == 1:
                msgid = strings[0]
            elif node.func.id == "ngettext" and len(strings) == 2:
                msgid = "\0".join(strings)
            elif node.func.id == "pgettext" and len(strings) == 2 and len(node.args) == 2:
                msgid = "\x04".join(strings)
            else:
                continue
            where = f"{path.relative_to(package.parent)}:{node.lineno}"
            found.setdefault(msgid, []).append(where)
    return found


def _key(entry: Entry) -> str:
    key = entry.msgid if entry.msgid_plural is None else f"{entry.msgid}\0{entry.msgid_plural}"
    return key if entry.msgctxt is None else f"{entry.msgctxt}\x04{key}"


def check() -> list[str]:
    problems = []
    marked = extract()
    for po in po_files():
        name = po.relative_to(ROOT)
        entries = read_po(po.read_text(encoding="utf-8"), str(po))
        mo = po.with_suffix(".mo")
        if not mo.is_file() or mo.read_bytes() != compile_mo(entries):
            problems.append(f"{name}: its .mo is missing or old (make zh)")
        keys = {_key(e) for e in entries if e.msgid}
        for msgid in sorted(set(marked) - keys):
            problems.append(
                f"{name}: no entry for {msgid!r} ({marked[msgid][0]}): "
                "python tools/catalog.py update"
            )
        for entry in entries:
            if not entry.msgid:
                continue
            if _key(entry) not in marked:
                problems.append(f"{name}: {entry.msgid!r} is not in the code any more")
            elif not entry.translated:
                problems.append(f"{name}: {entry.msgid!r} is not translated (yet)")
    return problems


def _po_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    lines = escaped.split("\n")
    if len(lines) == 1:
        return f'"{escaped}"'
    pieces = [line + "\\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    return '""\n' + "\n".join(f'"{piece}"' for piece in pieces)


def update() -> int:
    """Append an empty entry to each .po for every message the code marks and it lacks."""
    marked = extract()
    added = 0
    for po in po_files():
        text = po.read_text(encoding="utf-8")
        keys = {_key(e) for e in read_po(text, str(po))}
        parts = []
        for msgid, where in marked.items():
            if msgid in keys:
                continue
            refs = f"#: {' '.join(where)}\n"
            if "\x04" in msgid:
                context, msgid = msgid.split("\x04")
                refs += f"msgctxt {_po_string(context)}\n"
            if "\0" in msgid:
                singular, plural = msgid.split("\0")
                parts.append(
                    f"{refs}msgid {_po_string(singular)}\nmsgid_plural {_po_string(plural)}\n"
                    'msgstr[0] ""\n'
                )
            else:
                parts.append(f'{refs}msgid {_po_string(msgid)}\nmsgstr ""\n')
        if parts:
            po.write_text(text.rstrip("\n") + "\n\n" + "\n".join(parts), encoding="utf-8")
            added += len(parts)
            print(f"{po.relative_to(ROOT)}: {len(parts)} new message(s) to translate")
    return added


def compile_all() -> None:
    for po in po_files():
        data = compile_mo(read_po(po.read_text(encoding="utf-8"), str(po)))
        mo = po.with_suffix(".mo")
        if not mo.is_file() or mo.read_bytes() != data:
            mo.write_bytes(data)
            print(f"wrote {mo.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["compile", "check", "update"])
    args = parser.parse_args(argv)
    if args.command == "compile":
        compile_all()
    elif args.command == "update":
        update()
    else:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1
        print(f"{len(po_files())} catalog(s) up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
