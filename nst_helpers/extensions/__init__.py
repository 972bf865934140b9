"""Beyond the 2016 paper: options that change what is optimised or how the result is made, each a
pre-step, a post-step or an extra loss term around the engine (lesson 07).

- ``colour``: keeping the content's colours (Gatys et al. 2017, Sec. 5): luminance-only transfer
  and colour histogram matching, applied to the images before the run and after it;
- ``styles``: several style images blended (A^l = Σ_k w_k A^l_k) and the style scale;
- ``tv``: total variation, an extra term on x;
- ``coarse_to_fine``: a series of runs at increasing sizes, each starting from the last.

They import the paper's modules and the engine; neither imports them. ``transfer.StyleTransfer``
turns the keywords ``preserve_color=``, ``style_blend=``, ``style_scale=``, ``tv_weight=`` and
``scales=`` into these steps.
"""
