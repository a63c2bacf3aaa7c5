"""The starter KB the project ships: enough to answer the demo questions without CMS files."""

from __future__ import annotations

import csv
import gzip
import itertools
from datetime import date

from consult.kb.starter import starter_rows
from consult.kb.store import KnowledgeBase
from tests.kb.conftest import RVU, cms


def test_starter_has_150_lay_cpt_descriptions_across_the_families() -> None:
    rows = {r["code"]: r for r in starter_rows("cpt.csv")}
    active = [c for c, r in rows.items() if r["status"] == "active"]
    assert len(active) >= 150
    required = [f"992{n:02d}" for n in (2, 3, 4, 5, 11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33)]
    required += ["99281", "99282", "99283", "99284", "99285", "74360", "76000", "43197",
                 "43198", "43200", "43235", "43239", "43286", "44405", "45378", "45380",
                 "45385", "43195", "43196", "43213", "43214", "43220", "43226", "43233",
                 "43248", "43249", "43450", "43453"]
    missing = [c for c in required if c not in rows]
    assert missing == []


def test_starter_descriptions_are_not_the_cms_short_descriptors() -> None:
    """Our lay wording, never the AMA text: none equals the descriptor in the RVU file."""
    with gzip.open(cms(RVU), "rt", encoding="latin-1", newline="") as fh:
        official = {row[0]: row[2].strip().lower() for row in csv.reader(fh) if len(row) > 3}
    same = [r["code"] for r in starter_rows("cpt.csv")
            if official.get(r["code"]) == r["description"].strip().lower()]
    assert same == []


def test_starter_modifiers_cover_the_common_ones(starter_kb: KnowledgeBase) -> None:
    needed = ["25", "26", "50", "51", "52", "53", "57", "58", "59", "76", "77", "78", "79",
              "91", "XE", "XP", "XS", "XU", "LT", "RT", "TC", "GA", "GX", "GY", "GZ", "PT",
              "33", "KX"]
    assert [m for m in needed if starter_kb.modifier(m) is None] == []
    assert len(starter_rows("modifiers.csv")) >= 60
    assert "indicator 0" in starter_kb.modifier("59").usage  # type: ignore[union-attr]


def test_deleted_and_terminated_codes_say_so_with_the_replacement(
    starter_kb: KnowledgeBase,
) -> None:
    old = starter_kb.code("43456")
    assert old is not None and old.status == "deleted"
    assert old.end_date == date(2013, 12, 31) and old.replaced_by == ("43213",)
    assert old.status_note().startswith("43456 is deleted")
    j = starter_kb.code("J1030", "HCPCS")
    assert j is not None and j.status == "terminated"
    assert j.end_date == date(2024, 3, 31) and j.replaced_by == ("J1010",)
    assert not j.valid_on(date(2024, 4, 1)) and j.valid_on(date(2024, 3, 31))
    assert starter_kb.code("43214").status_note() == ""  # type: ignore[union-attr]


def test_starter_ptp_answers_the_dilation_question(starter_kb: KnowledgeBase) -> None:
    """Indicators as in the CMS practitioner table v30.1 (74360 is 0 there, 76000 is 1)."""
    got = {c2: starter_kb.ptp("43214", c2) for c2 in ("43197", "43198", "43200", "74360",
                                                       "76000")}
    assert {c: e.modifier_indicator for c, e in got.items() if e} == {
        "43197": "0", "43198": "0", "43200": "0", "74360": "0", "76000": "1"}
    assert starter_kb.ptp("43200", "43214") is None  # order matters
    assert "v30.1" in got["43200"].source or "30.1" in got["43200"].source  # type: ignore[union-attr]
    pairs = starter_kb.ptp_pairs(["43200", "43214", "99213"])
    assert {(e.column1, e.column2) for e in pairs} >= {("43214", "43200")}


def test_starter_mue_addon_pfs_and_guidelines(starter_kb: KnowledgeBase) -> None:
    assert starter_kb.mue("43214").value == 1  # type: ignore[union-attr]
    assert starter_kb.mue("43214", "hospital") is not None
    rule = starter_kb.addon("11045")
    assert rule is not None and "11042" in rule.primaries
    assert starter_kb.addon("43214") is None
    assert starter_kb.pfs("43214").global_days == "000"  # type: ignore[union-attr]
    assert any("dilation" in g for g in starter_kb.guidelines("43214"))


def test_citations_read_well(starter_kb: KnowledgeBase) -> None:
    cite = starter_kb.citation("ncci_ptp_practitioner")
    assert cite.startswith("CMS NCCI PTP edits (practitioner)")
    assert "2024-04-01" in cite and "vstarter" not in cite
    assert starter_kb.citation("icd10cm") == "ICD-10-CM tabular list FY2026, effective 2025-10-01"


def test_suggest_ranks_lay_descriptions(starter_kb: KnowledgeBase) -> None:
    got = starter_kb.suggest("colonoscopy with snare removal of a polyp", limit=5)
    assert got and got[0].code == "45385"
    assert all(a.score >= b.score for a, b in itertools.pairwise(got))
    deleted = starter_kb.suggest("retrograde widening esophagus", limit=20)
    assert "43456" not in [s.code for s in deleted]  # retired codes are not proposed
    assert starter_kb.suggest("a an") == []
