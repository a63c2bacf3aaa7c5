"""The one place that reads the wall clock; everything else takes ``now`` as a parameter."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
