"""LPIPS through the real workflow: weights pre-placed under results/lpips/, scored by the
evaluation, in results/metrics.tsv, the findings and the report, and equal to the ``lpips``
package's values on the saved translations and the real photos.

The one mock, as in test_lpips.py: the ImageNet AlexNet cannot be downloaded here, so the
backbone is a randomly initialised AlexNet in torchvision's checkpoint layout (never used
by the pipeline unless pre-placed like this). The linear layers are the real v0.1 file.
"""

import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from pix2pix_ablation.hashing import file_sha256
from pix2pix_ablation.layout import LPIPS_BACKBONE, LPIPS_LINEAR

from .test_lpips import LINEAR_V01, _package_lpips, backbone  # noqa: F401 (the module fixture)
from .workflow_util import make_workdir, snakemake, tiny_workflow_config

pytestmark = pytest.mark.slow
ROWS = ["name|description|loss", "baseline|the reference|", "loss_l1|L1 only|l1"]


def _png(path):
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def _unit(image):
    """uint8 (H, W, 3) -> the package's input: (1, 3, H, W) on [-1, 1]."""
    return torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 127.5 - 1


def test_lpips_with_pre_placed_weights_reaches_metrics_findings_and_report(tmp_path, backbone):  # noqa: F811
    config = tiny_workflow_config(evaluation={"lpips": {
        # the sources are never read: the files are already at their place, and checked there
        "backbone": {"source": "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
                     "sha256": file_sha256(backbone)},
        "linear": {"source": "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth",
                   "sha256": file_sha256(LINEAR_V01)}}})
    work = make_workdir(tmp_path, ROWS, config)
    for src, dest in ((backbone, LPIPS_BACKBONE), (LINEAR_V01, LPIPS_LINEAR)):
        (work / dest).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, work / dest)
    snakemake(work, "all", timeout=900, check=True)

    table = pd.read_csv(work / "results" / "metrics.tsv", sep="\t")
    lpips_rows = table[table["metric"] == "lpips"]
    assert len(lpips_rows) == 2 * 2  # 2 rows x 2 saved epochs, seed 0

    # the package's LPIPS on the saved translations against the real test photos (left halves)
    model = _package_lpips(backbone)
    for _, row in lpips_rows.iterrows():
        images = sorted((work / "results" / "runs" / row["experiment"] / "seed0" / "eval"
                         / f"epoch{int(row['epoch']):03d}" / "images").glob("*.png"))
        assert images
        values = []
        for path in images:
            [pair] = [p for p in (work / "results" / "data" / "facades" / "test").iterdir() if p.stem == path.stem]
            both = _png(pair)
            photo = both[:, : both.shape[1] // 2]
            with torch.no_grad():
                values.append(float(model(_unit(_png(path)), _unit(photo)).item()))
        assert row["value"] == pytest.approx(np.mean(values), abs=1e-5)

    findings = pd.read_csv(work / "results" / "findings.tsv", sep="\t")
    lpips_finding = findings[(findings["metric"] == "lpips") & (findings["arm"] == "loss_l1")]
    assert len(lpips_finding) == 1 and not lpips_finding["verdict"].iloc[0].startswith("not tested")
    html = (work / "results" / "report" / "loss--baseline" / "metrics.html").read_text()
    assert "LPIPS ↓" in html
