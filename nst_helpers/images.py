"""Images in and out: float32 tensors [1, 3, H, W] in [0, 1], read and written by Pillow.

``load_image`` takes a file path, an http(s) URL (downloaded once with pooch), raw bytes (an
ipywidgets ``FileUpload``), a PIL image, a numpy array or a tensor. A file is judged from its
header before it is decoded (size, memory needed), large JPEGs are decoded reduced (Pillow's
``draft``), the EXIF orientation is applied, transparency is composited on white, and resizing
uses Lanczos. ``save_image`` proves the format can hold the image before writing, and writes
atomically. Anything unusable raises a one-line ``ImageError`` / ``OutputError`` naming it.
"""

from __future__ import annotations

import io
import numbers
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

from .errors import ImageError, OutputError, ParameterError
from .files import atomic_write, cache_dir, check_writable, fetch

#: The most memory (MiB) decoding one image may take: larger images are refused from their header,
#: with the size and the memory they would need (a 2 GB Binder pod must survive any upload).
MAX_DECODE_MB = 200
ImageSource = str | os.PathLike | bytes | Image.Image | np.ndarray | torch.Tensor
Size = int | tuple[int, int] | None
_HIGH_DEPTH = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def target_size(height: int, width: int, size: Size) -> tuple[int, int]:
    """(H, W) for an image of height × width: an int ``size`` becomes the long side (aspect kept,
    at least 1 px), a pair (H, W) is used as it is, None keeps the size; else ``ParameterError``,
    also when the resized image alone would take more than ``MAX_DECODE_MB`` as float32."""
    whole = lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1  # noqa: E731
    if size is None:
        return height, width
    if isinstance(size, tuple | list) and len(size) == 2 and all(map(whole, size)):
        hw = int(size[0]), int(size[1])
    elif not whole(size):
        raise ParameterError(f"size must be a whole number ≥ 1 (px), (H, W) or None, not {size!r}")
    else:
        scale = size / max(height, width)
        hw = max(1, round(height * scale)), max(1, round(width * scale))
    if (need := hw[0] * hw[1] * 12 / 2**20) > MAX_DECODE_MB:  # 3 float32 channels
        raise ParameterError(f"size {size} makes a {hw[0]}x{hw[1]} px image: {need:,.0f} MB as "
                             f"float32, over the {MAX_DECODE_MB} MB limit; ask for a smaller "
                             "image")  # fmt: skip
    return hw


def as_image_tensor(image: Any, what: str = "image", size: Size = None) -> torch.Tensor:
    """A tensor [1, C, H, W], [C, H, W], [H, W] or array [H, W(, C)] (C = 1, 3, 4: grey repeated,
    alpha on white; uint8 ÷ 255, uint16 ÷ 65535, floats in [0, 1]) as a float32 [1, 3, H, W] copy
    at ``size``; else ``ImageError`` naming ``what``, with a hint for 0–255 or normalised values."""
    t = torch.from_numpy(_array(image)) if isinstance(image, np.ndarray) else image
    t = t.detach()[(None,) * (4 - t.dim())] if isinstance(t, torch.Tensor) else None
    if t is None or t.dim() != 4 or t.shape[0] != 1 or t.shape[1] not in (1, 3, 4) or 0 in t.shape:
        raise ImageError(f"{what}: not an image [1, 3, H, W] or [H, W, 3]: {_shape(image)}")
    t = t.float() / 255 if t.dtype == torch.uint8 else t
    if not t.is_floating_point() or not torch.isfinite(t).all():
        raise ImageError(f"{what}: {t.dtype} with NaN or ∞, or not floats in [0, 1] nor uint8")
    if t.min() < -1e-5 or t.max() > 1 + 1e-5:
        low, high = float(t.min()), float(t.max())
        hint = "divide it by 255" if low >= 0 and high <= 255 else "undo the normalisation"
        raise ImageError(f"{what}: values range from {low:.4g} to {high:.4g}, not [0, 1] ({hint})")
    t = t.float().clamp(0, 1)
    t = (t[:, :3] * t[:, 3:] + 1 - t[:, 3:] if t.shape[1] == 4 else t).expand(1, 3, -1, -1)
    if size is not None and (hw := target_size(*t.shape[2:], size)) != tuple(t.shape[2:]):
        t = torch.nn.functional.interpolate(t, size=hw, mode="bicubic", antialias=True).clamp(0, 1)
    return t.contiguous()


def _array(image: np.ndarray) -> np.ndarray:
    """An image array as [C, H, W] (uint16 as floats ÷ 65535), for ``as_image_tensor``."""
    image = image.astype(np.float32) / 65535 if image.dtype == np.uint16 else image
    return np.ascontiguousarray(np.moveaxis(image, -1, 0) if image.ndim == 3 else image)


def _shape(image: Any) -> str:
    return str(list(image.shape)) if hasattr(image, "shape") else type(image).__name__


def _opened(source: Path | io.BytesIO, name: str) -> Image.Image:
    """An image file opened by Pillow (its header read, nothing decoded), or ``ImageError``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(source)
    except Image.UnidentifiedImageError:
        raise ImageError(f"{name}: not an image Pillow can read{_what_it_is(source)}") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: too large to decode ({exc}); make a smaller copy") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"{name}: cannot read the image ({exc})") from None
    return img


def _open(source: Path | io.BytesIO, name: str, size: Size) -> Image.Image:
    """Open an image file, judge it from its header and decode it (reduced when it may be)."""
    img = _opened(source, name)
    try:
        _judge(img, name, size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img.load()  # truncated files fail here
        ImageOps.exif_transpose(img, in_place=True)
        return img
    except BaseException as exc:
        img.close()
        if not isinstance(exc, OSError | ValueError | SyntaxError | EOFError) or isinstance(
            exc, ImageError
        ):
            raise
        raise ImageError(f"{name}: the image is truncated or damaged ({exc})") from None


def check_image(data: bytes, name: str = "<bytes>") -> tuple[int, int]:
    """(width, height) of an image file's bytes, judged from its header and its structure without
    decoding its pixels (an upload is checked at the cost of its header, not of its pixels):
    ``ImageError`` for what ``load_image`` would refuse, or a file Pillow finds damaged."""
    with _opened(io.BytesIO(data), name) as img:
        _judge(img, name, 1)
        try:
            img.verify()  # chunks and checksums, no pixels decoded
        except Exception as exc:
            raise ImageError(f"{name}: the image is truncated or damaged ({exc})") from None
        return img.size


def _judge(img: Image.Image, name: str, size: Size) -> None:
    """Refuse, from the header alone, an image whose decoding would take more than
    ``MAX_DECODE_MB``; ask libjpeg for a reduced decode (1/2 … 1/8) when a size is given."""
    width, height = img.size
    if width * height == 0:
        raise ImageError(f"{name}: the image has no pixels ({width}x{height})")
    if size is not None and img.format == "JPEG":
        side = max(size) if isinstance(size, tuple | list) else None
        h, w = (side, side) if side else target_size(height, width, size)
        img.draft(img.mode, (w, h))
    pixels = img.size[0] * img.size[1]  # after draft: what will really be decoded
    need = (pixels * max(3, len(img.getbands())) + (pixels * 12 if size is None else 0)) / 2**20
    if need > MAX_DECODE_MB:
        raise ImageError(
            f"{name}: {width}x{height} px would need {need:,.0f} MB to load (the limit is "
            f"{MAX_DECODE_MB} MB); load it with a smaller size, or make a smaller copy first"
        )


def _what_it_is(source: Path | io.BytesIO) -> str:
    """': it is an HTML page …' for a file that is not an image, from its first bytes."""
    with source if isinstance(source, io.BytesIO) else open(source, "rb") as f:
        f.seek(0)
        head = f.read(64)
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html")):
        return ": it is an HTML page (a failed download?)"
    if text.startswith(b"<svg") or text.startswith(b"<?xml"):
        return ": it is a vector drawing (SVG); export it as PNG first"
    if head[:2] == b"PK" or head[:1] == b"\x80":
        return ": it looks like PyTorch weights; check the order of the arguments"
    return ""


def _to_tensor(img: Image.Image, size: Size) -> torch.Tensor:
    """A decoded PIL image of any mode → float32 [1, 3, H, W] in [0, 1] at ``size``."""
    hw = target_size(img.height, img.width, size)
    if img.mode in _HIGH_DEPTH:  # 16-bit or float grey: keep the precision, resize as float
        values = np.asarray(img, dtype=np.float32)
        values = values / (65535.0 if img.mode != "F" else 255.0 if values.max() > 1 else 1.0)
        return as_image_tensor(np.clip(values, 0, 1), "image", size)
    img = img.convert("LA") if img.mode == "La" else img  # premultiplied: Pillow converts it so
    alpha = img.mode in ("RGBA", "LA", "PA", "RGBa") or "transparency" in img.info
    mode = "RGBA" if alpha else "RGB"
    img = img if img.mode == mode else img.convert(mode)
    if (img.height, img.width) != hw:
        img = img.resize(hw[::-1], Image.Resampling.LANCZOS, reducing_gap=3.0)
    if alpha:
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img).convert("RGB")
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)[None].float() / 255.0


def load_image(source: ImageSource, size: Size = None) -> torch.Tensor:
    """Load an image as a float32 tensor [1, 3, H, W] with values in [0, 1].

    ``source``: a file path; an http(s) URL (downloaded once into ``cache_dir()/"images"`` with
    pooch); bytes of an image file; a PIL image; a numpy array or a tensor (``as_image_tensor``).
    ``size``: an int long side (aspect kept), (H, W), or None (as it is). The first frame of an
    animation is used. Raises ``ImageError`` (missing, not an image, damaged, too large to
    decode, bad values), ``ParameterError`` (a bad ``size`` or source type), ``DownloadError``.
    Lessons 00–07 load every image through it.
    """
    target_size(1, 1, size)  # a bad size is refused before anything is read
    if isinstance(source, torch.Tensor | np.ndarray):
        return as_image_tensor(source, "<array>", size)
    if isinstance(source, Image.Image):
        return _to_tensor(ImageOps.exif_transpose(source) or source, size)
    if isinstance(source, bytes | bytearray | memoryview):
        if not bytes(source):
            raise ImageError("<bytes>: empty (0 bytes)")
        return _to_tensor(_open(io.BytesIO(bytes(source)), "<bytes>", size), size)
    if isinstance(source, str) and source.lower().startswith(("http://", "https://")):
        path = fetch(source, None, cache_dir() / "images")
    elif isinstance(source, str | os.PathLike):
        path = Path(source).expanduser()
    else:
        raise ParameterError(f"cannot load an image from a {type(source).__name__}")
    if not path.is_file():
        raise ImageError(f"{path}: {'a folder, not a file' if path.is_dir() else 'no such file'}")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: the file is empty (0 bytes)")
    with _open(path, str(path), size) as img:
        return _to_tensor(img, size)


def to_pil(tensor: torch.Tensor) -> Image.Image:
    """An image tensor ([1, 3, H, W], [3, H, W], or grey [H, W]) in [0, 1] as a PIL image (RGB or
    L): clamped, × 255, rounded. ``ImageError`` for NaN, or 0–255 values (all would be white)."""
    t = tensor.detach().to("cpu", torch.float32)
    t = t[0] if t.dim() == 4 and t.shape[0] == 1 else t
    t = t[0] if t.dim() == 3 and t.shape[0] == 1 else t
    ok = (t.dim() == 2 or (t.dim() == 3 and t.shape[0] == 3)) and t.numel() and t.isfinite().all()
    if not ok or not -1 <= t.min() <= t.max() <= 2:
        raise ImageError(f"cannot show {list(tensor.shape)} as an image: [1, 3, H, W] or [H, W] of "
                         "finite values in [0, 1] (0–255 pixels? divide by 255)")  # fmt: skip
    pixels = t.clamp(0, 1).mul(255).round().to(torch.uint8)
    return Image.fromarray((pixels.permute(1, 2, 0) if pixels.dim() == 3 else pixels).numpy())


def check_output_path(
    path: str | os.PathLike[str], *, overwrite: bool = False, flag: str = "overwrite=True",
    size: tuple[int, int] = (257, 257),
) -> Path:  # fmt: skip
    """Before any work: ``path`` is a file name whose format Pillow can write an RGB image of
    ``size`` (H, W) into — proved by encoding one in memory and reading its size back — not
    an existing file unless ``overwrite`` (``flag`` names how to allow it), in a writable folder.
    Raises ``OutputError`` naming the path (``ParameterError`` for the format)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise OutputError(f"{path} is a folder; give a file name, e.g. {path / 'result.png'}")
    if path.exists() and not overwrite:
        raise OutputError(f"{path} already exists; pass {flag} to replace it, or pick another name")
    fmt = Image.registered_extensions().get(path.suffix.lower())
    probe = io.BytesIO()
    try:
        Image.new("RGB", size[::-1], (128, 64, 32)).save(probe, format=fmt, **_save_options(fmt))
        try:
            with Image.open(probe) as back:
                back_size = back.size
        except Image.UnidentifiedImageError:  # a format Pillow writes but cannot read (PDF)
            back_size = size[::-1]
    except (KeyError, ValueError, OSError, TypeError) as exc:
        why = "no format" if fmt is None else f"{fmt} cannot hold an RGB image ({exc})"
        raise ParameterError(f"{path}: {why}; use a name ending in .png or .jpg") from None
    if back_size != size[::-1]:
        raise ParameterError(f"{path}: {fmt} cannot hold {size[1]}x{size[0]} px; use .png or .jpg")
    check_writable(path.parent, str(path))
    return path


def _save_options(fmt: str | None) -> dict[str, Any]:
    return {"quality": 95} if fmt == "JPEG" else {}


def save_image(
    tensor: torch.Tensor, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Save an image tensor at ``path`` (format from the suffix; JPEG at quality 95) and return it.

    ``check_output_path`` first (format, existing file, folder); written atomically
    (``files.atomic_write``): the file is either untouched or the whole image. Raises
    ``OutputError`` (naming the path) or ``ParameterError`` (the format).
    """
    img = to_pil(tensor)
    path = check_output_path(path, overwrite=overwrite, size=(img.height, img.width))
    fmt = Image.registered_extensions()[path.suffix.lower()]
    try:
        return atomic_write(path, lambda f: img.save(f, format=fmt, **_save_options(fmt)))
    except OSError as exc:
        raise OutputError(f"could not write {path}: {exc.strerror or exc}") from None


def unique_path(path: str | os.PathLike[str]) -> Path:
    """``path`` if it is free, else the first free ``<stem>-1<suffix>``, ``<stem>-2<suffix>`` …"""
    path = Path(path).expanduser()
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate
