"""nst_helpers: the exact, small engine of the neural-style-transfer course.

Gatys, Ecker & Bethge, *Image Style Transfer Using Convolutional Neural Networks*, CVPR 2016.

>>> import nst_helpers as nst
>>> vgg = nst.load_vgg19()                                   # torchvision's ImageNet VGG19
>>> vgg = nst.load_vgg19("caffe")                            # the authors' Caffe VGG19
>>> feats = vgg(images, layers=["relu4_2", "relu1_1"])       # activations by the paper's names
>>> result = nst.run_style_transfer(content, style, steps=300)

The layers, each importing only those above it:

0. beneath it: ``errors``, ``paths``, ``download``, ``devices``, ``memory``;
1. the paper: ``layers``, ``vgg`` (with ``weights``, ``caffe_weights``), ``losses`` (Eqs. 1–7),
   ``targets`` (P^l, A^l) and ``step`` (the optimisation step that runs); ``fused`` is its
   faster drop-in for the per-layer terms;
2. the engine: ``engine`` (a run: records, snapshots, best image, endings, progress), with
   ``images``, ``samples``, ``profiles``, ``i18n`` and ``defaults`` (α, β per network);
3. ``extensions``: beyond the paper (colour, several styles, style scale, TV, coarse to fine);
4. ``transfer``: ``StyleTransfer`` and ``run_style_transfer``, the options wired to the above;
5. their users: ``cli`` (the command line) and ``lessons`` (widgets, plots, panels, exercises:
   the only modules that import ipywidgets, matplotlib or IPython).
"""

from __future__ import annotations

from .caffe_weights import caffe_status, fetch_caffe_weights
from .defaults import default_beta
from .devices import resolve_device
from .engine import DEFAULT_SNAPSHOTS, Result
from .errors import DownloadError, ImageError, NSTError, ParameterError, WeightsError
from .extensions.colour import match_color_histogram, match_luminance, rgb_to_yiq, yiq_to_rgb
from .extensions.tv import total_variation
from .images import load_image, save_image, to_pil, unique_path
from .layers import LAYER_NAMES, PAPER_CONTENT_LAYERS, PAPER_STYLE_LAYERS
from .losses import content_loss, gram_matrix, style_layer_loss, style_loss, total_loss
from .profiles import PROFILES, Profile, profile
from .samples import list_samples, load_sample, load_sample_or_fallback, sample_path
from .step import Evaluation, Objective, evaluate, layer_terms, optimisation_step
from .targets import content_targets, style_targets
from .transfer import StyleTransfer, default_vgg, run_coarse_to_fine, run_style_transfer
from .vgg import VGG19Features, layer_shapes, load_vgg19
from .weights import fetch_weights, weights_status

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_SNAPSHOTS",
    "LAYER_NAMES",
    "PAPER_CONTENT_LAYERS",
    "PAPER_STYLE_LAYERS",
    "PROFILES",
    "DownloadError",
    "Evaluation",
    "ImageError",
    "NSTError",
    "Objective",
    "ParameterError",
    "Profile",
    "Result",
    "StyleTransfer",
    "VGG19Features",
    "WeightsError",
    "caffe_status",
    "content_loss",
    "content_targets",
    "default_beta",
    "default_vgg",
    "evaluate",
    "fetch_caffe_weights",
    "fetch_weights",
    "gram_matrix",
    "layer_shapes",
    "layer_terms",
    "list_samples",
    "load_image",
    "load_sample",
    "load_sample_or_fallback",
    "load_vgg19",
    "match_color_histogram",
    "match_luminance",
    "optimisation_step",
    "profile",
    "resolve_device",
    "rgb_to_yiq",
    "run_coarse_to_fine",
    "run_style_transfer",
    "sample_path",
    "save_image",
    "style_layer_loss",
    "style_loss",
    "style_targets",
    "to_pil",
    "total_loss",
    "total_variation",
    "unique_path",
    "weights_status",
    "yiq_to_rgb",
]


# --- Modules that moved: their old import paths keep working ------------------------------------
#: Old module name → where it lives now: ``import nst_helpers.dashboard``, ``from nst_helpers
#: import plots`` and ``nst_helpers.colour`` give the moved module itself (one object, two names),
#: imported only when used, so ``import nst_helpers`` alone loads no ipywidgets, matplotlib or
#: IPython.
MOVED_MODULES: dict[str, str] = {
    "colour": "extensions.colour",
    "ratios": "defaults",
    "cjk_font": "lessons.cjk_font",
    **{
        name: f"lessons.{name}"
        for name in (
            "beyond",
            "convergence",
            "dashboard",
            "exercises",
            "explorers",
            "features",
            "landscape",
            "plots",
            "setup_check",
            "weighting",
            "widgets",
        )
    },
}


class _MovedModuleFinder:
    """Imports ``nst_helpers.<old name>`` as the module at its new place (``MOVED_MODULES``)."""

    def find_spec(self, fullname: str, path: object = None, target: object = None):
        import importlib.util

        prefix = __name__ + "."
        if fullname.startswith(prefix) and fullname[len(prefix) :] in MOVED_MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec: object) -> None:
        return None  # a placeholder; exec_module puts the real module in its place

    def exec_module(self, module: object) -> None:
        import importlib
        import sys

        name = module.__name__  # type: ignore[attr-defined]
        new = MOVED_MODULES[name[len(__name__) + 1 :]]
        sys.modules[name] = importlib.import_module(f"{__name__}.{new}")  # its own __spec__ kept


def _install_moved_module_finder() -> None:
    import sys

    if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
        # first: an old name is always the alias, even where an installed copy of the package
        # (an editable install of another checkout) still has a file of that name
        sys.meta_path.insert(0, _MovedModuleFinder())


_install_moved_module_finder()


def __getattr__(name: str):
    """``nst_helpers.plots`` and the like without an import: the moved module, imported now."""
    if name in MOVED_MODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
