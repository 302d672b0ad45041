"""Downloads with retries that fail in one line: the dataset archive, the Inception weights."""

from __future__ import annotations

import http.client
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from .config.bounds import quote


class FetchError(RuntimeError):
    """Something could not be fetched; the message says why in one line."""


def file_name_of(source: str) -> str:
    """The file name a URL or a local path ends in, to name what is fetched from it.

    ValueError where it ends in none (empty, ``.``, ``..``: ``results/inception/..`` is
    ``results/`` itself) or in characters that are unsafe in a path.
    """
    remote = "://" in source
    path = urllib.parse.urlsplit(source).path if remote else source
    name = path.rsplit("/", 1)[-1]
    name = urllib.parse.unquote(name) if remote else name
    if name in ("", ".", "..") or len(name) > 200 or not re.fullmatch(r"[A-Za-z0-9._+-]+", name):
        raise ValueError(f"{quote(source)} does not end in a file name (letters, digits, . _ + -)")
    return name


def download(url: str, dest: Path, retries: int, timeout: float = 60.0) -> None:
    """``url`` -> ``dest`` (not atomic: callers download into a temporary place)."""
    last = ""
    for attempt in range(1, retries + 1):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as fh:
                announced = response.headers.get("Content-Length", "")
                shutil.copyfileobj(response, fh, length=1 << 20)
                received = fh.tell()
            # http.client hands over a short body without complaint when the server hangs
            # up early: compare with the announced length, and retry like any transfer error
            if not announced.isdigit() or received == int(announced):
                return
            last = f"transfer interrupted after {received} of {announced} bytes"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code} {exc.reason}"
        except urllib.error.URLError as exc:
            last = f"cannot reach the server ({exc.reason})"
        except (OSError, http.client.HTTPException) as exc:  # resets, timeouts, IncompleteRead
            last = f"transfer failed ({type(exc).__name__}: {exc})"
        except ValueError as exc:  # http.client.InvalidURL and friends: retrying cannot help
            raise FetchError(f"{url}: not a valid URL ({exc})") from None
        if attempt < retries:
            time.sleep(min(2.0 ** attempt, 30.0))  # back off before retrying a flaky server
    raise FetchError(f"download of {url} failed after {retries} attempt(s): {last}")
