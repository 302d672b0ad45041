# The dataset: fetched (URL / local archive / directory) or synthesised, then checked.


rule download_facades:
    output:
        manifest=DATA_MANIFEST,
    params:
        data=config["data"],
        dest=DATA_DIR,
    log:
        f"{LOGS}/download_facades.log",
    resources:
        **resources_for("default"),
    localrule: True
    script:
        "../../scripts/download_facades.py"
