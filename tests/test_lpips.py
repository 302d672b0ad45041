"""LPIPS (AlexNet, linear layers v0.1): our values against the ``lpips`` package's, and its
two declared weights files (fetched from a local file, a file:// URL or an HTTP server on
127.0.0.1, or pre-placed; sha256-checked; null sources leave LPIPS out).

The one mock: torchvision's ImageNet AlexNet cannot be downloaded here, so the backbone
is a randomly initialised AlexNet in torchvision's checkpoint layout, given to both
implementations. The linear layers are the real v0.1 weights shipped in the lpips wheel.
"""

from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
from pathlib import Path

import lpips
import numpy as np
import pytest
import torch
import torchvision
import yaml
from scipy.ndimage import gaussian_filter

from pix2pix_ablation.hashing import file_sha256
from pix2pix_ablation.layout import LPIPS_BACKBONE, LPIPS_LINEAR, LPIPS_RECORD
from pix2pix_ablation.metrics import MetricsError
from pix2pix_ablation.metrics.lpips import load_lpips, lpips_distances, lpips_per_image
from pix2pix_ablation.metrics.lpips_weights import fetch_lpips_weights, lpips_files

from .workflow_util import ROOT, make_workdir, snakemake, tiny_workflow_config, write_config

LINEAR_V01 = Path(lpips.__file__).parent / "weights" / "v0.1" / "alex.pth"
# where torchvision's AlexNet features sit in the package's five slices
_SLICE_OF = {0: 1, 3: 2, 6: 3, 8: 4, 10: 5}


@pytest.fixture(scope="module")
def backbone(tmp_path_factory) -> Path:
    """A random AlexNet (the mock: see the module doc) saved as torchvision saves its checkpoint."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("alexnet") / "alexnet-random.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    return path


def _package_lpips(backbone: Path) -> torch.nn.Module:
    """The package's model: v0.1 linear layers from its wheel, AlexNet set to ``backbone``."""
    model = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    state = torch.load(backbone, map_location="cpu", weights_only=True)
    mapped = {f"net.slice{_SLICE_OF[int(k.split('.')[1])]}.{k.removeprefix('features.')}": v
              for k, v in state.items() if k.startswith("features.")}
    result = model.load_state_dict(mapped, strict=False)
    assert not result.unexpected_keys
    assert not [k for k in result.missing_keys if k.startswith("net.")]  # every backbone weight from the file
    linear = torch.load(LINEAR_V01, map_location="cpu", weights_only=True)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in linear.items())  # its own v0.1 layers
    return model.eval()


def _images(n: int, h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth "real" images and degraded copies: noise, blur, a shift, an identical one."""
    rng = np.random.default_rng(seed)
    real = gaussian_filter(rng.uniform(0, 255, (n, h, w, 3)), sigma=(0, 3, 3, 0))
    real = np.clip((real - real.mean()) * 6 + 128, 0, 255)
    fake = real.copy()
    for i in range(1, n):
        kind = i % 3
        if kind == 0:
            fake[i] = real[i] + rng.normal(0, 8 * i, real[i].shape)
        elif kind == 1:
            fake[i] = gaussian_filter(real[i], sigma=(i, i, 0))
        else:
            fake[i] = np.roll(real[i], i, axis=1)
    return np.clip(fake, 0, 255).astype(np.uint8), real.astype(np.uint8)


@pytest.mark.parametrize("shape", [(6, 64, 64), (5, 48, 80)])
def test_lpips_equals_the_package_on_the_same_weights(backbone, shape):
    fake, real = _images(*shape, seed=shape[1])
    ours = lpips_distances(load_lpips(backbone, LINEAR_V01, "cpu"), fake, real, "cpu", batch_size=4)
    with torch.no_grad():
        theirs = _package_lpips(backbone)(torch.from_numpy(fake).permute(0, 3, 1, 2).float() / 127.5 - 1,
                                          torch.from_numpy(real).permute(0, 3, 1, 2).float() / 127.5 - 1)
    theirs = theirs.flatten().double().numpy()
    assert ours.dtype == np.float64 and ours.shape == (shape[0],)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-9)  # also relatively: some values are small
    assert ours[0] == 0.0  # the identical pair
    assert np.all(ours[1:] > 1e-4) and len(np.unique(ours.round(7))) == shape[0]  # distinct, not one constant


def test_lpips_is_deterministic_and_independent_of_the_batch(backbone):
    fake, real = _images(5, 64, 64, seed=1)
    model = load_lpips(backbone, LINEAR_V01, "cpu")
    first = lpips_distances(model, fake, real, "cpu", batch_size=2)
    np.testing.assert_array_equal(lpips_distances(model, fake, real, "cpu", batch_size=2), first)
    np.testing.assert_allclose(lpips_distances(model, fake, real, "cpu", batch_size=5), first, rtol=1e-6, atol=1e-7)
    # the registry's entry point: the model and device from the evaluation's resources
    np.testing.assert_array_equal(lpips_per_image(fake, real, {"lpips": model, "device": "cpu"}),
                                  lpips_distances(model, fake, real, "cpu"))


def test_lpips_rejects_images_alexnet_cannot_take(backbone):
    model = load_lpips(backbone, LINEAR_V01, "cpu")
    small = np.zeros((1, 30, 64, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"at least 31x31 pixels, got \(30, 64\)"):
        lpips_distances(model, small, small, "cpu")
    with pytest.raises(ValueError, match="uint8"):
        lpips_distances(model, small.astype(np.float32), small.astype(np.float32), "cpu")
    with pytest.raises(MetricsError, match="no model was loaded"):
        lpips_per_image(small, small, {"lpips": None, "device": "cpu"})


def test_load_lpips_names_the_file_that_is_not_its_weights(tmp_path, backbone):
    with pytest.raises(MetricsError) as info:  # the two files given the wrong way round
        load_lpips(LINEAR_V01, backbone, "cpu")
    assert str(info.value) == f"{LINEAR_V01}: no features.0.weight"
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(MetricsError, match=f"^{garbage}: LPIPS linear layers could not be loaded"):
        load_lpips(backbone, garbage, "cpu")


# --------------------------------------------------------------- declared files
def _declared(backbone_source, linear_source, backbone_sha: str, linear_sha: str | None = None) -> dict:
    return {"backbone": {"source": backbone_source, "sha256": backbone_sha},
            "linear": {"source": linear_source, "sha256": linear_sha or file_sha256(LINEAR_V01)},
            "retries": 1}


def _fetch(tmp: Path, declared: dict) -> dict:
    return fetch_lpips_weights(declared, tmp / LPIPS_BACKBONE, tmp / LPIPS_LINEAR, tmp / LPIPS_RECORD)


@pytest.fixture
def http_dir(tmp_path):
    """A folder served over HTTP on 127.0.0.1, and the URL prefix to reach it."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def test_weights_from_a_local_file_and_a_file_url(tmp_path, backbone):
    found = _fetch(tmp_path, _declared(str(backbone), LINEAR_V01.as_uri(), file_sha256(backbone)[:8]))
    for name, origin, dest in (("backbone", backbone, LPIPS_BACKBONE), ("linear", LINEAR_V01, LPIPS_LINEAR)):
        assert (tmp_path / dest).read_bytes() == origin.read_bytes()
        assert found[name] == {"source": str(origin), "sha256": file_sha256(origin), "bytes": origin.stat().st_size}
    assert json.loads((tmp_path / LPIPS_RECORD).read_text()) == found


def test_weights_downloaded_from_a_local_http_server(tmp_path, backbone, http_dir):
    served, url = http_dir
    (served / "alexnet.pth").write_bytes(backbone.read_bytes())
    (served / "alex.pth").write_bytes(LINEAR_V01.read_bytes())
    # a full sha256 for the backbone, the published-prefix form for the linear layers
    found = _fetch(tmp_path / "work", _declared(f"{url}/alexnet.pth", f"{url}/alex.pth", file_sha256(backbone),
                                                file_sha256(LINEAR_V01)[:8]))
    assert found["backbone"]["source"] == f"{url}/alexnet.pth"
    assert file_sha256(tmp_path / "work" / LPIPS_BACKBONE) == file_sha256(backbone)
    assert file_sha256(tmp_path / "work" / LPIPS_LINEAR) == file_sha256(LINEAR_V01)
    assert sorted(p.name for p in (tmp_path / "work" / "results" / "lpips").iterdir()) == [
        "alexnet-owt-7be5be79.pth", "linear-v0.1-alex.pth", "weights.json"]  # no temporary left behind


def test_sha256_mismatch_is_one_line_naming_the_file(tmp_path, backbone):
    declared = _declared(str(backbone), str(LINEAR_V01), "7be5be79")  # the real AlexNet's, not the mock's
    with pytest.raises(MetricsError) as info:
        _fetch(tmp_path, declared)
    message = str(info.value)
    digest = file_sha256(backbone)[:16]
    assert message.startswith(f"{backbone}: sha256 {digest}... does not start with 7be5be79 "), message
    assert "\n" not in message
    assert not (tmp_path / "results").exists()  # nothing installed, no record


def test_a_file_that_is_not_the_declared_kind_is_rejected_even_with_its_hash(tmp_path, backbone):
    # the linear layers declared as the backbone: its own sha256 matches, its layout does not
    with pytest.raises(MetricsError) as info:
        _fetch(tmp_path, _declared(str(LINEAR_V01), str(LINEAR_V01), file_sha256(LINEAR_V01)))
    assert str(info.value) == (f"{LINEAR_V01}: not the LPIPS AlexNet backbone (torchvision's ImageNet "
                               "alexnet-owt-7be5be79.pth) (no features.0.weight)")


def test_preplaced_weights_are_checked_and_kept(tmp_path, backbone, closed_port_url):
    for origin, dest in ((backbone, LPIPS_BACKBONE), (LINEAR_V01, LPIPS_LINEAR)):
        (tmp_path / dest).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / dest).write_bytes(origin.read_bytes())
    # sources that cannot be reached: the pre-placed copies are all there is
    found = _fetch(tmp_path, _declared(closed_port_url, closed_port_url, file_sha256(backbone)[:12]))
    assert found["backbone"]["source"] == f"pre-placed {tmp_path / LPIPS_BACKBONE}"
    assert found["linear"]["sha256"] == file_sha256(LINEAR_V01)


def test_a_wrong_preplaced_file_is_an_error_and_stays(tmp_path, backbone):
    dest = tmp_path / LPIPS_BACKBONE
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"a truncated download")
    with pytest.raises(MetricsError) as info:
        _fetch(tmp_path, _declared(str(backbone), str(LINEAR_V01), file_sha256(backbone)))
    assert str(info.value).startswith(f"{dest}: sha256 ")
    assert "remove it to fetch the file from evaluation.lpips.backbone.source" in str(info.value)
    assert dest.read_bytes() == b"a truncated download"


@pytest.fixture
def closed_port_url():
    blocker = socket.socket()  # bound, not listening: connections are refused
    blocker.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{blocker.getsockname()[1]}/alexnet-owt-7be5be79.pth"
    blocker.close()


def test_unreachable_source_says_where_to_place_the_file(tmp_path, closed_port_url):
    with pytest.raises(MetricsError) as info:
        _fetch(tmp_path, _declared(closed_port_url, str(LINEAR_V01), "7be5be79"))
    message = str(info.value)
    assert message.startswith("LPIPS AlexNet backbone (torchvision's ImageNet alexnet-owt-7be5be79.pth): "
                              f"download of {closed_port_url} failed after 1 attempt(s): cannot reach the server")
    assert f"place it at {tmp_path / LPIPS_BACKBONE}" in message and "\n" not in message


def test_null_sources_leave_lpips_out_with_the_reason():
    declared = _declared(None, None, "7be5be79")
    assert lpips_files({"lpips": declared}) == (
        None, "evaluation.lpips.backbone.source and evaluation.lpips.linear.source are null (offline, no weights)")
    declared["linear"]["source"] = "alex.pth"
    assert lpips_files({"lpips": declared}) == (None, "evaluation.lpips.backbone.source is null (offline, no weights)")
    declared["backbone"]["source"] = "alexnet.pth"
    assert lpips_files({"lpips": declared}) == ((Path(LPIPS_BACKBONE), Path(LPIPS_LINEAR)), None)


def test_configs_declare_the_wheels_linear_layers_and_the_demo_none():
    full = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["evaluation"]["lpips"]
    assert full["linear"]["sha256"] == file_sha256(LINEAR_V01)
    assert full["backbone"]["source"].endswith("/alexnet-owt-7be5be79.pth") and full["backbone"]["sha256"] == "7be5be79"
    demo = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())["evaluation"]["lpips"]
    assert demo["backbone"]["source"] is None and demo["linear"]["source"] is None


def test_lpips_weights_rule_fetches_then_keeps_preplaced_copies(tmp_path, backbone):
    work = make_workdir(tmp_path, ["name", "base"])
    sources = _declared(backbone.as_uri(), str(LINEAR_V01), file_sha256(backbone)[:8])
    write_config(work, tiny_workflow_config(evaluation={"lpips": sources}))
    run = snakemake(work, LPIPS_RECORD)
    assert run.returncode == 0, run.stdout[-3000:]
    assert file_sha256(work / LPIPS_BACKBONE) == file_sha256(backbone)
    assert json.loads((work / LPIPS_RECORD).read_text())["linear"]["source"] == str(LINEAR_V01)

    # pre-placed by hand (no record yet), sources gone: the job runs, checks and keeps them
    (work / LPIPS_RECORD).unlink()
    sources["backbone"]["source"] = str(tmp_path / "gone.pth")
    write_config(work, tiny_workflow_config(evaluation={"lpips": sources}))
    run = snakemake(work, LPIPS_RECORD)
    assert run.returncode == 0, run.stdout[-3000:]
    assert json.loads((work / LPIPS_RECORD).read_text())["backbone"]["source"] == f"pre-placed {LPIPS_BACKBONE}"
    assert file_sha256(work / LPIPS_BACKBONE) == file_sha256(backbone)

    # a pre-placed file that fails its check: one line naming it, and the file is still there
    (work / LPIPS_RECORD).unlink()
    (work / LPIPS_LINEAR).write_bytes(b"truncated")
    run = snakemake(work, LPIPS_RECORD)
    assert run.returncode != 0
    lines = [line for line in run.stdout.splitlines() if line.startswith("lpips_weights: ")]
    assert len(lines) == 1 and lines[0].startswith(f"lpips_weights: {LPIPS_LINEAR}: sha256 "), run.stdout[-3000:]
    assert (work / LPIPS_LINEAR).read_bytes() == b"truncated"
