"""Memory a run has freed goes back to the system (Binder and JupyterHub pods have 1–2 GB)."""

from __future__ import annotations

import platform

import pytest
import torch

import nst_helpers as nst
from nst_helpers.memory import release_free_memory, resident_mb

linux_glibc = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="resident memory and malloc_trim: Linux with glibc",
)


@linux_glibc
def test_release_free_memory_hands_freed_heap_back():
    # 100 MB in 64 KB tensors (below malloc's mmap threshold: they come from the heap); every
    # tenth is kept, so that freeing the others leaves holes free() cannot give back by itself.
    chunks = [torch.ones(16384) for _ in range(1600)]
    kept = chunks[::10]
    del chunks  # freed, but still the process's
    before = resident_mb()
    release_free_memory()
    after = resident_mb()
    assert before - after > 50, (before, after)
    assert all(k.sum() == 16384 for k in kept)


@linux_glibc
def test_a_finished_run_hands_its_memory_back(vgg):
    content = torch.rand(1, 3, 128, 160, generator=torch.Generator().manual_seed(0))
    style = content.flip(-1)
    nst.run_style_transfer(content, style, vgg=vgg, steps=3)  # one-time set-up (thread pools)
    start = resident_mb()
    result = nst.run_style_transfer(content, style, vgg=vgg, steps=40, snapshot_at=())
    assert result.evaluations == 40
    # what is left is the result; the run's activations, targets and L-BFGS history are gone
    assert resident_mb() - start < 15, (start, resident_mb())


def test_resident_mb_is_a_size_or_none():
    mb = resident_mb()
    assert mb is None or 10 < mb < 1e6


def test_a_long_run_hands_back_fragmented_memory_as_it_goes(vgg, monkeypatch):
    from nst_helpers import engine, transfer

    calls = []
    monkeypatch.setattr(engine, "release_free_memory", lambda **kw: calls.append(kw))
    monkeypatch.setattr(transfer, "release_free_memory", lambda **kw: calls.append(kw))
    content = torch.rand(1, 3, 32, 40, generator=torch.Generator().manual_seed(0))
    t = transfer.StyleTransfer(content, content.flip(-1), vgg=vgg, steps=2 * engine.TRIM_EVERY)
    calls.clear()  # the one before the run
    t.run()
    assert len(calls) == 2  # after evaluations TRIM_EVERY and 2 × TRIM_EVERY
