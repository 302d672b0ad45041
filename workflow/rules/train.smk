# One training per experiment row and seed. The row's resolved config is a file of its
# own: a changed row changes it (params change detection), which re-runs that row's
# trainings only. Each training sets its seed and saves its own config beside its results.


rule resolve_config:
    output:
        ROW_CONFIG,
    params:
        config=row_config,
    log:
        f"{LOGS}/resolve_config/{{experiment}}.log",
    localrule: True
    script:
        "../../scripts/resolve_config.py"


rule train:
    input:
        config=ROW_CONFIG,
        data=of_row(DATA_MANIFEST),
        gate=GPU_GATE,
    output:
        summary=RUN_SUMMARY,
        losses=RUN_LOSSES,
    params:
        data=of_row(DATA_DIR),
        out=RUN,
    log:
        f"{RUN}/{TRAIN_LOG}",
    # Retried only here, where another attempt can help: a time limit or a node failure.
    # The trainer resumes from RUN/checkpoints/last.pt (not a declared output, so Snakemake
    # keeps it), and each attempt gets a longer runtime. Preemption is Slurm's to handle:
    # the profile submits with --requeue and the requeued job resumes the same way.
    retries: TRAINING["retries"]
    threads: threads_for("train")
    resources:
        **resources_for("train", runtime_per_attempt=True),
    script:
        "../../scripts/train.py"
