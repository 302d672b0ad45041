"""The GPU benchmark suite in its shortest form (CI): it runs here, on the CPU, and says what it skipped."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_suite_quick_form_measures_the_cpu_variants_and_names_what_it_skipped(tmp_path):
    done = subprocess.run(["bash", str(ROOT / "bench" / "gpu.sh"), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    suite = json.loads((tmp_path / "suite.json").read_text())
    table = (tmp_path / "suite.md").read_text()
    assert table in done.stdout  # printed as written
    rows = {(r["variant"], r["batch"], r["k"]): r for r in suite["rows"]}
    assert ("fp32", 1, 1) in rows and ("fp32", 1, 2) in rows
    for r in suite["rows"]:
        assert all(math.isfinite(r[k]) and r[k] > 0 for k in ("it_per_s_each", "images_per_s_total",
                                                               "peak_memory_mb_each"))
        assert f"| {r['variant']} | {r['batch']} | {r['k']} | {r['it_per_s_each']} |" in table
    # two trainings at once: the total is the sum of both, each gets its own rate
    two = rows[("fp32", 1, 2)]
    assert two["images_per_s_total"] > two["it_per_s_each"]
    assert rows[("fp32", 1, 1)]["vs_fp32_batch1"] == 1.0
    skipped = {s["variant"]: s["why"] for s in suite["skipped"]}
    if not suite["machine"]["cuda"]:
        assert "no CUDA" in skipped["compile"] and "no CUDA" in skipped["compile, CUDA graphs"]
    if not suite["machine"]["native_bf16"]:
        assert "bf16" in skipped and "emulated" in skipped["bf16"]
    else:
        assert ("bf16", 1, 1) in rows
    assert f"Fastest here: {suite['fastest']}." in table
