"""Keeping the content's colours (Gatys, Bethge, Hertzmann & Shechtman, "Controlling Perceptual
Factors in Neural Style Transfer", CVPR 2017, Sec. 5), two linear methods applied before the
optimisation (lesson 07): *luminance-only transfer* (Sec. 5.1: optimise the luminance Y of YIQ,
put the content's I and Q back: ``rgb_to_yiq``, ``match_luminance``, ``yiq_to_rgb``) and *colour
histogram matching* (Sec. 5.2: recolour the style to the content's RGB mean and covariance, then
a normal transfer: ``match_color_histogram``). Images are float [B, 3, H, W] (or [3, H, W]); a
luminance image is [B, 1, H, W].
"""

from __future__ import annotations

import torch

from ..errors import ParameterError
from ..options import PRESERVE_COLORS

#: RGB → YIQ (the NTSC/FCC matrix): rows give Y, I and Q. Y = 0.299 R + 0.587 G + 0.114 B is the
#: luminance; the rows of I and Q sum to 0, so a grey pixel (R = G = B) has I = Q = 0.
RGB_TO_YIQ: tuple[tuple[float, float, float], ...] = (
    (0.299, 0.587, 0.114),
    (0.595716, -0.274453, -0.321263),
    (0.211456, -0.522591, 0.311135),
)
#: How ``match_color_histogram`` finds A with A Σ_s Aᵀ = Σ_c.
HISTOGRAM_METHODS = ("eigen", "cholesky")
#: The most the colour transforms stretch any colour direction of the style (``max_gain``), so
#: a 1/255 change of the style (noise, JPEG, 8-bit rounding) moves the result a few /255 at most.
MAX_GAIN = 4.0


def _check_image(image: torch.Tensor, what: str, channels: int = 3) -> torch.Tensor:
    if not isinstance(image, torch.Tensor) or image.dim() not in (3, 4):
        shape = list(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ParameterError(f"{what}: expected an image tensor [B, {channels}, H, W], got {shape}")
    t = image if image.dim() == 4 else image.unsqueeze(0)
    if t.shape[1] != channels or not t.is_floating_point():
        raise ParameterError(
            f"{what}: expected a float image tensor [B, {channels}, H, W], got "
            f"{list(image.shape)} of {image.dtype}"
        )
    return t


def _apply(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """out[:, i] = Σ_j matrix[i, j] · image[:, j], in float64, returned in image's dtype."""
    out = torch.einsum("ij,bjhw->bihw", matrix.to(image.device), image.double())
    return out.to(image.dtype)


def _yiq_matrix() -> torch.Tensor:
    return torch.tensor(RGB_TO_YIQ, dtype=torch.float64)


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    """YIQ of an RGB image, [Y, I, Q]ᵀ = M [R, G, B]ᵀ (M = ``RGB_TO_YIQ``; Y = 0.299 R + 0.587 G
    + 0.114 B is the luminance of Sec. 5.1, I and Q the colour): [B, 3, H, W] → [B, 3, H, W]."""
    return _apply(_yiq_matrix(), _check_image(image, "rgb_to_yiq"))


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """RGB of a YIQ image, [R, G, B]ᵀ = M⁻¹ [Y, I, Q]ᵀ (the exact inverse of ``rgb_to_yiq``). Not
    clamped: a luminance paired with another image's chrominance may leave [0, 1]."""
    return _apply(torch.linalg.inv(_yiq_matrix()), _check_image(image, "yiq_to_rgb"))


def luminance(image: torch.Tensor) -> torch.Tensor:
    """Y = 0.299 R + 0.587 G + 0.114 B of an RGB image: [B, 3, H, W] → [B, 1, H, W]."""
    return rgb_to_yiq(image)[:, :1]


def _check_gain(max_gain: float | None) -> None:
    if max_gain is not None and not (max_gain >= 1.0 and max_gain < float("inf")):
        raise ParameterError(f"max_gain must be None or a finite number ≥ 1, not {max_gain!r}")


def match_luminance(
    style_y: torch.Tensor, content_y: torch.Tensor, max_gain: float | None = MAX_GAIN
) -> torch.Tensor:
    """The style's luminance with the content's mean and standard deviation (Sec. 5.1),
    Y_s' = (σ_c / σ_s) (Y_s − μ_s) + μ_c over all pixels (σ the population deviation). The
    contrast is stretched at most ``max_gain`` times (σ_s is taken ≥ σ_c / ``max_gain``; None:
    exactly), so a flat style's noise is not blown up; a constant style is only shifted. Not
    clamped. [B, 1, H, W] each (sizes may differ) → the style's shape."""
    _check_gain(max_gain)
    s = _check_image(style_y, "match_luminance: style_y", channels=1).double()
    c = _check_image(content_y, "match_luminance: content_y", channels=1).to(s.device).double()
    mu_s, sigma_s = s.mean(), s.std(unbiased=False)
    mu_c, sigma_c = c.mean(), c.std(unbiased=False)
    if max_gain is not None:
        sigma_s = torch.maximum(sigma_s, sigma_c / max_gain)
    scale = sigma_c / sigma_s if sigma_s > 0 else torch.ones((), dtype=torch.float64)
    return ((s - mu_s) * scale + mu_c).to(style_y.dtype)


def color_statistics(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean μ (3) and covariance Σ (3 × 3) of an image's RGB pixels, in float64:
    μ = (1/P) Σ_p x_p, Σ = (1/P) Σ_p (x_p − μ)(x_p − μ)ᵀ over the P pixels (all images)."""
    t = _check_image(image, "color_statistics").double()
    pixels = t.permute(1, 0, 2, 3).reshape(3, -1)
    mu = pixels.mean(dim=1)
    centred = pixels - mu[:, None]
    return mu, centred @ centred.T / pixels.shape[1]


def _symmetric_power(cov: torch.Tensor, eps: float, power: float, floor=0.0) -> torch.Tensor:
    """(Σ + eps I)^power = U (Λ + eps)^power Uᵀ, Σ's eigenvalues first raised to ≥ ``floor``."""
    values, vectors = torch.linalg.eigh(cov)
    values = values.clamp_min(max(floor, 0.0)) + eps
    if power < 0 and values.min().item() <= 0.0:
        raise ParameterError(
            "match_color_histogram: the style's colour covariance is singular (flat or "
            "collinear colours); use eps > 0"
        )
    return vectors @ torch.diag(values.pow(power)) @ vectors.T


def match_color_histogram(
    style: torch.Tensor,
    content: torch.Tensor,
    method: str = "eigen",
    eps: float = 1e-5,
    max_gain: float | None = MAX_GAIN,
) -> torch.Tensor:
    """Recolour ``style`` to the mean and covariance of ``content``'s RGB pixels (Sec. 5.2): each
    pixel becomes x' = A (x − μ_s) + μ_c with A Σ_s Aᵀ = Σ_c. ``method``: ``"eigen"`` (the 3-D
    colour matching of *Image Analogies*, App. B), A = Σ_c^{1/2} Σ_s^{-1/2} with the symmetric
    roots U Λ^{±1/2} Uᵀ, independent of the channel order; or ``"cholesky"``, A = L_c L_s⁻¹.
    ``eps`` is added to both covariances' eigenvalues (diagonal), so a flat style still has a
    finite A (0: exact).

    The match is exact only while no colour direction of the style must be stretched more than
    ``max_gain`` times (default ``MAX_GAIN`` = 4): Σ_s's eigenvalues are first raised to at least
    λ_max(Σ_c) / max_gain², so ‖A‖ ≤ max_gain, and a style weaker than that in some direction
    (a near-grey style, whose only colour is ±1/255 noise) gets less of the content's covariance
    there instead of speckle. None: always the exact match. Not clamped (the engine clamps).
    [B, 3, H, W] each (sizes may differ) → the style's shape.
    """
    s = _check_image(style, "match_color_histogram: style")
    _check_image(content, "match_color_histogram: content")
    if method not in HISTOGRAM_METHODS:
        choices = ", ".join(HISTOGRAM_METHODS)
        raise ParameterError(f"method must be one of {choices}, not {method!r}")
    if not (eps >= 0.0 and eps < float("inf")):
        raise ParameterError(f"eps must be finite and ≥ 0, not {eps!r}")
    _check_gain(max_gain)
    mu_s, cov_s = color_statistics(s)
    mu_c, cov_c = color_statistics(content.to(s.device))
    floor = 0.0
    if max_gain is not None:  # the style's spread, at least 1/max_gain of the content's largest
        floor = torch.linalg.eigvalsh(cov_c)[-1].clamp_min(0.0).item() / max_gain**2
    if method == "eigen":
        a = _symmetric_power(cov_c, eps, 0.5) @ _symmetric_power(cov_s, eps, -0.5, floor)
    else:
        eye = torch.eye(3, dtype=torch.float64, device=cov_c.device)
        if floor > 0.0:
            cov_s = _symmetric_power(cov_s, 0.0, 1.0, floor)
        l_c, info_c = torch.linalg.cholesky_ex(cov_c + eps * eye)
        l_s, info_s = torch.linalg.cholesky_ex(cov_s + eps * eye)
        if info_c.item() or info_s.item():
            raise ParameterError(
                "match_color_histogram: a colour covariance is singular (an image of flat or "
                "collinear colours); use eps > 0"
            )
        a = l_c @ torch.linalg.inv(l_s)
    out = _apply(a, s.double() - mu_s.view(1, 3, 1, 1)) + mu_c.view(1, 3, 1, 1)
    return out.to(style.dtype)


class ColourPreservation:
    """Keep the content's colours (2017, Sec. 5): the pre-step on the images and the maps between
    the optimised variable and what VGG19 and the learner see. ``"luminance"``: x is Y
    [1, 1, H, W]; the content's Y and each style's matched Y are seen as three equal channels; the
    result is Y with the content's I and Q, clamped. ``"histogram"``: each style is recoloured to
    the content's RGB mean and covariance; x stays RGB."""

    def __init__(self, method: str, content: torch.Tensor) -> None:
        if method not in PRESERVE_COLORS:
            choices = ", ".join(PRESERVE_COLORS)
            raise ParameterError(f"preserve_color must be one of {choices} or None, not {method!r}")
        self.method, self.content = method, content
        self.chroma: torch.Tensor | None = None  # the content's I and Q (luminance-only)
        self.content_y: torch.Tensor | None = None
        if method == "luminance":
            yiq = rgb_to_yiq(content)
            self.content_y, self.chroma = yiq[:, :1], yiq[:, 1:]

    def content_input(self) -> torch.Tensor:
        """The content image as VGG19 sees it (the luminance as three equal channels, or RGB)."""
        if self.content_y is None:
            return self.content
        return self.content_y.repeat(1, 3, 1, 1)

    def style_input(self, style: torch.Tensor) -> torch.Tensor:
        """A style image recoloured for the run: its matched Y as grey, or histogram-matched RGB."""
        if self.content_y is None:
            return match_color_histogram(style, self.content).clamp(0, 1)
        return match_luminance(luminance(style), self.content_y).clamp(0, 1).repeat(1, 3, 1, 1)

    def variable(self, rgb: torch.Tensor) -> torch.Tensor:
        """The optimised variable for an RGB initial image: its Y, or the image itself."""
        return rgb if self.chroma is None else luminance(rgb)

    def to(self, device: torch.device) -> ColourPreservation:
        """The same, with the content's channels on ``device``."""
        for name in ("content", "chroma", "content_y"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value.to(device))
        return self

    def network_input(self, x: torch.Tensor) -> torch.Tensor:
        """What VGG19 sees of Y: three equal channels (the gradient of the copies sums into Y)."""
        return x.expand(-1, 3, -1, -1)

    def to_rgb(self, x: torch.Tensor) -> torch.Tensor:
        """Y clamped to [0, 1] with the content's I and Q, back in RGB, clamped again."""
        assert self.chroma is not None
        return yiq_to_rgb(torch.cat([x.clamp(0, 1), self.chroma], dim=1)).clamp(0, 1)
