"""Saving a whole run (snapshots + loss history) to a folder and loading it back.

An instructor can precompute a long run (``python -m nst_helpers stylize … --snapshots DIR``) and
replay it in class without waiting. A run folder holds ``run.json`` (settings, why it ended, the
history: one record per evaluation), ``result.png`` and one ``eval-NNNNNN.png`` per snapshot.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .errors import OutputError, OutputExistsError, ParameterError
from .images import check_writable_folder, keep_elsewhere, load_image, save_image
from .transfer import Result

RUN_FILE = "run.json"
FORMAT = "nst_helpers.run/1"


def check_run_dir(
    folder: str | os.PathLike[str], *, overwrite: bool = False, flag: str = "overwrite=True"
) -> Path:
    """Check, before any work, that a run can be saved in ``folder``; return it as a Path.

    The one check of a run folder (``save_run``, the command line's ``--snapshots``): ``folder``
    is not a file; a folder that already holds a saved run is refused with ``OutputExistsError``
    (a ``FileExistsError``) telling to pass ``flag`` (``"--overwrite"`` on the command line)
    unless ``overwrite``; and it can be written (``paths.check_writable_folder``).
    """
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"cannot save the run in {folder}: it is a file, not a folder")
    if (folder / RUN_FILE).exists() and not overwrite:
        raise OutputExistsError(
            f"{folder} already holds a saved run; pass {flag} to replace it, or pick another folder"
        )
    check_writable_folder(folder, "the run")
    return folder


def save_run(result: Result, folder: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write ``result`` into ``folder`` (created); an existing run is kept unless ``overwrite``,
    which replaces it whole (the old run's snapshots that the new one does not have are removed;
    other files in the folder are left alone).

    ``check_run_dir`` first. Raises ``OutputExistsError`` (a ``FileExistsError``) for an existing
    run, ``OutputError`` (an ``OSError``) for a folder that cannot be written.
    """
    folder = check_run_dir(folder, overwrite=overwrite)
    folder.mkdir(parents=True, exist_ok=True)
    for k, image in sorted(result.snapshots.items()):
        save_image(image, folder / f"eval-{k:06d}.png", overwrite=True)
    save_image(result.image, folder / "result.png", overwrite=True)
    written = {f"eval-{k:06d}.png" for k in result.snapshots}
    for old in folder.glob("eval-[0-9][0-9][0-9][0-9][0-9][0-9].png"):  # an overwritten run's
        if old.name not in written:
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
    fd, tmp = tempfile.mkstemp(prefix=".run.", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=1)
        os.replace(tmp, folder / RUN_FILE)  # written last: a folder with run.json is complete
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return folder


def save_run_or_keep(
    result: Result, folder: str | os.PathLike[str], *, overwrite: bool = False
) -> tuple[Path, Exception | None]:
    """``save_run``; if that fails at the end of a run, the run is saved in a free folder beside
    ``folder`` or in ``cache_dir()/"unsaved"`` instead of being lost (``images.keep_elsewhere``).

    Returns (where the run was saved, the error that kept it from ``folder``, or None).
    """
    try:
        return save_run(result, folder, overwrite=overwrite), None
    except (OSError, ValueError) as exc:
        error: Exception = exc
    return keep_elsewhere(Path(folder), lambda place: save_run(result, place)), error


def load_run(folder: str | os.PathLike[str]) -> Result:
    """Load a run saved by ``save_run`` (or the command line's ``--snapshots``)."""
    folder = Path(folder).expanduser()
    path = folder / RUN_FILE
    if not path.is_file():
        raise ParameterError(f"{folder} holds no saved run (no {RUN_FILE})")
    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ParameterError(f"{path} cannot be read: {exc}") from None
    if payload.get("format") != FORMAT:
        raise ParameterError(
            f"{path} is not a saved run of this package (format {payload.get('format')!r})"
        )
    snapshots = {
        int(k): load_image(folder / f"eval-{int(k):06d}.png") for k in payload["snapshots"]
    }
    return Result(
        image=load_image(folder / "result.png"),
        history=payload["history"],
        snapshots=snapshots,
        evaluations=payload["evaluations"],
        stop_reason=payload["stop_reason"],
        message=payload.get("message", ""),
        best_evaluation=payload.get("best_evaluation", 0),
        settings=payload.get("settings", {}),
    )
