"""Series of runs: the course's one runner for several optimisations compared side by side.

Notebook 02's reconstructions (one per layer), 03's textures (one per set of style layers), 04's
starts and the paper's α/β × layers grid, 05's optimisers, 06's seeds and 07's options are all
``run_series(configs, content, style, vgg=…, steps=…)``: one run per entry of ``configs`` (a key →
``StyleTransfer`` options), one progress bar for the whole series, the results by key.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import torch
from tqdm.auto import tqdm

from ..i18n import _
from ..transfer import Result, StyleTransfer
from ..vgg import VGG19Features


def run_series(
    configs: Mapping[Hashable, Mapping[str, Any]],
    content: torch.Tensor | None,
    style: torch.Tensor | list[torch.Tensor] | None,
    *,
    vgg: VGG19Features,
    steps: int,
    progress: bool = True,
    desc: str = "runs",
    **common: Any,
) -> dict[Any, Result]:
    """One run per entry of ``configs`` (key → ``StyleTransfer`` options), one progress bar.

    ``common`` options apply to every run; a config's own options win. Each run has ``steps``
    evaluations unless its config says otherwise. Keys may be anything hashable (a label, a layer,
    a tuple of layers, a (ratio, depth) pair); the bar shows each key as its run starts.
    """
    plans = {key: {"steps": steps, **common, **dict(opts)} for key, opts in configs.items()}
    total = sum(int(p["steps"]) for p in plans.values())
    bar = tqdm(total=total, desc=desc, unit="eval") if progress else None
    results: dict[Any, Result] = {}
    try:
        for key, options in plans.items():
            if bar is not None:
                bar.set_description(str(key))
            options.setdefault("progress", bar if bar is not None else False)
            results[key] = StyleTransfer(content, style, vgg=vgg, **options).run()
    finally:
        if bar is not None:
            bar.close()
    return results


def series_summary(results: Mapping[Any, Result]) -> str:
    """ "5 runs, 15 evaluations in 3 s (0.20 s each)": how long a series took."""
    seconds = sum(r.seconds for r in results.values())
    evaluations = sum(r.evaluations for r in results.values())
    each = seconds / evaluations if evaluations else 0.0
    return _("{runs} runs, {n} evaluations in {seconds:.0f} s ({each:.2f} s each)").format(
        runs=len(results), n=evaluations, seconds=seconds, each=each
    )
