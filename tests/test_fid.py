"""Frechet distance, KID, Inception feature extraction and the feature cache.

The Inception tests never touch the internet: TORCH_HOME points at a temporary
directory, the weights URL at a refusing 127.0.0.1 port, and any connection to another
host fails the test.
"""

import socket

import numpy as np
import pytest
import torch
from scipy import linalg
from torch import nn

from pix2pix_ablation.metrics import (
    MetricsError,
    cached_features,
    frechet_distance,
    inception_features,
    inception_weights_path,
    kernel_inception_distance,
    load_inception,
    polynomial_kernel,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _non_isotropic(rng, n, d, scale=1.0, shift=0.0):
    mix = rng.normal(size=(d, d)) * rng.uniform(0.1, 3.0, d)
    return rng.normal(size=(n, d)) @ mix * scale + shift


def _fid_reference(a, b):
    """Float64 FID via the symmetric form tr sqrt(Sa^1/2 Sb Sa^1/2): well-defined for n < d."""
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(sa)
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = np.linalg.eigvalsh(root @ sb @ root)
    diff = a.mean(0) - b.mean(0)
    return diff @ diff + np.trace(sa) + np.trace(sb) - 2 * np.sqrt(np.clip(inner, 0, None)).sum()


# ------------------------------------------------------------ Frechet distance
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # sqrtm(disp=...) in pytorch-fid
def test_frechet_distance_matches_pytorch_fid():
    from pytorch_fid.fid_score import calculate_frechet_distance

    rng = np.random.default_rng(0)
    a = _non_isotropic(rng, 500, 64)
    b = _non_isotropic(rng, 500, 64, scale=1.2, shift=0.3)
    ref = calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    assert ref > 1.0
    assert frechet_distance(a, b) == pytest.approx(ref, rel=1e-6)


def test_frechet_distance_with_fewer_samples_than_dims():
    rng = np.random.default_rng(1)
    a = _non_isotropic(rng, 40, 256)
    b = _non_isotropic(rng, 55, 256, scale=0.8, shift=0.1)  # unequal sizes too
    assert frechet_distance(a, b) == pytest.approx(_fid_reference(a, b), rel=1e-7)
    # scipy's sqrtm of the singular product agrees as well here
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(sa @ sb)
    diff = a.mean(0) - b.mean(0)
    via_sqrtm = diff @ diff + np.trace(sa) + np.trace(sb) - 2 * np.trace(covmean).real
    assert frechet_distance(a, b) == pytest.approx(via_sqrtm, rel=1e-5)


def test_frechet_distance_properties_at_test_set_size():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(106, 2048))
    b = rng.normal(size=(106, 2048))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-10)
    noise = rng.normal(size=a.shape)
    fids = [frechet_distance(a, a + s * noise) for s in (0.1, 0.5, 1.0, 2.0)]
    assert fids == sorted(fids) and fids[0] > 0


def test_frechet_distance_rejects_bad_input():
    with pytest.raises(ValueError, match="dims differ"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="n >= 2"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))


# ------------------------------------------------------------------------ KID
def _mmd2_by_loops(x, y, paired=False):
    """Unbiased MMD^2 written out pair by pair, kernel (x.y / d + 1)^3 (torch-fidelity, clean-fid).

    ``paired``: also leave out the cross pairs (i, i), for rows that stem from one input.
    """
    m, d = x.shape
    k = lambda p, q: (p @ q / d + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    cross = [(i, j) for i in range(m) for j in range(m) if not (paired and i == j)]
    xy = sum(k(x[i], y[j]) for i, j in cross) / len(cross)
    return xx + yy - 2 * xy


def test_kid_of_whole_sets_matches_pair_by_pair_formula():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(12, 5)), rng.normal(0.5, 1, size=(12, 5))
    expected = _mmd2_by_loops(x, y)
    # every subset holds all 12 rows (subset_size is capped at n): the value cannot depend
    # on the draws, so several subsets and any seed give it with zero spread
    for subset_size, n_subsets, seed in ((12, 1, 0), (12, 7, 3), (100, 5, 1)):
        mean, std = kernel_inception_distance(x, y, subset_size=subset_size, n_subsets=n_subsets, seed=seed)
        assert mean == pytest.approx(expected, rel=1e-10)
        assert std == pytest.approx(0.0, abs=1e-12)
    paired, _ = kernel_inception_distance(x, y, subset_size=12, n_subsets=3, paired=True)
    assert paired == pytest.approx(_mmd2_by_loops(x, y, paired=True), rel=1e-10)
    assert paired != pytest.approx(expected, rel=1e-3)  # the default is the standard estimator
    np.testing.assert_allclose(polynomial_kernel(x, y)[2, 3], (x[2] @ y[3] / 5 + 1) ** 3)


def test_kid_over_random_subsets_matches_pair_by_pair_formula():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(30, 6)), rng.normal(0.3, 1.2, size=(25, 6))  # unequal sizes
    # the same subsets: torch-fidelity's RandomState(seed), per subset a's rows then b's, without replacement
    draws = np.random.RandomState(7)
    values = []
    for _ in range(4):
        rows_x = draws.choice(30, 10, replace=False)
        rows_y = draws.choice(25, 10, replace=False)
        values.append(_mmd2_by_loops(x[rows_x], y[rows_y]))
    mean, std = kernel_inception_distance(x, y, subset_size=10, n_subsets=4, seed=7)
    assert mean == pytest.approx(np.mean(values), rel=1e-10)
    assert std == pytest.approx(np.std(values), rel=1e-8)


def test_kid_is_unbiased_for_equal_distributions():
    rng = np.random.default_rng(0)
    unbiased, biased = [], []
    for _ in range(200):
        x, y = rng.normal(size=(20, 8)), rng.normal(size=(20, 8))
        unbiased.append(kernel_inception_distance(x, y, subset_size=20, n_subsets=1)[0])
        # the V-statistic (diagonal kept) is what the unbiased estimator must avoid
        biased.append(polynomial_kernel(x, x).mean() + polynomial_kernel(y, y).mean()
                      - 2 * polynomial_kernel(x, y).mean())
    se = np.std(unbiased, ddof=1) / np.sqrt(len(unbiased))
    assert abs(np.mean(unbiased)) < 3 * se
    assert np.mean(biased) > 10 * se


def test_kid_detects_a_shift():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(300, 32)), rng.normal(size=(300, 32))
    same, same_std = kernel_inception_distance(a, b, n_subsets=50)
    shifted, shifted_std = kernel_inception_distance(a, b + 0.5, n_subsets=50)
    assert abs(same) < 3 * same_std
    assert shifted > 10 * shifted_std and shifted > 10 * abs(same)


def test_paired_kid_ignores_the_dependent_cross_pairs():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(150, 32))
    fake = (real + 0.3 * rng.normal(size=real.shape)) / np.sqrt(1.09)  # same N(0, I), paired
    unpaired, spread = kernel_inception_distance(fake, real, n_subsets=50)
    paired, paired_spread = kernel_inception_distance(fake, real, n_subsets=50, paired=True)
    assert unpaired < -3 * spread  # the matched (i, i) pairs drag the standard estimator down
    assert abs(paired) < 3 * paired_spread


# ------------------------------------------------------------------ Inception
@pytest.fixture
def offline_torch_home(tmp_path, monkeypatch):
    """TORCH_HOME in tmp, the weights URL on a refusing 127.0.0.1 port, other hosts forbidden."""
    import pytorch_fid.inception as fid_inception

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setenv("no_proxy", "*")
    # bound but not listening: connections to it are refused, and nobody else can take it
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    port = blocker.getsockname()[1]
    filename = fid_inception.FID_WEIGHTS_URL.rsplit("/", 1)[1]
    monkeypatch.setattr(fid_inception, "FID_WEIGHTS_URL", f"http://127.0.0.1:{port}/{filename}")

    real_connect = socket.create_connection

    def local_only(address, *args, **kwargs):
        assert address[0] == "127.0.0.1", f"test tried to reach {address}"
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", local_only)
    yield tmp_path / "torch"
    blocker.close()


def _random_fid_inception_state() -> dict:
    """State dict with the key layout of pytorch-fid's fid_inception_v3(), random weights."""
    import pytorch_fid.inception as fi

    torch.manual_seed(0)
    net = fi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b = fi.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = fi.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = fi.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = fi.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = fi.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = fi.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = fi.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = fi.FIDInceptionE_1(1280)
    net.Mixed_7c = fi.FIDInceptionE_2(2048)
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            # the construction skips init: keep activations alive through 90 layers
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    return net.state_dict()


def test_inception_weights_path_follows_torch_home(offline_torch_home):
    assert inception_weights_path() == offline_torch_home / "hub" / "checkpoints" / (
        "pt_inception-2015-12-05-6726825d.pth"
    )


def test_inception_features_with_preplaced_weights(offline_torch_home):
    path = inception_weights_path()
    path.parent.mkdir(parents=True)
    torch.save(_random_fid_inception_state(), path)
    model = load_inception("cpu")
    assert not model.training
    images = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    feats = inception_features(images, model, batch_size=1)
    assert feats.shape == (2, 2048) and feats.dtype == np.float64
    assert np.isfinite(feats).all()
    assert feats.std(0).max() > 0  # images differ in feature space
    assert feats.std(1).min() > 0  # features are not one constant
    # batching does not change the answer
    np.testing.assert_allclose(inception_features(images, model, batch_size=2), feats, rtol=1e-5, atol=1e-6)


def test_missing_weights_and_failed_download_raise_metrics_error(offline_torch_home):
    path = inception_weights_path()
    with pytest.raises(MetricsError) as info:
        load_inception("cpu")
    message = str(info.value)
    assert str(path) in message
    assert "127.0.0.1" in message  # the URL to fetch by hand
    assert "\n" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert not path.exists()


def test_corrupt_weights_file_raises_metrics_error(offline_torch_home):
    path = inception_weights_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(MetricsError, match="could not be loaded") as info:
        load_inception("cpu")
    assert str(path) in str(info.value)


# --------------------------------------------------------------------- cache
class _CountingNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return [self.conv(x).mean((2, 3), keepdim=True)]


def test_cached_features_are_not_recomputed(tmp_path):
    torch.manual_seed(0)
    net = _CountingNet()
    images = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    first = cached_features(images, net, tmp_path / "cache", batch_size=2)
    assert net.calls == 3 and first.shape == (5, 8)
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
    second = cached_features(images, net, tmp_path / "cache", batch_size=2)
    assert net.calls == 3  # loaded, not recomputed
    np.testing.assert_array_equal(first, second)
    # a changed image or changed weights are a miss, never a stale hit
    changed = images.copy()
    changed[0, 0, 0, 0] ^= 1
    cached_features(changed, net, tmp_path / "cache", batch_size=5)
    assert net.calls == 4
    with torch.no_grad():
        net.conv.bias.add_(1.0)
    shifted = cached_features(images, net, tmp_path / "cache", batch_size=5)
    assert net.calls == 5
    assert not np.allclose(shifted, first)
    assert not list((tmp_path / "cache").glob(".*.tmp"))  # atomic writes leave no temp files


def test_kid_equals_torch_fidelity_digit_for_digit_with_small_subsets():
    """The subsets are drawn from torch-fidelity's stream, so not only the expectation agrees."""
    torch_fidelity = pytest.importorskip("torch_fidelity.metric_kid")  # a test-only oracle
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(20, 64)), rng.normal(size=(20, 64)) + 0.3
    ours, ours_std = kernel_inception_distance(a, b, subset_size=7, n_subsets=50, seed=3)
    theirs = torch_fidelity.kid_features_to_metric(
        torch.from_numpy(a), torch.from_numpy(b), kid_subsets=50, kid_subset_size=7, rng_seed=3, verbose=False,
        kid_degree=3, kid_gamma=None, kid_coef0=1)
    assert ours == pytest.approx(theirs["kernel_inception_distance_mean"], abs=1e-12)
    assert ours_std == pytest.approx(theirs["kernel_inception_distance_std"], abs=1e-12)
