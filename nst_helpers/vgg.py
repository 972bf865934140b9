"""VGG19's convolutional part as a feature extractor addressed by the paper's layer names.

``load_vgg19()`` returns a ``VGG19Features``. Calling it on RGB images in [0, 1] returns a dict
of the requested activations (``vgg(images, ["relu4_2", "relu1_1"])``). It normalises its input
the way its weights expect, runs only up to the deepest requested layer, uses out-of-place ReLUs
(so ``convX_Y`` really is the pre-ReLU value: torchvision's in-place ReLUs would overwrite it),
stays in eval mode and never computes gradients for its weights: only the image is optimised
(Gatys et al. 2016, Sec. 2). Lesson 01 teaches it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

from .errors import ParameterError
from .i18n import _
from .layers import (
    BLOCK_CONVS,
    BLOCK_FILTERS,
    LAYER_INDEX,
    LAYER_NAMES,
    TORCHVISION,
    check_layers,
    downsampling,
    filters,
)
from .weights import load_state_dict

#: What each network's weights expect of an RGB image x in [0, 1]: (x[channels]·scale − mean)/std.
#: torchvision's: RGB, ImageNet mean and std. Caffe's (both of its files): BGR in 0–255 minus the
#: mean pixel (jcjohnson/pytorch-vgg's README; leongatys/PytorchNeuralStyleTransfer).
NORMALIZATION: dict[str, dict] = {
    TORCHVISION: {"order": [0, 1, 2], "scale": 1.0, "mean": (0.485, 0.456, 0.406),
                  "std": (0.229, 0.224, 0.225)},
    "caffe": {"order": [2, 1, 0], "scale": 255.0, "mean": (103.939, 116.779, 123.68),
              "std": (1.0, 1.0, 1.0)},
}  # fmt: skip


class VGG19Features(nn.Module):
    """VGG19's ``features`` (indices as torchvision's) returning activations by layer name.

    ``forward(images, layers)``: ``images`` [B, 3, H, W], RGB in [0, 1] →
    ``{name: Tensor[B, N_l, H_l, W_l]}`` in the order requested (``layers=None``: every layer).
    ``network`` says whose weights ("torchvision", "caffe" or "caffe-normalised"): it decides the
    input normalisation and the default β (``options.default_beta``). Lesson 01.
    """

    def __init__(self, pooling: str = "max", network: str = TORCHVISION) -> None:
        super().__init__()
        if pooling not in ("max", "avg"):
            raise ParameterError(f"pooling must be 'max' or 'avg', not {pooling!r}")
        self.pooling, self.network, layers, channels = pooling, network, [], 3
        self.memory_format = torch.contiguous_format  # of the weights and activations
        for convs, n in zip(BLOCK_CONVS, BLOCK_FILTERS, strict=True):
            for _i in range(convs):
                layers += [nn.Conv2d(channels, n, 3, padding=1), nn.ReLU()]  # ReLU out of place
                channels = n
            layers.append(nn.MaxPool2d(2) if pooling == "max" else nn.AvgPool2d(2))
        self.features = nn.Sequential(*layers)
        norm = NORMALIZATION[TORCHVISION if network == TORCHVISION else "caffe"]
        self.order, self.scale = norm["order"], norm["scale"]
        self.register_buffer("mean", torch.tensor(norm["mean"]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(norm["std"]).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False).eval()  # a fixed feature extractor (no dropout, no batch norm)

    @property
    def device(self) -> torch.device:
        """The device the weights live on."""
        return self.mean.device

    def with_pooling(self, pooling: str) -> VGG19Features:
        """The same weights with ``pooling`` ("max", or "avg": the paper's); or ``self``."""
        if pooling == self.pooling:
            return self
        other = VGG19Features(pooling, self.network)
        other.load_state_dict(self.state_dict())
        other.memory_format = self.memory_format
        return other.to(self.device, memory_format=self.memory_format)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """RGB images in [0, 1] → the network's input (``NORMALIZATION[network]``)."""
        if self.order != [0, 1, 2]:
            images = images[:, self.order]
        return (images * self.scale - self.mean) / self.std

    def forward(
        self, images: torch.Tensor, layers: Iterable[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Activations at ``layers`` (names from ``LAYER_NAMES``) for images in [0, 1]."""
        names = LAYER_NAMES if layers is None else check_layers(layers)
        if images.dim() != 4 or images.shape[1] != 3:
            raise ParameterError(f"images must have shape [B, 3, H, W], not {list(images.shape)}")
        found, x = {}, self.normalize(images).contiguous(memory_format=self.memory_format)
        last = max(map(LAYER_INDEX.__getitem__, names), default=-1)
        for name, module in zip(LAYER_NAMES[: last + 1], self.features, strict=False):
            x = module(x)
            if name in names:
                found[name] = x
        return {name: found[name] for name in names}


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` as a ``torch.device`` (None: CUDA, else Apple's MPS, else the CPU); a name that
    cannot hold a tensor here is refused (``ParameterError``); a ``torch.device`` is used as is."""
    if device is None:
        mps = torch.backends.mps.is_available()
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if mps else "cpu")
    return device if isinstance(device, torch.device) else _check_device(device)


def _check_device(device: str | torch.device) -> torch.device:
    try:
        resolved = torch.device(device)
        if resolved.type == "meta":
            raise RuntimeError("'meta' tensors hold no data")
        torch.empty(1, device=resolved)
    except (RuntimeError, TypeError, AssertionError, NotImplementedError):
        here = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        here += ["mps"] if torch.backends.mps.is_available() else []
        raise ParameterError(
            f"device {str(device)!r} is not available here (here: {', '.join(here)}); leave it "
            "out for the fastest"
        ) from None
    return resolved


def load_vgg19(
    weights: str | os.PathLike[str] = "imagenet", pooling: str = "max", device: Any = None
) -> VGG19Features:
    """VGG19's features, frozen, on ``device`` (None: the fastest): "imagenet" (torchvision's)
    or "caffe" (the authors' network) weights, a file (``weights.load_state_dict``), or "random"
    (seeded, for tests). ``pooling="avg"`` is the paper's. Lessons 00 and 01."""
    state, network = (None, TORCHVISION) if weights == "random" else load_state_dict(weights)
    model = VGG19Features(pooling, network)
    if state is None:
        warnings.warn(_("random VGG19 weights: results will not look like paintings"), stacklevel=2)
        generator = torch.Generator().manual_seed(0)
        for conv in (m for m in model.features if isinstance(m, nn.Conv2d)):  # as torchvision
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", generator=generator)
            nn.init.zeros_(conv.bias)
    else:
        model.features.load_state_dict(state)
    device = resolve_device(device)
    fast = device.type in ("cpu", "cuda")  # channels_last where faster: only rounding changes
    model.memory_format = torch.channels_last if fast else model.memory_format
    return model.to(device, memory_format=model.memory_format)


def layer_shapes(
    image_size: Sequence[int], layers: Iterable[str] | None = None
) -> dict[str, tuple[int, int, int]]:
    """(N_l, H_l, W_l) of every layer for an input of ``image_size`` = (H, W), without running VGG.

    M_l = H_l · W_l is the paper's "size of each feature map" (Sec. 2). Lesson 01.
    """
    h, w = int(image_size[0]), int(image_size[1])
    names = LAYER_NAMES if layers is None else check_layers(layers)
    return {n: (filters(n), h // downsampling(n), w // downsampling(n)) for n in names}
