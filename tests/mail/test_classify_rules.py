"""The never-answer rules: each fires on its signal and stays quiet on a normal question."""

from __future__ import annotations

import pytest

from consult.mail.parse import parse_message


def kind_of(headers: str, body: str = "Question about 99213.", **kw: frozenset[str]) -> str:
    raw = f"From: Coder <coder@clinic.example>\nSubject: 99213 question\n{headers}\n{body}\n"
    return parse_message(raw.encode(), **kw).kind


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ("Auto-Submitted: auto-replied\n", "auto_reply"),
        ("Auto-Submitted: auto-generated; owner-email=x@y\n", "auto_reply"),
        ("Auto-Submitted: no\n", "question"),
        ("Return-Path: <>\n", "auto_reply"),
        ("Return-Path: <coder@clinic.example>\n", "question"),
        ("X-Autoreply: yes\n", "auto_reply"),
        ("X-Autorespond: on\n", "auto_reply"),
        ("X-Loop: vacation@clinic.example\n", "auto_reply"),
        ("Precedence: bulk\n", "auto_reply"),
        ("Precedence: junk\n", "auto_reply"),
        ("Precedence: list\n", "auto_reply"),
        ("X-Auto-Response-Suppress: All\n", "question"),
        ("X-Auto-Response-Suppress: OOF, AutoReply\n", "question"),
        ("List-Id: Coders <coders.lists.example>\n", "mailing_list"),
        ("List-Unsubscribe: <mailto:leave@lists.example>\n", "mailing_list"),
        ("X-Failed-Recipients: gone@x.example\n", "bounce"),
        ("X-Consult-Loop: consult.example\n", "loop"),
    ],
)
def test_header_rules(headers: str, kind: str) -> None:
    assert kind_of(headers) == kind


@pytest.mark.parametrize(
    "subject",
    ["Out of Office: 99213 question", "Automatic reply: 99213", "AW: Abwesenheitsnotiz",
     "Auto-Reply: away", "Réponse automatique : absent", "I am out of the office until Monday",
     "RE: Out of office"],
)
def test_out_of_office_subjects(subject: str) -> None:
    raw = f"From: c@clinic.example\nSubject: {subject}\n\nI am away.\n".encode()
    assert parse_message(raw).kind == "auto_reply"


@pytest.mark.parametrize(
    "subject",
    ["Re: office visit 99213 vs 99214", "Question about auto accident claim (V43.52XA)",
     "Away-from-home dialysis 90970?", "absent pulse, which ICD-10?"],
)
def test_ordinary_subjects_are_questions(subject: str) -> None:
    raw = f"From: c@clinic.example\nSubject: {subject}\n\nPlease advise.\n".encode()
    mail = parse_message(raw)
    assert mail.kind == "question", mail.kind_reason


def test_mailer_daemon_and_dsn_are_bounces() -> None:
    daemon = b"From: MAILER-DAEMON@mx.example\nSubject: hi\n\nsorry\n"
    assert parse_message(daemon).kind == "bounce"
    dsn = (b"From: postmaster@mx.example\nSubject: x\nContent-Type: multipart/report; "
           b"report-type=delivery-status; boundary=\"r\"\n\n--r\nContent-Type: text/plain\n\n"
           b"failed\n--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
           b"Final-Recipient: rfc822; a@b\nAction: failed\nStatus: 5.1.1\n\n--r--\n")
    mail = parse_message(dsn)
    assert mail.kind == "bounce"
    report = dsn.replace(b"From: postmaster@mx.example", b"From: someone@mx.example")
    assert parse_message(report).kind_reason == "Content-Type multipart/report"


def test_bounce_subject_without_structure() -> None:
    raw = b"From: mail@mx.example\nSubject: Undelivered Mail Returned to Sender\n\nx\n"
    assert parse_message(raw).kind == "bounce"


def test_own_address_match_is_case_insensitive() -> None:
    raw = b"From: Desk <Coding@Consult.Example>\nSubject: Re: 99213\n\nanswer\n"
    mail = parse_message(raw, own_addresses=frozenset({"coding@consult.example"}))
    assert mail.kind == "loop"
    assert parse_message(raw).kind == "question"


def test_forwarded_bounce_inside_a_question_is_still_a_question() -> None:
    raw = (b"From: c@clinic.example\nSubject: Fwd: why did this bounce?\nContent-Type: "
           b"multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nSee below\n"
           b"--b\nContent-Type: message/rfc822\n\nFrom: MAILER-DAEMON@x\nSubject: Undeliverable"
           b"\nContent-Type: text/plain\n\nfail\n--b--\n")
    assert parse_message(raw).kind == "question"
