"""A fortnight at a small desk, made with the real intake, review actions and sender, at known
times: the dashboard tests compare its figures with what happened here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from support.mails import consultation

from consult import review
from db.engine import session
from web.conftest import WebApp
from workers.sender import Sender

MONDAY = datetime(2026, 10, 26, 9, 0, tzinfo=UTC)  # the week of Oct 26, then of Nov 2
NOW = datetime(2026, 11, 8, 12, 0, tzinfo=UTC)  # a Sunday: the window ends in Nov 2's week
RITA, ADAM = "rita@consult.test", "adam@consult.test"


@dataclass
class Desk:
    egd: int  # answered as drafted after 4 h (rita)
    knee: int  # edited and answered after 30 h: late (adam)
    colo: int  # answered as drafted after 1.5 h (rita)
    aetna: int  # needs an expert; adam asked the sender
    auto: int  # an auto-reply: quarantined
    units: int  # needs an expert; still waiting for review: overdue at NOW
    closed: int  # closed by rita without a reply
    edit_lines: int  # lines adam added or removed on the knee reply


def _at(web: WebApp, when: datetime) -> None:
    web.clock.now = when


def _approve(web: WebApp, case_id: int, who: str, body: str | None = None) -> None:
    with session(web.engine) as s:
        review.approve(s, case_id, web.settings, actor=who, now=web.clock(), body_text=body)
        s.commit()
    assert Sender(web.settings, web.engine, clock=web.clock).run_once().sent == 1


def make_desk(web: WebApp) -> Desk:
    """The fortnight; leaves the clock at NOW."""
    _at(web, MONDAY)
    egd = web.ingest(consultation(message_id="egd@x"))
    _at(web, MONDAY + timedelta(hours=4))
    _approve(web, egd, RITA)

    _at(web, MONDAY + timedelta(days=1, hours=1))
    knee = web.ingest(consultation(message_id="knee@x", subject="Knee injection units",
                                   body="Can we bill 20610 with J1030 x 2? Does Aetna need a prior "
                                        "auth for it?\n\nLee",
                                   sender="lee@ortho.example", name="Lee Park"))
    _at(web, MONDAY + timedelta(days=2, hours=7))  # 30 h after it arrived
    with session(web.engine) as s:
        draft = review.latest_draft(s, knee)
        assert draft is not None
        lines = draft.body_text.splitlines()
    edited = "\n".join([*lines[:-1], "J1030 is per 40 mg: bill 2 units for 80 mg.",
                        "Reviewed by Adam."]) + "\n"
    _approve(web, knee, ADAM, body=edited)
    with session(web.engine) as s:
        [reply] = review.replies(s, knee)
        edit_lines = sum(1 for line in (reply.diff_text or "").splitlines()
                         if line[:1] in "+-" and not line.startswith(("+++", "---")))

    _at(web, MONDAY + timedelta(days=7, hours=-1))  # Nov 2, 08:00
    colo = web.ingest(consultation(message_id="colo@x", subject="Colonoscopy",
                                   body="45378 and 45380 same session? Modifier?\n\nSam",
                                   sender="sam@gi.example", name="Sam Ortiz"))
    _at(web, web.clock() + timedelta(hours=1, minutes=30))
    _approve(web, colo, RITA)

    _at(web, MONDAY + timedelta(days=8))  # Nov 3
    aetna = web.ingest(consultation(message_id="aetna@x", subject="Aetna prior auth",
                                    body="Does Aetna require a prior authorization for 64483? "
                                         "Thanks\n\nLee", sender="lee@ortho.example"))
    _at(web, web.clock() + timedelta(hours=2))
    with session(web.engine) as s:
        review.ask_for_info(s, aetna, web.settings, "Which Aetna plan is it?", actor=ADAM,
                            now=web.clock())
        s.commit()

    _at(web, MONDAY + timedelta(days=9))  # Nov 4
    auto = web.ingest(consultation(message_id="ooo@x", subject="Out of office",
                                   body="I am away.",
                                   extra_headers={"Auto-Submitted": "auto-replied"}))
    _at(web, MONDAY + timedelta(days=10))  # Nov 5: waits past the SLA
    units = web.ingest(consultation(message_id="units@x", subject="units",
                                    body="How many units of 96372 can we bill per day, and "
                                         "does Humana require a prior authorization?\n\nKim",
                                    sender="kim@clinic.example"))
    closed = web.ingest(consultation(message_id="dup@x", subject="never mind",
                                     body="Can we bill 43214 with 43200?\n\nDana"))
    _at(web, web.clock() + timedelta(hours=1))
    with session(web.engine) as s:
        review.close(s, closed, actor=RITA, now=web.clock(), reason="asked again by phone")
        s.commit()
    _at(web, NOW)
    return Desk(egd, knee, colo, aetna, auto, units, closed, edit_lines)
