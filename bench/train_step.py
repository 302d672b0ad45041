"""Plain fp32 PyTorch training step vs the project's fast path, interleaved.

Why subprocesses: the glibc allocator settings are per process (they must not leak
into the plain baseline), so every variant lives in its own long-lived worker process
that builds its networks once and warms up. The parent then drives the workers in
lock-step: round r asks variant A for ``--iters`` timed iterations, then variant B,
..., alternating the order every round, so slow phases of a shared machine hit every
variant alike. Only one worker computes at a time; the others wait on a pipe (idle).
Reported: the median over every timed iteration per variant, and the median over
rounds of the paired per-round ratio (plain median / variant median).

Variants (``--variants``, comma separated; the first is the baseline):

* ``plain``: the textbook step of the same networks. Contiguous (NCHW) tensors, fp32,
  ``torch.optim.Adam`` with its defaults (per-parameter loop on CPU), one ``.item()``
  per loss term per iteration, default glibc allocator.
* ``plain+cl``, ``plain+cl+malloc``, ``plain+cl+malloc+fused``, ...: the plain step with
  fast-path ingredients added (``cl`` channels_last; ``malloc`` the allocator settings
  of ``environment.configure_allocator``; ``fused``/``foreach`` Adam), to see what
  each buys.
* ``fast``: the project's own ``trainer.build_models`` + ``trainer.train_step`` under the
  default ``ExperimentConfig`` (plus ``--set`` overrides), ``configure_torch`` applied
  (which sets the allocator), losses accumulated on the device.
* ``fast-bf16``: ``fast`` with ``precision=bf16``.

Example::

    .venv/bin/python bench/train_step.py --batch 1 4 --rounds 5 --iters 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

MALLOC_VARS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")
PLAIN_PARTS = ("cl", "malloc", "fused", "foreach")  # plain+<part>+<part>...
FAST = ("fast", "fast-bf16")


def _known(variant: str) -> bool:
    base, *parts = variant.split("+")
    return variant in FAST or (base == "plain" and all(p in PLAIN_PARTS for p in parts))


# ----------------------------------------------------------------------------- worker
def _plain_worker(variant: str, size: int, batch: int) -> Any:
    import torch
    import torch.nn.functional as F

    from pix2pix_ablation.config import ExperimentConfig
    from pix2pix_ablation.environment import configure_allocator
    from pix2pix_ablation.networks import build_discriminator, build_generator

    parts = set(variant.split("+")[1:])
    if "malloc" in parts:
        configure_allocator()
    cfg = ExperimentConfig(crop_size=size, batch_size=batch)
    torch.manual_seed(0)
    g, d = build_generator(cfg), build_discriminator(cfg)
    assert d is not None
    fmt = torch.channels_last if "cl" in parts else torch.contiguous_format
    g.to(memory_format=fmt)
    d.to(memory_format=fmt)
    adam = {"fused": True} if "fused" in parts else {"foreach": True} if "foreach" in parts else {}
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999), **adam)
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999), **adam)
    gen = torch.Generator().manual_seed(1)
    x = (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).contiguous(memory_format=fmt)
    y = (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).contiguous(memory_format=fmt)
    bce = F.binary_cross_entropy_with_logits
    history: list[list[float]] = []

    def step() -> None:
        fake = g(x)
        real_logits = d(torch.cat((x, y), 1))
        fake_logits = d(torch.cat((x, fake.detach()), 1))
        d_real = bce(real_logits, torch.ones_like(real_logits))
        d_fake = bce(fake_logits, torch.zeros_like(fake_logits))
        opt_d.zero_grad()
        (0.5 * (d_real + d_fake)).backward()
        opt_d.step()
        d.requires_grad_(False)
        logits = d(torch.cat((x, fake), 1))
        g_gan = bce(logits, torch.ones_like(logits))
        d.requires_grad_(True)
        g_l1 = F.l1_loss(fake, y)
        opt_g.zero_grad()
        (g_gan + 100.0 * g_l1).backward()
        opt_g.step()
        history.append([g_gan.item(), g_l1.item(), d_real.item(), d_fake.item()])

    return step, lambda: None


def _fast_worker(variant: str, size: int, batch: int, overrides: list[str]) -> Any:
    import torch

    from pix2pix_ablation.config import ExperimentConfig, with_overrides
    from pix2pix_ablation.environment import configure_torch, pick_device
    from pix2pix_ablation.losslog import LossAccumulator
    from pix2pix_ablation.trainer import build_models, train_step

    cfg = with_overrides(ExperimentConfig(), overrides)
    if variant == "fast-bf16":
        cfg = cfg.replace(precision="bf16")
    cfg = cfg.replace(crop_size=size, load_size=max(size, cfg.load_size), batch_size=batch)
    device = pick_device()
    configure_torch(cfg, device)
    models = build_models(cfg, device)
    fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
    gen = torch.Generator().manual_seed(1)
    x = (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(device).contiguous(memory_format=fmt)
    y = (torch.rand(batch, 3, size, size, generator=gen) * 2 - 1).to(device).contiguous(memory_format=fmt)
    acc = LossAccumulator(device)
    forward = (models.generator, models.discriminator)
    if cfg.compile:
        forward = (torch.compile(models.generator), torch.compile(models.discriminator))
    counter = [0]

    def step() -> None:
        train_step(cfg, models, x, y, cfg.lambda_l1, counter[0] % cfg.d_every == 0, acc, forward)
        counter[0] += 1

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return step, sync


def worker(args: argparse.Namespace) -> None:
    """Build, then answer ``run K`` with the K per-iteration times (one JSON line each)."""
    batch = args.batch[0]
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.worker.startswith("plain"):
        step, sync = _plain_worker(args.worker, args.size, batch)
    else:
        step, sync = _fast_worker(args.worker, args.size, batch, args.set or [])
    out = sys.stdout
    print(json.dumps({"ready": args.worker, "pid": os.getpid()}), file=out, flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        times, cpu = [], []
        for _ in range(int(cmd[1])):
            sync()
            t0, c0 = time.perf_counter(), time.process_time()
            step()
            sync()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        print(json.dumps({"times": times, "cpu": cpu}), file=out, flush=True)


# ----------------------------------------------------------------------------- parent
class Worker:
    def __init__(self, variant: str, args: argparse.Namespace, batch: int) -> None:
        env = {k: v for k, v in os.environ.items() if k not in MALLOC_VARS}
        cmd = [sys.executable, __file__, "--worker", variant, "--size", str(args.size), "--batch", str(batch),
               "--threads", str(args.threads)]
        for item in args.set or []:
            cmd += ["--set", item]
        self.variant = variant
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self._read()  # "ready"

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.variant} died (exit {self.proc.wait()})")
        return json.loads(line)

    def run(self, n: int) -> tuple[list[float], list[float]]:
        """Wall-clock and CPU (all threads, user + system) seconds of ``n`` iterations."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"run {n}\n")
        self.proc.stdin.flush()
        reply = self._read()
        return reply["times"], reply["cpu"]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait()


def compare(args: argparse.Namespace, batch: int, gflop: float) -> dict[str, Any]:
    variants = args.variants
    # start one at a time so builds do not compete; every worker then idles on its pipe
    workers = [Worker(v, args, batch) for v in variants]
    try:
        for w in workers:
            w.run(args.warmup)
        times: dict[str, list[float]] = {v: [] for v in variants}
        cpu: dict[str, list[float]] = {v: [] for v in variants}
        round_medians: dict[str, list[float]] = {v: [] for v in variants}
        for r in range(args.rounds):
            order = workers if r % 2 == 0 else workers[::-1]
            for w in order:
                t, c = w.run(args.iters)
                times[w.variant] += t
                cpu[w.variant] += c
                round_medians[w.variant].append(statistics.median(t))
            line = "  ".join(f"{v} {round_medians[v][-1]:.3f}s" for v in variants)
            print(f"# batch {batch} round {r + 1}/{args.rounds}: {line}", file=sys.stderr, flush=True)
    finally:
        for w in workers:
            w.close()
    base = variants[0]
    result: dict[str, Any] = {"batch": batch, "size": args.size, "gflop_per_iter": round(gflop, 2),
                              "rounds": args.rounds, "iters_per_round": args.iters, "variants": {}}
    for v in variants:
        sec = statistics.median(times[v])
        paired = [b / s for b, s in zip(round_medians[base], round_medians[v], strict=True)]
        result["variants"][v] = {
            "sec_per_iter": round(sec, 4),
            "sec_per_iter_min": round(min(times[v]), 4),
            "cpu_sec_per_iter": round(statistics.median(cpu[v]), 4),
            "images_per_s": round(batch / sec, 3),
            "gflops_per_s": round(gflop / sec, 1),
            f"speedup_vs_{base}": round(statistics.median(paired), 3),
            "speedup_per_round": [round(p, 3) for p in paired],
        }
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, nargs="+", default=[1, 4])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--iters", type=int, default=3, help="timed iterations per variant per round")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="torch threads per worker (0: torch's default)")
    p.add_argument("--variants", type=lambda s: s.split(","), default=["plain", "fast"])
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="config override for the fast variants")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    unknown = [v for v in args.variants if not _known(v)]
    if unknown:
        p.error(f"unknown variant(s) {unknown}; known: {', '.join(FAST)}, plain[+{'][+'.join(PLAIN_PARTS)}]")

    from pix2pix_ablation.bench import iteration_gflop
    from pix2pix_ablation.config import ExperimentConfig, with_overrides

    cfg = with_overrides(ExperimentConfig(), args.set or [])
    gflop_1 = iteration_gflop(cfg, args.size, 1)  # conv/matmul FLOPs are linear in the batch
    results = []
    for batch in args.batch:
        res = compare(args, batch, gflop_1 * batch)
        results.append(res)
        print(json.dumps(res), flush=True)
    base = args.variants[0]
    print(f"\n{'batch':>5} {'variant':<24} {'s/iter':>8} {'min':>7} {'cpu s':>7} {'img/s':>7} {'GFLOP/s':>8} "
          f"{'x ' + base:>9}")
    for res in results:
        for v, r in res["variants"].items():
            print(f"{res['batch']:>5} {v:<24} {r['sec_per_iter']:>8.3f} {r['sec_per_iter_min']:>7.3f} "
                  f"{r['cpu_sec_per_iter']:>7.3f} {r['images_per_s']:>7.3f} {r['gflops_per_s']:>8.1f} "
                  f"{r[f'speedup_vs_{base}']:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
