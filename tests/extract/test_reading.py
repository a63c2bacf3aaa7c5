"""Reading a mail as a coder does: forwarded questions, our own quoted answer, each line's date,
alternatives, payer class and typed question parts. Pure: literal mails in, readings out."""

from __future__ import annotations

from datetime import date

from consult.extract import extract
from consult.extract.narrative import payer_class
from consult.extract.questions import question_parts, question_type
from consult.extract.when import find_dates
from consult.kb.store import KnowledgeBase
from consult.mail.parse import parse_message

REF = date(2025, 11, 3)


def _mail(body: str, subject: str = "question", to: str = "consult@consult.test") -> bytes:
    return (f"From: Dana <dana@clinic.example>\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Mon, 03 Nov 2025 09:00:00 -0500\r\nMessage-ID: <r@clinic.example>\r\n\r\n"
            f"{body}").encode()


def test_relative_dates_resolve_against_the_mail() -> None:
    found = {d.kind: d for d in find_dates("seen yesterday; six weeks post-op; POD 5", REF)}
    assert found["relative"].on == date(2025, 11, 2)
    assert found["after"].after_days in (42, 5)
    assert [d.on for d in find_dates("lap chole 9/28, seen 10/14", REF)] == [
        date(2025, 9, 28), date(2025, 10, 14)]
    assert find_dates("1/2 hour of 5-10 minutes", REF) == []  # not dates


def test_each_line_gets_its_own_date(starter_kb: KnowledgeBase) -> None:
    mail = parse_message(_mail("TKA 27447 on 9/9/25. Seen 35 days after for a cold, billed "
                               "99213. Modifier?"))
    lines = {ln.code: ln for ln in extract(mail, starter_kb).service_lines}
    assert lines["27447"].date_of_service == date(2025, 9, 9)
    assert lines["99213"].date_of_service == date(2025, 10, 14)


def test_a_dated_list_is_one_line_per_date(starter_kb: KnowledgeBase) -> None:
    mail = parse_message(_mail("Debridement 11042 on 10/1, 10/8 and 10/15/2025. Modifier?"))
    dates = [ln.date_of_service for ln in extract(mail, starter_kb).service_lines]
    assert dates == [date(2025, 10, 1), date(2025, 10, 8), date(2025, 10, 15)]


def test_alternatives_are_choices(starter_kb: KnowledgeBase) -> None:
    ex = extract(parse_message(_mail("Do we bill 74176 + 74177, or 74178? And 25 or 57 on "
                                     "99213 with 20610?")), starter_kb)
    kinds = {a.kind: a for a in ex.alternatives}
    assert kinds["codings"].options == (("74176", "74177"), ("74178",))
    assert kinds["modifiers"].code == "99213"
    [em] = [ln for ln in ex.service_lines if ln.code == "99213"]
    assert em.modifier_options == ["25", "57"] and em.modifiers == []


def test_our_own_quoted_answer_stays_history(starter_kb: KnowledgeBase) -> None:
    body = ("Thanks - and what about 43239?\r\n\r\nOn Mon, Nov 3, 2025 at 9:00 AM Consult "
            "<consult@consult.test> wrote:\r\n> 43200 is bundled into 43214 (indicator 0).\r\n")
    ex = extract(parse_message(_mail(body, "Re: EGD [Case #4]")), starter_kb)
    assert not ex.forwarded
    assert {c.code: c.where for c in ex.codes}["43200"] == "quoted"


def test_payer_class_never_calls_a_medicare_advantage_plan_commercial() -> None:
    assert payer_class("Humana", "Humana Gold Plus member") == "medicare_advantage"
    assert payer_class("UnitedHealthcare", "UHC AARP Medicare Advantage") == "medicare_advantage"
    assert payer_class("Humana", "Humana commercial HMO") == "commercial"
    assert payer_class("Medicaid", "Ohio Medicaid") == "medicaid"
    assert payer_class(None, "no payer named") is None


def test_question_parts_are_split_and_typed() -> None:
    parts = question_parts(["1) Can we bill 20610 with 99213?\n2) Which modifier, 25 or 59?\n"
                            "3) Does Aetna require a prior auth?"], "", ["20610", "99213"])
    assert [p.type for p in parts] == ["bill_together", "which_modifier", "payer_policy"]
    assert question_type("What does the note need to document for 99215?") in (
        "documentation", "other")
    assert question_type("Is J1030 still valid?") == "code_validity"
    assert question_type("What is the national Medicare rate for 99214?") == "payment"
