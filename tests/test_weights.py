"""Where VGG19's weights come from (torch's hub cache, downloaded once and hash-checked), which
networks a file holds, and what happens when a file is bad.

The real files cannot be downloaded here: these tests use synthetic files with the exact keys and
shapes, served from 127.0.0.1 where a download is needed.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import stat
from pathlib import Path

import pytest
import torch
import torchvision

import nst_helpers as nst
from nst_helpers import weights as W  # noqa: N812
from nst_helpers.errors import WeightsError
from nst_helpers.layers import LAYER_INDEX
from nst_helpers.options import default_beta
from nst_helpers.vgg import VGG19Features

from .conftest import serve, served_url


@pytest.fixture(scope="module")
def features() -> dict[str, torch.Tensor]:
    """Seeded VGG19 features in torchvision's keys without the prefix (``0.weight`` …)."""
    return {
        k: v.clone()
        for k, v in nst.load_vgg19("random", device="cpu").features.state_dict().items()
    }


@pytest.fixture(scope="module")
def torchvision_vgg19() -> torch.nn.Module:
    return torchvision.models.vgg19(weights=None)


@pytest.fixture(scope="module")
def full_file(tmp_path_factory, features, torchvision_vgg19) -> Path:
    """A torchvision-format *full* state dict (its classifier's keys, small tensors: ignored)."""
    keys = torchvision_vgg19.classifier.state_dict()
    state = {f"classifier.{k}": torch.zeros(2) for k in keys}
    state |= {f"features.{k}": v for k, v in features.items()}
    path = tmp_path_factory.mktemp("w") / "vgg19-full.pth"
    torch.save(state, path)
    return path


def hub_named(source: Path, folder: Path, stem: str) -> Path:
    """A copy of ``source`` named as torch.hub names files: ``<stem>-<sha256 prefix>.pth``."""
    prefix = hashlib.sha256(source.read_bytes()).hexdigest()[:8]
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(source, folder / f"{stem}-{prefix}.pth"))


def conv1(model: VGG19Features) -> torch.Tensor:
    return model.features[0].weight


def test_expected_shapes_are_torchvisions_features(torchvision_vgg19):
    reference = torchvision_vgg19.features.state_dict()
    assert W.expected_shapes() == {k: tuple(v.shape) for k, v in reference.items()}


def test_the_imagenet_address_is_torchvisions_own():
    assert W.torchvision_url().endswith("/vgg19-dcbb9e9d.pth")
    assert W.hub_path(W.torchvision_url()).parent == Path(torch.hub.get_dir()) / "checkpoints"


def test_full_and_features_only_files_load_with_or_without_the_prefix(
    full_file, features, tmp_path
):
    torch.save(features, tmp_path / "bare.pth")
    for path in (full_file, tmp_path / "bare.pth"):
        model = nst.load_vgg19(path, device="cpu")
        assert torch.equal(conv1(model), features["0.weight"]) and model.network == "torchvision"


def test_a_file_already_in_torchs_hub_cache_is_used_without_the_network(full_file, features):
    shutil.copy(full_file, W.hub_path(W.torchvision_url()).parent.mkdir(parents=True) or
                W.hub_path(W.torchvision_url()))  # fmt: skip
    assert torch.equal(conv1(nst.load_vgg19("imagenet", device="cpu")), features["0.weight"])
    assert str(W.hub_path(W.torchvision_url())) in W.weights_status("imagenet")


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """$NST_WEIGHTS_URL pointing at a loopback server of ``tmp_path/"served"``."""
    folder = tmp_path / "served"
    folder.mkdir()
    httpd, hits = serve(folder)
    monkeypatch.setenv("NST_WEIGHTS_URL", served_url(httpd))
    yield folder, hits
    httpd.shutdown()
    httpd.server_close()


def test_a_download_is_hash_checked_and_readable_by_the_class(
    full_file, features, mirror, monkeypatch
):
    folder, hits = mirror
    served = hub_named(full_file, folder, "vgg19")
    url = f"https://example.invalid/models/{served.name}"
    path = W.hub_file(url, progress=False)
    assert hits == [f"/{served.name}"] and path == W.hub_path(url)
    assert stat.S_IMODE(path.stat().st_mode) & 0o044 == 0o044  # others can read a shared cache
    state, network = W.read_weights_file(path)
    assert torch.equal(state["0.weight"], features["0.weight"]) and network == "torchvision"
    W.hub_file(url, progress=False)
    assert len(hits) == 1  # downloaded once


def test_a_download_with_the_wrong_hash_is_refused_and_nothing_is_kept(full_file, mirror):
    folder, _ = mirror
    shutil.copy(full_file, folder / "vgg19-00000000.pth")
    url = "https://example.invalid/vgg19-00000000.pth"
    with pytest.raises(WeightsError, match="could not download") as info:
        W.hub_file(url, progress=False)
    assert "\n" not in str(info.value) and not W.hub_path(url).exists()


def test_without_the_file_and_the_network_loading_fails_fast_with_the_ways_out():
    with pytest.raises(WeightsError, match="NST_WEIGHTS_URL") as info:
        nst.load_vgg19("imagenet", device="cpu")
    assert "\n" not in str(info.value)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


class RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize(
    "kind, words",
    [
        ("html", "HTML page"),
        ("lfs", "Git LFS pointer"),
        ("empty", "empty"),
        ("text", "not a PyTorch"),
        ("truncated", "cannot be read"),
        ("code", "cannot be read"),
        ("folder", "folder"),
        ("missing", "no such file"),
        ("wrong shapes", "not a VGG19"),
    ],
)
def test_a_bad_weights_file_is_refused_in_one_line_naming_it(tmp_path, full_file, kind, words):
    path = tmp_path / "vgg19.pth"
    if kind == "html":
        write(path, b"<!DOCTYPE html><title>404 Not Found</title>")
    elif kind == "lfs":
        write(path, b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n")
    elif kind == "empty":
        write(path, b"")
    elif kind == "text":
        write(path, b"these are not weights\n")
    elif kind == "truncated":
        write(path, full_file.read_bytes()[:100_000])
    elif kind == "code":
        write(path, pickle.dumps({"0.weight": RunsCode()}))
    elif kind == "folder":
        path.mkdir()
    elif kind == "wrong shapes":
        torch.save({"0.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(WeightsError, match=words) as info:
        nst.load_vgg19(path, device="cpu")
    assert "\n" not in str(info.value) and str(path) in str(info.value)


# --------------------------------------------------------------------------- the Caffe network


def authors_state(features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The authors' ``vgg_conv.pth`` layout: ``conv1_1.weight`` … ``conv5_4.bias``."""
    names = {i: n for n, i in LAYER_INDEX.items()}
    return {f"{names[int(k.split('.')[0])]}.{k.split('.')[1]}": v for k, v in features.items()}


def test_the_authors_file_loads_each_layer_by_its_name_as_the_normalised_network(
    features, tmp_path
):
    path = tmp_path / "vgg_conv.pth"
    torch.save(authors_state(features), path, _use_new_zipfile_serialization=False)  # 2017's format
    model = nst.load_vgg19(path, device="cpu")
    assert model.network == "caffe-normalised" and default_beta(model) == 3e5
    assert torch.equal(model.features[LAYER_INDEX["conv4_2"]].weight, features["21.weight"])


def test_caffe_finds_the_authors_file_in_the_hub_cache(features):
    path = W.hub_path(W.AUTHORS_URL)
    path.parent.mkdir(parents=True)
    torch.save(authors_state(features), path)
    assert (
        W.caffe_available() and nst.load_vgg19("caffe", device="cpu").network == "caffe-normalised"
    )


def test_jcjohnsons_file_is_recognised_by_its_name_and_sees_bgr_0_255(full_file, tmp_path):
    path = hub_named(full_file, tmp_path, "vgg19").rename(tmp_path / "vgg19-d01eb7cb.pth")
    model = nst.load_vgg19(path, device="cpu")
    assert model.network == "caffe" and default_beta(model) == 7e3
    image = torch.rand(1, 3, 4, 4)
    expected = image[:, [2, 1, 0]] * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    torch.testing.assert_close(model.normalize(image), expected)


def test_fetch_weights_out_writes_a_features_only_copy_that_loads(
    full_file, features, tmp_path, capsys
):
    from nst_helpers.cli import main

    W.hub_path(W.torchvision_url()).parent.mkdir(parents=True)
    shutil.copy(full_file, W.hub_path(W.torchvision_url()))
    out = tmp_path / "copy" / "vgg19-features.pth"
    assert main(["fetch-weights", "--out", str(out), "--quiet"]) == 0
    assert out.stat().st_size < full_file.stat().st_size
    assert torch.equal(conv1(nst.load_vgg19(out, device="cpu")), features["0.weight"])
    assert main(["fetch-weights", "--out", str(out), "--quiet"]) == 2  # never replaced
    assert str(out) in capsys.readouterr().err
