"""Native bf16: detected per device, logged by every training, and a warning where it is emulated."""

from __future__ import annotations

import logging

import pytest
import torch

from pix2pix_ablation import environment

from .conftest import tiny_config


@pytest.mark.parametrize("flags, native", [({"avx2", "avx512f"}, False), ({"avx512f", "avx512_bf16"}, True),
                                           ({"amx_bf16"}, True), ({"fp", "asimd", "bf16"}, True)])
def test_native_bf16_follows_the_cpu_flags(monkeypatch, flags, native):
    # the CPU flags are stubbed (this machine has one fixed set); the detection reads only them
    monkeypatch.setattr(environment, "_cpu_flags", lambda: flags)
    assert environment.native_bf16(torch.device("cpu")) is native


def test_bf16_without_native_support_warns_with_the_measured_slowdown(monkeypatch, caplog):
    monkeypatch.setattr(environment, "_cpu_flags", lambda: {"avx2"})  # stubbed: an AVX2-only machine
    with caplog.at_level(logging.INFO, logger=environment.log.name):
        environment.configure_torch(tiny_config(precision="bf16", num_threads=torch.get_num_threads()),
                                    torch.device("cpu"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "without native bf16" in warnings[0]
    assert environment.BF16_EMULATED_SLOWDOWN in warnings[0] and "stays as configured" in warnings[0]
    assert environment.bf16_line(torch.device("cpu")).endswith(": no")


def test_no_warning_where_bf16_is_native_or_not_asked_for(monkeypatch, caplog):
    with caplog.at_level(logging.INFO, logger=environment.log.name):
        monkeypatch.setattr(environment, "_cpu_flags", lambda: {"avx512_bf16"})
        environment.configure_torch(tiny_config(precision="bf16", num_threads=torch.get_num_threads()),
                                    torch.device("cpu"))
        assert environment.bf16_line(torch.device("cpu")).endswith(": yes")
        monkeypatch.setattr(environment, "_cpu_flags", lambda: {"avx2"})
        environment.configure_torch(tiny_config(num_threads=torch.get_num_threads()), torch.device("cpu"))
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_every_training_logs_its_bf16_support_once(tiny_data, tmp_path, caplog):
    from pix2pix_ablation.training.trainer import train

    with caplog.at_level(logging.INFO):
        train(tiny_config(epochs=1, save_epochs=(1,)), tiny_data, tmp_path / "run")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("native bf16 on ")]
    assert lines == [environment.bf16_line(torch.device("cpu"))]
