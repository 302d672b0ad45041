import math

import pytest
import torch

from pix2pix_ablation.config.experiment import ExperimentConfig
from pix2pix_ablation.model.losses import d_loss_terms, g_adversarial, lambda_l1_at, lr_factor


def test_vanilla_is_bce_on_logits():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5])
    d_real, d_fake = d_loss_terms("vanilla", real, fake)
    expected_real = -torch.log(torch.sigmoid(real)).mean()
    expected_fake = -torch.log(1 - torch.sigmoid(fake)).mean()
    assert torch.allclose(d_real, expected_real) and torch.allclose(d_fake, expected_fake)
    assert torch.allclose(g_adversarial("vanilla", fake), -torch.log(torch.sigmoid(fake)).mean())


def test_lsgan_and_hinge_values():
    real, fake = torch.tensor([1.0, 0.0]), torch.tensor([0.5, -2.0])
    assert d_loss_terms("lsgan", real, fake)[0].item() == pytest.approx(0.5)
    assert d_loss_terms("lsgan", real, fake)[1].item() == pytest.approx((0.25 + 4) / 2)
    assert g_adversarial("lsgan", fake).item() == pytest.approx((0.25 + 9) / 2)
    assert d_loss_terms("hinge", real, fake)[0].item() == pytest.approx(0.5)
    assert d_loss_terms("hinge", real, fake)[1].item() == pytest.approx((1.5 + 0) / 2)
    assert g_adversarial("hinge", fake).item() == pytest.approx(0.75)


def test_linear_lr_policy_matches_the_reference_schedule():
    cfg = ExperimentConfig(epochs=200, decay_epochs=100)
    assert lr_factor(cfg, 0) == 1.0 and lr_factor(cfg, 98) == 1.0
    assert lr_factor(cfg, 100) == pytest.approx(1 - 1 / 101)
    assert lr_factor(cfg, 199) == pytest.approx(1 / 101)
    factors = [lr_factor(cfg, e) for e in range(200)]
    assert all(a >= b for a, b in zip(factors, factors[1:], strict=False))


def test_step_and_constant_policies():
    step = ExperimentConfig(lr_policy="step", lr_step_epochs=50, lr_gamma=0.5)
    assert [lr_factor(step, e) for e in (0, 49, 50, 100)] == [1.0, 1.0, 0.5, 0.25]
    assert lr_factor(ExperimentConfig(lr_policy="constant"), 199) == 1.0


def test_lambda_schedule_runs_from_start_to_end():
    cfg = ExperimentConfig(epochs=11, save_epochs=(11,), decay_epochs=5, lambda_l1=100, lambda_l1_end=10)
    assert lambda_l1_at(cfg, 0) == 100 and lambda_l1_at(cfg, 10) == pytest.approx(10)
    assert lambda_l1_at(cfg, 5) == pytest.approx(55)
    assert lambda_l1_at(ExperimentConfig(), 150) == 100
    assert not math.isnan(lambda_l1_at(cfg, 3))
