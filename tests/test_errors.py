"""Out of memory (issue 16, kind 3): one line with the size that failed and what to try, and the
process stays usable afterwards."""

from __future__ import annotations

import gc
import weakref

import pytest
import torch

from nst_helpers.errors import (
    NSTError,
    RunOutOfMemoryError,
    is_out_of_memory,
    out_of_memory_message,
    translate_oom,
)

HUGE = 1 << 48  # bytes: PyTorch's CPU allocator refuses this at once (no memory is touched)


def cpu_allocator_error() -> RuntimeError:
    """The genuine error of PyTorch's CPU allocator ("DefaultCPUAllocator: can't allocate …")."""
    try:
        torch.empty(HUGE, dtype=torch.uint8)
    except RuntimeError as exc:
        return exc
    pytest.skip("this machine allocated 256 TiB")


def test_the_cpu_allocators_error_becomes_one_line_with_the_size_and_what_to_try():
    exc = cpu_allocator_error()
    assert "DefaultCPUAllocator" in str(exc) and is_out_of_memory(exc)
    with pytest.raises(RunOutOfMemoryError) as info:
        with translate_oom(size=2500, cli=True):
            torch.empty(HUGE, dtype=torch.uint8)
    text = str(info.value)
    assert "\n" not in text and isinstance(info.value, NSTError | MemoryError)
    assert text.startswith("out of memory on the CPU at 2500 px (an allocation of 256.0 TiB")
    assert "--size (e.g. 1250)" in text and "--scales" in text and "--style-layers" in text
    api = out_of_memory_message(exc, (600, 800))
    assert "at 600x800 px" in api and "size (e.g. 400)" in api and "scales=" in api


def test_a_gpu_out_of_memory_error_says_so():
    exc = torch.OutOfMemoryError(
        "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.1 GiB"
    )
    assert is_out_of_memory(exc)
    text = out_of_memory_message(exc, 1024, cli=True)
    assert text.startswith("out of memory on the GPU at 1024 px (an allocation of 2.00 GiB")
    assert not is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))


def test_other_errors_pass_unchanged():
    with pytest.raises(ValueError, match="not memory"):
        with translate_oom(size=64):
            raise ValueError("not memory")


def test_the_failed_runs_tensors_are_released_so_the_process_stays_usable():
    refs = []

    def run() -> None:
        activations = torch.ones(1 << 20)  # what a failed evaluation holds in its frames
        refs.append(weakref.ref(activations))
        torch.empty(HUGE, dtype=torch.uint8)

    with pytest.raises(RunOutOfMemoryError) as info:
        with translate_oom(size=4096):
            run()
    gc.collect()
    assert refs[0]() is None  # not kept alive by the traceback (a notebook keeps the last one)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert torch.ones(8).sum().item() == 8  # and the next computation runs
