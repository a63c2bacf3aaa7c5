"""Threading: which case a mail answers, and whether its sender is proven.

Threading never answers the wrong mail: a follow-up joins a case by a reply+token address (an
HMAC no stranger can forge) or by In-Reply-To/References; a bare ``[Case #N]`` subject tag joins
only when the mail comes from the case's own sender *and* our receiving server authenticated that
From (a trusted Authentication-Results pass), else it starts a new case marked as claiming #N.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Table, bindparam, select
from sqlmodel import Session

from consult.config import Settings
from consult.mail.auth_results import AuthVerdict, verdict
from consult.mail.message import ParsedMail
from consult.mail.reply_token import case_from_addresses
from db.models import Case, Message, strip_nul

log = logging.getLogger(__name__)

CASE_TAG = re.compile(r"\[Case #(\d{1,18})\]", re.IGNORECASE)
_MESSAGES: Table = Message.__table__  # type: ignore[attr-defined]
_CASES: Table = Case.__table__  # type: ignore[attr-defined]
#: The newest mail of a case among a mail's In-Reply-To/References (Core: a lookup per reply,
#: and the ORM's statement compilation cost more than the query)
_REFERENCED = (select(_MESSAGES.c.case_id)
               .where(_MESSAGES.c.message_id.in_(bindparam("ids", expanding=True)),
                      _MESSAGES.c.case_id.is_not(None))
               .order_by(_MESSAGES.c.id.desc()).limit(1))
_CASE_EXISTS = select(_CASES.c.id).where(_CASES.c.id == bindparam("id"))
#: ``ThreadLookup.prefetch``: the mails with a case among many Message-IDs, and which of many
#: case numbers exist (IN lists of at most ``_PREFETCH_IN`` values each).
_WITH_CASE = select(_MESSAGES.c.message_id, _MESSAGES.c.id, _MESSAGES.c.case_id).where(
    _MESSAGES.c.message_id.in_(bindparam("ids", expanding=True)),
    _MESSAGES.c.case_id.is_not(None))
_CASES_AMONG = select(_CASES.c.id).where(_CASES.c.id.in_(bindparam("ids", expanding=True)))
_PREFETCH_IN = 500
#: At most this many of a mail's In-Reply-To/References are looked up (the newest ones).
REFERENCED_MAX = 100
#: Headers that may carry the address the mail was delivered to (a reply+token address).
RECIPIENT_HEADERS = ("delivered-to", "x-original-to", "envelope-to", "x-delivered-to")


@dataclass(frozen=True)
class Thread:
    """What threading found: the case (or None), how, whether the sender is proven, and the
    case a bare ``[Case #N]`` tag claimed without the right to join it."""

    case: Case | None
    via: str = ""
    verified: bool = False
    claims: int | None = None


def recipients(mail: ParsedMail) -> list[str]:
    """Every address the mail was sent or delivered to."""
    found = [*mail.to, *mail.cc]
    for name in RECIPIENT_HEADERS:
        for value in mail.headers.get(name, []):
            found.extend(re.findall(r"[^\s<>,;\"]+@[^\s<>,;\"]+", value))
    return found


def sender_verdict(mail: ParsedMail, settings: Settings | None) -> AuthVerdict:
    """Our receiving server's verdict on the mail's From (empty unless its id is trusted)."""
    if settings is None:
        return AuthVerdict()
    return verdict(mail.headers.get("authentication-results", []), mail.from_addr,
                   settings.authserv_ids)


def _token_case(mail: ParsedMail, settings: Settings | None) -> int | None:
    secret = settings.secret_key.get_secret_value() if settings else ""
    if settings is None or not secret:
        return None
    return case_from_addresses(recipients(mail), settings.from_address, secret)


def referenced_ids(mail: ParsedMail) -> list[str]:
    """The Message-IDs threading looks up for ``mail``: In-Reply-To, then References from the
    newest, without repeats, at most ``REFERENCED_MAX``."""
    ids = [i for i in dict.fromkeys([mail.in_reply_to, *reversed(mail.references)]) if i]
    return ids[:REFERENCED_MAX]


def tagged_case(mail: ParsedMail) -> int | None:
    """The case number of the mail's ``[Case #N]`` subject tag, if it has one."""
    tag = CASE_TAG.search(mail.subject or "")
    return int(tag.group(1)) if tag else None


@dataclass
class ThreadLookup:
    """The answers of threading's two small queries for a whole chunk, asked up front.

    ``find_thread`` asks, per mail, for the newest mail with a case among its In-Reply-To/
    References (``_REFERENCED``) and whether a tagged case exists (``_CASE_EXISTS``): on
    PostgreSQL each is a round trip, 600 for 1,000 typical mails. ``prefetch`` asks once for
    all the mails of a chunk, and the lookup answers from that whenever the answer is
    certainly the live query's, else it runs the live query:

    - mails are only ever added (and their case set once) by the chunk itself, so a
      Message-ID that no mail of the chunk written so far carries (``note_written``) has the
      same newest row as at prefetch time; a mail naming one that does, or one not asked
      for, goes to the database. The newest row wins either way (``max(id)``).
    - cases are never deleted by the intake, and the chunk creates a case only as the
      result of one of its mails, noted (``note_case``) before the next mail is threaded: a
      case number asked for exists now if it did at prefetch time or was noted since, and
      else it does not. A number not asked for goes to the database.

    Only this transaction's own writes are accounted for: like the rest of a chunk, the
    answers assume no other writer adds mails of the same threads meanwhile (the mailbox
    lease keeps a mailbox to one poller).
    """

    #: Message-ID -> (id, case_id) of its newest mail that has a case, among those asked for
    newest: dict[str, tuple[int, int]] = field(default_factory=dict)
    asked_ids: set[str] = field(default_factory=set)
    #: Message-IDs of mails the chunk has written (or may have) since the prefetch
    written_ids: set[str] = field(default_factory=set)
    asked_cases: set[int] = field(default_factory=set)
    #: cases known to exist: seen at prefetch time or written by the chunk since
    cases: set[int] = field(default_factory=set)
    #: how many lookups went to the database (tests look)
    live: int = 0

    @classmethod
    def prefetch(cls, session: Session, mails: Iterable[ParsedMail]) -> ThreadLookup:
        """The answers for these mails, in a query per ``_PREFETCH_IN`` Message-IDs and one
        per ``_PREFETCH_IN`` tagged case numbers (none when no mail needs one)."""
        ids: set[str] = set()
        tags: set[int] = set()
        for mail in mails:
            ids.update(referenced_ids(mail))
            number = tagged_case(mail)
            if number is not None:
                tags.add(number)
        # the column's bind processing drops NULs: key the answers the way the query compares
        asked = sorted({strip_nul(i) for i in ids})
        lookup = cls(asked_ids=set(asked), asked_cases=tags)
        for start in range(0, len(asked), _PREFETCH_IN):
            for msgid, pk, case_id in session.execute(
                    _WITH_CASE, {"ids": asked[start:start + _PREFETCH_IN]}):
                if msgid not in lookup.newest or pk > lookup.newest[msgid][0]:
                    lookup.newest[msgid] = (pk, case_id)
        numbers = sorted(tags)
        for start in range(0, len(numbers), _PREFETCH_IN):
            rows = session.execute(_CASES_AMONG, {"ids": numbers[start:start + _PREFETCH_IN]})
            lookup.cases.update(pk for pk, in rows)
        return lookup

    def note_written(self, message_id: str | None) -> None:
        """A mail with this Message-ID is (or may be) written by the chunk from now on."""
        if message_id:
            self.written_ids.add(strip_nul(message_id))

    def note_case(self, case_id: int | None) -> None:
        """The chunk wrote this case (or found it): every case it creates must be noted before
        the next mail is threaded, or a tag naming it would be taken for a stranger's."""
        if case_id is not None:
            self.cases.add(case_id)

    def referenced(self, session: Session, ids: list[str]) -> int | None:
        """``_REFERENCED``'s answer for ``ids`` (as ``referenced_ids`` gives them)."""
        keys = {strip_nul(i) for i in ids}
        if keys <= self.asked_ids and keys.isdisjoint(self.written_ids):
            hit = max((self.newest[k] for k in keys if k in self.newest), default=None)
            return None if hit is None else hit[1]
        self.live += 1
        return session.execute(_REFERENCED, {"ids": ids}).scalar()

    def case_exists(self, session: Session, number: int) -> bool:
        """``_CASE_EXISTS``'s answer for ``number``."""
        if number in self.cases:
            return True
        if number in self.asked_cases:
            return False
        self.live += 1
        return session.execute(_CASE_EXISTS, {"id": number}).first() is not None


def find_thread(session: Session, mail: ParsedMail, settings: Settings | None = None,
                auth: AuthVerdict | None = None, *,
                lookup: ThreadLookup | None = None) -> Thread:
    """The case this mail answers: a reply token, In-Reply-To/References, or a subject tag.

    A subject tag alone is easy to forge, so it joins only a case whose sender is the mail's
    From *and* whose From our receiving server authenticated (``auth``); otherwise the mail
    starts a new case marked as claiming that one. ``verified``: a reply token, or a trusted
    pass from the case's own sender (reopens are counted per verified sender). ``lookup``
    answers the thread queries of a chunk prefetched (the same answers).
    """
    auth = auth if auth is not None else sender_verdict(mail, settings)
    sender = (mail.from_addr or "").lower()
    token_case = _token_case(mail, settings)
    if token_case is not None:
        case = session.get(Case, token_case)
        if case is not None:
            return Thread(case, "reply address token", verified=True)
    ids = referenced_ids(mail)
    if ids:
        hit = (lookup.referenced(session, ids) if lookup is not None
               else session.execute(_REFERENCED, {"ids": ids}).scalar())
        if hit is not None:
            case = session.get(Case, hit)
            verified = case is not None and case.sender.lower() == sender and auth.passes
            return Thread(case, "In-Reply-To/References", verified=verified)
    number = tagged_case(mail)
    if number is not None:
        if auth.passes:
            case = session.get(Case, number)
            if case is not None and case.sender.lower() == sender:
                return Thread(case, "subject tag (sender authenticated)", verified=True)
            exists = case is not None
        else:  # it cannot join: only whether the case exists matters
            exists = (lookup.case_exists(session, number) if lookup is not None
                      else session.execute(_CASE_EXISTS, {"id": number}).first() is not None)
        if exists:
            log.info("mail names Case #%s without a reply token, its headers or an "
                     "authenticated sender: a new case", number)
            return Thread(None, claims=number)
    return Thread(None)


def may_join(mail: ParsedMail, settings: Settings, *, message_ids: Collection[str],
             senders: Collection[str]) -> bool:
    """Whether threading ``mail`` could find a case among mails not written yet (their
    Message-IDs and lower-case senders given): a batch writes those first. Errs on yes."""
    if any(i in message_ids for i in (mail.in_reply_to, *mail.references) if i):
        return True
    if CASE_TAG.search(mail.subject or "") and (mail.from_addr or "").lower() in senders:
        return True
    return _token_case(mail, settings) is not None
