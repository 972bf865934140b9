"""Images in and out (``images.py``): every source becomes float32 [1, 3, H, W] in [0, 1]; a file
is judged from its header before it is decoded; what cannot be used is refused in one line that
names it; outputs are proved writable before any work and written atomically."""

from __future__ import annotations

import io
import os
import stat
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nst_helpers import images
from nst_helpers.errors import ImageError, OutputError, ParameterError
from nst_helpers.images import (
    as_image_tensor,
    check_output_path,
    load_image,
    save_image,
    to_pil,
    unique_path,
)

from .conftest import serve, served_url

RED, WHITE = (255, 0, 0), (255, 255, 255)


def gradient(width: int = 64, height: int = 48) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None].repeat(width, 1)
    return Image.fromarray(np.stack([x, y, 255 - x], axis=2).astype(np.uint8))


def saved(img: Image.Image, path: Path, **options) -> Path:
    img.save(path, **options)
    return path


def png_claiming(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header claims width × height RGB pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------- loading files


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_file_becomes_float32_rgb_in_0_1(tmp_path, fmt):
    t = load_image(saved(gradient(), tmp_path / f"img.{fmt.lower()}", format=fmt))
    assert t.shape == (1, 3, 48, 64) and t.dtype == torch.float32
    assert 0.0 <= t.min() and t.max() <= 1.0


def test_png_values_are_exact(tmp_path):
    t = load_image(saved(Image.new("RGB", (3, 2), (255, 128, 0)), tmp_path / "c.png"))
    assert t[0, :, 0, 0].tolist() == pytest.approx([1.0, 128 / 255, 0.0])


@pytest.mark.parametrize(
    "size, hw", [(32, (24, 32)), ((10, 20), (10, 20)), (None, (48, 64)), (1, (1, 1))]
)
def test_an_int_size_is_the_long_side_a_pair_is_exact(tmp_path, size, hw):
    assert load_image(saved(gradient(), tmp_path / "g.png"), size=size).shape[-2:] == hw


@pytest.mark.parametrize("size", [0, -5, 1.5, "64", True, (0, 10), (10,), (10, 2.0), [1, 2, 3]])
def test_a_bad_size_is_refused_before_anything_is_read(size):
    with pytest.raises(ParameterError, match="size"):
        load_image("/no/such/file.png", size=size)


@pytest.mark.parametrize("size", [100_000, (30_000, 30_000)])
def test_a_size_too_large_to_hold_is_refused_before_resizing(size):
    """A 2×2 image asked at 100000 px would need 114 GB as float32: refused from the numbers."""
    small = torch.rand(1, 3, 2, 2)
    for load in (lambda: load_image(small, size=size), lambda: load_image(to_pil(small), size)):
        with pytest.raises(ParameterError, match=r"size .* MB"):
            load()


def test_a_large_jpeg_is_decoded_reduced_when_a_size_is_asked(tmp_path, monkeypatch):
    path = saved(gradient(1600, 1200), tmp_path / "big.jpg", quality=90)
    decoded: list[tuple[int, int]] = []
    real = Image.Image.load

    def load(self):
        decoded.append(self.size)
        return real(self)

    monkeypatch.setattr(Image.Image, "load", load)
    assert load_image(path, size=200).shape[-2:] == (150, 200)
    assert max(decoded[0]) <= 400  # libjpeg decoded at 1/4, not at 1600 × 1200


@pytest.mark.parametrize(
    "mode",
    ["1", "L", "LA", "La", "P", "PA", "I", "I;16", "F", "RGBA", "RGBa", "CMYK", "YCbCr", "HSV"],
)
def test_every_mode_becomes_rgb(mode):
    img = Image.new(mode, (4, 3))
    assert load_image(img).shape == (1, 3, 3, 4)


def test_grey_is_three_equal_channels_and_16_bit_keeps_its_precision(tmp_path):
    grey = load_image(Image.new("L", (2, 2), 100))
    assert torch.equal(grey[0, 0], grey[0, 1]) and torch.equal(grey[0, 1], grey[0, 2])
    deep = np.array([[0, 257, 65535]], dtype=np.uint16)
    t = load_image(saved(Image.fromarray(deep), tmp_path / "deep.png"))
    assert t[0, 0, 0].tolist() == pytest.approx([0, 257 / 65535, 1.0])  # not clipped at 255


@pytest.mark.parametrize("mode", ["RGBA", "P"])
def test_transparency_is_composited_on_white(tmp_path, mode):
    img = Image.new("RGBA", (2, 1), (0, 0, 0, 0))
    img.putpixel((1, 0), (*RED, 255))
    if mode == "P":
        img = img.convert("P")
        img.info["transparency"] = img.getpixel((0, 0))
    t = load_image(saved(img, tmp_path / "t.png"))
    assert t[0, :, 0, 0].tolist() == [1.0, 1.0, 1.0] and t[0, :, 0, 1].tolist() == [1.0, 0.0, 0.0]


def test_the_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    path = saved(gradient(64, 48), tmp_path / "rot.jpg", exif=exif)
    assert load_image(path).shape[-2:] == (64, 48)


def test_an_animation_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (4, 4), c) for c in (RED, WHITE)]
    path = tmp_path / "a.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert load_image(path)[0, :, 0, 0].tolist() == [1.0, 0.0, 0.0]


def test_bytes_and_pil_images_load_like_the_file(tmp_path):
    path = saved(gradient(), tmp_path / "g.png")
    expected = load_image(path)
    assert torch.equal(load_image(path.read_bytes()), expected)
    with Image.open(path) as img:
        assert torch.equal(load_image(img), expected)


def test_a_url_is_downloaded_once_into_the_cache(tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    saved(gradient(), folder / "pic.png")
    httpd, hits = serve(folder)
    try:
        url = served_url(httpd) + "pic.png"
        assert torch.equal(load_image(url), load_image(url))
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert hits == ["/pic.png"]


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "name, data, words",
    [
        ("missing.png", None, "no such file"),
        ("empty.png", b"", "empty"),
        ("page.jpg", b"<!DOCTYPE html><html><title>404</title>", "HTML page"),
        ("drawing.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
        ("weights.png", b"PK\x03\x04 torch zip", "weights"),
        ("notes.jpg", b"this is not a picture\n", "not an image"),
    ],
)
def test_a_file_that_cannot_be_an_image_is_refused_in_one_line_naming_it(
    tmp_path, name, data, words
):
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(ImageError, match=words) as info:
        load_image(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_folder_is_not_an_image(tmp_path):
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_truncated_file_is_refused(tmp_path, fmt):
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8))
    data = saved(noise, tmp_path / f"n.{fmt.lower()}", format=fmt).read_bytes()
    (tmp_path / "cut").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated"):
        load_image(tmp_path / "cut")


@pytest.mark.parametrize("pixels", [(100_000, 100_000), (12_000, 12_000)])
def test_an_image_too_large_is_refused_from_its_header_before_decoding(tmp_path, pixels):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming(*pixels))
    start = time.monotonic()
    with pytest.raises(ImageError, match=r"large|MB") as info:
        load_image(path)
    assert time.monotonic() - start < 2 and str(path) in str(info.value)


def test_a_decode_that_needs_more_than_the_limit_says_the_size_and_the_memory(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(images, "MAX_DECODE_MB", 1)
    path = saved(gradient(1000, 800), tmp_path / "big.png")
    with pytest.raises(ImageError, match=r"1000x800 px would need .* MB"):
        load_image(path)


# --------------------------------------------------------------------------- arrays and tensors


def test_arrays_and_tensors_of_each_layout_and_dtype():
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[..., 0] = 255
    assert as_image_tensor(rgb)[0, :, 0, 0].tolist() == [1.0, 0.0, 0.0]
    assert as_image_tensor(np.full((2, 3), 65535, np.uint16)).min() == 1.0
    assert as_image_tensor(np.zeros((2, 3, 4), np.float32)).max() == 1.0  # alpha 0: white
    for t in (torch.rand(3, 5, 6), torch.rand(1, 3, 5, 6), torch.rand(5, 6)):
        assert as_image_tensor(t).shape == (1, 3, 5, 6)
    assert as_image_tensor(torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)).min() == 1.0
    assert as_image_tensor(torch.rand(1, 3, 40, 60), size=30).shape == (1, 3, 20, 30)


@pytest.mark.parametrize(
    "value, words",
    [
        (np.zeros((2, 3, 5)), "not an image"),
        (torch.rand(2, 3, 4, 4), "not an image"),
        (torch.zeros(1, 3, 0, 4), "not an image"),
        (torch.zeros(1, 3, 2, 2, dtype=torch.int64), "int64"),
        (torch.full((1, 3, 2, 2), float("nan")), "NaN"),
        (torch.full((1, 3, 2, 2), 200.0), "divide it by 255"),
        (torch.full((1, 3, 2, 2), -2.0), "normalisation"),
        (np.full((2, 2, 3), 1.5, np.float32), "not \\[0, 1\\]"),
        ("a string", "str"),
    ],
)
def test_arrays_and_tensors_outside_the_domain_are_refused_naming_what(value, words):
    with pytest.raises(ImageError, match=words) as info:
        as_image_tensor(value, "content")
    assert str(info.value).startswith("content")


# --------------------------------------------------------------------------- saving


def test_to_pil_rounds_and_clamps():
    t = torch.tensor([[[[0.0, 0.5, 1.2, -0.3]]]]).expand(1, 3, 1, 4)
    assert list(to_pil(t).getdata()) == [(0, 0, 0), (128,) * 3, (255,) * 3, (0, 0, 0)]


@pytest.mark.parametrize(
    "tensor",
    [torch.rand(1, 3, 8, 8) * 255, torch.full((1, 3, 8, 8), float("nan")), torch.rand(1, 2, 8, 8)],
)
def test_a_tensor_that_is_not_an_image_in_0_1_is_not_saved_as_one(tensor, tmp_path):
    """0–255 floats would all be clamped to white: refused, with the hint, and nothing written."""
    with pytest.raises(ImageError, match=r"\[0, 1\]") as info:
        save_image(tensor, tmp_path / "x.png")
    assert "\n" not in str(info.value) and not (tmp_path / "x.png").exists()


def test_save_and_load_round_trip_with_the_usual_permissions(tmp_path):
    image = load_image(gradient())
    path = save_image(image, tmp_path / "new" / "out.png")
    assert torch.equal(load_image(path), image)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~current_umask()
    assert save_image(image, tmp_path / "out.jpg").stat().st_size > 0


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_an_existing_file_is_never_replaced_unless_asked(tmp_path):
    path = saved(Image.new("RGB", (2, 2)), tmp_path / "out.png")
    with pytest.raises(OutputError, match="overwrite"):
        save_image(torch.rand(1, 3, 4, 4), path)
    save_image(torch.rand(1, 3, 4, 4), path, overwrite=True)
    assert load_image(path).shape[-2:] == (4, 4)


@pytest.mark.parametrize(
    "name", ["out", "out.xyz", "out.wmf", "out.emf", "out.xbm", "out.h5", "out.bufr", "out.grib",
             "out.msp", "out.palm", "out.blp", "out.ico"],
)  # fmt: skip
def test_a_format_that_cannot_hold_the_result_is_refused_before_any_work(tmp_path, name):
    """Proved by encoding an image of that format in memory: Pillow knows these suffixes but
    cannot write an RGB image there (or, .ico, not one larger than 256 px)."""
    with pytest.raises(ParameterError, match=name) as info:
        check_output_path(tmp_path / name, size=(300, 400))
    assert "\n" not in str(info.value)


def test_a_folder_a_file_on_the_way_or_an_unwritable_folder_is_refused(tmp_path):
    saved(Image.new("RGB", (2, 2)), tmp_path / "c.png")
    with pytest.raises(OutputError, match="folder"):
        check_output_path(tmp_path)
    with pytest.raises(OutputError, match=r"c\.png"):
        check_output_path(tmp_path / "c.png" / "out.png")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.geteuid() != 0:  # root may write anywhere
        with pytest.raises(OutputError, match="writable"):
            check_output_path(locked / "out.png")


def test_a_save_that_fails_leaves_neither_a_partial_file_nor_a_temporary_one(tmp_path, monkeypatch):
    real = Image.Image.save

    def broken(self, fp, format=None, **kw):
        if isinstance(fp, io.BytesIO):  # the format check in memory works
            return real(self, fp, format=format, **kw)
        fp.write(b"half an image")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", broken)
    with pytest.raises(OutputError, match=r"out\.png"):
        save_image(torch.rand(1, 3, 4, 4), tmp_path / "out.png")
    assert list(tmp_path.iterdir()) == []


def test_unique_path_finds_a_free_name(tmp_path):
    assert unique_path(tmp_path / "r.png") == tmp_path / "r.png"
    (tmp_path / "r.png").touch()
    (tmp_path / "r-1.png").touch()
    assert unique_path(tmp_path / "r.png") == tmp_path / "r-2.png"


def test_an_image_file_loads_through_io_buffers_too():
    buffer = io.BytesIO()
    gradient().save(buffer, format="PNG")
    assert load_image(buffer.getvalue()).shape == (1, 3, 48, 64)
