"""What VGG19's layers hold and see (lesson 01, and the pre/post-ReLU part of lesson 02).

Gatys, Ecker & Bethge (2016), Sec. 2: "A layer with N_l distinct filters has N_l feature maps each
of size M_l, where M_l is the height times the width of the feature map. So the responses in a
layer l can be stored in a matrix F^l ∈ R^{N_l × M_l}."

This module holds the architecture table (N_l, H_l × W_l, M_l and receptive field per layer),
receptive-field arithmetic, feature-map figures, the pre- vs post-ReLU comparison, and
``FeatureMapViewer``, the lesson's widget (a layer dropdown, a channel slider and an image picker).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..errors import NSTError, ParameterError
from ..i18n import N_, _
from ..images import to_pil
from ..layers import LAYER_NAMES, check_layers, filters
from ..vgg import VGG19Features, layer_shapes
from .cjk_font import use_language_font

#: The layers the paper reconstructs content from (Fig. 1, bottom row), by this package's names:
#: the paper's conv1_2 … conv5_2 are the rectified (post-ReLU) activations.
CONTENT_SERIES: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2")
#: The style layer sets of the paper's Fig. 1, top row: conv1_1, then conv1_1 + conv2_1, … up to
#: conv1_1 … conv5_1 (post-ReLU).
TEXTURE_SERIES: tuple[tuple[str, ...], ...] = tuple(
    tuple(f"relu{b}_1" for b in range(1, last + 1)) for last in range(1, 6)
)
#: Kernel size and stride of each kind of layer in VGG19 (3×3 convolutions with stride 1 and
#: padding 1; 2×2 pooling with stride 2; a ReLU acts on each value on its own).
KERNEL_STRIDE = {"conv": (3, 1), "relu": (1, 1), "pool": (2, 2)}


def layer_kind(layer: str) -> str:
    """``"conv"``, ``"relu"`` or ``"pool"``."""
    check_layers([layer])
    return layer[:4]


def paper_name(layer: str) -> str:
    """The paper's name of a layer: ``relu4_2`` → ``conv4_2`` (the paper's conv4_2 is rectified).

    The original Caffe VGG19 applied its ReLUs in place, so the blob the paper calls conv4_2 held
    the activation after the ReLU; this package calls that value ``relu4_2`` and the value before
    the ReLU ``conv4_2``.
    """
    kind = layer_kind(layer)
    return "conv" + layer[4:] if kind == "relu" else layer


def layer_label(layer: str) -> str:
    """A title for figures: ``relu4_2`` → "conv4_2 (relu4_2)", ``conv4_2`` → "conv4_2, pre-ReLU"."""
    kind = layer_kind(layer)
    if kind == "relu":
        return f"{paper_name(layer)} ({layer})"
    if kind == "conv":
        return _("{layer}, pre-ReLU").format(layer=layer)
    return layer


def layers_label(layers: Sequence[str]) -> str:
    """A short title for a set of layers by the paper's names: "conv1_1 … conv3_1" or "conv1_1"."""
    names = [paper_name(n) for n in check_layers(layers)]
    if not names:
        return _("no layers")
    if len(names) <= 2:
        return " + ".join(names)
    return _("{first} … {last} ({n} layers)").format(first=names[0], last=names[-1], n=len(names))


# --------------------------------------------------------------------------- receptive fields


def receptive_fields(layers: Iterable[str] | None = None) -> dict[str, tuple[int, int]]:
    """(receptive field r_l, stride j_l) in input pixels of every layer, in network order.

    One value of layer l depends on an r_l × r_l square of the input, and neighbouring values are
    j_l input pixels apart. Starting from r_0 = 1, j_0 = 1, a layer with kernel k and stride s
    gives r_l = r_{l-1} + (k − 1)·j_{l-1} and j_l = j_{l-1}·s. (Padding moves the square near the
    borders but does not change its size.)
    """
    wanted = set(LAYER_NAMES if layers is None else check_layers(layers))
    r, j = 1, 1
    found: dict[str, tuple[int, int]] = {}
    for name in LAYER_NAMES:
        k, s = KERNEL_STRIDE[name[:4]]
        r, j = r + (k - 1) * j, j * s
        if name in wanted:
            found[name] = (r, j)
    return found


def receptive_field(layer: str) -> int:
    """The side r_l, in input pixels, of the square of the image one value of ``layer`` sees."""
    return receptive_fields([layer])[layer][0]


def gradient_footprint(vgg: VGG19Features, image: torch.Tensor, layer: str) -> torch.Tensor:
    """Where one position of ``layer`` looks: |∂a/∂x| per input pixel, shape [H, W].

    ``a`` is the sum over the layer's maps of the activation at the centre position; the gradient
    with respect to the image ``x`` is non-zero only on pixels that value depends on, so the
    footprint measures the receptive field (it fills the r_l × r_l square of
    ``receptive_fields``, clipped at the image border).
    """
    x = image.detach().to(vgg.device).clone().requires_grad_(True)
    act = vgg(x, [layer])[layer]
    h, w = act.shape[2], act.shape[3]
    act[0, :, h // 2, w // 2].sum().backward()
    assert x.grad is not None
    return x.grad[0].abs().sum(0).cpu()


def footprint_extent(footprint: torch.Tensor) -> tuple[int, int]:
    """(rows, columns) spanned by the non-zero pixels of a ``gradient_footprint``."""
    rows = torch.nonzero(footprint.sum(1)).flatten()
    cols = torch.nonzero(footprint.sum(0)).flatten()
    if rows.numel() == 0:
        return 0, 0
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def show_gradient_footprints(
    vgg: VGG19Features,
    image: torch.Tensor,
    layers: Sequence[str] = ("relu1_1", "relu2_1", "relu3_1", "relu4_2", "relu5_1"),
) -> Figure:
    """For each layer, the pixels one central value depends on (measured by backpropagation)."""
    layers = check_layers(layers)
    use_language_font()
    h, w = int(image.shape[-2]), int(image.shape[-1])
    fig, axes = plt.subplots(
        1,
        len(layers),
        figsize=(2.8 * len(layers), 2.8 * h / w + 0.9),
        squeeze=False,
        layout="constrained",
    )
    for ax, name in zip(axes[0], layers, strict=True):
        fp = gradient_footprint(vgg, image, name)
        rows, cols = footprint_extent(fp)
        ax.imshow(np.asarray(to_pil(image)), alpha=0.35)
        ax.imshow((fp > 0).float().numpy(), cmap="Reds", alpha=0.65, vmin=0, vmax=1)
        ax.set_title(
            _("{layer}: formula {r} px\nmeasured {rows} × {cols} px").format(
                layer=paper_name(name), r=receptive_field(name), rows=rows, cols=cols
            ),
            fontsize=9,
        )
        ax.axis("off")
    fig.suptitle(_("Pixels that one value at the centre depends on (red): the receptive field"))
    return fig


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class LayerRow:
    """One row of the architecture table (see ``architecture_table``)."""

    layer: str  # the paper's name (conv1_1 … conv5_4, pool1 … pool5)
    package: str  # this package's names for it ("conv1_1 / relu1_1" or "pool1")
    n: int  # N_l, number of feature maps (filters)
    height: int  # H_l
    width: int  # W_l
    receptive_field: int  # r_l, in input pixels
    stride: int  # j_l, input pixels between neighbouring values

    @property
    def m(self) -> int:
        """M_l = H_l · W_l, the number of positions in one feature map."""
        return self.height * self.width

    @property
    def values(self) -> int:
        """N_l · M_l, the number of activations the layer holds."""
        return self.n * self.m


class ArchitectureTable:
    """VGG19's layers for one input size: renders as an HTML table in Jupyter, text elsewhere.

    ``COLUMNS`` are the headings in English; the table shows them in the lessons' language."""

    COLUMNS = (
        N_("layer (paper)"),
        N_("names here"),
        N_("N_l (maps)"),
        "H_l × W_l",
        "M_l = H_l·W_l",
        "N_l·M_l",
        N_("receptive field"),
    )

    def __init__(self, image_size: Sequence[int], rows: list[LayerRow]) -> None:
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, layer: str) -> LayerRow:
        for row in self.rows:
            if layer in (row.layer, *row.package.split(" / ")):
                return row
        raise KeyError(layer)

    def _cells(self, row: LayerRow) -> list[str]:
        return [
            row.layer,
            row.package,
            f"{row.n}",
            f"{row.height} × {row.width}",
            f"{row.m:,}",
            f"{row.values:,}",
            f"{row.receptive_field} × {row.receptive_field} px",
        ]

    def __str__(self) -> str:
        table = [[_(c) for c in self.COLUMNS], *[self._cells(r) for r in self.rows]]
        widths = [max(len(line[i]) for line in table) for i in range(len(self.COLUMNS))]
        lines = [
            "  ".join(c.rjust(wd) for c, wd in zip(line, widths, strict=True)) for line in table
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"ArchitectureTable(image_size={self.image_size})\n{self}"

    def _repr_html_(self) -> str:
        h, w = self.image_size
        head = "".join(f"<th>{html.escape(_(c))}</th>" for c in self.COLUMNS)
        body = []
        for row in self.rows:
            style = " style='background:#eef'" if row.layer.startswith("pool") else ""
            cells = "".join(f"<td>{html.escape(c)}</td>" for c in self._cells(row))
            body.append(f"<tr{style}>{cells}</tr>")
        caption = _(
            "VGG19 for an input of {h} × {w} px (H × W): every 3×3 convolution keeps the map "
            "size, every 2×2 pool halves it"
        ).format(h=h, w=w)
        return (
            f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
        )


def architecture_table(image_size: Sequence[int], include_pools: bool = True) -> ArchitectureTable:
    """VGG19's 16 convolutions (and 5 pools) with N_l, H_l × W_l, M_l and receptive field.

    ``image_size`` is the input's (H, W) (``image.shape[-2:]``). Each convolution is one row named
    as in the paper (conv1_1 …); this package addresses its output before the ReLU as ``conv1_1``
    and after it as ``relu1_1`` (same shape). Shapes come from ``nst.layer_shapes``, without
    running the network.
    """
    shapes = layer_shapes(image_size)
    fields = receptive_fields()
    rows = []
    for name in LAYER_NAMES:
        kind = name[:4]
        if kind == "relu" or (kind == "pool" and not include_pools):
            continue
        n, h, w = shapes[name]
        package = f"{name} / relu{name[4:]}" if kind == "conv" else name
        r, j = fields["relu" + name[4:]] if kind == "conv" else fields[name]
        rows.append(LayerRow(name, package, n, h, w, r, j))
    return ArchitectureTable(image_size, rows)


def plot_layer_sizes(image_size: Sequence[int]) -> Figure:
    """N_l and M_l of every convolution for an input of ``image_size``: deeper, more and smaller."""
    use_language_font()
    table = architecture_table(image_size, include_pools=False)
    names = [r.layer for r in table.rows]
    x = range(len(names))
    fig, ax = plt.subplots(figsize=(9, 3.8))
    ax.plot(x, [r.n for r in table.rows], "o-", label=_("N_l (feature maps)"))
    ax.plot(x, [r.m for r in table.rows], "s-", label=_("M_l (positions per map)"))
    ax.plot(x, [r.receptive_field for r in table.rows], "^-", label=_("receptive field side (px)"))
    ax.set_yscale("log")
    ax.set_xticks(list(x), names, rotation=60, fontsize=8)
    ax.set_xlabel(_("layer (paper's name)"))
    ax.set_ylabel(_("count (log scale)"))
    h, w = table.image_size
    ax.set_title(
        _("VGG19 for a {h} × {w} input: more maps, smaller maps, wider view").format(h=h, w=w)
    )
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- feature maps


def flatten_features(activation: torch.Tensor) -> torch.Tensor:
    """A layer's activation [1, N, H, W] as the paper's matrix F^l of shape N_l × M_l."""
    if activation.dim() != 4 or activation.shape[0] != 1:
        raise ParameterError(f"expected one activation [1, N, H, W], not {list(activation.shape)}")
    return activation[0].reshape(activation.shape[1], -1)


def strongest_channels(activation: torch.Tensor, k: int = 4) -> list[int]:
    """The ``k`` feature maps with the largest mean activation (most "on" for this image)."""
    means = flatten_features(activation).mean(dim=1)
    k = max(0, min(int(k), means.numel()))
    return means.topk(k).indices.tolist()


def _map_panel(ax: Any, fmap: torch.Tensor, title: str, symmetric: bool = False) -> Any:
    """Draw one feature map with a colour scale; ``symmetric`` centres it on 0 (pre-ReLU)."""
    values = fmap.detach().float().cpu()
    if symmetric:
        limit = float(values.abs().max()) or 1.0
        shown = ax.imshow(values.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
    else:
        shown = ax.imshow(values.numpy(), cmap="viridis", vmin=0.0, vmax=float(values.max()) or 1.0)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    return shown


def show_layer_overview(
    vgg: VGG19Features,
    image: torch.Tensor,
    layers: Sequence[str] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"),
    per_layer: int = 4,
) -> Figure:
    """One row per layer: the image, then the layer's ``per_layer`` most active feature maps.

    Each panel is titled with the map's index, its size H_l × W_l, and the layer; maps keep the
    image's aspect ratio, so deeper rows look blockier (fewer, larger pixels).
    """
    layers = check_layers(layers)
    use_language_font()
    with torch.no_grad():
        feats = vgg(image.to(vgg.device), layers)
    fig, axes = plt.subplots(
        len(layers),
        per_layer + 1,
        figsize=(2.2 * (per_layer + 1), 2.0 * len(layers)),
        squeeze=False,
    )
    for row, name in zip(axes, layers, strict=True):
        act = feats[name]
        row[0].imshow(np.asarray(to_pil(image)))
        row[0].set_title(_("input, for {layer}").format(layer=layer_label(name)), fontsize=9)
        row[0].axis("off")
        channels = strongest_channels(act, per_layer)
        for ax, c in zip(row[1:], channels, strict=False):
            title = _("{layer} map {c} ({h}×{w})").format(
                layer=paper_name(name), c=c, h=act.shape[2], w=act.shape[3]
            )
            _map_panel(ax, act[0, c], title)
        for ax in row[1 + len(channels) :]:
            ax.axis("off")
    fig.suptitle(_("The most active feature maps of each layer (bright = strong response)"))
    fig.tight_layout()
    return fig


def show_receptive_fields(
    image: torch.Tensor,
    layers: Sequence[str] = ("relu1_1", "relu2_1", "relu3_1", "relu4_2", "relu5_1"),
    centre: tuple[int, int] | None = None,
) -> Figure:
    """The square of the image that one value at the centre of each layer depends on."""
    layers = check_layers(layers)
    use_language_font()
    h, w = int(image.shape[-2]), int(image.shape[-1])
    cy, cx = centre if centre is not None else (h // 2, w // 2)
    fig, ax = plt.subplots(figsize=(6, 6 * h / w))
    ax.imshow(np.asarray(to_pil(image)))
    colours = plt.get_cmap("autumn")([i / max(1, len(layers) - 1) for i in range(len(layers))])
    for name, colour in zip(layers, colours, strict=True):
        r = receptive_field(name)
        ax.add_patch(
            Rectangle(
                (cx - r / 2, cy - r / 2),
                r,
                r,
                fill=False,
                edgecolor=colour,
                linewidth=2,
                label=f"{paper_name(name)}: {r} × {r} px",
            )
        )
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_title(_("What one value at the centre sees (image {h} × {w} px)").format(h=h, w=w))
    ax.axis("off")
    ax.legend(loc="lower left", fontsize=8, framealpha=0.8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- pre vs post ReLU


@dataclass
class ReluComparison:
    """A convolution's output before and after its ReLU, for one image (see ``compare_relu``)."""

    conv: str
    pre: torch.Tensor  # [1, N, H, W], the convolution's output (this package's convX_Y)
    post: torch.Tensor  # [1, N, H, W], after the ReLU (reluX_Y; the paper's "convX_Y")

    @property
    def fraction_negative(self) -> float:
        """Share of the pre-ReLU values below 0 (the ReLU sets them to 0)."""
        return float((self.pre < 0).float().mean())

    @property
    def relu_is_max0(self) -> bool:
        """Whether post == max(pre, 0) exactly."""
        return bool(torch.equal(self.post, self.pre.clamp_min(0)))


def compare_relu(vgg: VGG19Features, image: torch.Tensor, conv: str = "conv4_2") -> ReluComparison:
    """The activations of ``conv`` (pre-ReLU) and of its ReLU for ``image``."""
    if layer_kind(conv) != "conv":
        raise ParameterError(f"compare_relu needs a convolution such as 'conv4_2', not {conv!r}")
    relu = "relu" + conv[4:]
    with torch.no_grad():
        feats = vgg(image.to(vgg.device), [conv, relu])
    return ReluComparison(conv, feats[conv].cpu(), feats[relu].cpu())


def mixed_sign_channel(pre: torch.Tensor) -> int:
    """The pre-ReLU map whose values are closest to half negative, half positive.

    The map where the ReLU changes the most: a good one to show what it throws away.
    """
    negative = (flatten_features(pre) < 0).float().mean(dim=1)
    return int((negative - 0.5).abs().argmin())


def plot_relu_comparison(comparison: ReluComparison, channel: int | None = None) -> Figure:
    """Histogram of the pre-ReLU values, then one map before and after the ReLU.

    Both maps share one colour scale centred on 0 (blue < 0 < red), so the values the ReLU sets
    to 0 turn white. ``channel=None`` picks the map with the most mixed signs.
    """
    use_language_font()
    pre, post = comparison.pre, comparison.post
    c = mixed_sign_channel(pre) if channel is None else int(channel)
    fig, axes = plt.subplots(
        1, 3, figsize=(12, 3.4), gridspec_kw={"width_ratios": [1.4, 1, 1]}, layout="constrained"
    )
    values = pre.flatten().numpy()
    axes[0].hist(values, bins=80, color="#888", log=True)
    axes[0].axvline(0.0, color="#b00", linewidth=1.5)
    axes[0].set_xlabel(_("{conv} value before the ReLU").format(conv=comparison.conv))
    axes[0].set_ylabel(_("number of values (log scale)"))
    axes[0].set_title(
        _(
            "{conv}: {share:.0%} of values are < 0\n(left of the red line: the ReLU sets them to 0)"
        ).format(conv=comparison.conv, share=comparison.fraction_negative),
        fontsize=10,
    )
    name = comparison.conv
    relu = "relu" + name[4:]
    limit = float(pre[0, c].abs().max()) or 1.0
    for ax, fmap, title in (
        (axes[1], pre[0, c], _("map {c} before the ReLU\n({name})").format(c=c, name=name)),
        (
            axes[2],
            post[0, c],
            _("map {c} after the ReLU\n({relu} = the paper's {name})").format(
                c=c, relu=relu, name=name
            ),
        ),
    ):
        shown = ax.imshow(fmap.float().numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.colorbar(shown, ax=list(axes[1:]), fraction=0.03, pad=0.02, label=_("activation"))
    return fig


# --------------------------------------------------------------------------- Gram heatmaps


def plot_grams(grams: dict[str, torch.Tensor], suptitle: str | None = None) -> Figure:
    """Gram matrices as heatmaps side by side, each titled with its key and its N × N shape.

    All panels share one colour scale, clipped at the 99th percentile of the entries so that a few
    very large ones (energetic maps on the diagonal) do not wash out the rest.
    """
    use_language_font()
    mats = []
    for gram in grams.values():
        g = gram.detach().float().cpu()
        mats.append(g[0] if g.dim() == 3 else g)
    top = max(float(torch.quantile(g.flatten(), 0.99)) for g in mats) or 1.0
    fig, axes = plt.subplots(
        1, len(grams), figsize=(4.2 * len(grams), 3.9), squeeze=False, layout="constrained"
    )
    for ax, title, g in zip(axes[0], grams, mats, strict=True):
        shown = ax.imshow(g.numpy(), cmap="magma", vmin=min(0.0, float(g.min())), vmax=top)
        ax.set_title(f"{_(str(title))}\n{g.shape[0]} × {g.shape[1]}", fontsize=9)
        ax.set_xlabel(_("feature map j"))
        ax.set_ylabel(_("feature map i"))
    label = _("entry (clipped at 99%)")
    fig.colorbar(shown, ax=list(axes[0]), fraction=0.03, pad=0.02, label=label)
    if suptitle:
        fig.suptitle(_(suptitle))
    return fig


# --------------------------------------------------------------------------- the viewer


def _map_figure(image: torch.Tensor, activation: torch.Tensor, layer: str, channel: int) -> Figure:
    """The input beside one feature map, both at the image's aspect ratio."""
    use_language_font()
    h, w = int(image.shape[-2]), int(image.shape[-1])
    fig = Figure(figsize=(8, 4 * h / w + 0.6))  # not pyplot: drawn into a widget, never inline
    axes = fig.subplots(1, 2)
    axes[0].imshow(np.asarray(to_pil(image)))
    axes[0].set_title(_("input ({h} × {w} px)").format(h=h, w=w), fontsize=10)
    axes[0].axis("off")
    fmap = activation[0, channel]
    symmetric = layer_kind(layer) == "conv"
    shown = _map_panel(
        axes[1],
        fmap,
        _("{layer}: map {c} of {n} ({h} × {w})").format(
            layer=layer_label(layer),
            c=channel,
            n=activation.shape[1],
            h=fmap.shape[0],
            w=fmap.shape[1],
        ),
        symmetric=symmetric,
    )
    fig.colorbar(shown, ax=axes[1], fraction=0.046, pad=0.04, label=_("activation"))
    fig.tight_layout()
    return fig


class FeatureMapViewer:
    """A layer dropdown, a channel slider and an image picker; shows the input and one map.

    ``widget`` is what the notebook displays. The activation of the chosen layer is computed once
    per (image, layer) and cached, so moving the channel slider only redraws.
    """

    def __init__(
        self,
        vgg: VGG19Features,
        size: int,
        layers: Sequence[str] | None = None,
        layer: str = "relu3_1",
        default_image: str = "tubingen",
        fallback: str = "grace_hopper",
    ) -> None:
        import ipywidgets as w

        from .plots import figure_png
        from .widgets import ImagePicker

        self._figure_png = figure_png
        self.vgg = vgg
        self.size = int(size)
        names = check_layers(layers if layers is not None else LAYER_NAMES)
        self.picker = ImagePicker(_("image"), default_image, fallback)
        maps = _("{layer} · {n} maps")
        self.layer = w.Dropdown(
            options=[(maps.format(layer=layer_label(n), n=filters(n)), n) for n in names],
            value=layer if layer in names else names[0],
            description=_("layer"),
        )
        self.channel = w.IntSlider(
            value=0,
            min=0,
            max=filters(self.layer.value) - 1,
            description=_("map (channel)"),
            style={"description_width": "initial"},
            continuous_update=False,
            layout=w.Layout(width="32em"),
        )
        self.strongest = w.Button(description=_("most active map"), tooltip=_("jump to the map"))
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.info = w.HTML()
        self._cache: dict[tuple[str, str], torch.Tensor] = {}
        self._input: tuple[str, torch.Tensor] | None = None
        self.layer.observe(self._on_layer, names="value")
        self.channel.observe(lambda _: self.render(), names="value")
        self.picker.dropdown.observe(lambda _: self.render(), names="value")
        self.strongest.on_click(self._on_strongest)
        self.widget = w.VBox(
            [self.picker, w.HBox([self.layer, self.strongest]), self.channel, self.image, self.info]
        )
        self.render()

    def _image(self) -> torch.Tensor:
        key = self.picker.value
        if self._input is None or self._input[0] != key:
            self._input = (key, self.picker.image(self.size))
        return self._input[1]

    def activation(self, layer: str | None = None) -> torch.Tensor:
        """The chosen image's activation at ``layer`` (default: the dropdown's), [1, N, H, W]."""
        layer = layer or self.layer.value
        image = self._image()
        key = (self.picker.value, layer)
        if key not in self._cache:
            with torch.no_grad():
                self._cache[key] = self.vgg(image.to(self.vgg.device), [layer])[layer].cpu()
        return self._cache[key]

    def _on_layer(self, change: dict[str, Any]) -> None:
        n = filters(change["new"])
        if self.channel.value > n - 1:
            self.channel.value = 0  # triggers a render
        self.channel.max = n - 1
        self.render()

    def _on_strongest(self, _: Any) -> None:
        self.channel.value = strongest_channels(self.activation(), 1)[0]

    def render(self) -> None:
        """Redraw the input and the chosen map (errors are shown, never raised)."""
        try:
            act = self.activation()
            image = self._image()
        except NSTError as exc:
            self.info.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            return
        layer, c = self.layer.value, min(self.channel.value, act.shape[1] - 1)
        fmap = act[0, c]
        self.image.value = self._figure_png(_map_figure(image, act, layer, c))
        r = receptive_field(layer)
        self.info.value = _(
            "{layer}: N_l = {n} maps of {h} × {w} (M_l = {m:,}); each value sees {r} × {r} px "
            "of the input. Map {c}: mean {mean:.3g}, max {max:.3g}, {zero:.0%} of positions ≤ 0."
        ).format(
            layer=layer_label(layer),
            n=act.shape[1],
            h=act.shape[2],
            w=act.shape[3],
            m=act.shape[2] * act.shape[3],
            r=r,
            c=c,
            mean=float(fmap.mean()),
            max=float(fmap.max()),
            zero=float((fmap <= 0).float().mean()),
        )
