"""load_image / save_image and friends, on a small corpus of files made here with Pillow."""

from __future__ import annotations

import functools
import io
import os
import struct
import threading
import time
import zlib
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile, JpegImagePlugin

from nst_helpers.errors import ImageError, ParameterError
from nst_helpers.images import (
    MAX_PIXELS,
    check_min_size,
    check_size,
    image_size,
    load_image,
    save_image,
    target_size,
    to_pil,
    unique_path,
)

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def pixel(t: torch.Tensor, row: int, col: int) -> list[float]:
    """The RGB value of one pixel of a [1, 3, H, W] tensor."""
    return t[0, :, row, col].tolist()


def opened(path: Path, attribute: str) -> object:
    """An attribute (mode, format, n_frames) of an image file, closing the file afterwards."""
    with Image.open(path) as img:
        return getattr(img, attribute)


def gradient_rgb(width: int = 64, height: int = 48) -> Image.Image:
    """A smooth RGB test picture (compresses well, survives JPEG)."""
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None].repeat(width, 1)
    return Image.fromarray(np.stack([x, y, 255 - x], axis=2).astype(np.uint8))


def noise_rgb(width: int = 256, height: int = 256) -> Image.Image:
    """Random pixels: files large enough that cutting them in half really truncates the data."""
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its length and a correct CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png_bytes(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny, well-formed PNG whose header claims width × height RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + png_chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------- basic loading


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_rgb_file_shape_range_dtype(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"img.{fmt.lower()}"
    gradient_rgb().save(path, fmt)
    t = load_image(path)
    assert t.shape == (1, 3, 48, 64)
    assert t.dtype == torch.float32
    assert 0.0 <= float(t.min()) and float(t.max()) <= 1.0
    assert load_image(str(path)).equal(t)  # str or Path
    assert not ImageFile.LOAD_TRUNCATED_IMAGES


def test_png_values_are_exact(tmp_path: Path) -> None:
    path = tmp_path / "g.png"
    gradient_rgb().save(path)
    expected = np.asarray(gradient_rgb(), dtype=np.float32).transpose(2, 0, 1) / 255
    assert np.allclose(load_image(path)[0].numpy(), expected, atol=1e-7)


@pytest.mark.parametrize(
    ("size", "side", "hw"),
    [
        (32, "long", (24, 32)),
        (24, "short", (24, 32)),
        (96, "short", (96, 128)),
        ((10, 20), "long", (10, 20)),
        (None, "long", (48, 64)),
        (1, "long", (1, 1)),
    ],
)
def test_resize(tmp_path: Path, size, side: str, hw: tuple[int, int]) -> None:
    path = tmp_path / "g.png"
    gradient_rgb().save(path)
    t = load_image(path, size=size, side=side)
    assert image_size(t) == hw
    assert 0.0 <= float(t.min()) and float(t.max()) <= 1.0
    assert target_size(48, 64, size, side) == hw


def test_large_jpeg_is_drafted_then_resized(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "big.jpg"
    gradient_rgb(2000, 1600).save(path, quality=90)
    calls = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = original(self, mode, size)
        calls.append((size, self.size))
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    t = load_image(path, size=200)
    assert image_size(t) == (160, 200)
    assert calls == [((200, 160), (250, 200))]  # decoded at 1/8 scale, still >= the target


def test_grayscale_becomes_three_equal_channels(tmp_path: Path) -> None:
    path = tmp_path / "gray.png"
    Image.fromarray(np.arange(48, dtype=np.uint8).reshape(6, 8)).save(path)
    t = load_image(path)
    assert t.shape == (1, 3, 6, 8)
    assert t[0, 0].equal(t[0, 1]) and t[0, 1].equal(t[0, 2])
    assert t[0, 0, 5, 7].item() == pytest.approx(47 / 255)


def test_16_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 255, 1000], [40000, 60000, 65535]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    assert opened(path, "mode") == "I;16"
    t = load_image(path)
    assert np.allclose(t[0, 0].numpy(), values / 65535, atol=1e-6)
    assert t[0, 0, 1, 0].item() == pytest.approx(40000 / 65535, abs=1e-4)

    flat = tmp_path / "flat.png"
    Image.fromarray(np.full((40, 60), 40000, dtype=np.uint16)).save(flat)
    resized = load_image(flat, size=30)
    assert image_size(resized) == (20, 30)
    assert np.allclose(resized.numpy(), 40000 / 65535, atol=1e-4)


def test_palette_with_transparency_is_composited_on_white(tmp_path: Path) -> None:
    img = Image.new("P", (4, 2), 0)
    img.putpalette([255, 0, 0, 0, 255, 0] + [0] * (254 * 3))
    img.putpixel((3, 1), 1)
    path = tmp_path / "pal.png"
    img.save(path, transparency=1)
    t = load_image(path)
    assert pixel(t, 0, 0) == [1.0, 0.0, 0.0]
    assert pixel(t, 1, 3) == [1.0, 1.0, 1.0]  # the transparent palette entry


def test_rgba_is_composited_on_white(tmp_path: Path) -> None:
    img = Image.new("RGBA", (3, 1))
    img.putdata([(0, 0, 0, 0), (255, 0, 0, 255), (0, 0, 0, 128)])
    path = tmp_path / "rgba.png"
    img.save(path)
    t = load_image(path)
    assert pixel(t, 0, 0) == [1.0, 1.0, 1.0]
    assert pixel(t, 0, 1) == [1.0, 0.0, 0.0]
    assert pixel(t, 0, 2) == pytest.approx([1 - 128 / 255] * 3, abs=1e-6)


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path, quality=95)
    assert opened(path, "mode") == "CMYK"
    assert pixel(load_image(path), 8, 8) == pytest.approx([1.0, 0.0, 0.0], abs=0.06)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    raw = Image.new("RGB", (40, 20), RED)  # stored 40 wide, 20 high
    raw.paste(BLUE, (20, 0, 40, 20))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = tmp_path / "rotated.jpg"
    raw.save(path, exif=exif.tobytes(), quality=95)
    t = load_image(path)
    assert image_size(t) == (40, 20)  # displayed upright: 20 wide, 40 high
    assert pixel(t, 5, 10) == pytest.approx([1.0, 0.0, 0.0], abs=0.1)  # left half went on top
    assert pixel(t, 35, 10) == pytest.approx([0.0, 0.0, 1.0], abs=0.1)
    assert image_size(load_image(path, size=10)) == (10, 5)  # draft + resize in shown orientation


def test_animated_gif_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in (RED, GREEN, BLUE)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert opened(path, "n_frames") == 3
    assert pixel(load_image(path), 4, 4) == [1.0, 0.0, 0.0]


@pytest.mark.parametrize(
    "mode",
    [
        "1",
        "L",
        "LA",
        "La",
        "P",
        "PA",
        "RGB",
        "RGBA",
        "RGBa",
        "CMYK",
        "YCbCr",
        "I",
        "I;16",
        "I;16B",
        "F",
    ],
)
def test_every_mode_converts_to_rgb(mode: str) -> None:
    t = load_image(Image.new(mode, (5, 4)))
    assert t.shape == (1, 3, 4, 5)
    assert t.dtype == torch.float32
    assert 0.0 <= float(t.min()) and float(t.max()) <= 1.0


def test_high_depth_modes_keep_precision() -> None:
    assert load_image(Image.new("I", (2, 2), 40000))[0, 0, 0, 0].item() == pytest.approx(
        40000 / 65535, abs=1e-6
    )
    assert load_image(Image.new("F", (2, 2), 0.25))[0, 1, 0, 0].item() == pytest.approx(0.25)
    assert load_image(Image.new("F", (2, 2), 128.0))[0, 1, 0, 0].item() == pytest.approx(128 / 255)


# --------------------------------------------------------------------------- other sources


def test_bytes_input_matches_file(tmp_path: Path) -> None:
    path = tmp_path / "g.png"
    gradient_rgb().save(path)
    from_file = load_image(path)
    data = path.read_bytes()
    for source in (data, bytearray(data), memoryview(data)):
        assert load_image(source).equal(from_file)


def test_pil_input(tmp_path: Path) -> None:
    img = gradient_rgb()
    t = load_image(img, size=32)
    assert image_size(t) == (24, 32)
    assert img.size == (64, 48)  # the caller's image is left alone


def test_numpy_inputs() -> None:
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    assert pixel(load_image(rgb), 0, 0) == [1.0, 0.0, 0.0]
    deep = np.full((4, 6), 40000, dtype=np.uint16)
    assert load_image(deep)[0, 2, 3, 3].item() == pytest.approx(40000 / 65535, abs=1e-6)
    rgba = np.zeros((4, 6, 4), dtype=np.float32)  # fully transparent black
    assert pixel(load_image(rgba), 1, 1) == [1.0, 1.0, 1.0]
    gray = np.full((4, 6, 1), 0.5, dtype=np.float64)
    t = load_image(gray, size=(2, 3))
    assert t.shape == (1, 3, 2, 3)
    assert t.dtype == torch.float32
    assert np.allclose(t.numpy(), 0.5, atol=1e-6)


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros((4, 6, 2), np.uint8), "shape"),
        (np.zeros((2, 4, 6, 3), np.uint8), "shape"),
        (np.zeros((0, 6, 3), np.uint8), "shape"),
        (np.zeros((4, 6, 3), np.int64), "dtype"),
        (np.full((4, 6, 3), 1.5), r"\[0, 1\]"),
        (np.full((4, 6, 3), np.nan), "NaN"),
    ],
)
def test_numpy_refusals(array: np.ndarray, match: str) -> None:
    with pytest.raises(ImageError, match=match) as info:
        load_image(array)
    assert "<array>" in str(info.value)


def test_tensor_inputs() -> None:
    source = torch.rand(3, 8, 10, dtype=torch.float64, requires_grad=True)
    t = load_image(source)
    assert t.shape == (1, 3, 8, 10)
    assert t.dtype == torch.float32
    assert not t.requires_grad
    batch = torch.rand(1, 3, 8, 10)
    copy = load_image(batch)
    assert copy.equal(batch)
    assert copy.data_ptr() != batch.data_ptr()  # a clone, not a view
    assert load_image(torch.rand(8, 10)).shape == (1, 3, 8, 10)
    assert image_size(load_image(batch, size=5)) == (4, 5)


@pytest.mark.parametrize(
    ("tensor", "match"),
    [
        (torch.full((3, 4, 4), float("nan")), "NaN"),
        (torch.full((3, 4, 4), 2.0), r"\[0, 1\]"),
        (torch.full((3, 4, 4), -0.5), r"\[0, 1\]"),
        (torch.rand(2, 3, 4, 4), "shape"),
        (torch.rand(4, 4, 4), "shape"),
        (torch.zeros(3, 4, 4, dtype=torch.int64), "dtype"),
    ],
)
def test_tensor_refusals(tensor: torch.Tensor, match: str) -> None:
    with pytest.raises(ImageError, match=match):
        load_image(tensor)


def test_url_is_downloaded_once_into_the_cache(tmp_path: Path, monkeypatch) -> None:
    served = tmp_path / "www"
    served.mkdir()
    gradient_rgb().save(served / "pic.png")
    monkeypatch.setenv("NST_CACHE_DIR", str(tmp_path / "cache"))
    hits = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            hits.append(self.path)
            super().do_GET()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=served))
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/pic.png"
        first = load_image(url)
        second = load_image(url)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert first.equal(second)
    assert first.shape == (1, 3, 48, 64)
    assert hits == ["/pic.png"]
    cached = list((tmp_path / "cache" / "images").iterdir())
    assert len(cached) == 1
    assert cached[0].name.endswith("-pic.png")


# --------------------------------------------------------------------------- refusals


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jpg"
    with pytest.raises(ImageError, match="no such file") as info:
        load_image(path)
    assert str(path) in str(info.value)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="is a directory, not an image file") as info:
        load_image(tmp_path)
    assert str(info.value).startswith(str(tmp_path))


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.touch()
    with pytest.raises(ImageError, match=r"empty.png: the file is empty \(0 bytes\)"):
        load_image(path)
    with pytest.raises(ImageError, match=r"<bytes>: empty \(0 bytes\)"):
        load_image(b"")


def test_text_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture\n")
    with pytest.raises(ImageError, match="not an image Pillow can read") as info:
        load_image(path)
    assert str(path) in str(info.value)
    with pytest.raises(ImageError, match="<bytes>: not an image"):
        load_image(b"hello")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_files(tmp_path: Path, fmt: str) -> None:
    buffer = io.BytesIO()
    noise_rgb().save(buffer, fmt)
    data = buffer.getvalue()
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated") as info:
        load_image(path)
    assert str(path) in str(info.value)
    assert not ImageFile.LOAD_TRUNCATED_IMAGES


def test_huge_header_is_refused_before_decoding(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(huge_png_bytes())
    assert path.stat().st_size < 200
    start = time.monotonic()
    with pytest.raises(ImageError, match="MAX_PIXELS"):
        load_image(path)
    # Also without Pillow's own limit: the package checks the header itself.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(ImageError, match=r"100000x100000 px .*MAX_PIXELS"):
        load_image(path)
    assert time.monotonic() - start < 2
    assert MAX_PIXELS == 178_956_970


@pytest.mark.parametrize("size", [0, -5, 1.5, "64", True, (0, 10), (10,), (10, 2.0), [1, 2, 3]])
def test_bad_size(size) -> None:
    with pytest.raises(ParameterError, match="size"):
        load_image(np.zeros((4, 4)), size=size)


@pytest.mark.parametrize("size", [13_378, (20_000, 10_000), (1, MAX_PIXELS + 1)])
def test_sizes_beyond_max_pixels_are_refused_before_any_work(size) -> None:
    # check_size is what load_image, load_sample and StyleTransfer call first; calling it
    # directly keeps this test from allocating gigabytes if the check is ever lost.
    with pytest.raises(ParameterError, match=r"out of range.*MAX_PIXELS"):
        check_size(size, "long")
    check_size(13_377, "long")  # the largest square: 13,377² ≤ MAX_PIXELS


def test_a_short_side_that_makes_the_long_side_huge_is_refused() -> None:
    with pytest.raises(ParameterError, match="out of range"):
        target_size(2, 1000, 1000, "short")  # a 1:500 panorama would be 1000 x 500,000 px
    assert target_size(2, 1000, 10, "short") == (10, 5000)


def test_bad_side_and_source() -> None:
    with pytest.raises(ParameterError, match="side"):
        load_image(np.zeros((4, 4)), size=2, side="middle")
    with pytest.raises(ParameterError, match="int"):
        load_image(42)


def test_check_min_size() -> None:
    image = torch.zeros(1, 3, 20, 30)
    check_min_size(image, 20)
    with pytest.raises(
        ImageError,
        match=r"style image is 20x30 px; the deepest layer requested needs at least 32 px on "
        r"each side",
    ):
        check_min_size(image, 32, "style image")


# --------------------------------------------------------------------------- saving


def test_to_pil_rounds_and_clamps() -> None:
    values = torch.tensor([0.0, 0.2, 0.5, 0.999, 1.7, -0.3])
    t = values.view(1, 1, 6).expand(3, 1, 6).clone().requires_grad_(True)
    img = to_pil(t)
    assert img.mode == "RGB"
    assert img.size == (6, 1)
    assert [img.getpixel((i, 0))[0] for i in range(6)] == [0, 51, 128, 255, 255, 0]
    assert to_pil(t.detach()[None]).size == (6, 1)
    gray = to_pil(values.view(1, 6))
    assert gray.mode == "L"
    with pytest.raises(ImageError, match="batch"):
        to_pil(torch.zeros(2, 3, 4, 4))


def test_save_png_round_trip(tmp_path: Path) -> None:
    t = torch.randint(0, 256, (1, 3, 9, 11)).float() / 255
    path = save_image(t, tmp_path / "a" / "b" / "out.png")
    assert path == tmp_path / "a" / "b" / "out.png"
    assert torch.allclose(load_image(path), t, atol=1e-6)
    assert os.listdir(path.parent) == ["out.png"]


def test_save_jpeg(tmp_path: Path) -> None:
    t = load_image(gradient_rgb())
    path = save_image(t, tmp_path / "out.JPG")
    assert opened(path, "format") == "JPEG"
    assert (load_image(path) - t).abs().mean() < 0.02


def test_save_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "out.png"
    save_image(torch.zeros(3, 4, 4), path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_image(torch.ones(3, 4, 4), path)
    assert load_image(path).max() == 0
    save_image(torch.ones(3, 4, 4), path, overwrite=True)
    assert load_image(path).min() == 1


@pytest.mark.parametrize("name", ["out", "out.xyz", "out.png.notanimage"])
def test_save_needs_a_known_suffix(tmp_path: Path, name: str) -> None:
    with pytest.raises(ParameterError, match="suffix"):
        save_image(torch.zeros(3, 4, 4), tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_save_is_atomic(tmp_path: Path, monkeypatch) -> None:
    existing = tmp_path / "keep.png"
    save_image(torch.zeros(3, 4, 4), existing)
    before = existing.read_bytes()

    def failing_save(self, fp, format=None, **params):  # writes half an image, then fails
        fp.write(b"\x89PNG\r\n\x1a\npartial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        save_image(torch.ones(3, 4, 4), tmp_path / "new.png")
    with pytest.raises(OSError, match="disk full"):
        save_image(torch.ones(3, 4, 4), existing, overwrite=True)
    assert os.listdir(tmp_path) == ["keep.png"]  # no partial image, no temporary file
    assert existing.read_bytes() == before


def test_unique_path(tmp_path: Path) -> None:
    path = tmp_path / "result.png"
    assert unique_path(path) == path
    path.touch()
    assert unique_path(path) == tmp_path / "result-1.png"
    (tmp_path / "result-1.png").touch()
    assert unique_path(str(path)) == tmp_path / "result-2.png"


# --------------------------------------------------------------------------- issue 16


@pytest.mark.parametrize("with_size", [False, True])
def test_float_tensors_outside_0_1_are_refused_on_every_path_and_uint8_is_divided(
    vgg, with_size
) -> None:
    """content * 255 (float) ran without complaint and gave a white result unless size= was given;
    init= tensors likewise. One check (images.as_image_tensor) on every path now."""
    import nst_helpers as nst

    g = torch.Generator().manual_seed(0)
    content, style = torch.rand(1, 3, 32, 32, generator=g), torch.rand(1, 3, 32, 32, generator=g)
    size = {"size": 32} if with_size else {}
    options = dict(vgg=vgg, steps=1, progress=False, **size)
    for bad in ("content", "style", "init"):
        args = {"content": content, "style": style, "init": "content"}
        args[bad] = args[bad if bad != "init" else "content"] * 255
        with pytest.raises(ParameterError, match=rf"{bad}: values range from .* divide it by 255"):
            nst.run_style_transfer(args["content"], args["style"], init=args["init"], **options)
    as_bytes = (content * 255).round().to(torch.uint8)  # uint8: divided by 255, as documented
    from_uint8 = nst.StyleTransfer(as_bytes, style, init=as_bytes, **options)
    expected = as_bytes.float() / 255
    torch.testing.assert_close(from_uint8.content_image, expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(from_uint8.x.detach(), expected, rtol=0, atol=1e-6)


def test_as_image_tensor_is_the_one_check() -> None:
    from nst_helpers.errors import ImageTensorError
    from nst_helpers.images import as_image_tensor

    normalised = (torch.rand(1, 3, 8, 8) - 0.485) / 0.229
    with pytest.raises(ImageTensorError, match="undo the normalisation"):
        as_image_tensor(normalised, "content")
    assert as_image_tensor(torch.full((8, 8), 255, dtype=torch.uint8)).eq(1).all()
    just_over = torch.full((1, 3, 4, 4), 1 + 1e-7)  # rounding: accepted and clamped
    assert as_image_tensor(just_over).max() == 1.0
    with pytest.raises(ImageTensorError, match="shape"):
        as_image_tensor(torch.rand(2, 3, 4, 4), "style")


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("page.jpg", b"<!DOCTYPE html><html><title>404 Not Found</title>", "an HTML page titled"),
        ("notes.jpg", b"this is not a picture\n", "a text file starting 'this is not"),
        ("lfs.png", b"version https://git-lfs.github.com/spec/v1\noid sha256:1\n", "Git LFS"),
        ("photos.png", None, "a ZIP archive holding a.png"),
        ("photo.jpg.gz", None, "gzip-compressed file holding a JPEG image"),
    ],
)
def test_a_file_that_is_not_an_image_says_what_it_is(tmp_path, name, data, expected) -> None:
    import gzip
    import zipfile

    path = tmp_path / name
    if name == "photos.png":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("a.png", b"\x89PNG\r\n\x1a\n")
    elif name == "photo.jpg.gz":
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buffer, format="JPEG")
        path.write_bytes(gzip.compress(buffer.getvalue()))
    else:
        path.write_bytes(data)
    with pytest.raises(ImageError, match="not an image Pillow can read") as info:
        load_image(path)
    assert expected in str(info.value) and str(path) in str(info.value)
    with pytest.raises(ImageError, match=f"<bytes>: not an image .*{expected[:12]}"):
        load_image(path.read_bytes())


def test_weights_given_as_an_image_are_named(tmp_path) -> None:
    path = tmp_path / "vgg19.pth"
    torch.save({"features.0.weight": torch.zeros(2)}, path)
    with pytest.raises(ImageError, match="it is a PyTorch file; weights given where an image"):
        load_image(path)


@pytest.mark.parametrize("case", ["suffix", "parent is a file", "exists", "folder", "unwritable"])
def test_outputs_are_checked_by_one_function_for_images_gifs_and_runs(tmp_path, case) -> None:
    import nst_helpers as nst
    from nst_helpers.convergence import export_gif
    from nst_helpers.errors import OutputError
    from nst_helpers.images import check_output_path
    from nst_helpers.runs import check_run_dir, save_run

    image = torch.rand(1, 3, 8, 8)
    result = nst.Result(image=image, history=[], snapshots={1: image}, evaluations=1)
    blocker = tmp_path / "c.png"
    blocker.write_bytes(b"x")
    base = tmp_path / "locked"
    if case == "unwritable":
        if os.geteuid() == 0 and not Path("/proc/self").is_dir():
            pytest.skip("root without /proc")
        if os.geteuid() == 0:
            base = Path("/proc/nst-out")
        else:
            base.mkdir()
            base.chmod(0o500)
    targets = {
        "suffix": (tmp_path / "a.jgp", tmp_path / "a.png", None, ParameterError),
        "parent is a file": (blocker / "a.png", blocker / "a.gif", blocker / "run", OutputError),
        "exists": (blocker, tmp_path / "c.gif", None, FileExistsError),
        "folder": (tmp_path, tmp_path, blocker, OutputError),
        "unwritable": (*(base / "sub" / n for n in ("a.png", "a.gif", "run")), OutputError),
    }
    image_path, gif_path, run_path, error = targets[case]
    if case == "exists":
        (tmp_path / "c.gif").write_bytes(b"GIF89a")
    with pytest.raises(error):
        check_output_path(image_path)
    with pytest.raises(error):
        nst.save_image(image, image_path)
    with pytest.raises(ParameterError if case == "suffix" else error):
        export_gif(result, gif_path)
    if run_path is not None:
        with pytest.raises(OutputError):
            check_run_dir(run_path)
        with pytest.raises(OutputError):
            save_run(result, run_path)
    assert blocker.read_bytes() == b"x" and not list(tmp_path.glob("**/*.tmp*"))


def test_a_photo_too_large_to_decode_in_memory_says_so(tmp_path, monkeypatch):
    """Not "out of memory at 64 px" (the run's size): the input image is what does not fit."""
    from nst_helpers import images

    path = tmp_path / "huge.png"
    Image.new("RGB", (300, 200), (10, 20, 30)).save(path)

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(images, "_pil_to_rgb", no_memory)
    with pytest.raises(ImageError, match=r"huge.png: 300x200 px is too large to decode"):
        images.load_image(path, size=64)
