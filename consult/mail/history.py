"""The quoted history of a mail, cut into the messages it holds.

``split_reply`` separates what the sender wrote now from everything quoted below it. A consult
desk needs more: a billing company forwards its client's question under a one-line cover note,
and that forwarded mail *is* the question, while our own earlier answer quoted in a follow-up is
only history. ``segment_history`` finds each quoted message (forward markers, Outlook header
blocks, "On ... wrote:" attributions, at any ``>`` depth), its author, date and subject, and the
span of its own text without its signature. Offsets index into the quoted text itself, so code
and PHI positions found there stay valid. Pure: text in, spans out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from consult.mail.quotes import (
    FORWARD_RULE,
    FORWARD_START,
    MARKER_FIRST_CHARS,
    ORIGINAL_MESSAGE,
    attribution_len,
    field_block_len,
    outlook_header_at,
    signature_start,
)

SegmentKind = Literal["forward", "reply", "attribution", "quote"]

_DEQUOTE = re.compile(r"^(?:[ \t]*>)+[ \t]?")
_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_FIELD = re.compile(r"^\s*\**\s*(from|sent|date|subject|to|cc)\s*\**\s*:\s*(.*)$", re.I)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")


@dataclass(frozen=True, slots=True)
class QuotedMessage:
    """One message inside the quoted history.

    ``start``..``end`` is the whole segment (header included); ``body_start``..``body_end`` its
    own text without the header block and without its signature. ``date_text`` is the raw date
    the header gives (parsed by the caller, which knows date formats).
    """

    kind: SegmentKind
    start: int
    end: int
    body_start: int
    body_end: int
    author: str = ""
    author_name: str = ""
    date_text: str = ""
    subject: str = ""


def _dequote(line: str) -> str:
    return _DEQUOTE.sub("", line)


def _header_here(lines: list[str], i: int) -> tuple[int, SegmentKind] | None:
    """(header line count, kind) when a quoted message starts at line ``i``."""
    stripped = lines[i].strip()
    if not stripped:
        return None
    if stripped[0] in MARKER_FIRST_CHARS:  # else none of the four markers can match
        if FORWARD_START.match(stripped) or FORWARD_RULE.match(stripped):
            return 1 + field_block_len(lines, i + 1), "forward"
        if ORIGINAL_MESSAGE.match(stripped):
            return 1 + field_block_len(lines, i + 1), "reply"
        if _UNDERSCORES.match(stripped) and field_block_len(lines, i + 1):
            return 1 + field_block_len(lines, i + 1), "reply"
    if outlook_header_at(lines, i):
        return field_block_len(lines, i), "reply"
    length = attribution_len(lines, i)
    if length:
        return length, "attribution"
    return None


def _header_fields(header: list[str], kind: SegmentKind) -> tuple[str, str, str, str]:
    """(author address, author name, date text, subject) from a header block or attribution."""
    author = name = when = subject = ""
    if kind == "attribution":
        joined = " ".join(x.strip() for x in header)
        m = _ADDRESS.search(joined)
        author = m.group().lower() if m else ""
        return author, "", joined, ""
    for line in header:
        m = _FIELD.match(line)
        if not m:
            continue
        field, value = m.group(1).lower(), m.group(2).strip()
        if field == "from" and not author:
            addr = _ADDRESS.search(value)
            author = addr.group().lower() if addr else ""
            name = value.split("<", 1)[0].strip().strip('"') if "<" in value else (
                "" if addr else value)
        elif field in ("sent", "date") and not when:
            when = value
        elif field == "subject" and not subject:
            subject = value
    return author, name, when, subject


def segment_history(quoted: str) -> list[QuotedMessage]:
    """The messages in ``quoted`` (``ParsedMail.quoted``), outermost first.

    Text before the first header (a bare ``>`` block) is one segment of kind ``quote`` with
    no known author.
    """
    if not quoted.strip():
        return []
    raw_lines = quoted.split("\n")
    lines = [_dequote(x) for x in raw_lines]
    offsets: list[int] = []
    pos = 0
    for line in raw_lines:
        offsets.append(pos)
        pos += len(line) + 1
    total = len(quoted)

    def at(i: int) -> int:
        return offsets[i] if i < len(offsets) else total

    starts: list[tuple[int, int, SegmentKind]] = []
    i = 0
    while i < len(lines):
        found = _header_here(lines, i)
        if found is None:
            i += 1
            continue
        length, kind = found
        starts.append((i, max(length, 1), kind))
        i += max(length, 1)
    if not starts or (starts[0][0] > 0 and any(x.strip() for x in lines[: starts[0][0]])):
        starts.insert(0, (0, 0, "quote"))
    out: list[QuotedMessage] = []
    for n, (first, length, kind) in enumerate(starts):
        last = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        body = lines[first + length:last]
        sig = signature_start(body)
        body_last = first + length + (sig[0] if sig else len(body))
        author, name, when, subject = _header_fields(lines[first:first + length], kind)
        out.append(QuotedMessage(
            kind=kind,
            start=at(first),
            end=min(at(last), total),
            body_start=min(at(first + length), total),
            body_end=min(at(body_last), total),
            author=author,
            author_name=name,
            date_text=when,
            subject=subject,
        ))
    return out
