"""VGG19's convolutional part as a feature extractor addressed by the paper's layer names.

``load_vgg19()`` returns a ``VGG19Features`` module. Calling it on RGB images in [0, 1] returns a
dict of the requested activations (``vgg(images, layers=["relu4_2", "relu1_1"])``). It normalises
its input the way its weights expect, runs only up to the deepest requested layer, uses
out-of-place ReLUs (so ``convX_Y`` really is the pre-ReLU value), stays in eval mode and never
computes gradients for its weights: only the image is optimised (Gatys et al. 2016, Sec. 2).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .caffe_weights import CAFFE_MEAN_BGR, caffe_state_dict
from .devices import resolve_device
from .errors import ParameterError, WeightsError
from .layers import (
    BLOCK_CONVS,
    BLOCK_FILTERS,
    LAYER_INDEX,
    LAYER_NAMES,
    check_layers,
    downsampling,
    filters,
)
from .weights import (
    imagenet_state_dict,
    random_state_dict,
    read_features_state_dict,
    refuse_caffe_file,
)

#: Environment variable that chooses the default weights (``NST_WEIGHTS=random`` for CI runs).
ENV_DEFAULT_WEIGHTS = "NST_WEIGHTS"


@dataclass(frozen=True)
class InputNormalization:
    """How RGB images in [0, 1] become the network's input: ``(x[order]·scale − mean)/std``."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    scale: float = 1.0
    bgr: bool = False

    def describe(self) -> str:
        """The mapping in words, e.g. ``RGB in [0, 1] → BGR × 255 − (103.939, …)``."""
        fmt = ", ".join
        steps = "BGR" if self.bgr else "RGB"
        if self.scale != 1.0:
            steps += f" × {self.scale:g}"
        steps += f" − ({fmt(f'{m:g}' for m in self.mean)})"
        if self.std != (1.0, 1.0, 1.0):
            steps = f"({steps}) / ({fmt(f'{s:g}' for s in self.std)})"
        return f"RGB in [0, 1] → {steps}"


#: torchvision's ImageNet normalisation (RGB in [0, 1]).
TORCHVISION_NORMALIZATION = InputNormalization(
    mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)
)
#: The Caffe VGG19's input (both Caffe files): BGR in 0–255 minus the mean pixel
#: (jcjohnson/pytorch-vgg's README; leongatys/PytorchNeuralStyleTransfer's ``prep``).
CAFFE_NORMALIZATION = InputNormalization(
    mean=CAFFE_MEAN_BGR, std=(1.0, 1.0, 1.0), scale=255.0, bgr=True
)


class VGG19Features(nn.Module):
    """VGG19's ``features`` (indices as torchvision's) returning activations by layer name.

    ``forward(images, layers)`` takes ``images`` of shape [B, 3, H, W] with RGB values in [0, 1]
    and returns ``{name: Tensor[B, N_l, H_l, W_l]}`` in the order requested. ``layers=None`` means
    every layer. The network stops after the deepest requested layer. Taught in lesson 01,
    "1 · A layer's response is a matrix F^l" and "2 · What the feature maps show".
    """

    def __init__(
        self,
        pooling: str = "max",
        normalization: InputNormalization = TORCHVISION_NORMALIZATION,
        network: str = "torchvision",
    ) -> None:
        super().__init__()
        if pooling not in ("max", "avg"):
            raise ParameterError(f"pooling must be 'max' or 'avg', not {pooling!r}")
        self.pooling = pooling
        self.normalization = normalization
        #: Whose weights: "torchvision" (also random and torchvision-format files), "caffe"
        #: (jcjohnson's conversion) or "caffe-normalised" (the authors' file). Decides the default
        #: β (``ratios.default_beta``).
        self.network = network
        modules: list[nn.Module] = []
        in_channels = 3
        for convs, out_channels in zip(BLOCK_CONVS, BLOCK_FILTERS, strict=True):
            for _ in range(convs):
                modules += [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU()]
                in_channels = out_channels
            pool = nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2)
            modules.append(pool)
        self.features = nn.Sequential(*modules)
        order = [2, 1, 0] if normalization.bgr else [0, 1, 2]
        self.register_buffer("channel_order", torch.tensor(order), persistent=False)
        self.register_buffer(
            "mean", torch.tensor(normalization.mean).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer(
            "std", torch.tensor(normalization.std).view(1, 3, 1, 1), persistent=False
        )
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGG19Features:
        """Always stays in eval mode: the network is a fixed feature extractor."""
        return super().train(False)

    @property
    def device(self) -> torch.device:
        """The device the weights live on."""
        return self.mean.device

    @property
    def preprocessing(self) -> str:
        """How this network turns the package's RGB [0, 1] images into its input, in words."""
        return self.normalization.describe()

    def with_pooling(self, pooling: str) -> VGG19Features:
        """The same network (same weights, input normalisation and ``network``) with ``pooling``
        ("max" or "avg"; the paper's Sec. 2 prefers average pooling); ``self`` if it has it."""
        if pooling == self.pooling:
            return self
        other = VGG19Features(pooling, self.normalization, self.network)
        other.load_state_dict(self.state_dict())
        return other.to(self.device)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """Map RGB images in [0, 1] to the network's input space (see ``InputNormalization``)."""
        n = self.normalization
        if n.bgr:
            images = images.index_select(1, self.channel_order)
        if n.scale != 1.0:
            images = images * n.scale
        return (images - self.mean) / self.std

    def forward(
        self, images: torch.Tensor, layers: Iterable[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Activations at ``layers`` (names from ``LAYER_NAMES``) for images in [0, 1]."""
        names = LAYER_NAMES if layers is None else check_layers(layers)
        found: dict[str, torch.Tensor] = {}

        def keep(name: str, x: torch.Tensor) -> torch.Tensor:
            found[name] = x
            return x

        self._run(images, dict.fromkeys(names, keep))
        return {name: found[name] for name in names}

    def _run(
        self,
        images: torch.Tensor,
        taps: Mapping[str, Callable[[str, torch.Tensor], torch.Tensor]],
    ) -> None:
        """Run the network up to the deepest layer in ``taps``, calling ``taps[name](name, x)`` at
        each of those layers and going on with the tensor it returns (``forward`` keeps ``x``;
        the style transfer's fused losses return an autograd identity of ``x``).
        """
        if images.dim() != 4 or images.shape[1] != 3:
            raise ParameterError(f"images must have shape [B, 3, H, W], not {list(images.shape)}")
        if not taps:
            return
        last = max(LAYER_INDEX[n] for n in check_layers(taps))
        x = self.normalize(images)
        for name, module in zip(LAYER_NAMES[: last + 1], self.features, strict=False):
            x = module(x)
            tap = taps.get(name)
            if tap is not None:
                x = tap(name, x)


#: The named weights choices of ``load_vgg19`` (anything else is a file path).
WEIGHTS_CHOICES = ("imagenet", "caffe", "random")


def _is_path_like(weights: object) -> bool:
    return isinstance(weights, Path) or (
        isinstance(weights, str) and weights not in WEIGHTS_CHOICES
    )


def load_vgg19(
    weights: str | os.PathLike[str] | None = None,
    pooling: str = "max",
    device: str | torch.device | None = None,
    *,
    progress: bool = True,
) -> VGG19Features:
    """Build VGG19's features with weights, frozen, in eval mode, on ``device``.

    ``weights``:
      - ``"imagenet"``: torchvision's ``VGG19_Weights.IMAGENET1K_V1``, found by
        ``weights.imagenet_state_dict`` ($NST_VGG19_WEIGHTS, the features-only cache, the torch
        hub cache, then a hash-checked download);
      - ``"caffe"``: the authors' network, Caffe-converted (``caffe_weights.caffe_state_dict``:
        $NST_CAFFE_WEIGHTS, then the package cache, never a download; the authors' normalised
        ``vgg_conv.pth`` or jcjohnson's ``vgg19-d01eb7cb.pth``). The model then converts its RGB
        [0, 1] input itself to BGR × 255 − the Caffe mean pixel (``CAFFE_NORMALIZATION``), so
        callers pass the same images as with any other weights;
      - a path: a torchvision-format full or features-only state dict;
      - ``"random"``: seeded random weights (a warning says results will not look like the paper's);
      - ``None`` (default): ``$NST_WEIGHTS`` if set (``NST_WEIGHTS=random`` makes CI runs fast),
        else ``"imagenet"``.

    ``pooling="avg"`` replaces every max-pool by average pooling, as the paper does (Sec. 2).
    ``device=None`` picks CUDA, then Apple's MPS, then the CPU. ``model.network`` and
    ``model.preprocessing`` say whose weights were loaded and what input they see. Raises
    WeightsError (no weights found, or a bad file) and ParameterError (bad choices). Taught in
    lesson 01, "1 · A layer's response is a matrix F^l"; lesson 00 checks it loads.
    """
    if weights is None:
        weights = os.environ.get(ENV_DEFAULT_WEIGHTS) or "imagenet"
    normalization, network = TORCHVISION_NORMALIZATION, "torchvision"
    if weights == "imagenet":
        state, _source = imagenet_state_dict(progress=progress)
    elif weights == "caffe":
        state, network, _source = caffe_state_dict()
        normalization = CAFFE_NORMALIZATION
    elif weights == "random":
        warnings.warn(
            "VGG19 with random weights: fine for tests and structure, "
            "but results will not look like the paper's.",
            stacklevel=2,
        )
        state = random_state_dict()
    elif _is_path_like(weights):
        if not Path(weights).expanduser().exists():  # type: ignore[arg-type]
            raise WeightsError(
                f"weights={str(weights)!r} is neither 'imagenet', 'caffe', 'random' "
                "nor an existing file"
            )
        refuse_caffe_file(weights)  # type: ignore[arg-type]
        state = read_features_state_dict(weights)  # type: ignore[arg-type]
    else:
        raise ParameterError(
            f"weights must be 'imagenet', 'caffe', 'random' or a file path, not {weights!r}"
        )
    model = VGG19Features(pooling=pooling, normalization=normalization, network=network)
    model.features.load_state_dict(
        {k.removeprefix("features."): v for k, v in state.items()}, strict=True
    )
    return model.to(resolve_device(device))


def layer_shapes(
    image_size: Sequence[int], layers: Iterable[str] | None = None
) -> dict[str, tuple[int, int, int]]:
    """(N_l, H_l, W_l) of every layer for an input of ``image_size`` = (H, W), without running VGG.

    M_l = H_l · W_l is the paper's "size of each feature map" (Sec. 2). Taught in lesson 01,
    "The architecture for this image".
    """
    h, w = int(image_size[0]), int(image_size[1])
    names = LAYER_NAMES if layers is None else check_layers(layers)
    return {n: (filters(n), h // downsampling(n), w // downsampling(n)) for n in names}
