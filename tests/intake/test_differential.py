"""One way to write a case: the same 300 mails through ``ingest`` one by one and through
``ingest_batch`` in chunks give identical tables (ids aside).

The mails mix what the intake meets: real-looking questions (the extraction corpus), follow-ups
by thread headers, by a reply token and by an authenticated subject tag, strangers claiming a
case, auto-replies, bounces, list mail, our own mail coming back, garbage, header-only and
oversize mail, a mail without a sender, and exact duplicates within a chunk and across chunks.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from support.mails import consultation
from support.paths import TESTS

from consult.analyzed import AnalyzedMail
from consult.intake import Arrival, ingest, ingest_batch, own_addresses
from consult.kb.store import KnowledgeBase
from consult.mail.reply_token import reply_address
from consult.pipeline import analyze_raw
from db.engine import session

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
SECRET = "differential-secret-0123456789"
MX = "mx.consult.test"
OURS = "consult@consult.test"
CHUNK = 100
#: Foreign keys, compared as the position of the row they point to.
REFERENCES = {"case_id": "cases", "message_id": "messages", "claims_case_id": "cases"}
TABLES = ("cases", "messages", "drafts", "audit_events", "reopens")


def _corpus() -> list[bytes]:
    folder = TESTS / "data" / "extraction" / "mails"
    return [p.read_bytes() for p in sorted(folder.glob("*.eml"))]


def _mails() -> list[bytes]:
    """300 mails in a fixed order (seeded), see the module docstring: 40 questions first
    (cases 1 to 40), then 150 corpus mails, then 110 others shuffled."""
    rng = random.Random(15)
    senders = [f"coder{i}@clinic{i % 7}.example" for i in range(40)]
    firsts = [consultation(message_id=f"q{i}@clinic.example", sender=senders[i],
                           subject=f"43214 with 43200, case {i + 1}?") for i in range(40)]
    rest: list[bytes] = []
    for i in range(25):  # follow-ups by thread headers
        rest.append(consultation(
            message_id=f"f{i}@clinic.example", sender=senders[i],
            subject=f"Re: 43214 with 43200, case {i + 1}?",
            body="Also 43239 on the same day? Modifier 59 or XS?",
            extra_headers={"In-Reply-To": f"<q{i}@clinic.example>",
                           "References": f"<q{i}@clinic.example>"}))
    for case_id in (3, 17, 30, 999_999):  # reply tokens (the last names no case)
        token = reply_address(OURS, case_id, SECRET)
        rest.append(consultation(message_id=f"t{case_id}@clinic.example", to=str(token),
                                 subject="Re: your answer", body="And with 43248?"))
    for case_id, verdict in ((31, "pass"), (32, "fail"), (33, "pass")):  # subject tags
        rest.append(consultation(
            message_id=f"tag{case_id}@clinic.example", sender=senders[case_id - 1],
            subject=f"Re: [Case #{case_id}] one more thing", body="Is 43200 billable?",
            extra_headers={"Authentication-Results":
                           f"{MX}; dmarc={verdict} header.from=clinic.example"}))
    for i in range(4):  # strangers naming a case
        rest.append(consultation(message_id=f"s{i}@evil.example", sender=f"x{i}@evil.example",
                                 subject=f"[Case #{5 + i}] please resend", body="43214?"))
    for i in range(6):
        rest.append(consultation(message_id=f"ooo{i}@clinic.example", sender=senders[i],
                                 subject="Out of office",
                                 extra_headers={"Auto-Submitted": "auto-replied"}))
        rest.append(consultation(message_id=f"list{i}@lists.example", subject="Digest",
                                 extra_headers={"List-Id": "<coders.lists.example>"}))
    rest.append(consultation(message_id="loop@consult.test", sender=OURS, name="Consult"))
    rest.append(consultation(message_id="ooo-f@clinic.example", sender=senders[2],
                             subject="Automatic reply: case 3",
                             extra_headers={"Auto-Submitted": "auto-replied",
                                            "In-Reply-To": "<q2@clinic.example>"}))
    rest += [b"\x00\xff garbage \r\n\r\n", b"", b"From: x@clinic.example\r\nSubject: 43214?\r\n",
             b"Subject: no sender 43214\r\n\r\nCan I bill 43214?\r\n",
             consultation(message_id="big@clinic.example", body="43239? " + "x" * 90_000)]
    while len(rest) < 100:
        rest.append(consultation(message_id=f"n{len(rest)}@clinic.example",
                                 sender=rng.choice(senders),
                                 subject=f"{rng.choice(['J1100', '20610', '99214'])} units?",
                                 body=f"How many units of J1100 for {rng.randint(1, 40)} mg?"))
    mails = [*firsts, *_corpus()[:150]]
    while len(rest) < 110:  # exact duplicates, some in the same chunk as their first copy
        rest.append(rng.choice([*mails[-20:], *rest]))
    rng.shuffle(rest)
    return [*mails, *rest]


def _dump(engine: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every table in id order, ids replaced by positions (foreign keys too)."""
    with engine.connect() as c:
        tables = {t: [dict(r._mapping) for r in c.execute(text(f"select * from {t} order by id"))]
                  for t in TABLES}
    position = {t: {row["id"]: n for n, row in enumerate(rows)} for t, rows in tables.items()}
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table, rows in tables.items():
        out[table] = [tuple(sorted(
            (k, position[REFERENCES[k]].get(v, v) if k in REFERENCES and v is not None else v)
            for k, v in row.items() if k != "id")) for row in rows]
    return out


def test_ingest_and_ingest_batch_write_identical_tables(
        make_settings: Callable[..., Any], engine_for: Callable[[str], Any], db_url: str,
        starter_kb: KnowledgeBase, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    mails = _mails()
    assert len(mails) == 300
    settings = make_settings(database_url=db_url, secret_key=SECRET, from_address=OURS,
                             trusted_authserv_ids=MX, max_message_bytes=60_000)
    own = own_addresses(settings)
    # both paths get the same parse and analysis (done once here): the point is the writes
    ahead: dict[bytes, AnalyzedMail] = {raw: analyze_raw(raw, starter_kb, own_addresses=own)
                                    for raw in dict.fromkeys(mails)}
    dumps, outcomes = [], []
    for path in ("one by one", "batch"):
        url = db_url if path == "one by one" else _second_database(db_url, tmp_path, request)
        engine = engine_for(url)
        results = []
        if path == "one by one":  # each mail in its own savepoint, committed now and then
            with session(engine) as s:
                for n, raw in enumerate(mails, 1):
                    results.append(ingest(s, raw, starter_kb, settings, source="imap", now=NOW,
                                          mailbox="box", uidvalidity=7, uid=n,
                                          prepared=ahead.get(raw)))
                    if n % 25 == 0:
                        s.commit()
                s.commit()
        else:
            for start in range(0, len(mails), CHUNK):
                chunk = [Arrival(raw, n) for n, raw in
                         enumerate(mails[start:start + CHUNK], start + 1)]
                with session(engine) as s:
                    results += ingest_batch(s, chunk, starter_kb, settings, source="imap",
                                            now=NOW, mailbox="box", uidvalidity=7,
                                            prepare=lambda raws: (ahead[r] for r in raws))
                    s.commit()
        outcomes.append([(r.outcome, r.reason) for r in results])
        dumps.append(_dump(engine))

    assert outcomes[0] == outcomes[1]
    for table in TABLES:
        assert dumps[0][table] == dumps[1][table], table
    kinds = {o for o, _ in outcomes[0]}
    assert kinds == {"case", "followup", "quarantined", "duplicate"}
    assert sum(o == "followup" for o, _ in outcomes[0]) >= 25
    claims = [dict(r)["claims_case_id"] for r in dumps[0]["cases"]]
    assert sum(c is not None for c in claims) >= 4


def _second_database(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Another empty database of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'batch.db'}"
    return request.getfixturevalue("pg_databases")()  # type: ignore[no-any-return]
