"""The optimisation step (``step.py``, lesson 04 "The step"): one evaluation is Eq. 7 built from
the public formula functions and one backward pass; one step uses exactly one evaluation; it is
the step every run calls; and it stays short enough to read in one sitting."""

from __future__ import annotations

import ast
import inspect
import math

import pytest
import torch

import nst_helpers as nst
from nst_helpers import engine, step
from nst_helpers.extensions.tv import total_variation

from .conftest import smooth_image


def objective_for(vgg, content, style, alpha=1.0, beta=1e3, **extra):
    P = {k: v.detach() for k, v in vgg(content, ["relu4_2"]).items()}
    A = {k: nst.gram_matrix(v).detach() for k, v in vgg(style, nst.PAPER_STYLE_LAYERS).items()}
    w = {name: 0.2 for name in A}
    return nst.Objective(P, A, w, alpha, beta, **extra)


def test_one_evaluation_is_eq_7_from_the_public_formulas_and_its_gradient(vgg, content):
    style = smooth_image(32, 40, seed=2)
    objective = objective_for(vgg, content, style, alpha=2.0, beta=50.0)
    x = content.clone().requires_grad_(True)
    ev = nst.evaluate(x, vgg, objective)

    y = content.clone().requires_grad_(True)
    f = vgg(y, ["relu4_2", *nst.PAPER_STYLE_LAYERS])
    lc = nst.content_loss(f["relu4_2"], objective.content_targets["relu4_2"])
    ls = nst.style_loss(f, objective.style_targets)  # w_l = 1/5 each
    total = nst.total_loss(lc, ls, 2.0, 50.0)
    total.backward()
    assert ev.total == pytest.approx(total.item(), rel=1e-6)
    assert (ev.content, ev.style) == pytest.approx((lc.item(), ls.item()), rel=1e-6)
    assert list(ev.style_layers) == list(nst.PAPER_STYLE_LAYERS) and ev.finite
    torch.testing.assert_close(x.grad, y.grad)


def test_extra_terms_and_the_network_input_enter_the_total(vgg, content):
    objective = objective_for(
        vgg,
        content,
        smooth_image(32, 40, seed=2),
        extra_terms={"tv": (0.5, total_variation)},
        network_input=lambda x: x.expand(-1, 3, -1, -1),
    )
    y = content[:, :1].clone().requires_grad_(True)  # a one-channel variable, seen as grey
    ev = nst.evaluate(y, vgg, objective)
    tv = total_variation(y.detach()).item()
    assert ev.extra["tv"] == pytest.approx(tv)
    assert ev.total == pytest.approx(ev.content + 1e3 * ev.style + 0.5 * tv, rel=1e-6)
    assert y.grad.shape == y.shape


def test_a_non_finite_loss_leaves_a_zero_gradient_and_adam_does_not_move(vgg, content):
    objective = objective_for(vgg, content, smooth_image(32, 40, seed=2))
    x = content.clone()
    x[0, 0, 0, 0] = math.nan
    x.requires_grad_(True)
    before = x.detach().clone()
    ev = nst.optimisation_step(x, torch.optim.Adam([x], lr=0.1), vgg, objective)
    assert not ev.finite and ev.nonfinite and torch.equal(x.grad, torch.zeros_like(x))
    assert torch.equal(x.detach().nan_to_num(), before.nan_to_num())


@pytest.mark.parametrize("name", ["lbfgs", "adam"])
def test_a_hand_written_loop_of_steps_is_exactly_a_run(vgg, content, name):
    """The loop a learner writes in lesson 04 gives the run's history and image, bit for bit."""
    style = smooth_image(32, 40, seed=2)
    result = nst.run_style_transfer(
        content, style, vgg=vgg, steps=6, beta=1e3, optimizer=name, progress=False
    )
    transfer = nst.StyleTransfer(content, style, vgg=vgg, steps=6, beta=1e3, optimizer=name)
    x = content.clone().requires_grad_(True)
    optimizer = engine.make_optimizer(name, x, None)
    totals = [nst.optimisation_step(x, optimizer, vgg, transfer.objective).total for _ in range(6)]
    assert totals == [r["total"] for r in result.history]


def test_every_run_calls_the_step_once_per_evaluation(vgg, content, monkeypatch):
    calls = []
    real = step.optimisation_step

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "optimisation_step", counted)
    nst.run_style_transfer(content, smooth_image(32, 40, 2), vgg=vgg, steps=4, progress=False)
    assert len(calls) == 4


def _logic_lines(function) -> int:
    """Lines of code in ``function`` without its docstring, comments and blank lines."""
    tree = ast.parse(inspect.getsource(function).lstrip())
    body = tree.body[0].body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    lines = set()
    for node in body:
        for sub in ast.walk(node):
            if hasattr(sub, "lineno"):
                lines.update(range(sub.lineno, sub.end_lineno + 1))
    return len(lines)


def test_the_step_a_learner_reads_is_about_forty_lines():
    total = sum(_logic_lines(f) for f in (step.layer_terms, step.evaluate, step.optimisation_step))
    assert total <= 45, total
