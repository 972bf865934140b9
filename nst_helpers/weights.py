"""VGG19's weights: torchvision's ImageNet file and the authors' Caffe network, through torch.hub.

Files live in torch's hub cache (``$TORCH_HOME/hub/checkpoints``, where torchvision keeps them):
one that is there is used as it is; a missing one is downloaded by
``torch.hub.download_url_to_file`` and checked against the hash prefix in its name, exactly as
``torch.hub.load_state_dict_from_url`` does. ``$NST_WEIGHTS_URL`` replaces the download folder
(a mirror holding the same file names). Every file is read with ``torch.load(weights_only=True)``
(a weights file can hold tensors only and can never run code) and memory-mapped, so only the
convolutional part (~80 MB of the 548 MB) is read. Only ``features`` are kept.

The Caffe network (Gatys et al. 2016, Sec. 2; BGR input in 0–255): the authors' normalised
``vgg_conv.pth`` (leongatys/PytorchNeuralStyleTransfer; keys ``conv1_1.weight`` …; no published
hash, so it is never downloaded: put it in the hub cache or pass its path) or jcjohnson's plain
conversion ``vgg19-d01eb7cb.pth`` (torchvision's keys; downloaded and hash-checked).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from .errors import WeightsError
from .files import download_reason, make_readable
from .i18n import _
from .layers import CAFFE, CAFFE_NORMALISED, LAYER_INDEX, LAYER_NAMES, TORCHVISION, filters

#: jcjohnson/pytorch-vgg's conversion of the Caffe VGG19 (its name carries its SHA-256 prefix).
JCJOHNSON_URL = "https://web.eecs.umich.edu/~justincj/models/vgg19-d01eb7cb.pth"
#: The authors' normalised network (their download_models.sh); looked for in the hub cache.
AUTHORS_FILENAME = "vgg_conv.pth"
AUTHORS_URL = "https://bethgelab.org/media/uploads/pytorch_models/vgg_conv.pth"
#: A mirror folder for the weights files (the same names), e.g. on a campus network.
ENV_WEIGHTS_URL = "NST_WEIGHTS_URL"
WAYS_OUT = (
    "connect once (the file is then cached in torch's hub folder, $TORCH_HOME), set "
    f"{ENV_WEIGHTS_URL} to a mirror, copy the file into that folder, or pass its path"
)


def torchvision_url() -> str:
    """torchvision's own address of ``VGG19_Weights.IMAGENET1K_V1`` (vgg19-dcbb9e9d.pth)."""
    from torchvision.models import VGG19_Weights

    return VGG19_Weights.IMAGENET1K_V1.url


def hub_path(url: str) -> Path:
    """Where torch.hub keeps the file of ``url``: ``torch.hub.get_dir()/checkpoints/<name>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]


def download_url(url: str) -> str:
    """Where the file of ``url`` is downloaded from: the same name in ``$NST_WEIGHTS_URL``'s
    folder when it is set, else ``url``."""
    mirror = os.environ.get(ENV_WEIGHTS_URL)
    return f"{mirror.rstrip('/')}/{url.rsplit('/', 1)[-1]}" if mirror else url


def hub_file(url: str, *, progress: bool = True) -> Path:
    """The cached file of ``url``, downloaded first when missing (hash-checked, made readable by
    the other users of a shared cache); ``WeightsError`` when that fails."""
    path, source = hub_path(url), download_url(url)
    if path.is_file():
        return path
    prefix = re.search(r"-([a-f0-9]+)\.", path.name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(source, str(path), prefix and prefix.group(1), progress)
        make_readable(path)
    except (OSError, RuntimeError) as exc:  # URLError, a full disk, "invalid hash value"
        reason = download_reason(exc)
        raise WeightsError(f"could not download {source} ({reason}); {WAYS_OUT}") from None
    return path


def _what_it_is(path: Path) -> str | None:
    """Why ``path`` is not a PyTorch file, from its first bytes (None: it may be one)."""
    with open(path, "rb") as f:
        head = f.read(256)
    if head[:2] == b"PK" or head[:1] == b"\x80":  # torch.save's zip, or its older pickle
        return None
    text = head.lstrip().lower()
    if not head:
        return "it is empty (an interrupted download or copy?)"
    if text.startswith((b"<!doctype html", b"<html")):
        return "it is an HTML page, not weights (a failed download?)"
    if text.startswith(b"version https://git-lfs"):
        return "it is a Git LFS pointer, not the file itself (git lfs pull)"
    return "it is not a PyTorch weights file"


def read_weights_file(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], str]:
    """The ``features`` tensors of a VGG19 weights file in torchvision's keys (``0.weight`` …)
    and its network (``TORCHVISION``, ``CAFFE`` or ``CAFFE_NORMALISED``), checked.

    Accepts torchvision's full or features-only state dicts, jcjohnson's conversion (recognised by
    ``d01eb7cb`` in its name: the same keys, other input) and the authors' ``conv1_1.weight`` …
    file. Anything else, a damaged file or one holding objects other than tensors: one line
    naming the file.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        what = "a folder, not a file" if path.is_dir() else "no such file"
        raise WeightsError(f"VGG19 weights {path}: {what}")
    problem = _what_it_is(path)
    try:
        if problem is None:
            with open(path, "rb") as f:
                zipped = f.read(2) == b"PK"  # the older format cannot be memory-mapped
            loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=zipped)
    except Exception as exc:  # truncated zip, a pickle of objects that would run code, ...
        problem = " ".join(str(exc).split()[:12]) or type(exc).__name__
    if problem is not None or not isinstance(loaded, dict):
        raise WeightsError(f"VGG19 weights {path} cannot be read: {problem or 'not a state dict'}")
    names = {i: n for n, i in LAYER_INDEX.items()}
    state = {}
    for key in expected_shapes():
        index, kind = key.split(".")
        for candidate in (f"features.{key}", key, f"{names[int(index)]}.{kind}"):
            if isinstance(loaded.get(candidate), torch.Tensor):
                state[key] = loaded[candidate].float()
                break
    missing = [
        k for k, shape in expected_shapes().items() if state.get(k, torch.empty(0)).shape != shape
    ]
    if missing:
        raise WeightsError(
            f"{path} is not a VGG19 weights file: {len(missing)} of its 32 convolution tensors "
            f"are missing or of the wrong shape (first: features.{missing[0]})"
        )
    if "conv1_1.weight" in loaded:
        return state, CAFFE_NORMALISED
    return state, CAFFE if "d01eb7cb" in path.name else TORCHVISION


def load_state_dict(
    weights: str | os.PathLike[str], *, progress: bool = True
) -> tuple[dict[str, torch.Tensor], str]:
    """The features (torchvision's keys) and network of ``weights``: "imagenet", "caffe" or a
    file path (``load_vgg19``); ``WeightsError`` in one line when they cannot be had."""
    if weights == "imagenet":
        return read_weights_file(hub_file(torchvision_url(), progress=progress))
    if weights == "caffe":
        authors = hub_path(AUTHORS_URL)
        path = authors if authors.is_file() else hub_file(JCJOHNSON_URL, progress=progress)
        return read_weights_file(path)
    if isinstance(weights, str | os.PathLike) and str(weights) not in ("", "random"):
        return read_weights_file(weights)
    raise WeightsError(
        f"weights must be 'imagenet', 'caffe', 'random' or a weights file, not {weights!r}"
    )


def caffe_available() -> bool:
    """Whether ``weights="caffe"`` would load without a download (a Caffe file in the hub cache)."""
    return hub_path(AUTHORS_URL).is_file() or hub_path(JCJOHNSON_URL).is_file()


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """The keys and shapes of VGG19's ``features`` state dict (``0.weight`` … ``34.bias``)."""
    shapes: dict[str, tuple[int, ...]] = {}
    in_channels = 3
    for index, name in enumerate(LAYER_NAMES):
        if name.startswith("conv"):
            shapes[f"{index}.weight"] = (filters(name), in_channels, 3, 3)
            shapes[f"{index}.bias"] = (filters(name),)
            in_channels = filters(name)
    return shapes


def weights_status(weights: str = "imagenet") -> str:
    """Where ``load_vgg19(weights)`` would read from, in words, without reading or downloading:
    for the setup check (lesson 00) and ``python -m nst_helpers info``."""
    if weights == "random":
        return _(
            "random weights (NST_WEIGHTS=random): for tests; results will not look like paintings"
        )
    if weights not in ("imagenet", "caffe"):
        path = Path(weights).expanduser()
        problem = _what_it_is(path) if path.is_file() else "no such file"
        return f"{path}" + (f": {problem}" if problem else "")
    if weights == "caffe" and hub_path(AUTHORS_URL).is_file():
        return _("the authors' network, {path}").format(path=hub_path(AUTHORS_URL))
    url = torchvision_url() if weights == "imagenet" else JCJOHNSON_URL
    path = hub_path(url)
    if path.is_file():
        problem = _what_it_is(path)
        return f"{path}" + (f": {problem}" if problem else "")
    message = _("not here yet: downloaded once to {path} from {url} (548 MB)")
    return message.format(path=path, url=url)
