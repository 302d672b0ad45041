"""A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``.

With that flag Chromium reads commands from fd 3 and writes replies and events to
fd 4, one NUL-terminated JSON message each: no port, no WebSocket library, and
nothing listening on the network. Enough of CDP to load a page, collect its
JavaScript errors, query the DOM and take a screenshot.
"""

from __future__ import annotations

import base64
import fcntl
import itertools
import json
import os
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# Headless, offline, no first-run UI, nothing phoning home; MAP * ~NOTFOUND makes any
# host name lookup fail, so a page that tries the network fails instead of reaching it.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
LOCAL_SCHEMES = ("data:", "file:", "about:", "blob:", "chrome:", "devtools:")


def _high_fd(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class CDPError(RuntimeError):
    """A command failed, the browser died, or a wait ran out of time."""


class Browser:
    """One Chromium process driven over the DevTools pipe; use as a context manager."""

    def __init__(self, executable: str, profile_dir: Path, extra_flags: Sequence[str] = (), timeout: float = 30.0):
        self.timeout = timeout
        self.profile_dir = Path(profile_dir)
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.profile_dir / "chromium.log"
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # the browser's ends are moved above 9 so that placing them at 3 and 4 cannot clobber each other
        to_browser_r, from_browser_w = (_high_fd(fd) for fd in (to_browser_r, from_browser_w))
        args = [executable, *FLAGS, *extra_flags, f"--user-data-dir={self.profile_dir}", "--remote-debugging-pipe",
                "about:blank"]
        # the pipe ends must be fds 3 and 4 in the browser: let bash (dash knows only fds 0-9) place them
        shell = f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(["/bin/bash", "-c", shell, "bash", *args], pass_fds=(to_browser_r,
                                            from_browser_w), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.command_line = shlex.join(args)
        self._ids = itertools.count(1)
        self._replies: dict[int, dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="cdp-reader", daemon=True)
        self._reader.start()

    # ------------------------------------------------------------ transport
    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._closed = True
                    self._cond.notify_all()
                return
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            with self._cond:
                for raw in messages:
                    msg = json.loads(raw)
                    if "id" in msg:
                        self._replies[msg["id"]] = msg
                    else:
                        self._events.append(msg)
                self._cond.notify_all()

    def _wait(self, ready: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = ready()
                if value is not None:
                    return value
                if self._closed:
                    raise CDPError(f"browser exited while waiting for {what}; log: {self.log_tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CDPError(f"timed out after {timeout:.0f} s waiting for {what}")
                self._cond.wait(left)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float | None = None) -> dict[str, Any]:
        """Run one command; return its result or raise CDPError with the protocol's message."""
        msg_id = next(self._ids)
        msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        try:
            os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        except OSError as exc:
            raise CDPError(f"{method}: browser pipe closed ({exc}); log: {self.log_tail()}") from None
        reply = self._wait(lambda: self._replies.pop(msg_id, None), timeout or self.timeout, method)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error'].get('message')} {reply['error'].get('data', '')}".strip())
        return reply.get("result", {})

    def events(self, session: str | None = None) -> list[dict[str, Any]]:
        with self._cond:
            return [e for e in self._events if session is None or e.get("sessionId") == session]

    def wait_event(self, method: str, session: str | None = None, after: int = 0,
                   timeout: float | None = None) -> dict[str, Any]:
        """The first ``method`` event (of ``session``) at index >= ``after`` in the event log."""
        def find() -> dict[str, Any] | None:
            for event in self._events[after:]:
                if event.get("method") == method and (session is None or event.get("sessionId") == session):
                    return event
            return None

        return self._wait(find, timeout or self.timeout, method)

    def event_count(self) -> int:
        with self._cond:
            return len(self._events)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # ------------------------------------------------------------ lifecycle
    def new_page(self, width: int = 1400, height: int = 1000) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        return page

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.send("Browser.close", timeout=10)
            except CDPError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()  # only the process this client started
                self.process.wait(timeout=10)
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    """One tab, attached with a flat session: its console, exceptions and network in one log."""

    def __init__(self, browser: Browser, session: str):
        self.browser = browser
        self.session = session

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def navigate(self, url: str, timeout: float = 60.0) -> None:
        mark = self.browser.event_count()
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CDPError(f"navigate {url}: {result['errorText']}")
        self.browser.wait_event("Page.loadEventFired", self.session, after=mark, timeout=timeout)

    def evaluate(self, expression: str, timeout: float | None = None) -> Any:
        """Value of a JavaScript expression (awaited if it is a promise)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CDPError(f"evaluate failed: {text}")
        return result.get("result", {}).get("value")

    def wait_for(self, condition_js: str, timeout: float = 30.0) -> Any:
        """Poll a JavaScript condition inside the page until it is truthy; return its value.

        A DOM node comes back as ``True`` (nodes do not serialise).

        The polling runs in the browser (a 50 ms timer), so the test
        waits exactly as long as rendering takes, up to ``timeout``.
        """
        ms = int(timeout * 1000)
        script = f"""new Promise((resolve, reject) => {{
            const cond = () => {{ try {{ return ({condition_js}); }} catch (e) {{ return null; }} }};
            const start = Date.now();
            const tick = () => {{
                const value = cond();
                if (value) {{ resolve(value instanceof Node ? true : value); }}
                else if (Date.now() - start > {ms}) {{ reject(new Error('condition not met in {ms} ms')); }}
                else {{ setTimeout(tick, 50); }}
            }};
            tick();
        }})"""
        try:
            return self.evaluate(script, timeout=timeout + 10)
        except CDPError as exc:
            raise CDPError(f"waiting for `{condition_js}`: {exc}") from None

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def errors(self) -> list[str]:
        """Uncaught exceptions, console.error/assert calls and error log entries, as text."""
        out = []
        for event in self.browser.events(self.session):
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                d = params.get("exceptionDetails", {})
                out.append(f"exception: {d.get('exception', {}).get('description') or d.get('text')} "
                           f"({d.get('url', '')}:{d.get('lineNumber', '?')})")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                out.append(f"console.{params['type']}: {args}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                out.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}".strip())
        return out

    def remote_requests(self) -> list[str]:
        """URLs the page asked for that are not local (data:, file:, ...): a self-contained page has none."""
        urls = [e["params"]["request"]["url"] for e in self.browser.events(self.session)
                if e.get("method") == "Network.requestWillBeSent"]
        return [u for u in urls if not u.startswith(LOCAL_SCHEMES)]
