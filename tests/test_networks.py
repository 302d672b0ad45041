"""Generator, discriminator, attention blocks and model summary."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from pix2pix_ablation.config.experiment import CHOICES, PATCH_LAYERS, ExperimentConfig, patch_output_size
from pix2pix_ablation.model.attention import AttentionGate, SpatialAttention
from pix2pix_ablation.model.networks import (
    build_discriminator,
    build_generator,
    count_parameters,
    init_weights,
    receptive_field,
)
from pix2pix_ablation.training.model_summary import summarize


def small(**changes) -> ExperimentConfig:
    """A validated config with tiny networks; crop 32 unless told otherwise."""
    crop = changes.pop("crop_size", 32)
    base = {"crop_size": crop, "load_size": crop, "ngf": 4, "ndf": 4}
    return ExperimentConfig().replace(**{**base, **changes})


def levels(g: nn.Module) -> list[nn.Module]:
    """The generator's levels, outermost first."""
    out = []
    while not isinstance(g, nn.Identity):
        out.append(g)
        g = g.inner
    return out


def on_meta(build, cfg: ExperimentConfig) -> nn.Module:
    # Full-size networks on the meta device: exact shapes and counts, no memory or init cost.
    with torch.device("meta"):
        return build(cfg)


# ----------------------------------------------------------------- parameter parity
def test_unet256_batchnorm_has_reference_parameter_count():
    assert count_parameters(on_meta(build_generator, ExperimentConfig())) == 54_413_955


def test_patchgan70_conditional_batchnorm_has_reference_parameter_count():
    assert count_parameters(on_meta(build_discriminator, ExperimentConfig())) == 2_768_705


def test_no_discriminator_for_l1_only_loss_and_zero_params():
    cfg = small(loss="l1")
    assert build_discriminator(cfg) is None
    assert count_parameters(None) == 0


@pytest.mark.parametrize("loss, channels", [("cgan", 6), ("l1+cgan", 6), ("gan", 3), ("l1+gan", 3)])
def test_discriminator_input_channels_follow_conditioning(loss, channels):
    d = build_discriminator(small(loss=loss))
    assert d(torch.zeros(1, channels, 32, 32)).shape == (1, 1, 2, 2)
    with pytest.raises(RuntimeError):
        d(torch.zeros(1, 9 - channels, 32, 32))


# ------------------------------------------------------------------ receptive field
@pytest.mark.parametrize("patch", sorted(PATCH_LAYERS))
def test_receptive_field_analytic_equals_patch(patch):
    assert receptive_field(small(crop_size=256, patch=patch)) == patch


# Crop large enough that the centre output sees an unclipped field (away from padding).
_RF_CROP = {1: 16, 16: 32, 34: 64, 70: 128, 142: 192, 286: 320}


@pytest.mark.parametrize("patch", sorted(PATCH_LAYERS))
def test_receptive_field_empirical_is_exact_square(patch):
    size = _RF_CROP[patch]
    # num_downs only so 192 and 320 px validate; the generator is not built here.
    cfg = small(crop_size=size, num_downs=2, patch=patch, norm="none", loss="gan", ndf=2)
    torch.manual_seed(0)
    d = build_discriminator(cfg).double().eval()
    x = torch.randn(1, 3, size, size, dtype=torch.float64, requires_grad=True)
    out = d(x)
    side = patch_output_size(patch, size)
    assert out.shape == (1, 1, side, side)
    out[0, 0, side // 2, side // 2].backward()
    seen = x.grad.abs().sum(dim=1)[0] != 0
    rows = seen.any(dim=1).nonzero().flatten()
    cols = seen.any(dim=0).nonzero().flatten()
    top, left = int(rows[0]), int(cols[0])
    # Not touching the border: the square was not clipped by the image edge.
    assert top > 0 and left > 0 and int(rows[-1]) < size - 1 and int(cols[-1]) < size - 1
    assert (len(rows), len(cols)) == (patch, patch)
    assert int(seen.sum()) == patch * patch  # every pixel of the square, nothing outside
    assert bool(seen[top : top + patch, left : left + patch].all())


# ------------------------------------------------------------------------ generator
_VALID = [
    (gen, norm, att)
    for gen, norm, att in itertools.product(CHOICES["generator"], CHOICES["norm"], CHOICES["attention"])
    if not (gen == "encoder_decoder" and att == "skip")
]


def _with_pre_activation(g: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(output, input of the outermost level's final Tanh) of one forward pass."""
    tanh = levels(g)[0].up[-1]
    assert isinstance(tanh, nn.Tanh)
    seen = []
    handle = tanh.register_forward_hook(lambda _m, args, _out: seen.append(args[0]))
    try:
        y = g(x)
    finally:
        handle.remove()
    return y, seen[0]


@pytest.mark.parametrize("generator, norm, attention", _VALID)
def test_generator_output_shape_equals_input_and_is_tanh_of_its_last_layer(generator, norm, attention):
    cfg = small(generator=generator, norm=norm, attention=attention)  # depth 5 @ 32 px
    torch.manual_seed(0)
    g = build_generator(cfg)
    x = torch.randn(2, 3, 32, 32)
    y, pre = _with_pre_activation(g, x)
    assert y.shape == pre.shape == x.shape
    assert torch.equal(y, torch.tanh(pre))  # the image is the last layer squashed, nothing after it
    assert y.std() > 0  # not a constant image
    # train mode: dropout draws anew on every pass; eval mode: a function of the input
    assert not torch.equal(g(x), g(x))
    g.eval()
    with torch.no_grad():
        assert torch.equal(g(x), g(x)) and not torch.equal(g(x), g(torch.randn(2, 3, 32, 32)))
    g.train()
    y.mean().backward()  # every combination trains
    assert all(p.grad is not None for p in g.parameters())


@pytest.mark.parametrize("crop, num_downs, depth", [(128, 0, 7), (64, 4, 4), (32, 2, 2)])
def test_generator_depth_follows_config(crop, num_downs, depth):
    cfg = small(crop_size=crop, num_downs=num_downs, attention="skip")
    assert cfg.depth == depth
    g = build_generator(cfg)
    downs = [m for m in g.modules() if isinstance(m, nn.Conv2d) and m.stride == (2, 2)]
    assert len(downs) == depth
    x = torch.randn(1, 3, crop, crop)
    assert g(x).shape == x.shape


@pytest.mark.parametrize(
    "attention, kind", [("down", SpatialAttention), ("up", SpatialAttention), ("skip", AttentionGate), ("none", None)]
)
def test_attention_inserts_one_block_per_level_except_outermost(attention, kind):
    cfg = small(crop_size=64, attention=attention)  # depth 6
    g = build_generator(cfg)
    blocks = [m for m in g.modules() if isinstance(m, (SpatialAttention, AttentionGate))]
    assert len(blocks) == (0 if kind is None else cfg.depth - 1)
    assert all(isinstance(m, kind) for m in blocks)


def test_encoder_decoder_has_no_skip_and_fewer_params():
    unet = build_generator(small(crop_size=64))
    encdec = build_generator(small(crop_size=64, generator="encoder_decoder"))
    assert count_parameters(encdec) < count_parameters(unet)

    def up_in(g):
        return [level.up[1].in_channels for level in levels(g)]

    def down_out(g):
        return [[m for m in level.down if isinstance(m, nn.Conv2d)][0].out_channels for level in levels(g)]

    # The innermost up conv sees only the bottleneck in both.
    assert up_in(encdec) == down_out(encdec)
    assert up_in(unet) == [2 * c for c in down_out(unet)[:-1]] + down_out(unet)[-1:]


def test_encoder_decoder_with_skip_attention_is_rejected():
    with pytest.raises(ValueError, match="skip"):
        build_generator(small(generator="encoder_decoder", attention="skip"))


def test_unet_output_depends_on_skip_path():
    # Zeroing the bottleneck's up conv cuts the path through the innermost level; a
    # U-Net still reacts to its input through the skips, an encoder-decoder cannot.
    for generator, reacts in (("unet", True), ("encoder_decoder", False)):
        g = build_generator(small(generator=generator, dropout=0.0, norm="none")).eval()
        innermost = levels(g)[-1].up[1]
        nn.init.zeros_(innermost.weight)
        nn.init.zeros_(innermost.bias)
        a, b = torch.randn(2, 1, 3, 32, 32)
        assert (not torch.equal(g(a), g(b))) is reacts


@pytest.mark.parametrize("crop", [256, 128])
def test_dropout_on_exactly_three_decoder_blocks(crop):
    g = build_generator(small(crop_size=crop))
    drops = [m for m in g.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 3
    assert all(m.p == 0.5 for m in drops)
    assert not any(isinstance(m, nn.Dropout) for m in build_generator(small(crop_size=crop, dropout=0.0)).modules())


def test_dropout_blocks_sit_just_outside_the_innermost_level():
    g = build_generator(small(crop_size=256))  # depth 8: levels 4, 5, 6 as the reference
    with_dropout = [any(isinstance(m, nn.Dropout) for m in level.up) for level in levels(g)]
    assert with_dropout == [False] * 4 + [True] * 3 + [False]


def test_norm_choice_sets_layers_and_biases():
    for norm, layer in (("batch", nn.BatchNorm2d), ("instance", nn.InstanceNorm2d)):
        g, d = build_generator(small(norm=norm)), build_discriminator(small(norm=norm))
        assert any(isinstance(m, layer) for m in g.modules())
        assert any(isinstance(m, layer) for m in d.modules())
    inst = [m for m in build_generator(small(norm="instance")).modules() if isinstance(m, nn.InstanceNorm2d)]
    assert all(not m.affine and not m.track_running_stats for m in inst)
    for net in (build_generator(small(norm="none")), build_discriminator(small(norm="none"))):
        assert not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) for m in net.modules())
        convs = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        assert all(m.bias is not None for m in convs)


# --------------------------------------------------------------------- weight init
def test_init_weights_matches_reference_distribution():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(64, 128, 4), nn.BatchNorm2d(4096), nn.ConvTranspose2d(128, 64, 4))
    init_weights(net)
    weights = torch.cat([net[0].weight.flatten(), net[2].weight.flatten()])
    assert weights.mean().abs() < 1e-3
    assert weights.std().item() == pytest.approx(0.02, rel=0.02)
    assert net[0].bias.abs().sum() == 0 and net[2].bias.abs().sum() == 0
    assert net[1].weight.mean().item() == pytest.approx(1.0, abs=2e-3)
    assert net[1].weight.std().item() == pytest.approx(0.02, rel=0.05)
    assert net[1].bias.abs().sum() == 0


def test_built_networks_come_initialised():
    d = build_discriminator(ExperimentConfig())
    convs = torch.cat([m.weight.flatten() for m in d.modules() if isinstance(m, nn.Conv2d)])
    assert convs.std().item() == pytest.approx(0.02, rel=0.02)


# ------------------------------------------------------------------ attention blocks
def test_spatial_attention_scales_each_pixel_by_one_shared_mask():
    torch.manual_seed(0)
    block = SpatialAttention()
    x = torch.randn(2, 8, 16, 16)
    y = block(x)
    assert y.shape == x.shape
    mask = y / x
    assert ((mask > 0) & (mask < 1)).all()
    assert torch.allclose(mask, mask[:, :1].expand_as(mask), atol=1e-5)  # same for all channels
    nn.init.zeros_(block.conv.weight)
    nn.init.zeros_(block.conv.bias)
    assert torch.allclose(block(x), x / 2)  # sigmoid(0) = 1/2


def test_attention_gate_scales_skip_by_gating_signal():
    torch.manual_seed(0)
    gate = AttentionGate(x_channels=8, g_channels=4)
    x, g = torch.randn(2, 8, 16, 16), torch.randn(2, 4, 16, 16)
    y = gate(x, g)
    assert y.shape == x.shape
    alpha = y / x
    assert ((alpha > 0) & (alpha < 1)).all()
    assert not torch.allclose(gate(x, g), gate(x, -g))  # g really gates
    nn.init.zeros_(gate.psi.weight)
    nn.init.zeros_(gate.psi.bias)
    assert torch.allclose(gate(x, g), x / 2)


# ------------------------------------------------------------- runtime compatibility
@pytest.mark.parametrize("norm, attention", [("batch", "skip"), ("instance", "down"), ("none", "up")])
def test_channels_last_gives_same_outputs(norm, attention):
    cfg = small(norm=norm, attention=attention)
    torch.manual_seed(0)
    g, d = build_generator(cfg).eval(), build_discriminator(cfg).eval()
    x = torch.randn(2, 3, 32, 32)
    y = g(x)
    z = d(torch.cat([x, y], 1))
    g_cl, d_cl = g.to(memory_format=torch.channels_last), d.to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    y_cl = g_cl(x_cl)
    assert torch.allclose(y_cl, y, atol=1e-5)
    assert torch.allclose(d_cl(torch.cat([x_cl, y_cl], 1)), z, atol=1e-4)


@pytest.mark.parametrize("norm, attention", [("batch", "skip"), ("instance", "down"), ("none", "up")])
def test_networks_run_under_bf16_autocast(norm, attention):
    cfg = small(norm=norm, attention=attention)
    torch.manual_seed(0)
    g, d = build_generator(cfg), build_discriminator(cfg)
    x = torch.randn(2, 3, 32, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y, pre = _with_pre_activation(g, x)
        z = d(torch.cat([x, y], 1))
    assert y.shape == x.shape and z.shape == (2, 1, 2, 2)
    assert y.dtype == z.dtype == torch.bfloat16  # autocast reached both networks' last layers
    assert torch.isfinite(y.float()).all() and torch.equal(y, torch.tanh(pre))
    (z.float().mean() + y.float().mean()).backward()
    assert all(torch.isfinite(p.grad).all() for p in g.parameters())


# --------------------------------------------------------------------- model summary
def test_summary_reference_numbers():
    cfg = ExperimentConfig()
    s = summarize(cfg)
    assert s["generator_params"] == 54_413_955
    assert s["discriminator_params"] == 2_768_705
    assert s["receptive_field"] == 70
    assert s["d_output_shape"] == [1, 30, 30]
    # Measured by the team at 256 px: G forward 12.1, one training iteration 86.9 GFLOP.
    assert s["g_forward_gflops"] == pytest.approx(12.1, rel=0.01)
    assert s["train_iter_gflops"] == pytest.approx(86.9, rel=0.01)
    assert s["config_hash"] == cfg.hash()


@pytest.mark.parametrize("patch, crop", [(1, 32), (16, 32), (34, 32), (70, 32), (142, 64), (286, 256)])
def test_summary_d_output_shape_agrees_with_patch_output_size(patch, crop):
    s = summarize(small(crop_size=crop, patch=patch))
    side = patch_output_size(patch, crop)
    assert s["d_output_shape"] == [1, side, side]
    assert s["receptive_field"] == patch


def test_summary_flops_on_meta_equal_a_real_cpu_step():
    cfg = small(attention="skip")
    assert summarize(cfg) == summarize(cfg, device="cpu")


def test_summary_without_gan_counts_generator_only():
    with_gan, l1_only = summarize(small()), summarize(small(loss="l1"))
    assert l1_only["discriminator_params"] == 0
    assert l1_only["d_output_shape"] is None and l1_only["receptive_field"] is None
    assert l1_only["g_forward_gflops"] == with_gan["g_forward_gflops"]
    # Forward + backward of G alone: between 2x and 3x the forward.
    assert 2 * l1_only["g_forward_gflops"] < l1_only["train_iter_gflops"] < 3 * l1_only["g_forward_gflops"]
    assert l1_only["train_iter_gflops"] < with_gan["train_iter_gflops"]


def test_summary_conditional_d_costs_more_than_unconditional():
    assert summarize(small(loss="l1+cgan"))["train_iter_gflops"] > summarize(small(loss="l1+gan"))["train_iter_gflops"]
