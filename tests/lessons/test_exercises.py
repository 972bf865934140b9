"""The exercise checks accept the paper's formulas and name the typical mistakes.

L_content = ½ Σ (F − P)² (Eq. 1); G = F Fᵀ, N × N (Eq. 3); E_l = Σ (G − A)² / (4 N² M²) (Eq. 4).
A check never raises: stubs, exceptions and wrong answers all become specific feedback.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nst_helpers as nst
from nst_helpers.lessons import exercises as ex


def stub(*args):
    """What the notebooks' learner cells start with: `def my_…(…): ...  # your code here`."""
    ...


def assert_feedback(feedback, status, *fragments):
    assert feedback.status == status, str(feedback)
    assert bool(feedback) is (status == "correct")
    for fragment in fragments:
        assert fragment in feedback.message, f"{fragment!r} not in: {feedback.message}"


# --------------------------------------------------------------------------- content loss


def content_for_one_size_only(F, P):
    d = (F - P).reshape(6, 15)  # hard-coded N and M: fails on other shapes
    return 0.5 * (d**2).sum()


def test_the_content_check_accepts_the_paper_formula_written_several_ways():
    answers = [
        ex.solution_content_loss,
        lambda F, P: 0.5 * torch.sum((F - P) ** 2),
        lambda F, P: ((F - P).pow(2) / 2).sum(),
        lambda F, P: 0.5 * torch.linalg.vector_norm(F - P) ** 2,
        lambda F, P: nst.content_loss(F, P),
    ]
    for answer in answers:
        assert_feedback(ex.check_content_loss(answer), "correct", "½ Σ (F − P)²")


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (lambda F, P: ((F - P) ** 2).sum(), "forgot the ½"),
        (lambda F, P: 0.5 * ((F - P) ** 2).mean(), "mean instead of the sum"),
        (lambda F, P: torch.nn.functional.mse_loss(F, P), "mean (like MSELoss) and forgot the ½"),
        (lambda F, P: 0.5 * (F - P).abs().sum(), "forgot to square"),
        (lambda F, P: 0.5 * (F - P).sum() ** 2, "squared the sum"),
        (lambda F, P: 0.5 * torch.linalg.vector_norm(F - P), "square root"),
        (lambda F, P: -0.5 * ((F - P) ** 2).sum(), "sign"),
        (lambda F, P: 0.25 * ((F - P) ** 2).sum(), "not ¼"),
        (lambda F, P: 0.5 * (F - P) ** 2, "shape [1, 6, 3, 5]"),
        (lambda F, P: 0.5 * ((F - P) ** 2).sum(dim=1), "every entry"),
        (lambda F, P: (0.5 * ((F - P) ** 2).sum()).item(), "cut off from autograd"),
        (lambda F, P: 0.5 * ((F - P) ** 2).sum().detach().numpy(), "cut off from autograd"),
        (
            lambda F, P: 0.5 * ((F - P)[:, :, :3, :5] ** 2).sum() if F.shape[2] == 3 else 0.0,
            "hard-code",
        ),
        (lambda F, P: ((F + P) ** 2).sum(), "½ Σ (F − P)² is"),
    ],
)
def test_the_content_check_names_each_typical_mistake(answer, fragment):
    assert_feedback(ex.check_content_loss(answer), "wrong", fragment)


def test_an_unfinished_stub_or_an_exception_is_feedback_not_a_crash():
    assert_feedback(ex.check_content_loss(stub), "unfinished", "my_content_loss", "stub")

    def raises(F, P):
        raise NotImplementedError

    assert_feedback(ex.check_content_loss(raises), "unfinished")

    def broken(F, P):
        return F @ P  # shapes do not fit

    assert_feedback(ex.check_content_loss(broken), "wrong", "raised RuntimeError", "Hint")
    assert_feedback(ex.check_content_loss("not a function"), "wrong", "expected a function")
    assert_feedback(ex.check_content_loss(lambda F, P: "text"), "wrong", "return a tensor")


def test_the_check_does_not_let_the_learner_change_its_test_tensors():
    def in_place(F, P):
        F.data.zero_()
        return 0.5 * ((F - P) ** 2).sum()

    feedback = ex.check_content_loss(in_place)
    assert feedback.status == "wrong"  # it computed the loss of a zeroed F, and is told so
    assert_feedback(ex.check_content_loss(ex.solution_content_loss), "correct")


# --------------------------------------------------------------------------- Gram matrix


def test_the_gram_check_accepts_F_Ftranspose_in_any_spelling():
    answers = [
        ex.solution_gram_matrix,
        lambda F: nst.gram_matrix(F),  # [1, N, N] is fine
        lambda F: torch.einsum("bihw,bjhw->ij", F, F),
        lambda F: F.flatten(2)[0] @ F.flatten(2)[0].T,
        lambda F: (
            F[0].permute(1, 2, 0).reshape(-1, F.shape[1]).T
            @ F[0].permute(1, 2, 0).reshape(-1, F.shape[1])
        ),
    ]
    for answer in answers:
        assert_feedback(ex.check_gram_matrix(answer), "correct", "N × N")


def flat(F):
    return F.reshape(F.shape[1], -1)


def gram_for_one_size_only(F):
    f = F.reshape(6, 15)
    return f @ f.T


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (lambda F: flat(F).T @ flat(F), "Fᵀ F"),
        (lambda F: F @ F.transpose(-1, -2), "flatten each map"),
        (lambda F: flat(F) @ flat(F).T / flat(F).shape[1], "divided by M"),
        (lambda F: flat(F) @ flat(F).T / flat(F).numel(), "divided by N·M"),
        (lambda F: flat(F) @ flat(F).T / F.shape[1], "divided by N"),
        (
            lambda F: F.reshape(-1, F.shape[1]).T @ F.reshape(-1, F.shape[1]),
            "mixes channels and positions",
        ),
        (lambda F: (flat(F) @ flat(F).T).triu(), "symmetric"),
        (lambda F: (flat(F) ** 2).sum(), "single number"),
        (lambda F: (flat(F) @ flat(F).T).detach(), "cut off from autograd"),
        (lambda F: torch.ones(6, 6), "G[0, 0] should be"),
        (
            lambda F: flat(F)[:, :15] @ flat(F)[:, :15].T if F.shape[1] == 6 else torch.eye(3),
            "hard-code",
        ),
        (lambda F: flat(F) @ flat(F).T + 1, "G[0, 0] should be"),
    ],
)
def test_the_gram_check_names_each_typical_mistake(answer, fragment):
    assert_feedback(ex.check_gram_matrix(answer), "wrong", fragment)


def test_the_gram_check_helps_with_a_missing_reshape_error():
    feedback = ex.check_gram_matrix(lambda F: F @ F.T)  # .T on a 4-D tensor
    assert feedback.status == "wrong"
    assert "reshape" in feedback.message


def test_an_unfinished_gram_stub_is_not_done_yet():
    assert_feedback(ex.check_gram_matrix(stub), "unfinished", "my_gram_matrix")


# --------------------------------------------------------------------------- E_l


def test_the_style_check_accepts_the_paper_E_l():
    answers = [
        ex.solution_style_layer_loss,
        lambda F, A: nst.style_layer_loss(F, A),
        lambda F, A: (
            ((ex.solution_gram_matrix(F) - A) ** 2).sum()
            / (4 * F.shape[1] ** 2 * (F.shape[2] * F.shape[3]) ** 2)
        ),
    ]
    for answer in answers:
        assert_feedback(ex.check_style_layer_loss(answer), "correct", "4 N² M²")


def e_with(denominator, *, reduce="sum", gram_scale=None):
    """A learner's E_l with a given denominator (a function of N, H, W, M)."""

    def answer(F, A):
        _, N, H, W = F.shape
        M = H * W
        G = flat(F) @ flat(F).T
        if gram_scale is not None:
            G = G / gram_scale(N, M)
        sq = (G - A) ** 2
        total = sq.sum() if reduce == "sum" else sq.mean()
        return total / denominator(N, H, W, M)

    return answer


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (e_with(lambda N, H, W, M: N**2 * M**2), "forgot the 4"),
        (e_with(lambda N, H, W, M: 2 * N**2 * M**2), "not ½"),
        (e_with(lambda N, H, W, M: 4 * N * M**2), "N instead of N²"),
        (e_with(lambda N, H, W, M: 4 * N**2 * M), "M instead of M²"),
        (e_with(lambda N, H, W, M: 4 * N * M), "neither N nor M is squared"),
        (e_with(lambda N, H, W, M: 4 * N**2 * H**2), "wrong M: you used the height"),
        (e_with(lambda N, H, W, M: 4 * N**2 * W**2), "wrong M: you used the width"),
        (e_with(lambda N, H, W, M: 4 * N**2 * (H + W) ** 2), "not H + W"),
        (e_with(lambda N, H, W, M: 4 * N**2 * M**2, reduce="mean"), "mean over the N²"),
        (e_with(lambda N, H, W, M: 1, reduce="mean"), "mean of (G − A)²"),
        (e_with(lambda N, H, W, M: 1), "forgot the normalisation"),
        (e_with(lambda N, H, W, M: 4 * N**2 * M**2, gram_scale=lambda N, M: M), "divided by M"),
        (
            lambda F, A: torch.nn.functional.mse_loss(
                flat(F) @ flat(F).T / flat(F).numel(), A / flat(F).numel()
            ),
            "PyTorch tutorial",
        ),
        (
            lambda F, A: (
                ((flat(F) @ flat(F).T - A).abs()).sum()
                / (4 * F.shape[1] ** 2 * (F.shape[2] * F.shape[3]) ** 2)
            ),
            "forgot to square",
        ),
        (lambda F, A: (flat(F) @ flat(F).T - A) ** 2, "add the squared differences up"),
        (lambda F, A: float(ex.solution_style_layer_loss(F, A)), "cut off from autograd"),
        (lambda F, A: ex.solution_style_layer_loss(F, A) * 1.5, "Σ (G − A)² / (4 N² M²) is"),
    ],
)
def test_the_style_check_names_each_typical_mistake(answer, fragment):
    assert_feedback(ex.check_style_layer_loss(answer), "wrong", fragment)


def test_the_style_check_catches_a_transposed_gram_and_hard_coded_sizes():
    feedback = ex.check_style_layer_loss(
        lambda F, A: ((flat(F).T @ flat(F) - A) ** 2).sum()  # M × M minus N × N
    )
    assert feedback.status == "wrong" and "raised" in feedback.message

    def hard_coded(F, A):
        G = flat(F) @ flat(F).T
        return ((G - A) ** 2).sum() / (4 * 6**2 * 15**2)

    assert_feedback(ex.check_style_layer_loss(hard_coded), "wrong", "hard-code")
    assert_feedback(ex.check_style_layer_loss(stub), "unfinished", "my_style_layer_loss")


# --------------------------------------------------------------------------- hints, solutions


def test_every_solution_passes_its_own_check_and_is_shown_under_the_stub_name():
    checks = {
        "content_loss": ex.check_content_loss,
        "gram_matrix": ex.check_gram_matrix,
        "style_layer_loss": ex.check_style_layer_loss,
    }
    assert set(checks) == set(ex.EXERCISES) == set(ex.SOLUTIONS)
    for name, check in checks.items():
        assert check(ex.SOLUTIONS[name]).passed
        source = ex.solution_source(name)
        assert source.startswith(f"def my_{name}(")
        namespace = {"torch": torch}
        exec(source, namespace)  # the shown code is runnable as it is
        assert check(namespace[f"my_{name}"]).passed
        assert ex.hint(name)


def test_hints_and_solutions_print_outside_jupyter_and_refuse_unknown_names(capsys):
    ex.show_solution("gram_matrix")
    ex.show_hint("gram_matrix")
    out = capsys.readouterr().out
    assert "def my_gram_matrix(F)" in out and "reshape" in out
    with pytest.raises(nst.ParameterError, match="content_loss, gram_matrix"):
        ex.show_solution("gram")


def test_feedback_renders_as_html_and_text():
    feedback = ex.check_content_loss(lambda F, P: ((F - P) ** 2).sum())
    assert "Not yet right" in feedback._repr_html_()
    assert str(feedback).startswith("[content_loss] ✘")
    assert "forgot the ½" in repr(feedback)
    assert np.isfinite(len(str(ex.check_content_loss(ex.solution_content_loss))))


def test_the_references_are_the_packages_formulas_and_the_solution_is_their_source():
    assert ex.SOLUTIONS == {
        "content_loss": nst.content_loss,
        "gram_matrix": nst.gram_matrix,
        "style_layer_loss": nst.style_layer_loss,
    }
    assert set(ex.SPECS) == set(ex.EXERCISES)
    for name, fn in ex.SOLUTIONS.items():
        first_doc_line = fn.__doc__.strip().splitlines()[0]
        assert first_doc_line in ex.solution_source(name)
        assert ex.check(name, fn).passed
