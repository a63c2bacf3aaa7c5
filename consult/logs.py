"""Logging that assumes every mail carries PHI: the formatter masks identifiers in every line.

Bodies are never logged at INFO; redaction is the second line of defence for what slips into a
line anyway (an address in a reason, a subject in an exception, the parameters of a failed SQL
statement in a traceback). It lives in the formatter, so the message, the exception text and the
stack all go through ``consult.phi_patterns.redact``, and ``configure`` puts it on every handler,
uvicorn's included (serve runs uvicorn without its own logging config, so its loggers
propagate here), and uvicorn's access lines lose their query strings (search terms). The
``RedactingFilter`` does the same to the record itself, for handlers someone else formats.
"""

from __future__ import annotations

import logging
import sys

from consult.phi_patterns import redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

__all__ = ["FORMAT", "QueryStringFilter", "RedactingFilter", "RedactingFormatter", "configure",
           "redact"]


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a broken format string must not kill logging
        return str(record.msg)


class RedactingFormatter(logging.Formatter):
    """Formats a copy of the record whose message, exception text and stack are redacted."""

    def format(self, record: logging.LogRecord) -> str:
        clean = logging.makeLogRecord(record.__dict__)
        clean.msg, clean.args = redact(_message(record)), None
        exc_text = record.exc_text
        if record.exc_info and not exc_text:
            exc_text = self.formatException(record.exc_info)
        clean.exc_info, clean.exc_text = None, redact(exc_text) if exc_text else None
        clean.stack_info = redact(record.stack_info) if record.stack_info else None
        return super().format(clean)


class RedactingFilter(logging.Filter):
    """Masks the record in place (message, exception, stack) before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(_message(record)), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class QueryStringFilter(logging.Filter):
    """uvicorn's access lines without query strings: the queue's search box puts names there."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path, sep, _query = args[2].partition("?")
            if sep:
                record.args = (*args[:2], f"{path}?[query]", *args[3:])
        return True


def _all_handlers() -> list[logging.Handler]:
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [lg for lg in logging.Logger.manager.loggerDict.values()
                if isinstance(lg, logging.Logger)]
    return [h for lg in loggers for h in lg.handlers]


def configure(level: str = "INFO") -> None:
    """Root logging for the CLI and `consult serve`: ``level`` honoured on every call (a later
    call, such as serve's with CONSULT_LOG_LEVEL, wins), redaction on every handler."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    root.setLevel(level.upper())
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QueryStringFilter) for f in access.filters):
        access.addFilter(QueryStringFilter())
    for handler in _all_handlers():
        if not isinstance(handler.formatter, RedactingFormatter):
            handler.setFormatter(RedactingFormatter(FORMAT))
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
