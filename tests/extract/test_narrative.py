"""Question, date of service, payer, setting and PHI spans."""

from __future__ import annotations

from datetime import date

import pytest

from consult.extract import extract
from consult.extract.narrative import date_of_service, payer, setting
from consult.extract.questions import split_question
from consult.mail.message import ParsedMail


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Medicare Advantage plan", "Medicare Advantage"), ("pt has UHC", "UnitedHealthcare"),
     ("Blue Cross denied", "BCBS"), ("workers' comp claim", "Workers' Compensation"),
     ("traditional Medicare", "Medicare"), ("Tricare patient", "Tricare"), ("no payer", None)],
)
def test_payer(text: str, expected: str | None) -> None:
    assert payer(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("DOS 3/4/2025", date(2025, 3, 4)), ("date of service: March 4, 2025", date(2025, 3, 4)),
     ("DOS 2025-03-04", date(2025, 3, 4)), ("DOB 3/4/1950", None)],
)
def test_date_of_service(text: str, expected: date | None) -> None:
    assert date_of_service(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("POS 22", "hospital outpatient"), ("at our ASC", "ASC"), ("inpatient stay", "inpatient"),
     ("seen in the office", "office"), ("nothing", None)],
)
def test_setting(text: str, expected: str | None) -> None:
    assert setting(text) == expected


def test_question_sentences() -> None:
    body = "Hi team,\nWe did an EGD today. Can I bill 43214 with 43200? Thanks"
    assert split_question([body]) == ["Can I bill 43214 with 43200?"]
    assert split_question(["No question here."], "RE: [Case #12] 43239 denial") == [
        "43239 denial"]


def test_phi_spans_index_their_text() -> None:
    body = ("Patient: Harold Finch, DOB 04/12/1950, MRN 00452318, SSN 123-45-6789.\n"
            "Lives at 12 Elm Street. Call 614-555-0143 or hfinch@example.org")
    ext = extract(ParsedMail(None, "q", "a@b.example", text=body))
    spans = {p.kind: body[p.start:p.end] for p in ext.phi}
    assert spans["name"] == "Harold Finch"
    assert spans["dob"] == "04/12/1950"
    assert spans["mrn"] == "00452318"
    assert spans["ssn"] == "123-45-6789"
    assert spans["phone"] == "614-555-0143"
    assert spans["email"] == "hfinch@example.org"
    assert spans["address"].startswith("12 Elm Street")
