"""Binder / repo2docker: the image's requirements agree with the root ones, postBuild bakes the
weights and sample images (run here in a fresh venv, offline), start sets the environment."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import pytest
import torch
from packaging.requirements import Requirement
from packaging.version import Version

from nst_helpers import load_vgg19

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
SHARED_IMAGES = ROOT.parent / "shared" / "sample-images"


def read_requirements(path: Path) -> dict[str, Requirement]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            req = Requirement(line)
            found[req.name.lower()] = req
    return found


def test_binder_requirements_agree_with_the_root_ones():
    root = read_requirements(ROOT / "requirements.txt")
    binder = read_requirements(BINDER / "requirements.txt")
    assert set(root) == set(binder)
    for name, req in binder.items():
        pins = [s.version for s in req.specifier if s.operator == "=="]
        if pins:  # a pinned CPU wheel must satisfy the root range (ignoring the +cpu label)
            version = Version(pins[0]).public
            assert root[name].specifier.contains(version), f"{name} {version} vs {root[name]}"
        else:
            assert req.specifier == root[name].specifier, f"{name}: {req} vs {root[name]}"


def test_binder_uses_cpu_only_torch_and_is_self_contained():
    text = (BINDER / "requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text
    reqs = read_requirements(BINDER / "requirements.txt")
    assert str(reqs["torch"].specifier).endswith("+cpu")
    assert str(reqs["torchvision"].specifier).endswith("+cpu")
    options = [line for line in text.splitlines() if line.startswith("-")]
    assert not [o for o in options if o.startswith(("-e", "-r", "--editable", "--requirement"))]
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"


def test_start_sets_the_cache_and_threads_then_runs_the_command(tmp_path):
    env = {**os.environ, "NB_PYTHON_PREFIX": str(tmp_path)}
    env.pop("NST_CACHE_DIR", None)
    env.pop("OMP_NUM_THREADS", None)
    out = subprocess.run(
        [
            "bash",
            str(BINDER / "start"),
            sys.executable,
            "-c",
            "import os; print(os.environ['NST_CACHE_DIR']); print(os.environ['OMP_NUM_THREADS'])",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[0] == str(tmp_path / "share" / "nst_helpers")
    assert int(out[1]) >= 1


@pytest.fixture
def sample_server():
    if not SHARED_IMAGES.is_dir():
        pytest.skip(f"{SHARED_IMAGES} is not present")
    handler = functools.partial(_Quiet, directory=str(SHARED_IMAGES))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_postbuild_bakes_weights_and_samples_in_a_fresh_venv_offline(tmp_path, sample_server):
    """postBuild's steps, as repo2docker runs them, with a synthetic weights file already in a
    torch hub cache and a loopback server standing in for the internet; then start's settings
    make a fresh process load the baked weights and find the baked samples."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    torch_home = tmp_path / "torch-home"
    hub = torch_home / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    hub.parent.mkdir(parents=True)
    state = load_vgg19("random", device="cpu").features.state_dict()
    torch.save({f"features.{k}": v for k, v in state.items()}, hub)
    prefix = tmp_path / "prefix"
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        # torch & co. come from the test environment; the package itself from postBuild's install
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "HOME": str(tmp_path / "home"),
        "NB_PYTHON_PREFIX": str(prefix),
        "TORCH_HOME": str(torch_home),
        "NST_SAMPLES_URL": sample_server,
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env.pop("NST_CACHE_DIR", None)
    env.pop("NST_WEIGHTS", None)
    scratch_copy = tmp_path / "repo"
    ignore = shutil.ignore_patterns(".venv", ".git", "*.egg-info", "__pycache__", "test-output")
    shutil.copytree(ROOT, scratch_copy, ignore=ignore)
    proc = subprocess.run(["bash", "binder/postBuild"], cwd=scratch_copy, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cache = prefix / "share" / "nst_helpers"
    baked = cache / "vgg19-features.pth"
    assert baked.is_file() and 79e6 < baked.stat().st_size < 81e6
    for image in SHARED_IMAGES.glob("*.jpg"):
        cached = next((cache / "images").glob(f"*{image.name}"))
        assert (
            hashlib.sha256(cached.read_bytes()).digest()
            == hashlib.sha256(image.read_bytes()).digest()
        )
    # at launch, start points the package at them: no download, no network
    code = "import nst_helpers as nst; v = nst.load_vgg19(nst.profile().weights, device='cpu');"
    code += "print(v.network, nst.load_sample('tubingen').shape)"
    offline = {**env, "NST_SAMPLES_URL": "http://127.0.0.1:9/", "TORCH_HOME": str(tmp_path / "e")}
    start = ["bash", str(scratch_copy / "binder" / "start"), str(venv / "bin" / "python")]
    check = subprocess.run(
        [*start, "-c", code], env=offline, capture_output=True, text=True, cwd=tmp_path
    )
    assert check.returncode == 0, check.stderr
    assert "torchvision torch.Size([1, 3, 768, 1024])" in check.stdout


def test_repo2docker_renders_a_dockerfile_with_cpu_torch_and_postbuild():
    exe = str(Path(sys.executable).parent / "jupyter-repo2docker")  # requirements-dev.txt
    proc = subprocess.run(
        [exe, "--no-build", "--no-run", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in text
    assert "RUN ./binder/postBuild" in text
    assert "fonts-noto-cjk" in text  # binder/apt.txt: a full Chinese font for learners' own text
    assert 'R2D_ENTRYPOINT="${REPO_DIR}/binder/start"' in text
