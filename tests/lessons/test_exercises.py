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

from ..conftest import smooth_image

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


@pytest.mark.parametrize("name", ["content_loss", "gram_matrix", "style_layer_loss"])
def test_the_shown_solution_is_the_plain_formula_and_passes_its_own_check(name, capsys):
    source = ex.SOLUTIONS[name]
    assert source.startswith(f"def my_{name}(") and "nst" not in source
    assert len(source.splitlines()) <= 5
    namespace = {}
    exec(source, namespace)  # runnable as it is shown: plain PyTorch, nothing imported
    assert CHECKS[name](namespace[f"my_{name}"]).passed
    ex.show_solution(name)
    assert source in capsys.readouterr().out


def test_the_later_lessons_solutions_run_as_shown_and_pass_their_checks(vgg):
    from nst_helpers.extensions.colour import rgb_to_yiq, yiq_to_rgb
    from nst_helpers.lessons.landscape import LossTerms

    names = {"nst": nst, "torch": torch, "rgb_to_yiq": rgb_to_yiq, "yiq_to_rgb": yiq_to_rgb}
    for name in ("evaluate", "keep_colours"):
        exec(ex.SOLUTIONS[name], names)
        assert getattr(ex, f"check_{name}")(names[f"my_{name}"]).passed, name
    exec(ex.SOLUTIONS["ratio"], names)
    assert ex.check_ratio(names["prediction"]).passed
    names["result"] = _run_with({1: 100, 10: 50, 100: 5, 300: 1, 500: 0})
    exec(ex.SOLUTIONS["settled"], names)
    assert ex.check_settled(names["settled"], names["result"]).passed
    names["content"] = smooth_image(32, 32, seed=1)
    exec(ex.SOLUTIONS["nonconvex"], names)
    losses = LossTerms(names["content"], smooth_image(32, 32, seed=2), vgg=vgg)
    assert "L(middle)" in ex.check_nonconvex(names["a"], names["b"], losses).message


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


# --------------------------------------------------------------------------- lessons 04 to 07


def _evaluate(weights=True, beta=True, swap=False, backward=True, reset=True):
    def my_evaluate(x, vgg, objective):
        P, A = objective.content_targets, objective.style_targets
        F = vgg(x, [*P, *A])
        L_content = sum(nst.content_loss(F[name], P[name]) for name in P)
        w = objective.style_weights if weights else dict.fromkeys(A, 1.0)
        L_style = sum(w[name] * nst.style_layer_loss(F[name], A[name]) for name in A)
        a, b = (objective.beta, objective.alpha) if swap else (objective.alpha, objective.beta)
        L_total = a * L_content + (b if beta else 1.0) * L_style
        if reset:
            x.grad = None
        if backward:
            L_total.backward()
        return L_total

    return my_evaluate


@pytest.mark.parametrize(
    "fn, status, words",
    [
        (_evaluate(), "correct", "the same L_total"),
        (_evaluate(backward=False), "wrong", "backward"),
        (_evaluate(reset=False), "wrong", "x.grad = None"),
        (_evaluate(swap=True), "wrong", "swapped"),
        (_evaluate(weights=False), "wrong", "w_l"),
        (_evaluate(beta=False), "wrong", "β is missing"),
        (lambda x, vgg, objective: None, "unfinished", "stub"),
    ],
)
def test_the_learners_evaluation_is_checked_against_the_step(fn, status, words):
    feedback = ex.check_evaluate(fn)
    assert feedback.status == status and words in feedback.message


def test_the_ratio_prediction():
    assert ex.check_ratio("a").passed and ex.check_ratio("(A)").passed
    assert "smaller α/β" in ex.check_ratio("b").message
    assert ex.check_ratio("?").status == "unfinished"


def _run_with(changes):
    from nst_helpers.engine import Result

    base = torch.zeros(1, 3, 4, 4)
    snapshots = {k: base + d / 255 for k, d in changes.items()}
    return Result(base, [], snapshots, max(changes))


def test_where_the_image_settles():
    result = _run_with({1: 100, 10: 50, 100: 5, 300: 1, 500: 0})  # grey levels from the last
    assert ex.check_settled(300, result).passed
    assert "not yet" in ex.check_settled(100, result).message
    assert "earlier" in ex.check_settled(500, result).message
    assert "not one of the snapshots" in ex.check_settled(42, result).message
    never = _run_with({1: 100, 2: 50})  # still changing at its last snapshot
    assert "None" in ex.check_settled(1, never).message and not ex.check_settled(1, never).passed
    assert ex.check_settled(None, never).passed  # the answer: it never settles
    assert ex.check_settled(..., never).status == "unfinished"  # the stub is not "wrong"


def test_the_later_checkers_give_feedback_instead_of_crashing_on_odd_answers(vgg):
    from nst_helpers.lessons.landscape import LossTerms

    def swapped_in_float64(s, c):
        from nst_helpers.extensions.colour import rgb_to_yiq, yiq_to_rgb

        s, c = s.double(), c.double()
        return yiq_to_rgb(torch.cat([rgb_to_yiq(c)[:, :1], rgb_to_yiq(s)[:, 1:]], dim=1))

    assert "swapped" in ex.check_keep_colours(swapped_in_float64).message
    assert "uint8" in ex.check_keep_colours(lambda s, c: (s * 255).to(torch.uint8)).message
    assert "str" in ex.check_evaluate(lambda x, vgg, objective: "abc").message
    assert "function" in ex.check_evaluate(None).message
    losses = LossTerms(smooth_image(16, 16, seed=1), smooth_image(16, 16, seed=2), vgg=vgg)
    odd = [
        (smooth_image(16, 16, seed=1), smooth_image(24, 24, seed=1), losses),
        (torch.rand(3, 16, 16), torch.rand(3, 16, 16), losses),
        (smooth_image(16, 16, seed=1), smooth_image(16, 16, seed=2), None),
    ]
    for a, b, loss in odd:
        feedback = ex.check_nonconvex(a, b, loss)
        assert feedback.status == "wrong" and "\n" not in feedback.message


def test_the_settled_solution_answers_none_for_a_run_that_never_settles():
    names = {"result": _run_with({1: 100, 2: 50})}
    exec(ex.SOLUTIONS["settled"], names)  # no ValueError from an empty min()
    assert names["settled"] is None and ex.check_settled(None, names["result"]).passed


def test_a_segment_that_breaks_midpoint_convexity(vgg):
    from nst_helpers.lessons.landscape import LossTerms

    content, style = smooth_image(32, 32, seed=1), smooth_image(32, 32, seed=2)
    losses = LossTerms(content, style, vgg=vgg)
    assert "same image" in ex.check_nonconvex(content, content, losses).message
    # two images a tiny step apart: the loss is smooth, so no violation there
    nearby = ex.check_nonconvex(content, content + 1e-4, losses)
    assert nearby.status == "wrong" and "no violation" in nearby.message
    # a painting and its mirror: the same style statistics, a double exposure in the middle
    mirror = ex.check_nonconvex(style, torch.flip(style, dims=[-1]), losses)
    assert mirror.status == "correct" and "not convex" in mirror.message


def test_luminance_only_transfer_by_hand():
    from nst_helpers.extensions.colour import rgb_to_yiq, yiq_to_rgb

    def right(stylised, content):
        return yiq_to_rgb(torch.cat([rgb_to_yiq(stylised)[:, :1], rgb_to_yiq(content)[:, 1:]], 1))

    def swapped(stylised, content):
        return right(content, stylised)

    def grey_mean(stylised, content):
        y = stylised.mean(1, keepdim=True)
        return yiq_to_rgb(torch.cat([y, rgb_to_yiq(content)[:, 1:]], 1))

    assert ex.check_keep_colours(right).passed
    assert ex.check_keep_colours(lambda s, c: right(s, c).clamp(0, 1)).passed
    assert "swapped" in ex.check_keep_colours(swapped).message
    assert "0.299" in ex.check_keep_colours(grey_mean).message
    assert ex.check_keep_colours(lambda s, c: None).status == "unfinished"


@pytest.mark.parametrize("name", ["evaluate", "ratio", "settled", "nonconvex", "keep_colours"])
def test_every_new_exercise_has_three_hints_and_a_solution(name):
    assert all(ex.hint(name, level) for level in (1, 2, 3))
    assert name in ex.SOLUTIONS
