"""training.per_gpu planned (a dry run, no cluster needed): K trainings per group job, one GPU each."""

from __future__ import annotations

import re

from .workflow_util import make_workdir, snakemake, tiny_workflow_config

ROWS = ["name|lr", "a|", "b|0.0001", "c|0.00005"]


def _plan(tmp_path, per_gpu: int) -> str:
    config = tiny_workflow_config(seeds=2, training={"per_gpu": per_gpu},
                                  resources={"train": {"gpu": 1, "cpus_per_task": 2}})
    work = make_workdir(tmp_path, ROWS, config)
    run = snakemake(work, "-n", "--profile", "slurm", "all")
    assert run.returncode == 0, run.stdout[-3000:]
    return run.stdout


def test_per_gpu_groups_k_trainings_and_asks_for_the_gpu_once(tmp_path):
    out = _plan(tmp_path, per_gpu=4)
    groups = re.findall(r"Group job (gpu-share-\d+)", out)
    assert sorted(groups) == ["gpu-share-0", "gpu-share-1"]  # 6 trainings, 4 per GPU
    train_resources = re.findall(r"rule train:.*?resources: ([^\n]*)", out, re.S)
    assert len(train_resources) == 6
    # the GPU as gres (a group takes a string resource once), never the summed integer gpu
    assert all("gres=gpu:1" in r and "needs_cuda=1" in r and not re.search(r"\bgpu=", r) for r in train_resources)


def test_one_training_per_gpu_plans_no_groups(tmp_path):
    out = _plan(tmp_path, per_gpu=1)
    assert "Group job" not in out and "gpu_share" not in out
    train_resources = re.findall(r"rule train:.*?resources: ([^\n]*)", out, re.S)
    assert len(train_resources) == 6 and all("gpu=1" in r and "gres" not in r for r in train_resources)


def test_a_shared_gpu_job_still_demands_cuda():
    from pix2pix_ablation.environment import job_device

    # a grouped training asks for its GPU as gres and keeps needs_cuda: without CUDA it fails at once too
    assert job_device({"gres": "gpu:1", "needs_cuda": 1}) == job_device({"gpu": 1}) == "cuda"
    assert job_device({"gres": "", "gpu": 0}) == job_device({}) == "auto"
