"""A chunk's prefetched threading answers (``ThreadLookup``) are the live queries' answers.

``ingest_batch`` asks for all its mails' In-Reply-To/References and ``[Case #N]`` tags up front;
a mail naming a Message-ID the chunk wrote since must go to the database, a tag naming a case
the chunk wrote since must find it, and the newest mail must win among several. Every answer
is checked against the live query here, and the tables against the one-by-one path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from support.mails import consultation

from consult.intake import Arrival, IntakeResult, ingest, ingest_batch
from consult.intake import thread as thread_mod
from consult.intake.thread import ThreadLookup
from consult.kb.store import KnowledgeBase
from db.engine import session
from intake.test_differential import NOW, OURS, SECRET, _dump, _mails, _second_database


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Every prefetched answer compared with the live query's; counts of each kind."""
    counts = {"prefetched": 0, "live": 0}
    referenced, case_exists = ThreadLookup.referenced, ThreadLookup.case_exists

    def check_referenced(self: ThreadLookup, s: Session, ids: list[str]) -> int | None:
        before = self.live
        got = referenced(self, s, ids)
        counts["live" if self.live > before else "prefetched"] += 1
        assert got == s.execute(thread_mod._REFERENCED, {"ids": ids}).scalar(), ids
        return got

    def check_case_exists(self: ThreadLookup, s: Session, number: int) -> bool:
        before = self.live
        got = case_exists(self, s, number)
        counts["live" if self.live > before else "prefetched"] += 1
        assert got == (s.execute(thread_mod._CASE_EXISTS, {"id": number}).first() is not None)
        return got

    monkeypatch.setattr(ThreadLookup, "referenced", check_referenced)
    monkeypatch.setattr(ThreadLookup, "case_exists", check_case_exists)
    return counts


def _reply(message_id: str, *refs: str, sender: str = "dana@clinic.example",
           subject: str = "Re: 43214") -> bytes:
    headers = {"In-Reply-To": f"<{refs[0]}>", "References": " ".join(f"<{r}>" for r in refs)}
    return consultation(message_id=message_id, sender=sender, subject=subject,
                        body="And 43239 on the same day?", extra_headers=headers)


def _chunks() -> list[list[bytes]]:
    """Two chunks. The first writes cases 1-3; a@ is the Message-ID of cases 1 and 3 (senders
    reuse them). The second mixes answers from the prefetch with the fall-backs."""
    first = [consultation(message_id="a@clinic.example", subject="43214 first?"),
             consultation(message_id="b@clinic.example", sender="bo@clinic.example",
                          subject="43200 second?"),
             consultation(message_id="a@clinic.example", sender="cy@clinic.example",
                          subject="20610 third, same Message-ID?")]
    second = [
        _reply("r1@clinic.example", "a@clinic.example"),  # the newest a@ wins: case 3
        _reply("r2@clinic.example", "b@clinic.example", "a@clinic.example"),  # newest: case 3
        _reply("r3@clinic.example", "nowhere@clinic.example"),  # no such mail: a new case
        consultation(message_id="n@clinic.example", sender="ed@clinic.example",
                     subject="99214 new in this chunk?"),  # case 5 (r3 is case 4)
        _reply("r4@clinic.example", "n@clinic.example"),  # written since: live, case 5
        consultation(message_id="x1@evil.example", sender="x@evil.example",
                     subject="[Case #5] resend"),  # a case written by this chunk: claims 5
        consultation(message_id="x2@evil.example", sender="x@evil.example",
                     subject="[Case #2] resend"),  # seen by the prefetch: claims 2
        consultation(message_id="x3@evil.example", sender="x@evil.example",
                     subject="[Case #77] resend"),  # no such case: claims nothing
        consultation(message_id="b@clinic.example", sender="fa@clinic.example",
                     subject="J1100 reusing b@?"),  # case 9: b@ written again
        _reply("r5@clinic.example", "b@clinic.example"),  # live: the new b@ wins, case 9
        _reply("r1@clinic.example", "r1@clinic.example", "b@clinic.example",
               subject="Re: Re: 43214"),  # its own id and b@, both written since: live
    ]
    return [first, second]


def _batch(engine: Any, chunks: list[list[bytes]], kb: KnowledgeBase,
           settings: Any) -> list[IntakeResult]:
    results: list[IntakeResult] = []
    uid = 0
    for chunk in chunks:
        arrivals = [Arrival(raw, uid := uid + 1) for raw in chunk]
        with session(engine) as s:
            results += ingest_batch(s, arrivals, kb, settings, source="imap", now=NOW,
                                    mailbox="box", uidvalidity=7)
            s.commit()
    return results


def _one_by_one(engine: Any, chunks: list[list[bytes]], kb: KnowledgeBase,
                settings: Any) -> list[IntakeResult]:
    results: list[IntakeResult] = []
    with session(engine) as s:
        for n, raw in enumerate((raw for chunk in chunks for raw in chunk), 1):
            results.append(ingest(s, raw, kb, settings, source="imap", now=NOW,
                                  mailbox="box", uidvalidity=7, uid=n))
        s.commit()
    return results


def test_prefetched_answers_and_their_fall_backs(
        make_settings: Callable[..., Any], engine_for: Callable[[str], Any], db_url: str,
        starter_kb: KnowledgeBase, tmp_path: Path, request: pytest.FixtureRequest,
        checked: dict[str, int]) -> None:
    settings = make_settings(database_url=db_url, secret_key=SECRET, from_address=OURS)
    chunks = _chunks()
    batch = engine_for(db_url)
    got = _batch(batch, chunks, starter_kb, settings)
    outcomes = [(r.outcome, r.case_id) for r in got[3:]]
    assert outcomes == [("followup", 3), ("followup", 3), ("case", 4), ("case", 5),
                        ("followup", 5), ("case", 6), ("case", 7), ("case", 8), ("case", 9),
                        ("followup", 9), ("followup", 9)]
    with batch.connect() as c:
        claims = {pk: claimed for pk, claimed in c.exec_driver_sql(
            "select id, claims_case_id from cases where id in (6, 7, 8)")}
    assert claims == {6: 5, 7: 2, 8: None}
    # r1, r2, r3 and the tags from the prefetch; r4, r5 and the last reply live
    assert checked == {"prefetched": 6, "live": 3}
    one = engine_for(_second_database(db_url, tmp_path, request))
    assert [(r.outcome, r.case_id) for r in _one_by_one(one, chunks, starter_kb, settings)
            ] == [(r.outcome, r.case_id) for r in got]
    assert _dump(one) == _dump(batch)


def test_the_differential_mails_get_the_live_answers(
        make_settings: Callable[..., Any], engine_for: Callable[[str], Any], db_url: str,
        starter_kb: KnowledgeBase, checked: dict[str, int]) -> None:
    settings = make_settings(database_url=db_url, secret_key=SECRET, from_address=OURS,
                             trusted_authserv_ids="mx.consult.test", max_message_bytes=60_000)
    mails = _mails()
    _batch(engine_for(db_url), [mails[i:i + 100] for i in range(0, len(mails), 100)],
           starter_kb, settings)
    assert checked["prefetched"] > 25
