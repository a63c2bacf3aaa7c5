"""Forwarded questions: when the mail below the sender's note *is* the question.

The most common shape at a consult desk is a billing company forwarding its client's mail
("see below, can you weigh in?"). The client's text then holds the codes and the question, and
must be read as such (``where="forwarded"``), while our own earlier answer quoted in a follow-up
stays history. A quoted message counts as forwarded when the mail is a forward (a ``Fw:``
subject or a forward marker) or the sender's own text is a cover note that names no code, and
the quoted message is not one of ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from email.utils import parsedate_to_datetime

from consult.extract.cues import Caseless
from consult.extract.dates import DATE_PATTERN, parse_date
from consult.extract.traps import lower_same_length
from consult.mail.history import QuotedMessage, segment_history
from consult.mail.message import ParsedMail
from consult.mail.quotes import FORWARD_RULE, FORWARD_START

_FW_SUBJECT = re.compile(r"^\s*(?:(?:re|aw|sv)\s*:\s*)*(?:fw|fwd|wg|tr|rv)\s*:", re.I)
_CASE_TAG = re.compile(r"\[case\s*#\s*\d+\]", re.I)
_OUR_SIGN_OFF = "the coding consultation team"
#: Words of a cover note: the sender hands over the mail below for an answer.
_COVER = re.compile(
    r"(?i)\b(?:see\s+(?:the\s+)?(?:below|question|e-?mail|message|thread|note|request)|"
    r"(?:question|note|e-?mail|message|request|thread)s?\s+below|below\b|"
    r"forward(?:ed|ing)?|fyi|weigh\s+in|thoughts|advi[cs]e|"
    r"can\s+you\s+(?:help|take\s+a\s+look|look|answer|review|confirm|check)|"
    r"your\s+(?:input|opinion|take|guidance|help)|(?:our|a|the)\s+client|question\s+from|"
    r"passing\s+(?:this\s+)?along|any\s+(?:input|ideas?|help|guidance)|second\s+opinion|"
    r"from\s+(?:our|the|one\s+of\s+our)\s+(?:provider|doctor|physician|coder|biller|office|"
    r"practice|clinic))\b"
)
_COVER_CASELESS = Caseless(_COVER)
COVER_NOTE_MAX_WORDS = 80
_DATE_IN = re.compile(DATE_PATTERN)
_QUOTE_MARKS = re.compile(r"^(?:[ \t]*>)+[ \t]?")
#: Where a forwarded message may start: ``segment_history`` gives a message the kind
#: "forward" only at a line that, without its ``>`` marks and spaces, matches one of these
#: markers. One search of the whole text is much cheaper than segmenting the history. (None
#: if a marker pattern is not anchored at a line start: then every text may hold one.)
_FORWARD_LINE = re.compile(
    "|".join(rf"^(?:[^\S\n]|>)*(?:{rx.pattern.removeprefix('^')})"
             for rx in (FORWARD_START, FORWARD_RULE)),
    re.IGNORECASE | re.MULTILINE,
) if all(rx.pattern.startswith("^") for rx in (FORWARD_START, FORWARD_RULE)) else None


@dataclass(frozen=True, slots=True)
class Forwarded:
    """The forwarded messages of one mail: their spans in ``mail.quoted`` and dates."""

    messages: tuple[QuotedMessage, ...] = ()
    dates: tuple[date | None, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.messages)

    def spans(self) -> list[tuple[int, int]]:
        """(start, end) in ``mail.quoted`` of each message: header block and own text."""
        return [(m.start, m.body_end) for m in self.messages]

    def contains(self, start: int) -> bool:
        return any(a <= start < b for a, b in self.spans())


    def text(self, quoted: str) -> str:
        """The forwarded messages' own text, ``>`` marks removed, header lines kept short."""
        parts = []
        for m in self.messages:
            body = "\n".join(_QUOTE_MARKS.sub("", x)
                             for x in quoted[m.body_start:m.body_end].split("\n"))
            head = f"Subject: {m.subject}\n" if m.subject else ""
            parts.append(head + body.strip())
        return "\n\n".join(p for p in parts if p.strip())


def header_date(text: str) -> date | None:
    """The date of a quoted header ("Mon, 03 Nov 2025 16:29 -0500", "Monday, November 3, 2025
    9:14 AM", "On Tue, Nov 4, 2025 at 8:02 AM Jane <j@x> wrote:")."""
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text.strip())
        if parsed is not None:
            return parsed.date()
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    m = _DATE_IN.search(text)
    return parse_date(m.group()) if m else None


def is_cover_note(text: str) -> bool:
    """A short note that hands the mail below over for an answer."""
    words = text.split()
    return len(words) <= COVER_NOTE_MAX_WORDS and bool(
        _COVER_CASELESS.search(text, lower_same_length(text)))


def _ours(message: QuotedMessage, quoted: str, mail: ParsedMail) -> bool:
    """One of our own replies: from the address the mail was sent to, tagged with a case
    number, or signed by the desk."""
    if message.author and message.author in {a.lower() for a in mail.to}:
        return True
    if _CASE_TAG.search(message.subject):
        return True
    return _OUR_SIGN_OFF in quoted[message.body_start:message.end].lower()


def _may_hold_forward(quoted: str) -> bool:
    """False only when no line of ``quoted`` is a forward marker, so no quoted message is of
    kind "forward"."""
    return _FORWARD_LINE is None or _FORWARD_LINE.search(quoted) is not None


def find_forwarded(mail: ParsedMail, *, new_text_has_codes: bool) -> Forwarded:
    """The quoted messages that are part of the question, with their dates."""
    if not mail.quoted.strip():
        return Forwarded()
    fw_subject = bool(_FW_SUBJECT.match(mail.subject))
    if (not fw_subject and (new_text_has_codes or not is_cover_note(mail.text))
            and not _may_hold_forward(mail.quoted)):
        return Forwarded()  # neither a forward nor a cover note: no need to segment history
    history = segment_history(mail.quoted)
    if not history or _ours(history[0], mail.quoted, mail):
        return Forwarded()
    explicit = fw_subject or any(m.kind == "forward" for m in history)
    if not explicit and (new_text_has_codes or not is_cover_note(mail.text)):
        return Forwarded()
    taken = tuple(m for m in history if not _ours(m, mail.quoted, mail)
                  and mail.quoted[m.body_start:m.body_end].strip())
    return Forwarded(taken, tuple(header_date(m.date_text) for m in taken))
