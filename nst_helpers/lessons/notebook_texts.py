"""Titles and labels that the notebooks' own code hands to the lessons' figures, for the catalog:
the Chinese notebooks run the English code, and the figure functions look every title they are
given up in the catalog, so marking the notebooks' literal strings here draws them in Chinese
(``tests/test_i18n.py`` keeps this list equal to what the notebooks pass; an f-string stays as
it is, so a notebook's f-string title holds only names and numbers)."""

from __future__ import annotations

from ..i18n import N_

NOTEBOOK_TEXTS: tuple[str, ...] = (
    N_("Reconstructions from white noise by matching one layer (paper Fig. 1, bottom row)"),  # 02
    N_("Content loss during each reconstruction (relative to its start)"),
    N_("Gram matrices divided by M_l, conv3_1 (relu3_1), at two image sizes"),  # 03
    N_("Textures from white noise matching Gram matrices (paper Fig. 1, top row)"),
    N_("Style loss during each synthesis (relative to its start)"),
    N_("Style transfer: L_total, α·L_content, β·L_style and each layer's β·w_l·E_l"),  # 04
    N_("Total loss from each start"),
    N_("The report's second experiment: the marks 10, 200, 1000, 3000, 5000, 8000"),  # 05
    N_("L-BFGS against Adam"),
    N_("d1: to the style image"),  # 06
    N_("d2: random"),
    N_("seed 0"),
    N_("seed 1"),
    N_("The losses on the line between two results"),
    N_("style for luminance only:\nits Y, matched to the content's"),  # 07
    N_("style for histogram matching:\nrecoloured to the content's"),
    # names the notebooks print through nst.tr(name) (their nst.tr("…") templates need no entry:
    # tools/catalog.py reads them from the notebooks)
    *(N_("L(shifted)"), N_("L(noise)"), N_("ratio"), N_("reconstructions"), N_("textures")),
    *(N_("small"), N_("large"), N_("grey"), N_("orange"), N_("photograph"), N_("recoloured")),
    *(N_("exact match"), N_("capped (max_gain=4)"), N_("exact (max_gain=None)")),  # 07
    *(N_("edge"), N_("ramp")),
)
