"""The authors' network as ``weights="caffe"``: both Caffe-converted files, their preprocessing,
where they are looked for, what is refused, the default β they bring, and the ``paper`` profile.

The real files cannot be downloaded here: these tests write synthetic files with each format's
exact keys and shapes, in the format of 2017 (before PyTorch 1.6's zip files), as the real ones are.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as tf

import nst_helpers as nst
from nst_helpers import caffe_weights as C  # noqa: N812
from nst_helpers import profiles, ratios, weighting
from nst_helpers import weights as W  # noqa: N812
from nst_helpers.cli import main
from nst_helpers.layers import LAYER_INDEX, PAPER_STYLE_LAYERS
from nst_helpers.transfer import DEFAULT_ALPHA, DEFAULT_BETA, StyleTransfer
from nst_helpers.vgg import CAFFE_NORMALIZATION, VGG19Features

from .conftest import smooth_image

CONVS = [name for name in LAYER_INDEX if name.startswith("conv")]


def save_legacy(state: dict, path: Path) -> Path:
    """``torch.save`` in the pre-1.6 format the 2017 Caffe conversions were written in."""
    torch.save(state, path, _use_new_zipfile_serialization=False)
    return path


@pytest.fixture(scope="session")
def torchvision_layout() -> dict[str, torch.Tensor]:
    """Seeded VGG19 features in torchvision's keys (``features.N.weight``), exact shapes."""
    return W.random_state_dict(seed=11)


@pytest.fixture(scope="session")
def authors_file(tmp_path_factory, torchvision_layout) -> Path:
    """The authors' ``vgg_conv.pth`` layout: ``conv1_1.weight`` … ``conv5_4.bias`` only."""
    state = {
        f"{name}.{kind}": torchvision_layout[f"features.{LAYER_INDEX[name]}.{kind}"]
        for name in CONVS
        for kind in ("weight", "bias")
    }
    assert len(state) == 32
    return save_legacy(state, tmp_path_factory.mktemp("authors") / "vgg_conv.pth")


@pytest.fixture(scope="session")
def jcjohnson_file(tmp_path_factory, torchvision_layout) -> Path:
    """jcjohnson's ``vgg19-d01eb7cb.pth`` layout: torchvision's feature keys plus classifier keys
    (indices 1, 4, 6 as in 2017's torchvision; tiny here, since they are never read)."""
    state = {k: v * 2 for k, v in torchvision_layout.items()}
    state.update({f"classifier.{i}.weight": torch.zeros(2, 2) for i in (1, 4, 6)})
    return save_legacy(state, tmp_path_factory.mktemp("jcjohnson") / C.JCJOHNSON_FILENAME)


def conv(model: VGG19Features, name: str) -> torch.nn.Conv2d:
    return model.features[LAYER_INDEX[name]]


def copy_file(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(source.read_bytes())


# --- the two formats --------------------------------------------------------------------------


def test_the_authors_file_loads_each_layer_by_its_name(authors_file, monkeypatch):
    monkeypatch.setenv("NST_CAFFE_WEIGHTS", str(authors_file))
    model = nst.load_vgg19("caffe", device="cpu")
    source = torch.load(authors_file, weights_only=True)
    for name in CONVS:
        assert torch.equal(conv(model, name).weight, source[f"{name}.weight"]), name
        assert torch.equal(conv(model, name).bias, source[f"{name}.bias"]), name
    assert model.network == "caffe-normalised"
    assert model.preprocessing == "RGB in [0, 1] → BGR × 255 − (103.939, 116.779, 123.68)"


def test_jcjohnsons_file_loads_with_torchvisions_keys_and_its_classifier_ignored(
    jcjohnson_file, torchvision_layout, monkeypatch
):
    monkeypatch.setenv("NST_CAFFE_WEIGHTS", str(jcjohnson_file))
    model = nst.load_vgg19("caffe", device="cpu", pooling="avg")
    for key, value in torchvision_layout.items():
        assert torch.equal(model.features.state_dict()[key.removeprefix("features.")], value * 2)
    assert model.network == "caffe" and model.pooling == "avg"
    assert model.normalization == CAFFE_NORMALIZATION


def test_the_model_converts_rgb_01_to_bgr_255_minus_the_caffe_mean_itself(
    jcjohnson_file, monkeypatch
):
    monkeypatch.setenv("NST_CAFFE_WEIGHTS", str(jcjohnson_file))
    model = nst.load_vgg19("caffe", device="cpu")
    rgb = torch.rand(2, 3, 9, 11, requires_grad=True)
    mean_bgr = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    by_hand = tf.conv2d(
        rgb[:, [2, 1, 0]] * 255 - mean_bgr,
        conv(model, "conv1_1").weight,
        conv(model, "conv1_1").bias,
        padding=1,
    )
    got = model(rgb, ["conv1_1"])["conv1_1"]
    torch.testing.assert_close(got, by_hand, rtol=1e-5, atol=1e-3)
    got.sum().backward()  # the optimised image stays RGB in [0, 1]: gradients reach it
    assert rgb.grad is not None and rgb.grad.abs().sum() > 0
    torchvision_input = (rgb - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]
    ).view(1, 3, 1, 1)
    assert not torch.allclose(model.normalize(rgb), torchvision_input)


# --- refused files ----------------------------------------------------------------------------


def test_a_wrong_shape_is_refused_naming_the_file_and_where_to_get_the_right_one(
    tmp_path, monkeypatch
):
    path = save_legacy({"conv1_1.weight": torch.zeros(64, 3, 5, 5)}, tmp_path / "mine.pth")
    monkeypatch.setenv("NST_CAFFE_WEIGHTS", str(path))
    with pytest.raises(nst.WeightsError) as info:
        nst.load_vgg19("caffe")
    message = str(info.value)
    assert "mine.pth is not a Caffe VGG19 weights file" in message
    assert "conv1_1.weight is (64, 3, 5, 5), expected (64, 3, 3, 3)" in message
    assert C.AUTHORS_URL in message and "fetch-weights --caffe" in message


def test_a_partial_file_is_refused_whole(authors_file, tmp_path, monkeypatch):
    state = torch.load(authors_file, weights_only=True)
    del state["conv5_4.bias"]
    monkeypatch.setenv("NST_CAFFE_WEIGHTS", str(save_legacy(state, tmp_path / "partial.pth")))
    with pytest.raises(nst.WeightsError, match=r"partial.pth is not a Caffe.*missing conv5_4.bias"):
        nst.load_vgg19("caffe")


def test_a_file_mixing_both_formats_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "mixed.pth"
    torch.save(
        {"conv1_1.weight": torch.zeros(64, 3, 3, 3), "features.0.bias": torch.zeros(64)}, path
    )
    monkeypatch.setenv("NST_CAFFE_WEIGHTS", str(path))
    with pytest.raises(nst.WeightsError, match=r"mixed.pth mixes the authors' keys"):
        nst.load_vgg19("caffe")


def test_a_pickle_that_would_run_code_is_refused(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = save_legacy({"conv1_1.weight": Evil()}, tmp_path / "evil_vgg_conv.pth")
    monkeypatch.setenv("NST_CAFFE_WEIGHTS", str(path))
    with pytest.raises(nst.WeightsError, match=r"evil_vgg_conv.pth cannot be read.*could run code"):
        nst.load_vgg19("caffe")
    assert not marker.exists()


def test_each_kind_of_file_given_where_the_other_is_expected_is_refused_with_the_way_out(
    authors_file, jcjohnson_file, tmp_path, monkeypatch
):
    with pytest.raises(nst.WeightsError, match=r"conv1_1.weight …\) are those of the authors'"):
        nst.load_vgg19(authors_file)
    with pytest.raises(nst.WeightsError, match=r"is jcjohnson's Caffe VGG19.*weights='caffe'"):
        nst.load_vgg19(jcjohnson_file)
    monkeypatch.setenv("NST_VGG19_WEIGHTS", str(jcjohnson_file))
    with pytest.raises(nst.WeightsError, match=r"is jcjohnson's Caffe VGG19"):
        nst.load_vgg19("imagenet")
    torchvision_file = W.save_features_state_dict(
        W.random_state_dict(), tmp_path / W.TORCHVISION_FILENAME
    )
    monkeypatch.setenv("NST_CAFFE_WEIGHTS", str(torchvision_file))
    with pytest.raises(nst.WeightsError, match=r"is torchvision's VGG19.*weights='imagenet'"):
        nst.load_vgg19("caffe")


# --- where the file is looked for ---------------------------------------------------------------


def test_without_a_file_the_error_says_what_was_tried_and_where_to_get_one():
    start = time.monotonic()
    with pytest.raises(nst.WeightsError) as info:
        nst.load_vgg19("caffe")
    assert time.monotonic() - start < 5  # nothing is downloaded on load
    message = str(info.value)
    for hint in (
        "tried",
        "NST_CAFFE_WEIGHTS",
        C.AUTHORS_URL,
        "fetch-weights --caffe",
        "vgg_conv.pth",
    ):
        assert hint in message
    assert not C.caffe_hub_path().exists()


def test_a_missing_file_named_by_the_environment_fails_loudly(tmp_path, monkeypatch, authors_file):
    copy_file(authors_file, C.authors_cache_path())  # would be found otherwise
    monkeypatch.setenv("NST_CAFFE_WEIGHTS", str(tmp_path / "typo.pth"))
    with pytest.raises(nst.WeightsError, match=r"typo.pth: no such file.*vgg_conv.pth"):
        nst.load_vgg19("caffe")
    assert nst.caffe_status()["env_missing"] is True


def test_order_environment_then_authors_cache_then_features_copy_then_hub(
    authors_file, jcjohnson_file, monkeypatch
):
    # jcjohnson's full file in the torch hub cache is converted into the features-only copy
    hub = C.caffe_hub_path()
    copy_file(jcjohnson_file, hub)
    _, network, source = C.caffe_state_dict()
    assert network == "caffe" and str(hub) in source and C.caffe_features_cache_path().is_file()
    hub.unlink()
    _, network, source = C.caffe_state_dict()
    assert (network, source) == ("caffe", str(C.caffe_features_cache_path()))
    # the authors' file copied into the cache comes before it
    copy_file(authors_file, C.authors_cache_path())
    assert nst.load_vgg19("caffe").network == "caffe-normalised"
    assert nst.caffe_status()["network"] == "caffe-normalised"
    # and $NST_CAFFE_WEIGHTS before everything
    monkeypatch.setenv("NST_CAFFE_WEIGHTS", str(jcjohnson_file))
    assert nst.load_vgg19("caffe").network == "caffe"


def test_fetch_downloads_jcjohnsons_file_hash_checked_and_keeps_the_features(
    jcjohnson_file, monkeypatch, tmp_path
):
    digest = hashlib.sha256(jcjohnson_file.read_bytes()).hexdigest()
    monkeypatch.setenv("NST_CAFFE_URL", jcjohnson_file.as_uri())
    monkeypatch.setattr(C, "JCJOHNSON_HASH_PREFIX", "00000000")
    with pytest.raises(nst.WeightsError, match="SHA-256 mismatch"):
        nst.fetch_caffe_weights(progress=False)
    assert not C.caffe_hub_path().exists() and not C.caffe_features_cache_path().exists()

    monkeypatch.setattr(C, "JCJOHNSON_HASH_PREFIX", digest[:8])
    path = nst.fetch_caffe_weights(tmp_path / "lab" / "caffe.pth", progress=False)
    assert C.caffe_hub_path().is_file() and C.caffe_features_cache_path().is_file()
    monkeypatch.setenv(
        "NST_CAFFE_WEIGHTS", str(path)
    )  # the copy to carry loads as the same network
    assert nst.load_vgg19("caffe").network == "caffe"
    with pytest.raises(FileExistsError):
        nst.fetch_caffe_weights(path, progress=False)


def test_a_copy_of_the_authors_file_keeps_their_keys(authors_file, monkeypatch, tmp_path):
    monkeypatch.setenv("NST_CAFFE_WEIGHTS", str(authors_file))
    out = nst.fetch_caffe_weights(tmp_path / "copy.pth", progress=False)
    assert set(torch.load(out, weights_only=True)) == set(C.authors_shapes())
    assert not C.caffe_hub_path().exists()  # nothing downloaded when a file is here


# --- the default β and the paper's ratios -------------------------------------------------------


def test_torchvisions_default_is_unchanged_and_each_network_has_its_own():
    assert DEFAULT_ALPHA == 1.0 and DEFAULT_BETA == 1e9
    assert ratios.DEFAULT_BETAS["torchvision"] == DEFAULT_BETA
    assert weighting.default_ratio() == DEFAULT_ALPHA / DEFAULT_BETA
    assert nst.default_beta(VGG19Features()) == nst.default_beta(None) == DEFAULT_BETA
    assert nst.default_beta(VGG19Features(network="caffe")) == 7e3
    assert nst.default_beta(VGG19Features(network="caffe-normalised")) == 3e5


@pytest.mark.parametrize(
    "network, content_weight, style_weight",
    [("caffe", 5, 100), ("caffe-normalised", 1, 1e3)],  # neural-style's defaults; the authors'
)
def test_each_caffe_default_is_its_reference_implementation_in_the_papers_form(
    network, content_weight, style_weight
):
    form = weighting.mse_gram_to_paper(
        content_weight, style_weight, "relu4_2", PAPER_STYLE_LAYERS, (256, 256)
    )
    assert 0.6 < ratios.default_ratio(network) / form.ratio < 1.6  # rounded to one digit


def test_the_papers_ratios_translate_per_network_and_image_area():
    for network in ratios.DEFAULT_BETAS:
        assert weighting.ratio_for(1e-3, (256, 256), network) == pytest.approx(
            ratios.default_ratio(network)
        )
        assert weighting.ratio_for(1e-4, (512, 512), network) == pytest.approx(
            ratios.default_ratio(network) / 40
        )
    vgg = VGG19Features(network="caffe")
    assert weighting.ratio_for(1e-3, (512, 256), vgg) == pytest.approx(1 / 7e3 / 2)
    assert weighting.paper_equivalent(1 / 7e3, (256, 256), "caffe") == pytest.approx(1e-3)
    assert weighting.torchvision_ratio(1e-3, (256, 256)) == pytest.approx(1e-9)


def test_style_transfer_takes_the_networks_default_beta_unless_given():
    content, style = smooth_image(16, 16, seed=1), smooth_image(16, 16, seed=2)
    caffe = VGG19Features(normalization=CAFFE_NORMALIZATION, network="caffe-normalised")
    run = StyleTransfer(content, style, vgg=caffe, steps=1, snapshot_at=())
    assert run.beta == run.settings["beta"] == 3e5
    assert StyleTransfer(content, style, vgg=caffe, beta=5.0, steps=1).beta == 5.0
    plain = StyleTransfer(content, style, vgg=VGG19Features(), alpha=2.0, steps=1)
    assert plain.beta == DEFAULT_BETA  # as before: β does not follow α


# --- the paper profile --------------------------------------------------------------------------


@pytest.fixture
def fresh_notes(monkeypatch):
    monkeypatch.setattr(profiles, "_NOTED", set())


def test_the_paper_profile_uses_the_authors_network_when_its_file_is_here(
    authors_file, fresh_notes, monkeypatch, capsys
):
    paper = nst.profile("paper")
    assert (paper.pooling, paper.init, paper.preferred_weights) == ("avg", "noise", "caffe")
    assert paper.weights is None  # no file: torchvision's weights, with a note
    note = capsys.readouterr().out
    assert "prefers the authors' Caffe VGG19" in note and C.AUTHORS_URL in note
    assert paper.weights is None and capsys.readouterr().out == ""  # the note comes once

    copy_file(authors_file, C.authors_cache_path())
    assert paper.weights == "caffe"
    assert nst.load_vgg19(weights=paper.weights, pooling=paper.pooling).network == (
        "caffe-normalised"
    )
    monkeypatch.setenv("NST_WEIGHTS", "random")  # CI's override still wins
    assert paper.weights == "random"
    assert nst.profile("lab").weights == "random"
    monkeypatch.delenv("NST_WEIGHTS")
    assert nst.profile("lab").weights is None and nst.profile("smoke").weights is None


def test_a_caffe_path_set_in_the_environment_is_never_skipped(fresh_notes, monkeypatch, tmp_path):
    monkeypatch.setenv("NST_CAFFE_WEIGHTS", str(tmp_path / "typo.pth"))
    assert nst.profile("paper").weights == "caffe"  # so loading fails, naming the path


# --- command line -------------------------------------------------------------------------------


def test_info_says_whether_the_caffe_file_is_found(authors_file, monkeypatch, capsys):
    assert main(["info"]) == 0
    assert "Caffe weights (weights='caffe'): not found" in capsys.readouterr().out
    monkeypatch.setenv("NST_CAFFE_WEIGHTS", str(authors_file))
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert str(authors_file) in out and "BGR × 255" in out


def test_stylize_with_caffe_weights_uses_their_default_beta(authors_file, monkeypatch, tmp_path):
    monkeypatch.setenv("NST_CAFFE_WEIGHTS", str(authors_file))
    content = nst.save_image(smooth_image(16, 16, seed=1), tmp_path / "c.png")
    style = nst.save_image(smooth_image(16, 16, seed=2), tmp_path / "s.png")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        args = f"{content} {style} -o {tmp_path / 'out.png'} --size 16 --steps 1 --weights caffe"
        code = main(
            [
                "stylize",
                *args.split(),
                "--quiet",
                "--device",
                "cpu",
                "--snapshots",
                str(tmp_path / "run"),
            ]
        )
    assert code == 0
    assert json.loads((tmp_path / "run" / "run.json").read_text())["settings"]["beta"] == 3e5


def test_fetch_weights_caffe_offline_fails_with_where_to_get_the_file(capsys):
    assert main(["fetch-weights", "--caffe", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "NST_CAFFE_WEIGHTS" in err and C.AUTHORS_URL in err
