"""Choosing where tensors live: CUDA, Apple's MPS or the CPU."""

from __future__ import annotations

import torch

from .errors import ParameterError

#: What to do instead, after a device that is not available here.
_INSTEAD = "choose cpu or leave --device out (device=None: the fastest available)"


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` as a ``torch.device``; ``None`` picks ``cuda``, then ``mps``, then ``cpu``.

    A device given by name is checked before any work: it must be able to hold a tensor here
    (``mps`` off a Mac, ``xla`` without its package, ``cuda:3`` on a one-GPU machine cannot), and
    ``meta`` (shapes only, no data) is refused; each raises a one-line ``ParameterError`` naming
    the device, why, and what to choose instead.
    """
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
    if resolved.type == "cpu":
        return resolved
    if resolved.type == "cuda" and not torch.cuda.is_available():
        why = "PyTorch sees no CUDA GPU"
    elif resolved.type == "mps" and not _mps_available():
        why = "PyTorch sees no Apple GPU (MPS)"
    elif resolved.type == "meta":
        why = "'meta' tensors hold shapes only, no data, so no image can be computed"
    else:
        why = _cannot_hold_a_tensor(resolved)
    if why:
        raise ParameterError(f"device {str(device)!r} is not available here: {why}; {_INSTEAD}")
    return resolved


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def _cannot_hold_a_tensor(device: torch.device) -> str:
    """Why ``device`` cannot hold a tensor here ("" if it can): a one-element tensor is made."""
    try:
        torch.empty(1, device=device)
    except NotImplementedError:
        return f"this PyTorch has no {device.type!r} backend"
    except Exception as exc:  # RuntimeError (a bad ordinal), AssertionError (not compiled) …
        text = str(exc).strip()
        return " ".join(text.splitlines()[0].split()) if text else type(exc).__name__
    return ""
