# The datasets: each fetched (registry name / URL / local archive / directory), built
# (Cityscapes from its official archives) or synthesised, then checked.


rule download_dataset:
    output:
        manifest=DATA_MANIFEST,
    log:
        f"{LOGS}/download_{{dataset}}.log",
    localrule: True
    resources:
        **resources_for("default"),
    params:
        spec=lambda wc: dataset(wc.dataset).fetch_spec(),
        dest=dataset_dir,
    script:
        "../../scripts/download_dataset.py"
