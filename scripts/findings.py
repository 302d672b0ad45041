"""Snakemake adapter: every run's evaluation -> findings (TSV, Markdown, HTML, JSON) and pasteable tables."""

import logging

from pix2pix_ablation.findings.build import build_findings
from pix2pix_ablation.findings.write import write_findings
from pix2pix_ablation.reporting.findings_page import write_findings_page

sm = snakemake  # noqa: F821 (injected by Snakemake)
logging.basicConfig(filename=sm.log[0], level=logging.INFO)
findings = build_findings(sm.params.comparisons, dict(sm.params.settings))
write_findings(findings, sm.output)
write_findings_page(findings, sm.output.html)
logging.info("wrote %s", ", ".join(map(str, sm.output)))
