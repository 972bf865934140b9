"""Load, check, convert and save images as float32 tensors of shape [1, 3, H, W] in [0, 1].

``load_image`` accepts a file path, an http(s) URL, raw bytes (what an ipywidgets ``FileUpload``
gives), a PIL image, a numpy array or a tensor, and always returns the same kind of tensor:
RGB (transparency composited on white), EXIF orientation applied, optionally resized with Lanczos.
Anything it cannot use is refused with an ``ImageError`` whose message names the file and the
problem. ``save_image`` writes atomically: the target is either untouched or the complete image.
"""

from __future__ import annotations

import hashlib
import io
import numbers
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import torch
from PIL import ExifTags, Image, ImageOps

from nst_helpers.download import create_temp_beside, download_file
from nst_helpers.errors import ImageError, ParameterError
from nst_helpers.paths import cache_dir

#: Largest image (width × height, read from the file header) that ``load_image`` will decode.
#: The same number as Pillow's own decompression-bomb error limit (2 × Image.MAX_IMAGE_PIXELS).
#: Pillow still *warns* (DecompressionBombWarning) above Image.MAX_IMAGE_PIXELS (about 89 M px);
#: where warnings are turned into errors, that warning also becomes an ImageError.
MAX_PIXELS = 178_956_970

ImageSource = (
    str | os.PathLike | bytes | bytearray | memoryview | Image.Image | np.ndarray | torch.Tensor
)
Size = int | tuple[int, int] | None

_SIDES = ("long", "short")
_HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
# What Pillow may raise while parsing or decoding a damaged file.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError)


# --------------------------------------------------------------------------- sizes


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_size(size: object, side: object) -> None:
    """Raise ParameterError unless ``size`` and ``side`` are valid for ``load_image``.

    ``size``: None, a positive int, or a tuple (H, W) of positive ints; ``side``: "long"/"short".
    An int n may not give more than MAX_PIXELS (n × n at most), nor a tuple H × W.
    """
    if side not in _SIDES:
        raise ParameterError(f"side must be 'long' or 'short', got {side!r}")
    if size is None:
        return
    if _is_int(size) and size > 0:
        _check_pixels(size, size, size)
        return
    if (
        isinstance(size, tuple | list)
        and len(size) == 2
        and all(_is_int(v) and v > 0 for v in size)
    ):
        _check_pixels(size[0], size[1], size)
        return
    raise ParameterError(
        f"size must be a positive int (pixels on the {side} side), a tuple (H, W) of positive "
        f"ints, or None; got {size!r}"
    )


def _check_pixels(height: int, width: int, size: object) -> None:
    """Raise ParameterError if an image of height × width would exceed MAX_PIXELS."""
    if height * width > MAX_PIXELS:
        raise ParameterError(
            f"size {size!r} is out of range: {height}x{width} px is more than "
            f"MAX_PIXELS = {MAX_PIXELS:,} pixels"
        )


def target_size(height: int, width: int, size: Size, side: str = "long") -> tuple[int, int]:
    """The (H, W) that ``load_image`` gives an image of height × width for ``size`` and ``side``.

    An int makes the long side (``side="long"``) or the short side (``side="short"``) equal to
    ``size``, keeping the aspect ratio (rounded, at least 1 px); a tuple (H, W) is used as it is;
    None keeps the size unchanged.
    """
    check_size(size, side)
    if size is None:
        return height, width
    if not _is_int(size):
        return int(size[0]), int(size[1])
    ref = max(height, width) if side == "long" else min(height, width)
    hw = max(1, round(height * size / ref)), max(1, round(width * size / ref))
    _check_pixels(*hw, size)  # the short side of a panorama can make the long side huge
    return hw


def image_size(tensor: torch.Tensor) -> tuple[int, int]:
    """(H, W) of an image tensor ([1, 3, H, W], [3, H, W] or [H, W])."""
    return int(tensor.shape[-2]), int(tensor.shape[-1])


def check_min_size(image: torch.Tensor, min_side: int, what: str = "image") -> None:
    """Raise ImageError if the image's height or width is below ``min_side`` pixels.

    The style-transfer engine calls it: each VGG pooling layer halves the image, so the deepest
    layer requested needs a minimum input size.
    """
    height, width = image_size(image)
    if min(height, width) < min_side:
        raise ImageError(
            f"{what} is {height}x{width} px; the deepest layer requested needs at least "
            f"{min_side} px on each side (load it at a larger size or use shallower layers)"
        )


# --------------------------------------------------------------------------- float arrays


def _resize_float(arr: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Resize an H×W×C float32 array with Lanczos (Pillow, mode F), clipped to [0, 1]."""
    if arr.shape[:2] == tuple(size_hw):
        return arr
    height, width = size_hw
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(arr[..., c], dtype=np.float32)).resize(
                (width, height), Image.Resampling.LANCZOS
            )
        )
        for c in range(arr.shape[2])
    ]
    return np.clip(np.stack(channels, axis=2), 0.0, 1.0)


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """H×W×4 float RGBA in [0, 1] → H×W×3 RGB with the alpha composited on white."""
    alpha = rgba[..., 3:4]
    return rgba[..., :3] * alpha + (1.0 - alpha)


def _channels_to_rgb(arr: np.ndarray) -> np.ndarray:
    """H×W×{1,3,4} float array → H×W×3 (gray repeated, alpha composited on white)."""
    if arr.shape[2] == 1:
        return np.repeat(arr, 3, axis=2)
    if arr.shape[2] == 4:
        return _composite_on_white(arr)
    return arr


def _to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """H×W×3 float array → contiguous float32 tensor [1, 3, H, W]."""
    chw = np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32)
    return torch.from_numpy(chw).unsqueeze(0)


# --------------------------------------------------------------------------- PIL images


def _high_depth_gray(img: Image.Image, name: str) -> np.ndarray:
    """16-bit, 32-bit int or float gray image → H×W float32 in [0, 1], without going via 8 bits.

    I;16* and I are divided by 65535. F is used as it is if it lies in [0, 1], else it is taken to
    be on Pillow's 0–255 scale and divided by 255.
    """
    values = np.asarray(img).astype(np.float32)
    if img.mode == "F":
        if not np.isfinite(values).all():
            raise ImageError(f"{name}: the float image contains NaN or infinite values")
        if values.size and values.max() > 1.0:
            values /= 255.0
    else:
        values /= 65535.0
    return np.clip(values, 0.0, 1.0)


def _pil_to_rgb(img: Image.Image, size_hw: tuple[int, int], name: str) -> np.ndarray:
    """A loaded PIL image of any mode → H×W×3 float32 RGB in [0, 1], resized to ``size_hw``."""
    if img.mode in _HIGH_DEPTH_MODES:
        gray = _resize_float(_high_depth_gray(img, name)[..., None], size_hw)
        return np.repeat(gray, 3, axis=2)
    has_alpha = img.mode in _ALPHA_MODES or "transparency" in img.info
    try:
        if img.mode == "La":  # premultiplied: Pillow converts it only to LA
            img = img.convert("LA")
        img = img.convert("RGBA" if has_alpha else "RGB")
    except ValueError as exc:
        raise ImageError(f"{name}: cannot convert image mode {img.mode} to RGB ({exc})") from None
    if (img.height, img.width) != tuple(size_hw):
        # Pillow resizes RGBA premultiplied, so transparent pixels do not bleed colour.
        img = img.resize((size_hw[1], size_hw[0]), Image.Resampling.LANCZOS)
    arr = np.asarray(img, dtype=np.float32) / 255.0
    return _composite_on_white(arr) if has_alpha else arr


def _exif_orientation(img: Image.Image) -> int:
    """The EXIF orientation (1–8) of an image, 1 if absent or unreadable."""
    try:
        value = img.getexif().get(ExifTags.Base.Orientation, 1)
    except _DECODE_ERRORS:
        return 1
    return value if value in range(1, 9) else 1


def _too_large(name: str, exc: Exception) -> ImageError:
    """The ImageError for a file Pillow refuses as a possible decompression bomb."""
    return ImageError(
        f"{name}: too large to decode safely (more than MAX_PIXELS = {MAX_PIXELS:,} pixels, or "
        f"over Pillow's own limit: {exc})"
    )


def _decode(img: Image.Image, name: str, size: Size, side: str, *, may_draft: bool) -> np.ndarray:
    """Check, decode, orient, convert and resize an opened PIL image → H×W×3 float array."""
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{name}: the header says {width}x{height} px ({width * height:,} pixels), more than "
            f"MAX_PIXELS = {MAX_PIXELS:,}; refusing to decode it"
        )
    if width == 0 or height == 0:
        raise ImageError(f"{name}: the image has no pixels ({width}x{height})")
    transposed = _exif_orientation(img) in (5, 6, 7, 8)  # these swap width and height
    shown_h, shown_w = (width, height) if transposed else (height, width)
    size_hw = target_size(shown_h, shown_w, size, side)
    try:
        if may_draft and size is not None and img.format == "JPEG":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale, never below the target size.
            raw_wh = (size_hw[0], size_hw[1]) if transposed else (size_hw[1], size_hw[0])
            img.draft(img.mode, raw_wh)
        img.load()  # force the full decode now, so truncated files fail here
        img = ImageOps.exif_transpose(img)
        return _pil_to_rgb(img, size_hw, name)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_large(name, exc) from None
    except _DECODE_ERRORS as exc:
        raise ImageError(f"{name}: the image is truncated or corrupt ({exc})") from None


def _open_and_decode(fp: Path | io.BytesIO, name: str, size: Size, side: str) -> np.ndarray:
    """Open a file or buffer with Pillow and decode its first frame → H×W×3 float array."""
    try:
        img = Image.open(fp)
    except Image.UnidentifiedImageError:
        raise ImageError(f"{name}: not an image Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_large(name, exc) from None
    except _DECODE_ERRORS as exc:
        raise ImageError(f"{name}: cannot read the image ({exc})") from None
    with img:
        return _decode(img, name, size, side, may_draft=True)


# --------------------------------------------------------------------------- other sources


def _array_to_rgb(arr: np.ndarray, size: Size, side: str) -> np.ndarray:
    """numpy image (H×W, H×W×1, H×W×3, H×W×4; uint8, uint16 or float in [0, 1]) → H×W×3 float."""
    name = "<array>"
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or 0 in arr.shape:
        raise ImageError(
            f"{name}: unsupported shape {arr.shape}; expected HxW, HxWx1, HxWx3 or HxWx4"
        )
    if arr.dtype == np.uint8:
        values = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        values = arr.astype(np.float32) / 65535.0
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ImageError(f"{name}: contains NaN or infinite values")
        low, high = float(arr.min()), float(arr.max())
        if low < 0.0 or high > 1.0:
            raise ImageError(f"{name}: values range from {low:.4g} to {high:.4g}; expected [0, 1]")
        values = arr.astype(np.float32)
    else:
        raise ImageError(
            f"{name}: unsupported dtype {arr.dtype}; expected uint8, uint16 or float in [0, 1]"
        )
    rgb = _channels_to_rgb(values)
    return _resize_float(rgb, target_size(rgb.shape[0], rgb.shape[1], size, side))


def _from_tensor(tensor: torch.Tensor, size: Size, side: str) -> torch.Tensor:
    """Validate an image tensor and return it as a float32 [1, 3, H, W] copy (resized if asked)."""
    name = "<tensor>"
    t = tensor.detach()
    if t.dtype == torch.uint8:
        t = t.to(torch.float32) / 255.0
    elif not t.is_floating_point():
        raise ImageError(f"{name}: unsupported dtype {t.dtype}; expected float in [0, 1] or uint8")
    shape = tuple(t.shape)
    if t.ndim == 2:
        t = t[None, None]
    elif t.ndim == 3:
        t = t[None]
    if t.ndim != 4 or t.shape[0] != 1 or t.shape[1] not in (1, 3) or t.numel() == 0:
        raise ImageError(
            f"{name}: unsupported shape {list(shape)}; expected [3, H, W], [1, 3, H, W] or [H, W]"
        )
    if not torch.isfinite(t).all():
        raise ImageError(f"{name}: contains NaN or infinite values")
    low, high = float(t.min()), float(t.max())
    if low < 0.0 or high > 1.0:
        raise ImageError(f"{name}: values range from {low:.4g} to {high:.4g}; expected [0, 1]")
    t = t.to(torch.float32).expand(1, 3, -1, -1)
    size_hw = target_size(t.shape[2], t.shape[3], size, side)
    if size_hw != (t.shape[2], t.shape[3]):
        rgb = t[0].permute(1, 2, 0).cpu().numpy()
        return _to_tensor(_resize_float(rgb, size_hw)).to(tensor.device)
    return t.clone(memory_format=torch.contiguous_format)


def _safe_filename(text: str, default: str = "image") -> str:
    """A short, filesystem-safe version of a file name."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[-64:]
    return cleaned or default


def _fetch_url(url: str) -> Path:
    """Download an image URL once into the cache and return the cached file."""
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    basename = _safe_filename(unquote(urlparse(url).path.rsplit("/", 1)[-1]))
    return download_file(url, cache_dir() / "images" / f"{key}-{basename}")


def _check_file(path: Path) -> None:
    """Raise ImageError for a path that is missing, a directory or empty."""
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path}: is a directory, not an image file")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: the file is empty (0 bytes)")


def load_image(source: ImageSource, size: Size = None, side: str = "long") -> torch.Tensor:
    """Load an image as a float32 tensor [1, 3, H, W] with values in [0, 1].

    Args:
        source: a file path (str or Path); an ``http://``/``https://`` URL (downloaded once into
            ``cache_dir()/"images"``); ``bytes``/``bytearray``/``memoryview`` holding an image file;
            a PIL image; a numpy array (H×W, H×W×1, H×W×3 or H×W×4; uint8, uint16, or float in
            [0, 1]); or a tensor ([3, H, W], [1, 3, H, W] or [H, W], float in [0, 1] or uint8),
            which is returned as a float32 copy.
        size: an int makes the long side (or, with ``side="short"``, the short side) that many
            pixels, keeping the aspect ratio; a tuple (H, W) gives exactly that size; None keeps
            the size. Resizing uses Lanczos; large JPEGs are decoded at reduced scale first.
        side: ``"long"`` or ``"short"``: which side an int ``size`` sets.

    The EXIF orientation is applied (photos come out as displayed), the first frame of an
    animation is used, transparency is composited on white, and 16-bit / float images keep their
    precision (a 16-bit value v becomes v / 65535).

    Raises:
        ImageError: a missing, empty, unreadable, truncated or too large (> MAX_PIXELS) file, an
            array/tensor of unsupported shape or dtype, or values outside [0, 1] / NaN.
        ParameterError: a bad ``size`` or ``side``, or a source of an unsupported type.
        DownloadError: a URL that could not be downloaded.
    """
    check_size(size, side)
    if isinstance(source, torch.Tensor):
        return _from_tensor(source, size, side)
    if isinstance(source, np.ndarray):
        return _to_tensor(_array_to_rgb(source, size, side))
    if isinstance(source, Image.Image):
        return _to_tensor(_decode(source, "<PIL image>", size, side, may_draft=False))
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if not data:
            raise ImageError("<bytes>: empty (0 bytes)")
        return _to_tensor(_open_and_decode(io.BytesIO(data), "<bytes>", size, side))
    if isinstance(source, str) and source.lower().startswith(("http://", "https://")):
        path = _fetch_url(source)
    elif isinstance(source, str | os.PathLike):
        path = Path(source).expanduser()
    else:
        raise ParameterError(
            f"cannot load an image from a {type(source).__name__}; pass a path, URL, bytes, "
            "PIL image, numpy array or tensor"
        )
    _check_file(path)
    return _to_tensor(_open_and_decode(path, str(path), size, side))


# --------------------------------------------------------------------------- saving


def image_input(source: Any, size: Size = None, what: str = "image") -> torch.Tensor:
    """An input image of a run as float32 [1, 3, H, W] in [0, 1]: a tensor is checked (shape,
    finite values) and resized to ``size`` when given; anything else goes to ``load_image``.
    ``what`` names the parameter in errors (ParameterError)."""
    if isinstance(source, torch.Tensor):
        t = source.detach()
        if t.dim() == 3:
            t = t.unsqueeze(0)
        if t.dim() != 4 or t.shape[0] != 1 or t.shape[1] != 3:
            raise ParameterError(
                f"{what}: expected an image tensor [1, 3, H, W], got {list(source.shape)}"
            )
        if not torch.isfinite(t).all():
            raise ParameterError(f"{what}: the image tensor contains NaN or infinite values")
        t = t.float()
        if size is not None:
            t = load_image(t.cpu(), size=size)
        return t
    return load_image(source, size=size)


def to_pil(tensor: torch.Tensor) -> Image.Image:
    """Convert an image tensor to a PIL image (RGB, or L for a [H, W] tensor).

    Accepts [1, 3, H, W], [3, H, W] or [H, W] (also [1, H, W] / [1, 1, H, W] as gray); the values
    are detached, moved to the CPU, clamped to [0, 1], scaled by 255 and rounded to uint8.
    """
    t = tensor.detach()
    shape = list(t.shape)
    if t.ndim == 4:
        if t.shape[0] != 1:
            raise ImageError(f"expected one image, got a batch of {t.shape[0]} (shape {shape})")
        t = t[0]
    if t.ndim == 3 and t.shape[0] == 1:
        t = t[0]
    if not (t.ndim == 2 or (t.ndim == 3 and t.shape[0] == 3)) or t.numel() == 0:
        raise ImageError(f"cannot convert a tensor of shape {shape} to an image")
    t = t.to("cpu", torch.float32)
    if not torch.isfinite(t).all():
        raise ImageError("the image tensor contains NaN or infinite values")
    pixels = t.clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8)
    if pixels.ndim == 3:
        pixels = pixels.permute(1, 2, 0)
    return Image.fromarray(pixels.contiguous().numpy())


def _save_format(path: Path) -> str:
    """The Pillow format name that can write ``path`` (from its suffix), or ParameterError."""
    suffix = path.suffix.lower()
    fmt = Image.registered_extensions().get(suffix) if suffix else None
    if fmt is None or fmt not in Image.SAVE:
        raise ParameterError(
            f"{path}: cannot tell which image format to write from the suffix {suffix!r}; "
            "use a name ending in .png or .jpg"
        )
    return fmt


def save_image(tensor: torch.Tensor, path: Path | str, *, overwrite: bool = False) -> Path:
    """Save an image tensor to ``path`` (format from the suffix, e.g. .png or .jpg); return it.

    Parent folders are created. The file is written to a temporary file in the same folder and
    renamed onto ``path`` (``os.replace``), so a failure leaves neither a partial image nor a
    temporary file. JPEGs are written at quality 95.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False.
        ParameterError: the suffix is missing or not a format Pillow can write.
    """
    path = Path(path).expanduser()
    fmt = _save_format(path)
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{path} already exists; pass overwrite=True to replace it, or pick another name "
            "(unique_path() finds a free one)"
        )
    img = to_pil(tensor)
    options = {"quality": 95} if fmt == "JPEG" else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    out, tmp = create_temp_beside(path, suffix=".tmp")
    try:
        with out:
            img.save(out, format=fmt, **options)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def unique_path(path: Path | str) -> Path:
    """``path`` if it is free, else the first free ``<stem>-1<suffix>``, ``<stem>-2<suffix>``…

    For widgets that save without asking: ``result.png`` → ``result-1.png`` → ``result-2.png``.
    """
    path = Path(path).expanduser()
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate
