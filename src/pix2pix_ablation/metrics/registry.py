"""Every reported metric, said once: what it is, which way is better, how it is printed.

The evaluation scores exactly these keys (a key it computes that is not here, or one
here it neither computes nor records a reason for leaving out, is an error), the report
titles, orders, rounds and judges them from here, and docs/metrics.md's definitions are
generated from :data:`METRICS` (``pix2pix-ablation metrics --write``). Torch-free: the
report jobs import it without loading torch.

Adding a per-image metric is one entry here with ``compute`` naming its function
``f(fake, real, resources) -> (N,) array`` (uint8 (N, H, W, 3) images, generated and
real), the function, and a test.
"""

from __future__ import annotations

import hashlib
import importlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

FAMILIES = ("pixel", "perceptual", "distribution", "semantic")
# what a metric needs besides the generated and real images; the evaluation records why it
# left a metric out when its source is missing (no palette: no segmenter; no LPIPS weights)
SOURCES = ("pixels", "lpips", "inception", "segmenter")


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    unit: str  # "" for unitless
    higher_is_better: bool
    digits: int  # decimals printed
    family: str  # one of FAMILIES: a family never hides another's contrary finding
    per_image: bool  # scored per test image (the run's value is their mean) or on the whole set
    source: str  # one of SOURCES
    definition: str  # exact, in words (markdown)
    matches: str  # the published implementation whose values it equals
    min_effect: float = 0.0  # smallest difference worth detecting (report.min_effect overrides)
    compute: str | None = None  # per-image metrics: "module:function" (relative to this package)

    @property
    def arrow(self) -> str:
        return "↑" if self.higher_is_better else "↓"

    @property
    def heading(self) -> str:
        """Column heading: title, unit and direction, e.g. ``PSNR (dB) ↑``."""
        return f"{self.title}{f' ({self.unit})' if self.unit else ''} {self.arrow}"

    def fmt(self, value: float | None) -> str:
        if value is None or not math.isfinite(value):
            return "–"
        return f"{value:.{self.digits}f}"

    def fmt_diff(self, value: float | None) -> str:
        if value is None or not math.isfinite(value):
            return "–"
        return f"{value:+.{self.digits}f}"

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than ``b``."""
        return a > b if self.higher_is_better else a < b

    def function(self) -> Callable[..., np.ndarray]:
        if self.compute is None:
            raise TypeError(f"metric {self.key} is set-level: it has no per-image function")
        module, name = self.compute.split(":")
        return getattr(importlib.import_module(module, __package__), name)


# what the metrics of one source share, said once (printed after them in the definitions)
SOURCE_NOTES = {
    "inception": "FID and KID use pytorch-fid's 2048-d Inception pool features (its FID weights, or a seeded "
                 "random network in the offline demo, which ranks runs but is not comparable to published "
                 "numbers); the real features are those of the side the run translates to (`direction`).",
    "segmenter": (
    "A segmenter trained on the real training photos labels the generated test photos; "
    "one confusion matrix over the test set (rows = ground truth, columns = prediction; "
    "ignore pixels not counted); every denominator + 1e-12, so a class absent from the ground "
    "truth counts as 0, over all C classes of the dataset's palette. Computed only where it means "
    "something: the label map is the input (`BtoA` in the facades layout), the training label "
    "images are palette-coded (>= 50 % of pixels within RGB distance 40 of a palette colour; "
    "JPEG'd label maps: >= 84 %, photos: <= 3 %), and the segmenter beats predicting the most "
    "common class everywhere on the real test photos; otherwise left out, with the reason."
    ),
}

METRICS: tuple[Metric, ...] = (
    Metric(
        "ssim", "SSIM", "", True, 3, "pixel", True, "pixels",
        "Wang et al. (2004): an 11×11 Gaussian window (σ = 1.5), weighted means, population "
        "(weighted) variances and covariance, K1 = 0.01, K2 = 0.03, data range 255, averaged over "
        "every window position, per RGB channel on the uint8 images, averaged over channels, then "
        "over test images.",
        "scikit-image `structural_similarity(gaussian_weights=True, sigma=1.5, "
        "use_sample_covariance=False, data_range=255, channel_axis=-1)`, the setting that gives "
        "`tf.image.ssim`, torchmetrics' SSIM and pytorch-msssim (not scikit-image's default 7×7 "
        "uniform window)",
        min_effect=0.01, compute=".image_quality:ssim_per_image",
    ),
    Metric(
        "psnr", "PSNR", "dB", True, 2, "pixel", True, "pixels",
        "10·log10(255² / MSE) over all pixels and channels of one uint8 image pair, capped at "
        "100 dB for identical images, averaged over test images.",
        "scikit-image `peak_signal_noise_ratio(data_range=255)`",
        min_effect=0.5, compute=".image_quality:psnr_per_image",
    ),
    Metric(
        "l1", "L1", "", False, 4, "pixel", True, "pixels",
        "mean |generated − real| / 127.5 over pixels and channels, on the generator's [−1, 1] "
        "scale (the training L1 loss), averaged over test images.",
        "numpy `abs(a - b).mean() / 127.5`",
        min_effect=0.01, compute=".image_quality:l1_per_image",
    ),
    Metric(
        "lpips", "LPIPS", "", False, 4, "perceptual", True, "lpips",
        "Zhang et al. (2018), AlexNet backbone, linear layers v0.1: images scaled to [−1, 1], "
        "the five ReLU feature maps unit-normalised over channels, squared differences weighted "
        "per channel by the learnt linear layers, averaged over positions and summed over "
        "layers; averaged over test images. Needs the ImageNet AlexNet and the v0.1 linear "
        "weights (`evaluation.lpips`); without them it is left out, never computed with random "
        "weights.",
        "the `lpips` package (0.1.4) `LPIPS(net='alex', version='0.1')`",
        min_effect=0.01, compute=".lpips:lpips_per_image",
    ),
    Metric(
        "fid", "FID", "", False, 2, "distribution", False, "inception",
        "Fréchet distance between Gaussians fitted to the 2048-d Inception pool features of all "
        "N generated and all N real test photos, unbiased (N − 1) covariances, computed exactly "
        "also when N < 2048. Biased upwards at small N: compare FIDs only at equal N.",
        "pytorch-fid's `calculate_frechet_distance` on its FID Inception weights",
        min_effect=5.0,
    ),
    Metric(
        "kid", "KID", "", False, 4, "distribution", False, "inception",
        "Binkowski et al. (2018): kernel (x·y/2048 + 1)³ on the same features; on each of 100 "
        "subsets of m = min(`kid_subset_size`, N) generated and m real images (without "
        "replacement), the mean of k over distinct pairs within each set minus twice the mean "
        "over all m² cross pairs; the mean over subsets (slightly negative when the sets are "
        "close). Unbiased in N. Subsets drawn as torch-fidelity draws them (numpy `RandomState(seed)` "
        "with the run's seed).",
        "torch-fidelity `kid_features_to_metric` (unbiased, `rng_seed` = the run's seed) digit for digit; "
        "clean-fid `kernel_distance` in expectation",
        min_effect=0.005,
    ),
    Metric(
        "fcn_per_pixel_acc", "FCN per-pixel acc.", "", True, 3, "semantic", False, "segmenter",
        "Per-pixel accuracy = trace / total of the segmenter's confusion matrix over the test set.",
        "the pix2pix reference's `get_scores` (junyanz/pytorch-CycleGAN-and-pix2pix, "
        "scripts/eval_cityscapes)",
        min_effect=0.01,
    ),
    Metric(
        "fcn_per_class_acc", "FCN per-class acc.", "", True, 3, "semantic", False, "segmenter",
        "Per-class accuracy = mean over classes of diag / row sum.",
        "the pix2pix reference's `get_scores`",
        min_effect=0.01,
    ),
    Metric(
        "fcn_mean_iou", "FCN mIoU", "", True, 3, "semantic", False, "segmenter",
        "Mean IoU = mean over classes of diag / (row + column − diag).",
        "the pix2pix reference's `get_scores`",
        min_effect=0.01,
    ),
)

BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
KEYS: tuple[str, ...] = tuple(BY_KEY)


def metric(key: str) -> Metric:
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"metric {key!r} is not registered (registered: {', '.join(KEYS)})") from None


def per_image_metrics() -> tuple[Metric, ...]:
    return tuple(m for m in METRICS if m.per_image)


def of_source(source: str) -> tuple[Metric, ...]:
    return tuple(m for m in METRICS if m.source == source)


def ordered(keys: Iterable[str]) -> list[str]:
    """``keys`` in registry order; an unregistered key is an error, not a silent gap."""
    keys = set(keys)
    for key in sorted(keys):
        metric(key)
    return [k for k in KEYS if k in keys]


def check_complete(computed: Iterable[str], left_out: Mapping[str, str]) -> None:
    """Every registered metric is computed or left out with a reason, and nothing else is computed."""
    computed = set(computed)
    unregistered = sorted(computed - set(KEYS))
    if unregistered:
        raise KeyError(f"computed metrics not in the registry: {', '.join(unregistered)}")
    missing = [k for k in KEYS if k not in computed and not left_out.get(k)]
    if missing:
        raise KeyError(f"registered metrics neither computed nor left out with a reason: {', '.join(missing)}")


def definitions_id() -> str:
    """A short hash of every definition: scores made under other definitions are scored again."""
    text = "\n".join(f"{m.key}|{m.per_image}|{m.source}|{m.definition}|{m.compute}" for m in METRICS)
    text += "\n".join(f"{k}|{v}" for k, v in sorted(SOURCE_NOTES.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def definitions_markdown() -> str:
    """The metric definitions of docs/metrics.md (generated; ``pix2pix-ablation metrics --write``)."""
    lines = ["| metric | better | family | scored | smallest effect of interest | equals |",
             "|---|---|---|---|---|---|"]
    for m in METRICS:
        scored = "per image, mean over images" if m.per_image else "on the whole test set"
        lines.append(f"| {m.title}{f' ({m.unit})' if m.unit else ''} (`{m.key}`) | "
                     f"{'higher' if m.higher_is_better else 'lower'} | {m.family} | {scored} | "
                     f"{m.fmt(m.min_effect)}{f' {m.unit}' if m.unit else ''} | {m.matches} |")
    lines.append("")
    for m in METRICS:
        lines.append(f"- **{m.title}** (`{m.key}`): {m.definition}")
        last_of_source = m is [n for n in METRICS if n.source == m.source][-1]
        if last_of_source and m.source in SOURCE_NOTES:
            lines.append(f"- *All {_and([n.title for n in of_source(m.source)])}*: {SOURCE_NOTES[m.source]}")
    return "\n".join(lines) + "\n"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def titles(keys: Iterable[str]) -> str:
    """The metrics' titles in registry order, joined as a sentence does: ``FID and KID``,
    ``SSIM, PSNR and L1``."""
    return _and([metric(k).title for k in ordered(keys)])


def direction_phrase() -> str:
    """``higher is better (↑) except L1, LPIPS, FID and KID (lower is better, ↓)``, from the registry."""
    lower = [m.title for m in METRICS if not m.higher_is_better]
    return f"higher is better (↑) except {_and(lower)} (lower is better, ↓)"


def families_phrase() -> str:
    """The metrics by family, e.g. ``SSIM, PSNR and L1 (pixel); LPIPS (perceptual); ...``."""
    return "; ".join(f"{_and([m.title for m in METRICS if m.family == f])} ({f})" for f in FAMILIES
                     if any(m.family == f for m in METRICS))


DEFINITIONS_START = "<!-- metric-definitions:start"
DEFINITIONS_END = "<!-- metric-definitions:end -->"


def with_definitions(text: str) -> str:
    """``text`` (docs/metrics.md) with the generated definitions between their markers."""
    start = text.index("-->", text.index(DEFINITIONS_START)) + len("-->")
    end = text.index(DEFINITIONS_END)
    return text[:start] + "\n" + definitions_markdown() + text[end:]
