"""VGG19's layers by the paper's names, and their indices in torchvision's ``vgg19().features``.

Gatys et al. (2016), Sec. 2 and Fig. 1 name the layers ``conv1_1`` … ``conv5_4``. The original Caffe
network applied its ReLUs in place, so the blob the authors call ``conv4_2`` held the *rectified*
activation; this package names both explicitly: ``convX_Y`` is the convolution's output and
``reluX_Y`` its rectification. The paper's settings are post-ReLU (``relu4_2`` for content,
``relu1_1`` … ``relu5_1`` for style). Taught in lesson 01 (the architecture table) and lesson 02,
"4 · Pre- vs post-ReLU: which "conv4_2"?".
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import ParameterError

#: Convolutions per block of VGG19 (configuration "E" of Simonyan & Zisserman, 2015).
BLOCK_CONVS: tuple[int, ...] = (2, 2, 4, 4, 4)
#: Filters (channels) N_l of every convolution in a block.
BLOCK_FILTERS: tuple[int, ...] = (64, 128, 256, 512, 512)

#: Network names (``VGG19Features.network``): torchvision's, the Caffe conversion, the authors'
#: normalised Caffe network.
TORCHVISION, CAFFE, CAFFE_NORMALISED = "torchvision", "caffe", "caffe-normalised"


def _table() -> dict[str, tuple[int, int]]:
    """Every layer in network order → (N_l feature maps, how many times smaller than the input)."""
    table: dict[str, tuple[int, int]] = {}
    for block, (convs, n) in enumerate(zip(BLOCK_CONVS, BLOCK_FILTERS, strict=True), start=1):
        for i in range(1, convs + 1):
            table |= {
                f"conv{block}_{i}": (n, 2 ** (block - 1)),
                f"relu{block}_{i}": (n, 2 ** (block - 1)),
            }
        table[f"pool{block}"] = (n, 2**block)
    return table


_TABLE = _table()
#: All 37 layer names in network order; ``LAYER_NAMES[i]`` is ``vgg19().features[i]``.
LAYER_NAMES: tuple[str, ...] = tuple(_TABLE)
#: Name -> index into torchvision's ``vgg19().features``.
LAYER_INDEX: dict[str, int] = {name: i for i, name in enumerate(LAYER_NAMES)}

#: The paper's content layer (its "conv4_2", post-ReLU as in the authors' Caffe code).
PAPER_CONTENT_LAYERS: tuple[str, ...] = ("relu4_2",)
#: The paper's style layers (its "conv1_1" … "conv5_1", post-ReLU), each weighted 1/5.
PAPER_STYLE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def filters(name: str) -> int:
    """N_l, the number of feature maps of a layer (a pool keeps its block's)."""
    return _TABLE[check_layers([name])[0]][0]


def downsampling(name: str) -> int:
    """How many times smaller than the input a layer's maps are: 2 ** (pools before it)."""
    return _TABLE[check_layers([name])[0]][1]


def min_input_side(layers: Iterable[str]) -> int:
    """The smallest input side (px) for which every layer has at least a 1×1 map."""
    return max((_TABLE[name][1] for name in check_layers(layers)), default=1)


def check_layers(layers: Iterable[str], what: str = "layers") -> tuple[str, ...]:
    """Layer names as a tuple (duplicates removed, order kept); ``ParameterError`` naming the
    unknown ones and listing the valid names."""
    names = tuple(dict.fromkeys([layers] if isinstance(layers, str) else layers))
    if unknown := [repr(n) for n in names if n not in _TABLE]:
        raise ParameterError(
            f"{what}: unknown layer(s) {', '.join(unknown)}; valid: {', '.join(_TABLE)}"
        )
    return names
