"""Finding, verifying and caching VGG19's ImageNet weights (torchvision's ``IMAGENET1K_V1``).

Only the convolutional part (``features``) is used for style transfer: about 80 MB of the 548 MB
file. The first successful load writes a features-only copy to the package cache, and every later
load reads only that copy (fast start-up, low peak memory).

Every file is read with ``torch.load(..., weights_only=True)``: a weights file can hold tensors
only and can never run code.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import torch

from .download import FileKind, download_file, file_sha256, sniff
from .errors import DownloadError, OutputError, OutputExistsError, ParameterError, WeightsError
from .layers import LAYER_NAMES, filters
from .paths import cache_dir, check_writable_folder

#: torchvision's address for ``VGG19_Weights.IMAGENET1K_V1`` (its name carries the SHA-256 prefix).
TORCHVISION_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
TORCHVISION_FILENAME = "vgg19-dcbb9e9d.pth"
HASH_PREFIX = "dcbb9e9d"
#: The name mark of jcjohnson's Caffe conversion (``caffe_weights.JCJOHNSON_HASH_PREFIX``).
CAFFE_HASH_PREFIX = "d01eb7cb"
#: The features-only copy kept in the package cache.
FEATURES_FILENAME = "vgg19-features-dcbb9e9d.pth"
#: Environment variables the loader reads.
ENV_WEIGHTS_FILE = "NST_VGG19_WEIGHTS"
ENV_WEIGHTS_URL = "NST_VGG19_URL"

_DAMAGED = "an interrupted download or copy leaves such a file"
WAYS_OUT = (
    "Ways out: connect to the internet once (the file is then cached), "
    "pass weights=PATH to a torchvision VGG19 file, set NST_VGG19_WEIGHTS=PATH, "
    "run `python -m nst_helpers fetch-weights` where there is a network, "
    'or use weights="random" for structure-only experiments.'
)


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """The exact keys and shapes of VGG19's ``features`` in torchvision's state-dict format."""
    shapes: dict[str, tuple[int, ...]] = {}
    in_channels = 3
    for index, name in enumerate(LAYER_NAMES):
        if name.startswith("conv"):
            out = filters(name)
            shapes[f"features.{index}.weight"] = (out, in_channels, 3, 3)
            shapes[f"features.{index}.bias"] = (out,)
            in_channels = out
    return shapes


def features_cache_path() -> Path:
    """Where the features-only copy lives: ``cache_dir()/weights/vgg19-features-dcbb9e9d.pth``."""
    return cache_dir() / "weights" / FEATURES_FILENAME


def hub_checkpoint_path() -> Path:
    """Where torchvision keeps the full file: ``torch.hub.get_dir()/checkpoints/vgg19-….pth``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILENAME


#: What a weights file given in the wrong place usually is, and what to do about it.
_WRONG_KIND_ADVICE = {
    "image": "an image given where the weights were expected: check the order of the arguments",
    "weights": "",
}


def _kind_problem(kind: FileKind) -> str | None:
    """Why a file of this kind is no PyTorch weights file, in words (None: a PyTorch file)."""
    if kind.category == "weights":
        return None
    if kind.category == "pickle":
        return (
            "it is a plain Python pickle, not a torch.save file, and cannot be read safely; "
            "save the tensors with torch.save"
        )
    why = _WRONG_KIND_ADVICE.get(kind.category, kind.hint)
    if kind.category in ("empty", "damaged"):
        return f"it is {kind.description}; {why}"
    return f"it is {kind.description}, not a PyTorch weights file{f'; {why}' if why else ''}"


def weights_file_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be used as a weights file, from its first bytes (``download.sniff``),
    without loading it: missing, a folder, unreadable, or of another kind (an HTML page, an
    image, an archive, a plain pickle …); None when it is a PyTorch file. For ``info`` and the
    setup check, which report rather than raise."""
    path = Path(path).expanduser()
    if path.is_dir():
        return "it is a folder, not a file"
    if not path.exists():
        return "no such file"
    try:
        return _kind_problem(sniff(path))
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"


def check_weights_file(path: Path, advice: str) -> FileKind:
    """Refuse a file that is not a PyTorch file at all, saying what it is (``download.sniff``).

    An HTML or text page (a failed download), a Git LFS pointer, an empty or truncated file, an
    image, an archive or anything else is refused here with a ``WeightsError`` naming it and its
    kind, followed by ``advice``; PyTorch files (zip or legacy format) and plain pickles pass, to
    be read by ``torch.load(weights_only=True)``; returns the file's kind.
    """
    try:
        kind = sniff(path)
    except OSError as exc:
        raise WeightsError(f"VGG19 weights file {path} cannot be read ({exc}). {advice}") from None
    if kind.category in ("weights", "pickle"):
        return kind
    raise WeightsError(f"VGG19 weights file {path} cannot be read: {_kind_problem(kind)}. {advice}")


def load_state_file(path: Path, advice: str) -> Mapping[str, object]:
    """``torch.load(path, weights_only=True)``: a state dict of tensors, or a ``WeightsError``.

    Memory-maps files in PyTorch's zip format (fast, low peak memory) and reads the older format
    (files written before PyTorch 1.6, such as the Caffe conversions of 2017) without mmap. A file
    that is missing, of another kind (``check_weights_file``: a web page, an image, an archive …),
    truncated, not a state dict, or a pickle holding objects that would run code when unpickled
    is refused with a message naming it, followed by ``advice`` (how to get a good one).
    """
    if path.is_dir():  # not "no such file", and nothing to delete
        inside = sorted(p.name for p in path.glob("*.pt*"))[:3]
        raise WeightsError(
            f"VGG19 weights file {path} is a folder, not a file: give the weights file itself"
            + (f" (this folder holds {', '.join(inside)})" if inside else "")
        )
    if not path.is_file():
        raise WeightsError(f"VGG19 weights file {path}: no such file. {advice}")
    kind = check_weights_file(path, advice)
    try:
        with warnings.catch_warnings():  # a plain pickle: torch warns of its protocol, then fails
            warnings.filterwarnings("ignore", message=".*pickle protocol", category=UserWarning)
            try:
                loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            except RuntimeError as exc:
                if "mmap can only be used" not in str(exc):
                    raise
                loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        text = str(exc)
        cause = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        truncated = isinstance(exc, EOFError) or any(
            word in text for word in ("truncated", "central directory", "corrupted", "EOF")
        )
        if truncated:
            cause = f"it is truncated or damaged; {_DAMAGED}"
        elif kind.category == "pickle":
            cause = (
                "it is a plain Python pickle, not a torch.save file, and cannot be read safely; "
                "save the tensors with torch.save"
            )
        elif "Unsupported global" in text or "GLOBAL" in text:
            # weights_only=True refused a class or function: a genuine pickle of other objects
            cause = "it holds objects other than tensors, and loading it could run code"
        raise WeightsError(
            f"VGG19 weights file {path} cannot be read ({cause}). {advice}"
        ) from None
    if not isinstance(loaded, Mapping):
        raise WeightsError(f"VGG19 weights file {path} does not hold a state dict. {advice}")
    return loaded


def read_features_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a VGG19 weights file and return its ``features.N.weight/bias`` tensors, checked.

    Accepts torchvision's full state dict (``features.*`` and ``classifier.*``), a features-only one
    (``features.*``), or ``vgg19().features.state_dict()`` (keys ``N.weight``). Loaded with
    ``weights_only=True``; every key and shape is checked against VGG19, so a wrong, truncated or
    foreign file is refused whole (never half-used) with a ``WeightsError`` naming it.
    """
    path = Path(path).expanduser()
    loaded = load_state_file(
        path,
        "Fetch the right file with `python -m nst_helpers fetch-weights` (and delete this one "
        "if it is a failed download).",
    )
    state = torchvision_features(loaded)
    problems = shape_problems(state, expected_shapes())
    if problems:
        if "conv1_1.weight" in loaded:
            problems += (
                ". Its keys (conv1_1.weight …) are those of the authors' Caffe VGG19 "
                "(vgg_conv.pth), which expects other input: load it with weights='caffe' "
                f"and NST_CAFFE_WEIGHTS={path}"
            )
        else:
            problems += ". Delete it and fetch it again (`python -m nst_helpers fetch-weights`)."
        raise WeightsError(f"{path} is not a VGG19 (torchvision) weights file: {problems}")
    return {k: state[k].float() for k in expected_shapes()}


def refuse_caffe_file(path: str | os.PathLike[str]) -> None:
    """Refuse jcjohnson's Caffe conversion (``vgg19-d01eb7cb.pth``, recognised by its name) where
    torchvision's weights are expected: it has torchvision's keys and shapes but wants BGR input in
    0–255, so it would load without error and give wrong features."""
    path = Path(path).expanduser()
    if CAFFE_HASH_PREFIX in path.name:
        raise WeightsError(
            f"{path} is jcjohnson's Caffe VGG19 (BGR input in 0–255), not torchvision's: "
            f"load it with weights='caffe' and NST_CAFFE_WEIGHTS={path}"
        )


def torchvision_features(loaded: Mapping[object, object]) -> dict[str, torch.Tensor]:
    """The ``features.N.*`` tensors of a state dict, also from bare ``N.*`` keys; others dropped."""
    state: dict[str, torch.Tensor] = {}
    for key, value in loaded.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            continue
        if key.startswith("features."):
            state[key] = value
        elif key.split(".", 1)[0].isdigit():
            state[f"features.{key}"] = value
    return state


def shape_problems(state: Mapping[str, torch.Tensor], shapes: Mapping[str, tuple[int, ...]]) -> str:
    """What keeps ``state`` from having exactly the keys and shapes of ``shapes`` ("" if nothing):
    the missing keys, the wrong shapes and the unexpected keys, a few of each."""
    missing = [k for k in shapes if k not in state]
    wrong = [
        f"{k} is {tuple(state[k].shape)}, expected {shape}"
        for k, shape in shapes.items()
        if k in state and tuple(state[k].shape) != shape
    ]
    extra = [k for k in state if k not in shapes]
    return "; ".join(
        filter(
            None,
            [
                f"missing {', '.join(missing[:4])}{' …' if len(missing) > 4 else ''}"
                if missing
                else "",
                "; ".join(wrong[:4]),
                f"unexpected {', '.join(extra[:4])}" if extra else "",
            ],
        )
    )


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def save_features_state_dict(
    state: Mapping[str, torch.Tensor], path: str | os.PathLike[str]
) -> Path:
    """Write a features-only state dict atomically (temp + rename), with a ``.sha256`` beside it."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        torch.save({k: v.detach().clone().contiguous() for k, v in state.items()}, tmp)
        digest = file_sha256(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_text_atomic(_sidecar(path), digest + "\n")
    return path


def _write_text_atomic(path: Path, text: str) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def read_cached_features(
    path: Path, refetch: str = "python -m nst_helpers fetch-weights"
) -> dict[str, torch.Tensor]:
    """Read a features-only cache, checking the SHA-256 recorded when it was written.

    A damaged copy is refused with a message saying to delete it and run ``refetch``.
    """
    sidecar = _sidecar(path)
    if sidecar.is_file():
        recorded = sidecar.read_text().strip()
        actual = file_sha256(path)
        if recorded != actual:
            raise WeightsError(
                f"cached VGG19 weights {path} are damaged (SHA-256 {actual[:12]}…, recorded "
                f"{recorded[:12]}…). Delete the file and run `{refetch}`."
            )
    return read_features_state_dict(path)


def weights_url() -> str:
    """The download address: ``$NST_VGG19_URL`` (a mirror) or torchvision's."""
    return os.environ.get(ENV_WEIGHTS_URL) or TORCHVISION_URL


def download_full_weights(*, progress: bool = True, timeout: float = 30.0) -> Path:
    """Download torchvision's full VGG19 file into the torch hub cache, checking its hash prefix."""
    dest = hub_checkpoint_path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    return download_file(
        weights_url(), dest, hash_prefix=HASH_PREFIX, progress=progress, timeout=timeout
    )


def imagenet_state_dict(
    *, download: bool = True, progress: bool = True
) -> tuple[dict[str, torch.Tensor], str]:
    """Find torchvision's ImageNet VGG19 features, in this order, and say where they came from.

    1. ``$NST_VGG19_WEIGHTS`` (a file path); 2. the features-only copy in the package cache;
    3. the full torchvision file in the torch hub cache; 4. a download through torchvision's address
    (or ``$NST_VGG19_URL``), hash-checked. After 3 or 4 the features-only copy is written to the
    cache, so later loads read only that. Without any source, a ``WeightsError`` says what was
    tried and the ways out; it never falls back to random weights.
    """
    tried: list[str] = []
    env = os.environ.get(ENV_WEIGHTS_FILE)
    if env:
        refuse_caffe_file(env)
        return read_features_state_dict(env), f"{env} (from ${ENV_WEIGHTS_FILE})"
    tried.append(f"${ENV_WEIGHTS_FILE} (not set)")

    cached = features_cache_path()
    if cached.is_file():
        return read_cached_features(cached), str(cached)
    tried.append(f"{cached} (absent)")

    hub = hub_checkpoint_path()
    if hub.is_file():
        state = read_features_state_dict(hub)
        save_features_state_dict(state, cached)
        return state, f"{hub} (features cached in {cached})"
    tried.append(f"{hub} (absent)")

    if not download:
        raise WeightsError("VGG19 weights not found; tried " + "; ".join(tried) + ". " + WAYS_OUT)
    try:
        full = download_full_weights(progress=progress)
    except DownloadError as exc:
        tried.append(f"download from {weights_url()} ({exc})")
        raise WeightsError(
            "VGG19 weights not found; tried " + "; ".join(tried) + ". " + WAYS_OUT
        ) from None
    state = read_features_state_dict(full)
    save_features_state_dict(state, cached)
    return state, f"downloaded {weights_url()} (features cached in {cached})"


def check_weights_output(
    out: str | os.PathLike[str], *, same_as: Path | None = None, option: str = "--out"
) -> Path:
    """Check, before any download or loading, that a weights copy can be written at ``out``.

    The same check as every other output (``images.check_output_path``), for a weights file: the
    name ends in ``.pth``; ``out`` is not a folder; it does not exist yet (an existing file is
    never replaced, unless it is ``same_as``, the file that would be copied); its folder can be
    written (``paths.check_writable_folder``: a file on the way, no permission). Raises
    ``ParameterError`` for the name, ``OutputError`` (an ``OSError``) else; returns the path.
    """

    path = Path(out).expanduser()
    if path.is_dir():
        raise OutputError(
            f"{option} {path} is a folder; give a file name, e.g. {path / FEATURES_FILENAME}"
        )
    if path.suffix.lower() != ".pth":
        raise ParameterError(
            f"{option} {path}: a weights file's name must end in .pth, e.g. "
            f"{path.with_name(path.stem + '.pth')}"
        )
    if path.exists() and (same_as is None or path.resolve() != same_as.resolve()):
        raise OutputExistsError(f"{path} already exists; remove it or choose another {option}")
    check_writable_folder(path.parent, f"the weights ({option})")
    return path


def write_weights_copy(write: Callable[[Path], Path], out: Path, source: Path | str) -> Path:
    """``write(out)``; a write that still fails (disk full, folder gone) names ``out``, why, and
    where the weights are meanwhile (``source``), instead of a temporary file's name."""
    try:
        return write(out)
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise OutputError(
            f"could not write the weights to {out} ({reason}); they are ready in {source}: "
            "copy that file instead, or choose another --out"
        ) from None


def fetch_weights(out: str | os.PathLike[str] | None = None, *, progress: bool = True) -> Path:
    """Make sure the features-only weights exist (downloading if needed) and return their path.

    With ``out``, also write a copy there (for offline classrooms: copy it to the lab and set
    ``NST_VGG19_WEIGHTS``). Used by ``python -m nst_helpers fetch-weights``. ``out`` is checked
    first (``check_weights_output``), before anything is downloaded or read.
    """
    cached = features_cache_path()
    out_path = None if out is None else check_weights_output(out, same_as=cached)
    state, _ = imagenet_state_dict(download=True, progress=progress)
    if not cached.is_file():  # the weights came from $NST_VGG19_WEIGHTS
        save_features_state_dict(state, cached)
    if out_path is None:
        return cached
    return write_weights_copy(lambda p: save_features_state_dict(state, p), out_path, cached)


def random_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """Seeded random VGG19 features, initialised as torchvision does (Kaiming normal, fan-out).

    For tests and structure-only experiments: the results will not look like the paper's.
    """
    generator = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for key, shape in expected_shapes().items():
        if key.endswith(".weight"):
            fan_out = shape[0] * shape[2] * shape[3]
            std = (2.0 / fan_out) ** 0.5
            state[key] = torch.randn(shape, generator=generator) * std
        else:
            state[key] = torch.zeros(shape)
    return state


def weights_status() -> dict[str, object]:
    """What the loader would find, without touching the network (for the setup-check notebook)."""
    env = os.environ.get(ENV_WEIGHTS_FILE)
    cached = features_cache_path()
    hub = hub_checkpoint_path()
    path: Path | None = None
    if env:
        path = Path(env).expanduser()
        source = f"${ENV_WEIGHTS_FILE} = {env}" + ("" if path.exists() else " (missing!)")
    elif cached.is_file():
        source, path = f"features-only cache {cached}", cached
    elif hub.is_file():
        source, path = f"torchvision's file {hub} (will be converted)", hub
    else:
        source = None
    return {
        "env": env,
        "features_cache": str(cached),
        "features_cache_present": cached.is_file(),
        "hub_file": str(hub),
        "hub_file_present": hub.is_file(),
        "url": weights_url(),
        "found": source,
        # why the file found cannot be used (an HTML page, a folder …), from its first bytes
        "problem": None if path is None else weights_file_problem(path),
    }
