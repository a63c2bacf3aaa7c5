"""Follow-ups join their case by any one of token address, In-Reply-To/References or the
[Case #N] tag from the case's sender authenticated by our receiving server; strangers and forged
tokens do not; the reopen cap holds; oversize mail is quarantined with its bytes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from support.mails import consultation

from consult.clock import utcnow
from consult.intake import ingest
from consult.kb.store import KnowledgeBase
from consult.mail.reply_token import case_from_address, case_token, reply_address
from db.engine import session
from db.models import Case, Message

SECRET = "test-signing-key-0123456789"
#: What the consultation mailbox's MX writes on a mail from clinic.example that passed DMARC.
AUTH_PASS = {"Authentication-Results": "mx.consult.test; spf=pass "
             "smtp.mailfrom=clinic.example; dmarc=pass (p=reject) header.from=clinic.example"}


def test_reply_token_roundtrip_and_forgery() -> None:
    addr = reply_address("consult@consult.test", 17, SECRET)
    assert addr == f"consult+c17-{case_token(17, SECRET)}@consult.test"
    assert case_from_address(addr.upper(), "consult@consult.test", SECRET) == 17
    forged = addr.replace("+c17-", "+c18-")
    assert case_from_address(forged, "consult@consult.test", SECRET) is None
    assert case_from_address(addr, "consult@consult.test", "another-key") is None
    assert case_from_address(addr.replace("consult.test", "evil.example"),
                             "consult@consult.test", SECRET) is None
    assert reply_address("consult@consult.test", 17, "") is None


@pytest.fixture
def intake(make_settings, engine_for, starter_kb: KnowledgeBase, tmp_path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'c.db'}"
    settings = make_settings(database_url=url, secret_key=SECRET, max_reopens=2,
                             max_message_bytes=30_000, trusted_authserv_ids="mx.consult.test")
    engine = engine_for(url)

    def take(raw: bytes):  # type: ignore[no-untyped-def]
        with session(engine) as s:
            result = ingest(s, raw, starter_kb, settings, source="cli", now=utcnow())
            s.commit()
            return result

    take.engine = engine  # type: ignore[attr-defined]
    take.settings = settings  # type: ignore[attr-defined]
    return take


def _first(intake) -> int:  # type: ignore[no-untyped-def]
    result = intake(consultation(message_id="orig@clinic.example"))
    assert result.outcome == "case"
    return result.case_id


def _reply(n: int, **kw: object) -> bytes:
    values: dict[str, object] = dict(message_id=f"r{n}@clinic.example",
                                     subject="Re: 43214 with 43200",
                                     body=f"Follow-up {n}: what about 43239?",
                                     date=datetime(2026, 11, 17, 9, n, tzinfo=UTC))
    values.update(kw)
    return consultation(**values)  # type: ignore[arg-type]


def test_each_threading_signal_alone_is_enough(intake) -> None:  # type: ignore[no-untyped-def]
    case_id = _first(intake)
    token = reply_address("consult@consult.test", case_id, SECRET)
    joined = [
        _reply(1, extra_headers={"In-Reply-To": "<orig@clinic.example>"}),
        _reply(2, extra_headers={"References": "<other@x> <orig@clinic.example>"}),
        _reply(3, subject=f"RE: your answer [Case #{case_id}]", extra_headers=AUTH_PASS),
        # every header and the tag dropped, subject rewritten, even another colleague: the
        # unforgeable token address is enough
        _reply(4, subject="one more thing", to=token, sender="colleague@clinic.example"),
    ]
    for raw in joined:
        result = intake(raw)
        assert (result.outcome, result.case_id) == ("followup", case_id)


def test_strangers_and_forged_tokens_open_new_cases(intake) -> None:  # type: ignore[no-untyped-def]
    case_id = _first(intake)
    stranger = intake(_reply(1, subject=f"Re: [Case #{case_id}]", sender="eve@evil.example"))
    forged = intake(_reply(2, subject="hello", sender="eve@evil.example",
                           to=f"consult+c{case_id}-0123456789abcdef@consult.test"))
    assert stranger.outcome == forged.outcome == "case"
    assert len({case_id, stranger.case_id, forged.case_id}) == 3


def test_reopen_cap(intake) -> None:  # type: ignore[no-untyped-def]
    case_id = _first(intake)
    engine = intake.engine
    outcomes = []
    for n in range(1, 5):
        with session(engine) as s:  # the case was answered and closed each time
            case = s.get(Case, case_id)
            case.status = "closed"
            s.add(case)
            s.commit()
        outcomes.append(intake(_reply(n, subject=f"Re: [Case #{case_id}]",
                                      extra_headers=AUTH_PASS)))
    assert [o.outcome for o in outcomes] == ["followup"] * 4
    assert [o.reason for o in outcomes][2:] == ["reopen cap reached: kept on the case, "
                                                "not re-queued"] * 2
    with session(engine) as s:
        case = s.get(Case, case_id)
        assert case.reopen_count == 2 and case.status == "closed"
        assert len([m for m in s.query(Message).filter(Message.case_id == case_id)]) == 5


def test_quarantined_case_is_not_released_by_a_followup(intake) -> None:  # type: ignore[no-untyped-def]
    auto = consultation(message_id="ooo@clinic.example", subject="Out of office",
                        extra_headers={"Auto-Submitted": "auto-replied"})
    first = intake(auto)
    assert first.outcome == "quarantined"
    follow = intake(_reply(1, extra_headers={"In-Reply-To": "<ooo@clinic.example>"}))
    assert (follow.outcome, follow.case_id) == ("followup", first.case_id)
    with session(intake.engine) as s:
        assert s.get(Case, first.case_id).status == "quarantined"


def test_oversize_mail_is_quarantined_with_its_bytes(intake) -> None:  # type: ignore[no-untyped-def]
    raw = consultation(body="43214? " + "y" * 40_000)
    result = intake(raw)
    assert result.outcome == "quarantined" and "byte limit" in result.reason
    with session(intake.engine) as s:
        assert s.get(Message, result.message_pk).raw == raw


def test_our_reply_carries_the_token_address_as_reply_to(intake) -> None:  # type: ignore[no-untyped-def]
    from email import message_from_bytes, policy

    from consult import review

    case_id = _first(intake)
    with session(intake.engine) as s:
        row = review.approve(s, case_id, intake.settings, actor="tester", now=utcnow())
        s.commit()
    reply = message_from_bytes(row.raw, policy=policy.default)
    reply_to = reply["Reply-To"].addresses[0].addr_spec
    assert case_from_address(reply_to, "consult@consult.test", SECRET) == case_id
    answer = intake(_reply(9, subject="thanks, one more", to=reply_to))
    assert (answer.outcome, answer.case_id) == ("followup", case_id)
