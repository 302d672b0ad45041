"""Device choice: ``--device cuda`` fails at once without CUDA instead of training on the CPU.

This machine's torch has no usable CUDA, so the CUDA-requested paths are the failing ones.
"""

import socket

import pytest
import torch

from pix2pix_ablation.environment import DeviceError, pick_device
from pix2pix_ablation.training import trainer

from .conftest import run_cli, tiny_config

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without usable CUDA")


@no_cuda
def test_cuda_without_cuda_raises_one_line_saying_where_and_what_to_do(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with pytest.raises(DeviceError) as caught:
        pick_device("cuda")
    message = str(caught.value)
    assert "\n" not in message
    assert "CUDA is not available" in message
    assert f"host {socket.gethostname()}" in message
    assert f"torch {torch.__version__}" in message
    assert str(torch.version.cuda or "CPU-only") in message
    assert "CUDA_VISIBLE_DEVICES='3'" in message
    assert "GPU node" in message and "gpu: 0" in message


@no_cuda
def test_an_unset_cuda_visible_devices_is_named_unset(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with pytest.raises(DeviceError, match="CUDA_VISIBLE_DEVICES=unset"):
        pick_device("cuda")


def test_device_error_is_a_runtime_error():
    assert issubclass(DeviceError, RuntimeError)


@no_cuda
@pytest.mark.parametrize("requested", ["auto", "cpu"])
def test_auto_and_cpu_give_the_cpu_here(monkeypatch, requested):
    monkeypatch.delenv("P2P_DEVICE", raising=False)
    assert pick_device(requested) == torch.device("cpu")


@no_cuda
def test_p2p_device_overrides_auto_only(monkeypatch):
    monkeypatch.setenv("P2P_DEVICE", "meta")
    assert pick_device() == torch.device("meta")
    assert pick_device("cpu") == torch.device("cpu")
    with pytest.raises(DeviceError):
        pick_device("cuda")


@pytest.mark.parametrize("requested", ["gpu", "cuda:0", "CPU", ""])
def test_other_values_are_rejected(requested):
    with pytest.raises(ValueError, match="auto, cpu, cuda"):
        pick_device(requested)


@no_cuda
def test_train_asks_for_the_device_before_reading_data_or_building_networks(tmp_path, tiny_data, monkeypatch):
    def not_yet(*_args, **_kwargs):
        raise AssertionError("work done before the device was checked")

    for name in ("list_images", "load_split", "build_models", "configure_torch"):
        monkeypatch.setattr(trainer, name, not_yet)
    with pytest.raises(DeviceError):
        trainer.train(tiny_config(), tiny_data, tmp_path / "run", device="cuda")
    assert not (tmp_path / "run").exists()


@no_cuda
def test_train_with_device_cuda_stops_with_one_line_before_any_work(tmp_path, tiny_data):
    config = tmp_path / "config.yaml"
    tiny_config().save(config)
    out = tmp_path / "run"
    done = run_cli("train", "--config", str(config), "--data", str(tiny_data), "--out", str(out),
                   "--device", "cuda", timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("pix2pix-ablation train: error:") and "CUDA" in lines[0], lines[0]
    assert not out.exists(), sorted(p.name for p in out.rglob("*"))  # no checkpoint, not even config.yaml


def test_train_rejects_an_unknown_device_on_the_command_line(tmp_path, tiny_data):
    done = run_cli("train", "--config", str(tmp_path / "c.yaml"), "--data", str(tiny_data),
                   "--out", str(tmp_path / "run"), "--device", "gpu", timeout=120)
    assert done.returncode == 2
    assert "invalid choice: 'gpu'" in done.stderr
