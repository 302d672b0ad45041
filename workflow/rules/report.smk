# Report stage: one panel per comparison (rows differing in one column) plus the
# saved-epochs panel, each a few figures and tables flagged report(...) with a caption
# from report/*.rst. The report category is the panel's ablation axis, the
# subcategory which rows it compares; pix2pix_ablation.report.panels decides which
# files feed which panel, so a new row of the experiments table needs no change here.
from pix2pix_ablation.report.figures import PANEL_FILES  # noqa: E402
from pix2pix_ablation.report.panels import SUMMARY_CATEGORY, build_panels, panel_data, seeds_phrase  # noqa: E402

REPORT_CFG = config["report"]
PANELS = {p.id: p for p in build_panels(EXPERIMENTS, COMPARISONS, REPORT_CFG["epochs_experiment"])}
SUMMARY_FILES = {"table": f"{SUMMARY_DIR}/experiments.html", "tsv": f"{SUMMARY_DIR}/experiments.tsv"}
CAPTIONS = "../../report"


wildcard_constraints:
    comparison=r"[^/]+",


def report_outputs():
    """Every figure and table of the report and its landing page (what `rule all` requests)."""
    panels = [PANEL_DIR.format(comparison=pid) + "/" + f.name for pid in PANELS for f in PANEL_FILES]
    return [REPORT_TEXT, *SUMMARY_FILES.values(), *panels]


def panel(wildcards):
    """The panel of a report folder; a folder naming no panel is one clear error."""
    if wildcards.comparison not in PANELS:
        raise WorkflowError(f"no report panel {wildcards.comparison!r} (panels: {', '.join(PANELS)})")
    return PANELS[wildcards.comparison]


def panel_files(wildcards):
    """Which files feed the panel's figures (pix2pix_ablation.report.figures.PanelData)."""
    p = panel(wildcards)
    return panel_data(p, smoothing=REPORT_CFG["smoothing"], data=DATA_DIR, split=EVAL["split"],
                      grid_images=EVAL["grid_images"], direction=EXPERIMENTS[p.arms[0].experiment].config.direction)


def summary_metric_files():
    """(name, run evaluation, last saved epoch) of every experiment and seed."""
    return [
        (name, RUN_METRICS.format(experiment=name, seed=s), e.config.save_epochs[-1])
        for name, e in EXPERIMENTS.items()
        for s in e.seeds
    ]


def _categories_of(name):
    cats = [p.category for p in PANELS.values() if name in p.experiments]
    return ", ".join(dict.fromkeys(cats))


def _flag(f):
    """The report() flag of one panel file: axis category, comparison subcategory, labels."""
    return report(
        f"{PANEL_DIR}/{f.name}",
        caption=f"{CAPTIONS}/{f.caption}",
        category=lambda wc: panel(wc).category,
        subcategory=lambda wc: panel(wc).title,
        # strings only: the report's JavaScript sorts label values with localeCompare
        labels=lambda wc: {"figure": f.label, "comparison": panel(wc).title},
    )


rule report_panel:
    # every figure and table of one panel in one job: they are cheap, and a 200-row
    # table then plans ~600 fewer jobs
    input:
        losses=lambda wc: [path for _, _, path in panel_files(wc)["runs"]],
        train_summaries=lambda wc: [path for _, _, path, _ in panel_files(wc)["cost_runs"]],
        # the grid rows' evaluations, written after their images
        grid_metrics=lambda wc: [a.metrics_file(a.seeds[0]) for a in panel(wc).grid_arms],
        metrics=lambda wc: [path for _, path, _ in panel_files(wc)["arm_files"]],
        ground_truth=GROUND_TRUTH,
        data=DATA_MANIFEST,
    output:
        **{f.key: _flag(f) for f in PANEL_FILES},
    params:
        panel=panel_files,
        # read by the captions only (report/*.rst), which also read the panel's title and axis
        caption=lambda wc: {"seeds": seeds_phrase(panel(wc).arms), "reference": panel(wc).arms[0].label,
                            "n_arms": len(panel(wc).arms)},
    localrule: True
    script:
        "../../scripts/report_panel.py"


rule report_summary:
    input:
        metrics=[path for _, path, _ in summary_metric_files()],
        ground_truth=GROUND_TRUTH,
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
    params:
        arm_files=summary_metric_files(),
        experiments=[
            {"name": name, "categories": _categories_of(name), "description": e.description}
            for name, e in EXPERIMENTS.items()
        ],
        seeds=seeds_phrase([a for p in PANELS.values() for a in p.arms]),
        n_experiments=len(EXPERIMENTS),
    localrule: True
    script:
        "../../scripts/report_summary.py"


rule report_description:
    # the landing page, from what the run recorded (not from the report command's config)
    input:
        manifest=DATA_MANIFEST,
        metrics=evaluations(),
        ground_truth=GROUND_TRUTH,
        template=WORKFLOW_DIR / "report" / "workflow.rst",
    output:
        REPORT_TEXT,
    params:
        epochs_experiment=REPORT_CFG["epochs_experiment"],
    localrule: True
    script:
        "../../scripts/report_description.py"


rule report:
    # `snakemake report`: the results brought up to date, then the HTML report, built by
    # `snakemake --report` with this very config (the merged one, --config included)
    input:
        get_final_output(),
    output:
        REPORT_HTML,
    params:
        snakefile=workflow.main_snakefile,
    localrule: True
    script:
        "../../scripts/report_html.py"
