"""The lessons' side of the package: widgets, figures, panels, series of runs and exercises.

Only this subpackage imports ipywidgets, matplotlib, IPython and ``threading`` (for the panels); the
engine (``nst_helpers`` itself) and the command line never import it. Its modules:

- ``widgets`` (image pickers, layer weights, log sliders), ``plots`` (image grids, loss curves),
  ``background`` (the one way a panel runs an optimisation: a thread, or the calling cell),
  ``runtime`` (where the lessons run: Jupyter, Colab), ``series`` (several runs, one progress bar);
- the panels: ``explorers`` (02, 03, 07), ``dashboard`` (04);
- per notebook: ``setup_check`` (00), ``features`` (01), ``exercises`` (02, 03), ``weighting``
  (04), ``convergence`` (05), ``landscape`` (06), ``beyond`` (07);
- the Chinese lessons: ``cjk_font`` (the bundled font matplotlib draws Chinese with, and a check
  for missing glyphs) and ``notebook_texts`` (the notebooks' own figure titles, for the catalog).
  Every text a learner reads is marked ``_()`` (``nst_helpers.i18n``: ``NST_LANG``).

Notebooks import them as ``from nst_helpers.lessons import features, plots``. ``stop_all()``
stops every panel's run (and a panel run again in its cell stops the earlier one's run itself).
"""

from .background import stop_all

__all__ = ["stop_all"]
