# Table logic: config and experiments validated before any job exists, and the few
# input functions, each named after what it returns.
import sys
from pathlib import Path

import jsonschema
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from pix2pix_ablation.comparisons import find_comparisons  # noqa: E402
from pix2pix_ablation.config import ConfigError, from_mapping  # noqa: E402
from pix2pix_ablation.experiments import TableError, load_experiments  # noqa: E402

SCHEMAS = Path(workflow.basedir) / "workflow" / "schemas"

# one line naming the key, rather than the schema dump of a failed validate()
_config_error = jsonschema.exceptions.best_match(
    jsonschema.Draft202012Validator(yaml.safe_load((SCHEMAS / "config.schema.yaml").read_text())).iter_errors(config)
)
if _config_error is not None:
    where = ".".join(map(str, _config_error.absolute_path)) or "(top level)"
    raise WorkflowError(f"config {where}: {_config_error.message}")
validate(config, SCHEMAS / "config.schema.yaml")
try:
    from_mapping(config["defaults"])
except ConfigError as exc:
    raise WorkflowError(f"config 'defaults': {exc}") from None
try:
    EXPERIMENTS = {
        e.name: e
        for e in load_experiments(
            config["experiments"], config["defaults"], config.get("seeds", 1), SCHEMAS / "experiments.schema.yaml"
        )
    }
except TableError as exc:
    raise WorkflowError(str(exc)) from None
COMPARISONS = find_comparisons(list(EXPERIMENTS.values()))

PYTHON = sys.executable
DATA_DIR = "results/data/facades"
DATA_MANIFEST = "results/data/manifest.json"
ROW_CONFIG = "results/runs/{experiment}/config.yaml"  # the row over the defaults (seed 0)
RUN = "results/runs/{experiment}/seed{seed}"  # one seed; the trainer writes its config.yaml
RUN_METRICS = RUN + "/eval/metrics.json"  # the run's evaluation: every saved epoch


# the name pattern of the table's schema, not an alternation of the names: matching
# every path against a 200-name alternation made planning a large table slow
wildcard_constraints:
    experiment=r"[A-Za-z0-9_-][A-Za-z0-9_.-]*",
    seed=r"\d+",


def runs():
    """(experiment, seed) for every row and seed."""
    return [(name, seed) for name, e in EXPERIMENTS.items() for seed in e.seeds]


def experiment(name):
    """The table row ``name``; a path naming no row is one clear error."""
    if name not in EXPERIMENTS:
        raise WorkflowError(f"{config['experiments']}: no experiment named {name!r} (rows: {', '.join(EXPERIMENTS)})")
    return EXPERIMENTS[name]


def row_config(wildcards):
    """The resolved config (a dict) of one row: the row over the defaults."""
    return experiment(wildcards.experiment).config.to_dict()


def evaluations():
    """Every run's metrics file (all its saved epochs): experiment x seed."""
    return [RUN_METRICS.format(experiment=name, seed=seed) for name, seed in runs()]


def real_features_file(wildcards):
    """Inception features of the real photos at this run's evaluation size."""
    size = experiment(wildcards.experiment).config.crop_size
    return f"results/features/real_{config.get('evaluation', {}).get('split', 'test')}_{size}px.npy"


def resources_for(rule_name):
    spec = dict(config.get("resources", {}).get("default", {}))
    spec.update(config.get("resources", {}).get(rule_name, {}))
    return spec


def get_final_output():
    return ["results/metrics.tsv", "results/summary.tsv", *report_outputs()]
