"""Choosing where tensors live: CUDA, Apple's MPS or the CPU."""

from __future__ import annotations

import torch

from .errors import ParameterError


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` as a ``torch.device``; ``None`` picks ``cuda``, then ``mps``, then ``cpu``."""
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ParameterError(f"device: {device!r} is not a device ({exc})") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device: 'cuda' was asked for, but PyTorch sees no CUDA GPU")
    return resolved
