"""Small, labelled widgets the lessons share: image pickers (samples + upload), layer choices with
weights, and a log-scale slider. Each widget constrains its values, so a learner cannot produce a
parameter the engine would refuse; a bad upload shows its error message, not a traceback.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import ipywidgets as w
import torch

from ..errors import DownloadError, ImageError
from ..i18n import _
from ..images import check_image, load_image
from ..layers import LAYER_NAMES, PAPER_STYLE_LAYERS
from ..samples import SAMPLES, list_samples, load_sample_or_fallback

UPLOAD_PREFIX = "upload: "


def first_upload(value: Any) -> tuple[str, bytes] | None:
    """(file name, bytes) of the first file in a ``FileUpload`` value, or None if it is empty.

    ipywidgets 8 gives a tuple of dicts with ``name`` and ``content`` (a memoryview); ipywidgets 7
    (Google Colab's) gives a dict from file name to a dict with ``content`` (bytes).
    """
    if not value:
        return None
    name, item = next(iter(value.items())) if isinstance(value, dict) else (None, value[0])
    return str(item["name"] if name is None else name), bytes(item["content"])


class ImagePicker(w.VBox):
    """A dropdown of sample images plus an upload button; ``image(size)`` loads the choice.

    Samples that need a download fall back to an offline image when there is no network (the
    label says which image is shown). Uploaded files join the dropdown; an unreadable upload shows
    the loader's message in red and leaves the choice unchanged.
    """

    def __init__(self, description: str, default: str, fallback: str, kind: str | None = None):
        offline = [n for n, s in SAMPLES.items() if s.offline]  # always there, kind or not
        names = list(dict.fromkeys([*list_samples(kind), *offline]))
        self.fallback = fallback
        self._uploads: dict[str, bytes] = {}
        value, wide = default if default in names else names[0], {"description_width": "initial"}
        self.dropdown = w.Dropdown(options=names, value=value, description=description, style=wide)
        self.upload = w.FileUpload(accept="image/*", multiple=False, description=_("Upload…"))
        self.message = w.HTML()
        self.upload.observe(self._on_upload, names="value")
        super().__init__([w.HBox([self.dropdown, self.upload]), self.message])
        self.add_class("nst-image-picker")

    @property
    def value(self) -> str:
        """The chosen sample's name, or ``"upload: FILENAME"``."""
        return self.dropdown.value

    def _on_upload(self, change: dict[str, Any]) -> None:
        if (uploaded := first_upload(change["new"])) is None:
            return
        name, data = uploaded
        try:
            check_image(data)  # from its header and checksums, its pixels not decoded
        except ImageError as exc:
            # what the file is, without the command line's advice (after the first ";")
            error = str(exc).removeprefix("<bytes>: ").split("; ")[0]
            message = _("Cannot use {name}: {error}").format(name=name, error=error)
            self.message.value = f"<span style='color:#b00'>{html.escape(message)}</span>"
            return
        key = UPLOAD_PREFIX + name
        self._uploads[key] = data
        if key not in self.dropdown.options:
            self.dropdown.options = [*self.dropdown.options, key]
        self.dropdown.value = key
        kb = len(data) / 1024
        self.message.value = _("Uploaded {name} ({kb:.0f} kB).").format(name=name, kb=kb)

    def image(self, size: int | tuple[int, int] | None = None) -> torch.Tensor:
        """The chosen image as [1, 3, H, W] in [0, 1], long side ``size``."""
        choice = self.dropdown.value
        if choice in self._uploads:
            return load_image(self._uploads[choice], size=size)
        try:
            image, used = load_sample_or_fallback(choice, self.fallback, size=size)
        except (DownloadError, ImageError) as exc:  # pragma: no cover - fallback is offline
            self.message.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            raise
        note = _("No network: showing the offline image '{used}' instead.").format(used=used)
        self.message.value = "" if used == choice else note
        return image


class LayerWeights(w.VBox):
    """A checkbox per layer with a weight slider beside it; ``weights`` gives the chosen w_l."""

    def __init__(self, layers: Sequence[str] = PAPER_STYLE_LAYERS,
                 selected: Sequence[str] | None = None,
                 description: str | None = None) -> None:  # fmt: skip
        description = _("style layers") if description is None else description
        selected = list(layers if selected is None else selected)
        self.boxes = {n: w.Checkbox(value=n in selected, description=n, indent=False)
                      for n in layers}  # fmt: skip
        self.sliders = {n: w.FloatSlider(value=1.0, min=0.0, max=1.0, step=0.05, description="w",
                                         style={"description_width": "1.5em"}, readout_format=".2f")
                        for n in layers}  # fmt: skip
        rows = [w.HBox([self.boxes[n], self.sliders[n]]) for n in layers]
        super().__init__([w.HTML(f"<b>{description}</b>"), *rows])
        self.add_class("nst-layer-weights")

    @property
    def layers(self) -> list[str]:
        """The checked layers, in network order."""
        return [n for n in LAYER_NAMES if n in self.boxes and self.boxes[n].value]

    @property
    def weights(self) -> dict[str, float]:
        """w_l for each checked layer (the sliders' values, normalised to sum to 1)."""
        raw = {n: self.sliders[n].value for n in self.layers}
        total = sum(raw.values())
        return {n: v / total if total else 1.0 / len(raw) for n, v in raw.items()}


def log_slider(description: str, value: float, min_exp: float, max_exp: float) -> w.FloatLogSlider:
    """A slider over 10**min_exp … 10**max_exp (for α/β, learning rates)."""
    return w.FloatLogSlider(
        value=value, base=10, min=min_exp, max=max_exp, step=0.25, description=description,
        readout_format=".1e", style={"description_width": "initial"}, layout=w.Layout(width="28em"),
    )  # fmt: skip
