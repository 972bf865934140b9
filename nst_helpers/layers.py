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


def _names() -> tuple[str, ...]:
    names: list[str] = []
    for block, convs in enumerate(BLOCK_CONVS, start=1):
        for i in range(1, convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return tuple(names)


#: All 37 layer names in network order; ``LAYER_NAMES[i]`` is ``vgg19().features[i]``.
LAYER_NAMES: tuple[str, ...] = _names()
#: Name -> index into torchvision's ``vgg19().features``.
LAYER_INDEX: dict[str, int] = {name: i for i, name in enumerate(LAYER_NAMES)}

#: The paper's content layer (its "conv4_2", post-ReLU as in the authors' Caffe code).
PAPER_CONTENT_LAYERS: tuple[str, ...] = ("relu4_2",)
#: The paper's style layers (its "conv1_1" … "conv5_1", post-ReLU), each weighted 1/5.
PAPER_STYLE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def block_of(name: str) -> int:
    """The block (1–5) a layer belongs to: the number of pools before it is ``block - 1``."""
    check_layers([name])
    return int(name[4] if name.startswith("pool") else name[4:].split("_")[0])


def filters(name: str) -> int:
    """N_l, the number of feature maps at a layer (a pool keeps its block's count)."""
    return BLOCK_FILTERS[block_of(name) - 1]


def downsampling(name: str) -> int:
    """How many times smaller than the input a layer's maps are: 2 ** (pools applied so far)."""
    pools = block_of(name) - 1 + (1 if name.startswith("pool") else 0)
    return 2**pools


def min_input_side(layers: Iterable[str]) -> int:
    """The smallest input side (px) for which every requested layer has at least a 1×1 map."""
    return max((downsampling(name) for name in layers), default=1)


def check_layers(layers: Iterable[str], what: str = "layers") -> tuple[str, ...]:
    """Validate layer names and return them as a tuple (duplicates removed, order kept).

    Raises ``ParameterError`` naming the unknown names and listing the valid ones.
    """
    if isinstance(layers, str):
        layers = [layers]
    names = tuple(dict.fromkeys(layers))
    unknown = [n for n in names if n not in LAYER_INDEX]
    if unknown:
        raise ParameterError(
            f"{what}: unknown layer name(s) {', '.join(map(repr, unknown))}; "
            f"valid names are {', '.join(LAYER_NAMES)}"
        )
    return names


def deepest(layers: Iterable[str]) -> str:
    """The layer latest in network order (the network need only run up to it)."""
    names = check_layers(layers)
    if not names:
        raise ParameterError("no layers given")
    return max(names, key=LAYER_INDEX.__getitem__)
