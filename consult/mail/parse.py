"""Raw bytes -> ``ParsedMail``: the one entry point the pipeline calls for every inbound mail.

Speed and robustness come from the same choice: the stdlib parser with the ``compat32`` policy
only splits the MIME tree (fast, and it tolerates anything), and this module decodes just what
the service needs - the headers, the chosen text part, and the attachments it can read - with
its own charset fallbacks, catching errors per part. A single-part mail is parsed headers-only
and its body decoded directly. ``parse_message`` never raises: whatever goes wrong becomes a
``defect``, and a mail that cannot be used at all gets ``unusable`` set so the intake
quarantines it (the intake keeps the raw bytes).
"""

from __future__ import annotations

import base64
import logging
import quopri
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache

from consult.mail.attachments import MAX_EXTRACT_BYTES, attachment_kind, extract_text
from consult.mail.classify import MailFacts, classify
from consult.mail.headers import (
    decode_bytes,
    decode_header_value,
    decode_raw_header,
    normalize_msgid,
    split_msgids,
)
from consult.mail.html_text import html_to_text
from consult.mail.message import Attachment, ParsedMail
from consult.mail.mime_tree import parse_tree
from consult.mail.quotes import split_reply

log = logging.getLogger(__name__)

#: Total text kept from all attachments of one mail (characters).
MAX_ATTACHMENT_TEXT = 200_000
#: message/rfc822 parts nested deeper than this are listed, not opened (the "endless nesting"
#: torture test would otherwise recurse until the stack runs out).
MAX_NESTING = 3
#: Body text kept (characters); a consultation question is never this long.
MAX_BODY_TEXT = 500_000
#: MIME parts walked at most per message (a bomb of 10,000 empty parts is a defect, not work).
MAX_PARTS = 500

_PARSER = BytesParser(policy=compat32)
_FOLD = re.compile(r"\r?\n[ \t]|\r[ \t]")


def parse_message(raw: bytes, *, own_addresses: frozenset[str] = frozenset()) -> ParsedMail:
    """Parse one raw message; never raises (a broken mail gets ``defects`` and ``unusable``).

    ``own_addresses`` are our own From addresses in lower case: mail from them is a "loop".
    """
    try:
        if not isinstance(raw, bytes | bytearray | memoryview):
            raise TypeError(f"expected bytes, got {type(raw).__name__}")
        return _parse_bytes(bytes(raw), own_addresses)
    except Exception as exc:  # the contract is "never raises": the intake quarantines instead
        log.warning("parse_message failed: %s", type(exc).__name__)
        return ParsedMail(
            message_id=None,
            subject="",
            from_addr="",
            defects=[f"parser error: {type(exc).__name__}"],
            unusable=f"could not be parsed ({type(exc).__name__})",
        )


#: Bytes of the header block ``parse_headers`` reads at most.
MAX_HEADER_BYTES = 64 * 1024


def parse_headers(raw: bytes, *, own_addresses: frozenset[str] = frozenset()) -> ParsedMail:
    """Only the header block (at most ``MAX_HEADER_BYTES``): subject, sender, threading ids.

    For a mail that cannot be parsed whole (too big, over the analysis budget, a parser
    crash): its case still shows who sent what. Cheap and bounded; never raises.
    """
    head = raw[:MAX_HEADER_BYTES]
    ends = [i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i != -1]
    if ends:
        head = head[:min(ends)]
    return parse_message(head + b"\r\n\r\n", own_addresses=own_addresses)


def _parse_bytes(raw: bytes, own_addresses: frozenset[str]) -> ParsedMail:
    if not raw.strip():
        return ParsedMail(message_id=None, subject="", from_addr="", defects=["empty message"],
                          unusable="empty message")
    return _from_message(parse_tree(raw), own_addresses, depth=0)


# headers --------------------------------------------------------------------------------------
def _header_map(msg: Message) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        key = decode_raw_header(str(name)).strip().lower()
        if not key:
            continue
        headers.setdefault(key, []).append(decode_header_value(value if isinstance(value, str)
                                                               else str(value)))
    return headers


#: Raw header values (as stored, still folded and surrogate-escaped) by lower-case name.
RawIndex = dict[str, list[str]]


def _raw_index(msg: Message) -> RawIndex:
    """One pass over ``raw_items`` for the top-level fields, instead of one pass per field."""
    index: RawIndex = {}
    for k, v in msg.raw_items():
        index.setdefault(str(k).lower(), []).append(str(v))
    return index


def _raw_all(msg: Message | RawIndex, name: str) -> list[str]:
    """Every raw value of a header: unfolded, 8-bit bytes decoded, encoded words still encoded.

    Reads ``raw_items`` (or their ``_raw_index``) because ``Message.get`` under compat32 turns
    8-bit values into ``Header`` objects that string methods choke on.
    """
    index = msg if isinstance(msg, dict) else _raw_index(msg)
    return [_FOLD.sub(" ", decode_raw_header(v)) for v in index.get(name.lower(), ())]


def _raw_header(msg: Message | RawIndex, name: str) -> str | None:
    """The first raw value of a header (see ``_raw_all``), or None."""
    values = _raw_all(msg, name)
    return values[0] if values else None


def _addresses(index: RawIndex, name: str, defects: list[str]) -> list[tuple[str, str]]:
    raw = _raw_all(index, name)
    if not raw:
        return []
    try:
        pairs = _getaddresses(tuple(raw))
    except Exception as exc:  # getaddresses has raised on pathological input in some versions
        defects.append(f"{name} unparseable: {type(exc).__name__}")
        return []
    out: list[tuple[str, str]] = []
    for display, addr in pairs:
        addr = addr.strip().lower()
        if not addr and not display:
            continue
        out.append((decode_header_value(display), addr))
    return out


@lru_cache(maxsize=1024)
def _getaddresses(raw: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``email.utils.getaddresses``, cached: it is pure and slow, and the same To, Cc and From
    values recur mail after mail (an exception is not cached, so it is a defect every time)."""
    return tuple(getaddresses(list(raw)))


def _parse_date(value: str | None, defects: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        defects.append("Date unparseable")
        return None
    if parsed is None:
        defects.append("Date unparseable")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


# MIME walk ------------------------------------------------------------------------------------
def _leaves(msg: Message, defects: list[str]) -> Iterator[tuple[Message, str]]:
    """(part, content type) in document order, not descending into message/* (those are
    attachments). The content type is read here anyway, so the caller gets it along."""
    stack: list[Message] = [msg]
    seen = 0
    while stack:
        part = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            defects.append(f"more than {MAX_PARTS} MIME parts; the rest were skipped")
            return
        payload = part.get_payload()
        ctype = part.get_content_type()
        if (ctype.split("/")[0] == "multipart" and isinstance(payload, list)):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
            continue
        yield part, ctype


def _content_types(msg: Message) -> list[str]:
    types = [msg.get_content_type()]
    if msg.get_content_maintype() == "multipart":
        payload = msg.get_payload()
        if isinstance(payload, list):
            for part in payload[:50]:
                if isinstance(part, Message):
                    types.append(part.get_content_type())
    return types


def _decoded_payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    return b""


def _part_text(part: Message, defects: list[str]) -> str:
    data = _decoded_payload(part)
    charset = None
    try:
        charset = part.get_content_charset()
    except Exception:  # an RFC 2231 charset parameter can be malformed beyond repair
        defects.append("unreadable charset parameter")
    text, clean = decode_bytes(data, charset)
    if not clean:
        defects.append(f"charset guessed for {part.get_content_type()} (declared {charset!r})")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _param(part, "format") == "flowed":
        text = unflow(text, delsp=_param(part, "delsp") == "yes")
    return text


def _param(part: Message, name: str) -> str:
    """A Content-Type parameter as lower-case text ("" when missing or RFC 2231-mangled)."""
    value = part.get_param(name, "")
    return value.strip().lower() if isinstance(value, str) else ""


def unflow(text: str, *, delsp: bool = False) -> str:
    """Join RFC 3676 format=flowed soft line breaks (a line ending in a space continues)."""
    out: list[str] = []
    buf = ""
    buf_depth = -1
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        if buf_depth >= 0 and depth != buf_depth:
            out.append(">" * buf_depth + (" " if buf_depth else "") + buf)
            buf, buf_depth = "", -1
        buf_depth = depth
        if content.endswith(" ") and content != "-- ":
            buf += content[:-1] if delsp else content
            continue
        buf += content
        out.append(">" * depth + (" " if depth else "") + buf)
        buf, buf_depth = "", -1
    if buf_depth >= 0:
        out.append(">" * buf_depth + (" " if buf_depth else "") + buf)
    return "\n".join(out)


def _decode_transfer(data: bytes, cte: str) -> bytes:
    """Undo a base64 / quoted-printable transfer encoding, leniently."""
    if cte == "base64":
        return base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", data) + b"==", validate=False)
    return quopri.decodestring(data)


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        try:
            raw = part.get_param("name")
        except Exception:
            raw = None
        name = raw if isinstance(raw, str) else None
    return decode_header_value(name) if name else ""


def _is_attachment(part: Message, filename: str) -> bool:
    disposition = (_raw_header(part, "content-disposition") or "").split(";", 1)[0]
    disposition = disposition.strip().lower()
    return disposition == "attachment" or bool(filename)


def _payload_size(part: Message) -> int:
    payload = part.get_payload()
    if not isinstance(payload, str):
        return 0
    cte = (_raw_header(part, "content-transfer-encoding") or "").strip().lower()
    if cte == "base64":
        return len(payload.replace("\n", "").replace("\r", "")) * 3 // 4
    return len(payload)


class _AttachmentBudget:
    """Running total of extracted attachment text, so one mail cannot exceed the cap."""

    def __init__(self) -> None:
        self.used = 0

    def take(self, text: str | None, note: str) -> tuple[str | None, str]:
        if text is None:
            return None, note
        room = MAX_ATTACHMENT_TEXT - self.used
        if room <= 0:
            return None, "not text-extracted: attachment text cap for this mail reached"
        if len(text) > room:
            text = text[:room]
            note = (note + "; " if note else "") + "text truncated (mail attachment cap)"
        self.used += len(text)
        return text, note


def _attachment(part: Message, filename: str, budget: _AttachmentBudget,
                defects: list[str]) -> Attachment:
    ctype = part.get_content_type()
    size = _payload_size(part)
    kind = attachment_kind(filename, ctype)
    if kind is None or kind == "tnef":
        # Not decoded at all: images and archives cost time and give no text.
        _, note = extract_text(b"", filename, ctype)
        return Attachment(filename or "(unnamed)", ctype, size, None, note)
    if size > MAX_EXTRACT_BYTES + 4096:
        return Attachment(filename or "(unnamed)", ctype, size, None,
                          f"not text-extracted: about {size:,} bytes is over the "
                          f"{MAX_EXTRACT_BYTES // (1024 * 1024)} MB cap")
    data = _decoded_payload(part)
    charset = None
    try:
        charset = part.get_content_charset()
    except Exception:
        defects.append("unreadable charset parameter")
    text, note = extract_text(data, filename, ctype, charset)
    text, note = budget.take(text, note)
    return Attachment(filename or "(unnamed)", ctype, len(data), text, note)


def _forwarded(part: Message, own: frozenset[str], depth: int, budget: _AttachmentBudget,
               defects: list[str]) -> Attachment:
    """A message/rfc822 part: its headers and new text become the attachment's text."""
    ctype = part.get_content_type()
    filename = _filename(part) or "forwarded message"
    payload = part.get_payload()
    inner: Message | None = None
    cte = (_raw_header(part, "content-transfer-encoding") or "").strip().lower()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        inner = payload[0]
        if cte in ("base64", "quoted-printable"):
            # Not allowed by RFC 2046, but sent anyway; the stdlib parsed the encoded text as
            # if it were the message, so decode it and parse again.
            encoded = inner.as_string().encode("ascii", "surrogateescape")
            inner = parse_tree(_decode_transfer(encoded, cte))
    elif isinstance(payload, str) and payload.strip():
        inner = parse_tree(_decoded_payload(part))
    if inner is None:
        return Attachment(filename, ctype, 0, None, "empty forwarded message")
    size = len(str(payload)) if isinstance(payload, str) else 0
    if depth >= MAX_NESTING:
        return Attachment(filename, ctype, size, None,
                          f"forwarded message nested more than {MAX_NESTING} deep; not opened")
    nested = _from_message(inner, own, depth=depth + 1)
    lines = []
    if nested.from_addr or nested.from_name:
        lines.append(f"From: {nested.from_name} <{nested.from_addr}>".replace(" <>", ""))
    if nested.date:
        lines.append(f"Date: {nested.date.isoformat()}")
    if nested.subject:
        lines.append(f"Subject: {nested.subject}")
    body = "\n\n".join(x for x in (nested.text, nested.quoted, nested.attachment_text) if x)
    text, note = budget.take("\n".join(lines) + "\n\n" + body, "forwarded message")
    if nested.subject and filename == "forwarded message":
        filename = f"forwarded: {nested.subject[:100]}"
    return Attachment(filename, ctype, size, text, note)


# assembly -------------------------------------------------------------------------------------
def _from_message(msg: Message, own: frozenset[str], *, depth: int) -> ParsedMail:
    defects: list[str] = [type(d).__name__ for d in getattr(msg, "defects", [])]
    headers = _header_map(msg)
    raw = _raw_index(msg)
    subject = headers.get("subject", [""])[0]
    senders = _addresses(raw, "from", defects)
    from_name, from_addr = senders[0] if senders else ("", "")
    if not from_addr and senders:
        defects.append("From has no address")
    to = [a for _, a in _addresses(raw, "to", defects) if a]
    cc = [a for _, a in _addresses(raw, "cc", defects) if a]
    date = _parse_date(_raw_header(raw, "date"), defects)
    message_id = normalize_msgid(_raw_header(raw, "message-id"))
    in_reply = split_msgids(_raw_header(raw, "in-reply-to"))
    references = split_msgids(_raw_header(raw, "references"))

    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    budget = _AttachmentBudget()
    for part, ctype in _leaves(msg, defects):
        try:
            defects.extend(type(d).__name__ for d in part.defects if part is not msg)
            maintype = ctype.split("/")[0]  # what get_content_maintype() would compute again
            if ctype.startswith("message/") and ctype in ("message/rfc822", "message/global"):
                attachments.append(_forwarded(part, own, depth, budget, defects))
                continue
            if ctype.startswith("message/"):
                continue  # delivery-status, disposition-notification: structure, not content
            if maintype == "multipart":
                defects.append(f"{ctype} part could not be split (boundary missing or wrong)")
                continue
            filename = _filename(part)
            if _is_attachment(part, filename):
                attachments.append(_attachment(part, filename, budget, defects))
            elif ctype == "text/plain" or (part is msg and maintype == "text"
                                           and ctype != "text/html"):
                plain.append(_part_text(part, defects))
            elif ctype == "text/html":
                html.append(_part_text(part, defects))
            elif maintype == "text":
                plain.append(_part_text(part, defects))
            elif part.get_payload():
                attachments.append(_attachment(part, filename, budget, defects))
        except Exception as exc:  # one broken part must not lose the rest of the mail
            defects.append(f"part skipped: {type(exc).__name__}")

    body = "\n\n".join(p for p in plain if p.strip())
    html_only = False
    if not body.strip() and html:
        body = "\n\n".join(html_to_text(h) for h in html)
        html_only = True
    if len(body) > MAX_BODY_TEXT:
        body = body[:MAX_BODY_TEXT]
        defects.append(f"body truncated at {MAX_BODY_TEXT:,} characters")
    parts = split_reply(body, sender_name=from_name)

    facts = MailFacts(headers=headers, from_addr=from_addr, subject=subject,
                      content_types=_content_types(msg), own_addresses=own)
    kind, reason = classify(facts)
    mail = ParsedMail(
        message_id=message_id,
        subject=subject,
        from_addr=from_addr,
        from_name=from_name,
        to=to,
        cc=cc,
        date=date,
        in_reply_to=in_reply[0] if in_reply else None,
        references=references,
        headers=headers,
        text=parts.text,
        quoted=parts.quoted,
        signature=parts.signature,
        html_only=html_only,
        attachments=attachments,
        kind=kind,
        kind_reason=reason,
        defects=list(dict.fromkeys(defects)),
    )
    mail.unusable = _unusable_reason(mail, body)
    return mail


def _unusable_reason(mail: ParsedMail, body: str) -> str:
    """Why nothing can be done with this mail, or "" (a short question is still usable)."""
    if not mail.headers:
        return "no header fields: not an e-mail message"
    if not (mail.from_addr or mail.header("reply-to") or mail.header("sender")):
        return "no sender address"
    if not (mail.subject.strip() or body.strip() or mail.attachments):
        return "no subject, body or attachment"
    return ""
