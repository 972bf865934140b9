"""The engine around the optimisation step: a run of ``steps`` evaluations of
``step.optimisation_step`` with everything a course needs around it — the optimiser set up as the
paper's L-BFGS (or Adam), one record per evaluation, snapshots, the best image, Stop / Ctrl-C /
non-finite endings, a progress bar and memory handed back — and nothing about *what* is
optimised (that is the ``step.Objective``, built by ``transfer.StyleTransfer``).
Lesson 04 runs it; lesson 05 reads its records and snapshots.

One *evaluation* is one forward and one backward pass through VGG19 (one closure call of the
optimiser). It is the unit of cost, and ``steps`` counts evaluations exactly: with L-BFGS each
``step()`` runs one L-BFGS iteration with exactly one evaluation (the sequence of iterates equals
one long ``torch.optim.LBFGS`` run without line search, as in jcjohnson's neural-style), and the
optimiser's own stopping tolerances are switched off.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from tqdm.auto import tqdm

from .errors import ParameterError, RunOutOfMemoryError, translate_oom
from .fused import can_fuse, fused_layer_terms
from .memory import release_free_memory
from .step import Evaluation, Objective, layer_terms, optimisation_step

#: The course report's snapshot marks (evaluations); a run keeps those up to its length.
DEFAULT_SNAPSHOTS: tuple[int, ...] = (1, 2, 3, 10, 20, 100, 300, 500, 1000, 2000, 4000, 6000)
#: Default learning rates: L-BFGS's unit step; Adam's step in [0, 1] pixel units.
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}
OPTIMIZERS = ("lbfgs", "adam")
# Every TRIM_EVERY evaluations a run hands back heap memory its freed activations left
# fragmented (when malloc holds > 64 MB of it): measured at 256 px, the peak RSS ~70 MB lower at
# no measurable cost (memory.py).
TRIM_EVERY = 20

Record = dict[str, Any]

if TYPE_CHECKING:  # annotations only: the lessons' panels own the threads
    import threading


@dataclass
class Result:
    """What a run leaves: the image, the loss history, the snapshots and why it ended.

    ``image`` is the evaluated image with the lowest total loss (on the CPU, clamped to [0, 1]);
    ``history[k-1]`` holds evaluation k's losses (``total``, ``content``, ``style``,
    ``style_layers`` {name: E_l}, ``content_layers`` {name: L_content}, ``seconds`` since the run
    began; with ``tv_weight`` > 0 also ``tv``, the unweighted TV(x); a coarse-to-fine run adds
    ``scale``); ``snapshots[k]`` is the image evaluation k was computed on. ``stop_reason`` is
    ``"completed"``, ``"stopped"`` (the stop event), ``"interrupted"`` (KeyboardInterrupt),
    ``"non-finite"`` or ``"out-of-memory"``; ``message`` says why in words.
    """

    image: torch.Tensor
    history: list[Record]
    snapshots: dict[int, torch.Tensor]
    evaluations: int
    stop_reason: str = "completed"
    message: str = ""
    best_evaluation: int = 0
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """Time spent in evaluations (set-up excluded)."""
        return self.history[-1]["seconds"] if self.history else 0.0

    def losses(self, key: str = "total") -> list[float]:
        """One value per evaluation of ``"total"``, ``"content"``, ``"style"`` or a style layer."""
        if self.history and key in self.history[0].get("style_layers", {}):
            return [r["style_layers"][key] for r in self.history]
        return [r[key] for r in self.history]


def check_weight(name: str, value: float, positive: bool = False) -> float:
    """``value`` as a finite float ≥ 0 (> 0 with ``positive``); else ParameterError naming it."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        need = "finite and > 0" if positive else "finite and ≥ 0"
        raise ParameterError(f"{name} must be {need}, not {value!r}")
    return v


@dataclass(frozen=True)
class RunOptions:
    """The engine's own settings, checked: ``steps`` (evaluations), ``optimizer``, ``lr`` and the
    ``snapshot_at`` marks (those within the run)."""

    steps: int
    optimizer: str
    lr: float
    snapshot_at: frozenset[int]

    @classmethod
    def check(
        cls,
        steps: Any = 500,
        optimizer: Any = "lbfgs",
        lr: Any = None,
        snapshot_at: Iterable[int] | None = DEFAULT_SNAPSHOTS,
    ) -> RunOptions:
        """Every value checked before any work; ParameterError names the one that is wrong."""
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
            raise ParameterError(f"steps must be a whole number ≥ 1, not {steps!r}")
        steps = int(steps)  # numpy's integers too
        if optimizer not in OPTIMIZERS:
            raise ParameterError(
                f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {optimizer!r}"
            )
        rate = check_weight("lr", DEFAULT_LR[optimizer] if lr is None else lr, positive=True)
        try:
            marks = () if snapshot_at is None else snapshot_at
            kept = frozenset(int(k) for k in marks if 1 <= int(k) <= steps)
        except (TypeError, ValueError):
            raise ParameterError(
                f"snapshot_at must be evaluation counts, not {snapshot_at!r}"
            ) from None
        return cls(steps, optimizer, rate, kept)


def make_optimizer(name: str, x: torch.Tensor, lr: float) -> torch.optim.Optimizer:
    """L-BFGS as the paper's runs use it, one iteration and one evaluation per ``step`` (history
    of 100 pairs, no line search, no stopping tolerances), or Adam."""
    if name == "adam":
        return torch.optim.Adam([x], lr=lr)
    return torch.optim.LBFGS(
        [x],
        lr=lr,
        max_iter=1,
        max_eval=None,
        tolerance_grad=-1.0,
        tolerance_change=-1.0,
        history_size=100,
        line_search_fn=None,
    )


class Engine:
    """A run of the optimisation, advanced one evaluation per ``step()``.

    ``x0`` is the initial image (the optimised variable starts as a copy of it, on ``vgg``'s
    device), ``objective`` what it is optimised for. ``to_rgb`` maps the variable to the RGB image
    a learner sees (default: clamp to [0, 1]); ``callback(engine, record)`` runs after every
    evaluation; setting ``stop_event`` ends the run before the next evaluation; ``progress`` is
    True (a ``tqdm.auto`` bar), False, or a bar the caller made.
    """

    def __init__(
        self,
        x0: torch.Tensor,
        vgg: torch.nn.Module,
        objective: Objective,
        options: RunOptions,
        *,
        to_rgb: Callable[[torch.Tensor], torch.Tensor] | None = None,
        callback: Callable[[Any, Record], Any] | None = None,
        stop_event: threading.Event | None = None,
        progress: bool | tqdm = False,
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.vgg, self.objective, self.options = vgg, objective, options
        self.steps, self.snapshot_at = options.steps, options.snapshot_at
        self.optimizer_name, self.lr = options.optimizer, options.lr
        self.x = x0.to(vgg_device(vgg)).contiguous().requires_grad_(True)
        self.optimizer = make_optimizer(options.optimizer, self.x, options.lr)
        self.terms = fused_layer_terms if can_fuse(vgg) else layer_terms
        self._to_rgb = to_rgb
        self.callback, self.stop_event, self._progress_arg = callback, stop_event, progress
        self.settings: dict[str, Any] = dict(settings or {})
        self.evaluations = 0
        self.history: list[Record] = []
        self.snapshots: dict[int, torch.Tensor] = {}
        self.best_loss, self.best_evaluation = math.inf, 0
        self._best_image = self.x.detach().clone()
        self._seconds = 0.0
        self.stop_reason: str | None = None
        self.message = ""
        self.error: RunOutOfMemoryError | None = None

    @property
    def _fused(self) -> bool:
        """Whether the fast path (``fused.fused_layer_terms``) computes the layer terms."""
        return self.terms is fused_layer_terms

    def _rgb(self, x: torch.Tensor) -> torch.Tensor:
        """What a learner sees of an iterate: RGB in [0, 1], on the CPU."""
        return x.clamp(0, 1).cpu() if self._to_rgb is None else self._to_rgb(x).cpu()

    @property
    def image(self) -> torch.Tensor:
        """The current iterate clamped to [0, 1], on the CPU (the optimised variable is free)."""
        return self._rgb(self.x.detach())

    @property
    def best_image(self) -> torch.Tensor:
        """The evaluated image with the lowest total loss so far, clamped to [0, 1], on the CPU."""
        return self._rgb(self._best_image)

    @property
    def done(self) -> bool:
        """Whether the run has used its ``steps`` evaluations or was ended early."""
        return self.stop_reason is not None or self.evaluations >= self.steps

    def _record(self, ev: Evaluation, k: int) -> Record:
        record: Record = {
            "evaluation": k,
            "total": ev.total,
            "content": ev.content,
            "style": ev.style,
            "content_layers": ev.content_layers,
            "style_layers": ev.style_layers,
            **ev.extra,
        }
        return record

    def step(self) -> Record:
        """One optimiser step with exactly one evaluation (``step.optimisation_step``); records
        it, keeps the snapshot and the best image; returns the record."""
        if self.stop_reason == "non-finite":
            raise RuntimeError(f"this run cannot continue: {self.message}")
        start = time.perf_counter()
        x_evaluated = self.x.detach().clone()  # the image this evaluation is computed on
        ev = optimisation_step(self.x, self.optimizer, self.vgg, self.objective, self.terms)
        self.evaluations += 1
        k = self.evaluations
        if self.evaluations % TRIM_EVERY == 0:  # counted in the run's time; see memory.py
            release_free_memory(threshold_mb=64.0)
        self._seconds += time.perf_counter() - start
        record = self._record(ev, k)
        record["seconds"] = self._seconds
        if not ev.finite:
            self.stop_reason = "non-finite"
            kept = (
                f"kept evaluation {self.best_evaluation}'s image (the lowest loss, "
                f"{self.best_loss:.4g})"
                if self.best_evaluation
                else "kept the initial image"
            )
            self.message = (
                f"the loss became {ev.total} at evaluation {k}; stopped and {kept}; "
                "lower the learning rate or the weights"
            )
            with torch.no_grad():
                self.x.copy_(self._best_image)
            return record
        if k in self.snapshot_at:
            self.snapshots[k] = self._rgb(x_evaluated)
        if ev.total < self.best_loss:
            self.best_loss, self.best_evaluation = ev.total, k
            self._best_image = x_evaluated
        self.history.append(record)
        return record

    def run(self) -> Result:
        """Step until ``steps`` evaluations, the stop event, Ctrl-C or a non-finite loss.

        Running out of memory ends the run as ``"out-of-memory"`` (the error, one line with the
        size and what to try, kept as ``error``; the failed evaluation's tensors released; the best
        image so far kept), or raises ``errors.RunOutOfMemoryError`` if no evaluation finished.
        """
        bar = self._make_progress()
        try:
            size = self.settings.get("size")  # (H, W): the message names the long side
            with translate_oom(size=max(size) if size else None, device=self.x.device):
                while self.evaluations < self.steps and self.stop_reason is None:
                    if self.stop_event is not None and self.stop_event.is_set():
                        self.stop_reason = "stopped"
                        self.message = f"stopped by request after {self.evaluations} evaluations"
                        break
                    record = self.step()
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{record['total']:.4g}", refresh=False)
                    if self.callback is not None and self.stop_reason is None:
                        self.callback(self, record)
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
            self.message = f"interrupted after {self.evaluations} evaluations"
        except RunOutOfMemoryError as exc:
            if not self.history:
                raise  # nothing to keep
            self.error, self.stop_reason = exc, "out-of-memory"
            self.message = (
                f"{exc}; kept evaluation {self.best_evaluation}'s image (the lowest loss, "
                f"{self.best_loss:.4g})"
            )
        finally:
            if bar is not None and bar is not self._progress_arg:
                bar.close()
        if self.stop_reason is None:
            self.stop_reason = "completed"
        return self.result()

    def _make_progress(self) -> tqdm | None:
        if self._progress_arg is False or self._progress_arg is None:
            return None
        if self._progress_arg is True:
            return tqdm(total=self.steps, initial=self.evaluations, desc="evaluations", unit="eval")
        return self._progress_arg  # a tqdm bar the caller made

    def result(self) -> Result:
        """A ``Result`` with everything up to now (valid at any point, also mid-run)."""
        return Result(
            image=self.best_image,
            history=list(self.history),
            snapshots=dict(self.snapshots),
            evaluations=len(self.history),
            stop_reason=self.stop_reason or "running",
            message=self.message,
            best_evaluation=self.best_evaluation,
            settings=dict(self.settings),
        )


def vgg_device(vgg: torch.nn.Module) -> torch.device:
    """The device ``vgg``'s weights (or buffers) live on."""
    device = getattr(vgg, "device", None)
    if isinstance(device, torch.device):
        return device
    for t in (*vgg.parameters(), *vgg.buffers()):
        return t.device
    return torch.device("cpu")
