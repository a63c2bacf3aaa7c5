"""Logging that assumes every mail carries PHI: a filter masks identifiers in every record.

Bodies are never logged at INFO; this filter is the second line of defence for what slips into a
message anyway (an address in a reason, a subject in an exception): e-mail addresses, phone and
SSN-like numbers, dates and MRN-like labels are masked before any handler sees them.
"""

from __future__ import annotations

import logging
import re

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), "[ssn]"),
    (re.compile(r"\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b"), "[phone]"),
    (re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b"), "[date]"),
    (re.compile(r"\b(?:MRN|DOB|SSN|acct|account)\s*[:#]?\s*\S+", re.IGNORECASE), "[id]"),
)


def redact(text: str) -> str:
    """Mask identifiers in a log line."""
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactingFilter(logging.Filter):
    """Formats the record's message once, masks it, and drops the arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not kill logging
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        return True


def configure(level: str = "INFO") -> None:
    """Root logging for the CLI and `consult serve`, with redaction on every handler."""
    logging.basicConfig(level=level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
