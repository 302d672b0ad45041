# Report stage: one panel per comparison (rows differing in one column) plus the
# saved-epochs panel, each a few figures and tables flagged report(...) with a caption
# from report/*.rst. The report category is the panel's ablation axis, the
# subcategory which rows it compares; pix2pix_ablation.report.panels decides which
# files feed which panel, so a new row of the experiments table needs no change here.
from pix2pix_ablation.report.panels import SUMMARY_CATEGORY, build_panels, seeds_phrase  # noqa: E402

REPORT_CFG = config["report"]
PANELS = {p.id: p for p in build_panels(EXPERIMENTS, COMPARISONS, REPORT_CFG["epochs_experiment"])}
PANEL_DIR = "results/report/{comparison}"
GROUND_TRUTH = "results/segmenter/ground_truth.json"
CAPTIONS = "../../report"


wildcard_constraints:
    comparison=r"[^/]+",


def report_outputs():
    """Every figure and table of the report and its landing page (what `rule all` requests)."""
    out = [REPORT_TEXT, "results/report/summary/experiments.html", "results/report/summary/experiments.tsv"]
    for pid, panel in PANELS.items():
        d = PANEL_DIR.format(comparison=pid)
        out += [f"{d}/loss_curves.png", f"{d}/image_grid.png", f"{d}/metrics.html", f"{d}/metrics.png",
                f"{d}/paired.html", f"{d}/cost.html"]
    return out


# --- what each panel reads (input functions and the matching params) ---


def _panel(wildcards):
    if wildcards.comparison not in PANELS:
        raise WorkflowError(f"no report panel {wildcards.comparison!r} (panels: {', '.join(PANELS)})")
    return PANELS[wildcards.comparison]


def _curve_runs(panel):
    """(label, seed, losses.csv) per experiment and seed: several epochs of one run are one curve."""
    seeds = {a.experiment: a.seeds for a in panel.arms}
    return [(name, s, f"{RUN.format(experiment=name, seed=s)}/losses.csv") for name in panel.experiments
            for s in seeds[name]]


def _grid_rows(panel):
    """(row label, images dir) of each grid arm's first seed."""
    return [(f"{a.label} (seed {a.seeds[0]})", a.images_dir(a.seeds[0])) for a in panel.grid_arms]


def _arm_files(panel):
    return [(a.label, a.metrics_file(s), a.epoch) for a in panel.arms for s in a.seeds]


def _cost_runs(panel):
    return [(a.label, s, f"{a.run_dir(s)}/train_summary.json", a.epoch) for a in panel.arms for s in a.seeds]


def panel_losses(wildcards):
    return [path for _, _, path in _curve_runs(_panel(wildcards))]


def panel_grid_metrics(wildcards):
    """The run evaluation of each grid row (written after the row's images)."""
    return [a.metrics_file(a.seeds[0]) for a in _panel(wildcards).grid_arms]


def panel_metrics(wildcards):
    return [path for _, path, _ in _arm_files(_panel(wildcards))]


def panel_train_summaries(wildcards):
    return [path for _, _, path, _ in _cost_runs(_panel(wildcards))]


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


def _flag(path, caption, figure):
    """report() flag of one panel output: axis category, comparison subcategory, labels."""
    return report(
        path,
        caption=f"{CAPTIONS}/{caption}",
        category=lambda wc: _panel(wc).category,
        subcategory=lambda wc: _panel(wc).title,
        # strings only: the report's JavaScript sorts label values with localeCompare
        labels=lambda wc: {"figure": figure, "comparison": _panel(wc).title},
    )


rule report_panel:
    # every figure and table of one panel in one job: they are cheap, and a 200-row
    # table then plans ~600 fewer jobs
    input:
        losses=panel_losses,
        train_summaries=panel_train_summaries,
        grid_metrics=panel_grid_metrics,
        metrics=panel_metrics,
        ground_truth=GROUND_TRUTH,
        data=DATA_MANIFEST,
    output:
        curves=_flag(PANEL_DIR + "/loss_curves.png", "loss_curves.rst", "loss curves"),
        grid=_flag(PANEL_DIR + "/image_grid.png", "image_grid.rst", "image grid"),
        table=_flag(PANEL_DIR + "/metrics.html", "metrics_table.rst", "metrics table"),
        points=_flag(PANEL_DIR + "/metrics.png", "metrics_points.rst", "metrics plot"),
        paired=_flag(PANEL_DIR + "/paired.html", "paired.rst", "paired tests"),
        cost=_flag(PANEL_DIR + "/cost.html", "cost.rst", "training cost"),
    params:
        title=lambda wc: _panel(wc).title,
        axis=lambda wc: _panel(wc).axis,
        seeds=lambda wc: seeds_phrase(_panel(wc).arms),
        runs=lambda wc: _curve_runs(_panel(wc)),
        smoothing=REPORT_CFG["smoothing"],
        saved_epochs=lambda wc: [a.epoch for a in _panel(wc).arms] if _panel(wc).epoch_marks else [],
        rows=lambda wc: _grid_rows(_panel(wc)),
        data=DATA_DIR,
        split=EVAL["split"],
        grid_images=EVAL["grid_images"],
        direction=lambda wc: EXPERIMENTS[_panel(wc).arms[0].experiment].config.direction,
        arm_files=lambda wc: _arm_files(_panel(wc)),
        reference=lambda wc: _panel(wc).arms[0].label,
        n_arms=lambda wc: len(_panel(wc).arms),
        cost_runs=lambda wc: _cost_runs(_panel(wc)),
    localrule: True
    script:
        "../../scripts/report_panel.py"


rule report_summary:
    input:
        metrics=[path for _, path, _ in summary_metric_files()],
        ground_truth=GROUND_TRUTH,
    output:
        table=report(
            "results/report/summary/experiments.html",
            caption=f"{CAPTIONS}/summary.rst",
            category=SUMMARY_CATEGORY,
            subcategory="all experiments",
            labels={"figure": "all experiments (table)"},
        ),
        tsv=report(
            "results/report/summary/experiments.tsv",
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
