"""Where VGG19's weights come from, in which order, and what happens when they are bad or absent.

The real file cannot be downloaded here: these tests use a synthetic file with torchvision's exact
keys and shapes, placed where each source would keep it.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
import time
from pathlib import Path

import pytest
import torch
import torchvision

import nst_helpers as nst
from nst_helpers import weights as W  # noqa: N812


@pytest.fixture(scope="session")
def full_weights_file(tmp_path_factory) -> Path:
    """A torchvision-format *full* VGG19 state dict (features and classifier, exact shapes)."""
    shapes = {
        k: tuple(v.shape) for k, v in torchvision.models.vgg19(weights=None).state_dict().items()
    }
    g = torch.Generator().manual_seed(7)
    state = {
        k: (torch.randn(s, generator=g) * 0.05 if k.startswith("features") else torch.zeros(s))
        for k, s in shapes.items()
    }
    path = tmp_path_factory.mktemp("weights") / "vgg19-full.pth"
    torch.save(state, path)
    return path


def conv1_weight(model: nst.VGG19Features) -> torch.Tensor:
    return model.features[0].weight


def test_expected_shapes_are_torchvisions_features():
    reference = torchvision.models.vgg19(weights=None).features.state_dict()
    assert W.expected_shapes() == {f"features.{k}": tuple(v.shape) for k, v in reference.items()}


def test_an_explicit_full_torchvision_file_loads(full_weights_file):
    model = nst.load_vgg19(full_weights_file, device="cpu")
    expected = torch.load(full_weights_file, weights_only=True)["features.0.weight"]
    assert torch.equal(conv1_weight(model), expected)


def test_features_only_files_with_or_without_the_prefix_load(full_weights_file, tmp_path):
    state = W.read_features_state_dict(full_weights_file)
    torch.save({k.removeprefix("features."): v for k, v in state.items()}, tmp_path / "bare.pth")
    model = nst.load_vgg19(tmp_path / "bare.pth", device="cpu")
    assert torch.equal(conv1_weight(model), state["features.0.weight"])


def test_order_env_variable_before_cache_before_hub(full_weights_file, monkeypatch):
    hub = W.hub_checkpoint_path()
    hub.parent.mkdir(parents=True)
    hub.write_bytes(full_weights_file.read_bytes())
    # 1. the torch hub file is used and converted into the features-only cache
    state, source = W.imagenet_state_dict()
    assert str(hub) in source and W.features_cache_path().is_file()
    # 2. from now on only the cache is read, even if the hub file disappears
    hub.unlink()
    state2, source2 = W.imagenet_state_dict()
    assert source2 == str(W.features_cache_path())
    assert all(torch.equal(state[k], state2[k]) for k in state)
    # 3. $NST_VGG19_WEIGHTS wins over the cache
    other = W.random_state_dict(seed=3)
    other_file = W.save_features_state_dict(other, full_weights_file.parent / "other.pth")
    monkeypatch.setenv("NST_VGG19_WEIGHTS", str(other_file))
    model = nst.load_vgg19("imagenet", device="cpu")
    assert torch.equal(conv1_weight(model), other["features.0.weight"])


def test_the_features_only_cache_is_small(full_weights_file):
    W.save_features_state_dict(
        W.read_features_state_dict(full_weights_file), W.features_cache_path()
    )
    size = W.features_cache_path().stat().st_size
    assert 79e6 < size < 81e6  # 20,024,384 float32 parameters, about 80 MB (the full file: 548 MB)


class _FileServer(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served_weights(full_weights_file, monkeypatch):
    """Serve the synthetic full file on 127.0.0.1 and point the loader's download address at it."""
    handler = functools.partial(_FileServer, directory=str(full_weights_file.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    digest = hashlib.sha256(full_weights_file.read_bytes()).hexdigest()
    monkeypatch.setenv(
        "NST_VGG19_URL", f"http://127.0.0.1:{server.server_address[1]}/{full_weights_file.name}"
    )
    yield digest
    server.shutdown()
    server.server_close()


def test_download_is_hash_checked_then_converted_and_cached(served_weights, monkeypatch):
    monkeypatch.setattr(W, "HASH_PREFIX", served_weights[:8])
    model = nst.load_vgg19("imagenet", device="cpu", progress=False)
    assert W.hub_checkpoint_path().is_file() and W.features_cache_path().is_file()
    assert conv1_weight(model).abs().sum() > 0


def test_a_download_with_the_wrong_hash_is_refused_and_nothing_is_kept(served_weights, monkeypatch):
    monkeypatch.setattr(W, "HASH_PREFIX", "00000000")
    with pytest.raises(nst.WeightsError, match="VGG19 weights not found"):
        nst.load_vgg19("imagenet", device="cpu", progress=False)
    assert not W.hub_checkpoint_path().exists() and not W.features_cache_path().exists()


def test_without_weights_and_network_the_loader_fails_fast_with_the_ways_out():
    start = time.monotonic()
    with pytest.raises(nst.WeightsError) as info:
        nst.load_vgg19("imagenet", device="cpu", progress=False)
    assert time.monotonic() - start < 10
    message = str(info.value)
    for hint in ("NST_VGG19_WEIGHTS", "weights=PATH", "fetch-weights", 'weights="random"', "tried"):
        assert hint in message


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "evil.pth"
    torch.save({"features.0.weight": Evil()}, path)
    with pytest.raises(nst.WeightsError, match="could run code"):
        nst.load_vgg19(path)
    assert not marker.exists()


def test_wrong_or_missing_tensors_are_refused_naming_the_file_and_the_fix(tmp_path):
    state = W.random_state_dict()
    state["features.0.weight"] = torch.zeros(64, 3, 5, 5)
    path = tmp_path / "wrong.pth"
    torch.save(state, path)
    with pytest.raises(
        nst.WeightsError,
        match=r"wrong.pth is not a VGG19.*features.0.weight is \(64, 3, 5, 5\).*fetch-weights",
    ):
        nst.load_vgg19(path)
    torch.save({k: v for k, v in W.random_state_dict().items() if "34" not in k}, path)
    with pytest.raises(nst.WeightsError, match=r"wrong.pth .*missing features.34.*fetch-weights"):
        nst.load_vgg19(path)
    torch.save([torch.zeros(3)], path)
    with pytest.raises(nst.WeightsError, match=r"wrong.pth does not hold a state dict.*fetch"):
        nst.load_vgg19(path)


def test_a_truncated_file_is_refused_with_how_to_refetch(full_weights_file, tmp_path):
    path = tmp_path / "truncated.pth"
    path.write_bytes(full_weights_file.read_bytes()[:1_000_000])
    with pytest.raises(nst.WeightsError, match=r"truncated.pth cannot be read.*fetch-weights"):
        nst.load_vgg19(path)


def test_a_damaged_cache_is_refused_not_half_used():
    W.save_features_state_dict(W.random_state_dict(), W.features_cache_path())
    data = bytearray(W.features_cache_path().read_bytes())
    data[len(data) // 2] ^= 0xFF
    W.features_cache_path().write_bytes(bytes(data))
    with pytest.raises(nst.WeightsError, match=r"damaged.*fetch-weights"):
        nst.load_vgg19("imagenet")


def test_fetch_weights_writes_a_copy_for_offline_classrooms(
    full_weights_file, tmp_path, monkeypatch
):
    monkeypatch.setenv("NST_VGG19_WEIGHTS", str(full_weights_file))
    out = nst.fetch_weights(tmp_path / "lab" / "vgg19-features.pth", progress=False)
    monkeypatch.setenv("NST_VGG19_WEIGHTS", str(out))
    model = nst.load_vgg19(device="cpu")
    assert torch.equal(
        conv1_weight(model), W.read_features_state_dict(full_weights_file)["features.0.weight"]
    )
    with pytest.raises(FileExistsError):
        nst.fetch_weights(out, progress=False)


def test_weights_status_reports_without_the_network():
    status = nst.weights_status()
    assert status["found"] is None and not status["features_cache_present"]
    W.save_features_state_dict(W.random_state_dict(), W.features_cache_path())
    assert "features-only cache" in nst.weights_status()["found"]


def test_a_file_copied_by_hand_into_the_cache_folder_is_found(tmp_path):
    """Offline labs: copying the fetched file into the documented folder is enough."""
    carried = W.save_features_state_dict(W.random_state_dict(seed=5), tmp_path / "usb" / "v.pth")
    W.features_cache_path().parent.mkdir(parents=True, exist_ok=True)
    W.features_cache_path().write_bytes(carried.read_bytes())  # no .sha256 beside it
    model = nst.load_vgg19(device="cpu")
    assert torch.equal(conv1_weight(model), W.random_state_dict(seed=5)["features.0.weight"])


# --------------------------------------------------------------------------- issue 16


def _wrong_file(tmp_path: Path, kind: str) -> Path:
    """A file of the wrong kind, named like the weights."""
    import gzip
    import io
    import tarfile
    import zipfile

    from PIL import Image

    path = tmp_path / "vgg19.pth"
    if kind == "html":
        path.write_text("<!DOCTYPE html>\n<html><head><title>Access Denied</title></head></html>")
    elif kind == "text":
        path.write_text("Rate limit exceeded, try again later\n")
    elif kind == "lfs":
        path.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        torch.save(W.random_state_dict(), path)
        path.write_bytes(path.read_bytes()[:100_000])
    elif kind == "image":
        Image.new("RGB", (8, 8)).save(path, format="PNG")
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("README.txt", "weights are elsewhere")
    elif kind == "tar.gz":
        data = io.BytesIO(b"not weights")
        with tarfile.open(path, "w:gz") as archive:
            info = tarfile.TarInfo("notes.txt")
            info.size = len(data.getvalue())
            archive.addfile(info, data)
    elif kind == "gzip":
        inner = tmp_path / "inner.pth"
        torch.save({"features.0.weight": torch.zeros(1)}, inner)
        path.write_bytes(gzip.compress(inner.read_bytes()))
    return path


WRONG_KINDS = {
    "html": "an HTML page titled 'Access Denied'",
    "text": "a text file starting 'Rate limit exceeded",
    "lfs": "a Git LFS pointer",
    "empty": "an empty file (0 bytes)",
    "truncated": "a truncated or damaged ZIP file",
    "image": "a PNG image, not a PyTorch weights file; an image given where the weights",
    "zip": "a ZIP archive holding README.txt",
    "tar.gz": "a gzip-compressed tar archive",
    "gzip": "a gzip-compressed file holding a ZIP file",
}


@pytest.mark.parametrize("kind", sorted(WRONG_KINDS))
@pytest.mark.parametrize("where", ["--weights", "NST_VGG19_WEIGHTS", "NST_CAFFE_WEIGHTS"])
def test_a_file_of_the_wrong_kind_says_what_it_is_and_how_to_get_the_right_one(
    tmp_path, monkeypatch, kind, where
):
    """An HTML error page saved as vgg19.pth was reported as holding "objects other than
    tensors" that "could run code"; now every source names what the file is."""
    path = _wrong_file(tmp_path, kind)
    if where == "--weights":
        weights, how = path, "fetch-weights"
    elif where == "NST_VGG19_WEIGHTS":
        monkeypatch.setenv("NST_VGG19_WEIGHTS", str(path))
        weights, how = "imagenet", "fetch-weights"
    else:
        monkeypatch.setenv("NST_CAFFE_WEIGHTS", str(path))
        weights, how = "caffe", "fetch-weights --caffe"
    with pytest.raises(nst.WeightsError) as info:
        nst.load_vgg19(weights)
    text = str(info.value)
    assert WRONG_KINDS[kind] in text and str(path) in text and how in text
    assert "could run code" not in text and "Delete it" not in text


def test_could_run_code_is_said_only_of_pickles_holding_other_objects(tmp_path):
    import pickle

    legacy = tmp_path / "legacy.pth"  # PyTorch's old format, cut short: truncated, not unsafe
    torch.save(W.random_state_dict(), legacy, _use_new_zipfile_serialization=False)
    legacy.write_bytes(legacy.read_bytes()[:200_000])
    with pytest.raises(nst.WeightsError, match="truncated or damaged") as info:
        nst.load_vgg19(legacy)
    assert "could run code" not in str(info.value)
    plain = tmp_path / "plain.pkl"  # a plain pickle: not read, but not said to run code either
    plain.write_bytes(pickle.dumps({"features.0.weight": [0.0]}, protocol=4))
    with pytest.raises(nst.WeightsError, match="plain Python pickle") as info:
        nst.load_vgg19(plain)
    assert "could run code" not in str(info.value)
