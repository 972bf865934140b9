"""download_file: verified, complete and atomic downloads (against a loopback server only)."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nst_helpers import download
from nst_helpers.download import NETWORK_TIMEOUT, download_file, file_sha256
from nst_helpers.errors import DownloadError

REPO = Path(__file__).resolve().parents[1]
PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(BaseHTTPRequestHandler):
    """Serves PAYLOAD in several ways, chosen by the path; counts requests per path."""

    def log_message(self, format: str, *args: object) -> None:  # keep the test output quiet
        pass

    def _headers(self, length: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def do_GET(self) -> None:
        server = self.server
        with server.lock:
            server.hits[self.path] = server.hits.get(self.path, 0) + 1
        try:
            if self.path == "/good.bin":
                self._headers(len(PAYLOAD))
                self.wfile.write(PAYLOAD)
            elif self.path == "/drop.bin":  # promises everything, sends half, hangs up
                self._headers(len(PAYLOAD))
                self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
                self.wfile.flush()
                self.close_connection = True
            elif self.path == "/slow.bin":  # 1 MiB in about one second
                self._headers(len(PAYLOAD))
                for start in range(0, len(PAYLOAD), 8192):
                    if server.stopping.is_set():
                        return
                    self.wfile.write(PAYLOAD[start : start + 8192])
                    self.wfile.flush()
                    time.sleep(0.008)
            elif self.path == "/stall.bin":  # headers, then nothing
                self._headers(len(PAYLOAD))
                self.wfile.flush()
                server.stopping.wait(10)
            else:
                self.send_error(404)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (killed or gave up): expected in some tests


@pytest.fixture
def server():
    """A threaded HTTP server on 127.0.0.1 (random port); yields its base URL and the server."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.hits = {}
    httpd.lock = threading.Lock()
    httpd.stopping = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd
    httpd.stopping.set()
    httpd.shutdown()
    httpd.server_close()


def closed_port() -> int:
    """A local port with nothing listening on it (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_network_timeout_is_a_number() -> None:
    assert isinstance(NETWORK_TIMEOUT, float)
    assert NETWORK_TIMEOUT > 0


def test_file_sha256(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(PAYLOAD)
    assert file_sha256(path) == PAYLOAD_SHA


def test_correct_download(server, tmp_path: Path) -> None:
    url, _ = server
    dest = tmp_path / "sub" / "good.bin"
    result = download_file(f"{url}/good.bin", dest, sha256=PAYLOAD_SHA, progress=False)
    assert result == dest
    assert dest.read_bytes() == PAYLOAD
    assert os.listdir(dest.parent) == ["good.bin"]  # no temporary file left


def test_hash_prefix_convention(server, tmp_path: Path) -> None:
    url, _ = server
    dest = tmp_path / "good.bin"
    download_file(f"{url}/good.bin", dest, hash_prefix=PAYLOAD_SHA[:8], progress=False)
    assert file_sha256(dest) == PAYLOAD_SHA
    with pytest.raises(DownloadError, match="starting with 00000000"):
        download_file(
            f"{url}/good.bin", tmp_path / "other.bin", hash_prefix="00000000", progress=False
        )
    assert sorted(os.listdir(tmp_path)) == ["good.bin"]


def test_sha256_mismatch_leaves_nothing(server, tmp_path: Path) -> None:
    url, _ = server
    wrong = "0" * 64
    dest = tmp_path / "good.bin"
    with pytest.raises(DownloadError) as info:
        download_file(f"{url}/good.bin", dest, sha256=wrong, progress=False)
    message = str(info.value)
    assert f"{url}/good.bin" in message
    assert str(dest) in message
    assert wrong in message
    assert PAYLOAD_SHA in message
    assert os.listdir(tmp_path) == []


def test_connection_dropped_halfway_is_detected(server, tmp_path: Path) -> None:
    url, _ = server
    dest = tmp_path / "drop.bin"
    with pytest.raises(DownloadError, match="incomplete"):
        download_file(f"{url}/drop.bin", dest, progress=False)
    assert os.listdir(tmp_path) == []


def test_expected_size_is_checked(server, tmp_path: Path) -> None:
    url, _ = server
    with pytest.raises(DownloadError, match="expected"):
        download_file(f"{url}/good.bin", tmp_path / "g.bin", expected_size=10, progress=False)
    assert os.listdir(tmp_path) == []


def test_http_error(server, tmp_path: Path) -> None:
    url, _ = server
    with pytest.raises(DownloadError, match="404"):
        download_file(f"{url}/missing.bin", tmp_path / "m.bin", progress=False)
    assert os.listdir(tmp_path) == []


def test_connection_refused_fails_fast(tmp_path: Path) -> None:
    start = time.monotonic()
    with pytest.raises(DownloadError, match="refused"):
        download_file(f"http://127.0.0.1:{closed_port()}/x.bin", tmp_path / "x.bin", progress=False)
    assert time.monotonic() - start < 5
    assert os.listdir(tmp_path) == []


def test_stalled_server_times_out(server, tmp_path: Path) -> None:
    url, _ = server
    start = time.monotonic()
    with pytest.raises(DownloadError, match="timed out"):
        download_file(f"{url}/stall.bin", tmp_path / "s.bin", timeout=0.5, progress=False)
    assert time.monotonic() - start < 5
    assert os.listdir(tmp_path) == []


def test_existing_verified_file_is_not_downloaded_again(server, tmp_path: Path) -> None:
    url, httpd = server
    dest = tmp_path / "good.bin"
    download_file(f"{url}/good.bin", dest, sha256=PAYLOAD_SHA, progress=False)
    download_file(f"{url}/good.bin", dest, sha256=PAYLOAD_SHA, progress=False)
    assert httpd.hits["/good.bin"] == 1


def test_existing_damaged_file_is_replaced(server, tmp_path: Path) -> None:
    url, httpd = server
    dest = tmp_path / "good.bin"
    dest.write_bytes(b"damaged")
    download_file(f"{url}/good.bin", dest, sha256=PAYLOAD_SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert httpd.hits["/good.bin"] == 1


def test_keyboard_interrupt_cleans_up(server, tmp_path: Path, monkeypatch) -> None:
    class InterruptingBar:
        """Stands in for tqdm and presses Ctrl-C after the first block."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def __enter__(self) -> InterruptingBar:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def update(self, n: int) -> None:
            raise KeyboardInterrupt

    monkeypatch.setattr(download, "tqdm", InterruptingBar)
    url, _ = server
    with pytest.raises(KeyboardInterrupt):
        download_file(f"{url}/good.bin", tmp_path / "good.bin")
    assert os.listdir(tmp_path) == []


def test_concurrent_threads_same_dest(server, tmp_path: Path) -> None:
    url, _ = server
    dest = tmp_path / "slow.bin"
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            download_file(f"{url}/slow.bin", dest, sha256=PAYLOAD_SHA, progress=False)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert file_sha256(dest) == PAYLOAD_SHA
    assert os.listdir(tmp_path) == ["slow.bin"]


# The child imports nst_helpers.download without running the package's __init__ (which imports
# torch and would take seconds): a bare package module pointing at the source folder.
CHILD_CODE = """
import sys, types
package = types.ModuleType("nst_helpers")
package.__path__ = [sys.argv[3]]
sys.modules["nst_helpers"] = package
from nst_helpers.download import download_file
download_file(sys.argv[1], sys.argv[2], progress=False)
"""


def _child(url: str, dest: Path) -> subprocess.Popen:
    """Start another Python process that downloads ``url`` to ``dest``."""
    args = [sys.executable, "-c", CHILD_CODE, url, str(dest), str(REPO / "nst_helpers")]
    return subprocess.Popen(args, cwd=REPO)


def test_concurrent_processes_same_dest(server, tmp_path: Path) -> None:
    url, _ = server
    dest = tmp_path / "slow.bin"
    children = [_child(f"{url}/slow.bin", dest) for _ in range(2)]
    assert [c.wait(30) for c in children] == [0, 0]
    assert file_sha256(dest) == PAYLOAD_SHA
    assert os.listdir(tmp_path) == ["slow.bin"]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_killed_process_leaves_no_final_file(server, tmp_path: Path) -> None:
    url, _ = server
    dest = tmp_path / "slow.bin"
    child = _child(f"{url}/slow.bin", dest)
    deadline = time.monotonic() + 15
    while not any(p.name.endswith(".part") for p in tmp_path.iterdir()):  # download under way
        assert child.poll() is None, "the child ended before it started downloading"
        assert time.monotonic() < deadline, "the child never started downloading"
        time.sleep(0.02)
    if download.fcntl is not None:  # the running download holds its temporary file
        (part,) = (p for p in tmp_path.iterdir() if p.name.endswith(".part"))
        with open(part, "rb") as f, pytest.raises(BlockingIOError):
            download.fcntl.flock(f, download.fcntl.LOCK_EX | download.fcntl.LOCK_NB)
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    assert not dest.exists()
    leftovers = list(tmp_path.iterdir())
    for leftover in leftovers:  # only a recognisable temporary file may remain
        assert leftover.name.startswith(".slow.bin.")
        assert leftover.name.endswith(download.TEMP_SUFFIX)
    # The next download of the same file removes what the killed one left, once it is stale.
    download_file(f"{url}/good.bin", dest, sha256=PAYLOAD_SHA, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["slow.bin", *(p.name for p in leftovers)]
    )  # not yet: it might be a download that is still running
    dest.unlink()
    for leftover in leftovers:
        os.utime(leftover, (time.time() - 3600, time.time() - 3600))
    download_file(f"{url}/good.bin", dest, sha256=PAYLOAD_SHA, progress=False)
    assert os.listdir(tmp_path) == ["slow.bin"]


@pytest.mark.skipif(download.fcntl is None, reason="needs flock (POSIX)")
def test_a_running_download_keeps_its_temporary_file(server, tmp_path: Path) -> None:
    url, _ = server
    dest = tmp_path / "good.bin"
    live = tmp_path / f".good.bin.0123456789ab{download.TEMP_SUFFIX}"
    with open(live, "wb") as f:
        download.fcntl.flock(f, download.fcntl.LOCK_EX)  # as a download in progress holds it
        os.utime(live, (time.time() - 3600, time.time() - 3600))  # no data for an hour
        download_file(f"{url}/good.bin", dest, sha256=PAYLOAD_SHA, progress=False)
        assert sorted(os.listdir(tmp_path)) == [live.name, "good.bin"]
