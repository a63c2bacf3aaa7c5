"""HCPCS drug doses and replacements: the billing unit read from real long descriptors, the
units a stated dose comes to (rounded up), and terminated codes with the replacement the HCPCS
file's cross-reference names, with the dates."""

from __future__ import annotations

from datetime import date

import pytest

from consult.kb.doses import billing_units, parse_dose_unit, parse_stated_dose
from consult.kb.sources import hcpcs
from consult.kb.sources.files import SourceFile
from consult.kb.store import KnowledgeBase
from tests.kb.conftest import HCPCS_2020, HCPCS_2025, cms


@pytest.fixture(scope="module")
def descriptors() -> dict[str, str]:
    sf = SourceFile(cms(HCPCS_2025))
    return {r.code: r.long for r in hcpcs.parse_hcpcs_text(sf.lines("cp1252"), sf.label)
            if not r.is_modifier}


@pytest.mark.parametrize(("code", "kind", "amount", "unit"), [
    ("J1100", "per", "1", "mg"),          # dexamethasone sodium phosphate, 1 mg
    ("J0696", "per", "250", "mg"),        # ceftriaxone sodium, per 250 mg
    ("J3301", "per", "10", "mg"),         # triamcinolone acetonide, NOS, 10 mg
    ("J2550", "up_to", "50", "mg"),       # promethazine, up to 50 mg
    ("J3420", "up_to", "1000", "mcg"),    # vitamin B-12, up to 1000 mcg
    ("J7050", "per", "250", "ml"),        # normal saline, 250 cc
    ("J0585", "per", "1", "unit"),        # onabotulinumtoxinA, 1 unit
    ("J1815", "per", "5", "unit"),        # insulin, per 5 units
    ("J2995", "per", "250000", "iu"),     # streptokinase, per 250,000 iu
    ("J7190", "per", "1", "iu"),          # factor VIII (..., human) per i.u.
    ("J1885", "per", "15", "mg"),         # ketorolac, per 15 mg
])
def test_dose_units_from_real_descriptors(descriptors: dict[str, str], code: str, kind: str,
                                          amount: str, unit: str) -> None:
    got = parse_dose_unit(code, descriptors[code])
    assert got is not None, descriptors[code]
    assert (got.kind, got.amount, got.unit) == (kind, amount, unit)


def test_descriptors_without_a_usable_unit(descriptors: dict[str, str]) -> None:
    assert parse_dose_unit("J3490", descriptors["J3490"]) is None  # unclassified drugs
    assert parse_dose_unit("J0702", descriptors["J0702"]) is None  # a two-drug combination
    share = sum(parse_dose_unit(c, d) is not None for c, d in descriptors.items()
                if c.startswith("J"))
    assert share >= 1000  # of 1,121 J codes in the 2025 file


@pytest.mark.parametrize(("text", "amount", "unit"), [
    ("dexamethasone 8 mg IV", "8", "mg"),
    ("gave 1 g ceftriaxone IM", "1", "g"),
    ("80mg Kenalog into the knee", "80", "mg"),
    ("Kenalog 40 mg/ml, 2 ml injected", "80", "mg"),
    ("B12 1,000 mcg", "1000", "mcg"),
    ("Botox 100 units", "100", "unit"),
    ("0.5 ml", "0.5", "ml"),
])
def test_stated_doses(text: str, amount: str, unit: str) -> None:
    got = parse_stated_dose(text)
    assert got is not None and (got.amount, got.unit) == (amount, unit)


def test_no_dose_in_the_text() -> None:
    assert parse_stated_dose("injection given, see chart") is None


@pytest.mark.parametrize(("code", "dose", "units", "exact"), [
    ("J1100", "dexamethasone 8 mg", 8, True),
    ("J0696", "1 g ceftriaxone", 4, True),
    ("J0696", "500 mg", 2, True),
    ("J0696", "300 mg", 2, False),      # 1.2 units: bill 2
    ("J3301", "80 mg Kenalog", 8, True),
    ("J3301", "Kenalog 40 mg/ml, 2 ml", 8, True),
    ("J2550", "promethazine 25 mg", 1, False),  # up to 50 mg: one unit
    ("J2550", "75 mg", 2, False),
    ("J3420", "1000 mcg", 1, True),
    ("J3420", "1 mg", 1, True),         # 1 mg = 1000 mcg
    ("J0585", "Botox 155 units", 155, True),
    ("J7050", "500 ml normal saline", 2, True),
    ("J1100", "0.5 mg", 1, False),
])
def test_units_from_stated_doses(real_kb: KnowledgeBase, code: str, dose: str, units: int,
                                 exact: bool) -> None:
    got = real_kb.drug_units(code, dose)
    assert got.status == "ok", got.note
    assert (got.units, got.exact) == (units, exact)
    assert f"{units} unit" in got.note


def test_incompatible_and_missing_units_are_said_plainly(real_kb: KnowledgeBase) -> None:
    ml = real_kb.drug_units("J3301", "2 ml Kenalog")
    assert ml.status == "incompatible" and ml.units is None
    assert "ml" in ml.note and "per 10 mg" in ml.note and "concentration" in ml.note
    assert real_kb.drug_units("J0585", "100 mg").status == "incompatible"
    nos = real_kb.drug_units("J3490", "10 mg")
    assert nos.status == "no_dose_unit" and "states no dose unit" in nos.note
    assert real_kb.drug_units("J0696", "see chart").status == "no_dose"
    assert real_kb.drug_units("J0001", "10 mg").status == "unknown_code"
    unit = parse_dose_unit("J1100", "Injection, dexamethasone sodium phosphate, 1 mg")
    assert billing_units("8 mg", unit).units == 8  # the pure function, no KB


def test_kb_dose_unit_and_show(real_kb: KnowledgeBase) -> None:
    got = real_kb.dose_unit("J0696")
    assert got is not None and got.label() == "per 250 mg"
    assert real_kb.dose_unit("99213") is None


def test_terminated_codes_carry_the_files_replacement(real_kb: KnowledgeBase) -> None:
    c = real_kb.code("C9014")  # cerliponase alfa, crosswalked to J0567
    assert c is not None and c.status == "terminated"
    assert (c.end_date, c.replaced_by) == (date(2018, 12, 31), ("J0567",))
    assert c.status_note() == "C9014 is terminated (last valid 2018-12-31); report J0567 instead."
    j = real_kb.code("J9010")  # alemtuzumab 10 mg -> J0202
    assert j is not None and j.replaced_by == ("J0202",) and j.end_date == date(2015, 12, 31)
    assert j.action_date == date(2016, 1, 1) and j.effective_date == date(2003, 1, 1)
    ramu = real_kb.code("C9025")
    assert ramu is not None and ramu.replaced_by == ("J9308",)
    assert real_kb.replacements("C9025") == ["J9308"]
    # the 2025 file leaves J1030 without a cross-reference; the project's history names J1010
    assert real_kb.replacements("J1030") == ["J1010"]
    assert real_kb.replacements("J1010") == []


def test_old_release_keeps_codes_the_newer_one_dropped() -> None:
    sf = SourceFile(cms(HCPCS_2020))
    recs = {r.code: r for r in hcpcs.parse_hcpcs_text(sf.lines("cp1252"), sf.label)}
    assert recs["C9014"].xrefs == ("J0567",) and recs["C9014"].action == "N"
    new = SourceFile(cms(HCPCS_2025))
    recs25 = {r.code: r for r in hcpcs.parse_hcpcs_text(new.lines("cp1252"), new.label)}
    assert recs25["J9010"].xrefs == ("J0202",) and recs25["J9010"].coverage in "CDIMS"
