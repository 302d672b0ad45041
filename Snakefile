# pix2pix-ablation: facades -> one training per experiment row and seed -> metrics -> report.
import copy
import sys
from pathlib import Path

from snakemake.common.configfile import load_configfile
from snakemake.exceptions import WorkflowError
from snakemake.sourcecache import LocalSourceFile
from snakemake.utils import min_version, update_config

min_version("9.0")


# the package and the schemas are read from disk beside this file: a module from a
# git or hosted source (a snakedeploy github(...) line) needs a clone instead
if not isinstance(workflow.current_basedir, LocalSourceFile):
    raise WorkflowError(
        f"pix2pix-ablation runs as a module from a local clone only, not from "
        f"{workflow.current_basedir}: clone it and give the module the clone's Snakefile"
    )
# the embedded defaults, found beside this file whatever the working directory
# (--directory) and whichever workflow uses this one as a module; a --configfile
# overrides them key by key
BASE_CONFIG = Path(workflow.current_basedir) / "config" / "config.yaml"


configfile: str(BASE_CONFIG)


# A module given a `config:` skips `configfile:` (Snakemake): the deploying workflow's
# config goes over the defaults here instead, key by key as a --configfile would. In
# place: it is the deploying workflow's dict, the one its jobs' scripts read.
if str(BASE_CONFIG) not in workflow.configfiles:
    given = copy.deepcopy(config)
    config.clear()
    config.update(load_configfile(str(BASE_CONFIG)))
    update_config(config, given)


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/findings.smk"
include: "workflow/rules/report.smk"


# The report's landing page describes the run from the run's own files once they exist
# (rule report_description), whatever config the report command is given; before that,
# a page saying so.
report: str(Path(REPORT_TEXT).resolve()) if Path(REPORT_TEXT).exists() else "report/pending.rst"


onstart:
    # Snakemake's own SIGTERM handler can deadlock on the main thread (see the module)
    from pix2pix_ablation.interrupts import run_sigterm_handler_off_main_thread

    run_sigterm_handler_off_main_thread()


onerror:
    # Slurm jobs of this run that Snakemake's own Ctrl-C handling missed (see the module)
    from pix2pix_ablation.interrupts import cancel_left_over_slurm_jobs

    if left_over := cancel_left_over_slurm_jobs(log):
        print(f"cancelled the Slurm jobs this run left behind: {' '.join(left_over)}", file=sys.stderr)


onsuccess:
    # `snakemake all --report-after-run`: the landing page did not exist when this file
    # was read, but the run that just succeeded wrote it (the report: directive only
    # works while the Snakefile is parsed, hence the attribute)
    if Path(REPORT_TEXT).exists():
        workflow.report_text = LocalSourceFile(str(Path(REPORT_TEXT).resolve()))


rule all:
    default_target: True
    input:
        get_final_output(),
