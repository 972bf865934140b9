"""The engine around the optimisation step: a run of ``steps`` evaluations of
``step.optimisation_step``, with what a course needs around it — the paper's L-BFGS (or Adam),
one record per evaluation, snapshots, the best image, Stop / Ctrl-C / non-finite / out-of-memory
endings as data (``Result``), a progress bar — and nothing about *what* is optimised (the
``step.Objective``, built by ``transfer.prepare``). Lesson 04 runs it; lesson 05 reads its records.

One *evaluation* is one forward and one backward pass through VGG19 (one closure call). ``steps``
counts evaluations exactly: with L-BFGS each ``step()`` is one L-BFGS iteration with one
evaluation and no line search (as jcjohnson's neural-style), its stopping tolerances off.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from tqdm.auto import tqdm

from .errors import RunOutOfMemoryError, translate_oom
from .i18n import _
from .memory import TRIM_EVERY, release_free_memory
from .options import DEFAULT_LR, Options
from .step import Evaluation, Objective, optimisation_step

if TYPE_CHECKING:  # annotations only: the lessons' panels own the threads
    import threading

Record = dict[str, Any]
#: How a run can end (``Result.stop_reason``).
ENDINGS = ("completed", "stopped", "interrupted", "non-finite", "out-of-memory")


@dataclass
class Result:
    """What a run leaves: the image, the loss history, the snapshots and how it ended.

    ``image``: the evaluated image with the lowest total loss (CPU, [1, 3, H, W] in [0, 1]);
    ``history[k-1]``: evaluation k's losses (``total``, ``content``, ``style``, ``content_layers``
    and ``style_layers`` {name: value}, ``seconds`` since the start; extra terms such as ``tv``);
    ``snapshots[k]``: the image evaluation k was computed on. How it ended, as data:
    ``stop_reason`` (one of ``ENDINGS``), ``ended_at`` (the evaluation it ended at or after),
    ``nonfinite`` (which weighted term was not finite: "content", "style", "tv" …, and
    ``nonfinite_value``), ``error`` (the ``RunOutOfMemoryError``). ``message`` says it in words.
    """

    image: torch.Tensor
    history: list[Record]
    snapshots: dict[int, torch.Tensor]
    evaluations: int
    stop_reason: str = "completed"
    best_evaluation: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    ended_at: int = 0
    nonfinite: str | None = None
    nonfinite_value: float | None = None
    error: RunOutOfMemoryError | None = None

    @property
    def seconds(self) -> float:
        """Time spent in evaluations (set-up excluded)."""
        return self.history[-1]["seconds"] if self.history else 0.0

    @property
    def message(self) -> str:
        """How the run ended, in words (the lessons' panels and the command line show it)."""
        n, best, reason = self.evaluations, self.best_evaluation, self.stop_reason
        kept = f"kept evaluation {best}'s image (the lowest loss)" if best else "no image kept"
        if reason == "non-finite":
            return (f"the {self.nonfinite} term (with its weight) was not finite in float32 at "
                    f"evaluation {self.ended_at} ({self.nonfinite_value:.3g}); {kept}")  # fmt: skip
        if reason == "out-of-memory":
            return f"{self.error} (after {n} evaluations); {kept}"
        return f"{reason} after {n} evaluations" + ("" if reason == "completed" else f"; {kept}")

    def losses(self, key: str = "total") -> list[float]:
        """One value per evaluation of ``"total"``, ``"content"``, ``"style"`` or a style layer."""
        if self.history and key in self.history[0].get("style_layers", {}):
            return [r["style_layers"][key] for r in self.history]
        return [r[key] for r in self.history]


def make_optimizer(name: str, x: torch.Tensor, lr: float | None) -> torch.optim.Optimizer:
    """L-BFGS as the paper's runs use it, one iteration and one evaluation per ``step`` (history
    of 100 pairs, no line search, no stopping tolerances), or Adam; ``lr`` None: the default."""
    lr = lr or DEFAULT_LR[name]
    if name == "adam":
        return torch.optim.Adam([x], lr=lr)
    return torch.optim.LBFGS(
        [x], lr=lr, max_iter=1, tolerance_grad=-1.0, tolerance_change=-1.0, history_size=100
    )


class Engine:
    """A run of the optimisation, advanced one evaluation per ``step()``.

    ``x0`` is the initial image (the variable starts as a copy of it on ``vgg``'s device),
    ``objective`` what it is optimised for, ``options`` the run's ``steps``, ``optimizer``, ``lr``
    and ``snapshot_at``. ``callback(engine, record)`` runs after every evaluation; setting
    ``stop_event`` ends the run before the next one; ``progress``: True (a ``tqdm.auto`` bar),
    False, or a bar the caller made. ``to_rgb`` maps the variable to the RGB image a learner sees
    (None: clamp to [0, 1]); ``settings`` go into the ``Result``.
    """

    to_rgb: Callable[[torch.Tensor], torch.Tensor] | None
    history: list[Record]
    snapshots: dict[int, torch.Tensor]
    settings: dict[str, Any]
    stop_reason: str | None
    ending: dict[str, Any]

    def __init__(
        self,
        x0: torch.Tensor,
        vgg: torch.nn.Module,
        objective: Objective,
        options: Options,
        *,
        callback: Callable[[Any, Record], Any] | None = None,
        stop_event: threading.Event | None = None,
        progress: bool | tqdm = False,
    ) -> None:
        self.vgg, self.objective, self.options, self.steps = vgg, objective, options, options.steps
        device = next(vgg.buffers(), next(vgg.parameters(), x0)).device
        self.x = x0.to(device).contiguous().requires_grad_(True)
        self.optimizer = make_optimizer(options.optimizer, self.x, options.lr)
        self.callback, self.stop_event, self._progress = callback, stop_event, progress
        self.to_rgb, self.settings = None, {}  # variable → RGB (None: clamp); for the Result
        self.history, self.snapshots = [], {}
        self.evaluations, self.best_loss, self.best_evaluation = 0, math.inf, 0
        self._best_image, self._seconds = self.x.detach().clone(), 0.0
        self.stop_reason, self.ending = None, {}  # how it ended (ENDINGS) and details (Result)

    def _rgb(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(0, 1).cpu() if self.to_rgb is None else self.to_rgb(x).cpu()

    @property
    def image(self) -> torch.Tensor:
        """The current iterate in [0, 1], on the CPU."""
        return self._rgb(self.x.detach())

    @property
    def best_image(self) -> torch.Tensor:
        """The evaluated image with the lowest total loss so far, in [0, 1], on the CPU."""
        return self._rgb(self._best_image)

    @property
    def done(self) -> bool:
        """Whether the run has used its ``steps`` evaluations or was ended early."""
        return self.stop_reason is not None or self.evaluations >= self.steps

    def step(self) -> Record:
        """One ``step.optimisation_step``, recorded, with its snapshot and the best image."""
        if self.stop_reason == "non-finite":
            raise RuntimeError(f"this run cannot continue: {self.result().message}")
        start, x = time.perf_counter(), self.x.detach().clone()  # the image evaluated
        ev = optimisation_step(self.x, self.optimizer, self.vgg, self.objective)
        self.evaluations += 1
        if self.evaluations % TRIM_EVERY == 0:  # counted in the run's time; see memory.py
            release_free_memory()
        self._seconds += time.perf_counter() - start
        record = {"evaluation": self.evaluations, **vars(ev), **ev.extra, "seconds": self._seconds}
        del record["extra"], record["nonfinite"], record["nonfinite_value"]
        if not ev.finite:
            return self._nonfinite(ev, record)
        if self.evaluations in self.options.snapshot_at:
            self.snapshots[self.evaluations] = self._rgb(x)
        if ev.total < self.best_loss:
            self.best_loss, self.best_evaluation, self._best_image = ev.total, self.evaluations, x
        self.history.append(record)
        return record

    def _nonfinite(self, ev: Evaluation, record: Record) -> Record:
        """End the run at a non-finite loss (naming the weighted term) and go back to the best
        image."""
        self.stop_reason = "non-finite"
        self.ending = {"ended_at": self.evaluations, "nonfinite": ev.nonfinite,
                       "nonfinite_value": ev.nonfinite_value}  # fmt: skip
        with torch.no_grad():
            self.x.copy_(self._best_image)
        return record

    def run(self) -> Result:
        """Step to ``steps`` evaluations, a stop, Ctrl-C, a non-finite loss or out of memory."""
        bar = self._progress
        bar = tqdm(total=self.steps, desc=_("evaluations"), unit=_("eval")) if bar is True else bar
        try:
            with translate_oom(size=max(self.x.shape[-2:]), device=self.x.device):
                while not self.done and not (self.stop_event and self.stop_event.is_set()):
                    record = self.step()
                    if bar:
                        bar.update(1)
                        bar.set_postfix(loss=f"{record['total']:.4g}", refresh=False)
                    if self.callback is not None and self.stop_reason is None:
                        self.callback(self, record)
            self.stop_reason = self.stop_reason or (None if self.done else "stopped")
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
        except RunOutOfMemoryError as exc:
            if not self.history:
                raise
            self.stop_reason, self.ending = "out-of-memory", {"error": exc}
        finally:
            if bar and bar is not self._progress:
                bar.close()
        return self.result()

    def result(self) -> Result:
        """A ``Result`` with everything up to now (valid at any point, also mid-run)."""
        reason = self.stop_reason or ("completed" if self.done else "running")
        return Result(self.best_image, list(self.history), dict(self.snapshots), len(self.history),
                      reason, self.best_evaluation, dict(self.settings),
                      **{"ended_at": self.evaluations, **self.ending})  # fmt: skip
