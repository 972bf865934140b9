"""Out of memory: one line with the size that failed and what to try, recognised by the exception's
type (not by parsing text), and the process stays usable afterwards."""

from __future__ import annotations

import gc
import weakref

import pytest
import torch

from nst_helpers.errors import NSTError, RunOutOfMemoryError, is_out_of_memory, translate_oom

HUGE = 1 << 48  # bytes: PyTorch's CPU allocator refuses this at once (no memory is touched)


def test_the_cpu_allocators_error_becomes_one_line_with_the_size_and_what_to_try():
    with pytest.raises(RunOutOfMemoryError) as info:
        with translate_oom(size=2500, device="cpu"):
            torch.empty(HUGE, dtype=torch.uint8)
    text = str(info.value)
    assert "\n" not in text and isinstance(info.value, NSTError | MemoryError)
    assert "2500 px" in text and "cpu" in text and "smaller size" in text
    assert "device='cpu'" not in text  # already on the CPU


def test_a_gpu_out_of_memory_error_is_recognised_by_its_type_and_suggests_the_cpu():
    gpu = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)("CUDA out of memory.")
    assert is_out_of_memory(gpu) and is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    with pytest.raises(RunOutOfMemoryError, match="cpu"):
        with translate_oom(size=1024, device="cuda:0"):
            raise gpu


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
    assert info.value.__suppress_context__
    assert torch.ones(8).sum().item() == 8  # and the next computation runs
