"""Saving a whole run (snapshots + loss history) to a folder and loading it back (lesson 05).

An instructor precomputes a long run (``python -m nst_helpers stylize … --snapshots DIR``) and
replays it in class without waiting. A run folder holds ``run.json`` (settings, how it ended, the
history: one record per evaluation), ``result.png`` and one ``eval-NNNNNN.png`` per snapshot.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .engine import Result
from .errors import OutputError, ParameterError
from .files import atomic_write, check_writable
from .images import load_image, save_image

RUN_FILE = "run.json"
SNAPSHOT_GLOB = "eval-[0-9][0-9][0-9][0-9][0-9][0-9].png"  # the snapshots a run writes
FORMAT = "nst_helpers.run/1"


def check_run_dir(
    folder: str | os.PathLike[str], *, overwrite: bool = False, flag: str = "overwrite=True"
) -> Path:
    """Before any work: ``folder`` is not a file, holds no file a run writes or removes (a saved
    run, ``result.png``, ``eval-NNNNNN.png``) unless ``overwrite`` (``flag`` names how to allow
    it), and can be written. ``OutputError`` naming it otherwise; other files are never touched."""
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"cannot save the run in {folder}: it is a file, not a folder")
    taken = [n for n in (RUN_FILE, "result.png") if (folder / n).exists()]
    taken += sorted(p.name for p in folder.glob(SNAPSHOT_GLOB))
    if taken and not overwrite:
        raise OutputError(f"{folder} already holds {', '.join(taken[:3])}{' …' * (len(taken) > 3)}"
                          f" (a run's files); pass {flag} to replace them")  # fmt: skip
    check_writable(folder, f"the run in {folder}")
    return folder


def save_run(result: Result, folder: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write ``result`` into ``folder`` (created; ``check_run_dir`` first). ``overwrite`` replaces
    an existing run whole (its snapshots the new one lacks are removed; other files are left).
    ``run.json`` is written last, so a folder that has it is complete."""
    folder = check_run_dir(folder, overwrite=overwrite)
    for k, image in sorted(result.snapshots.items()):
        save_image(image, folder / f"eval-{k:06d}.png", overwrite=True)
    save_image(result.image, folder / "result.png", overwrite=True)
    kept = {f"eval-{k:06d}.png" for k in result.snapshots}
    for old in folder.glob(SNAPSHOT_GLOB):
        if old.name not in kept:
            old.unlink()
    payload = {
        "format": FORMAT,
        "settings": result.settings,
        "evaluations": result.evaluations,
        "stop_reason": result.stop_reason,
        "message": result.message,
        "best_evaluation": result.best_evaluation,
        "snapshots": sorted(result.snapshots),
        "history": result.history,
    }
    text = json.dumps(payload, indent=1, default=str).encode()
    atomic_write(folder / RUN_FILE, lambda f: f.write(text))
    return folder


def load_run(folder: str | os.PathLike[str]) -> Result:
    """A run saved by ``save_run`` (or the command line's ``--snapshots``)."""
    path = Path(folder).expanduser() / RUN_FILE
    try:
        payload = json.loads(path.read_text())
    except FileNotFoundError:
        raise ParameterError(f"{path.parent} holds no saved run (no {RUN_FILE})") from None
    except (OSError, ValueError) as exc:
        raise ParameterError(f"{path} cannot be read: {exc}") from None
    if payload.get("format") != FORMAT:
        raise ParameterError(f"{path} is not a saved run of nst_helpers")
    return Result(
        image=load_image(path.parent / "result.png"),
        history=payload["history"],
        snapshots={
            int(k): load_image(path.parent / f"eval-{int(k):06d}.png") for k in payload["snapshots"]
        },
        evaluations=payload["evaluations"],
        stop_reason=payload["stop_reason"],
        best_evaluation=payload.get("best_evaluation", 0),
        settings=payload.get("settings", {}),
    )
