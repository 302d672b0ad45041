# Report stage: one panel per comparison (rows differing in one column) plus the
# saved-epochs panel, each a few figures and tables flagged report(...) with a caption
# from report/*.rst. The report category is the panel's ablation axis, the
# subcategory which rows it compares; pix2pix_ablation.reporting.panels decides which
# files feed which panel, so a new row of the experiments table needs no change here.
wildcard_constraints:
    comparison=r"[^/]+",


rule report_panel:
    # every figure and table of one panel in one job: they are cheap, and a 200-row
    # table then plans ~600 fewer jobs
    input:
        losses=lambda wc: [path for _, _, path in panel_files(wc)["runs"]],
        train_summaries=lambda wc: [path for _, _, path, _ in panel_files(wc)["cost_runs"]],
        # the grid rows' evaluations, written after their images
        grid_metrics=lambda wc: [a.metrics_file(a.seeds[0]) for a in panel(wc).grid_arms],
        metrics=lambda wc: [path for _, path, _ in panel_files(wc)["arm_files"]],
        ground_truth=lambda wc: GROUND_TRUTH.format(dataset=panel(wc).dataset),
        data=lambda wc: DATA_MANIFEST.format(dataset=panel(wc).dataset),
        findings=FINDINGS_TSV,
    output:
        **{f.key: _flag(f) for f in PANEL_FILES},
    log:
        f"{LOGS}/report/{{comparison}}.log",
    localrule: True
    params:
        panel=panel_files,
        # read by the captions only (report/*.rst), which also read the panel's title and axis
        caption=lambda wc: {
            "seeds": seeds_phrase(panel(wc).arms),
            "reference": panel(wc).arms[0].label,
            "n_arms": len(panel(wc).arms),
            **METRIC_PHRASES,
        },
    script:
        "../../scripts/report_panel.py"


rule report_summary:
    input:
        metrics=[path for _, path, _ in summary_metric_files()],
        ground_truths=list(per_used_dataset(GROUND_TRUTH).values()),
    output:
        table=report(
            SUMMARY_FILES["table"],
            caption=f"{CAPTIONS}/summary.rst",
            category=SUMMARY_CATEGORY,
            subcategory="all experiments",
            labels={"figure": "all experiments (table)"},
        ),
        tsv=report(
            SUMMARY_FILES["tsv"],
            caption=f"{CAPTIONS}/summary_tsv.rst",
            category=SUMMARY_CATEGORY,
            subcategory="all experiments",
            labels={"figure": "all experiments (TSV download)"},
        ),
    log:
        f"{LOGS}/report/summary.log",
    localrule: True
    params:
        arm_files=summary_metric_files(),
        ground_truths=per_used_dataset(GROUND_TRUTH),
        experiments=[
            {
                "name": name,
                "categories": _categories_of(name),
                "description": e.description,
                "dataset": e.config.dataset,
            }
            for name, e in EXPERIMENTS.items()
        ],
        seeds=seeds_phrase([a for p in PANELS.values() for a in p.arms]),
        directions=METRIC_PHRASES["directions"],
        n_experiments=len(EXPERIMENTS),
    script:
        "../../scripts/report_summary.py"


rule report_description:
    # the landing page, from what the run recorded (not from the report command's config)
    input:
        manifests=list(per_used_dataset(DATA_MANIFEST).values()),
        metrics=evaluations(),
        ground_truths=list(per_used_dataset(GROUND_TRUTH).values()),
        findings=FINDINGS_JSON,
        template=WORKFLOW_DIR / "report" / "workflow.rst",
    output:
        REPORT_TEXT,
    log:
        f"{LOGS}/report/description.log",
    localrule: True
    params:
        epochs_experiment=REPORT_CFG["epochs_experiment"],
    script:
        "../../scripts/report_description.py"


rule report:
    # `snakemake report`: the results brought up to date, then the HTML report, built by
    # `snakemake --report` with this very config (the merged one, --config included)
    input:
        get_final_output(),
    output:
        REPORT_HTML,
    log:
        f"{LOGS}/report/html.log",
    localrule: True
    params:
        snakefile=workflow.main_snakefile,
    script:
        "../../scripts/report_html.py"
