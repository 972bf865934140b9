"""Titles and labels that the notebooks' own code hands to the lessons' figures, for the catalog.

The Chinese notebooks run the English code unchanged, and the figure functions (``plots``,
``convergence``, ``landscape``, ``features``) look every title and label they are given up in the
catalog. Marking the notebooks' literal strings here puts them in it, so the Chinese lessons draw
them in Chinese. ``tests/test_i18n.py`` keeps this list equal to what the notebooks pass. A title
the code builds with an f-string cannot be looked up and stays English.
"""

from __future__ import annotations

from ..i18n import N_

NOTEBOOK_TEXTS: tuple[str, ...] = (
    # 02
    N_("Reconstructions from white noise by matching one layer (paper Fig. 1, bottom row)"),
    N_("Content loss during each reconstruction (relative to its start)"),
    # 03
    N_("Textures from white noise matching Gram matrices (paper Fig. 1, top row)"),
    N_("Style loss during each synthesis (relative to its start)"),
    # 04
    N_("Style transfer: total, content and each style layer's E_l"),
    N_("Total loss from each start"),
    # 05
    N_("The report's second experiment: the marks 10, 200, 1000, 3000, 5000, 8000"),
    N_("Loss of the run: total, content and each style layer's E_l"),
    N_("L-BFGS against Adam"),
    # 06
    N_("d1: to the style image"),
    N_("d2: random"),
    N_("seed 0"),
    N_("seed 1"),
    N_("The losses on the line between two results"),
    # 07
    N_("style for luminance only:\nits Y, matched to the content's"),
    N_("style for histogram matching:\nrecoloured to the content's"),
)
