"""Where every file lives: the one module that spells the results layout.

Names inside one run directory (what the trainer and the evaluation write) and the
workflow's paths under ``results/`` (Snakemake patterns with ``{wildcards}``). The
rules, the trainer, the evaluation and the report read them from here, so moving a
file is one edit.
"""

from __future__ import annotations

from pathlib import Path

# --- inside one run directory (pix2pix-ablation train --out DIR) ---
RUN_CONFIG = "config.yaml"  # the resolved config and its hash
LOSSES = "losses.csv"
TRAIN_SUMMARY = "train_summary.json"
TRAIN_LOG = "train.log"
CHECKPOINTS = "checkpoints"
EVAL_DIR = "eval"  # the run's evaluation: every saved epoch
METRICS = "metrics.json"  # in eval/ (the run) and in eval/epochNNN/ (one snapshot)
PER_IMAGE = "per_image.tsv"
# in eval/epochNNN/, row i = image i of per_image.tsv: what the findings resample set-level metrics from
FEATURES = "features.npy"  # Inception pool features of the generated images (N x 2048 float32)
CONFUSION = "confusion.npy"  # the segmenter's confusion matrix per generated image (N x C x C int64)
IMAGES = "images"  # in eval/epochNNN/: the translated split, one PNG per image


def epoch_dir(eval_dir: str | Path, epoch: int) -> Path:
    """One saved epoch's translations and scores inside a run's ``eval/``."""
    return Path(eval_dir) / f"epoch{epoch:03d}"


# --- the workflow, relative to its working directory ---
RESULTS = "results"
DATA_DIR = "results/data/{dataset}"
DATA_MANIFEST = "results/data/{dataset}.manifest.json"  # beside the folder, which is replaced whole
LOGS = "results/logs"
ROW_CONFIG = "results/runs/{experiment}/config.yaml"  # the row over the defaults (seed 0)
RUN = "results/runs/{experiment}/seed{seed}"  # one seed; the trainer writes its config.yaml
RUN_SUMMARY = f"{RUN}/{TRAIN_SUMMARY}"
RUN_LOSSES = f"{RUN}/{LOSSES}"
RUN_METRICS = f"{RUN}/{EVAL_DIR}/{METRICS}"
RUN_PER_IMAGE = f"{RUN}/{EVAL_DIR}/{PER_IMAGE}"
SEGMENTER = "results/segmenter/{dataset}/segmenter.pt"
# the segmenter on real photos (the FCN upper bound), or why a dataset has no FCN score
GROUND_TRUTH = "results/segmenter/{dataset}/ground_truth.json"
REAL_FEATURES = "results/features/{dataset}/real_{split}_{direction}_{size}px.npy"
FEATURE_CACHE = "results/features/cache"  # Inception features keyed by image bytes and weights
INCEPTION_DIR = "results/inception"
LPIPS_DIR = "results/lpips"  # the LPIPS weights, fetched or pre-placed, checked
LPIPS_BACKBONE = f"{LPIPS_DIR}/alexnet-owt-7be5be79.pth"  # torchvision's ImageNet AlexNet
LPIPS_LINEAR = f"{LPIPS_DIR}/linear-v0.1-alex.pth"  # the lpips package's weights/v0.1/alex.pth
LPIPS_RECORD = f"{LPIPS_DIR}/weights.json"  # where each came from, its sha256
METRICS_TSV = "results/metrics.tsv"
SUMMARY_TSV = "results/summary.tsv"
REPORT_DIR = "results/report"
PANEL_DIR = f"{REPORT_DIR}/{{comparison}}"
SUMMARY_DIR = f"{REPORT_DIR}/summary"
REPORT_TEXT = f"{REPORT_DIR}/workflow.rst"  # the landing page, from what the run recorded
# what the ablation found: every comparison x metric, in words and numbers
FINDINGS_TSV = "results/findings.tsv"
FINDINGS_MD = "results/findings.md"
FINDINGS_DIR = f"{REPORT_DIR}/findings"
FINDINGS_HTML = f"{FINDINGS_DIR}/findings.html"
FINDINGS_JSON = f"{FINDINGS_DIR}/findings.json"  # what the landing page summarises
ARM_STATS_TSV = "results/arm_statistics.tsv"  # every arm x metric: mean, interval, seed vs image variance
TABLES_DIR = "results/tables"  # LaTeX (booktabs) and CSV, per comparison and for all experiments


def table_files(name: str) -> list[str]:
    """The LaTeX and CSV form of one pasteable table (a comparison's id, or "summary")."""
    return [f"{TABLES_DIR}/{name}.tex", f"{TABLES_DIR}/{name}.csv"]
REPORT_HTML = "results/report.html"


def run_dir(experiment: str, seed: int) -> str:
    return RUN.format(experiment=experiment, seed=seed)


def run_file(experiment: str, seed: int, *names: str) -> str:
    """A file of one run, e.g. ``run_file("baseline", 0, LOSSES)``."""
    return "/".join((run_dir(experiment, seed), *names))


def images_dir(experiment: str, seed: int, epoch: int) -> str:
    """The translated evaluation split of one saved epoch."""
    return str(epoch_dir(run_file(experiment, seed, EVAL_DIR), epoch) / IMAGES)
