"""The training-step suite for a GPU node (runs on a CPU too): what setting is fastest here.

Every measurement is ``pix2pix-ablation bench`` in a process of its own (precision,
memory format, torch.compile mode, batch), so compile caches and peak memory belong to
one variant. Then K = 1, 2, 4, 8 trainings at once (the plain fp32 step at batch 1, K
processes started together), as ``training.per_gpu: K`` runs them: what one GPU
delivers in total, and what each training gets.

Writes ``<out>/suite.json`` (every number, the machine, what was skipped and why) and
``<out>/suite.md`` (the table for the README), and prints the table. On a machine
without CUDA it runs the CPU variants and says which it skipped. ``--quick`` is the
shortest form (CI): 32 px, one timed iteration, batch 1, K = 1 and 2.

    bash bench/gpu.sh                  # on a GPU node, ~5 minutes
    bash bench/gpu.sh --quick --out /tmp/suite
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # measure this checkout, whatever the venv's install points at

# (name, config overrides, needs CUDA)
VARIANTS = (
    ("fp32", {}, False),
    ("bf16", {"precision": "bf16"}, False),
    ("fp32 + channels_last", {"channels_last": "true"}, False),
    ("bf16 + channels_last", {"precision": "bf16", "channels_last": "true"}, False),
    ("compile", {"compile": "true"}, True),
    ("compile, CUDA graphs", {"compile": "true", "compile_mode": "reduce-overhead"}, True),
)


def _bench(size: int, batch: int, iters: int, warmup: int, overrides: dict[str, str],
           threads: int | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "pix2pix_ablation", "bench", "--size", str(size), "--batch", str(batch),
           "--iters", str(iters), "--warmup", str(warmup)]
    for key, value in overrides.items():
        cmd += ["--set", f"{key}={value}"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH"))
                                                        if p)}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
        cmd += ["--set", f"num_threads={threads}"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _result(proc: subprocess.Popen) -> dict[str, Any]:
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bench failed (exit {proc.returncode}): {err.strip().splitlines()[-1:]}")
    return json.loads(out.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    import torch

    from pix2pix_ablation.environment import cpu_model, native_bf16

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    return {"cuda": cuda, "device": torch.cuda.get_device_name(0) if cuda else f"CPU: {cpu_model()}",
            "gpu_memory_gb": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1) if cuda else None,
            "cpus": os.cpu_count(), "native_bf16": native_bf16(device), "torch": torch.__version__}


def run_suite(size: int, iters: int, warmup: int, batches: list[int], concurrency: list[int]) -> dict[str, Any]:
    host = machine()
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for name, overrides, needs_cuda in VARIANTS:
        if needs_cuda and not host["cuda"]:
            skipped.append({"variant": name, "why": "no CUDA here (torch.compile is measured for the GPU grid)"})
            continue
        if overrides.get("precision") == "bf16" and not host["native_bf16"]:
            skipped.append({"variant": name, "why": "no native bf16 here: emulated bf16 is 13-47x slower"})
            continue
        for batch in batches:
            r = _result(_bench(size, batch, iters, warmup, overrides))
            rows.append({"variant": name, "batch": batch, "k": 1, **_figures([r])})
    cpus = host["cpus"] or 1
    for k in concurrency:
        if k == 1:
            continue  # the fp32 row at batch 1 is K = 1
        if not host["cuda"] and k > cpus:
            skipped.append({"variant": f"K={k}", "why": f"more trainings than the {cpus} CPUs here"})
            continue
        threads = None if host["cuda"] else max(1, cpus // k)
        procs = [_bench(size, 1, iters, warmup, {}, threads) for _ in range(k)]
        rows.append({"variant": "fp32", "batch": 1, "k": k, **_figures([_result(p) for p in procs])})
    base = next(r for r in rows if r["variant"] == "fp32" and r["batch"] == 1 and r["k"] == 1)
    for r in rows:
        r["vs_fp32_batch1"] = round(r["images_per_s_total"] / base["images_per_s_total"], 2)
    fastest = max(rows, key=lambda r: r["images_per_s_total"])
    return {"machine": host, "size": size, "iters": iters, "rows": rows, "skipped": skipped,
            "fastest": f"{fastest['variant']} at batch {fastest['batch']}, K = {fastest['k']}"}


def _figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One setting's numbers: per training (the median over the K) and in total."""
    sec = sorted(r["sec_per_iter"] for r in results)[len(results) // 2]
    return {"it_per_s_each": round(1 / sec, 2), "images_per_s_total": round(sum(r["images_per_s"] for r in results), 2),
            "peak_memory_mb_each": round(max(r["peak_memory_mb"] for r in results)), "device": results[0]["device"]}


def markdown(suite: dict[str, Any]) -> str:
    host = suite["machine"]
    lines = [f"{host['device']}, torch {host['torch']}, native bf16: {'yes' if host['native_bf16'] else 'no'}, "
             f"{suite['size']} px, `bash bench/gpu.sh`",
             "",
             "| setting | batch | trainings at once (K) | it/s each | images/s total | peak memory each (MB) "
             "| per image vs fp32 @ 1 |",
             "|---|---|---|---|---|---|---|"]
    for r in suite["rows"]:
        lines.append(f"| {r['variant']} | {r['batch']} | {r['k']} | {r['it_per_s_each']} | {r['images_per_s_total']} "
                     f"| {r['peak_memory_mb_each']} | x{r['vs_fp32_batch1']} |")
    lines += ["", f"Fastest here: {suite['fastest']}."]
    lines += [f"Skipped: {s['variant']} ({s['why']})." for s in suite["skipped"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="folder for suite.json and suite.md")
    parser.add_argument("--quick", action="store_true", help="the shortest form (CI): 32 px, 1 iteration, K = 1, 2")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(argv)
    size, iters, warmup = (32, 1, 1) if args.quick else (args.size, args.iters, args.warmup)
    batches, concurrency = ([1], [1, 2]) if args.quick else ([1, 4], [1, 2, 4, 8])
    start = time.perf_counter()
    suite = run_suite(size, iters, warmup, batches, concurrency)
    suite["seconds"] = round(time.perf_counter() - start, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "suite.json").write_text(json.dumps(suite, indent=2) + "\n")
    table = markdown(suite)
    (out / "suite.md").write_text(table)
    print(table, end="")
    print(f"({suite['seconds']} s; {out / 'suite.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
