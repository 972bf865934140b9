"""Download a file safely: verified, complete, and never half-written.

``download_file`` streams a URL into a temporary file next to the destination, hashing it on the
way, checks the size and the SHA-256, and only then renames the temporary file onto the
destination with ``os.replace`` (atomic on POSIX and Windows). So the destination is either absent,
or the previous file, or the complete new one: never a partial download.

Concurrency: two processes (or threads) downloading the same destination each write their own
temporary file (distinct random names); each renames its verified copy onto the destination, so the
last one wins and readers only ever see a complete, verified file. The work is done twice, which is
harmless. A process killed outright (SIGKILL, power cut) can leave a stray temporary file named
``.<dest name>.<random>.part`` in the destination's folder; it is never mistaken for the real file.
A live download holds an exclusive ``flock`` on its temporary file, so the next download of the
same destination deletes those nobody holds that have not been written for ``ABANDONED_AFTER``
seconds (on POSIX; elsewhere they stay until deleted by hand).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import http.client
import io
import os
import secrets
import time
from pathlib import Path
from typing import BinaryIO, NamedTuple
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

from tqdm.auto import tqdm

from nst_helpers.errors import DownloadError, ParameterError

try:
    import fcntl
except ImportError:  # Windows: no flock, abandoned temporary files are left alone
    fcntl = None  # type: ignore[assignment]

#: Seconds to wait for the server to connect or to send the next block of data.
NETWORK_TIMEOUT = 30.0

#: Suffix of the temporary files (named ``.<dest name>.<random>.part``) written while downloading.
TEMP_SUFFIX = ".part"

#: Seconds without a write after which an unlocked temporary file counts as abandoned.
ABANDONED_AFTER = 60.0

_CHUNK = 1 << 16
_HEX = set("0123456789abcdef")


def file_sha256(path: Path | str, chunk_size: int = 1 << 20) -> str:
    """Return the SHA-256 of a file as 64 lowercase hex digits, reading it in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def create_temp_beside(dest: Path | str, suffix: str = TEMP_SUFFIX) -> tuple[BinaryIO, Path]:
    """Create and open (``"xb"``) a new file ``.<dest name>.<random><suffix>`` beside ``dest``.

    Unlike ``tempfile.mkstemp`` the file gets the usual permissions (0666 minus the umask), so the
    file it becomes by ``os.replace`` is readable like any other. Returns (open file, its path).
    """
    dest = Path(dest)
    while True:
        tmp = dest.parent / f".{dest.name}.{secrets.token_hex(6)}{suffix}"
        try:
            return open(tmp, "xb"), tmp
        except FileExistsError:  # astronomically unlikely: try another name
            continue


def _check_hex(value: str | None, what: str, exact_len: int | None) -> str | None:
    """Normalise a hex digest argument (lowercase) or raise ParameterError."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if not text or not set(text) <= _HEX or (exact_len is not None and len(text) != exact_len):
        need = f"{exact_len} hex digits" if exact_len else "hex digits"
        raise ParameterError(f"{what} must be {need}, got {value!r}")
    return text


def _is_verified(path: Path, sha256: str | None, hash_prefix: str | None) -> bool:
    """True when the file at ``path`` passes the requested checks (true when there are none)."""
    if sha256 is None and hash_prefix is None:
        return True
    digest = file_sha256(path)
    return (sha256 is None or digest == sha256) and (
        hash_prefix is None or digest.startswith(hash_prefix)
    )


def _remove(path: Path) -> None:
    """Delete a file if it is there; never raise."""
    with contextlib.suppress(OSError):
        path.unlink()


def _remove_abandoned(dest: Path) -> None:
    """Delete temporary files of earlier downloads to ``dest`` whose process died mid-download.

    A live download holds an exclusive lock on its temporary file (``download_file``); a file that
    nobody holds and that has not been written for ABANDONED_AFTER seconds is abandoned.
    """
    if fcntl is None:
        return
    for path in dest.parent.glob(f".{glob.escape(dest.name)}.*{TEMP_SUFFIX}"):
        with contextlib.suppress(OSError), open(path, "rb") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError while its download lives
            if time.time() - os.fstat(f.fileno()).st_mtime > ABANDONED_AFTER:
                path.unlink()


def _describe(exc: BaseException, timeout: float) -> str:
    """A one-line cause for an exception raised while downloading."""
    if isinstance(exc, HTTPError):
        return f"HTTP error {exc.code} ({exc.reason})"
    reason = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, TimeoutError):
        return f"timed out (no data for {timeout:g} s)"
    if isinstance(reason, http.client.IncompleteRead):
        return f"connection closed early ({reason!r}); the download is incomplete"
    return f"{type(reason).__name__}: {reason}"


def _stream(
    url: str, out: BinaryIO, timeout: float, progress: bool, expected_size: int | None, desc: str
) -> tuple[str, int, int | None]:
    """Copy ``url`` into the open file ``out``; return (sha256, byte count, Content-Length)."""
    digest = hashlib.sha256()
    received = 0
    with urlopen(url, timeout=timeout) as response:
        header = response.headers.get("Content-Length")
        total = int(header) if header and header.strip().isdigit() else None
        if total is not None and expected_size is not None and total != expected_size:
            raise DownloadError(f"server announces {total} bytes, expected {expected_size}")
        limit = expected_size if expected_size is not None else total
        with tqdm(
            total=total or expected_size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=desc,
            disable=not progress,
            leave=False,
        ) as bar:
            while block := response.read(_CHUNK):
                received += len(block)
                if limit is not None and received > limit:
                    raise DownloadError(f"server sent more than the expected {limit} bytes")
                out.write(block)
                digest.update(block)
                bar.update(len(block))
    return digest.hexdigest(), received, total


def _check_received(
    digest: str,
    received: int,
    sizes: tuple[int | None, int | None],
    sha256: str | None,
    hash_prefix: str | None,
) -> None:
    """DownloadError unless the bytes received match Content-Length and the expected size, and
    their SHA-256 the expected digest or prefix."""
    for need, what in zip(sizes, ("Content-Length", "expected size"), strict=True):
        if need is not None and received != need:
            raise DownloadError(
                f"connection closed after {received} of {need} bytes ({what}); "
                "the download is incomplete"
            )
    if sha256 is not None and digest != sha256:
        raise DownloadError(f"SHA-256 mismatch: expected {sha256}, got {digest}")
    if hash_prefix is not None and not digest.startswith(hash_prefix):
        raise DownloadError(
            f"SHA-256 mismatch: expected a digest starting with {hash_prefix}, got {digest}"
        )


def download_file(
    url: str,
    dest: Path | str,
    *,
    sha256: str | None = None,
    hash_prefix: str | None = None,
    timeout: float = NETWORK_TIMEOUT,
    progress: bool = True,
    expected_size: int | None = None,
) -> Path:
    """Download ``url`` to ``dest`` atomically and verify it; return ``dest`` as a Path.

    Args:
        url: http(s) (or file) URL to fetch.
        dest: final path; its folder is created if needed.
        sha256: the expected full SHA-256 (64 hex digits), checked after the download.
        hash_prefix: the expected start of the SHA-256 hex digest (torchvision's convention:
            ``vgg19-dcbb9e9d.pth`` has the prefix ``"dcbb9e9d"``).
        timeout: seconds to wait for the connection and for each block of data.
        progress: show a tqdm progress bar (sized from Content-Length).
        expected_size: the exact size in bytes, if known (checked on top of Content-Length).

    If ``dest`` already exists and matches ``sha256``/``hash_prefix`` (or no checksum is given),
    it is returned without touching the network; a mismatching file is downloaded again.

    Raises:
        DownloadError: naming the URL, the destination and the cause (network error, timeout,
            connection dropped before Content-Length bytes arrived, checksum mismatch with both
            digests). No partial or temporary file is left behind. ``KeyboardInterrupt`` is
            re-raised as it is, after the same clean-up.
        ParameterError: a malformed ``sha256``/``hash_prefix`` or ``expected_size``.
    """
    dest = Path(dest).expanduser()
    sha256 = _check_hex(sha256, "sha256", 64)
    hash_prefix = _check_hex(hash_prefix, "hash_prefix", None)
    if not timeout > 0:
        raise ParameterError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if expected_size is not None and (isinstance(expected_size, bool) or expected_size < 0):
        raise ParameterError(f"expected_size must be a size in bytes, got {expected_size!r}")
    if dest.is_file() and _is_verified(dest, sha256, hash_prefix):
        return dest

    def fail(cause: object) -> DownloadError:
        return DownloadError(f"could not download {url} to {dest}: {cause}")

    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(dest)
        out, tmp = create_temp_beside(dest)
        if fcntl is not None:  # "alive", until out is closed (where flock works at all)
            with contextlib.suppress(OSError):
                fcntl.flock(out, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        raise fail(exc) from exc
    try:
        with out:
            digest, received, total = _stream(url, out, timeout, progress, expected_size, dest.name)
            out.flush()
            os.fsync(out.fileno())  # the data is on disk before the rename makes it visible
        _check_received(digest, received, (total, expected_size), sha256, hash_prefix)
        os.replace(tmp, dest)
    except DownloadError as exc:
        _remove(tmp)
        raise fail(exc) from exc
    except Exception as exc:  # network, disk or protocol error: report it as a DownloadError
        _remove(tmp)
        raise fail(_describe(exc, timeout)) from exc
    except BaseException:  # KeyboardInterrupt, SystemExit: clean up, then let it through
        _remove(tmp)
        raise
    return dest


# --------------------------------------------------------------------------- what a file is


class FileKind(NamedTuple):
    """What a file holds, told from its first bytes (``sniff``).

    ``kind``: a short tag (``"png"``, ``"html"``, ``"pytorch"``, ``"zip"`` …, see ``sniff``);
    ``description``: the same in words ("an HTML page titled '404 Not Found'"); ``hint``: why such
    a file is often found in place of the right one ("" when there is nothing general to say).
    ``category``: ``"image"``, ``"weights"`` (PyTorch's formats), ``"pickle"``, ``"text"``,
    ``"archive"``, ``"empty"``, ``"damaged"`` or ``"other"``.
    """

    kind: str
    category: str
    description: str
    hint: str = ""


_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png", "a PNG image"),
    (b"\xff\xd8\xff", "jpeg", "a JPEG image"),
    (b"GIF87a", "gif", "a GIF image"),
    (b"GIF89a", "gif", "a GIF image"),
    (b"BM", "bmp", "a BMP image"),
    (b"II*\x00", "tiff", "a TIFF image"),
    (b"MM\x00*", "tiff", "a TIFF image"),
    (b"\x00\x00\x01\x00", "ico", "an ICO image"),
)
_OTHER_MAGIC = (
    (b"\x1f\x8b", "gzip", "archive", "a gzip-compressed file (.gz)"),
    (b"BZh", "bzip2", "archive", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "xz", "archive", "an xz-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "7z", "archive", "a 7-Zip archive"),
    (b"(\xb5/\xfd", "zstd", "archive", "a zstd-compressed file"),
    (b"Rar!\x1a\x07", "rar", "archive", "a RAR archive"),
    (b"%PDF", "pdf", "other", "a PDF document"),
    (b"\x89HDF\r\n\x1a\n", "hdf5", "other", "an HDF5 file (Keras/TensorFlow weights?)"),
    (b"\x93NUMPY", "npy", "other", "a NumPy array file (.npy)"),
)
#: The first bytes of a PyTorch file in the legacy (pre-1.6) format: pickle protocol 2 and
#: PyTorch's magic number 0x1950a86a20f9469cfc6c.
_TORCH_LEGACY = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"
_DAMAGED_HINT = "an interrupted download or copy leaves such a file: fetch it again"
_ARCHIVE_HINT = "unpack it and use the file inside"
_PAGE_HINT = (
    "a failed or redirected download often saves such a page in place of the file "
    "(an error, login or 'moved' page)"
)
_HEAD = 4096


def _html_title(text: str) -> str:
    import re

    found = re.search(r"<title[^>]*>(.*?)</title", text, re.IGNORECASE | re.DOTALL)
    title = " ".join(found.group(1).split()) if found else ""
    return f" titled {title[:60]!r}" if title else ""


def _zip_kind(fileobj: BinaryIO) -> FileKind:
    import zipfile

    try:
        with zipfile.ZipFile(fileobj) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return FileKind("zip-damaged", "damaged", "a truncated or damaged ZIP file", _DAMAGED_HINT)
    if any(name == "data.pkl" or name.endswith("/data.pkl") for name in names):
        return FileKind("pytorch", "weights", "a PyTorch file")
    shown = ", ".join(names[:3]) + (" …" if len(names) > 3 else "")
    return FileKind("zip", "archive", f"a ZIP archive holding {shown or 'nothing'}", _ARCHIVE_HINT)


def _gzip_inner(head: bytes) -> str:
    """What the start of a gzip stream decompresses to, in words ("" if unknown)."""
    import zlib

    try:
        inner = zlib.decompressobj(wbits=31).decompress(head, 1024)
    except zlib.error:
        return ""
    if len(inner) > 262 and inner[257:262] == b"ustar":
        return "a gzip-compressed tar archive"
    inner_kind = _sniff_head(inner, None) if inner else None
    if inner_kind is not None and inner_kind.category in ("image", "weights", "text", "archive"):
        return f"a gzip-compressed file holding {inner_kind.description}"
    return ""


def _sniff_head(head: bytes, fileobj: BinaryIO | None) -> FileKind:
    if not head:
        return FileKind("empty", "empty", "an empty file (0 bytes)", _DAMAGED_HINT)
    for magic, kind, description in _IMAGE_MAGIC:
        if head.startswith(magic):
            return FileKind(kind, "image", description)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FileKind("webp", "image", "a WebP image")
    if head[:4] == b"PK\x03\x04" or head[:4] == b"PK\x05\x06":
        if fileobj is None:
            return FileKind("zip", "archive", "a ZIP file (PyTorch files are ZIP files)")
        fileobj.seek(0)
        return _zip_kind(fileobj)
    if head.startswith(_TORCH_LEGACY):
        return FileKind("pytorch-legacy", "weights", "a PyTorch file (legacy format)")
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return FileKind("pickle", "pickle", "a Python pickle")
    if len(head) > 262 and head[257:262] == b"ustar":
        return FileKind("tar", "archive", "a tar archive", _ARCHIVE_HINT)
    for magic, kind, category, description in _OTHER_MAGIC:
        if head.startswith(magic):
            if kind == "gzip":
                description = _gzip_inner(head) or description
            hint = _ARCHIVE_HINT if category == "archive" else ""
            return FileKind(kind, category, description, hint)
    if len(head) >= 10 and head[8:10] == b'{"':
        return FileKind("safetensors", "other", "a safetensors file")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a character cut at the end of the head is still text
        text = head[: exc.start].decode("utf-8") if exc.start > len(head) - 4 else ""
        if not text:
            return FileKind("binary", "other", f"a binary file of an unknown kind ({head[:8]!r}…)")
    if "\x00" in text:
        return FileKind("binary", "other", f"a binary file of an unknown kind ({head[:8]!r}…)")
    stripped = text.lstrip("\ufeff \t\r\n").lower()
    if stripped.startswith("version https://git-lfs"):
        return FileKind(
            "lfs-pointer",
            "text",
            "a Git LFS pointer (a small text file standing for the real one)",
            "the real file was never fetched: run `git lfs pull`, or download it directly",
        )
    if stripped.startswith(("<!doctype html", "<html", "<head", "<body", "<!--")) or (
        "<html" in stripped[:1024]
    ):
        return FileKind("html", "text", f"an HTML page{_html_title(text)}", _PAGE_HINT)
    if stripped.startswith(("<?xml", "<svg")):
        kind = "svg" if "<svg" in stripped[:1024] else "xml"
        return FileKind(kind, "text", "an SVG drawing" if kind == "svg" else "an XML file")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return FileKind("text", "text", f"a text file starting {first[:60]!r}", _PAGE_HINT)


def sniff(source: Path | str | bytes | bytearray | memoryview) -> FileKind:
    """What a file (a path) or a file's contents (bytes) hold, from their magic bytes.

    Tells images (PNG, JPEG, GIF, WebP, BMP, TIFF), PyTorch files (zip format with a
    ``data.pkl``, or the legacy pickle format), plain pickles, archives (ZIP, tar, gzip — and what
    the gzip holds —, bzip2, xz, 7z, zstd, RAR), HTML/XML/text pages (an HTML page's title, a
    text's first line), Git LFS pointers, PDF, HDF5, NumPy and safetensors files, empty and
    truncated ZIP files. Used wherever the package reads a file, so a wrong file is named for
    what it is (``images.load_image``, ``weights.load_state_file``). Reads only the first 4 KiB
    (and a ZIP's table of contents).
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        return _sniff_head(data[:_HEAD], io.BytesIO(data))
    with open(source, "rb") as fileobj:
        return _sniff_head(fileobj.read(_HEAD), fileobj)
