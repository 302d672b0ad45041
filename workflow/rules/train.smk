# One training per experiment row and seed. The row's resolved config is a file of its
# own: a changed row changes it (params change detection), which re-runs that row's
# trainings only. Each training sets its seed and saves its own config beside its results.


rule resolve_config:
    output:
        ROW_CONFIG,
    log:
        f"{LOGS}/resolve_config/{{experiment}}.log",
    localrule: True
    params:
        config=row_config,
    script:
        "../../scripts/resolve_config.py"


# Several trainings per GPU (training.per_gpu = K > 1): every K trainings form a group
# that the cluster runs as one job. Snakemake groups only connected jobs, so the K
# trainings share a first job, gpu_share, which records who shares the GPU. A group's
# integer resources add up (CPUs, memory: each training keeps its share), so the train
# rule asks for its GPU as the string resource gres, which a group takes once. The shares
# are SHARES in common.smk.


rule gpu_share:
    output:
        f"{RESULTS}/gpu_shares/{{share}}.tsv",
    log:
        f"{LOGS}/gpu_shares/{{share}}.log",
    group:
        lambda wc: f"gpu-share-{wc.share}"
    resources:
        runtime=1,
        cpus_per_task=1,
    params:
        runs=lambda wc: [RUN.format(experiment=e, seed=s) for (e, s), share in SHARES.items() if share == int(wc.share)],
    script:
        "../../scripts/gpu_share.py"


rule train:
    input:
        config=ROW_CONFIG,
        data=of_row(DATA_MANIFEST),
        # ancient: a changed share never re-runs a training, only groups it anew
        share=lambda wc: [ancient(f"{RESULTS}/gpu_shares/{gpu_share(wc)}.tsv")] if PER_GPU > 1 else [],
        gate=GPU_GATE,
    output:
        summary=RUN_SUMMARY,
        losses=RUN_LOSSES,
    log:
        f"{RUN}/{TRAIN_LOG}",
    # Retried only here, where another attempt can help: a time limit or a node failure.
    # The trainer resumes from RUN/checkpoints/last.pt (not a declared output, so Snakemake
    # keeps it), and each attempt gets a longer runtime. Preemption is Slurm's to handle:
    # the profile submits with --requeue and the requeued job resumes the same way.
    retries: TRAINING["retries"]
    group:
        lambda wc: f"gpu-share-{gpu_share(wc)}" if PER_GPU > 1 else None
    threads: threads_for("train")
    resources:
        **resources_for("train", runtime_per_attempt=True, gpu_as_gres=PER_GPU > 1),
    params:
        data=of_row(DATA_DIR),
        out=RUN,
        # in a group job Slurm's CPU count is the group's: each training uses its own threads
        grouped=PER_GPU > 1,
    script:
        "../../scripts/train.py"
