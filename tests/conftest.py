"""Shared fixtures. No test touches the internet or the user's caches."""

from __future__ import annotations

import functools
import socket
import threading
import warnings
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

import nst_helpers as nst


def closed_port_url(path: str = "file") -> str:
    """An http address on 127.0.0.1 where nothing listens: a download there fails at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/{path}"


def serve(folder: Path) -> tuple[ThreadingHTTPServer, list[str]]:
    """Serve ``folder`` on 127.0.0.1 (a free port) in a thread; return the server and the paths
    asked for. Stop it with ``.shutdown()`` and ``.server_close()``."""
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


def served_url(httpd: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}/"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """Caches in a temporary folder; any weights or sample download aimed at a closed loopback
    port (so it fails at once, never touching the internet)."""
    monkeypatch.setenv("NST_CACHE_DIR", str(tmp_path / "nst-cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("NST_WEIGHTS_URL", closed_port_url("weights"))
    monkeypatch.setenv("NST_SAMPLES_URL", closed_port_url("samples/"))
    for name in ("NST_WEIGHTS", "NST_PROFILE", "NST_LANG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def vgg() -> nst.VGG19Features:
    """VGG19 with seeded random weights (the real ones cannot be downloaded here), on the CPU."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nst.load_vgg19("random", device="cpu")


@pytest.fixture(scope="session")
def vgg_avg() -> nst.VGG19Features:
    """The same random weights with average pooling (the paper's choice)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nst.load_vgg19("random", pooling="avg", device="cpu")


def smooth_image(h: int, w: int, seed: int) -> torch.Tensor:
    """A deterministic, smooth test image [1, 3, h, w] in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, max(2, h // 8), max(2, w // 8), generator=g)
    return torch.nn.functional.interpolate(
        coarse, size=(h, w), mode="bilinear", align_corners=False
    )


@pytest.fixture
def content() -> torch.Tensor:
    return smooth_image(32, 40, seed=1)


@pytest.fixture
def style() -> torch.Tensor:
    return smooth_image(48, 32, seed=2)
