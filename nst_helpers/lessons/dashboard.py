"""The style-transfer control panel of lesson 04: the paper's choices as widgets (an ``Options``),
a live view of the image and the loss curves, and Run / Stop buttons that work while it runs.

Runs go through ``background.PanelRuns`` (a thread ended by Stop, keeping the best image so far;
in Colab the calling cell); making the panel again stops the earlier panel's run, and
``lessons.stop_all()`` stops every run. The α/β slider starts at the loaded network's default
(``options.default_beta(vgg)``) and its note gives the paper's equivalent for that network.

DOM contract (the browser tests rely on it): the root has class ``nst-dashboard``; the number of
evaluations is a ``BoundedIntText`` with class ``nst-steps``; the buttons "Run" and "Stop" have
classes ``nst-run`` and ``nst-stop``; the live image is an ``Image`` with class
``nst-live-image``; the loss plot an ``Image`` (PNG) with class ``nst-loss-plot``; a ``Label``
with class ``nst-status`` says "running", "stopped" or "finished" and "evaluation N" (with
``NST_LANG=zh``: 运行中, 已停止 or 完成 and 第 N 次评估).
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import ipywidgets as w
import torch
from matplotlib.figure import Figure

from ..engine import Record, Result
from ..errors import ParameterError
from ..i18n import _
from ..images import save_image, unique_path
from ..layers import LAYER_NAMES, PAPER_CONTENT_LAYERS
from ..options import DEFAULT_LR, Options, default_beta, paper_equivalent
from ..transfer import StyleTransfer
from ..vgg import VGG19Features
from .background import PanelRuns, foreground_hint
from .cjk_font import use_language_font
from .plots import figure_png, plot_history, png_bytes
from .widgets import ImagePicker, LayerWeights, log_slider

#: Layers offered as the content layer: every convolution and its rectification.
CONTENT_LAYER_CHOICES: tuple[str, ...] = tuple(n for n in LAYER_NAMES if not n.startswith("pool"))
#: The largest image the panel offers on a CPU: a run's memory grows with the area (measured in a
#: fresh process, paper layers: +0.97 GB at 512 px, +1.4 GB at 640 px), and a Binder or JupyterHub
#: kernel of 2 GB already holds ~0.9 GB; at 384 px a run adds ~0.55 GB. A GPU's memory is its own.
MAX_SIZE = {"cpu": 384, "other": 1024}
_WIDE = {"description_width": "initial"}
_BUTTONS = {**_WIDE, "button_width": "6em"}


def loss_png(history: list[Record]) -> bytes:
    """The panel's loss plot of a run's history, as PNG bytes (not pyplot: safe in a thread)."""
    use_language_font()
    fig = Figure(figsize=(5.6, 3.6))
    plot_history(history, ax=fig.subplots(), title=_("Loss during the run"))
    return figure_png(fig, dpi=72)


def result_text(result: Result, steps: int) -> str:
    """The status line after a run: how it ended and which evaluation the image is from."""
    n, best = result.evaluations, result.best_evaluation
    if result.stop_reason == "completed":
        return _(
            "finished: evaluation {n} of {steps} in {seconds:.0f} s; "
            "showing the best image (evaluation {best})"
        ).format(n=n, steps=steps, seconds=result.seconds, best=best)
    if result.stop_reason == "stopped":
        return _("stopped at evaluation {n} of {steps}; showing the best image so far "
                 "(evaluation {best})").format(n=n, steps=steps, best=best)  # fmt: skip
    return _("stopped at evaluation {n} of {steps}: {message}").format(
        n=n, steps=steps, message=result.message
    )


def ratio_note(ratio: float, network: str, side: int) -> str:
    """What the α/β slider's value means in the paper's terms (lesson 04, "Why is β 10⁹ here?")."""
    paper = paper_equivalent(ratio, (side, side), network)
    return _(
        "α/β = {ratio:.1e} ≈ the paper's {paper:.0e} (with {network}'s weights, for a "
        "{side}×{side} image; notebook 04, section 8)"
    ).format(ratio=ratio, paper=paper, network=network, side=side)


def pre_relu_note(layer: str) -> str:
    """The note shown while a convolution's output (before its ReLU) is the content layer."""
    if not layer.startswith("conv"):
        return ""
    return _(
        "{layer} here is the value before the ReLU; the paper's {layer} is the rectified "
        "{relu} (its Caffe network applied the ReLUs in place). Lesson 02, section 4."
    ).format(layer=layer, relu="relu" + layer[4:])


class StyleDashboard(PanelRuns, w.VBox):
    """A control panel for the whole optimisation, with a live view; ``run()`` / ``stop()``.

    ``vgg`` is the network (None: ``Options.weights``'s, loaded once); the other pooling uses the
    same weights with it (``VGG19Features.with_pooling``, built once). ``size`` and ``steps`` are
    the initial image size and number of evaluations, ``precision`` the network pass's
    (``Options.precision``; a profile's ``precision``). The live image and the loss plot update
    after the first evaluation and every ``update_every``; the status line after each.
    ``settings()`` is the run the controls describe; after a run, ``result`` holds its ``Result``.
    ``mode``: "thread" or "foreground" (default: ``runtime.panel_mode()``).
    """

    def __init__(
        self,
        vgg: VGG19Features | None = None,
        *,
        size: int = 256,
        steps: int = 300,
        content: str = "tubingen",
        style: str = "starry_night",
        content_fallback: str = "grace_hopper",
        style_fallback: str = "waves",
        update_every: int = 5,
        save_as: str = "outputs/style-transfer.png",
        precision: str = "fp32",
        mode: str | None = None,
    ) -> None:
        self.vgg, self._pooled, self.precision = vgg, {}, precision
        self.network = getattr(vgg, "network", "torchvision")
        self.update_every = max(1, int(update_every))
        self.transfer: StyleTransfer | None = None
        self._start_runs(mode, "nst-dashboard")
        self.content_picker = ImagePicker(_("content"), content, content_fallback, kind="content")
        self.style_picker = ImagePicker(_("style"), style, style_fallback, kind="style")
        self._build_settings(vgg, size, steps)
        self._build_actions(save_as)
        super().__init__(self._layout())
        self.add_class("nst-dashboard")

    def _build_settings(self, vgg: VGG19Features | None, size: int, steps: int) -> None:
        self.content_layer = w.Dropdown(options=CONTENT_LAYER_CHOICES,
                                        value=PAPER_CONTENT_LAYERS[0],
                                        description=_("content layer"), style=_WIDE)  # fmt: skip
        self.layer_note = w.HTML()
        self.style_layers = LayerWeights(description=_("style layers and their weights w_l"))
        exponent = math.floor(math.log10(1.0 / default_beta(vgg)))  # 5 decades below, 6 above
        self.ratio = log_slider("α/β", 1.0 / default_beta(vgg), exponent - 5, exponent + 6)
        self.ratio_note = w.HTML()
        starts = [(_("content"), "content"), (_("style"), "style"), (_("noise"), "noise")]
        self.init = w.ToggleButtons(options=starts, description=_("start from"), style=_BUTTONS)
        self.seed = w.BoundedIntText(value=0, min=0, max=2**31 - 1, description=_("noise seed"),
                                     style=_WIDE)  # fmt: skip
        self.optimizer = w.ToggleButtons(options=[("L-BFGS", "lbfgs"), ("Adam", "adam")],
                                         description=_("optimiser"), style=_BUTTONS)  # fmt: skip
        self.lr = log_slider(_("learning rate"), DEFAULT_LR["lbfgs"], -3, 1)
        tips = [_("torchvision's VGG19"), _("the paper's choice")]
        self.pooling = w.ToggleButtons(options=[(_("max"), "max"), (_("average"), "avg")],
                                       value=getattr(vgg, "pooling", "max"), style=_BUTTONS,
                                       description=_("pooling"), tooltips=tips)  # fmt: skip
        on_cpu = getattr(vgg, "device", torch.device("cpu")).type == "cpu"
        largest = MAX_SIZE["cpu" if on_cpu else "other"]
        self.size = w.BoundedIntText(value=min(size, largest), min=32, max=largest, step=16,
                                     description=_("image size (px)"), style=_WIDE)  # fmt: skip
        self.size.add_class("nst-size")
        self.steps = w.BoundedIntText(
            value=steps, min=1, max=100_000, description=_("evaluations"), style=_WIDE
        )
        self.steps.add_class("nst-steps")
        self.optimizer.observe(lambda c: setattr(self.lr, "value", DEFAULT_LR[c["new"]]), "value")
        for widget in (self.ratio, self.size, self.content_layer):
            widget.observe(lambda _: self._update_notes(), names="value")
        self._update_notes()

    def _build_actions(self, save_as: str) -> None:
        self.run_button = w.Button(description=_("Run"), button_style="success", icon="play")
        self.stop_button = w.Button(
            description=_("Stop"), button_style="danger", icon="stop", disabled=True
        )
        self.status = w.Label(value=_("ready: press Run (evaluation 0)"))
        self.hint = w.HTML(f"<small>{foreground_hint()}</small>" if self.runner.foreground else "")
        # a fixed width, the height from the image: pictures keep their aspect ratio
        picture = {"height": "auto", "align_self": "flex-start", "object_fit": "contain"}
        blank = png_bytes(torch.full((1, 3, 96, 128), 0.92))
        self.live_image = w.Image(value=blank, layout=w.Layout(width="320px", **picture))
        self.loss_plot = w.Image(value=loss_png([]), layout=w.Layout(width="420px", **picture))
        for widget, name in ((self.run_button, "run"), (self.stop_button, "stop"),
                             (self.status, "status"), (self.live_image, "live-image"),
                             (self.loss_plot, "loss-plot")):  # fmt: skip
            widget.add_class(f"nst-{name}")
        self.save_name = w.Text(value=save_as, description=_("save as"), style=_WIDE)
        self.overwrite = w.Checkbox(value=False, description=_("overwrite an existing file"))
        self.save_button = w.Button(description=_("Save PNG"), icon="save", disabled=True)
        self.save_message = w.HTML()
        self.run_button.on_click(lambda _: self._click(self.run))
        self.stop_button.on_click(lambda _: self.stop())
        self.save_button.on_click(lambda _: self._save_from_button())

    def _layout(self) -> list[w.Widget]:
        settings = w.VBox([self.content_layer, self.layer_note, self.ratio, self.ratio_note,
                           w.HBox([self.init, self.seed]), w.HBox([self.optimizer, self.lr]),
                           self.pooling, w.HBox([self.size, self.steps])])  # fmt: skip
        buttons = [self.run_button, self.status]
        if not self.runner.foreground:
            buttons.insert(1, self.stop_button)
        title = _("Style transfer: L = α L_content + β L_style")
        return [w.HTML(f"<h3 style='margin:0'>{title}</h3>"),
                w.HBox([self.content_picker, self.style_picker]),
                w.HBox([settings, self.style_layers]), w.HBox(buttons), self.hint,
                w.HBox([self.live_image, self.loss_plot]),
                w.HBox([self.save_name, self.overwrite, self.save_button]),
                self.save_message]  # fmt: skip

    def _update_notes(self) -> None:
        note = ratio_note(self.ratio.value, self.network, int(self.size.value))
        self.ratio_note.value = f"<small>{note}</small>"
        layer = pre_relu_note(self.content_layer.value)
        self.layer_note.value = f"<small>{layer}</small>" if layer else ""

    def settings(self) -> Options:
        """The run the controls describe (α = 1, β = 1/(α/β)); ``ParameterError`` when one is
        impossible (no style layer ticked)."""
        weights = self.style_layers.weights
        if not weights:
            raise ParameterError(_("tick at least one style layer"))
        return Options(content_layers=(self.content_layer.value,), style_layers=tuple(weights),
                       style_weights=weights, beta=1.0 / float(self.ratio.value),
                       init=self.init.value, seed=int(self.seed.value), lr=float(self.lr.value),
                       optimizer=self.optimizer.value, steps=int(self.steps.value),
                       size=int(self.size.value), pooling=self.pooling.value,
                       precision=self.precision)  # fmt: skip

    def _network(self, pooling: str) -> VGG19Features | None:
        """The given network with ``pooling`` (its own weights), built once; None without one."""
        if self.vgg is not None and pooling not in self._pooled:
            self._pooled[pooling] = self.vgg.with_pooling(pooling)
        return self._pooled.get(pooling)

    def run(self, wait: bool = False, **changes: Any) -> threading.Thread | None:
        """Start a run with the controls' settings (``changes``: ``Options`` fields replacing
        some) in a thread, and return it (in foreground mode: here, returning None).
        ``wait=True`` joins the thread (headless runs, tests) and re-raises an error the run met.
        RuntimeError while another run is in progress."""
        if self.running:
            raise RuntimeError(_("a run is in progress: press Stop (or call stop()) first"))
        options = self.settings().replace(**changes)
        self.run_button.disabled, self.stop_button.disabled = True, False
        self.save_button.disabled = True
        self.status.value = _("running: preparing, evaluation 0 of {steps}").format(
            steps=options.steps
        )
        self.runner.start(lambda: self._work(options), wait=wait)
        return self.runner.thread

    def _finished(self) -> None:
        super()._finished()
        self.save_button.disabled = self.result is None

    def _work(self, options: Options) -> Result:
        """The run: load the images (and the network), optimise, show the result."""
        content = self.content_picker.image(options.size)
        style = self.style_picker.image(options.size)
        self.transfer = StyleTransfer(
            content, style, options, vgg=self._network(options.pooling),
            callback=self._on_evaluation, stop_event=self._stop_event,
        )  # fmt: skip
        result = self.transfer.run()
        self.live_image.value = png_bytes(result.image)
        self.loss_plot.value = loss_png(result.history)
        self.status.value = result_text(result, options.steps)
        return result

    def _on_evaluation(self, transfer: StyleTransfer, record: Record) -> None:
        k, each = record["evaluation"], record["seconds"] / record["evaluation"]
        self.status.value = _("running: evaluation {k} of {steps} · total loss {total:.4g} · "
                              "{each:.2f} s per evaluation").format(
            k=k, steps=transfer.steps, total=record["total"], each=each)  # fmt: skip
        if k == 1 or k % self.update_every == 0:
            self.live_image.value = png_bytes(transfer.image)
            self.loss_plot.value = loss_png(transfer.history)

    def save(self, path: str | Path | None = None, *, overwrite: bool | None = None) -> Path:
        """Save the result as an image; an existing file is kept (a free name like
        ``result-1.png`` is used) unless ``overwrite`` (default: the checkbox)."""
        if self.result is None:
            raise RuntimeError(_("there is no result to save yet: press Run first"))
        overwrite = self.overwrite.value if overwrite is None else overwrite
        target = Path(path if path is not None else self.save_name.value).expanduser()
        return save_image(self.result.image, target if overwrite else unique_path(target),
                          overwrite=overwrite)  # fmt: skip

    def _save_from_button(self) -> None:
        try:
            self.save_message.value = _("Saved {path}").format(path=self.save())
        except Exception as exc:
            message = _("Not saved: {error}").format(error=exc)
            self.save_message.value = f"<span style='color:#b00'>{message}</span>"
