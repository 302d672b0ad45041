# Table logic: config and experiments validated before any job exists, and the few
# input functions, each named after what it returns.
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

# the workflow's own files are found from this file, never from the working directory
# (`snakemake --directory DIR` keeps everything it writes under DIR/results/) nor from
# the main Snakefile (used as a module, that is the deploying workflow's)
WORKFLOW_DIR = Path(workflow.current_basedir).parents[1]
sys.path.insert(0, str(WORKFLOW_DIR / "src"))

from pix2pix_ablation.config.comparisons import find_comparisons  # noqa: E402
from pix2pix_ablation.config.safe_yaml import YamlError, load_yaml_file  # noqa: E402
from pix2pix_ablation.download import file_name_of  # noqa: E402
from pix2pix_ablation.layout import (  # noqa: E402 (the results layout: one place for every path)
    CHECKPOINTS,
    DATA_DIR,
    DATA_MANIFEST,
    ARM_STATS_TSV,
    EVAL_DIR,
    FEATURE_CACHE,
    FINDINGS_HTML,
    FINDINGS_JSON,
    FINDINGS_MD,
    FINDINGS_TSV,
    GROUND_TRUTH,
    INCEPTION_DIR,
    LOGS,
    LPIPS_BACKBONE,
    LPIPS_LINEAR,
    LPIPS_RECORD,
    METRICS_TSV,
    PANEL_DIR,
    REAL_FEATURES,
    REPORT_HTML,
    REPORT_TEXT,
    RESULTS,
    ROW_CONFIG,
    RUN,
    RUN_LOSSES,
    RUN_METRICS,
    RUN_PER_IMAGE,
    RUN_SUMMARY,
    SEGMENTER,
    SUMMARY_DIR,
    SUMMARY_TSV,
    TRAIN_LOG,
    table_files,
)
from pix2pix_ablation.metrics import registry  # noqa: E402
from pix2pix_ablation.metrics.lpips_weights import lpips_files  # noqa: E402
from pix2pix_ablation.reporting.panel_files import PANEL_FILES  # noqa: E402
from pix2pix_ablation.reporting.panels import (  # noqa: E402
    SUMMARY_CATEGORY,
    build_panels,
    comparison_specs,
    panel_data,
    seeds_phrase,
)
from pix2pix_ablation.study import StudyError, load_study  # noqa: E402
from pix2pix_ablation.training.retries import skip_retries_after_final_failures  # noqa: E402

SCHEMAS = WORKFLOW_DIR / "workflow" / "schemas"

# one pass (study.py, shared with `pix2pix-ablation plan`): the schema's defaults filled in,
# the first problem as one line naming the key (snakemake.utils.validate would print the
# whole schema), then what relates knobs to each other, then the table. Snakemake parsed
# the config files already, but with aliases and repeated keys allowed (an alias bomb
# expanded in its config hashing; `seeds` twice kept the last): they are read again
# strictly, and what Snakemake built (--config included) is checked.
try:
    for configfile in workflow.configfiles:
        load_yaml_file(configfile)
except YamlError as exc:
    raise WorkflowError(str(exc)) from None
try:
    STUDY = load_study(config, WORKFLOW_DIR, schema_dir=SCHEMAS)
except StudyError as exc:
    raise WorkflowError(str(exc)) from None
DATASETS = STUDY.datasets  # by name, the default (data:) first
EXPERIMENTS = STUDY.experiments
COMPARISONS = find_comparisons(list(EXPERIMENTS.values()))
# the datasets some row trains on: only these are fetched, segmented and reported
USED_DATASETS = list(dict.fromkeys(e.config.dataset for e in EXPERIMENTS.values()))


def per_used_dataset(pattern):
    """{dataset: ``pattern`` (with {dataset}) for it} over the datasets some row uses."""
    return {name: pattern.format(dataset=name) for name in USED_DATASETS}


EVAL = config["evaluation"]
TRAINING = config["training"]
# a train job that failed for good (bad image, no CUDA, diverged: retries.py) is not retried
skip_retries_after_final_failures("train", lambda wildcards: RUN.format(**wildcards))
try:  # a source ending in /.. named results/inception/.., i.e. results/ itself, as an output
    INCEPTION_WEIGHTS = f"{INCEPTION_DIR}/{file_name_of(EVAL['inception_weights']['source'])}"
except ValueError as exc:
    raise WorkflowError(f"config evaluation.inception_weights.source: {exc}") from None
# Every GPU job waits for the FID weights when they are needed: fetched by a local job
# (the login node has the internet that compute nodes often lack), so missing weights
# fail once, before any GPU hour is queued. ancient(): the file's age never re-runs a job.
GPU_GATE = [ancient(INCEPTION_WEIGHTS)] if EVAL["inception"] == "pretrained" else []
# the LPIPS weights, checked once by lpips_weights (a local job); none declared (offline):
# LPIPS is left out of every evaluation with this reason
LPIPS_FILES, LPIPS_LEFT_OUT = lpips_files(EVAL)
LPIPS_GATE = [ancient(LPIPS_RECORD), LPIPS_BACKBONE, LPIPS_LINEAR] if LPIPS_FILES else []


# the name pattern of the table's schema, not an alternation of the names: matching
# every path against a 200-name alternation made planning a large table slow
wildcard_constraints:
    experiment=r"[A-Za-z0-9_-][A-Za-z0-9_.-]*",
    seed=r"\d+",
    share=r"\d+",
    direction=r"AtoB|BtoA",
    dataset=r"[A-Za-z0-9][A-Za-z0-9_-]*",


def runs():
    """(experiment, seed) for every row and seed."""
    return [(name, seed) for name, e in EXPERIMENTS.items() for seed in e.seeds]


def experiment(name):
    """The table row ``name``; a path naming no row is one clear error."""
    if name not in EXPERIMENTS:
        raise WorkflowError(f"{config['experiments']}: no experiment named {name!r} (rows: {', '.join(EXPERIMENTS)})")
    return EXPERIMENTS[name]


def dataset(name):
    """The configured dataset ``name``; a path naming no dataset is one clear error."""
    if name not in DATASETS:
        raise WorkflowError(f"no configured dataset {name!r} (datasets: {', '.join(DATASETS)})")
    return DATASETS[name]


def datasets_pattern(with_palette):
    """The names of the configured datasets with (or without) a label palette, as a wildcard pattern."""
    names = [n for n, d in DATASETS.items() if bool(d.palette) == with_palette]
    return "|".join(names) if names else "(?!)"  # (?!) matches nothing


def of_row(pattern):
    """An input/param function: ``pattern`` (with {dataset}) for the dataset of the run's row."""
    return lambda wildcards: pattern.format(dataset=experiment(wildcards.experiment).config.dataset)


def row_segmenter(wildcards):
    """The row's dataset's segmenter, or nothing where the dataset has no palette (no FCN score)."""
    name = experiment(wildcards.experiment).config.dataset
    return [SEGMENTER.format(dataset=name)] if dataset(name).palette else []


def dataset_dir(wildcards):
    """The folder of the dataset in the job's wildcards (a function: the folder's path is also
    the start of its manifest's, which a plain string param would make look like a prefix)."""
    return DATA_DIR.format(dataset=wildcards.dataset)


def row_config(wildcards):
    """The resolved config (a dict) of one row: the row over the defaults."""
    return experiment(wildcards.experiment).config.to_dict()


def evaluations():
    """Every run's metrics file (all its saved epochs): experiment x seed."""
    return [RUN_METRICS.format(experiment=name, seed=seed) for name, seed in runs()]


def real_features_file(wildcards):
    """Inception features of the real targets (the side this run translates to) at its evaluation size."""
    return _real_features_of(experiment(wildcards.experiment).config)


def _real_features_of(cfg):
    return REAL_FEATURES.format(dataset=cfg.dataset, split=EVAL["split"], direction=cfg.direction, size=cfg.crop_size)


def _resource_spec(rule_name):
    spec = {"gpu": 0, **config.get("resources", {}).get("default", {})}
    spec.update(config.get("resources", {}).get(rule_name, {}))
    return spec


def threads_for(rule_name):
    """The rule's CPUs (config resources.<rule>.cpus_per_task): Snakemake's threads."""
    return int(_resource_spec(rule_name).get("cpus_per_task", 1))


def resources_for(rule_name, runtime_per_attempt=False, gpu_as_gres=False):
    """The rule's resources; Slurm's --cpus-per-task follows the threads, so --set-threads moves both.

    (--set-resources <rule>:cpus_per_task=N moves the allocation; jobs then use what Slurm
    gave them: pix2pix_ablation.environment.job_threads.) ``runtime_per_attempt``: the
    configured runtime is that of the first attempt, each retry gets it once more.
    ``gpu_as_gres``: ask for the GPUs as ``gres: gpu:N`` (a group job takes it once).
    """
    spec = _resource_spec(rule_name)
    if gpu_as_gres and int(spec.get("gpu", 0)) > 0:
        spec["gres"] = f"gpu:{spec.pop('gpu')}"
        spec["needs_cuda"] = 1  # the job still demands CUDA (environment.job_device)
    spec["cpus_per_task"] = lambda wildcards, threads: threads
    if runtime_per_attempt and "runtime" in spec:
        spec["runtime"] = lambda wildcards, attempt, minutes=spec["runtime"]: minutes * attempt
    return spec


def get_final_output():
    return [METRICS_TSV, SUMMARY_TSV, *report_outputs()]


# --- the report: panels (pix2pix_ablation.reporting.panels decides which files feed which panel) ---


REPORT_CFG = config["report"]
# the captions' words for the metrics, from the metric registry
METRIC_PHRASES = {"metrics": registry.families_phrase(), "directions": registry.direction_phrase()}
PANELS = {p.id: p for p in build_panels(EXPERIMENTS, COMPARISONS, REPORT_CFG["epochs_experiment"])}
SUMMARY_FILES = {"table": f"{SUMMARY_DIR}/experiments.html", "tsv": f"{SUMMARY_DIR}/experiments.tsv"}
CAPTIONS = "../../report"


FINDINGS_CATEGORY = "findings"
FINDINGS_SETTINGS = {key: REPORT_CFG[key] for key in ("min_effect", "alpha", "power", "bootstrap")} | {
    "kid_subset_size": EVAL["kid_subset_size"]
}
if unknown := sorted(set(REPORT_CFG["min_effect"]) - set(registry.KEYS)):
    raise WorkflowError(
        f"config report.min_effect: {', '.join(unknown)} is not a metric (metrics: {', '.join(registry.KEYS)})"
    )


def findings_comparisons():
    """Every comparison the findings test (pix2pix_ablation.reporting.panels.comparison_specs)."""
    return comparison_specs(PANELS.values(), EXPERIMENTS, _real_features_of)


def findings_real_features():
    return sorted({spec["real_features"] for spec in findings_comparisons()})


def findings_table_files():
    """The pasteable tables: one per comparison, one of all experiments."""
    return [path for name in ["summary", *(s["id"] for s in findings_comparisons())] for path in table_files(name)]


def report_outputs():
    """Every figure and table of the report and its landing page (what `rule all` requests)."""
    panels = [f"{PANEL_DIR.format(comparison=pid)}/{f.name}" for pid in PANELS for f in PANEL_FILES]
    return [REPORT_TEXT, *SUMMARY_FILES.values(), *panels, FINDINGS_HTML, *findings_table_files()]


def panel(wildcards):
    """The panel of a report folder; a folder naming no panel is one clear error."""
    if wildcards.comparison not in PANELS:
        raise WorkflowError(f"no report panel {wildcards.comparison!r} (panels: {', '.join(PANELS)})")
    return PANELS[wildcards.comparison]


def panel_files(wildcards):
    """Which files feed the panel's figures (pix2pix_ablation.reporting.panel_files.PanelData)."""
    p = panel(wildcards)
    direction = EXPERIMENTS[p.arms[0].experiment].config.direction
    # a palette dataset's label maps are its right (B) half
    label = "input (label map)" if dataset(p.dataset).palette and direction == "BtoA" else "input"
    return panel_data(
        p,
        smoothing=REPORT_CFG["smoothing"],
        data=DATA_DIR.format(dataset=p.dataset),
        split=EVAL["split"],
        grid_images=EVAL["grid_images"],
        direction=direction,
        input_label=label,
    )


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


# --- several trainings per GPU (train.smk) ---

PER_GPU = TRAINING["per_gpu"]
# (experiment, seed) -> its share (group): its position among all trainings, K at a time
SHARES = {run: i // PER_GPU for i, run in enumerate(runs())}


def gpu_share(wildcards):
    """The share (group) of this training."""
    return SHARES[(wildcards.experiment, int(wildcards.seed))]
