"""Plain fp32 PyTorch training step vs the project's fast path, interleaved.

Why subprocesses: the glibc allocator settings are per process (they must not leak
into the plain baseline), so every variant lives in its own long-lived worker process
that builds its networks once and warms up. The parent then drives the workers in
lock-step: round r asks variant A for ``--iters`` timed iterations, then variant B,
..., alternating the order every round, so slow phases of a shared machine hit every
variant alike. Only one worker computes at a time; the others wait on a pipe (idle).

Reported per variant: median wall seconds per iteration (and the minimum), median CPU
seconds per iteration (user + system of all the worker's threads), images/s, GFLOP/s,
and the per-image speedup over the baseline (the first variant) two ways: the median
over rounds of the paired per-round ratio of wall times, and the ratio of median CPU
times. On a shared machine the CPU ratio with ``--threads 1`` is the robust one: it
counts work done, not time spent waiting for a core (with more threads, OpenMP
spin-waits for a descheduled sibling thread count as CPU time too).

Variants (``--variants``, comma separated; ``@B`` sets the batch, default ``--batch``):

* ``plain``: the textbook step of the same networks. Contiguous (NCHW) tensors, fp32,
  ``torch.optim.Adam`` with its defaults (per-parameter loop on CPU), one ``.item()``
  per loss term per iteration, default glibc allocator.
* ``plain+cl``, ``plain+malloc+fused``, ...: the plain step with fast-path ingredients
  added (``cl`` channels_last; ``malloc`` the allocator settings set in-process by
  ``environment.configure_allocator``, ``env`` the same settings exported before start-up
  as ``scripts/train.sh`` does; ``fused``/``foreach`` Adam), to see what each buys.
* ``fast``: the project's own ``trainer.build_models`` + ``trainer.train_step`` under the
  default ``ExperimentConfig`` (``--set`` overrides apply to every variant; plain takes
  only the networks and optimiser settings from them) with ``configure_torch`` applied
  (which sets the allocator), losses accumulated on the device.
* ``fast-bf16``: ``fast`` with ``precision=bf16``.
* ``fast:key=value[:key=value...]``: ``fast`` with config overrides for this variant only,
  e.g. ``fast:channels_last=true``.

Examples::

    .venv/bin/python bench/train_step.py                       # plain@1,fast@1,plain@4,fast@4
    .venv/bin/python bench/train_step.py --threads 1 --variants plain,plain+cl,plain+malloc+fused,fast
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # measure this checkout, whatever the venv's install points at

ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": 4294967296, "MALLOC_TRIM_THRESHOLD_": 4294967296,
                 "MALLOC_TOP_PAD_": 1073741824}  # = environment.ALLOCATOR_ENV = scripts/train.sh
MALLOC_VARS = tuple(ALLOCATOR_ENV)
PLAIN_PARTS = ("cl", "malloc", "env", "fused", "foreach")  # plain+<part>+<part>...
FAST = ("fast", "fast-bf16")


def _split(variant: str, default_batch: int) -> tuple[str, int]:
    """``spec@B`` -> (spec, B)."""
    spec, sep, batch = variant.partition("@")
    return spec, int(batch) if sep else default_batch


def _known(spec: str) -> bool:
    base, *parts = spec.split("+")
    return spec.split(":")[0] in FAST or (base == "plain" and all(p in PLAIN_PARTS for p in parts))


# ----------------------------------------------------------------------------- worker
def _plain_worker(variant: str, size: int, batch: int, overrides: list[str]) -> Any:
    import torch
    import torch.nn.functional as F

    from pix2pix_ablation.config.experiment import ExperimentConfig, with_overrides
    from pix2pix_ablation.environment import configure_allocator
    from pix2pix_ablation.model.networks import build_discriminator, build_generator

    parts = set(variant.split("+")[1:])
    if "malloc" in parts:
        configure_allocator()
    # the networks of the (overridden) config; its runtime fields (precision, channels_last) are ignored
    cfg = with_overrides(ExperimentConfig(), overrides)
    cfg = cfg.replace(crop_size=size, load_size=max(size, cfg.load_size), batch_size=batch)
    assert cfg.conditional_d and cfg.gan_mode == "vanilla", "the plain step is the paper's L1 + vanilla cGAN"
    torch.manual_seed(0)
    g, d = build_generator(cfg), build_discriminator(cfg)
    assert d is not None
    fmt = torch.channels_last if "cl" in parts else torch.contiguous_format
    g.to(memory_format=fmt)
    d.to(memory_format=fmt)
    adam = {"fused": True} if "fused" in parts else {"foreach": True} if "foreach" in parts else {}
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), **adam)
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), **adam)
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
        (g_gan + cfg.lambda_l1 * g_l1).backward()
        opt_g.step()
        history.append([g_gan.item(), g_l1.item(), d_real.item(), d_fake.item()])

    return step, lambda: None


def _fast_worker(variant: str, size: int, batch: int, overrides: list[str]) -> Any:
    import torch

    from pix2pix_ablation.config.experiment import ExperimentConfig, with_overrides
    from pix2pix_ablation.environment import configure_torch, pick_device
    from pix2pix_ablation.training.losslog import LossAccumulator
    from pix2pix_ablation.training.trainer import build_models, train_step

    name, *own = variant.split(":")  # fast:key=value:key=value overrides this variant only
    cfg = with_overrides(ExperimentConfig(), [*overrides, *own])
    if name == "fast-bf16":
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
    batch = args.batch
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.worker.startswith("plain"):
        step, sync = _plain_worker(args.worker, args.size, batch, args.set or [])
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
    def __init__(self, variant: str, args: argparse.Namespace) -> None:
        spec, self.batch = _split(variant, args.batch)
        env = {k: v for k, v in os.environ.items() if k not in MALLOC_VARS}
        if "env" in spec.split(":")[0].split("+"):  # the allocator settings as scripts/train.sh exports them
            env.update({k: str(v) for k, v in ALLOCATOR_ENV.items()})
        cmd = [sys.executable, __file__, "--worker", spec, "--size", str(args.size), "--batch", str(self.batch),
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
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        self.proc.wait()


def compare(args: argparse.Namespace, gflop_per_image: float) -> dict[str, Any]:
    variants = args.variants
    workers: list[Worker] = []
    times: dict[str, list[float]] = {v: [] for v in variants}
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    rounds: dict[str, list[float]] = {v: [] for v in variants}  # per-round median wall seconds per image
    try:
        # built one at a time so builds do not compete; each worker then idles on its pipe
        for v in variants:
            workers.append(Worker(v, args))
        for w in workers:
            w.run(args.warmup)
        for r in range(args.rounds):
            for w in workers if r % 2 == 0 else workers[::-1]:
                t, c = w.run(args.iters)
                times[w.variant] += t
                cpu[w.variant] += c
                rounds[w.variant].append(statistics.median(t) / w.batch)
            line = "  ".join(f"{v} {rounds[v][-1]:.3f}" for v in variants)
            print(f"# round {r + 1}/{args.rounds}, wall s/image: {line}", file=sys.stderr, flush=True)
    finally:
        for w in workers:
            w.close()
    base = variants[0]
    base_batch = _split(base, args.batch)[1]
    base_cpu = statistics.median(cpu[base]) / base_batch
    result: dict[str, Any] = {"size": args.size, "threads": args.threads or "default", "rounds": args.rounds,
                              "iters_per_round": args.iters, "baseline": base,
                              "gflop_per_image": round(gflop_per_image, 2), "variants": {}}
    for w in workers:
        v, batch = w.variant, w.batch
        sec = statistics.median(times[v])
        paired = [b / s for b, s in zip(rounds[base], rounds[v], strict=True)]
        result["variants"][v] = {
            "batch": batch,
            "sec_per_iter": round(sec, 4),
            "sec_per_iter_min": round(min(times[v]), 4),
            "cpu_sec_per_iter": round(statistics.median(cpu[v]), 4),
            "images_per_s": round(batch / sec, 3),
            "gflops_per_s": round(gflop_per_image * batch / sec, 1),
            "speedup_wall": round(statistics.median(paired), 3),
            "speedup_wall_per_round": [round(p, 3) for p in paired],
            "speedup_cpu": round(base_cpu / (statistics.median(cpu[v]) / batch), 3),
        }
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", type=lambda s: s.split(","), default=["plain@1", "fast@1", "plain@4", "fast@4"],
                   help="comma separated; the first is the baseline")
    p.add_argument("--batch", type=int, default=1, help="batch of variants without @B")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--iters", type=int, default=2, help="timed iterations per variant per round")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="torch threads per worker (0: torch's default)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="config override for every variant (plain builds its networks from it too)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args)
        return 0
    unknown = [v for v in args.variants if not _known(_split(v, 1)[0])]
    if unknown:
        p.error(f"unknown variant(s) {unknown}; known: {', '.join(FAST)}[:key=value...], "
                f"plain[+{'][+'.join(PLAIN_PARTS)}], each optionally @BATCH")

    from pix2pix_ablation.config.experiment import ExperimentConfig, with_overrides
    from pix2pix_ablation.training.throughput import iteration_gflop

    cfg = with_overrides(ExperimentConfig(), args.set or [])
    res = compare(args, iteration_gflop(cfg, args.size, 1))  # conv FLOPs are linear in the batch
    print(json.dumps(res), flush=True)
    print(f"\n{'variant':<28} {'batch':>5} {'s/iter':>7} {'min':>7} {'cpu s':>7} {'img/s':>7} {'GFLOP/s':>8} "
          f"{'x wall':>7} {'x cpu':>7}   (per image, vs {res['baseline']})")
    for v, r in res["variants"].items():
        print(f"{v:<28} {r['batch']:>5} {r['sec_per_iter']:>7.3f} {r['sec_per_iter_min']:>7.3f} "
              f"{r['cpu_sec_per_iter']:>7.3f} {r['images_per_s']:>7.3f} {r['gflops_per_s']:>8.1f} "
              f"{r['speedup_wall']:>7.2f} {r['speedup_cpu']:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
