"""What extraction finds in literal sentences: codes, modifiers, units, ranges, and traps."""

from __future__ import annotations

import pytest

from consult.extract import extract
from consult.kb.store import KnowledgeBase
from consult.mail.message import Attachment, ParsedMail


def mail(
    text: str, subject: str = "question", quoted: str = "", attachment: str = ""
) -> ParsedMail:
    atts = [Attachment("a.txt", "text/plain", len(attachment), attachment)] if attachment else []
    return ParsedMail(None, subject, "coder@clinic.example", text=text, quoted=quoted,
                      attachments=atts)


def found(kb: KnowledgeBase, text: str) -> list[tuple[str, str, list[str], int | None]]:
    return [(c.system, c.code, c.modifiers, c.units) for c in extract(mail(text), kb).codes]


@pytest.mark.parametrize(
    ("text", "code", "mods"),
    [
        ("Can I bill 43214-59 with 43200?", "43214", ["59"]),
        ("We billed 43214 59 today.", "43214", ["59"]),
        ("Lines: 43214-59-RT and 43200.", "43214", ["59", "RT"]),
        ("Bill 43214 w/ mod XS please", "43214", ["XS"]),
        ("Should we put modifier -25 on the 99214?", "99214", ["25"]),
        ("Is 99214 with a 25 right?", "99214", ["25"]),
        ("Billed 45380 (mod 59).", "45380", ["59"]),
    ],
)
def test_modifier_phrasings(kb: KnowledgeBase, text: str, code: str, mods: list[str]) -> None:
    got = {c: m for _s, c, m, _u in found(kb, text)}
    assert got[code] == mods


@pytest.mark.parametrize(
    ("text", "units"),
    [("J1100 x 3 today", 3), ("gave 3 units of J1100", 3), ("J1100 (3 units)", 3),
     ("J1100 times 2", 2), ("J1100 alone", None)],
)
def test_units(kb: KnowledgeBase, text: str, units: int | None) -> None:
    assert found(kb, text) == [("HCPCS", "J1100", [], units)]


def test_units_default_to_one_in_json_only(kb: KnowledgeBase) -> None:
    ext = extract(mail("Bill J1100 please."), kb)
    assert ext.codes[0].units is None
    assert ext.to_json("question")["codes"][0]["units"] == 1


def test_lists_and_ranges(kb: KnowledgeBase) -> None:
    assert [c for _s, c, _m, _u in found(kb, "Can 43235, 43239 and 43249 go together?")] == [
        "43235", "43239", "43249"]
    assert [c for _s, c, _m, _u in found(kb, "E/M 99202-99205 for telehealth?")] == [
        "99202", "99203", "99204", "99205"]
    # An unknown end does not expand: both ends stand as written.
    assert [c for _s, c, _m, _u in found(kb, "CPT range 11055-11057 covered?")] == [
        "11055", "11057"]


@pytest.mark.parametrize(
    ("written", "system", "code"),
    [("dx K222", "ICD10CM", "K22.2"), ("dx s52521a", "ICD10CM", "S52.521A"),
     ("dx T7840XA", "ICD10CM", "T78.40XA"), ("Dx E1165 and Z794", "ICD10CM", "E11.65"),
     ("CPT II 3074F", "CPT", "3074F"), ("Cat III 0275T", "CPT", "0275T"),
     ("PLA code 0037U", "CPT", "0037U"), ("HCPCS G2211 add-on", "HCPCS", "G2211"),
     ("ICD-10-PCS 0DTJ4ZZ", "ICD10PCS", "0DTJ4ZZ")],
)
def test_code_shapes(kb: KnowledgeBase, written: str, system: str, code: str) -> None:
    assert (system, code) in [(s, c) for s, c, _m, _u in found(kb, written)]


@pytest.mark.parametrize(
    "text",
    [
        "Riverside GI, 1450 Olentangy River Rd, Columbus, OH 43214",
        "Call (614) 555-0199 or fax 614.555.0198",
        "DOS 03/15/2025 and 2025-03-15 and March 15, 2025",
        "Total billed $43,239.50 and $43214",
        "at 10:30 am",
        "NPI 1234567890, Tax ID 31-1234567, claim # 202543214, ICN 2224321456789",
        "MRN 43214, acct # 99213",
        "a 30 mm balloon, 20 Fr dilator, 5 mg, 10000 units of heparin",
        "in 2024 with NCCI version 31.0 and build 43214",
        "Spokane, WA 99204",
        "Ohio 43235",
    ],
)
def test_traps_are_not_codes(kb: KnowledgeBase, text: str) -> None:
    assert found(kb, text) == []


def test_where_and_known(kb: KnowledgeBase) -> None:
    m = mail("Can I bill 43214?", subject="RE: 43200 question",
             quoted="> we billed 45378 last time", attachment="Path: 88305 x 2")
    got = {c.code: c for c in extract(m, kb).codes}
    assert got["43200"].where == "subject"
    assert got["43214"].where == "body" and got["43214"].known and got["43214"].description
    assert got["45378"].where == "quoted"
    assert got["88305"].where == "attachment"
    assert got["88305"].known == kb.is_known("88305", "CPT")  # the KB decides, not a list here
    assert got["88305"].units == 2


def test_nothing_from_footer(kb: KnowledgeBase) -> None:
    text = "Can I bill 43239?\n\nCONFIDENTIALITY NOTICE: 43235 and 99213 are mentioned here."
    assert [c for _s, c, _m, _u in found(kb, text)] == ["43239"]


def test_without_kb_pattern_only(kb: KnowledgeBase) -> None:
    ext = extract(mail("CPT 43214-59 and dx K22.2"), None)
    assert [(c.code, c.known) for c in ext.codes] == [("43214", False), ("K22.2", False)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Billing J1100x3 with 96372.", [("HCPCS", "J1100", [], 3), ("CPT", "96372", [], None)]),
        ("CPT 97110x4 today", [("CPT", "97110", [], 4)]),
        ("Percutaneous testing 95004 times 40", [("CPT", "95004", [], 40)]),
        ("walker E0143-NU-KX and crutches E0114-RR", [("HCPCS", "E0143", ["NU", "KX"], None),
                                                     ("HCPCS", "E0114", ["RR"], None)]),
    ],
)
def test_glued_units_counted_words_and_dme_modifiers(
    kb: KnowledgeBase, text: str, expected: list[tuple[str, str, list[str], int | None]]
) -> None:
    assert found(kb, text) == expected


def test_procedure_words_are_not_traps(kb: KnowledgeBase) -> None:
    # "release 64721" is a carpal tunnel release, not a software release; "0FT" is not 0 feet.
    assert ("CPT", "64721") in [(s, c) for s, c, _m, _u in
                                found(kb, "Open carpal tunnel release 64721-RT today.")]
    assert ("ICD10PCS", "0FT44ZZ") in [(s, c) for s, c, _m, _u in
                                       found(kb, "Inpatient lap chole, ICD-10-PCS 0FT44ZZ.")]
    assert found(kb, "Software release 4.2.1 and release 2024.3 are installed.") == []


def test_remittance_codes_are_traps(kb: KnowledgeBase) -> None:
    got = found(kb, "Line 2 (96413) denied with CARC 97 / RARC N390.")
    assert [(s, c) for s, c, _m, _u in got] == [("CPT", "96413")]


def test_subject_code_confirmed_by_body(kb: KnowledgeBase) -> None:
    # 59510 is outside the starter KB and the subject has no context word; the body codes it.
    m = mail("I have 59510 and add-on 58611. Dx O34.211.", subject="59510 with tubal")
    got = {c.code: c.where for c in extract(m, kb).codes}
    assert got["59510"] == "subject"
    assert "with" not in got


def test_codes_beside_diagnoses_are_codes(kb: KnowledgeBase) -> None:
    got = found(kb, "MFM did 76811 at 20 weeks. Dx O0952 and Z3A20.")
    assert [(s, c) for s, c, _m, _u in got] == [
        ("CPT", "76811"), ("ICD10CM", "O09.52"), ("ICD10CM", "Z3A.20")]


def test_csv_attachment_columns(kb: KnowledgeBase) -> None:
    csv = "line,cpt,modifier,units,dx1\n1,43239,59,1,K21.9\n2,59400,,1,K22.2\n3,88305,,2,K21.9\n"
    got = {(c.code, c.where): (c.modifiers, c.units)
           for c in extract(mail("See attached.", attachment=csv), kb).codes}
    assert got[("43239", "attachment")] == (["59"], 1)
    assert got[("59400", "attachment")] == ([], 1)  # unknown to the KB: the column says code
    assert got[("88305", "attachment")] == ([], 2)
    assert ("K21.9", "attachment") in got
    assert not any(code in ("1", "2", "3") for code, _w in got)


def test_tab_table_columns(kb: KnowledgeBase) -> None:
    text = ("Lines below:\n\nLine\tCPT\tMod\tUnits\tDx\n1\t99285\t25\t1\tS06.0X1A\n"
            "2\tJ7325\t\t1\tM17.11\n3\t76942\tRT\t\t\n")
    got = {c: (m, u) for _s, c, m, u in found(kb, text)}
    assert got["99285"] == (["25"], 1)
    assert got["J7325"] == ([], 1)
    assert got["76942"] == (["RT"], None)


def test_prose_with_commas_is_no_table(kb: KnowledgeBase) -> None:
    text = "Code, modifier, units: all fine.\nWe billed 43239, 43249, 88305 x 2 today."
    got = {c: (m, u) for _s, c, m, u in found(kb, text)}
    assert got == {"43239": ([], None), "43249": ([], None), "88305": ([], 2)}
