"""The sample registry: pinned, verified downloads (from a loopback server), offline stand-ins."""

from __future__ import annotations

import functools
import re
import socket
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from nst_helpers.download import file_sha256
from nst_helpers.errors import DownloadError, ParameterError
from nst_helpers.images import load_image
from nst_helpers.samples import (
    DEFAULT_BASE_URL,
    SAMPLES,
    Sample,
    available_offline,
    download_url,
    list_samples,
    load_sample,
    load_sample_or_fallback,
    sample_path,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "sample-images"
PAPER = ["tubingen", "starry_night", "shipwreck", "the_scream", "woman_with_hat"]


def need_shared() -> Path:
    """The folder of real sample images beside the repository, or skip the test."""
    if not SHARED.is_dir():
        pytest.skip(f"sample images not found at {SHARED}")
    return SHARED


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch) -> Path:
    """Every test gets its own cache, so the real one is never touched."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("NST_CACHE_DIR", str(cache))
    monkeypatch.delenv("NST_SAMPLES_URL", raising=False)
    return cache


def serve(folder: Path) -> tuple[ThreadingHTTPServer, list[str]]:
    """Serve ``folder`` on 127.0.0.1 (random port) in a thread; return the server and its hits."""
    hits: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            hits.append(self.path)
            super().do_GET()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=folder))
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    return httpd, hits


@pytest.fixture
def mirror(monkeypatch) -> Iterator[list[str]]:
    """NST_SAMPLES_URL pointing at a loopback server of the shared sample images; yields hits."""
    httpd, hits = serve(need_shared())
    monkeypatch.setenv("NST_SAMPLES_URL", f"http://127.0.0.1:{httpd.server_address[1]}/")
    yield hits
    httpd.shutdown()
    httpd.server_close()


def closed_port() -> int:
    """A local port with nothing listening on it (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- registry


def test_registry_matches_the_readme() -> None:
    readme = need_shared() / "README.md"
    rows = re.findall(
        r"^\| (\S+\.jpg) \| (\d+) \| [^|]+ \| ([0-9a-f]{64}) \|", readme.read_text(), re.MULTILINE
    )
    assert len(rows) == 5
    pinned = {name: (int(size), sha) for name, size, sha in rows}
    registry = {SAMPLES[n].filename: (SAMPLES[n].size_bytes, SAMPLES[n].sha256) for n in PAPER}
    assert registry == pinned
    base = re.search(r"`(https://raw\.githubusercontent\.com/\S+/)`", readme.read_text()).group(1)
    assert base == DEFAULT_BASE_URL
    for name in PAPER:
        assert SAMPLES[name].url == DEFAULT_BASE_URL + SAMPLES[name].filename
        assert file_sha256(SHARED / SAMPLES[name].filename) == SAMPLES[name].sha256


def test_registry_entries() -> None:
    assert [s.name for s in list_samples("content")] == ["tubingen", "grace_hopper"]
    styles = {s.name for s in list_samples("style")}
    assert styles == {
        "starry_night",
        "shipwreck",
        "the_scream",
        "woman_with_hat",
        "waves",
        "mosaic",
    }
    assert set(available_offline()) == {"grace_hopper", "waves", "mosaic"}
    assert SAMPLES["tubingen"].licence == "CC BY 3.0"
    assert "Praefcke" in SAMPLES["tubingen"].credit
    assert SAMPLES["waves"].licence == "CC0"
    assert all(isinstance(s, Sample) and s.offline == (s.sha256 is None) for s in list_samples())
    with pytest.raises(AttributeError):
        SAMPLES["tubingen"].sha256 = "0" * 64  # frozen
    with pytest.raises(ParameterError, match="kind"):
        list_samples("painting")


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ParameterError, match=r"tubingen.*starry_night.*waves"):
        sample_path("mona_lisa")
    with pytest.raises(ParameterError, match="valid names"):
        load_sample("mona_lisa")


def test_base_url_override(monkeypatch) -> None:
    assert download_url("shipwreck") == DEFAULT_BASE_URL + "shipwreck.jpg"
    monkeypatch.setenv("NST_SAMPLES_URL", "http://mirror.example/images")
    assert download_url("shipwreck") == "http://mirror.example/images/shipwreck.jpg"


# --------------------------------------------------------------------------- downloads


def test_sample_path_downloads_verifies_and_credits(mirror: list[str], private_cache: Path) -> None:
    path = sample_path("starry_night")
    assert path == private_cache / "images" / "starry_night.jpg"
    assert file_sha256(path) == SAMPLES["starry_night"].sha256
    note = path.with_name("starry_night.jpg.txt").read_text(encoding="utf-8")
    assert "The Starry Night" in note
    assert "Vincent van Gogh" in note
    assert "public domain" in note
    assert download_url("starry_night") in note
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "starry_night.jpg",
        "starry_night.jpg.txt",
    ]
    assert sample_path("starry_night") == path  # cached: no second request
    assert mirror == ["/starry_night.jpg"]


def test_load_sample_from_the_mirror(mirror: list[str]) -> None:
    t = load_sample("tubingen", size=64)
    assert t.shape == (1, 3, 48, 64)  # 1024x768 photo, long side 64
    assert t.dtype == torch.float32
    assert mirror == ["/tubingen.jpg"]


def test_download_false_uses_only_the_cache(mirror: list[str]) -> None:
    with pytest.raises(DownloadError, match="download=False"):
        sample_path("shipwreck", download=False)
    assert mirror == []
    path = sample_path("shipwreck")
    assert sample_path("shipwreck", download=False) == path


def test_corrupted_mirror_is_refused(tmp_path: Path, monkeypatch, private_cache: Path) -> None:
    original = (need_shared() / "the_scream.jpg").read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "the_scream.jpg").write_bytes(original[:1000] + b"X" + original[1001:])  # same size
    httpd, hits = serve(bad)
    monkeypatch.setenv("NST_SAMPLES_URL", f"http://127.0.0.1:{httpd.server_address[1]}")
    try:
        with pytest.raises(DownloadError, match="SHA-256 mismatch"):
            sample_path("the_scream")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert hits == ["/the_scream.jpg"]
    images = private_cache / "images"
    assert not images.exists() or list(images.iterdir()) == []


def test_fallback_when_offline(monkeypatch, private_cache: Path) -> None:
    monkeypatch.setenv("NST_SAMPLES_URL", f"http://127.0.0.1:{closed_port()}/")
    with pytest.warns(UserWarning, match="tubingen.*grace_hopper") as record:
        image, used = load_sample_or_fallback("tubingen", "grace_hopper", size=64)
    assert used == "grace_hopper"
    assert image.shape[:2] == (1, 3) and max(image.shape[2:]) == 64
    assert len(record) == 1 and "\n" not in str(record[0].message)
    assert not (private_cache / "images" / "tubingen.jpg").exists()


def test_no_fallback_needed(mirror: list[str]) -> None:
    image, used = load_sample_or_fallback("woman_with_hat", "waves", size=32)
    assert used == "woman_with_hat"
    assert image.shape == (1, 3, 32, 24)  # 591x800 portrait, long side 32


def test_fallback_must_be_offline() -> None:
    with pytest.raises(ParameterError, match="grace_hopper"):
        load_sample_or_fallback("tubingen", "starry_night")


# --------------------------------------------------------------------------- offline samples


@pytest.mark.parametrize("name", ["waves", "mosaic"])
def test_generated_styles(name: str) -> None:
    image = load_sample(name)
    assert image.shape == (1, 3, 512, 512)
    assert image.dtype == torch.float32
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    assert float(image.std()) > 0.1
    assert float(image.mean(dim=(2, 3)).std()) > 0.01  # coloured, not grey
    assert torch.equal(image, load_sample(name))  # deterministic
    small = load_sample(name, size=(96, 128))
    assert small.shape == (1, 3, 96, 128)
    assert float(small.std()) > 0.1


def test_generated_styles_differ_and_cache_as_png(private_cache: Path) -> None:
    assert not torch.equal(load_sample("waves", 64), load_sample("mosaic", 64))
    path = sample_path("mosaic")
    assert path == private_cache / "images" / "mosaic.png"
    assert "CC0" in path.with_name("mosaic.png.txt").read_text(encoding="utf-8")
    assert torch.allclose(load_image(path), load_sample("mosaic"), atol=0.5 / 255 + 1e-6)


def test_grace_hopper_offline(monkeypatch) -> None:
    monkeypatch.setenv("NST_SAMPLES_URL", f"http://127.0.0.1:{closed_port()}/")
    image = load_sample("grace_hopper", size=128)
    assert image.shape[:2] == (1, 3)
    assert max(image.shape[2:]) == 128
    assert float(image.std()) > 0.1
    assert sample_path("grace_hopper").is_file()
