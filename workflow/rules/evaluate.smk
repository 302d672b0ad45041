# Scoring: the FID Inception weights, a segmenter (datasets with a label palette) and the
# real images' Inception features once per dataset, then every experiment x seed (all its saved epochs in one job: the
# data, Inception and the segmenter load once per run, and the cluster sees a third of
# the jobs), then one tidy table over all runs.


rule inception_weights:
    # local: the login node usually has the internet that compute nodes lack
    output:
        INCEPTION_WEIGHTS,
    log:
        f"{LOGS}/inception_weights.log",
    localrule: True
    params:
        source=EVAL["inception_weights"]["source"],
        sha256=EVAL["inception_weights"]["sha256"],
        retries=EVAL["inception_weights"]["retries"],
    script:
        "../../scripts/inception_weights.py"


rule lpips_weights:
    # local, like inception_weights. update(): a copy pre-placed at its place is checked
    # and kept, not deleted before the job runs (the record is what makes the job run)
    output:
        backbone=update(LPIPS_BACKBONE),
        linear=update(LPIPS_LINEAR),
        record=LPIPS_RECORD,
    log:
        f"{LOGS}/lpips_weights.log",
    localrule: True
    params:
        lpips=EVAL["lpips"],
    script:
        "../../scripts/lpips_weights.py"


rule train_segmenter:
    input:
        data=DATA_MANIFEST,
        gate=GPU_GATE,
    output:
        model=SEGMENTER,
        ground_truth=GROUND_TRUTH,
    log:
        f"{LOGS}/train_segmenter_{{dataset}}.log",
    wildcard_constraints:
        dataset=datasets_pattern(with_palette=True),
    threads: threads_for("segmenter")
    resources:
        **resources_for("segmenter"),
    params:
        data=dataset_dir,
        palette=lambda wc: dataset(wc.dataset).palette,
        spec={**EVAL["segmenter"], "split": EVAL["split"]},
    script:
        "../../scripts/train_segmenter.py"


rule fcn_not_applicable:
    # a dataset without a label palette: no segmenter, and a record saying why
    output:
        ground_truth=GROUND_TRUTH,
    log:
        f"{LOGS}/fcn_not_applicable_{{dataset}}.log",
    wildcard_constraints:
        dataset=datasets_pattern(with_palette=False),
    localrule: True
    params:
        split=EVAL["split"],
    script:
        "../../scripts/fcn_not_applicable.py"


rule real_features:
    input:
        data=DATA_MANIFEST,
        weights=GPU_GATE,
    output:
        REAL_FEATURES,
    log:
        f"{LOGS}/real_features_{{dataset}}_{{split}}_{{direction}}_{{size}}px.log",
    threads: threads_for("evaluate")
    resources:
        **resources_for("evaluate"),
    params:
        data=dataset_dir,
        inception=EVAL["inception"],
        cache=FEATURE_CACHE,
    script:
        "../../scripts/real_features.py"


rule evaluate:
    input:
        summary=RUN_SUMMARY,
        segmenter=row_segmenter,
        ground_truth=of_row(GROUND_TRUTH),
        real_features=real_features_file,
        weights=GPU_GATE,
        lpips=LPIPS_GATE,
    output:
        # each saved epoch also gets eval/epochNNN/ (images, per_image.tsv, metrics.json)
        metrics=RUN_METRICS,
        per_image=RUN_PER_IMAGE,
    log:
        f"{RUN}/{EVAL_DIR}/evaluate.log",
    threads: threads_for("evaluate")
    resources:
        **resources_for("evaluate"),
    params:
        checkpoints=f"{RUN}/{CHECKPOINTS}",
        data=of_row(DATA_DIR),
        split=EVAL["split"],
        inception=EVAL["inception"],
        # a scoring knob: changing it re-scores the run's snapshots without retraining it
        eval_mode=lambda wc: experiment(wc.experiment).config.eval_mode,
        kid_subset_size=EVAL["kid_subset_size"],
        bootstrap=EVAL["bootstrap"],
        cache=FEATURE_CACHE,
        lpips=[str(p) for p in LPIPS_FILES] if LPIPS_FILES else None,
        lpips_left_out=LPIPS_LEFT_OUT,
    script:
        "../../scripts/evaluate.py"


rule aggregate_metrics:
    input:
        evaluations(),
    output:
        tidy=METRICS_TSV,
        summary=SUMMARY_TSV,
    log:
        f"{LOGS}/aggregate_metrics.log",
    localrule: True
    script:
        "../../scripts/aggregate_metrics.py"
