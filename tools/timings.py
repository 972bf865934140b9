"""Every lesson time the course states, written from ONE measured source.

    python benchmarks/peak_memory.py --profile lab     # measure, on an otherwise idle machine
    python benchmarks/peak_memory.py --profile quick   # (INSTRUCTORS.md's totals: how long)
    python tools/timings.py                            # write the documents from the files
    python tools/timings.py --check                    # exit 1 where a document disagrees

The source: ``benchmarks/results/peak_memory_lab.json`` and ``peak_memory_quick.json`` (each
lesson's wall and kernel CPU seconds, peak memory, date, machine, and the profile's sizes when it
was measured). Written from them:

- README.md and README.zh-CN.md: the lesson table's last column (lab · quick) and the paragraph
  between ``<!-- timings:begin -->`` and ``<!-- timings:end -->`` under it (totals, date,
  machine, the profiles' sizes);
- INSTRUCTORS.md: the timing table between the same markers.

A lesson without a measurement reads "not measured"; a file measured at other profile sizes than
``nst_helpers/profiles.py`` now has is refused (re-measure). Lessons state no minutes of their
own: lesson 00 measures the learner's machine (``profiles.LESSONS``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nst_helpers.profiles import PROFILES  # noqa: E402

MEASURED = ("lab", "quick")  # the profiles the documents report, in this order
BEGIN, END = "<!-- timings:begin -->", "<!-- timings:end -->"
HEADER = {"en": "time: lab · quick", "zh": "时间：lab · quick 配置"}
BUSY_CORES = 0.25  # other processes' average busy cores above which a row is flagged
#: a lesson-table row: its first cell names the lesson (`NN_name` or [`NN_name`](path))
ROW = re.compile(r"^\|\s*\[?`(?P<stem>\d\d_[A-Za-z0-9_]+)`")


class TimingsError(Exception):
    """A document or a measurement the tool cannot use (the message says which and why)."""


@dataclass
class Measurement:
    """One profile's file: its rows by lesson stem (``00_setup_check``), or none at all."""

    profile: str
    rows: dict[str, dict]
    path: Path
    weights: str = ""

    def seconds(self, stem: str) -> float | None:
        row = self.rows.get(stem)
        return None if row is None else row["seconds"]

    def total(self, stems: list[str]) -> tuple[float, list[str]]:
        """Wall seconds of the measured lessons among ``stems``, and the unmeasured ones."""
        missing = [s for s in stems if s not in self.rows]
        return sum(self.rows[s]["seconds"] for s in stems if s in self.rows), missing


def settings(profile: str) -> dict:
    fields = asdict(PROFILES[profile])
    fields.pop("name")
    return fields


def load(root: Path, profile: str) -> Measurement:
    """``benchmarks/results/peak_memory_<profile>.json`` (empty when missing); TimingsError when
    it was measured at other sizes than the profile has now."""
    path = root / "benchmarks" / "results" / f"peak_memory_{profile}.json"
    if not path.is_file():
        return Measurement(profile, {}, path)
    data = json.loads(path.read_text())
    if data.get("settings") != settings(profile):
        raise TimingsError(
            f"{path.relative_to(root)} was measured with other {profile!r} settings than "
            f"nst_helpers/profiles.py has now ({data.get('settings')} != {settings(profile)}): "
            f"re-measure with python benchmarks/peak_memory.py --profile {profile} --fresh"
        )
    rows = {Path(row["notebook"]).stem: row for row in data["notebooks"]}
    return Measurement(profile, rows, path, data.get("weights", "unrecorded"))


def lessons(root: Path) -> list[str]:
    return [p.stem for p in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))]


# -- numbers in words ------------------------------------------------------------------------


def rough(seconds: float | None, lang: str = "en") -> str:
    """A time for the README: "~40 s" (to 10 s) below a minute, "~2.5 min" (to ½ min) below ten,
    "~12 min" above; "not measured" for None."""
    if seconds is None:
        return "未测量" if lang == "zh" else "not measured"
    if seconds < 55:
        value, unit = max(10, round(seconds / 10) * 10), ("秒", "s")
    elif seconds < 585:
        value, unit = round(seconds / 30) / 2, ("分钟", "min")
    else:
        value, unit = round(seconds / 60), ("分钟", "min")
    return f"约 {value:g} {unit[0]}" if lang == "zh" else f"~{value:g} {unit[1]}"


def wrap(text: str) -> str:
    """Markdown prose wrapped at 100 columns, as the documents are."""
    return textwrap.fill(text, 100, break_long_words=False, break_on_hyphens=False)


def clock(seconds: float | None) -> str:
    """m:ss for the instructors' table; "—" for None."""
    if seconds is None:
        return "—"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def sizes(profile: str, lang: str) -> str:
    p = PROFILES[profile]
    if lang == "zh":
        return f"主运行 {p.size} px，一系列运行 {p.small_size} px，小图块 {p.tile_size} px"
    return f"{p.size} px main runs, {p.small_size} px series, {p.tile_size} px tiles"


def provenance(measurements: list[Measurement], lang: str) -> str:
    """Where and when: "AMD EPYC, 2 cores, torch 2.14.1, 2026-12-07" (several: all of them)."""
    machines, dates = {}, set()
    for m in measurements:
        for row in m.rows.values():
            machines.setdefault(row.get("machine", "an unrecorded machine"), None)
            dates.add(row.get("date", "an unrecorded date"))
    if not machines:
        return "尚未测量" if lang == "zh" else "nothing measured yet"
    sep = "；" if lang == "zh" else "; "
    when = sorted(dates)
    span = when[0] if len(when) == 1 else f"{when[0]} – {when[-1]}"
    return f"{sep.join(machines)}{'，' if lang == 'zh' else ', '}{span}"


def flagged(m: Measurement) -> list[str]:
    """Lessons measured while other processes kept the machine busy."""
    return [stem for stem, row in m.rows.items() if (row.get("other_cores_busy") or 0) > BUSY_CORES]


def total_words(m: Measurement, stems: list[str], lang: str) -> str:
    """The whole sequence's time at one profile, in words, saying which lessons it lacks."""
    seconds, missing = m.total(stems)
    zh = lang == "zh"
    if not m.rows:
        return "尚未测量" if zh else "not measured yet"
    if not missing:
        return (
            f"全部课程需{rough(seconds, lang)}"
            if zh
            else f"the whole sequence takes {rough(seconds)}"
        )
    numbers = ("、" if zh else ", ").join(s[:2] for s in missing)
    if zh:
        return f"已测量的课共{rough(seconds, lang)}（{numbers} 尚未测量）"
    return f"the lessons measured so far take {rough(seconds)} ({numbers}: not measured yet)"


def busy_words(ms: dict[str, Measurement], lang: str) -> str:
    """A sentence naming the lessons measured on a busy machine ("" when none)."""
    sep = "、" if lang == "zh" else ", "
    parts = [f"{p} {sep.join(s[:2] for s in flagged(m))}" for p, m in ms.items() if flagged(m)]
    if not parts:
        return ""
    if lang == "zh":
        return f"以下测量时机器上还有其他任务（比空闲时慢）：{'；'.join(parts)}。"
    return f" Measured while the machine was busy (slower than idle): {'; '.join(parts)}."


# -- the documents ---------------------------------------------------------------------------


def readme_paragraph(ms: dict[str, Measurement], stems: list[str], lang: str) -> str:
    lab, quick = ms["lab"], ms["quick"]
    where = provenance([lab, quick], lang)
    if lang == "zh":
        return (
            "表中的时间是实测的：每一课在全新的内核中从头到尾运行（*Run All*，"
            "每个面板只运行第一次，不做任何点击），由 "
            "`python benchmarks/peak_memory.py --profile lab` 和 `--profile quick` "
            f"测得（{where}），再由 `python tools/timings.py` 写入本表。在 `lab` 配置下"
            f"（{sizes('lab', 'zh')}）：{total_words(lab, stems, 'zh')}；在 `quick` 配置下"
            f"（{sizes('quick', 'zh')}）：{total_words(quick, stems, 'zh')}。各课不写自己的用时："
            "`00_setup_check` 会测量你的机器并估计每一课在这台机器上的时间。每一课的 CPU 时间和"
            "内存峰值见 [INSTRUCTORS.md](INSTRUCTORS.md#timings)。" + busy_words(ms, "zh")
        )
    return wrap(
        "The times are measured: each lesson run end to end in a fresh kernel (*Run All*, each "
        "panel's first run, nothing clicked) by `python benchmarks/peak_memory.py --profile lab` "
        f"and `--profile quick` ({where}), and written here by `python tools/timings.py`. At `lab` "
        f"({sizes('lab', 'en')}): {total_words(lab, stems, 'en')}; at `quick` "
        f"({sizes('quick', 'en')}): {total_words(quick, stems, 'en')}. The lessons "
        "state no times of their own: `00_setup_check` measures your machine and estimates each "
        "lesson there. Each lesson's CPU time and peak memory: "
        "[INSTRUCTORS.md](INSTRUCTORS.md#timings)." + busy_words(ms, "en")
    )


def instructors_block(ms: dict[str, Measurement], stems: list[str]) -> str:
    lab, quick = ms["lab"], ms["quick"]

    def cells(m: Measurement, stem: str) -> list[str]:
        row = m.rows.get(stem)
        if row is None:
            return ["—", "—", "—"]
        mark = " †" if stem in flagged(m) else ""
        return [
            clock(row["seconds"]) + mark,
            clock(row["kernel_cpu_seconds"]),
            f"{row['peak_rss_mb']:.0f} MB",
        ]

    lines = [
        "| lesson | lab: wall | lab: kernel CPU | lab: peak memory "
        "| quick: wall | quick: kernel CPU | quick: peak memory |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    for stem in stems:
        row = [f"`{stem}`", *cells(lab, stem), *cells(quick, stem)]
        lines.append("| " + " | ".join(row) + " |")
    totals = []
    for m in (lab, quick):
        wall, missing = m.total(stems)
        cpu = sum(row["kernel_cpu_seconds"] for s, row in m.rows.items() if s in stems)
        peak = max((row["peak_rss_mb"] for row in m.rows.values()), default=None)
        star = "*" if missing and m.rows else ""
        totals += [
            clock(wall if m.rows else None) + star,
            clock(cpu if m.rows else None) + star,
            "—" if peak is None else f"max {peak:.0f} MB",
        ]
    lines.append("| **all lessons** | " + " | ".join(totals) + " |")
    notes = [
        f"Wall and kernel CPU time in minutes:seconds. Measured: {provenance([lab, quick], 'en')}; "
        f"`lab` is {sizes('lab', 'en')}, `quick` {sizes('quick', 'en')}. Weights: "
        + ", ".join(sorted({m.weights for m in (lab, quick) if m.rows}) or ["none yet"])
        + " (random weights are the same tensors as the real ones: the same time and memory).",
    ]
    missing = {m.profile: m.total(stems)[1] for m in (lab, quick)}
    if any(missing.values()):
        parts = [f"{p}: {', '.join(s[:2] for s in ss)}" for p, ss in missing.items() if ss]
        notes.append(
            "**Not measured yet** (—; * totals only the measured lessons): "
            + "; ".join(parts)
            + ". Fill them with the commands under this table."
        )
    busy = {m.profile: flagged(m) for m in (lab, quick)}
    if any(busy.values()):
        parts = [f"{p}: {', '.join(s[:2] for s in ss)}" for p, ss in busy.items() if ss]
        notes.append(
            f"† measured while other processes kept more than {BUSY_CORES:g} of a core busy "
            f"(slower than on an idle machine): {'; '.join(parts)}."
        )
    slow = []
    for stem in stems:
        row = lab.rows.get(stem)
        if not row:
            continue
        cells_ = [c for c in row.get("slowest_cells", []) if c[1] >= 30][:3]
        if cells_:
            described = ", ".join(f"`{c[2].splitlines()[0][:40]}…` {c[1]:.0f} s" for c in cells_)
            slow.append(f"- {stem[:2]}: {described}")
    if slow:
        notes.append(
            "Where the time goes at `lab` (each lesson's three slowest cells of 30 s or more):\n\n"
            + "\n".join(slow)
        )
    notes = [note if note.startswith("Where") else wrap(note) for note in notes]
    return "\n".join(lines) + "\n\n" + "\n\n".join(notes)


def replace_between(text: str, body: str, name: str) -> str:
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise TimingsError(f"{name}: needs one {BEGIN} … {END} pair where the timings go")
    head, rest = text.split(BEGIN)
    _old, tail = rest.split(END)
    return f"{head}{BEGIN}\n{body}\n{END}{tail}"


def replace_column(text: str, ms: dict[str, Measurement], stems: list[str], name: str, lang: str):
    """The lesson table's last column: its header and each lesson's "lab · quick" times."""
    lines = text.split("\n")
    seen, header = set(), None
    for i, line in enumerate(lines):
        match = ROW.match(line)
        if match and match["stem"] in stems:
            stem = match["stem"]
            seen.add(stem)
            times = " · ".join(rough(ms[p].seconds(stem), lang) for p in MEASURED)
            lines[i] = line.rstrip().rstrip("|").rsplit("|", 1)[0] + f"| {times} |"
            if header is None:
                header = i - 2
    if header is None or not lines[header].startswith("| notebook |"):
        raise TimingsError(f"{name}: no lesson table (a '| notebook | … |' header) found")
    lines[header] = lines[header].rstrip().rstrip("|").rsplit("|", 1)[0] + f"| {HEADER[lang]} |"
    if seen != set(stems):
        missing = ", ".join(sorted(set(stems) - seen))
        raise TimingsError(f"{name}: no lesson-table row for {missing}")
    return "\n".join(lines)


DOCUMENTS = {"README.md": "en", "README.zh-CN.md": "zh", "INSTRUCTORS.md": None}


def render(root: Path) -> dict[Path, tuple[str, str]]:
    """Each document: (its text now, its text written from the measurements)."""
    ms = {p: load(root, p) for p in MEASURED}
    stems = lessons(root)
    out = {}
    for name, lang in DOCUMENTS.items():
        path = root / name
        text = path.read_text()
        if lang is None:
            new = replace_between(text, instructors_block(ms, stems), name)
        else:
            new = replace_column(text, ms, stems, name, lang)
            new = replace_between(new, readme_paragraph(ms, stems, lang), name)
        out[path] = (text, new)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        documents = render(args.root)
    except TimingsError as error:
        print(f"timings: {error}", file=sys.stderr)
        return 1
    stale = [path for path, (old, new) in documents.items() if old != new]
    for path in stale:
        name = path.relative_to(args.root)
        if args.check:
            print(f"timings: {name} disagrees with benchmarks/results/ (python tools/timings.py)")
        else:
            path.write_text(documents[path][1])
            print(f"timings: wrote {name}")
    if not args.check:
        for profile in MEASURED:
            m = load(args.root, profile)
            missing = m.total(lessons(args.root))[1]
            if missing:
                print(f"timings: {profile}: not measured yet: {', '.join(missing)}")
            if flagged(m):
                print(f"timings: {profile}: measured on a busy machine: {', '.join(flagged(m))}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
