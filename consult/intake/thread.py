"""Threading: which case a mail answers, and whether its sender is proven.

Threading never answers the wrong mail: a follow-up joins a case by a reply+token address (an
HMAC no stranger can forge) or by In-Reply-To/References; a bare ``[Case #N]`` subject tag joins
only when the mail comes from the case's own sender *and* our receiving server authenticated that
From (a trusted Authentication-Results pass), else it starts a new case marked as claiming #N.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Table, bindparam, select
from sqlmodel import Session

from consult.config import Settings
from consult.mail.auth_results import AuthVerdict, verdict
from consult.mail.message import ParsedMail
from consult.mail.reply_token import case_from_addresses
from db.models import Case, Message

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


def find_thread(session: Session, mail: ParsedMail, settings: Settings | None = None,
                auth: AuthVerdict | None = None) -> Thread:
    """The case this mail answers: a reply token, In-Reply-To/References, or a subject tag.

    A subject tag alone is easy to forge, so it joins only a case whose sender is the mail's
    From *and* whose From our receiving server authenticated (``auth``); otherwise the mail
    starts a new case marked as claiming that one. ``verified``: a reply token, or a trusted
    pass from the case's own sender (reopens are counted per verified sender).
    """
    auth = auth if auth is not None else sender_verdict(mail, settings)
    sender = (mail.from_addr or "").lower()
    token_case = _token_case(mail, settings)
    if token_case is not None:
        case = session.get(Case, token_case)
        if case is not None:
            return Thread(case, "reply address token", verified=True)
    ids = [i for i in dict.fromkeys([mail.in_reply_to, *reversed(mail.references)]) if i]
    if ids:
        hit = session.execute(_REFERENCED, {"ids": ids[:100]}).scalar()
        if hit is not None:
            case = session.get(Case, hit)
            verified = case is not None and case.sender.lower() == sender and auth.passes
            return Thread(case, "In-Reply-To/References", verified=verified)
    tag = CASE_TAG.search(mail.subject or "")
    if tag:
        number = int(tag.group(1))
        if auth.passes:
            case = session.get(Case, number)
            if case is not None and case.sender.lower() == sender:
                return Thread(case, "subject tag (sender authenticated)", verified=True)
            exists = case is not None
        else:  # it cannot join: only whether the case exists matters
            exists = session.execute(_CASE_EXISTS, {"id": number}).first() is not None
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
