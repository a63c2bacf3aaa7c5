"""Build the outbound reply: a threaded MIME message with text and HTML parts.

Pure: the caller passes the Message-ID domain and the time. Every header value that came from
inbound mail (subject, names, addresses) is sanitised first, so no one can inject a header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

LOOP_HEADER = "X-Consult-Loop"
_CASE_TAG = re.compile(r"\s*\[Case #\d+\]", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|antw|fw|fwd)\s*:\s*)+", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def sanitize_header_value(value: str, *, limit: int = 900) -> str:
    """One line of printable text: CR, LF and other control characters become spaces."""
    return " ".join(_CONTROL.sub(" ", value).split())[:limit]


def case_tag(case_id: int) -> str:
    return f"[Case #{case_id}]"


def reply_subject(original: str, case_id: int) -> str:
    """``Re: <original subject> [Case #N]``, without piling up Re: prefixes or tags."""
    base = _CASE_TAG.sub("", sanitize_header_value(original))
    base = _REPLY_PREFIX.sub("", base).strip() or "Your coding question"
    return f"Re: {base} {case_tag(case_id)}"


def new_message_id(domain: str) -> str:
    """A fresh Message-ID on our domain, without angle brackets."""
    return make_msgid(domain=sanitize_header_value(domain) or "localhost").strip("<>")


@dataclass(frozen=True)
class ReplyEnvelope:
    """Addresses and threading for one reply."""

    from_address: str
    to_address: str
    to_name: str
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]
    message_id: str
    date: datetime
    loop_domain: str
    #: a reply+token address (consult.mail.reply_token) so answers find the case without headers
    reply_to: str | None = None


def ascii_domain(domain: str) -> str:
    """An internationalised domain in its ASCII (IDNA) form; unchanged when it cannot be."""
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def needs_smtputf8(addr: str) -> bool:
    """Whether ``addr`` can only travel with SMTPUTF8 (RFC 6531): a non-ASCII local part."""
    local, _, domain = addr.rpartition("@")
    return not local.isascii() or not ascii_domain(domain).isascii()


def _address(addr: str, name: str = "") -> Address:
    addr = sanitize_header_value(addr)
    local, _, domain = addr.rpartition("@")
    return Address(display_name=sanitize_header_value(name), username=local or addr,
                   domain=ascii_domain(domain) if local else "")


def build_reply(envelope: ReplyEnvelope, text: str, html: str) -> bytes:
    """The reply as bytes ready for SMTP (CRLF line endings).

    An address with a non-ASCII local part (``josé@example.com``) cannot be written as an
    encoded word; such a reply gets RFC 6532 UTF-8 headers instead, and the sender delivers it
    only through a relay offering SMTPUTF8 (a Maildir takes it as it is).
    """
    utf8 = needs_smtputf8(envelope.to_address) or needs_smtputf8(envelope.from_address)
    msg = EmailMessage(policy=SMTP.clone(utf8=True) if utf8 else SMTP)
    msg["From"] = _address(envelope.from_address)
    msg["To"] = _address(envelope.to_address, envelope.to_name)
    msg["Subject"] = sanitize_header_value(envelope.subject)
    msg["Date"] = format_datetime(envelope.date)
    msg["Message-ID"] = f"<{envelope.message_id}>"
    if envelope.in_reply_to:
        msg["In-Reply-To"] = f"<{sanitize_header_value(envelope.in_reply_to)}>"
    refs = [sanitize_header_value(r) for r in envelope.references if r]
    if envelope.in_reply_to and envelope.in_reply_to not in refs:
        refs.append(sanitize_header_value(envelope.in_reply_to))
    if refs:
        msg["References"] = " ".join(f"<{r}>" for r in refs[-20:])
    if envelope.reply_to:
        msg["Reply-To"] = _address(envelope.reply_to)
    msg[LOOP_HEADER] = sanitize_header_value(envelope.loop_domain)
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()
