"""Interrupted and corrupt dataset downloads: each fails with its cause in one line,
leaves no partial dataset behind, and a re-run with a good source succeeds.

The archives are built here (synthetic facades, tar.gz with a top folder ``facades/``)
and served from an http.server on 127.0.0.1; the unreachable host is a refusing
127.0.0.1 port.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pix2pix_ablation import layout
from pix2pix_ablation.data.fetch import FetchError, fetch_dataset

from ..workflow_util import make_workdir, snakemake, tiny_workflow_config, write_config
from .conftest import CHILD_ENV, COUNTS, Route, facades_tarball


def assert_nothing_left(dest: Path, manifest: Path) -> None:
    assert not dest.exists(), f"partial dataset left at {dest}"
    assert not manifest.exists()
    leftovers = [p.name for p in dest.parent.glob(f".{dest.name}.*")]  # (Snakemake may remove the folder)
    assert not leftovers, f"temporary files left: {leftovers}"


def assert_good_dataset(dest: Path, manifest_path: Path, archive: bytes) -> None:
    manifest = json.loads(manifest_path.read_text())
    assert manifest["counts"] == COUNTS and manifest["bytes"] == len(archive)
    assert manifest["sha256"] == hashlib.sha256(archive).hexdigest()
    assert sorted(p.name for p in dest.iterdir()) == ["test", "train", "val"]


def one_line_error(call) -> str:
    with pytest.raises(FetchError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message and info.value.__cause__ is None
    return message


@pytest.fixture
def other_tarball(tmp_path_factory) -> bytes:
    """A valid archive of another size and other counts (5 train images, not 6)."""
    return facades_tarball(tmp_path_factory.mktemp("other-archive"), {"train": 5})


# (route on the server, expected_bytes is the good archive's size?, fragment of the message)
def _faults(good: bytes, other: bytes, no_test: bytes) -> dict[str, tuple[Route, bool, str]]:
    half = len(good) // 2
    return {
        "truncated archive": (Route(good[:half]), False, "not a complete tar.gz archive"),
        "truncated archive, size checked": (Route(good[:half]), True,
                                            f"archive has {half} bytes, expected {len(good)}"),
        "wrong size": (Route(other), True, f"archive has {len(other)} bytes, expected {len(good)}"),
        "wrong image count": (Route(other), False, "train/ holds 5 images, expected 6"),
        "a split missing entirely": (Route(no_test), False, "split test/ is missing or holds no images"),
        "interrupted transfer": (Route(good[:half], content_length=len(good)), False,
                                 f"failed after 1 attempt(s): transfer interrupted after {half} of {len(good)} bytes"),
        "HTTP 500": (Route(status=500), False, "failed after 1 attempt(s): HTTP 500"),
    }


FAULTS = ["truncated archive", "truncated archive, size checked", "wrong size", "wrong image count",
          "a split missing entirely", "interrupted transfer", "HTTP 500"]


@pytest.mark.parametrize("fault", FAULTS)
def test_bad_download_fails_in_one_line_leaves_nothing_and_a_good_source_then_works(
        fault, facades_server, good_tarball, other_tarball, tmp_path):
    no_test = facades_tarball(tmp_path / "no-test", drop_split="test")
    route, size_checked, fragment = _faults(good_tarball, other_tarball, no_test)[fault]
    facades_server.routes = {"/bad.tar.gz": route, "/facades.tar.gz": Route(good_tarball)}
    dest, manifest = tmp_path / "data" / "facades", tmp_path / "data" / "manifest.json"
    url = facades_server.url("/bad.tar.gz")
    expected_bytes = len(good_tarball) if size_checked else None

    message = one_line_error(lambda: fetch_dataset(url, dest, manifest, expected_bytes, COUNTS, retries=1))
    assert url in message and fragment in message, message
    assert_nothing_left(dest, manifest)

    fetch_dataset(facades_server.url("/facades.tar.gz"), dest, manifest, len(good_tarball), COUNTS, retries=1)
    assert_good_dataset(dest, manifest, good_tarball)


def test_unreachable_host_fails_in_one_line(closed_port, tmp_path):
    dest, manifest = tmp_path / "facades", tmp_path / "manifest.json"
    url = f"http://127.0.0.1:{closed_port}/facades.tar.gz"
    message = one_line_error(lambda: fetch_dataset(url, dest, manifest, retries=1))
    assert message.startswith(f"download of {url} failed after 1 attempt(s): cannot reach the server")
    assert "refused" in message
    assert_nothing_left(dest, manifest)


def test_local_archive_missing_or_truncated_is_named(good_tarball, tmp_path):
    dest, manifest = tmp_path / "data" / "facades", tmp_path / "data" / "manifest.json"
    message = one_line_error(lambda: fetch_dataset("/nonexistent/facades.tar.gz", dest, manifest))
    assert message == "/nonexistent/facades.tar.gz: no such archive or directory (data.source in the config)"
    truncated = tmp_path / "facades.tar.gz"
    truncated.write_bytes(good_tarball[: len(good_tarball) * 2 // 3])
    message = one_line_error(lambda: fetch_dataset(str(truncated), dest, manifest))
    assert message.startswith(f"{truncated}: not a complete tar.gz archive")
    assert_nothing_left(dest, manifest)


def test_interrupted_transfer_is_retried_and_what_a_killed_fetch_left_is_cleaned(
        facades_server, good_tarball, tmp_path):
    half = len(good_tarball) // 2
    facades_server.routes = {"/facades.tar.gz": [Route(good_tarball[:half], content_length=len(good_tarball)),
                                                 Route(good_tarball)]}
    dest, manifest = tmp_path / "data" / "facades", tmp_path / "data" / "manifest.json"
    # a fetch SIGKILLed mid-extraction leaves its hidden work folder; the next one removes it
    stale = dest.parent / ".facades.k1ll3d"
    (stale / "extract" / "facades" / "train").mkdir(parents=True)
    fetch_dataset(facades_server.url("/facades.tar.gz"), dest, manifest, len(good_tarball), COUNTS, retries=2)
    assert facades_server.hits["/facades.tar.gz"] == 2
    assert_good_dataset(dest, manifest, good_tarball)
    assert not stale.exists()


@pytest.mark.slow
def test_download_rule_reports_the_cause_in_one_line_then_a_good_source_works(
        facades_server, good_tarball, tmp_path):
    """Through the real ``download_dataset`` rule (dataset ``facades``): a missing local
    archive, an interrupted transfer, then the good archive."""
    half = len(good_tarball) // 2
    facades_server.routes = {"/interrupted.tar.gz": Route(good_tarball[:half], content_length=len(good_tarball)),
                             "/facades.tar.gz": Route(good_tarball)}
    work = make_workdir(tmp_path, ["name", "base"])
    config = tiny_workflow_config()
    config["data"] = {"expected_bytes": len(good_tarball), "expected_counts": COUNTS, "retries": 1}
    target, dest = layout.DATA_MANIFEST.format(dataset="facades"), work / layout.DATA_DIR.format(dataset="facades")
    prefix = "download_dataset facades: "
    cases = [
        ("/nonexistent/facades.tar.gz", "/nonexistent/facades.tar.gz: no such archive or directory"),
        (facades_server.url("/interrupted.tar.gz"),
         f"failed after 1 attempt(s): transfer interrupted after {half} of {len(good_tarball)} bytes"),
    ]
    for source, fragment in cases:
        config["data"]["source"] = source
        write_config(work, config)
        run = snakemake(work, target, env=CHILD_ENV)
        assert run.returncode != 0, run.stdout[-3000:]
        lines = [line for line in run.stdout.splitlines() if line.startswith(prefix)]
        assert lines == [f"{prefix}{source}: no such archive or directory (data.source in the config)"
                         if source.startswith("/") else
                         f"{prefix}download of {source} {fragment}"], run.stdout[-3000:]
        assert fragment in lines[0]
        assert "Traceback" not in run.stdout
        assert lines[0] in (work / layout.LOGS / "download_facades.log").read_text()
        assert_nothing_left(dest, work / target)

    config["data"]["source"] = facades_server.url("/facades.tar.gz")
    write_config(work, config)
    run = snakemake(work, target, env=CHILD_ENV)
    assert run.returncode == 0, run.stdout[-3000:]
    assert_good_dataset(dest, work / target, good_tarball)
