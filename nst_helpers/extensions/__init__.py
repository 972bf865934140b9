"""Beyond the 2016 paper (lesson 07): pre-steps on the images and extra loss terms that
``transfer.prepare`` applies when a run asks for them (and only then imports):

- ``colour``: keeping the content's colours (Gatys et al. 2017, Sec. 5): luminance-only transfer
  and colour histogram matching (``preserve_color=``);
- ``styles``: several style images blended, A^l = Σ_k w_k A^l_k (``style_blend=``);
- ``tv``: total variation, an extra term on x (``tv_weight=``).

They import the paper's modules, never the engine; coarse to fine, a loop of whole runs, is
``nst_helpers.coarse_to_fine``.
"""
