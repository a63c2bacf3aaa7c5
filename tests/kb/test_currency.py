"""Which period each table is for, and whether it covers a date of service."""

from __future__ import annotations

from datetime import date

import pytest

from consult.kb.currency import period, table_currency
from consult.kb.model import SourceVersion
from consult.kb.store import KnowledgeBase


@pytest.mark.parametrize(("name", "version", "effective", "label", "first", "last"), [
    ("ncci_ptp_practitioner", "30.1", "2024-04-01", "2024 Q2", "2024-04-01", "2024-06-30"),
    ("mue_dme", "2026Q2", "2026-04-01", "2026 Q2", "2026-04-01", "2026-06-30"),
    ("rvu", "RVU25D", "2025-10-01", "2025 Q4", "2025-10-01", "2025-12-31"),
    ("hcpcs", "2025-01", "2025-01-01", "2025 Q1", "2025-01-01", "2025-03-31"),
    ("aoc", "starter-2026Q2", "2026-04-01", "2026 Q2", "2026-04-01", "2026-06-30"),
    ("icd10cm", "FY2026", "2025-10-01", "FY2026", "2025-10-01", "2026-09-30"),
    ("mcd_documents", "2025-08-17", "2025-08-17", "as of 2025-08-17", "2025-08-17",
     "2025-08-17"),
    ("ptp_acme", "", "2025-01-01", "2025 Q1", "2025-01-01", "2025-03-31"),
])
def test_periods(name: str, version: str, effective: str, label: str, first: str,
                 last: str) -> None:
    got = period(SourceVersion(name, version, effective))
    assert got == (label, date.fromisoformat(first), date.fromisoformat(last))


def test_undated_sources() -> None:
    assert period(SourceVersion("modifiers", "2026.11", "")) == ("", None, None)
    assert period(SourceVersion("ncci_ptp_practitioner", "unversioned", "")) == ("", None, None)


def test_dates_of_service_against_a_quarter() -> None:
    sv = SourceVersion("mue_practitioner", "2026Q2", "2026-04-01")
    assert table_currency(sv, None).status == "current"
    assert table_currency(sv, date(2026, 6, 30)).status == "covers"
    after = table_currency(sv, date(2026, 7, 1))
    assert after.status == "after" and "in the newest table we hold" in after.note
    assert "2026Q2" in after.note and after.through == date(2026, 6, 30)
    before = table_currency(sv, date(2026, 3, 31))
    assert before.status == "before" and "took effect after" in before.note


def test_kb_currency(starter_kb: KnowledgeBase) -> None:
    on = date(2026, 5, 1)
    by_name = {t.name: t for t in starter_kb.currency(on)}
    assert by_name["mue_practitioner"].status == "covers"
    assert by_name["ncci_ptp_practitioner"].status == "after"
    assert by_name["rvu"].period == "2025 Q4" and by_name["rvu"].status == "after"
    assert by_name["modifiers"].status == "undated"
    assert starter_kb.table_currency("icd10cm", on).status == "covers"  # type: ignore[union-attr]
    assert starter_kb.table_currency("mcd_documents", on) is None
