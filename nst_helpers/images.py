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
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import torch
from PIL import ExifTags, Image, ImageOps

from nst_helpers.download import create_temp_beside, download_file, sniff
from nst_helpers.errors import (
    ImageError,
    ImageTensorError,
    OutputError,
    OutputExistsError,
    ParameterError,
)
from nst_helpers.paths import cache_dir, check_writable_folder

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
    except MemoryError:
        raise ImageError(
            f"{name}: {width}x{height} px is too large to decode in the memory available "
            f"(~{width * height * 3 / 2**20:,.0f} MB as 8-bit RGB, several times that while "
            "converting); make a smaller copy of it first"
        ) from None
    except _DECODE_ERRORS as exc:
        raise ImageError(f"{name}: the image is truncated or corrupt ({exc})") from None


#: Why a file of each kind (``download.sniff``) may be where an image was expected.
_NOT_AN_IMAGE_ADVICE = {
    "weights": "weights given where an image was expected: check the order of the arguments "
    "(weights go to --weights / weights=)",
    "pickle": "not an image: check the order of the arguments",
    "image": "the image is damaged or in a variant Pillow cannot read: open and save it again "
    "as PNG or JPEG",
}


def _what_it_is(fp: Path | io.BytesIO) -> str:
    """ ": it is an HTML page titled '404 Not Found'; a failed … download …" for an unreadable
    file, from its magic bytes (``download.sniff``); "" if even that fails."""
    try:
        kind = sniff(fp.getvalue() if isinstance(fp, io.BytesIO) else fp)
    except OSError:
        return ""
    advice = _NOT_AN_IMAGE_ADVICE.get(kind.category, kind.hint)
    if kind.kind == "svg":
        advice = "a vector drawing: export it as PNG first"
    return f": it is {kind.description}" + (f"; {advice}" if advice else "")


def _open_and_decode(fp: Path | io.BytesIO, name: str, size: Size, side: str) -> np.ndarray:
    """Open a file or buffer with Pillow and decode its first frame → H×W×3 float array."""
    try:
        with warnings.catch_warnings():  # MAX_PIXELS is this package's limit (checked below)
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(fp)
    except Image.UnidentifiedImageError:
        raise ImageError(f"{name}: not an image Pillow can read{_what_it_is(fp)}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_large(name, exc) from None
    except _DECODE_ERRORS as exc:
        raise ImageError(f"{name}: cannot read the image ({exc})") from None
    with img, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
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


#: Float image tensors may stray this far outside [0, 1] (rounding) and are then clamped.
DOMAIN_TOLERANCE = 1e-5


def as_image_tensor(
    tensor: torch.Tensor, what: str = "image", size: Size = None, side: str = "long"
) -> torch.Tensor:
    """The one check of an image tensor, wherever one comes in (``load_image``, the engine's
    content, style and ``init`` tensors, with or without ``size``): a float32 [1, 3, H, W] copy
    with values in [0, 1], on the tensor's device, resized to ``size`` if given.

    Accepted: [1, 3, H, W], [3, H, W], [1, 1, H, W], [1, H, W] or [H, W] (grey is repeated to
    three channels); float tensors with values in [0, 1]; **uint8 tensors, divided by 255** (the
    0–255 images of PIL, OpenCV and ``torchvision.io``). Refused with an ``ImageTensorError``
    (both an ``ImageError`` and a ``ParameterError``) naming ``what``: other shapes and dtypes,
    NaN or infinite values, and float values outside [0, 1] (such as a 0–255 image stored as
    float, or an ImageNet-normalised one), which would otherwise run and give a white or black
    result.
    """
    if not isinstance(tensor, torch.Tensor):
        raise ImageTensorError(f"{what}: expected a tensor, got {type(tensor).__name__}")
    t = tensor.detach()
    shape = list(t.shape)
    if t.dtype == torch.uint8:
        t = t.to(torch.float32) / 255.0
    elif not t.is_floating_point():
        raise ImageTensorError(
            f"{what}: unsupported dtype {t.dtype}; expected float in [0, 1] or uint8 (0–255)"
        )
    if t.ndim == 2:
        t = t[None, None]
    elif t.ndim == 3:
        t = t[None]
    if t.ndim != 4 or t.shape[0] != 1 or t.shape[1] not in (1, 3) or t.numel() == 0:
        raise ImageTensorError(
            f"{what}: expected an image tensor [1, 3, H, W] (or [3, H, W], [H, W]), got shape "
            f"{shape}"
        )
    if not torch.isfinite(t).all():
        raise ImageTensorError(f"{what}: the image tensor contains NaN or infinite values")
    low, high = float(t.min()), float(t.max())
    if low < -DOMAIN_TOLERANCE or high > 1.0 + DOMAIN_TOLERANCE:
        hint = (
            " (a 0–255 image: divide it by 255, or pass it as uint8)"
            if high > 1.0 + DOMAIN_TOLERANCE and low >= -DOMAIN_TOLERANCE
            else " (a normalised image: undo the normalisation first)"
        )
        raise ImageTensorError(
            f"{what}: values range from {low:.4g} to {high:.4g}; expected floats in [0, 1]{hint}"
        )
    t = t.to(torch.float32).clamp(0.0, 1.0).expand(1, 3, -1, -1)
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
            [0, 1]); or a tensor ([3, H, W], [1, 3, H, W] or [H, W]; float in [0, 1], or uint8
            divided by 255), checked by ``as_image_tensor`` and returned as a float32 copy.
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
        return as_image_tensor(source, "<tensor>", size, side)
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
    """An input image of a run as float32 [1, 3, H, W] in [0, 1]: a tensor goes through
    ``as_image_tensor`` (uint8 ÷ 255; floats outside [0, 1], NaN and bad shapes refused), resized
    to ``size`` when given; anything else goes to ``load_image``. ``what`` names the parameter in
    errors."""
    if isinstance(source, torch.Tensor):
        return as_image_tensor(source, what, size)  # the one check
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


def check_output_path(
    path: Path | str,
    *,
    overwrite: bool = False,
    suffixes: tuple[str, ...] | None = None,
    flag: str = "overwrite=True",
    what: str = "the image",
) -> Path:
    """Check, before any work, that an output file can be written at ``path``; return it.

    The one check of every output file (``save_image``, ``export_gif``, the command line's
    ``-o``): the suffix names a format Pillow can write (or one of ``suffixes``, e.g.
    ``(".gif",)``); ``path`` is not a folder; an existing file is refused with
    ``OutputExistsError`` (a ``FileExistsError``) telling to pass ``flag`` (``"--overwrite"`` on
    the command line) unless ``overwrite``; and the folder can be written
    (``check_writable_folder``). Raises ``ParameterError`` for the suffix, ``OutputError`` else.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        example = path / ("result" + (suffixes or (".png",))[0])
        raise OutputError(f"{path} is a folder; give a file name, e.g. {example}")
    if suffixes is None:
        _save_format(path)
    elif path.suffix.lower() not in suffixes:
        raise ParameterError(f"{path}: the file name must end in {' or '.join(suffixes)}")
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{path} already exists; pass {flag} to replace it, or pick another name"
            + (" (unique_path() finds a free one)" if flag == "overwrite=True" else "")
        )
    check_writable_folder(path.parent, what)
    return path


def save_image(tensor: torch.Tensor, path: Path | str, *, overwrite: bool = False) -> Path:
    """Save an image tensor to ``path`` (format from the suffix, e.g. .png or .jpg); return it.

    ``check_output_path`` first (suffix, existing file, writable folder). Parent folders are
    created. The file is written to a temporary file in the same folder and renamed onto ``path``
    (``os.replace``), so a failure leaves neither a partial image nor a temporary file. JPEGs are
    written at quality 95.

    Raises:
        OutputExistsError (a FileExistsError): ``path`` exists and ``overwrite`` is False.
        ParameterError: the suffix is missing or not a format Pillow can write.
        OutputError (an OSError): the folder cannot be written, or writing failed.
    """
    path = check_output_path(path, overwrite=overwrite)
    fmt = _save_format(path)
    img = to_pil(tensor)
    options = {"quality": 95} if fmt == "JPEG" else {}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        out, tmp = create_temp_beside(path, suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"could not write {path}: {exc.strerror or exc}") from None
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


def keep_elsewhere(path: Path | str, write: Callable[[Path], Path]) -> Path:
    """Where a result goes when it cannot be written at ``path``: ``write`` is tried at a free
    name beside ``path`` (``unique_path``), then in ``cache_dir()/"unsaved"``; returns where it
    was written. Used after a run, so that a failing save never loses the result."""
    path = Path(path).expanduser()
    places = [unique_path(path.with_name(f"{path.stem}-1{path.suffix}"))]  # never path itself
    try:
        places.append(unique_path(cache_dir() / "unsaved" / path.name))
    except OSError:
        pass
    last: Exception | None = None
    for place in places:
        try:
            return write(place)
        except (OSError, ValueError) as exc:
            last = exc
    raise OutputError(f"could not keep the result anywhere (last try: {last})")


def save_or_keep(
    tensor: torch.Tensor, path: Path | str, *, overwrite: bool = False
) -> tuple[Path, Exception | None]:
    """``save_image``; if that fails at the end of a run (disk full, folder gone, permissions
    changed), the image is kept elsewhere (``keep_elsewhere``) instead of being lost.

    Returns (where the image was written, the error that kept it from ``path``, or None).
    """
    try:
        return save_image(tensor, path, overwrite=overwrite), None
    except (OSError, ValueError) as exc:
        error: Exception = exc
    return keep_elsewhere(path, lambda place: save_image(tensor, place)), error


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
