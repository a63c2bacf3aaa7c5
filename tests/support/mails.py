"""Consultation mails for tests, built from literals (invented people, no real PHI)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime


def consultation(
    *,
    subject: str = "43214 with 43200 same day - modifier 59?",
    body: str = ("Hi, can we bill 43214 with 43200 on the same day, Medicare, office? "
                 "Should 43200 get modifier 59?\n\nThanks,\nDana"),
    sender: str = "dana@clinic.example",
    name: str = "Dana Whitfield",
    message_id: str | None = "q1@clinic.example",
    date: datetime | None = None,
    to: str = "consult@consult.test",
    extra_headers: dict[str, str] | None = None,
    utf8: bool = False,
) -> bytes:
    """``utf8``: RFC 6532 headers (what a client sends for a non-ASCII address)."""
    msg = EmailMessage(policy=SMTP.clone(utf8=True) if utf8 else SMTP)
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or datetime(2026, 11, 16, 14, 0, tzinfo=UTC))
    if message_id:
        msg["Message-ID"] = f"<{message_id}>"
    for k, v in (extra_headers or {}).items():
        msg[k] = v
    msg.set_content(body)
    return msg.as_bytes()
