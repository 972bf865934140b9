"""The squared total-variation term (``extensions/tv.py``)."""

from __future__ import annotations

import pytest
import torch

from nst_helpers.extensions.tv import total_variation

from . import make


def tv_reference(x: torch.Tensor) -> float:
    """Σ over channels and pixels of the squared differences to the next row and column."""
    total = 0.0
    _, c, h, w = x.shape
    for ch in range(c):
        for i in range(h):
            for j in range(w):
                if i + 1 < h:
                    total += (x[0, ch, i + 1, j] - x[0, ch, i, j]).item() ** 2
                if j + 1 < w:
                    total += (x[0, ch, i, j + 1] - x[0, ch, i, j]).item() ** 2
    return total


def test_total_variation_is_the_sum_of_squared_neighbour_differences():
    x = torch.rand(1, 2, 4, 5, dtype=torch.float64, requires_grad=True)
    tv = total_variation(x)
    assert tv.item() == pytest.approx(tv_reference(x.detach()), rel=1e-12)
    assert torch.autograd.gradcheck(total_variation, (x,))
    assert total_variation(torch.full((1, 3, 6, 6), 0.3)).item() == 0.0


def test_tv_weight_zero_is_todays_run(vgg, content, style):
    plain = make(content, style, vgg, steps=5).run()
    zero = make(content, style, vgg, steps=5, tv_weight=0.0).run()
    assert torch.equal(plain.image, zero.image)
    assert zero.history == [
        dict(r, seconds=z["seconds"]) for r, z in zip(plain.history, zero.history, strict=True)
    ]
    assert "tv" not in zero.history[0] and zero.settings["tv_weight"] == 0.0


def test_tv_weight_adds_the_term_and_smooths_the_result(vgg, content, style):
    options = {"init": "noise", "steps": 12, "beta": 1e4}
    plain = make(content, style, vgg, **options).run()
    smooth = make(content, style, vgg, tv_weight=0.05, **options).run()
    for r in smooth.history:
        assert r["total"] == pytest.approx(
            r["content"] + 1e4 * r["style"] + 0.05 * r["tv"], rel=1e-5
        )
    first = smooth.snapshots[1]
    assert smooth.history[0]["tv"] == pytest.approx(tv_reference(first), rel=1e-4)
    assert total_variation(smooth.image) < 0.8 * total_variation(plain.image)


# --------------------------------------------------------------------------- all of them
