"""nst_helpers: the exact, small engine of the neural-style-transfer course.

Gatys, Ecker & Bethge, *Image Style Transfer Using Convolutional Neural Networks*, CVPR 2016.

>>> import nst_helpers as nst
>>> vgg = nst.load_vgg19()                                   # torchvision's ImageNet VGG19
>>> vgg = nst.load_vgg19("caffe")                            # the authors' Caffe VGG19
>>> feats = vgg(images, layers=["relu4_2", "relu1_1"])       # activations by the paper's names
>>> result = nst.run_style_transfer(content, style, steps=300)
"""

from __future__ import annotations

from .caffe_weights import caffe_status, fetch_caffe_weights
from .colour import match_color_histogram, match_luminance, rgb_to_yiq, yiq_to_rgb
from .devices import resolve_device
from .errors import DownloadError, ImageError, NSTError, ParameterError, WeightsError
from .images import load_image, save_image, to_pil, unique_path
from .layers import LAYER_NAMES, PAPER_CONTENT_LAYERS, PAPER_STYLE_LAYERS
from .losses import (
    content_loss,
    gram_matrix,
    style_layer_loss,
    style_loss,
    total_loss,
    total_variation,
)
from .multiscale import run_coarse_to_fine
from .profiles import PROFILES, Profile, profile
from .ratios import default_beta
from .samples import list_samples, load_sample, load_sample_or_fallback, sample_path
from .transfer import (
    DEFAULT_SNAPSHOTS,
    Result,
    StyleTransfer,
    default_vgg,
    run_style_transfer,
)
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
    "ImageError",
    "NSTError",
    "ParameterError",
    "Profile",
    "Result",
    "StyleTransfer",
    "VGG19Features",
    "WeightsError",
    "caffe_status",
    "content_loss",
    "default_beta",
    "default_vgg",
    "fetch_caffe_weights",
    "fetch_weights",
    "gram_matrix",
    "layer_shapes",
    "list_samples",
    "load_image",
    "load_sample",
    "load_sample_or_fallback",
    "load_vgg19",
    "match_color_histogram",
    "match_luminance",
    "profile",
    "resolve_device",
    "rgb_to_yiq",
    "run_coarse_to_fine",
    "run_style_transfer",
    "sample_path",
    "save_image",
    "style_layer_loss",
    "style_loss",
    "to_pil",
    "total_loss",
    "total_variation",
    "unique_path",
    "weights_status",
    "yiq_to_rgb",
]


# --------------------------------------------------------------------------- lesson modules
# The lessons' modules live in ``nst_helpers.lessons``; their old paths stay importable as aliases
# (``import nst_helpers.dashboard``, ``from nst_helpers import plots``), loaded only when used, so
# ``import nst_helpers`` alone loads no ipywidgets, matplotlib or IPython.
import importlib as _importlib
import importlib.abc as _importlib_abc
import importlib.util as _importlib_util
import sys as _sys

#: Old module name -> the module it now is.
MOVED_MODULES: dict[str, str] = {
    f"{__name__}.{name}": f"{__name__}.lessons.{name}"
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
}


class _MovedModules(_importlib_abc.MetaPathFinder, _importlib_abc.Loader):
    """Imports an old path as the moved module itself (one module object under two names)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED_MODULES:
            return None
        return _importlib_util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return _importlib.import_module(MOVED_MODULES[spec.name])

    def exec_module(self, module):
        # the import machinery has just set __spec__ to the alias's: give the module its own back
        module.__spec__ = _importlib_util.spec_from_file_location(module.__name__, module.__file__)


if not any(isinstance(f, _MovedModules) for f in _sys.meta_path):
    _sys.meta_path.insert(0, _MovedModules())


def __getattr__(name: str):
    """``nst_helpers.plots`` and the like: the moved lesson module, imported on first use."""
    if f"{__name__}.{name}" in MOVED_MODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
