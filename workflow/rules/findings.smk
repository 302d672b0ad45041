# Findings: every comparison's arms against its reference, metric by metric, with
# intervals from seeds and test images, Holm-adjusted tests, seeds needed, and the
# published findings beside ours; then the tables people paste. One local job: it reads
# the evaluations' small per-image files, no model.


rule findings:
    input:
        metrics=evaluations(),
        real_features=findings_real_features(),
        train_summaries=[RUN_SUMMARY.format(experiment=name, seed=seed) for name, seed in runs()],
    output:
        tsv=FINDINGS_TSV,
        md=FINDINGS_MD,
        json=FINDINGS_JSON,
        arm_stats=ARM_STATS_TSV,
        html=report(
            FINDINGS_HTML,
            caption=f"{CAPTIONS}/findings.rst",
            category=FINDINGS_CATEGORY,
            subcategory="what the ablation found",
            labels={"figure": "findings"},
        ),
        tables=[
            report(
                path,
                caption=f"{CAPTIONS}/tables.rst",
                category=FINDINGS_CATEGORY,
                subcategory="tables to paste (LaTeX, CSV)",
                labels={"figure": Path(path).name},
            )
            for path in findings_table_files()
        ],
    log:
        f"{LOGS}/findings.log",
    localrule: True
    params:
        comparisons=findings_comparisons(),
        settings=FINDINGS_SETTINGS,
    script:
        "../../scripts/findings.py"
