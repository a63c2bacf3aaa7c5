"""The parsed form of one inbound mail, as the rest of the core sees it.

Parsing never loses the original: the raw bytes stay in the database, and this object is always
rebuildable from them. Every field is plain data so the core can be tested with literals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

MailKind = Literal["question", "followup", "auto_reply", "bounce", "mailing_list", "loop"]

#: Kinds that must never get an automatic answer; they go to quarantine with a reason.
UNANSWERABLE_KINDS: frozenset[str] = frozenset({"auto_reply", "bounce", "mailing_list", "loop"})


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment; ``text`` holds what could be pulled out of it (None when nothing could)."""

    filename: str
    content_type: str
    size: int
    text: str | None = None
    note: str = ""


@dataclass(slots=True)
class ParsedMail:
    """One inbound message, decoded.

    ``text`` is the new text the sender wrote (quoted history and signature removed), ``quoted``
    the older context below it, ``signature`` the sign-off block. ``headers`` keeps every header
    (lower-cased names, decoded values) for classification rules.
    """

    message_id: str | None
    subject: str
    from_addr: str
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    date: datetime | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    headers: dict[str, list[str]] = field(default_factory=dict)
    text: str = ""
    quoted: str = ""
    signature: str = ""
    html_only: bool = False
    attachments: list[Attachment] = field(default_factory=list)
    kind: MailKind = "question"
    kind_reason: str = ""
    defects: list[str] = field(default_factory=list)
    #: Why the mail cannot be used at all ("" when it can): the intake quarantines it with this.
    unusable: str = ""

    def header(self, name: str) -> str | None:
        """First value of a header, or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def attachment_text(self) -> str:
        """All text pulled out of attachments, joined."""
        return "\n\n".join(a.text for a in self.attachments if a.text)
