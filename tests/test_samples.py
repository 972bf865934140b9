"""Sample images: the paper's, fetched by pooch from a pinned address (or a mirror) and verified by
SHA-256; the offline stand-ins need no network. The real files are served from 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path

import pytest
import torch

from nst_helpers.errors import DownloadError, ParameterError
from nst_helpers.samples import (
    BASE_URL,
    SAMPLES,
    list_samples,
    load_sample,
    load_sample_or_fallback,
    sample_path,
    sample_url,
)

from .conftest import closed_port_url, serve, served_url

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "sample-images"
PAPER = [name for name, s in SAMPLES.items() if not s.offline]


def need_shared() -> Path:
    """The folder of real sample images beside the repository, or skip the test."""
    if not SHARED.is_dir():
        pytest.skip(f"sample images not found at {SHARED}")
    return SHARED


@pytest.fixture
def mirror(monkeypatch):
    """$NST_SAMPLES_URL pointing at a loopback server of the shared sample images; yields hits."""
    httpd, hits = serve(need_shared())
    monkeypatch.setenv("NST_SAMPLES_URL", served_url(httpd))
    yield hits
    httpd.shutdown()
    httpd.server_close()


def test_the_registry_is_the_pinned_files_of_the_readme():
    readme = (need_shared() / "README.md").read_text()
    rows = re.findall(r"^\| (\S+\.jpg) \| \d+ \| [^|]+ \| ([0-9a-f]{64}) \|", readme, re.MULTILINE)
    assert {SAMPLES[n].filename: SAMPLES[n].sha256 for n in PAPER} == dict(rows)
    assert re.search(r"`(https://raw\.githubusercontent\.com/\S+/)`", readme).group(1) == BASE_URL
    for name in PAPER:
        data = (SHARED / SAMPLES[name].filename).read_bytes()
        assert hashlib.sha256(data).hexdigest() == SAMPLES[name].sha256


def test_kinds_credits_and_the_offline_samples():
    assert list_samples("content") == ["tubingen", "grace_hopper"]
    assert {n for n, s in SAMPLES.items() if s.offline} == {"grace_hopper", "waves", "mosaic"}
    assert "Praefcke" in SAMPLES["tubingen"].credit and "CC BY 3.0" in SAMPLES["tubingen"].credit
    with pytest.raises(ParameterError, match=r"mona_lisa.*tubingen"):
        load_sample("mona_lisa")


def test_a_mirror_replaces_the_pinned_address(monkeypatch):
    monkeypatch.delenv("NST_SAMPLES_URL")
    assert sample_url("shipwreck") == BASE_URL + "shipwreck.jpg"
    monkeypatch.setenv("NST_SAMPLES_URL", "http://mirror.example/images")
    assert sample_url("shipwreck") == "http://mirror.example/images/shipwreck.jpg"


def test_a_sample_is_downloaded_once_verified_and_readable_by_others(mirror, tmp_path):
    path = sample_path("starry_night")
    assert path.parent == tmp_path / "nst-cache" / "images"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SAMPLES["starry_night"].sha256
    assert stat.S_IMODE(path.stat().st_mode) & 0o044 == 0o044  # a class's shared cache
    assert sample_path("starry_night") == path and mirror == ["/starry_night.jpg"]
    assert load_sample("tubingen", size=64).shape == (1, 3, 48, 64)  # 1024×768, long side 64


def test_a_sample_in_a_shared_cache_is_used_as_it_is(mirror, tmp_path, monkeypatch):
    """A learner reads the instructor's cache: a file there that everyone can read is used without
    changing it (no chmod: the learner does not own it and could not)."""
    path = sample_path("starry_night")
    before = path.stat()

    def refuse(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr(os, "chmod", refuse)
    for umask in (0o022, 0o002):  # a class's usual umasks: group-writable or not
        old = os.umask(umask)
        try:
            assert sample_path("starry_night") == path
        finally:
            os.umask(old)
    assert path.stat().st_ctime_ns == before.st_ctime_ns and mirror == ["/starry_night.jpg"]


def test_a_damaged_file_from_a_mirror_is_refused_and_not_kept(tmp_path, monkeypatch):
    bad = tmp_path / "bad"
    bad.mkdir()
    data = bytearray((need_shared() / "the_scream.jpg").read_bytes())
    data[1000] ^= 0xFF
    (bad / "the_scream.jpg").write_bytes(bytes(data))
    httpd, hits = serve(bad)
    monkeypatch.setenv("NST_SAMPLES_URL", served_url(httpd))
    try:
        with pytest.raises(DownloadError, match=r"the_scream\.jpg") as info:
            sample_path("the_scream")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert "\n" not in str(info.value) and hits == ["/the_scream.jpg"]
    images = tmp_path / "nst-cache" / "images"
    assert not any(p.name.endswith("the_scream.jpg") for p in images.rglob("*"))


def test_offline_a_lesson_falls_back_to_an_offline_sample_with_one_warning(monkeypatch):
    monkeypatch.setenv("NST_SAMPLES_URL", closed_port_url())
    with pytest.warns(UserWarning, match="tubingen.*grace_hopper.*NST_SAMPLES_URL") as record:
        image, used = load_sample_or_fallback("tubingen", "grace_hopper", size=64)
    assert used == "grace_hopper" and max(image.shape[-2:]) == 64
    assert len(record) == 1 and "\n" not in str(record[0].message)
    with pytest.raises(ParameterError, match="starry_night"):
        load_sample_or_fallback("tubingen", "starry_night")


def test_a_sample_that_cannot_be_downloaded_says_which_setting_fixes_it(monkeypatch, capsys):
    """The command line and the API offline (every README example uses sample names), and the
    lessons' fallback warning says it once."""
    from nst_helpers.cli import main

    monkeypatch.setenv("NST_SAMPLES_URL", closed_port_url())
    with pytest.raises(DownloadError, match=r"the_scream\.jpg.*NST_SAMPLES_URL"):
        sample_path("the_scream")
    assert main(["stylize", "tubingen", "starry_night", "-o", "x.png", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "NST_SAMPLES_URL" in err
    with pytest.warns(UserWarning) as record:
        load_sample_or_fallback("tubingen", "grace_hopper", size=32)
    assert str(record[0].message).count("NST_SAMPLES_URL") == 1


def test_no_fallback_when_the_sample_can_be_had(mirror):
    image, used = load_sample_or_fallback("woman_with_hat", "waves", size=32)
    assert used == "woman_with_hat" and image.shape == (1, 3, 32, 24)  # 591×800 portrait


@pytest.mark.parametrize("name", ["waves", "mosaic"])
def test_the_generated_textures_are_coloured_deterministic_and_any_size(name):
    image = load_sample(name)
    assert image.shape == (1, 3, 512, 512) and image.dtype == torch.float32
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    assert float(image.std()) > 0.1 and float(image.mean(dim=(2, 3)).std()) > 0.01
    assert torch.equal(image, load_sample(name))
    assert load_sample(name, size=(96, 128)).shape == (1, 3, 96, 128)


def test_grace_hopper_needs_no_network(monkeypatch):
    monkeypatch.setenv("NST_SAMPLES_URL", closed_port_url())
    image = load_sample("grace_hopper", size=128)
    assert max(image.shape[2:]) == 128 and float(image.std()) > 0.1


def test_fetch_samples_downloads_every_paper_sample(mirror, capsys):
    from nst_helpers.cli import main

    assert main(["fetch-samples", "--quiet"]) == 0
    assert sorted(mirror) == sorted(f"/{SAMPLES[n].filename}" for n in PAPER)
    out = capsys.readouterr().out
    assert all(name in out for name in PAPER), out


def test_a_cached_sample_is_used_whatever_the_mirror_says_later(mirror, monkeypatch):
    path = sample_path("shipwreck")
    monkeypatch.setenv("NST_SAMPLES_URL", closed_port_url())  # offline, or another mirror
    assert sample_path("shipwreck") == path and mirror == ["/shipwreck.jpg"]
