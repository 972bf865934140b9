"""A class on the course's hub, at once and measured (INSTRUCTORS.md, "A lab on one server").

    python hub/loadtest.py --learners 8 --profile quick                 # lessons 00-03
    python hub/loadtest.py --learners 4 --profile quick --lessons 04    # one lesson, 4 at once

Starts hub/jupyterhub_config.py on 127.0.0.1 (free ports, a fresh state folder, the course
spawner) with its course cache filled once: VGG19 as a features-only file (``--weights``; by
default random weights made here, the same tensors as the real ones) and the sample images from a
loopback server of a mirror folder (``--samples``; without one the lessons use their offline
samples). It creates the learners through the hub's REST API, starts their servers and has every
learner run the lessons at the same time, each in their own copy (``~/lessons``) through their
own server's API, with their own token: a session per lesson (a kernel in the learner's folder),
each code cell executed over the kernel's websocket, the executed notebook saved back. Then all
kernels load the weights at the same moment, one learner's kernel is stopped, and the checks of
``CHECKS`` run on what was recorded: each learner's wall time, each kernel's peak memory, the
course cache before and after. The hub and every server are stopped on the way out, even on
failure. Prints a table and the failed checks; writes JSON (``--output``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import course_hub as course
import nbformat
import psutil
from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

SAMPLES = course.ROOT.parent / "shared" / "sample-images"  # test data beside the repository
LESSONS = {p.name[:2]: p.name for p in (course.ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}

# Run in each lesson's kernel once it has run (names start with _nst_ to stay out of the way).
PROBE = """
import hashlib as _nst_h, json as _nst_j, os as _nst_o, resource as _nst_r, torch as _nst_t
def _nst_digest(model):
    h = _nst_h.sha256()
    for key, value in model.state_dict().items():
        h.update(key.encode()); h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
print(_nst_j.dumps({
    "cwd": _nst_o.getcwd(), "home": _nst_o.environ.get("HOME"),
    "user": _nst_o.environ.get("JUPYTERHUB_USER"), "threads": _nst_t.get_num_threads(),
    "peak_mb": round(_nst_r.getrusage(_nst_r.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "cpu_s": round(sum(_nst_r.getrusage(_nst_r.RUSAGE_SELF)[:2]), 1),
    "rlimit_data": _nst_r.getrlimit(_nst_r.RLIMIT_DATA)[0],
    "env": {k: _nst_o.environ.get(k) for k in ("TORCH_HOME", "NST_CACHE_DIR", "NST_WEIGHTS")},
    "read_only": _nst_o.environ.get("NST_READONLY_DONE") == "1",
    "vgg": _nst_digest(vgg) if "vgg" in globals() else None,
}))
"""
# Run in every learner's last kernel at the same moment: load the weights, read the file whole,
# find a sample, allocate past the memory limit, and (where the hub made the cache read-only)
# try to write into the cache.
BURST = """
import warnings as _nst_w
from nst_helpers.samples import sample_path as _nst_sample
from nst_helpers.vgg import load_vgg19 as _nst_load
_nst_file = _nst_o.environ["NST_WEIGHTS"]
_nst_model = _nst_load(_nst_file, device="cpu")
try:
    _nst_where = str(_nst_sample("tubingen"))
except Exception as e:
    _nst_where = f"error: {{e}}"
try:
    _nst_t.empty({limit}, dtype=_nst_t.uint8) if {limit} else None
    _nst_refused = False
except RuntimeError:
    _nst_refused = True
_nst_write = "not tried: the cache is not read-only here"
if _nst_o.environ.get("NST_READONLY_DONE") == "1":
    try:
        open(_nst_o.path.join(_nst_o.environ["NST_CACHE_DIR"], "written-by-a-learner"), "x").close()
        _nst_write = "written"
    except OSError as e:
        _nst_write = f"refused: {{e.strerror}}"
print(_nst_j.dumps({{
    "loaded": _nst_digest(_nst_model), "write": _nst_write,
    "file": _nst_h.sha256(open(_nst_file, "rb").read()).hexdigest(),
    "sample": _nst_where, "refused_past_limit": _nst_refused,
}}))
"""


@dataclass
class Options:
    learners: int = 2
    profile: str = "smoke"
    lessons: tuple[str, ...] = ("00", "01", "02", "03")
    weights: Path | None = None  # a VGG19 weights file for the cache (None: random, made here)
    samples: Path | None = field(default_factory=lambda: SAMPLES if SAMPLES.is_dir() else None)
    mem_limit: str = "2G"
    cell_timeout: float = 600
    log: Path | None = None  # where to copy the hub's log


@dataclass
class Hub:
    url: str
    token: str
    password: str
    state: Path
    cache: Path
    homes: Path
    missing: list[str]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(folder: Path | None) -> Iterator[str]:
    """A loopback HTTP server of ``folder`` (its address), or a closed port when None."""
    if folder is None:
        yield f"http://127.0.0.1:{free_port()}/"
        return

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def random_features(path: Path) -> Path:
    """A features-only VGG19 file with seeded random weights (the real ones need the internet)."""
    import warnings

    import torch

    from nst_helpers.vgg import load_vgg19

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.save(load_vgg19("random", device="cpu").features.state_dict(), path)
    return path


def snapshot(folder: Path) -> dict[str, list]:
    """Every entry under ``folder``: mode, size, mtime and ctime (ns), and a file's SHA-256."""
    entries = {}
    for path in [folder, *sorted(folder.rglob("*"))]:
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        entries[str(path.relative_to(folder))] = [
            st.st_mode,
            st.st_size if digest else 0,
            st.st_mtime_ns,
            st.st_ctime_ns,
            digest,
        ]
    return entries


@contextlib.contextmanager
def running_hub(opts: Options, workdir: Path) -> Iterator[Hub]:
    """The course's hub on 127.0.0.1 with a filled course cache; stopped with every server and
    kernel it started (each by its process id) on the way out."""
    state, token, password = workdir / "state", secrets.token_hex(32), secrets.token_urlsafe(12)
    cache, homes = state / "cache", state / "homes"
    weights = opts.weights or random_features(workdir / "random-features.pth")
    with serving(opts.samples) as mirror:
        missing = course.fill_cache(cache, str(weights), mirror)
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("NST_WEIGHTS", "TORCH_HOME", "NST_CACHE_DIR", "NST_LANG")
    }
    env.update(
        NST_HUB_DIR=str(state),
        NST_HUB_CACHE=str(cache),
        NST_HUB_HOMES=str(homes),
        NST_HUB_IP="127.0.0.1",
        NST_HUB_PORT=str(port),
        NST_HUB_API_PORT=str(free_port()),
        NST_HUB_PROXY_API_PORT=str(free_port()),
        NST_HUB_SPAWNER="course",
        NST_HUB_API_TOKEN=token,
        NST_HUB_PASSWORD=password,
        NST_HUB_LEARNERS=str(opts.learners),
        NST_HUB_MEM_LIMIT=opts.mem_limit,
        NST_PROFILE=opts.profile,
        # Learners never download: anything missing from the cache fails at once, offline.
        NST_SAMPLES_URL=f"http://127.0.0.1:{free_port()}/",
        NST_WEIGHTS_URL=f"http://127.0.0.1:{free_port()}/",
    )
    log = state / "hub.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(course.VENV_BIN / "jupyterhub"), "-f", str(course.HERE / "jupyterhub_config.py")],
            cwd=state,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    started: list[psutil.Process] = []
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while run_coroutine(status(f"{url}/hub/api/")) != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the hub did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield Hub(url, token, password, state, cache, homes, missing)
    finally:
        with contextlib.suppress(psutil.Error):  # the proxy, the servers and their kernels
            started = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGTERM)  # the hub stops every server, then itself
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        stop_all(started)
        if opts.log:
            opts.log.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(log, opts.log)


def stop_all(processes) -> None:
    """Terminate each process still running (psutil refuses a reused pid), then kill."""
    alive = [p for p in processes if p.is_running()]
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    for p in psutil.wait_procs(alive, timeout=10)[1]:
        with contextlib.suppress(psutil.Error):
            p.kill()


async def status(url: str) -> int:
    """The HTTP status of a GET (0: nothing answers)."""
    try:
        return (await fetch("GET", url, timeout=5)).code
    except OSError:
        return 0


async def fetch(
    method: str, url: str, token: str | None = None, body: Any = None, headers=None, **kwargs
):
    headers = {**(headers or {}), **({"Authorization": f"token {token}"} if token else {})}
    if body is not None and not isinstance(body, str):
        body, headers["Content-Type"] = json.dumps(body, default=json_default), "application/json"
    if method in ("POST", "PUT") and body is None:
        body = ""
    timeout = kwargs.pop("timeout", 120)
    return await AsyncHTTPClient().fetch(
        HTTPRequest(url, method, headers, body, request_timeout=timeout, **kwargs),
        raise_error=False,
    )


async def api(method: str, url: str, token: str, body: Any = None) -> Any:
    """A REST call (the hub's or a Jupyter server's): its JSON; an error names the call."""
    response = await fetch(method, url, token, body)
    if response.code >= 400 or response.code == 599:
        text = response.body.decode(errors="replace")[:500] if response.body else response.error
        raise RuntimeError(f"{method} {url}: {response.code} {text}")
    return json.loads(response.body) if response.body else None


class Kernel:
    """A kernel of a learner's server, driven over its websocket (Jupyter's message protocol)."""

    def __init__(self, server: str, token: str, session: dict, ws) -> None:
        self.server, self.token, self.session, self.ws = server, token, session, ws
        self.id = session["kernel"]["id"]
        self.messages = Session(username="loadtest")

    @classmethod
    async def start(cls, server: str, token: str, path: str) -> Kernel:
        """A session for notebook ``path`` (a new kernel in its folder), connected."""
        body = {"path": path, "type": "notebook", "name": path, "kernel": {"name": "python3"}}
        session = await api("POST", f"{server}/api/sessions", token, body)
        url = f"{server}/api/kernels/{session['kernel']['id']}/channels".replace("http", "ws", 1)
        request = HTTPRequest(url, headers={"Authorization": f"token {token}"})
        ws = await websocket_connect(request, max_message_size=2**28)
        kernel = cls(server, token, session, ws)
        await kernel.request("kernel_info_request", {}, timeout=120)
        return kernel

    async def request(self, msg_type: str, content: dict, timeout: float) -> tuple[list, dict]:
        """Send a shell request; collect its outputs until its reply and the kernel's idle."""
        msg = self.messages.msg(msg_type, content)
        msg["channel"] = "shell"
        await self.ws.write_message(json.dumps(msg, default=json_default))
        outputs, reply, idle = [], None, False
        deadline = time.monotonic() + timeout
        while reply is None or not idle:
            raw = await asyncio.wait_for(self.ws.read_message(), deadline - time.monotonic())
            if raw is None:
                raise ConnectionError(f"the websocket of kernel {self.id} closed")
            if isinstance(raw, bytes):  # a widget's binary buffers: not an output
                continue
            reply_msg = json.loads(raw)
            if reply_msg["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
                continue
            kind, body = reply_msg["msg_type"], reply_msg["content"]
            if reply_msg["channel"] == "shell":
                reply = body
            elif kind == "status":
                idle = body["execution_state"] == "idle"
            elif kind == "clear_output":
                outputs.clear()
            elif kind in ("stream", "display_data", "execute_result", "error"):
                outputs.append(nbformat.v4.output_from_msg(reply_msg))
        return outputs, reply

    async def execute(self, code: str, timeout: float = 600) -> tuple[list, dict]:
        content = {"code": code, "silent": False, "store_history": True, "allow_stdin": False}
        return await self.request("execute_request", {**content, "stop_on_error": True}, timeout)

    async def evaluate(self, code: str, timeout: float = 600) -> dict:
        """Run ``code`` (which prints one JSON line) and return what it printed."""
        outputs, reply = await self.execute(code, timeout)
        if reply["status"] != "ok":
            raise RuntimeError(f"probe failed: {reply.get('ename')}: {reply.get('evalue')}")
        text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
        return json.loads(text.strip().splitlines()[-1])

    async def close(self, shutdown: bool) -> None:
        self.ws.close()
        if shutdown:  # the learner closes the notebook: its kernel stops
            await api("DELETE", f"{self.server}/api/sessions/{self.session['id']}", self.token)


async def run_lesson(server: str, token: str, lesson: str, timeout: float) -> tuple[dict, Kernel]:
    """One learner runs one lesson in their own copy; its record and its (running) kernel."""
    path = f"lessons/{LESSONS[lesson]}"
    nb = nbformat.from_dict((await api("GET", f"{server}/api/contents/{path}", token))["content"])
    start = time.monotonic()
    kernel = await Kernel.start(server, token, path)
    errors, executed = [], 0
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        cell.outputs, reply = await kernel.execute(cell.source, timeout)
        cell.execution_count, executed = reply.get("execution_count"), executed + 1
        if reply["status"] != "ok":
            errors.append(f"{reply.get('ename')}: {reply.get('evalue')}")
            break
    seconds = time.monotonic() - start
    probe = await kernel.evaluate(PROBE)
    nb.metadata["nst_loadtest"] = {"learner": server.rsplit("/", 1)[-1]}
    body = {"type": "notebook", "format": "json", "content": nb}
    await api("PUT", f"{server}/api/contents/{path}", token, body)
    outputs = [len(c.outputs) for c in nb.cells if c.cell_type == "code"]
    code_cells = len(outputs)
    record = {"lesson": lesson, "seconds": round(seconds, 1), "cells": code_cells}
    return {**record, "executed": executed, "errors": errors, "outputs": outputs, **probe}, kernel


async def learner(hub: Hub, name: str, token: str, opts: Options) -> tuple[dict, Kernel]:
    """A learner works through the lessons in order, closing each one but the last."""
    server, lessons, start = f"{hub.url}/user/{name}", [], time.monotonic()
    for i, lesson in enumerate(opts.lessons):
        record, kernel = await run_lesson(server, token, lesson, opts.cell_timeout)
        lessons.append(record)
        if i < len(opts.lessons) - 1:
            await kernel.close(shutdown=True)
    return {"name": name, "wall_s": round(time.monotonic() - start, 1), "lessons": lessons}, kernel


async def logs_in(hub: Hub, name: str, password: str) -> bool:
    """Whether the login form accepts ``name`` with ``password`` (the hub's login cookie set)."""
    page = await fetch("GET", f"{hub.url}/hub/login")
    xsrf = next(v for v in page.headers.get_list("Set-Cookie") if v.startswith("_xsrf="))
    cookie = xsrf.split(";")[0]
    form = f"username={name}&password={password}&_xsrf={cookie.split('=', 1)[1]}"
    response = await fetch(
        "POST",
        f"{hub.url}/hub/login",
        body=form,
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    cookies = response.headers.get_list("Set-Cookie")
    return response.code == 302 and any(c.startswith("jupyterhub-hub-login=") for c in cookies)


async def run_class(hub: Hub, opts: Options) -> dict:
    """The class: learners created and started through the hub's API, the lessons run by all at
    once, the weights loaded by all at once, then one learner's kernel stopped."""
    AsyncHTTPClient.configure(None, max_clients=4 * opts.learners + 10)
    names = [f"learner-{i:02d}" for i in range(1, opts.learners + 1)]
    hub_api = f"{hub.url}/hub/api"
    await api("POST", f"{hub_api}/users", hub.token, {"usernames": names})
    await asyncio.gather(*(api("POST", f"{hub_api}/users/{n}/server", hub.token) for n in names))
    deadline = time.monotonic() + 300
    for name in names:  # a server starts in the background: wait until it is ready
        while True:
            server = (await api("GET", f"{hub_api}/users/{name}", hub.token))["servers"].get("")
            if server and server["ready"]:
                break
            if not server or time.monotonic() > deadline:
                raise RuntimeError(f"{name}'s server did not start: see the hub's log")
            await asyncio.sleep(0.5)
    tokens = {}
    for name in names:  # each learner's own token, for their own server only
        body = {"note": "load test", "expires_in": 7200, "scopes": [f"access:servers!user={name}"]}
        made = await api("POST", f"{hub_api}/users/{name}/tokens", hub.token, body)
        tokens[name] = made["token"]

    runs = await asyncio.gather(*(learner(hub, n, tokens[n], opts) for n in names))
    learners, kernels = [r[0] for r in runs], [r[1] for r in runs]
    limit = _bytes(opts.mem_limit)
    burst = await asyncio.gather(*(k.evaluate(BURST.format(limit=limit)) for k in kernels))

    # Stop the first learner's kernel; the others keep running, their state intact.
    first, others = kernels[0], kernels[1:]
    await api("DELETE", f"{first.server}/api/kernels/{first.id}", first.token)
    gone = (await fetch("GET", f"{first.server}/api/kernels/{first.id}", first.token)).code == 404
    alive = []
    for k in others:
        model = await api("GET", f"{k.server}/api/kernels/{k.id}", k.token)
        outputs, reply = await k.execute("print(len(_nst_model.state_dict()))", 120)
        alive.append(reply["status"] == "ok" and model["execution_state"] in ("idle", "busy"))
    for k in kernels:
        k.ws.close()
    saved = []
    for name, record in zip(names, learners, strict=True):
        for lesson in record["lessons"]:
            url = f"{hub.url}/user/{name}/api/contents/lessons/{LESSONS[lesson['lesson']]}"
            nb = (await api("GET", url, tokens[name]))["content"]
            outputs = [len(c["outputs"]) for c in nb["cells"] if c["cell_type"] == "code"]
            saved.append([name, nb["metadata"].get("nst_loadtest", {}).get("learner"), outputs])
    other = f"{hub.url}/user/{names[-1]}/api/status"  # the last learner's server
    # the first learner's token there (with one learner, nobody else's server to try)
    cross = (await fetch("GET", other, tokens[names[0]])).code if len(names) > 1 else 403
    return {
        "learners": learners,
        "burst": burst,
        "stopped_kernel_gone": gone,
        "other_kernels_alive": alive,
        "saved": saved,
        "servers_rss_mb": servers_rss(names),
        "token_on_another_server": cross,
        "token_on_own_server": (await fetch("GET", other, tokens[names[-1]])).code,
        "login_with_password": await logs_in(hub, names[0], hub.password),
        "login_with_wrong_password": await logs_in(hub, names[0], hub.password + "x"),
    }


def servers_rss(names: list[str]) -> dict[str, float]:
    """Each learner's Jupyter server's resident memory now (its kernels not counted)."""
    found = {}
    for p in psutil.process_iter(["cmdline", "environ"]):
        with contextlib.suppress(psutil.Error, TypeError):
            if "jupyterhub-singleuser" in " ".join(p.info["cmdline"] or []):
                user = (p.info["environ"] or {}).get("JUPYTERHUB_USER")
                if user in names:
                    found[user] = round(p.memory_info().rss / 2**20, 1)
    return found


def _bytes(size: str) -> int:
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    return int(float(size[:-1]) * units[size[-1]]) if size[-1] in units else int(size)


def weights_digests(path: Path) -> dict[str, str]:
    """The SHA-256 of a weights file, and of the model ``load_vgg19`` makes of it (as PROBE)."""
    from nst_helpers.vgg import load_vgg19

    model = load_vgg19(str(path), device="cpu")
    h = hashlib.sha256()
    for key, value in model.state_dict().items():
        h.update(key.encode())
        h.update(value.detach().contiguous().numpy().tobytes())
    return {"file": hashlib.sha256(path.read_bytes()).hexdigest(), "loaded": h.hexdigest()}


def machine() -> dict:
    import torch

    model = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line),
        "?",
    )
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": model,
        "cores": course.cores(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "torch": torch.__version__,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


T = TypeVar("T")


def run_coroutine(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` in a thread of its own: the caller's thread may already run an event loop
    (pytest after Playwright's sync API, a notebook), where ``asyncio.run`` refuses."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as e:  # re-raised in the caller's thread
            result["error"] = e

    thread = threading.Thread(target=target, name="loadtest")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def run(opts: Options) -> dict:
    """Start the hub, run the class, stop everything; the report (see ``CHECKS``)."""
    unknown = [lesson for lesson in opts.lessons if lesson not in LESSONS]
    if unknown:
        raise ValueError(f"no lesson {unknown}; there are {sorted(LESSONS)}")
    workdir = Path(tempfile.mkdtemp(prefix="nst-hub-"))
    try:
        report = {"machine": machine(), "options": {**vars(opts)}}
        with running_hub(opts, workdir) as hub:
            before = snapshot(hub.cache)
            expected = weights_digests(Path(course.learner_environment(hub.cache)["NST_WEIGHTS"]))
            start = time.monotonic()
            report.update(run_coroutine(run_class(hub, opts)))
            report["class_wall_s"] = round(time.monotonic() - start, 1)
            report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
            report["cache"] = {
                "path": str(hub.cache),
                "missing": hub.missing,
                "before": before,
                "after": snapshot(hub.cache),
            }
            report["expected"] = {
                **expected,
                "threads": course.threads_per_learner(opts.learners),
                "rlimit_data": _bytes(opts.mem_limit),
                "homes": str(hub.homes),
            }
        return json.loads(json.dumps(report, default=str))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --- The checks: each returns what is wrong (nothing: it holds) --------------------------------


def lessons_ran_without_error(r: dict) -> list[str]:
    return [
        f"{x['name']} {lesson['lesson']}: {lesson['errors'] or 'cells not all run'}"
        for x in r["learners"]
        for lesson in x["lessons"]
        if lesson["errors"] or lesson["executed"] != lesson["cells"]
    ]


def outputs_do_not_collide(r: dict) -> list[str]:
    """Each kernel ran in its learner's own folder; each saved notebook is theirs, intact."""
    wrong = []
    homes = r["expected"]["homes"]
    for x in r["learners"]:
        home = f"{homes}/{x['name']}"
        for lesson in x["lessons"]:
            seen = (lesson["cwd"], lesson["home"], lesson["user"])
            if seen != (f"{home}/lessons", home, x["name"]):
                wrong.append(f"{x['name']} {lesson['lesson']} ran as {seen}")
    produced = {
        (x["name"], i): lesson["outputs"]
        for x in r["learners"]
        for i, lesson in enumerate(x["lessons"])
    }
    counts: dict[str, int] = {}
    for name, marker, outputs in r["saved"]:
        i = counts[name] = counts.get(name, -1) + 1
        if marker != name or outputs != produced[(name, i)]:
            wrong.append(f"{name}'s saved lesson {i} holds {marker}'s or other outputs")
    return wrong


def cache_never_written(r: dict) -> list[str]:
    """No file of the course cache changed (bytes, mode, mtime), none came or went; while the
    cache is complete, no folder changed either (not even a temporary file made and removed)."""
    before, after, complete = r["cache"]["before"], r["cache"]["after"], not r["cache"]["missing"]
    wrong = [f"appeared: {p}" for p in after.keys() - before.keys()]
    wrong += [f"removed: {p}" for p in before.keys() - after.keys()]
    for path in before.keys() & after.keys():
        (mode, size, mtime, _, digest), now = before[path], after[path]
        if [mode, size, digest] != [now[0], now[1], now[4]] or (
            mtime != now[2] and (digest or complete)
        ):
            wrong.append(f"changed: {path}")
    return wrong


def cache_metadata_untouched(r: dict) -> list[str]:
    """Not even a file's metadata (ctime: chmod, chown) changed."""
    before, after = r["cache"]["before"], r["cache"]["after"]
    both = before.keys() & after.keys()
    return [f"{p}: ctime changed" for p in sorted(both) if before[p][3] != after[p][3]]


def cache_read_only_for_learners(r: dict) -> list[str]:
    """Where the hub may (as root), a learner's attempt to write into the cache is refused."""
    written = [i for i, b in enumerate(r["burst"]) if b["write"] == "written"]
    return [f"kernel {i}: a file written into the cache" for i in written]


def cache_readable_by_everyone(r: dict) -> list[str]:
    """Files 0644, folders 0755: everybody reads, only the instructor writes."""
    return [
        f"{path}: {oct(v[0])}"
        for path, v in r["cache"]["after"].items()
        if (v[0] & 0o777) != (0o644 if v[4] else 0o755)
    ]


def every_kernel_got_the_same_complete_weights(r: dict) -> list[str]:
    e = r["expected"]
    wrong = [
        f"{x['name']} {lesson['lesson']}: other weights"
        for x in r["learners"]
        for lesson in x["lessons"]
        if lesson["vgg"] not in (None, e["loaded"])
    ]
    return wrong + [
        f"kernel {i}: {b['loaded'][:12]}/{b['file'][:12]}"
        for i, b in enumerate(r["burst"])
        if (b["loaded"], b["file"]) != (e["loaded"], e["file"])
    ]


def learners_read_the_course_cache(r: dict) -> list[str]:
    cache, complete = r["cache"]["path"], not r["cache"]["missing"]
    wrong = [
        f"{x['name']} {lesson['lesson']}: {key}={value}"
        for x in r["learners"]
        for lesson in x["lessons"]
        for key, value in lesson["env"].items()
        if not (value or "").startswith(cache)
    ]
    return wrong + [
        f"kernel {i}: sample {b['sample']}"
        for i, b in enumerate(r["burst"])
        if complete and not b["sample"].startswith(f"{cache}/")
    ]


def threads_and_memory_limit(r: dict) -> list[str]:
    e = r["expected"]
    wrong = [
        f"{x['name']} {lesson['lesson']}: {lesson['threads']} threads, RLIMIT_DATA "
        f"{lesson['rlimit_data']}"
        for x in r["learners"]
        for lesson in x["lessons"]
        if (lesson["threads"], lesson["rlimit_data"]) != (e["threads"], e["rlimit_data"])
    ]
    return wrong + [
        f"kernel {i}: an allocation past the limit was not refused"
        for i, b in enumerate(r["burst"])
        if not b["refused_past_limit"]
    ]


def stopping_one_kernel_touches_no_other(r: dict) -> list[str]:
    wrong = [] if r["stopped_kernel_gone"] else ["the stopped kernel is still there"]
    alive = r["other_kernels_alive"]
    return wrong + [f"learner {i + 2}'s kernel died" for i, ok in enumerate(alive) if not ok]


def hub_access(r: dict) -> list[str]:
    """A learner's token opens their own server only; the class password opens the hub."""
    wrong = []
    if r["token_on_another_server"] != 403 or r["token_on_own_server"] != 200:
        wrong.append(f"tokens: {r['token_on_another_server']}, {r['token_on_own_server']}")
    if not r["login_with_password"] or r["login_with_wrong_password"]:
        wrong.append("the class password is not what opens the hub")
    return wrong


CHECKS = {
    f.__name__: f
    for f in (
        lessons_ran_without_error,
        outputs_do_not_collide,
        cache_never_written,
        cache_metadata_untouched,
        cache_read_only_for_learners,
        cache_readable_by_everyone,
        every_kernel_got_the_same_complete_weights,
        learners_read_the_course_cache,
        threads_and_memory_limit,
        stopping_one_kernel_touches_no_other,
        hub_access,
    )
}


def table(r: dict) -> str:
    """Each learner's wall time and, per lesson, its seconds, its kernel's CPU seconds and peak
    memory."""
    m = r["machine"]
    lines = [
        f"{r['options']['learners']} learners, profile {r['options']['profile']}, "
        f"{r['expected']['threads']} thread(s) each; {m['cores']} cores, {m['memory_gb']} GB, "
        f"{m['cpu']}, torch {m['torch']}; load {m['load_average']} -> {r['load_average_after']}",
        "learner       wall s  " + "  ".join(f"{x['lesson']}: s / CPU s / peak MB".ljust(28)
                                             for x in r["learners"][0]["lessons"]),
    ]  # fmt: skip
    for x in r["learners"]:
        cells = "  ".join(
            f"{y['seconds']:>7.1f} / {y.get('cpu_s', 0):>7.1f} / {y['peak_mb']:<7.0f}"
            for y in x["lessons"]
        )
        lines.append(f"{x['name']:<12} {x['wall_s']:>7.1f}  {cells}")
    lines.append(f"servers' memory (MB): {r['servers_rss_mb']}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=8, help="learners at once (default 8)")
    parser.add_argument("--profile", default="quick", help="NST_PROFILE of the lessons")
    parser.add_argument(
        "--lessons", nargs="+", default=["00", "01", "02", "03"], help="lessons run, in order"
    )
    parser.add_argument("--weights", type=Path, help="a VGG19 weights file (default: random)")
    parser.add_argument(
        "--samples", type=Path, default=Options().samples, help="the paper's images (a folder)"
    )
    parser.add_argument("--mem-limit", default="2G", help="memory per learner (default 2G)")
    parser.add_argument("--output", type=Path, help="JSON report (default test-output/hub/)")
    args = parser.parse_args()
    out = args.output or course.ROOT / "test-output" / "hub" / (
        f"class-{args.learners}x{args.profile}-{'-'.join(args.lessons)}.json"
    )
    opts = Options(
        args.learners,
        args.profile,
        tuple(args.lessons),
        args.weights,
        args.samples,
        args.mem_limit,
        cell_timeout=7200,
        log=out.with_suffix(".log"),
    )
    report = run(opts)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(table(report))
    failed = {name: check(report) for name, check in CHECKS.items() if check(report)}
    for name, wrong in failed.items():
        print(f"FAILED {name}: {'; '.join(wrong[:5])}")
    print(f"wrote {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
