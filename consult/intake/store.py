"""Storing the raw bytes first, the per-sender quota, and the stored mail still to process.

Nothing is ever lost: ``store_raw`` writes the exact bytes before anything can fail; the
content fingerprint (``consult.mail.fingerprint``) is the dedupe key.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from consult.config import Settings
from consult.errors import QuotaExceeded
from consult.intake.plan import ADDRESS_MAX, MSGID_MAX
from consult.mail.fingerprint import fingerprint, header_values, split_head
from consult.mail.headers import normalize_msgid
from db.models import Message

#: The window of the per-sender storage quota.
QUOTA_WINDOW = timedelta(hours=24)
#: Raw bytes of stored mail one ``process_pending`` call loads at most (one mail always goes).
PENDING_BATCH_BYTES = 32 * 1024 * 1024


def _header_msgid(raw: bytes) -> str | None:
    value = header_values(split_head(raw)[0]).get(b"message-id")
    if not value:
        return None
    return normalize_msgid(value.decode("ascii", "replace"))


@dataclass(slots=True)
class Inbound:
    """An inbound mail's messages row before it is written: what a chunk's new mails are
    planned on. A plain record: building a SQLModel ``Message`` (validated, instrumented)
    costs more than writing the row, and most of a chunk's rows go in by one Core insert;
    ``to_message`` makes the ORM object for the few that need one (follow-ups)."""

    fingerprint: str
    message_id: str | None
    source: str
    mailbox: str | None
    uidvalidity: int | None
    uid: int | None
    size: int
    received_at: datetime
    raw: bytes
    direction: str = "in"
    in_reply_to: str | None = None
    subject: str = ""
    from_addr: str = ""
    kind: str | None = None
    processed: bool = False
    error: str | None = None


def new_inbound(raw: bytes, fp: str, *, source: str, now: datetime, mailbox: str | None,
                uidvalidity: int | None, uid: int | None) -> Inbound:
    """The row of an inbound mail as stored, before it is parsed."""
    msgid = _header_msgid(raw)
    return Inbound(fp, msgid[:MSGID_MAX] if msgid else None, source, mailbox, uidvalidity,
                   uid, len(raw), now, raw)


def to_message(row: Inbound) -> Message:
    """The ORM object of a planned row (not added to a session)."""
    return Message(**message_row(row))


def new_message(raw: bytes, fp: str, *, source: str, now: datetime, mailbox: str | None,
                uidvalidity: int | None, uid: int | None) -> Message:
    """The messages row of an inbound mail as stored, before it is parsed (not added)."""
    return to_message(new_inbound(raw, fp, source=source, now=now, mailbox=mailbox,
                                  uidvalidity=uidvalidity, uid=uid))


_COLUMNS = tuple(f.name for f in fields(Inbound))


def message_row(row: Inbound) -> dict[str, Any]:
    """``row``'s columns as a Core insert row (no id, no case yet). Shallow: every value is
    immutable, and ``asdict``'s deep copy (of the datetime too) cost 0.1 ms a mail."""
    return {name: getattr(row, name) for name in _COLUMNS}


def store_raw(
    session: Session,
    raw: bytes,
    *,
    source: str,
    now: datetime,
    mailbox: str | None = None,
    uidvalidity: int | None = None,
    uid: int | None = None,
    sender: str = "",
) -> tuple[Message, bool]:
    """Store the exact bytes; return (message, created). A duplicate returns the stored one.

    ``sender`` (the From address, when the caller read it) counts the bytes to its quota.
    """
    fp = fingerprint(raw)
    existing = session.exec(select(Message).where(Message.fingerprint == fp)).first()
    if existing is not None:
        return existing, False
    msg = new_message(raw, fp, source=source, now=now, mailbox=mailbox,
                      uidvalidity=uidvalidity, uid=uid)
    msg.from_addr = sender[:ADDRESS_MAX]
    try:
        with session.begin_nested():
            session.add(msg)
    except IntegrityError:
        existing = session.exec(select(Message).where(Message.fingerprint == fp)).one()
        return existing, False
    return msg, True


def stored_bytes(session: Session, sender: str, *, now: datetime) -> int:
    """Bytes of inbound mail from ``sender`` stored within the quota window."""
    total = session.exec(
        select(func.coalesce(func.sum(Message.size), 0)).where(
            Message.from_addr == sender[:ADDRESS_MAX], Message.direction == "in",
            col(Message.received_at) >= now - QUOTA_WINDOW)
    ).one()
    return int(total)


def check_quota(session: Session, sender: str, size: int, settings: Settings, *,
                now: datetime, used: int | None = None) -> None:
    """Raise QuotaExceeded when ``size`` more bytes from ``sender`` would pass the quota.

    ``used``: what the caller already knows is stored (else it is counted here)."""
    quota = int(settings.sender_quota_mb * 1024 * 1024)
    if quota <= 0 or not sender:
        return
    if used is None:
        used = stored_bytes(session, sender, now=now)
    if used + size > quota:
        raise QuotaExceeded(
            f"{sender} stored {used:,} bytes in the last 24 hours; {size:,} more would pass "
            f"the {settings.sender_quota_mb:g} MB quota (CONSULT_SENDER_QUOTA_MB)")


def has_pending(session: Session) -> bool:
    """Whether any stored mail waits to be processed (one indexed row read, no bytes)."""
    return session.exec(select(Message.id).where(
        Message.processed == False, Message.direction == "in").limit(1)).first() is not None  # noqa: E712


def pending(session: Session, limit: int = 200,
            max_bytes: int | None = None, *, claim: bool = False) -> list[Message]:
    """Stored mail not yet processed (e.g. taken in by the SMTP listener), oldest first; at
    most ``limit`` mails and, with ``max_bytes``, about that many bytes of them.

    ``claim``: lock the rows for the session's transaction, skipping rows another worker has
    locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so several workers share the stored
    mail and each mail is processed once; SQLite has no row locks (the processor holds a lease
    there instead)."""
    query = (select(Message.id, Message.size)
             .where(Message.processed == False, Message.direction == "in")  # noqa: E712
             .order_by(col(Message.id)).limit(limit))
    if claim:
        query = query.with_for_update(skip_locked=True)
    ids: list[int] = []
    total = 0
    for msg_id, size in session.exec(query):
        if ids and max_bytes is not None and total + size > max_bytes:
            break
        ids.append(msg_id)  # type: ignore[arg-type]
        total += size
    if not ids:
        return []
    return list(session.exec(select(Message).where(col(Message.id).in_(ids))
                             .order_by(col(Message.id))))
