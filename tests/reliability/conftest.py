"""Shared fixtures of the fault tests: a fork server for killed trainers, a local HTTP
server for dataset downloads, a refusing 127.0.0.1 port, Snakemake in the background.

Nothing here reaches any address but 127.0.0.1: this process is guarded by the
``_loopback_only`` fixture, every process the tests start by ``netguard/sitecustomize.py``
(``CHILD_ENV`` puts it on PYTHONPATH).
"""

from __future__ import annotations

import http.server
import io
import json
import os
import re
import selectors
import socket
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pix2pix_ablation.data.synthetic import make_dataset

from ..workflow_util import snakemake_command

KILLER = Path(__file__).with_name("killer.py")
NETGUARD = Path(__file__).with_name("netguard")
# for every process the tests start: loopback only, and never through a configured proxy
CHILD_ENV = {
    "PYTHONPATH": os.pathsep.join(p for p in (str(NETGUARD), os.environ.get("PYTHONPATH")) if p),
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}


# ------------------------------------------------------------------ killed trainers
class Forker:
    """``killer.py --serve``: runs ``pix2pix-ablation`` commands in forked children."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(KILLER), "--serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env={**os.environ, **CHILD_ENV})
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.proc.stdout, selectors.EVENT_READ)
        assert self._answer(120) == {"ready": True}

    def _answer(self, timeout: float) -> dict:
        if not self.selector.select(timeout):
            self.proc.kill()
            raise TimeoutError(f"killer.py gave no answer within {timeout} s")
        line = self.proc.stdout.readline()
        assert line, "killer.py --serve exited"
        return json.loads(line)

    def run(self, argv: list[str], stderr: Path, event: str | None = None, timeout: float = 300) -> int:
        """Run one command (killed at ``event``); return its exit code (-9: SIGKILL)."""
        self.proc.stdin.write(json.dumps({"event": event, "argv": argv, "stderr": str(stderr)}) + "\n")
        self.proc.stdin.flush()
        return self._answer(timeout)["returncode"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="session")
def forker():
    server = Forker()
    yield server
    server.close()


# --------------------------------------------------------------------- the network
@pytest.fixture
def closed_port():
    """A 127.0.0.1 port that is bound but not listening: connections are refused."""
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    yield blocker.getsockname()[1]
    blocker.close()


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_length: int | None = None  # announced length; more than len(body): the transfer breaks off


@dataclass
class FacadesServer:
    """An HTTP server on 127.0.0.1 in a thread, serving ``routes``: path -> Route, or a
    list of Routes answered in turn (the last one from then on)."""

    routes: dict[str, Route | list[Route]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(server: FacadesServer):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            hit = server.hits[self.path] = server.hits.get(self.path, 0) + 1
            route = server.routes.get(self.path)
            if isinstance(route, list):
                route = route[min(hit, len(route)) - 1]
            if route is None:
                self.send_error(404)
                return
            if route.status != 200:
                self.send_error(route.status)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/gzip")
            self.send_header("Content-Length", str(route.content_length or len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)
            self.wfile.flush()
            self.close_connection = True  # a short body then ends the connection: an interrupted transfer

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def facades_server():
    state = FacadesServer()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


# ------------------------------------------------------------------------ archives
COUNTS = {"train": 6, "val": 2, "test": 4}


def facades_tarball(tmp: Path, counts: dict[str, int] | None = None, drop_split: str | None = None) -> bytes:
    """A facades-layout tar.gz (top folder ``facades/``) of synthetic 32 px pairs."""
    counts = {**COUNTS, **(counts or {})}
    root = tmp / "facades"
    make_dataset(root, counts["train"], counts["val"], counts["test"], size=32, seed=0)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for split in ("train", "val", "test"):
            if split != drop_split:
                tar.add(root / split, arcname=f"facades/{split}")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def good_tarball(tmp_path_factory) -> bytes:
    return facades_tarball(tmp_path_factory.mktemp("good-archive"))


_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """In this process: no proxy for 127.0.0.1, and no connection to anywhere else."""
    for key in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(key, CHILD_ENV[key])
    real_connect = socket.socket.connect

    def connect(self, address):
        if isinstance(address, tuple) and address[0] not in _LOOPBACK:
            raise AssertionError(f"a test tried to reach {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


# ----------------------------------------------------------------------- Snakemake
def start_snakemake(work: Path, *args: str, log: Path, env: dict | None = None) -> subprocess.Popen:
    """``snakemake`` in the background, in its own process group (to be killed as one)."""
    cmd, full_env = snakemake_command(*args, env={**CHILD_ENV, **(env or {})})
    with open(log, "w") as out:
        return subprocess.Popen(cmd, cwd=work, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env=full_env)


def train_jobs(output: str) -> dict[str, str]:
    """experiment -> 'started' / 'finished' for the train jobs in a Snakemake log."""
    jobs = {}
    for block in re.split(r"\n(?=\[)", output):
        rule = re.search(r"^(?:local)?rule train:$", block, re.M)
        jobid = re.search(r"^\s+jobid: (\d+)$", block, re.M)
        experiment = re.search(r"^\s+wildcards: experiment=([^,\s]+)", block, re.M)
        if rule and jobid and experiment:
            jobs[jobid.group(1)] = experiment.group(1)
    finished = set(re.findall(r"Finished jobid: (\d+) \(Rule: train\)", output))
    return {name: ("finished" if jobid in finished else "started") for jobid, name in jobs.items()}


def wait_for(condition, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    """Poll ``condition`` every 0.2 s (a bounded wait on files another process writes)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"snakemake exited (code {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)
