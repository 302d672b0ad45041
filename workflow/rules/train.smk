# One training per experiment row and seed. The row's resolved config is a file of its
# own: a changed row changes it (params change detection), which re-runs that row's
# trainings only. Each training sets its seed and saves its own config beside its results.


rule resolve_config:
    output:
        ROW_CONFIG,
    params:
        config=row_config,
    localrule: True
    script:
        "../../scripts/resolve_config.py"


rule train:
    input:
        config=ROW_CONFIG,
        data=DATA_MANIFEST,
    output:
        summary=RUN + "/train_summary.json",
        losses=RUN + "/losses.csv",
    params:
        data=DATA_DIR,
        out=RUN,
    log:
        RUN + "/train.log",
    threads: resources_for("train").get("cpus_per_task", 1)
    resources:
        **resources_for("train"),
    shell:
        # Re-submitted after a time limit or preemption, the trainer resumes from
        # RUN/checkpoints/last.pt (not a declared output, so Snakemake keeps it).
        "OMP_NUM_THREADS={threads} P2P_PYTHON={PYTHON} bash scripts/train.sh --config {input.config} --set seed={wildcards.seed} --data {params.data} --out {params.out} 2> {log}"
