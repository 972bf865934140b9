"""Series of runs, the course's one runner for optimisations compared side by side (02's
reconstructions, 03's textures, 04's starts and α/β × layers grid, 05's optimisers, 06's seeds,
07's options): one ``StyleTransfer`` per config, one progress bar for the whole series."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from contextlib import nullcontext
from typing import Any

import torch
from tqdm.auto import tqdm

from ..engine import Result
from ..i18n import _
from ..transfer import StyleTransfer
from ..vgg import VGG19Features


def run_series(configs: Mapping[Hashable, Mapping[str, Any]], content: torch.Tensor | None,
               style: torch.Tensor | list[torch.Tensor] | None, *, vgg: VGG19Features,
               steps: int, progress: bool = True, desc: str = "runs",
               **common: Any) -> dict[Any, Result]:  # fmt: skip
    """One run per entry of ``configs`` (key → ``Options`` fields, or ``options=`` an
    ``Options``), each ``StyleTransfer(content, style, vgg=vgg, **common, **config).run()``.

    ``common`` applies to every run and a config's own values win; each run has ``steps``
    evaluations unless its config says otherwise. Keys may be anything hashable (a label, a layer,
    a tuple of layers, a (ratio, depth) pair); the one bar counts every evaluation of the series
    and shows each key as its run starts. Errors (``ParameterError`` …) come before that run's
    first evaluation; a run that ends early (Stop, non-finite) keeps its ``Result``.
    """
    plans = {key: {"steps": steps, **common, **config} for key, config in configs.items()}
    total = sum(p["steps"] for p in plans.values())
    bar = tqdm(total=total, desc=_(desc), unit=_("eval")) if progress and total else nullcontext()
    results: dict[Any, Result] = {}
    with bar as bar:  # one bar for the whole series, closed at the end
        for key, plan in plans.items():
            if bar is not None:
                bar.set_description(_(str(key)) if str(key) else "")
            run = StyleTransfer(content, style, vgg=vgg, progress=bar or False, **plan)
            results[key] = run.run()
    return results


def series_summary(results: Mapping[Any, Result]) -> str:
    """ "5 runs, 15 evaluations in 3 s (0.20 s each)": how long a series took."""
    seconds = sum(r.seconds for r in results.values())
    evaluations = sum(r.evaluations for r in results.values())
    each = seconds / evaluations if evaluations else 0.0
    summary = _("{runs} runs, {n} evaluations in {seconds:.0f} s ({each:.2f} s each)")
    return summary.format(runs=len(results), n=evaluations, seconds=seconds, each=each)
