"""The one exception type of the metrics package."""

from __future__ import annotations


class MetricsError(RuntimeError):
    """A metric cannot be computed; the message says what to do about it in one line."""
