"""What VGG19's layers hold and see (Gatys et al. 2016, Sec. 2: layer l's responses are a matrix
F^l ∈ R^{N_l × M_l}, N_l maps of M_l = height × width positions): lesson 01's architecture table,
feature maps, receptive fields and ``FeatureMapViewer``, lesson 02's pre- vs post-ReLU comparison,
lesson 03's Gram heatmaps. Layer names, N_l and sizes come from ``nst_helpers.layers``."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..errors import NSTError, ParameterError
from ..i18n import N_, _
from ..images import to_pil
from ..layers import LAYER_NAMES, PAPER_STYLE_LAYERS, check_layers, downsampling, filters
from ..vgg import VGG19Features, layer_shapes
from .cjk_font import use_language_font

#: The layers the paper reconstructs content from (Fig. 1, bottom row), by this package's names:
#: the paper's conv1_2 … conv5_2 are the rectified (post-ReLU) activations.
CONTENT_SERIES: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2")
#: The style layer sets of the paper's Fig. 1, top row: conv1_1, then conv1_1 + conv2_1, … up to
#: conv1_1 … conv5_1 (post-ReLU).
TEXTURE_SERIES = tuple(PAPER_STYLE_LAYERS[:last] for last in range(1, 6))
#: Kernel side k_l of each kind of layer: 3×3 convolutions, 2×2 pools, a ReLU acts value by value.
KERNEL = {"conv": 3, "relu": 1, "pool": 2}
#: The layers the receptive-field figures show by default.
FIELD_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_2", "relu5_1")


def layer_kind(layer: str) -> str:
    """``"conv"``, ``"relu"`` or ``"pool"`` (``ParameterError`` for an unknown layer)."""
    return check_layers([layer])[0][:4]


def paper_name(layer: str) -> str:
    """The paper's name of a layer: ``relu4_2`` → ``conv4_2`` (the paper's conv4_2 is rectified:
    see ``nst_helpers.layers``); other layers keep theirs."""
    return "conv" + layer[4:] if layer_kind(layer) == "relu" else layer


def layer_label(layer: str) -> str:
    """A title for figures: ``relu4_2`` → "conv4_2 (relu4_2)", ``conv4_2`` → "conv4_2, pre-ReLU"."""
    kind = layer_kind(layer)
    if kind == "relu":
        return f"{paper_name(layer)} ({layer})"
    return _("{layer}, pre-ReLU").format(layer=layer) if kind == "conv" else layer


def layers_label(layers: Sequence[str]) -> str:
    """A short title for a set of layers by the paper's names: "conv1_1 … conv3_1" or "conv1_1"."""
    names = [paper_name(n) for n in check_layers(layers)]
    if len(names) <= 2:
        return " + ".join(names) or _("no layers")
    return _("{first} … {last} ({n} layers)").format(first=names[0], last=names[-1], n=len(names))


def receptive_fields(layers: Iterable[str] | None = None) -> dict[str, tuple[int, int]]:
    """(receptive field r_l, stride j_l) in input pixels of ``layers`` (None: all), network order:
    one value of layer l depends on an r_l × r_l square of the input, neighbouring values are j_l
    pixels apart. r_l = r_{l-1} + (k_l − 1)·j_{l-1} from r_0 = 1; j_l is ``layers.downsampling``.
    Padding moves the square near the borders but does not change its size. Lesson 01, § 3."""
    wanted = set(LAYER_NAMES if layers is None else check_layers(layers))
    r, j, found = 1, 1, {}
    for name in LAYER_NAMES:
        r, j = r + (KERNEL[name[:4]] - 1) * j, downsampling(name)
        if name in wanted:
            found[name] = (r, j)
    return found


def receptive_field(layer: str) -> int:
    """The side r_l, in input pixels, of the square of the image one value of ``layer`` sees."""
    return receptive_fields([layer])[layer][0]


def gradient_footprint(vgg: VGG19Features, image: torch.Tensor, layer: str) -> torch.Tensor:
    """Where one position of ``layer`` looks: |∂a/∂x| per input pixel, shape [H, W].

    ``a`` is the sum over the layer's maps of the activation at the centre position. Its gradient
    is 0 outside the r_l × r_l square of ``receptive_fields`` (clipped at the image border);
    inside, a few pixels may get 0 too (a ReLU that is off, a max pool that took a neighbour).
    """
    x = image.detach().to(vgg.device).clone().requires_grad_(True)
    act = vgg(x, [layer])[layer]
    act[0, :, act.shape[2] // 2, act.shape[3] // 2].sum().backward()
    return x.grad[0].abs().sum(0).cpu()  # type: ignore[index]


def footprint_extent(footprint: torch.Tensor) -> tuple[int, int]:
    """(rows, columns) spanned by the non-zero pixels of a ``gradient_footprint``."""
    rows, cols = (torch.nonzero(footprint.sum(d)).flatten() for d in (1, 0))
    if rows.numel() == 0:
        return 0, 0
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def show_gradient_footprints(vgg: VGG19Features, image: torch.Tensor,
                             layers: Sequence[str] = FIELD_LAYERS) -> Figure:  # fmt: skip
    """For each layer, the pixels one central value depends on (measured by backpropagation),
    titled with r_l from the formula and the measured extent."""
    layers, (h, w) = check_layers(layers), image.shape[-2:]
    use_language_font()
    size = (2.8 * len(layers), 2.8 * h / w + 0.9)
    fig, axes = plt.subplots(1, len(layers), figsize=size, squeeze=False, layout="constrained")
    title = _("{layer}: formula {r} px\nmeasured {rows} × {cols} px")
    for ax, name in zip(axes[0], layers, strict=True):
        fp = gradient_footprint(vgg, image, name)
        rows, cols = footprint_extent(fp)
        ax.imshow(to_pil(image), alpha=0.35)
        ax.imshow((fp > 0).float().numpy(), cmap="Reds", alpha=0.65, vmin=0, vmax=1)
        r = receptive_field(name)
        ax.set_title(title.format(layer=paper_name(name), r=r, rows=rows, cols=cols), fontsize=9)
        ax.axis("off")
    fig.suptitle(_("Pixels that one value at the centre depends on (red): the receptive field"))
    return fig


def show_receptive_fields(image: torch.Tensor, layers: Sequence[str] = FIELD_LAYERS) -> Figure:
    """The r_l × r_l square of the image that one value at the centre of each layer depends on."""
    layers, (h, w) = check_layers(layers), image.shape[-2:]
    use_language_font()
    fig, ax = plt.subplots(figsize=(6, 6 * h / w))
    ax.imshow(to_pil(image))
    colours = plt.get_cmap("autumn")([i / max(1, len(layers) - 1) for i in range(len(layers))])
    for name, colour in zip(layers, colours, strict=True):
        r = receptive_field(name)
        label, corner = f"{paper_name(name)}: {r} × {r} px", (w // 2 - r / 2, h // 2 - r / 2)
        ax.add_patch(Rectangle(corner, r, r, fill=False, edgecolor=colour, lw=2, label=label))
    ax.set(xlim=(0, w), ylim=(h, 0))
    ax.set_title(_("What one value at the centre sees (image {h} × {w} px)").format(h=h, w=w))
    ax.axis("off")
    ax.legend(loc="lower left", fontsize=8, framealpha=0.8)
    fig.tight_layout()
    return fig


class LayerRow(NamedTuple):
    """One row of ``architecture_table``: a convolution (by the paper's name) or a pool."""

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


#: ``table_html``'s headings, in English (shown in the lessons' language).
COLUMNS = (N_("layer (paper)"), N_("names here"), N_("N_l (maps)"), "H_l × W_l", "M_l = H_l·W_l",
           "N_l·M_l", N_("receptive field"))  # fmt: skip


def architecture_table(image_size: Sequence[int],
                       include_pools: bool = True) -> dict[str, LayerRow]:  # fmt: skip
    """VGG19's 16 convolutions (and 5 pools) for an input of ``image_size`` = (H, W): the paper's
    name → ``LayerRow`` (N_l, H_l, W_l, M_l, r_l, j_l), in network order, from ``nst.layer_shapes``
    without running the network. A convolution's row stands for ``conv1_1`` (before the ReLU) and
    ``relu1_1`` (after it; same shape). Lesson 01; ``table_html`` shows it."""
    shapes, fields = layer_shapes(image_size), receptive_fields()
    kinds = ("conv", "pool") if include_pools else ("conv",)
    return {
        name: LayerRow(name, f"{name} / relu{name[4:]}" if name[:4] == "conv" else name,
                       *shapes[name], *fields[name])
        for name in LAYER_NAMES if name[:4] in kinds
    }  # fmt: skip


def table_html(table: Mapping[str, LayerRow]) -> Any:
    """An ``architecture_table`` as an HTML table in the lessons' language (pools shaded),
    captioned with the input size; a notebook displays it as the cell's value."""
    from IPython.display import HTML

    first = next(iter(table.values()))  # conv1_1 keeps the input's size
    cell = "".join
    head = cell(f"<th>{html.escape(_(c))}</th>" for c in COLUMNS)
    body = cell(
        ("<tr style='background:#eef'>" if r.layer[:4] == "pool" else "<tr>")
        + cell(f"<td>{html.escape(c)}</td>" for c in (r.layer, r.package, f"{r.n}",
               f"{r.height} × {r.width}", f"{r.m:,}", f"{r.n * r.m:,}",
               f"{r.receptive_field} × {r.receptive_field} px"))
        + "</tr>"
        for r in table.values()
    )  # fmt: skip
    caption = _("VGG19 for an input of {h} × {w} px (H × W): every 3×3 convolution keeps the map "
                "size, every 2×2 pool halves it").format(h=first.height, w=first.width)  # fmt: skip
    return HTML(
        f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def plot_layer_sizes(image_size: Sequence[int]) -> Figure:
    """N_l, M_l and r_l of every convolution for an input of ``image_size`` (log scale): deeper,
    more maps, smaller maps, wider view."""
    use_language_font()
    rows = list(architecture_table(image_size, include_pools=False).values())
    fig, ax = plt.subplots(figsize=(9, 3.8))
    ax.plot([r.n for r in rows], "o-", label=_("N_l (feature maps)"))
    ax.plot([r.m for r in rows], "s-", label=_("M_l (positions per map)"))
    ax.plot([r.receptive_field for r in rows], "^-", label=_("receptive field side (px)"))
    ax.set_yscale("log")
    ax.set_xticks(range(len(rows)), [r.layer for r in rows], rotation=60, fontsize=8)
    ax.set(
        xlabel=_("layer (paper's name)"),
        ylabel=_("N_l, M_l (counts), receptive field (px); log scale"),
    )
    title = _("VGG19 for a {h} × {w} input: more maps, smaller maps, wider view")
    ax.set_title(title.format(h=rows[0].height, w=rows[0].width))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def strongest_channels(activation: torch.Tensor, k: int = 4) -> list[int]:
    """The ``k`` feature maps of an activation [1, N, H, W] with the largest mean activation
    (most "on" for this image)."""
    means = activation[0].flatten(1).mean(dim=1)  # F^l (N_l × M_l), averaged over positions
    return means.topk(min(int(k), means.numel())).indices.tolist()


def _map_panel(ax: Any, fmap: torch.Tensor, title: str, limit: float | None = None) -> Any:
    """Draw one feature map: from 0 (viridis), or with ``limit`` on a scale ±limit centred on 0
    (blue < 0 < red, for pre-ReLU values)."""
    values = fmap.detach().float().cpu().numpy()
    top = (float(values.max()) if limit is None else limit) or 1.0
    scale = dict(cmap="viridis", vmin=0.0) if limit is None else dict(cmap="RdBu_r", vmin=-top)
    shown = ax.imshow(values, vmax=top, **scale)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    return shown


def show_layer_overview(vgg: VGG19Features, image: torch.Tensor,
                        layers: Sequence[str] = PAPER_STYLE_LAYERS,
                        per_layer: int = 4) -> Figure:  # fmt: skip
    """One row per layer: the image, then the layer's ``per_layer`` most active feature maps,
    each titled with its index and size H_l × W_l (at the image's aspect ratio, so deeper rows
    look blockier)."""
    layers = check_layers(layers)
    use_language_font()
    with torch.no_grad():
        feats = vgg(image.to(vgg.device), layers)
    size = (2.2 * (per_layer + 1), 2.0 * len(layers))
    fig, axes = plt.subplots(len(layers), per_layer + 1, figsize=size, squeeze=False)
    title = _("{layer} map {c} ({h}×{w})")
    for row, name in zip(axes, layers, strict=True):
        act, (h, w) = feats[name].cpu(), feats[name].shape[2:]
        row[0].imshow(to_pil(image))
        row[0].set_title(_("input, for {layer}").format(layer=layer_label(name)), fontsize=9)
        for ax in row:
            ax.axis("off")
        for ax, c in zip(row[1:], strongest_channels(act, per_layer), strict=False):
            _map_panel(ax, act[0, c], title.format(layer=paper_name(name), c=c, h=h, w=w))
    fig.suptitle(_("The most active feature maps of each layer (bright = strong response)"))
    fig.tight_layout()
    return fig


class ReluComparison(NamedTuple):
    """A convolution's output before and after its ReLU, for one image (``compare_relu``)."""

    conv: str
    pre: torch.Tensor  # [1, N, H, W], the convolution's output (this package's convX_Y)
    post: torch.Tensor  # [1, N, H, W], after the ReLU (reluX_Y; the paper's "convX_Y")


def compare_relu(vgg: VGG19Features, image: torch.Tensor, conv: str = "conv4_2") -> ReluComparison:
    """The activations of ``conv`` (pre-ReLU) and of its ReLU for ``image`` (lesson 02)."""
    if layer_kind(conv) != "conv":
        raise ParameterError(f"compare_relu needs a convolution such as 'conv4_2', not {conv!r}")
    relu = "relu" + conv[4:]
    with torch.no_grad():
        feats = vgg(image.to(vgg.device), [conv, relu])
    return ReluComparison(conv, feats[conv].cpu(), feats[relu].cpu())


def plot_relu_comparison(comparison: ReluComparison, channel: int | None = None) -> Figure:
    """Histogram of the pre-ReLU values, then one map before and after the ReLU.

    Both maps share one colour scale centred on 0 (blue < 0 < red), so the values the ReLU sets
    to 0 turn white. ``channel=None`` picks the map closest to half negative: where the ReLU
    changes most.
    """
    use_language_font()
    pre, post, conv = comparison.pre, comparison.post, comparison.conv
    negative = (pre[0].flatten(1) < 0).float().mean(dim=1)
    c = int((negative - 0.5).abs().argmin()) if channel is None else int(channel)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), gridspec_kw={"width_ratios": [1.4, 1, 1]},
                             layout="constrained")  # fmt: skip
    axes[0].hist(pre.flatten().numpy(), bins=80, color="#888", log=True)
    axes[0].axvline(0.0, color="#b00", linewidth=1.5)
    axes[0].set(xlabel=_("{conv} value before the ReLU").format(conv=conv),
                ylabel=_("number of values (log scale)"))  # fmt: skip
    title = _("{conv}: {share:.0%} of values are < 0\n(left of the red line: the ReLU sets them "
              "to 0)").format(conv=conv, share=float((pre < 0).float().mean()))  # fmt: skip
    axes[0].set_title(title, fontsize=10)
    limit, after = (
        float(pre[0, c].abs().max()),
        _("map {c} after the ReLU\n({relu} = the paper's {name})"),
    )
    _map_panel(
        axes[1], pre[0, c], _("map {c} before the ReLU\n({name})").format(c=c, name=conv), limit
    )
    shown = _map_panel(
        axes[2], post[0, c], after.format(c=c, relu="relu" + conv[4:], name=conv), limit
    )
    fig.colorbar(shown, ax=list(axes[1:]), fraction=0.03, pad=0.02, label=_("activation"))
    return fig


def plot_grams(grams: Mapping[str, torch.Tensor], suptitle: str | None = None) -> Figure:
    """Gram matrices ([N, N] or [1, N, N]) as heatmaps side by side, each titled with its key
    (looked up in the catalog) and its N × N shape (lesson 03).

    All panels share one colour scale, clipped at the 99th percentile of the entries so that a few
    very large ones (energetic maps on the diagonal) do not wash out the rest.
    """
    use_language_font()
    mats = [g.detach().float().cpu().reshape(g.shape[-2:]) for g in grams.values()]
    top = max(float(torch.quantile(g.flatten(), 0.99)) for g in mats) or 1.0
    fig, axes = plt.subplots(1, len(mats), figsize=(4.2 * len(mats), 3.9), squeeze=False,
                             layout="constrained")  # fmt: skip
    for ax, title, g in zip(axes[0], grams, mats, strict=True):
        shown = ax.imshow(g.numpy(), cmap="magma", vmin=min(0.0, float(g.min())), vmax=top)
        ax.set_title(f"{_(str(title))}\n{g.shape[0]} × {g.shape[1]}", fontsize=9)
        ax.set(xlabel=_("feature map j"), ylabel=_("feature map i"))
    label = _("entry (clipped at 99%)")
    fig.colorbar(shown, ax=list(axes[0]), fraction=0.03, pad=0.02, label=label)
    if suptitle:
        fig.suptitle(_(suptitle))
    return fig


def _map_figure(image: torch.Tensor, activation: torch.Tensor, layer: str, channel: int) -> Figure:
    """The input beside one feature map of ``activation`` [1, N, H, W], at the image's aspect
    ratio (a pre-ReLU map on a scale centred on 0)."""
    use_language_font()
    (h, w), fmap = image.shape[-2:], activation[0, channel]
    fig = Figure(figsize=(8, 4 * h / w + 0.6))  # not pyplot: drawn into a widget, never inline
    axes = fig.subplots(1, 2)
    axes[0].imshow(to_pil(image))
    axes[0].set_title(_("input ({h} × {w} px)").format(h=h, w=w), fontsize=10)
    axes[0].axis("off")
    title = _("{layer}: map {c} of {n} ({h} × {w})").format(layer=layer_label(layer), c=channel,
              n=activation.shape[1], h=fmap.shape[0], w=fmap.shape[1])  # fmt: skip
    limit = float(fmap.abs().max()) if layer_kind(layer) == "conv" else None
    shown = _map_panel(axes[1], fmap, title, limit)
    fig.colorbar(shown, ax=axes[1], fraction=0.046, pad=0.04, label=_("activation"))
    fig.tight_layout()
    return fig


class FeatureMapViewer:
    """A layer dropdown, a channel slider and an image picker; shows the input and one map.

    ``widget`` is what the notebook displays. The activation of the chosen layer is computed once
    per (image, layer) and cached, so moving the channel slider only redraws. Lesson 01.
    """

    def __init__(self, vgg: VGG19Features, size: int, layers: Sequence[str] | None = None,
                 layer: str = "relu3_1", default_image: str = "tubingen",
                 fallback: str = "grace_hopper") -> None:  # fmt: skip
        import ipywidgets as w

        from .widgets import ImagePicker

        self.vgg, self.size = vgg, int(size)
        names = check_layers(layers if layers is not None else LAYER_NAMES)
        self.picker = ImagePicker(_("image"), default_image, fallback)
        maps = _("{layer} · {n} maps")
        self.layer = w.Dropdown(
            options=[(maps.format(layer=layer_label(n), n=filters(n)), n) for n in names],
            value=layer if layer in names else names[0], description=_("layer"))  # fmt: skip
        self.channel = w.IntSlider(
            value=0, min=0, max=filters(self.layer.value) - 1, description=_("map (channel)"),
            style={"description_width": "initial"}, continuous_update=False,
            layout=w.Layout(width="32em"))  # fmt: skip
        self.strongest = w.Button(description=_("most active map"), tooltip=_("jump to the map"))
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.info = w.HTML()
        self._cache: dict[tuple[str, str], torch.Tensor] = {}  # (image, layer or "input")
        self.layer.observe(self._on_layer, names="value")
        for control in (self.channel, self.picker.dropdown):
            control.observe(lambda _: self.render(), names="value")
        strongest = lambda _: strongest_channels(self.activation(), 1)[0]  # noqa: E731
        self.strongest.on_click(lambda b: setattr(self.channel, "value", strongest(b)))
        controls = [self.picker, w.HBox([self.layer, self.strongest]), self.channel]
        self.widget = w.VBox([*controls, self.image, self.info])
        self.render()

    def _image(self) -> torch.Tensor:
        if (key := (self.picker.value, "input")) not in self._cache:
            self._cache[key] = self.picker.image(self.size)
        return self._cache[key]

    def activation(self, layer: str | None = None) -> torch.Tensor:
        """The chosen image's activation at ``layer`` (default: the dropdown's), [1, N, H, W]."""
        key = (self.picker.value, layer or self.layer.value)
        if key not in self._cache:
            with torch.no_grad():
                self._cache[key] = self.vgg(self._image().to(self.vgg.device), [key[1]])[key[1]]
        return self._cache[key].cpu()

    def _on_layer(self, change: dict[str, Any]) -> None:
        self.channel.max = filters(change["new"]) - 1  # lowers the channel if needed
        self.render()

    def render(self) -> None:
        """Redraw the input and the chosen map (errors are shown, never raised)."""
        from .plots import figure_png

        try:
            act, image = self.activation(), self._image()
        except NSTError as exc:
            self.info.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            return
        (n, h, w), layer = act.shape[1:], self.layer.value
        c = min(self.channel.value, n - 1)
        fmap = act[0, c]
        self.image.value = figure_png(_map_figure(image, act, layer, c))
        self.info.value = _(
            "{layer}: N_l = {n} maps of {h} × {w} (M_l = {m:,}); each value sees {r} × {r} px "
            "of the input. Map {c}: mean {mean:.3g}, max {max:.3g}, {zero:.0%} of positions ≤ 0."
        ).format(layer=layer_label(layer), n=n, h=h, w=w, m=h * w, r=receptive_field(layer), c=c,
                 mean=float(fmap.mean()), max=float(fmap.max()),
                 zero=float((fmap <= 0).float().mean()))  # fmt: skip
