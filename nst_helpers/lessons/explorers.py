"""The button-driven experiments of lessons 02, 03 and 07, each a new optimisation per press.

- ``ReconstructionExplorer`` (lesson 02, paper Fig. 1 bottom): an image rebuilt from white noise
  from one layer's activations alone (only L_content, Eq. 1);
- ``TextureExplorer`` (lesson 03, Fig. 1 top): a texture grown from noise matching a painting's
  Gram matrices at the ticked layers, with weights w_l (only L_style = Σ w_l E_l, Eq. 5);
- ``BlendExplorer`` (lesson 07): a photograph in a blend of two paintings' styles,
  A^l = (1 − w) A^l_A + w A^l_B with w from a slider.

Runs go through ``background.PanelRuns`` (a thread ended by Stop, or the calling cell where
threads are not supported); making a panel again stops the earlier one's run. Headless runs and
tests call ``run(wait=True)``, which joins the thread and re-raises an error the run met.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as w
import torch
import torch.nn.functional as tf

from ..engine import Record, Result
from ..errors import ParameterError
from ..i18n import N_, _
from ..layers import LAYER_NAMES, PAPER_STYLE_LAYERS
from ..transfer import StyleTransfer
from ..vgg import VGG19Features
from .background import PanelRuns, foreground_hint
from .convergence import final_losses
from .features import CONTENT_SERIES, layer_label, layers_label, paper_name
from .plots import png_bytes
from .widgets import ImagePicker, LayerWeights

_WIDE = {"description_width": "initial"}

#: How a run ended (``Result.stop_reason``), in English (``stop_reason_text`` translates).
STOP_REASONS = {
    "completed": N_("completed"),
    "stopped": N_("stopped"),
    "interrupted": N_("interrupted"),
    "non-finite": N_("non-finite"),
    "out-of-memory": N_("out of memory"),
}


def stop_reason_text(reason: str) -> str:
    """``Result.stop_reason`` in the lessons' language (an unknown reason as it is)."""
    return _(STOP_REASONS[reason]) if reason in STOP_REASONS else reason


def evaluations_slider(default: int, description: str | None = None) -> w.IntSlider:
    """A slider of evaluations from about a tenth to four times ``default`` (a profile's steps):
    10 … 600 in steps of 10 for the lab profile's 150, 1 … 12 for the smoke profile's 3."""
    default = max(1, int(default))
    step = max(1, default // 15)
    return w.IntSlider(value=default, min=step, max=max(step, 4 * default // step * step),
                       step=step, description=description or _("evaluations"), style=_WIDE,
                       continuous_update=False, layout=w.Layout(width="30em"))  # fmt: skip


class _RunPanel(PanelRuns, w.VBox):
    """A form, Run / Stop buttons, a progress bar, the target image beside the live result.

    Subclasses give the form (``_controls()``: widgets), a short description of the run
    (``_describe()``) and its inputs (``_inputs()``: content, style and ``StyleTransfer`` options;
    it shows the target). ``run_label`` and ``target_title`` are English (``N_``), shown in the
    lessons' language. ``size`` is the images' long side, ``steps`` the default evaluations,
    ``mode`` "thread" or "foreground" (default: ``runtime.panel_mode()``).
    """

    run_label = N_("Run")
    target_title = N_("target")

    def __init__(self, vgg: VGG19Features, *, size: int, steps: int, update_every: int = 5,
                 mode: str | None = None) -> None:  # fmt: skip
        self.vgg, self.size, self.update_every = vgg, int(size), max(1, int(update_every))
        self._start_runs(mode, "nst-explorer")
        self.steps = evaluations_slider(steps)
        run_label = _(self.run_label)
        self.run_button = w.Button(description=run_label, button_style="primary", icon="play")
        self.stop_button = w.Button(description=_("Stop"), icon="stop", disabled=True)
        self.progress = w.IntProgress(value=0, max=self.steps.value, description=_("progress"))
        self.status = w.Label(
            value=_("press {run} to start (images of {size} px)").format(run=run_label, size=size)
        )
        self.hint = w.HTML(f"<small>{foreground_hint()}</small>" if self.runner.foreground else "")
        image_layout = w.Layout(width="300px", height="auto")
        self.target_view = w.Image(format="png", layout=image_layout)
        self.live_view = w.Image(format="png", layout=image_layout)
        self.run_button.on_click(lambda _: self._click(self.run))
        self.stop_button.on_click(lambda _: self.stop())
        titles = [w.HTML(f"<b>{_(t)}</b>") for t in (self.target_title, N_("result (live)"))]
        views = w.HBox([w.VBox([titles[0], self.target_view]), w.VBox([titles[1], self.live_view])])
        buttons = [self.run_button, self.progress]
        if not self.runner.foreground:
            buttons.insert(1, self.stop_button)
        super().__init__(
            [*self._controls(), self.steps, w.HBox(buttons), self.hint, self.status, views]
        )

    def run(self, wait: bool = False) -> Result | None:
        """Start a new optimisation with the form's settings (a background thread, or this cell).

        The images and the targets are prepared here, so a bad choice (no layer ticked, an image
        too small) is refused at once with its message. ``wait=True`` joins the thread and returns
        the ``Result`` (headless runs, tests). RuntimeError while another run is in progress.
        """
        if self.running:
            raise RuntimeError(_("a run is in progress: press Stop first"))
        content, style, changes = self._inputs()
        transfer = StyleTransfer(content, style, vgg=self.vgg, steps=int(self.steps.value),
                                 snapshot_at=(), callback=self._on_evaluation,
                                 stop_event=self._stop_event, **changes)  # fmt: skip
        self.progress.max, self.progress.value = transfer.steps, 0
        self.run_button.disabled, self.stop_button.disabled = True, False
        self.status.value = _("running: {what}").format(what=self._describe())
        return self.runner.start(lambda: self._work(transfer), wait=wait)

    def _work(self, transfer: StyleTransfer) -> Result:
        result = transfer.run()
        self.live_view.value = png_bytes(result.image)
        self.progress.value = result.evaluations
        first, last = result.history[0]["total"], result.history[-1]["total"]
        self.status.value = _(
            "{ending}: {what} · {n} evaluations in {seconds:.0f} s · loss {first:.3g} → {last:.3g}"
        ).format(ending=stop_reason_text(result.stop_reason), what=self._describe(),
                 n=result.evaluations, seconds=result.seconds, first=first, last=last)  # fmt: skip
        return result

    def _on_evaluation(self, transfer: StyleTransfer, record: Record) -> None:
        k = record["evaluation"]
        self.progress.value = k
        if k == 1 or k % self.update_every == 0:
            self.live_view.value = png_bytes(transfer.image)
            self.status.value = _(
                "running: {what} · evaluation {k} of {steps} · loss {total:.3g} · "
                "{each:.2f} s per evaluation"
            ).format(what=self._describe(), k=k, steps=transfer.steps, total=record["total"],
                     each=record["seconds"] / k)  # fmt: skip


class ReconstructionExplorer(_RunPanel):
    """Reconstruct an image from white noise using one layer's activations (paper Fig. 1, bottom).

    Minimises only L_content = ½ Σ (F − P)² at the chosen layer. ``layers`` are the choices (all
    convolutions and their ReLUs by default: the paper's conv4_2 is ``relu4_2``, the value before
    the ReLU ``conv4_2``); ``panel``: ``size``, ``steps`` (a profile's ``small_size`` and
    ``small_steps``), ``update_every``, ``mode``.
    """

    run_label = N_("Reconstruct")
    target_title = N_("the image (its activations are the target P)")

    def __init__(self, vgg: VGG19Features, *, layers: Sequence[str] | None = None,
                 layer: str = "relu4_2", image: str = "tubingen", fallback: str = "grace_hopper",
                 **panel: Any) -> None:  # fmt: skip
        names = list(layers) if layers is not None else [n for n in LAYER_NAMES if n[:4] != "pool"]
        self.picker = ImagePicker(_("image"), image, fallback, kind="content")
        choices = [(layer_label(n) + (" ★" if n in CONTENT_SERIES else ""), n) for n in names]
        self.layer = w.Dropdown(options=choices, value=layer if layer in names else names[0],
                                description=_("layer"), style=_WIDE)  # fmt: skip
        super().__init__(vgg, **panel)

    def _controls(self) -> list[w.Widget]:
        note = _(
            "★ the paper's five layers (Fig. 1). The paper's conv4_2 is the value after "
            "the ReLU, called relu4_2 here; choose '{pre}' to compare."
        ).format(pre=layer_label("conv4_2"))
        return [self.picker, self.layer, w.HTML(f"<small>{note}</small>")]

    def _describe(self) -> str:
        return _("content of {layer}").format(layer=layer_label(self.layer.value))

    def _inputs(self) -> tuple[Any, Any, dict[str, Any]]:
        image = self.picker.image(self.size)
        self.target_view.value = png_bytes(image)
        return image, None, {"content_layers": [self.layer.value], "init": "noise"}


class TextureExplorer(_RunPanel):
    """Synthesise a texture from white noise matching a painting's Gram matrices (Fig. 1, top).

    Minimises only L_style = Σ_l w_l E_l over the ticked layers, with the sliders' weights
    (normalised to sum to 1). The texture has the painting's size (long side ``size``);
    ``panel`` as for ``ReconstructionExplorer``.
    """

    run_label = N_("Synthesise")
    target_title = N_("the painting (its Gram matrices are the targets A)")

    def __init__(self, vgg: VGG19Features, *, layers: Sequence[str] = PAPER_STYLE_LAYERS,
                 selected: Sequence[str] | None = None, image: str = "starry_night",
                 fallback: str = "waves", **panel: Any) -> None:  # fmt: skip
        self.picker = ImagePicker(_("painting"), image, fallback, kind="style")
        self.layer_weights = LayerWeights(
            layers, selected, description=_("style layers (tick) and their weights w_l")
        )
        super().__init__(vgg, **panel)

    def _controls(self) -> list[w.Widget]:
        return [self.picker, self.layer_weights]

    def _describe(self) -> str:
        layers = self.layer_weights.layers
        if not layers:
            return _("no layer ticked")
        return _("texture from {layers}").format(layers=layers_label(layers))

    def _inputs(self) -> tuple[Any, Any, dict[str, Any]]:
        weights = self.layer_weights.weights
        if not weights:
            raise ParameterError(_("tick at least one style layer"))
        image = self.picker.image(self.size)
        self.target_view.value = png_bytes(image)
        return None, image, {"style_layers": list(weights), "style_weights": weights,
                             "init": "noise"}  # fmt: skip


def side_by_side(images: Sequence[torch.Tensor], gap: int = 4) -> torch.Tensor:
    """Images [1, 3, H, W] resized to the smallest height (aspect kept) and joined left to right,
    ``gap`` white pixels apart: one picture of several (for an ``ipywidgets.Image``)."""
    height = min(int(img.shape[-2]) for img in images)
    parts: list[torch.Tensor] = []
    for img in images:
        width = max(1, round(img.shape[-1] * height / img.shape[-2]))
        if parts and gap:
            parts.append(torch.ones(1, 3, height, gap))
        parts.append(tf.interpolate(img.float(), size=(height, width), mode="bilinear",
                                    antialias=True).clamp(0, 1))  # fmt: skip
    return torch.cat(parts, dim=-1)


class BlendExplorer(_RunPanel):
    """A photograph in a blend of two paintings' styles (lesson 07; several styles).

    The style targets are the weighted sum of the two paintings' Gram matrices,
    A^l = (1 − w) A^l_A + w A^l_B (``StyleTransfer(style=[A, B], style_blend=[1 − w, w])``), with
    w the slider's "weight of B": 0 is painting A alone, 1 painting B alone. Everything else is
    the paper's setting at long side ``size`` (the photograph and both paintings), starting from
    ``init`` (a profile's ``init``); ``panel`` as for ``ReconstructionExplorer``.
    """

    target_title = N_("painting A (left) and painting B (right)")

    def __init__(self, vgg: VGG19Features, *, weight: float = 0.5, content: str = "tubingen",
                 content_fallback: str = "grace_hopper", style_a: str = "starry_night",
                 fallback_a: str = "waves", style_b: str = "the_scream", fallback_b: str = "mosaic",
                 init: str = "content", **panel: Any) -> None:  # fmt: skip
        self.init = init
        self.content_picker = ImagePicker(_("photograph"), content, content_fallback, "content")
        self.picker_a = ImagePicker(_("painting A"), style_a, fallback_a, kind="style")
        self.picker_b = ImagePicker(_("painting B"), style_b, fallback_b, kind="style")
        self.weight = w.FloatSlider(value=float(weight), min=0.0, max=1.0, step=0.05,
                                    description=_("weight of B, w"), readout_format=".2f",
                                    continuous_update=False, style=_WIDE,
                                    layout=w.Layout(width="30em"))  # fmt: skip
        super().__init__(vgg, **panel)
        self.add_class("nst-blend-explorer")

    def _controls(self) -> list[w.Widget]:
        formula = "A<sup>l</sup> = (1 − w) A<sup>l</sup><sub>A</sub> + w A<sup>l</sup><sub>B</sub>"
        note = _("{formula} at every style layer: w = 0 is painting A alone, 1 is B alone.")
        html = w.HTML(f"<small>{note.format(formula=formula)}</small>")
        return [self.content_picker, self.picker_a, self.picker_b, self.weight, html]

    @property
    def blend(self) -> list[float]:
        """The style weights [1 − w, w] of paintings A and B."""
        return [1.0 - float(self.weight.value), float(self.weight.value)]

    def _describe(self) -> str:
        a, b = self.blend
        return f"{a:.2f} × A + {b:.2f} × B"

    def _inputs(self) -> tuple[Any, Any, dict[str, Any]]:
        content = self.content_picker.image(self.size)
        paintings = [self.picker_a.image(self.size), self.picker_b.image(self.size)]
        self.target_view.value = png_bytes(side_by_side(paintings))
        return content, paintings, {"style_blend": self.blend, "init": self.init}


def series_titles(results: dict[Any, Result]) -> list[str]:
    """Titles for a figure of a series: the paper's layer names and the loss of the image shown
    (each run's lowest: ``convergence.final_losses``)."""
    label = lambda key: layers_label(key) if isinstance(key, tuple) else paper_name(key)  # noqa: E731
    final = final_losses(results)
    return [
        _("{label}\nloss {loss:.3g}").format(label=label(key), loss=final[key]) for key in results
    ]
