"""The exercises of lessons 02 and 03 accept the paper's formulas and name each typical mistake.

L_content = ½ Σ (F − P)² (Eq. 1); G = F Fᵀ, N × N (Eq. 3); E_l = Σ (G − A)² / (4 N² M²) (Eq. 4).
A check never raises: stubs, exceptions and wrong answers all become specific feedback. Hints
say more at each of three levels; the solution shown is the plain formula, and passes its check.
"""

from __future__ import annotations

import pytest
import torch

import nst_helpers as nst
from nst_helpers.errors import ParameterError
from nst_helpers.lessons import exercises as ex

CHECKS = {
    "content_loss": ex.check_content_loss,
    "gram_matrix": ex.check_gram_matrix,
    "style_layer_loss": ex.check_style_layer_loss,
}


def stub(*args):
    """What the notebooks' learner cells start with: `def my_…(…): ...  # your code here`."""
    ...


def assert_feedback(feedback, status, *fragments):
    assert feedback.status == status, str(feedback)
    assert bool(feedback) is feedback.passed is (status == "correct")
    for fragment in fragments:
        assert fragment in feedback.message, f"{fragment!r} not in: {feedback.message}"


def flat(F):
    return F.reshape(F.shape[1], -1)


def gram(F):
    return flat(F) @ flat(F).T


# --------------------------------------------------------------------------- content loss


@pytest.mark.parametrize(
    "answer",
    [
        lambda F, P: 0.5 * torch.sum((F - P) ** 2),
        lambda F, P: ((F - P).pow(2) / 2).sum(),
        lambda F, P: 0.5 * torch.linalg.vector_norm(F - P) ** 2,
        lambda F, P: nst.content_loss(F, P),
    ],
)
def test_the_content_check_accepts_the_paper_formula_written_several_ways(answer):
    assert_feedback(ex.check_content_loss(answer), "correct", "½ Σ (F − P)²")


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (lambda F, P: ((F - P) ** 2).sum(), "forgot the ½"),
        (lambda F, P: 0.5 * ((F - P) ** 2).mean(), "mean instead of the sum"),
        (lambda F, P: torch.nn.functional.mse_loss(F, P), "mean (like MSELoss) and forgot the ½"),
        (lambda F, P: 0.5 * (F - P).abs().sum(), "forgot to square the differences: ½"),
        (lambda F, P: (F - P).abs().sum(), "forgot to square the differences and the ½"),
        (lambda F, P: 0.5 * (F - P).sum() ** 2, "squared the sum"),
        (lambda F, P: 0.5 * torch.linalg.vector_norm(F - P), "you took the norm"),
        (lambda F, P: torch.linalg.vector_norm(F - P), "is a square root"),
        (lambda F, P: -0.5 * ((F - P) ** 2).sum(), "sign"),
        (lambda F, P: 0.25 * ((F - P) ** 2).sum(), "not ¼"),
        (lambda F, P: 0.5 * (F - P) ** 2, "one value per entry"),
        (lambda F, P: 0.5 * ((F - P) ** 2).sum(dim=1), "every entry"),
        (lambda F, P: (0.5 * ((F - P) ** 2).sum()).item(), "cut off from autograd"),
        (lambda F, P: 0.5 * ((F - P) ** 2).sum().detach().numpy(), "cut off from autograd"),
        (lambda F, P: 0.5 * ((F - P) ** 2).sum() if F.shape[1] == 6 else 0.0, "hard-code"),
        (lambda F, P: ((F + P) ** 2).sum(), "½ Σ (F − P)² is"),
    ],
)
def test_the_content_check_names_each_typical_mistake(answer, fragment):
    assert_feedback(ex.check_content_loss(answer), "wrong", fragment)


def test_the_mean_message_says_how_many_entries_it_divided_by():
    feedback = ex.check_content_loss(lambda F, P: 0.5 * ((F - P) ** 2).mean())
    assert "90" in feedback.message  # N·M = 6 · 3 · 5 for the first test shape


def test_an_unfinished_stub_or_an_exception_is_feedback_not_a_crash():
    assert_feedback(ex.check_content_loss(stub), "unfinished", "my_content_loss", "stub")

    def raises(F, P):
        raise NotImplementedError

    assert_feedback(ex.check_content_loss(raises), "unfinished")
    assert_feedback(ex.check_content_loss(lambda F, P: F @ P), "wrong", "raised RuntimeError")
    assert_feedback(ex.check_content_loss("not a function"), "wrong", "expected a function")
    assert_feedback(ex.check_content_loss(lambda F, P: "text"), "wrong", "return a tensor")


def test_the_check_does_not_let_the_learner_change_its_test_tensors():
    def in_place(F, P):
        F.data.zero_()
        return 0.5 * ((F - P) ** 2).sum()

    assert_feedback(ex.check_content_loss(in_place), "wrong")  # the loss of a zeroed F
    assert_feedback(ex.check_content_loss(lambda F, P: nst.content_loss(F, P)), "correct")


# --------------------------------------------------------------------------- Gram matrix


@pytest.mark.parametrize(
    "answer",
    [
        lambda F: nst.gram_matrix(F),  # [1, N, N] is fine
        lambda F: torch.einsum("bihw,bjhw->ij", F, F),
        lambda F: F.flatten(2)[0] @ F.flatten(2)[0].T,
        lambda F: (
            F[0].permute(1, 2, 0).reshape(-1, F.shape[1]).T
            @ F[0].permute(1, 2, 0).reshape(-1, F.shape[1])
        ),
    ],
)
def test_the_gram_check_accepts_F_Ftranspose_in_any_spelling(answer):
    assert_feedback(ex.check_gram_matrix(answer), "correct", "N × N")


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (lambda F: flat(F).T @ flat(F), "Fᵀ F"),
        (lambda F: F @ F.transpose(-1, -2), "flatten each map"),
        (lambda F: gram(F) / flat(F).shape[1], "divided by M"),
        (lambda F: gram(F) / flat(F).numel(), "PyTorch tutorial"),
        (lambda F: gram(F) / F.shape[1], "divided by N"),
        (lambda F: F.reshape(-1, F.shape[1]).T @ F.reshape(-1, F.shape[1]), "mixes channels"),
        (lambda F: F.reshape(F.shape[2], -1) @ F.reshape(F.shape[2], -1).T, "wrong dimension"),
        (lambda F: gram(F).triu(), "symmetric"),
        (lambda F: (flat(F) ** 2).sum(), "single number"),
        (lambda F: gram(F)[:, :2], "must be N × N"),
        (lambda F: gram(F).detach(), "cut off from autograd"),
        (lambda F: gram(F) + 1, "G[0, 0] should be"),
        (lambda F: gram(F) if F.shape[1] == 6 else torch.eye(3), "hard-code"),
    ],
)
def test_the_gram_check_names_each_typical_mistake(answer, fragment):
    assert_feedback(ex.check_gram_matrix(answer), "wrong", fragment)


@pytest.mark.filterwarnings("ignore:The use of `x.T`")
def test_the_gram_check_helps_with_a_missing_reshape():
    feedback = ex.check_gram_matrix(lambda F: F @ F.T)  # .T of [1, N, H, W]: shapes do not fit
    assert_feedback(feedback, "wrong", "raised", "reshape")
    assert_feedback(ex.check_gram_matrix(stub), "unfinished", "my_gram_matrix")


# --------------------------------------------------------------------------- E_l


@pytest.mark.parametrize(
    "answer",
    [
        lambda F, A: nst.style_layer_loss(F, A),
        lambda F, A: ((gram(F) - A) ** 2).sum() / (4 * F.shape[1] ** 2 * F[0, 0].numel() ** 2),
    ],
)
def test_the_style_check_accepts_the_paper_E_l(answer):
    assert_feedback(ex.check_style_layer_loss(answer), "correct", "4 N² M²")


def e_with(denominator, *, reduce="sum", gram_scale=None):
    """A learner's E_l with a given denominator (a function of N, H, W, M)."""

    def answer(F, A):
        _, N, H, W = F.shape
        M = H * W
        G = gram(F) if gram_scale is None else gram(F) / gram_scale(N, M)
        sq = (G - A) ** 2
        return (sq.sum() if reduce == "sum" else sq.mean()) / denominator(N, H, W, M)

    return answer


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (e_with(lambda N, H, W, M: N**2 * M**2), "forgot the 4"),
        (e_with(lambda N, H, W, M: 2 * N**2 * M**2), "not ½"),
        (e_with(lambda N, H, W, M: 4 * N * M**2), "N instead of N²"),
        (e_with(lambda N, H, W, M: 4 * N**2 * M), "M instead of M²"),
        (e_with(lambda N, H, W, M: 4 * N * M), "neither N nor M is squared"),
        (e_with(lambda N, H, W, M: 4 * N**2 * H**2), "you used the height"),
        (e_with(lambda N, H, W, M: 4 * N**2 * W**2), "you used the width"),
        (e_with(lambda N, H, W, M: 4 * N**2 * (H + W) ** 2), "not H + W"),
        (e_with(lambda N, H, W, M: 4 * N**2 * M**2, reduce="mean"), "mean over the N²"),
        (e_with(lambda N, H, W, M: 1, reduce="mean"), "mean of (G − A)²"),
        (e_with(lambda N, H, W, M: 1), "forgot the normalisation"),
        (e_with(lambda N, H, W, M: 4 * N**2 * M**2, gram_scale=lambda N, M: M), "divided by M"),
        (
            lambda F, A: torch.nn.functional.mse_loss(gram(F) / F.numel(), A / F.numel()),
            "PyTorch tutorial",
        ),
        (
            lambda F, A: (gram(F) - A).abs().sum() / (4 * F.shape[1] ** 2 * F[0, 0].numel() ** 2),
            "forgot to square",
        ),
        (
            lambda F, A: (gram(F) - A).sum() ** 2 / (4 * F.shape[1] ** 2 * F[0, 0].numel() ** 2),
            "squared the sum",
        ),
        (lambda F, A: -nst.style_layer_loss(F, A), "sign"),
        (lambda F, A: (gram(F) - A) ** 2, "one value per entry"),
        (lambda F, A: nst.style_layer_loss(F, A).item(), "cut off from autograd"),
        (lambda F, A: nst.style_layer_loss(F, A) * 1.5, "Σ (G − A)² / (4 N² M²) is"),
    ],
)
def test_the_style_check_names_each_typical_mistake(answer, fragment):
    assert_feedback(ex.check_style_layer_loss(answer), "wrong", fragment)


def test_the_style_check_catches_a_transposed_gram_and_hard_coded_sizes():
    transposed = ex.check_style_layer_loss(lambda F, A: ((flat(F).T @ flat(F) - A) ** 2).sum())
    assert_feedback(transposed, "wrong", "raised")  # M × M minus N × N

    def hard_coded(F, A):
        return ((gram(F) - A) ** 2).sum() / (4 * 6**2 * 15**2)

    assert_feedback(ex.check_style_layer_loss(hard_coded), "wrong", "hard-code")
    assert_feedback(ex.check_style_layer_loss(stub), "unfinished", "my_style_layer_loss")


# --------------------------------------------------------------------------- hints, solutions


@pytest.mark.parametrize("name", ex.EXERCISES)
def test_the_shown_solution_is_the_plain_formula_and_passes_its_own_check(name, capsys):
    source = ex.SOLUTIONS[name]
    assert source.startswith(f"def my_{name}(") and "nst" not in source
    assert len(source.splitlines()) <= 5
    namespace = {}
    exec(source, namespace)  # runnable as it is shown: plain PyTorch, nothing imported
    assert CHECKS[name](namespace[f"my_{name}"]).passed
    ex.show_solution(name)
    assert source in capsys.readouterr().out


@pytest.mark.parametrize("name", ex.EXERCISES)
def test_hints_are_graded_the_idea_part_of_the_line_then_the_line(name):
    idea, partial, line = (ex.hint(name, level) for level in (1, 2, 3))
    assert ex.hint(name) == idea
    assert all(code.strip() in ex.SOLUTIONS[name] for code in line.split(";"))  # its own code
    assert line not in idea and line not in partial  # only level 3 gives the line away
    assert "…" in partial  # part of the line, with a gap to fill


def test_hints_print_outside_jupyter_and_unknown_names_or_levels_are_refused(capsys):
    ex.show_hint("gram_matrix")
    out = capsys.readouterr().out
    assert "reshape" in out and 'show_hint("gram_matrix", 2)' in out.replace("'", '"')
    with pytest.raises(ParameterError, match="content_loss, gram_matrix"):
        ex.show_solution("gram")
    with pytest.raises(ParameterError, match="1, 2, 3"):
        ex.hint("gram_matrix", 4)


def test_feedback_renders_as_html_and_text():
    feedback = ex.check_content_loss(lambda F, P: ((F - P) ** 2).sum())
    assert "Not yet right" in feedback._repr_html_()
    assert str(feedback).startswith("[content_loss] ✘")
    assert "forgot the ½" in repr(feedback)
    assert str(ex.check_content_loss(stub)).startswith("[content_loss] …")
    assert "Correct" in ex.check_gram_matrix(nst.gram_matrix)._repr_html_()
