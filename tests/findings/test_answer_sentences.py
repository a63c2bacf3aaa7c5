"""How findings become a part's answer, on the KB built from the real CMS files and the
ICD-10-CM tabular: a period asked without dates, a modifier's place on an edit, codes reported
with 50, combination codes that keep a code their note asks for, and frequency questions that
our sources cannot answer. Expected facts are read from the files (RVU25D global days and
bilateral indicators, NCCI v30.1 rows, the FY2026 tabular notes), not from our own output.
"""

from __future__ import annotations

from consult.kb.store import KnowledgeBase
from consult.pipeline import Analysis, analyze


def _mail(body: str, subject: str = "coding question") -> bytes:
    return (f"From: Coder <coder@clinic.example>\r\nTo: consult@consult.test\r\n"
            f"Subject: {subject}\r\nDate: Wed, 10 Dec 2025 11:42:00 -0500\r\n"
            f"Message-ID: <t{abs(hash(body))}@clinic.example>\r\n\r\n{body}\r\n").encode()


def _run(kb: KnowledgeBase, body: str) -> Analysis:
    return analyze(_mail(body), kb, case_id=3)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_global_days_asked_without_dates(real_kb: KnowledgeBase) -> None:
    a = _run(real_kb, "Does the op note for 47562 have to be signed before we drop the claim?"
                      "\n\nHow many global days does 47562 have?")
    signed, days = a.parts
    assert signed.type == "documentation" and not signed.answerable
    # RVU25D: 47562 GLOB DAYS 090
    assert "47562 has a 90-day global period" in days.answer
    assert "ends" not in days.answer  # no surgery date in the mail: no end date invented


def test_an_indicator_1_edit_says_where_the_modifier_goes(real_kb: KnowledgeBase) -> None:
    # NCCI v30.1: column 1 17110, column 2 11102, modifier indicator 1
    a = _run(real_kb, "The scrubber pairs 17110 with 11102 on the same day. Which one gets the "
                      "modifier, and which modifier?")
    answer = _flat(a.parts[0].answer)
    assert "11102 is bundled into 17110" in answer
    assert "the modifier goes on 11102: XS, XE, XP or XU where one fits, else 59" in answer


def test_codes_reported_with_50_in_one_sentence_and_no_two_units(
    real_kb: KnowledgeBase,
) -> None:
    # RVU25D: 64493, 64494 and 64495 have bilateral indicator 1; MUE 1 each (2026 Q2)
    a = _run(real_kb, "Bilateral L3-4, L4-5, L5-S1 facet injections on 11/14/2025, Medicare. "
                      "Do we bill 64493-50, 64494-50, 64495-50? or 64493 x2, 64494 x2 etc?\n\n"
                      "And how many sessions a year are allowed?")
    answer = _flat(a.parts[0].answer)
    assert "Report 64493-50, 64494-50 and 64495-50, each on one line with 1 unit" in answer
    assert "2 units of 64493 are over" not in answer
    frequency = a.parts[1]
    assert frequency.type == "coverage" and not frequency.answerable
    assert "frequency limits" in frequency.answer


def test_a_combination_code_keeps_the_code_its_note_asks_for(real_kb: KnowledgeBase) -> None:
    # FY2026 tabular: I12 includes "any condition in N18 ... due to hypertension"; I12.9 is
    # stage 1-4 (I12.0 stage 5/ESRD) and says "use additional code to identify the stage"
    # (N18.1-N18.4, N18.9); E11.22 likewise asks for the stage (N18.1-N18.6)
    a = _run(real_kb, "Dx set: E11.9, N18.31, I10, Z79.4. Can you check this dx set?")
    answer = _flat(a.parts[0].answer)
    assert "Use the combination code I12.9 instead of I10, and keep N18.31" in answer
    assert "Use the combination code E11.22 instead of E11.9, and keep N18.31" in answer
    assert "I12.0" not in answer
