"""The authors' network: Caffe-converted VGG19 weights, for ``load_vgg19(weights="caffe")``.

Gatys et al. (2016) used the original Caffe VGG19 (Simonyan & Zisserman), which sees BGR images in
0–255 with the ImageNet mean pixel subtracted, "normalized by scaling the weights such that the
mean activation of each convolutional filter over images and positions is equal to one" (Sec. 2).
Two PyTorch files of that network are in use; either one is accepted, and its key names tell which:

- **The authors' own** ``vgg_conv.pth`` (network ``"caffe-normalised"``): from
  leongatys/PytorchNeuralStyleTransfer, whose ``download_models.sh`` fetches
  https://bethgelab.org/media/uploads/pytorch_models/vgg_conv.pth. Keys ``conv1_1.weight`` …
  ``conv5_4.bias`` (its ``VGG`` class). This is the normalised network the paper describes. Its
  preprocessing (``NeuralStyleTransfer.ipynb``): RGB in [0, 1] → BGR, subtract
  (0.40760392, 0.45795686, 0.48501961), × 255 — the Caffe mean pixel divided by 255. No checksum
  is published for it, so this package does not download it: see ``WHERE_TO_GET``.
- **jcjohnson's conversion** ``vgg19-d01eb7cb.pth`` (network ``"caffe"``): jcjohnson/pytorch-vgg
  converted the Caffe model itself (not normalised) into torchvision's key names (``features.N``;
  its classifier keys are ignored). Published at https://web.eecs.umich.edu/~justincj/models/ and
  fetched from there by ProGamerGov/neural-style-pt (the older
  ``s3-us-west-2.amazonaws.com/jcjohns-models/`` address is gone). Its README: "Images should be in
  BGR format in the range [0, 255], and the following BGR values should then be subtracted from
  each pixel: [103.939, 116.779, 123.68]". ``t7_to_state_dict.py`` names the file after the first 8
  hex digits of its SHA-256, so ``d01eb7cb`` checks the download (``fetch-weights --caffe``).

Sources, in this order: ``$NST_CAFFE_WEIGHTS`` (a file in either format); the authors' file copied
into the package cache (``cache_dir()/weights/vgg_conv.pth``); the features-only copy of jcjohnson's
file (``cache_dir()/weights/vgg19-caffe-features-d01eb7cb.pth``); jcjohnson's full file in the torch
hub cache (``torch.hub.get_dir()/checkpoints/vgg19-d01eb7cb.pth``, where ``fetch-weights --caffe``
and ``torch.hub.load_state_dict_from_url`` put it), converted to the features-only copy on first
use. Loading never downloads (548 MB); every file is read with ``weights_only=True`` and checked
key by key and shape by shape, and a wrong or partial file is refused whole.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch

from .download import download_file
from .errors import DownloadError, WeightsError
from .layers import LAYER_INDEX
from .paths import cache_dir
from .weights import (
    CAFFE_HASH_PREFIX,
    HASH_PREFIX,
    check_weights_output,
    expected_shapes,
    load_state_file,
    read_cached_features,
    save_features_state_dict,
    shape_problems,
    torchvision_features,
    weights_file_problem,
    write_weights_copy,
)

#: Network names (``VGG19Features.network``): jcjohnson's plain conversion, the authors' normalised.
CAFFE = "caffe"
CAFFE_NORMALISED = "caffe-normalised"

#: The Caffe mean pixel, B, G, R, in 0–255 (jcjohnson/pytorch-vgg's README; the authors' notebook
#: subtracts the same values divided by 255: 0.40760392, 0.45795686, 0.48501961).
CAFFE_MEAN_BGR: tuple[float, float, float] = (103.939, 116.779, 123.68)

#: The authors' file (leongatys/PytorchNeuralStyleTransfer, download_models.sh); no published hash.
AUTHORS_FILENAME = "vgg_conv.pth"
AUTHORS_URL = "https://bethgelab.org/media/uploads/pytorch_models/vgg_conv.pth"
#: jcjohnson/pytorch-vgg's conversion; its name carries the first 8 hex digits of its SHA-256.
JCJOHNSON_FILENAME = "vgg19-d01eb7cb.pth"
JCJOHNSON_URL = "https://web.eecs.umich.edu/~justincj/models/vgg19-d01eb7cb.pth"
JCJOHNSON_HASH_PREFIX = CAFFE_HASH_PREFIX  # "d01eb7cb"
#: The features-only copy of jcjohnson's file kept in the package cache.
CAFFE_FEATURES_FILENAME = "vgg19-caffe-features-d01eb7cb.pth"
#: Environment variables: the weights file (either format) and a mirror of jcjohnson's file.
ENV_CAFFE_WEIGHTS = "NST_CAFFE_WEIGHTS"
ENV_CAFFE_URL = "NST_CAFFE_URL"

#: The Caffe networks' input, in words (``VGG19Features.preprocessing`` says the same).
CAFFE_PREPROCESSING = (
    "RGB in [0, 1] → BGR × 255 − (" + ", ".join(f"{m:g}" for m in CAFFE_MEAN_BGR) + ") (Caffe)"
)

FETCH_COMMAND = "python -m nst_helpers fetch-weights --caffe"


def authors_cache_path() -> Path:
    """Where a copy of the authors' ``vgg_conv.pth`` is looked for: ``cache_dir()/weights/``."""
    return cache_dir() / "weights" / AUTHORS_FILENAME


def caffe_features_cache_path() -> Path:
    """Where the features-only copy of jcjohnson's file lives (written on first use)."""
    return cache_dir() / "weights" / CAFFE_FEATURES_FILENAME


def caffe_hub_path() -> Path:
    """jcjohnson's full file in the torch hub cache: ``torch.hub.get_dir()/checkpoints/``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / JCJOHNSON_FILENAME


def caffe_url() -> str:
    """The download address of jcjohnson's file: ``$NST_CAFFE_URL`` (a mirror) or the pinned one."""
    return os.environ.get(ENV_CAFFE_URL) or JCJOHNSON_URL


def where_to_get() -> str:
    """Where the right files come from and how to point the package at them (for error messages)."""
    return (
        f"Use the authors' {AUTHORS_FILENAME} ({AUTHORS_URL}, from "
        "github.com/leongatys/PytorchNeuralStyleTransfer; keys conv1_1.weight …) or jcjohnson's "
        f"{JCJOHNSON_FILENAME} (`{FETCH_COMMAND}` downloads and checks it; keys features.N.*), "
        f"and set {ENV_CAFFE_WEIGHTS}=PATH or copy the authors' file to {authors_cache_path()}."
    )


def authors_shapes() -> dict[str, tuple[int, ...]]:
    """The exact keys and shapes of the authors' ``vgg_conv.pth`` (``conv1_1.weight`` …)."""
    return {_authors_key(key): shape for key, shape in expected_shapes().items()}


def _authors_key(torchvision_key: str) -> str:
    """``features.21.weight`` -> ``conv4_2.weight`` (the same layer by the paper's name)."""
    _, index, kind = torchvision_key.split(".")
    names = {i: name for name, i in LAYER_INDEX.items()}
    return f"{names[int(index)]}.{kind}"


def read_caffe_state_dict(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], str]:
    """Read either Caffe VGG19 file; return (features in torchvision's keys, network name).

    Keys ``convX_Y.weight/bias`` are the authors' normalised network (``"caffe-normalised"``),
    mapped to ``features.N`` by ``layers.LAYER_INDEX``; keys ``features.N.*`` (or ``N.*``) are
    jcjohnson's conversion (``"caffe"``). Loaded with ``weights_only=True``; every key and shape
    is checked, and a wrong, partial or mixed file is refused whole with a ``WeightsError`` naming
    it and saying where to get the right one. Any fully connected layers in the file are ignored.
    torchvision's own file (``vgg19-dcbb9e9d.pth`` or its features-only copy), which has the same
    keys and shapes as jcjohnson's but wants other input, is refused by its name.
    """
    path = Path(path).expanduser()
    if HASH_PREFIX in path.name:  # torchvision's file: the same keys and shapes, other input
        raise WeightsError(
            f"{path} is torchvision's VGG19 (RGB input in [0, 1]), not a Caffe one: load it with "
            f"weights='imagenet' (NST_VGG19_WEIGHTS={path}). {where_to_get()}"
        )
    loaded = load_state_file(path, where_to_get())
    authors = {
        k: v
        for k, v in loaded.items()
        if isinstance(k, str) and k.startswith("conv") and isinstance(v, torch.Tensor)
    }
    torchvision = torchvision_features(loaded)
    if authors and torchvision:
        raise WeightsError(
            f"{path} mixes the authors' keys ({next(iter(authors))}) and torchvision's "
            f"({next(iter(torchvision))}): not a Caffe VGG19 weights file. {where_to_get()}"
        )
    if authors:
        shapes, state, network, form = authors_shapes(), authors, CAFFE_NORMALISED, "conv1_1.*"
    else:
        shapes, state, network, form = expected_shapes(), torchvision, CAFFE, "features.N.*"
    problems = shape_problems(state, shapes)
    if problems:
        raise WeightsError(
            f"{path} is not a Caffe VGG19 weights file (keys {form}): {problems}. {where_to_get()}"
        )
    if network == CAFFE_NORMALISED:
        return {k: state[_authors_key(k)].float() for k in expected_shapes()}, network
    return {k: state[k].float() for k in shapes}, network


def _sources() -> list[tuple[str, Path]]:
    """(label, path) of every place looked in, in order (the env var only when it is set)."""
    env = os.environ.get(ENV_CAFFE_WEIGHTS)
    found = [(f"${ENV_CAFFE_WEIGHTS}", Path(env).expanduser())] if env else []
    return [
        *found,
        ("the authors' file in the cache", authors_cache_path()),
        ("the features-only copy", caffe_features_cache_path()),
        ("jcjohnson's file in the torch hub cache", caffe_hub_path()),
    ]


def caffe_state_dict(
    *, download: bool = False, progress: bool = True
) -> tuple[dict[str, torch.Tensor], str, str]:
    """Find Caffe VGG19 weights; return (features in torchvision's keys, network, where from).

    Looks in the order of the module docstring. ``$NST_CAFFE_WEIGHTS`` naming a missing file is an
    error (never skipped silently). jcjohnson's full file is converted to the features-only copy
    on first use. With ``download=True`` and nothing found, jcjohnson's file is downloaded from
    ``caffe_url()`` and checked against ``JCJOHNSON_HASH_PREFIX``; otherwise a ``WeightsError``
    says what was tried and where to get the file.
    """
    tried: list[str] = []
    env = os.environ.get(ENV_CAFFE_WEIGHTS)
    if env:
        state, network = read_caffe_state_dict(env)
        return state, network, f"{env} (from ${ENV_CAFFE_WEIGHTS})"
    tried.append(f"${ENV_CAFFE_WEIGHTS} (not set)")

    authors = authors_cache_path()
    if authors.is_file():
        state, network = read_caffe_state_dict(authors)
        return state, network, str(authors)
    tried.append(f"{authors} (absent)")

    cached = caffe_features_cache_path()
    if cached.is_file():
        state = read_cached_features(cached, FETCH_COMMAND)
        return state, CAFFE, str(cached)
    tried.append(f"{cached} (absent)")

    hub = caffe_hub_path()
    if not hub.is_file():
        tried.append(f"{hub} (absent)")
        if not download:
            raise WeightsError(
                "Caffe VGG19 weights not found; tried " + "; ".join(tried) + ". " + where_to_get()
            )
        try:
            download_caffe_weights(progress=progress)
        except DownloadError as exc:
            tried.append(f"download from {caffe_url()} ({exc})")
            raise WeightsError(
                "Caffe VGG19 weights not found; tried " + "; ".join(tried) + ". " + where_to_get()
            ) from None
    state, network = read_caffe_state_dict(hub)
    if network != CAFFE:  # the authors' file under jcjohnson's name: read, but not cached as his
        return state, network, str(hub)
    save_features_state_dict(state, cached)
    return state, network, f"{hub} (features cached in {cached})"


def download_caffe_weights(*, progress: bool = True, timeout: float = 30.0) -> Path:
    """Download jcjohnson's ``vgg19-d01eb7cb.pth`` (548 MB) into the torch hub cache.

    Through ``download.download_file``: a temporary file renamed into place only after its SHA-256
    is found to start with ``JCJOHNSON_HASH_PREFIX``.
    """
    dest = caffe_hub_path()
    dest.parent.mkdir(parents=True, exist_ok=True)
    return download_file(
        caffe_url(), dest, hash_prefix=JCJOHNSON_HASH_PREFIX, progress=progress, timeout=timeout
    )


def save_caffe_state_dict(
    state: Mapping[str, torch.Tensor], network: str, path: str | os.PathLike[str]
) -> Path:
    """Write Caffe features atomically in their source's key format, so the copy loads as the same
    network: the authors' keys (``conv1_1.weight`` …) for ``"caffe-normalised"``, torchvision's
    (``features.N.*``) for ``"caffe"``."""
    if network == CAFFE_NORMALISED:
        state = {_authors_key(k): v for k, v in state.items()}
    return save_features_state_dict(state, path)


def fetch_caffe_weights(
    out: str | os.PathLike[str] | None = None, *, progress: bool = True
) -> Path:
    """Make sure Caffe weights are here (downloading jcjohnson's if none are) and return the path.

    With ``out``, also write a copy there in the source's key format (for machines without a
    network: copy it over and set ``NST_CAFFE_WEIGHTS``); ``out`` is checked before anything is
    downloaded or read (``weights.check_weights_output``), and an existing one is never replaced.
    Used by ``python -m nst_helpers fetch-weights --caffe``.
    """
    out_path = None if out is None else check_weights_output(out)
    state, network, source = caffe_state_dict(download=True, progress=progress)
    if out_path is not None:
        found_at = caffe_status()["path"] or source
        return write_weights_copy(
            lambda p: save_caffe_state_dict(state, network, p), out_path, found_at
        )
    found = caffe_status()["path"]
    return Path(found) if found else Path(source)


def caffe_status() -> dict[str, object]:
    """Where ``weights="caffe"`` would load from, without reading the file or touching the network.

    Keys: ``env`` ($NST_CAFFE_WEIGHTS or None), ``path`` (the file that would be used, or None),
    ``found`` (a sentence, or None), ``network`` (``"caffe"``/``"caffe-normalised"`` when known
    from the file's name and place, else None), ``url`` (the download address), ``preprocessing``,
    ``problem`` (why the file named cannot be used, from its first bytes: an HTML page, a folder …
    ``weights.weights_file_problem``; None if it looks like a PyTorch file or none is named).
    """
    env = os.environ.get(ENV_CAFFE_WEIGHTS)
    path: Path | None = None
    found: str | None = None
    network: str | None = None
    if env:
        path = Path(env).expanduser()
        found = f"${ENV_CAFFE_WEIGHTS} = {env}"
        if not path.is_file():
            found, path = None, None
    else:
        for label, candidate in _sources():
            if candidate.is_file():
                path, found = candidate, f"{label}: {candidate}"
                network = CAFFE_NORMALISED if candidate == authors_cache_path() else CAFFE
                break
    named = Path(env).expanduser() if env else path
    return {
        "env": env,
        "env_missing": bool(env) and path is None,
        "problem": None if named is None else weights_file_problem(named),
        "path": None if path is None else str(path),
        "found": found,
        "network": network,
        "url": caffe_url(),
        "preprocessing": CAFFE_PREPROCESSING,
    }


def caffe_weights_available() -> bool:
    """Whether ``load_vgg19(weights="caffe")`` would find a file (its contents are not checked)."""
    return caffe_status()["path"] is not None
