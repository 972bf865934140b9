"""The course's JupyterHub on one server: its settings, its course cache and its spawner.

``hub/jupyterhub_config.py`` (what JupyterHub runs) and ``hub/loadtest.py`` read this module;
``python hub/course_hub.py cache`` fills the course cache (``make hub`` does it before starting the
hub). Every setting is an environment variable with a default (INSTRUCTORS.md, "A lab on one
server", lists them):

- ``NST_HUB_DIR``: the hub's state (database, secrets, passwords, the course spawner's homes);
  default ``hub/state``. ``NST_HUB_CACHE``: the course cache, default ``$NST_HUB_DIR/cache``.
- ``NST_HUB_LEARNERS``: learners expected at once (default 30): sets their compute threads.
- ``NST_HUB_MEM_LIMIT``: memory per learner (default 2G; see the measurements).
- ``NST_HUB_SPAWNER``: ``systemd`` (one systemd unit per learner, a dynamic user each, MemoryMax
  enforced: the default where systemd runs) or ``course`` (``CourseSpawner`` below: the default
  elsewhere, e.g. in a container, and what the tests use).
- ``NST_HUB_WEIGHTS``: a VGG19 weights file to put in the cache instead of downloading it.
"""

from __future__ import annotations

import os
import resource
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from jupyterhub.spawner import SimpleLocalProcessSpawner

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: The course environment's executables (this repository's .venv: the hub runs from it).
VENV_BIN = Path(sys.executable).parent
#: The cache's layout: torch's hub cache, the package's cache (samples) and a features-only copy.
TORCH_HOME, NST_CACHE, FEATURES = "torch", "nst", "vgg19-features.pth"


def hub_dir() -> Path:
    return Path(os.environ.get("NST_HUB_DIR") or HERE / "state").resolve()


def cache_dir() -> Path:
    return Path(os.environ.get("NST_HUB_CACHE") or hub_dir() / "cache").resolve()


def cores() -> int:
    """The CPU cores this process may use (its affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0))


def threads_per_learner(learners: int | None = None, available: int | None = None) -> int:
    """Compute threads for each learner's kernels: the cores shared out among the learners
    expected at once, at least one (over-subscribed threads slow everybody down)."""
    learners = learners or int(os.environ.get("NST_HUB_LEARNERS") or 30)
    return max(1, (available or cores()) // learners)


def learner_environment(cache: Path | None = None) -> dict[str, str]:
    """What every learner's server and kernels get: the shared, read-only course cache (nothing
    downloaded per learner), their share of threads, and the lessons to copy on first start."""
    cache = cache or cache_dir()
    threads = str(threads_per_learner())
    env = {
        "TORCH_HOME": str(cache / TORCH_HOME),
        "NST_CACHE_DIR": str(cache / NST_CACHE),
        "OMP_NUM_THREADS": threads,  # torch's intra-op threads follow it
        "MKL_NUM_THREADS": threads,
        "NST_LESSONS": str(ROOT / "notebooks"),  # hub/singleuser copies them on first start
    }
    if (cache / FEATURES).is_file():
        env["NST_WEIGHTS"] = str(cache / FEATURES)
    for name in ("NST_PROFILE", "NST_LANG", "NST_SAMPLES_URL", "NST_WEIGHTS_URL"):
        if os.environ.get(name):  # the instructor's choice (a mirror, a shorter profile)
            env[name] = os.environ[name]
    return env


def fill_cache(
    cache: Path | None = None, weights: str | None = None, samples_url: str | None = None
) -> list[str]:
    """Fill the course cache once (what is there is kept): VGG19's weights into torch's hub cache
    plus a features-only copy (or a copy of ``weights``, ``$NST_HUB_WEIGHTS``), and the sample
    images (from ``samples_url``, ``$NST_SAMPLES_URL`` or their pinned address); then make all of
    it readable by everybody and writable by its owner only (0644 files, 0755 folders). Returns
    what could not be had (the lessons then use their offline samples)."""
    cache = cache or cache_dir()
    weights = weights or os.environ.get("NST_HUB_WEIGHTS")
    env = {**os.environ, "TORCH_HOME": str(cache / TORCH_HOME)}
    env["NST_CACHE_DIR"] = str(cache / NST_CACHE)
    env.pop("NST_WEIGHTS", None)
    if samples_url:
        env["NST_SAMPLES_URL"] = samples_url
    (cache / NST_CACHE / "images").mkdir(parents=True, exist_ok=True)
    (cache / TORCH_HOME / "hub" / "checkpoints").mkdir(parents=True, exist_ok=True)
    package = [sys.executable, "-m", "nst_helpers"]
    missing = []
    if not (cache / FEATURES).is_file():
        if weights:
            shutil.copyfile(weights, cache / FEATURES)
        else:
            fetch = [*package, "fetch-weights", "--quiet", "--out", str(cache / FEATURES)]
            if subprocess.run(fetch, env=env).returncode:
                missing.append("VGG19 weights")
    if subprocess.run([*package, "fetch-samples", "--quiet"], env=env).returncode:
        missing.append("sample images")
    for folder, _, files in os.walk(cache):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return missing


def passwords(state: Path) -> tuple[str, str]:
    """The class password and the instructors' password: ``$NST_HUB_PASSWORD`` and
    ``$NST_HUB_ADMIN_PASSWORD``, else made once and kept in ``$NST_HUB_DIR/passwords`` (0600)."""
    path = state / "passwords"
    if not path.is_file():
        state.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"{secrets.token_urlsafe(9)}\n{secrets.token_urlsafe(32)}\n")
    learner, admin = path.read_text().split()
    return os.environ.get("NST_HUB_PASSWORD") or learner, (
        os.environ.get("NST_HUB_ADMIN_PASSWORD") or admin
    )


class CourseSpawner(SimpleLocalProcessSpawner):
    """Each learner's server as a process of the hub's own account, in their own home
    (``home_dir_template``, ``{username}`` expanded), with ``mem_limit`` enforced per process
    (the server and each of its kernels) as ``RLIMIT_DATA``: an allocation past it fails in the
    kernel, which reports it and
    stays usable, instead of the machine running out. JupyterHub's LocalProcessSpawner and
    SimpleLocalProcessSpawner pass ``mem_limit`` on as ``$MEM_LIMIT`` only; they enforce nothing.

    Learners are not isolated from one another (one account): for a trusted room and for tests.
    Where systemd runs, ``NST_HUB_SPAWNER=systemd`` gives each learner a user of their own.
    """

    def make_preexec_fn(self, name):
        home, limit = self.home_dir, self.mem_limit

        def preexec():
            if limit:
                resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
            os.makedirs(home, 0o700, exist_ok=True)
            os.chdir(home)

        return preexec


if __name__ == "__main__":
    if sys.argv[1:] != ["cache"]:
        sys.exit("usage: python hub/course_hub.py cache   (fills the course cache once)")
    print(f"course cache: {cache_dir()}")
    for what in fill_cache():
        print(f"  not available: {what} (see INSTRUCTORS.md, 'A lab on one server')")
    passwords(hub_dir())
    print(
        f"passwords: {hub_dir() / 'passwords'} (line 1: the class's, any user name; line 2: the "
        f"instructors' ({os.environ.get('NST_HUB_ADMINS', 'instructor')}), unless "
        "NST_HUB_PASSWORD / NST_HUB_ADMIN_PASSWORD are set)"
    )
