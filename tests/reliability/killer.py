"""Run ``pix2pix-ablation`` and SIGKILL the process at one exactly chosen moment.

Test helper, not a test. ``python killer.py EVENT[:N] -- train --config ... --out ...``
runs one command; ``python killer.py --serve`` is a zygote that imports torch once and
then, for each JSON line ``{"event": ..., "argv": [...], "stderr": PATH}`` on stdin,
forks a child that runs the command (stdout and stderr to PATH) and answers
``{"returncode": ...}`` (negative: killed by that signal, as in ``subprocess``). Each
run is a real process killed for real, without paying seconds of ``import torch``.

The child wraps a few functions of the running process (nothing in the package
changes) and sends itself SIGKILL, which no handler, ``finally`` or atexit can
intercept, when EVENT happens for the N-th time (N defaults to 1):

``iteration:N``   right after training iteration N (global count) finished, before its
                  checkpoint (if one is due) is written
``ckpt-write:N``  inside the N-th write of ``checkpoints/last.pt`` of this process: half of
                  the serialised bytes are in the temporary file, nothing is renamed yet
``ckpt-rotate:N`` inside the N-th write replacing an existing ``last.pt``, after ``last.pt`` was moved to
                  ``last.prev.pt`` and before the new state is renamed to ``last.pt``
``snapshot-write:N``  inside the N-th write of a ``G_epochNNN.pt`` snapshot (half written)
``summary``       after the last checkpoint, just before the run records itself finished
                  (``checkpoints/finished.json``, then ``train_summary.json``)

If the event never happens the command runs to completion (the test then sees exit
code 0 instead of -SIGKILL and says so).
"""

from __future__ import annotations

import io
import os
import signal
import sys
from pathlib import Path


def _die() -> None:
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def install(event: str) -> None:
    import torch

    from pix2pix_ablation.training import trainer

    kind, _, count = event.partition(":")
    target = int(count or 1)
    seen = {"n": 0}

    def due() -> bool:
        seen["n"] += 1
        return seen["n"] == target

    if kind == "iteration":
        update = trainer._Progress.update

        def update_then_die(self, iteration, row):
            update(self, iteration, row)
            if iteration == target:
                _die()

        trainer._Progress.update = update_then_die
    elif kind in ("ckpt-write", "snapshot-write"):
        prefix = ".last.pt." if kind == "ckpt-write" else ".G_epoch"
        real_save = torch.save

        def half_written_save(obj, f, *args, **kwargs):
            if isinstance(f, (str, os.PathLike)) and Path(f).name.startswith(prefix) and due():
                buffer = io.BytesIO()
                real_save(obj, buffer, *args, **kwargs)
                data = buffer.getvalue()
                with open(f, "wb") as fh:
                    fh.write(data[: len(data) // 2])
                    fh.flush()
                    os.fsync(fh.fileno())
                _die()
            return real_save(obj, f, *args, **kwargs)

        torch.save = half_written_save
    elif kind == "ckpt-rotate":
        real_replace = os.replace

        def replace_then_die(src, dst, *args, **kwargs):
            real_replace(src, dst, *args, **kwargs)
            if Path(dst).name == "last.prev.pt" and due():
                _die()

        os.replace = replace_then_die
    elif kind == "summary":
        write_json = trainer.write_json

        def die_before_summary(path, obj):
            if Path(path).name in ("finished.json", "train_summary.json"):
                _die()
            write_json(path, obj)

        trainer.write_json = die_before_summary
    else:
        raise SystemExit(f"killer.py: unknown event {event!r}")


def _run_child(event: str | None, argv: list[str], stderr_path: str) -> None:
    """In the forked child: stderr to a file, arm the event, run the command, exit."""
    code = 1
    try:
        fd = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)  # stdout too: the zygote's stdout is its answer channel
        os.dup2(fd, 2)
        os.close(fd)
        sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", buffering=0), write_through=True)
        sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", buffering=0), write_through=True)
        if event:
            install(event)
        from pix2pix_ablation.cli import main as cli_main

        code = cli_main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report anything, then leave without cleanup
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def serve() -> int:
    """The zygote loop (see the module docstring)."""
    import json

    import torch  # noqa: F401 - the expensive import, done once before forking

    import pix2pix_ablation.cli  # noqa: F401
    import pix2pix_ablation.training.trainer  # noqa: F401

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _run_child(request.get("event"), request["argv"], request["stderr"])
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        print(json.dumps({"returncode": code}), flush=True)
    return 0


def main(argv: list[str]) -> int:
    if argv == ["--serve"]:
        return serve()
    if len(argv) < 2 or argv[1] != "--":
        raise SystemExit("usage: killer.py EVENT[:N] -- <pix2pix-ablation arguments>")
    install(argv[0])
    from pix2pix_ablation.cli import main as cli_main

    return cli_main(argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
