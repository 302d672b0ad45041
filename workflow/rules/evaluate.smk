# Scoring: a segmenter and the real images' Inception features once per dataset, then
# every experiment x seed (all its saved epochs in one job: the data, Inception and the
# segmenter load once per run, and the cluster sees a third of the jobs), then one tidy
# table over all runs.
EVAL = config.get("evaluation", {})


rule train_segmenter:
    input:
        DATA_MANIFEST,
    output:
        model="results/segmenter/segmenter.pt",
        ground_truth="results/segmenter/ground_truth.json",
    params:
        data=DATA_DIR,
        spec={**EVAL.get("segmenter", {}), "split": EVAL.get("split", "test")},
    log:
        "results/logs/train_segmenter.log",
    threads: resources_for("segmenter").get("cpus_per_task", 1)
    resources:
        **resources_for("segmenter"),
    script:
        "../../scripts/train_segmenter.py"


rule real_features:
    input:
        DATA_MANIFEST,
    output:
        "results/features/real_{split}_{size}px.npy",
    params:
        data=DATA_DIR,
        inception=EVAL.get("inception", "pretrained"),
    log:
        "results/logs/real_features_{split}_{size}px.log",
    threads: resources_for("evaluate").get("cpus_per_task", 1)
    resources:
        **resources_for("evaluate"),
    script:
        "../../scripts/real_features.py"


rule evaluate:
    input:
        summary=RUN + "/train_summary.json",
        segmenter="results/segmenter/segmenter.pt",
        real_features=real_features_file,
    output:
        # each saved epoch also gets eval/epochNNN/ (images, per_image.tsv, metrics.json)
        metrics=RUN_METRICS,
        per_image=RUN + "/eval/per_image.tsv",
    params:
        checkpoints=RUN + "/checkpoints",
        data=DATA_DIR,
        split=EVAL.get("split", "test"),
        inception=EVAL.get("inception", "pretrained"),
        kid_subset_size=EVAL.get("kid_subset_size", 100),
        bootstrap=EVAL.get("bootstrap", 1000),
    log:
        RUN + "/eval/evaluate.log",
    threads: resources_for("evaluate").get("cpus_per_task", 1)
    resources:
        **resources_for("evaluate"),
    script:
        "../../scripts/evaluate.py"


rule aggregate_metrics:
    input:
        evaluations(),
    output:
        tidy="results/metrics.tsv",
        summary="results/summary.tsv",
    localrule: True
    script:
        "../../scripts/aggregate_metrics.py"
