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
    out_of_memory_for_cli,
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
    assert text.endswith("; try a smaller --size (e.g. 1250) or fewer --style-layers")
    api = out_of_memory_message(exc, (600, 800))
    assert api.endswith(
        "at 600x800 px (an allocation of 256.0 TiB failed); try a smaller size "
        "(e.g. 400) or fewer style_layers"
    )


def test_out_of_memory_advice_never_offers_coarse_to_fine_and_fits_the_run():
    """Coarse-to-fine's last scale needs the memory of a plain run at that size (it saves time,
    not memory); with --scales the advice is a smaller last scale (--size is refused there)."""
    exc = cpu_allocator_error()
    gpu = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB.")
    texts = {
        "plain": out_of_memory_message(exc, 2000, "cpu", cli=True),
        "scales": out_of_memory_message(exc, [128, 2000], "cpu", cli=True),
        "failed scale": out_of_memory_message(exc, 2000, "cpu", cli=True, scales=[128, 2000]),
        "gpu": out_of_memory_message(gpu, 1024, "cuda:0", cli=True),
        "api": out_of_memory_message(gpu, [256, 512, 1024], "cuda"),
    }
    for text in texts.values():
        assert "coarse-to-fine" not in text and "--scales 256 512 with" not in text
    assert "--size (e.g. 1000)" in texts["plain"] and "--scales" not in texts["plain"]
    for key in ("scales", "failed scale"):
        assert (
            "try a smaller last scale (e.g. --scales 128 1000) or fewer --style-layers"
            in (texts[key])
        )
        assert "--size" not in texts[key] and "--device cpu" not in texts[key]
    assert "at 2000 px" in texts["failed scale"]
    assert texts["gpu"].endswith("or fewer --style-layers, or --device cpu (slower)")
    assert "(e.g. scales=[256, 512])" in texts["api"] and "device='cpu'" in texts["api"]
    error = RunOutOfMemoryError(texts["api"])  # only the API's message: reworded for the CLI
    assert out_of_memory_for_cli(error, [256, 512, 1024]) == (
        "out of memory on the GPU (cuda) at the scales [256, 512, 1024] px (an allocation of "
        "2.00 GiB failed); try a smaller last scale (e.g. --scales 256 512) or fewer "
        "--style-layers, or --device cpu (slower)"
    )


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
