"""The dedupe key of a message: a hash of its own content, not of its transport.

The same mail reaches us twice with different Received, Delivered-To, Return-Path or X- headers
(two mailboxes, a retry after a crash, a replay through `consult ingest`). What stays the same is
what the sender wrote: Message-ID, From, Date, Subject and the body. Message-ID alone is no key:
senders reuse it or leave it out, so two different mails with the same (or no) Message-ID still
differ in the other fields.
"""

from __future__ import annotations

import hashlib
import re

_HEADER_NAMES = (b"message-id", b"from", b"date", b"subject")
_FOLD = re.compile(rb"\r?\n[ \t]+")
_WS = re.compile(rb"[ \t]+")


def split_head(raw: bytes) -> tuple[bytes, bytes]:
    """Header block and body, splitting at the first blank line (CRLF or LF)."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        idx = raw.find(sep)
        if idx != -1:
            other = b"\n\n" if sep == b"\r\n\r\n" else b"\r\n\r\n"
            oidx = raw.find(other)
            if oidx != -1 and oidx < idx:
                return raw[:oidx], raw[oidx + len(other):]
            return raw[:idx], raw[idx + len(sep):]
    return raw, b""


def header_values(head: bytes) -> dict[bytes, bytes]:
    """The first value of each header we fingerprint, unfolded and whitespace-normalised."""
    found: dict[bytes, bytes] = {}
    for line in _FOLD.sub(b" ", head).splitlines():
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        key = name.strip().lower()
        if key in _HEADER_NAMES and key not in found:
            found[key] = _WS.sub(b" ", value.strip())
    return found


def fingerprint(raw: bytes) -> str:
    """SHA-256 hex of Message-ID, From, Date, Subject and the body (line endings normalised)."""
    head, body = split_head(raw)
    values = header_values(head)
    h = hashlib.sha256()
    for key in _HEADER_NAMES:
        h.update(key + b"\x00" + values.get(key, b"") + b"\x00")
    normalised = b"\n".join(line.rstrip() for line in body.replace(b"\r\n", b"\n").split(b"\n"))
    h.update(normalised.rstrip(b"\n"))
    return h.hexdigest()
