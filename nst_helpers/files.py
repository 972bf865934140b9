"""Where the package keeps files, and the one way it writes them.

``cache_dir()`` is ``$NST_CACHE_DIR``, else the platform's user cache folder (``platformdirs``,
which pooch uses too): the sample images and downloaded image URLs go there. VGG19's weights go to
torch's own hub cache (``$TORCH_HOME``). ``atomic_write`` writes every file the package makes:
the target is either untouched or complete, with the usual permissions (0644 under umask 022), so
a class that shares one cache can read what the instructor put there.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import OutputError
from .i18n import _, language

#: Environment variable that moves the package's cache folder (samples, downloaded images).
ENV_CACHE = "NST_CACHE_DIR"


def cache_dir() -> Path:
    """The package's cache folder: ``$NST_CACHE_DIR`` or the user cache folder (not created)."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("nst_helpers"))


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> Path:
    """Create ``path``'s folders, call ``write(file)`` on a temporary file beside it and rename it
    onto ``path`` (``os.replace``): on any failure ``path`` is untouched and the temporary file is
    gone. Files get mode 0666 minus the umask, folders 0777 minus the umask (as ``open`` does)."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def check_writable(folder: Path, what: str) -> None:
    """``OutputError`` naming ``what`` unless the nearest existing folder on its way is writable."""
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {what}: {existing} is not a writable folder")


def make_readable(path: str | os.PathLike[str]) -> None:
    """Give a file written by another library (torch.hub's downloads are 0600) the usual mode:
    0666 minus the umask, so the other learners of a shared cache can read it. A file that is
    already readable is left as it is: in a shared, read-only cache it is not the learner's."""
    umask = os.umask(0)
    os.umask(umask)
    mode, read = 0o666 & ~umask, 0o444 & ~umask  # only missing read bits matter to the others
    if os.stat(path).st_mode & read != read:
        with contextlib.suppress(PermissionError):  # not ours: its owner decides who reads it
            os.chmod(path, mode)


def fetch(
    url: str, sha256: str | None, folder: Path, name: str | None = None, *, progress: bool = False
) -> Path:
    """The file at ``url``, downloaded once into ``folder`` by pooch as ``name`` (default: named
    after the address), checked against ``sha256`` when given, readable by others; a file of that
    name already there with that hash is used as it is. ``DownloadError`` naming the address."""
    import pooch

    from .errors import DownloadError

    pooch.get_logger().setLevel("WARNING")  # no "Downloading data from …" line per file
    try:
        path = pooch.retrieve(
            url, sha256 and f"sha256:{sha256}", fname=name, path=folder, progressbar=progress
        )
        make_readable(path)
        return Path(path)
    except Exception as exc:  # requests' errors (OSError), a hash mismatch (ValueError), ...
        message = _("could not download {url} ({reason})")
        raise DownloadError(message.format(url=url, reason=download_reason(exc))) from exc


def download_reason(exc: BaseException) -> str:
    """Why a download failed (pooch, requests, urllib, torch.hub), read from the error, not from
    a library's wording: the deepest ``OSError`` with an errno under ``exc`` ("Connection
    refused"; its errno's name outside English: ``ECONNREFUSED``, ``EAI_NONAME``), "timed out",
    else the exception's first clause (English) or its type."""
    found, todo, seen = [], [(exc, 0)], set()  # exc and what is under it, with its depth
    while todo:
        e, depth = todo.pop()
        if id(e) not in seen:
            seen.add(id(e))
            found.append((depth, e))
            inner = (e.__cause__, e.__context__, getattr(e, "reason", None), *e.args)
            todo.extend((x, depth + 1) for x in inner if isinstance(x, BaseException))
    system = [(d, e) for d, e in found if isinstance(e, OSError) and e.errno and e.strerror]
    if system:
        cause = max(system, key=lambda de: de[0])[1]
        names = errno.errorcode | {getattr(socket, n): n for n in dir(socket) if n[:4] == "EAI_"}
        return cause.strerror if language() == "en" else names.get(cause.errno, "OSError")
    if any(isinstance(e, TimeoutError) or "Timeout" in type(e).__name__ for _d, e in found):
        return _("timed out")
    words = str(exc).split(":")[0].split()[:14]  # a hash mismatch, an HTTP status
    return " ".join(words) if language() == "en" and words else type(exc).__name__
