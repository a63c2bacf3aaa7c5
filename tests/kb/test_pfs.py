"""Medicare PFS facts from the real RVU file (PPRRVU2025_Oct, RVU25D): status codes, PC/TC,
global days and shares, multiple procedure and endoscopy families, bilateral, assistant,
co-surgeon and team indicators, RVUs and the national payment computed by hand from the row."""

from __future__ import annotations

import csv
import gzip
import json

import pytest
from click.testing import CliRunner

from consult.cli import cli
from consult.kb import pfs_terms
from consult.kb.model import PfsInfo, national_payment
from consult.kb.sources import cms_tables
from consult.kb.sources.files import SourceFile
from consult.kb.starter import starter_pfs_row, starter_rows
from consult.kb.store import KnowledgeBase
from tests.kb.conftest import RVU, cms


@pytest.fixture(scope="module")
def rvu_rows() -> dict[tuple[str, str], cms_tables.RvuRow]:
    sf = SourceFile(cms(RVU))
    return {(r.code, r.modifier): r for r in cms_tables.parse_rvu(sf.lines("latin-1"), sf.label)}


def _raw(code: str, modifier: str = "") -> list[str]:
    """The row exactly as the CSV file has it (the hand calculation starts from this)."""
    with gzip.open(cms(RVU), "rt", encoding="latin-1", newline="") as fh:
        for row in csv.reader(fh):
            if row and row[0] == code and row[1] == modifier:
                return row
    raise AssertionError(f"{code} {modifier} not in the file")


def test_every_field_of_a_row_is_read(rvu_rows: dict[tuple[str, str], cms_tables.RvuRow]
                                      ) -> None:
    r = rvu_rows[("27447", "")]
    assert (r.status, r.work_rvu, r.nonfacility_pe_rvu, r.nonfacility_na, r.facility_pe_rvu,
            r.facility_na, r.mp_rvu, r.nonfacility_total, r.facility_total) == (
        "A", 19.60, 15.30, True, 15.30, False, 3.98, 38.88, 38.88)
    assert (r.pctc, r.global_days, r.pre_op, r.intra_op, r.post_op) == (
        "0", "090", 0.10, 0.69, 0.21)
    assert (r.mult_proc, r.bilat, r.assistant, r.co_surgeons, r.team) == ("2", "1", "2", "1",
                                                                           "0")
    assert (r.conversion_factor, r.supervision, r.imaging_family) == (32.3465, "09", "99")
    assert rvu_rows[("99417", "")].not_used_for_medicare  # the file's "+" flag
    assert {m for (c, m) in rvu_rows if c in ("45378", "G0121", "G0105")} == {"", "53"}
    assert {m for (c, m) in rvu_rows if c == "71046"} == {"", "26", "TC"}


@pytest.mark.parametrize(("code", "status", "words"), [
    ("99417", "I", "not valid for Medicare"),
    ("G2212", "A", "paid separately"),
    ("99024", "B", "bundled"),
    ("0001F", "I", "not valid for Medicare"),
    ("J1100", "E", "excluded"),
    ("00100", "J", "anesthesia"),
])
def test_status_codes_with_meanings(real_kb: KnowledgeBase, code: str, status: str,
                                    words: str) -> None:
    p = real_kb.pfs(code)
    assert p is not None and p.status == status
    assert words in pfs_terms.meaning("status", p.status)
    assert p.payable == (status in ("A", "R", "T"))
    assert p.version == "RVU25D" and "RVU25D" in p.source


def test_endoscopy_families(real_kb: KnowledgeBase) -> None:
    upper = real_kb.endoscopy_family("43235")
    assert upper is not None and upper.base == "43235"
    assert {"43239", "43251", "43249", "43270"} <= set(upper.members)
    assert len(upper.members) == 30 and "43235" not in upper.members
    assert real_kb.endoscopy_family("43239") == upper  # a member finds its family
    colon = real_kb.endoscopy_family("45385")
    assert colon is not None and colon.base == "45378" and "45380" in colon
    assert len(colon.members) == 15
    assert real_kb.pfs("45385").mult_proc == "3"  # type: ignore[union-attr]
    assert real_kb.endoscopy_family("99213") is None


@pytest.mark.parametrize(("code", "bilat"), [
    ("52000", "0"), ("27447", "1"), ("64721", "1"), ("69210", "2"), ("73560", "3"),
    ("99213", "0"), ("99024", "9")])
def test_bilateral_indicators(real_kb: KnowledgeBase, code: str, bilat: str) -> None:
    assert real_kb.pfs(code).bilat == bilat  # type: ignore[union-attr]
    assert pfs_terms.meaning("bilat", bilat)


def test_pctc_indicators_for_the_ecg_family(real_kb: KnowledgeBase) -> None:
    assert [real_kb.pfs(c).pctc for c in ("93000", "93010", "93005")] == [  # type: ignore[union-attr]
        "4", "2", "3"]
    assert "professional-component-only" in pfs_terms.meaning("pctc", "2")
    x_ray = real_kb.pfs_rows("71046")
    assert [r.modifier for r in x_ray] == ["", "26", "TC"]
    assert all(r.pctc == "1" for r in x_ray)
    assert x_ray[1].work_rvu == x_ray[0].work_rvu and x_ray[2].work_rvu == 0


def test_national_payments_computed_by_hand(real_kb: KnowledgeBase) -> None:
    # total RVUs (columns 12, 13) x conversion factor (column 25), rounded to the cent
    row = _raw("93000")
    assert (row[11], row[12], row[24]) == ("0.43", "0.43", "32.3465")
    assert real_kb.pfs("93000").payment_nonfacility == 13.91  # 0.43 x 32.3465 = 13.9090
    colon = real_kb.pfs("45378")
    assert (colon.payment_nonfacility, colon.payment_facility) == (327.67, 177.26)  # type: ignore[union-attr]
    # 10.13 x 32.3465 = 327.6700, 5.48 x 32.3465 = 177.2588
    reduced = real_kb.pfs("45378", "53")
    assert (reduced.nonfacility_total, reduced.payment_nonfacility) == (5.07, 164.00)  # type: ignore[union-attr]
    # 5.07 x 32.3465 = 163.9968
    knee = real_kb.pfs("27447")
    assert knee.payment_facility == 1257.63 and knee.nonfacility_na  # type: ignore[union-attr]
    # 38.88 x 32.3465 = 1257.6319
    assert real_kb.pfs("G2212").payment_nonfacility == 31.05  # type: ignore[union-attr]
    # 0.96 x 32.3465 = 31.0526
    assert national_payment(None, 32.3465) is None
    assert national_payment(1.005, 1.0) == 1.01  # half up, in decimal arithmetic


def test_global_surgery_shares_and_surgeon_indicators(real_kb: KnowledgeBase) -> None:
    knee = real_kb.pfs("27447")
    assert knee is not None and knee.global_shares == (0.10, 0.69, 0.21)
    assert (knee.assistant, knee.co_surgeons, knee.team) == ("2", "1", "0")
    assert "may be paid" in pfs_terms.meaning("assistant", "2")
    assert real_kb.pfs("45378").global_shares is None  # type: ignore[union-attr]
    assert "90 days" in pfs_terms.meaning("global_days", "090")


def test_starter_pfs_rows_equal_the_rvu_file(
    rvu_rows: dict[tuple[str, str], cms_tables.RvuRow],
) -> None:
    """One way to build a PFS row: each starter row, read as the importer reads the file,
    equals the file's row in every field but the descriptor (which the starter never holds)."""
    rows = starter_rows("pfs.csv")
    assert len(rows) >= 330
    for r in rows:
        mine = starter_pfs_row(r)
        theirs = rvu_rows[(mine.code, mine.modifier)]
        assert mine == cms_tables.RvuRow(**{**theirs.__dict__, "description": ""}), mine.code
    assert not any("description" in k for k in rows[0])


def test_starter_kb_answers_pfs_without_cms_files(starter_kb: KnowledgeBase) -> None:
    p = starter_kb.pfs("99417")
    assert p is not None and p.status == "I" and p.not_used_for_medicare
    assert starter_kb.pfs("99024").status == "B"  # type: ignore[union-attr]
    assert starter_kb.pfs("93000").payment_nonfacility == 13.91  # type: ignore[union-attr]
    fam = starter_kb.endoscopy_family("45380")
    assert fam is not None and fam.base == "45378"
    assert "starter subset RVU25D" in p.source


def test_old_field_names_still_work() -> None:
    info = PfsInfo("43214", "A", "000", "3", "0", "0", "43200", source="x")
    assert (info.code, info.status, info.global_days, info.mult_proc, info.pctc, info.bilat,
            info.endo_base, info.source) == ("43214", "A", "000", "3", "0", "0", "43200", "x")
    assert info.payment_nonfacility is None


def test_kb_show_json_has_every_pfs_field(real_kb: KnowledgeBase) -> None:
    env = {"CONSULT_KB_PATH": str(real_kb.path)}
    result = CliRunner().invoke(cli, ["kb", "show", "99417", "--json"], env=env)
    data = json.loads(result.stdout)
    p = data["pfs"]
    assert p["status"] == "I" and "not valid for Medicare" in p["status_meaning"]
    assert p["not_used_for_medicare"] and not p["payable"]
    assert (p["work_rvu"], p["nonfacility_total"], p["facility_total"]) == (0.61, 0.92, 0.89)
    for key in ("pctc", "global_days", "mult_proc", "bilat", "assistant", "co_surgeons",
                "team", "conversion_factor", "payment_nonfacility", "payment_facility"):
        assert key in p
    result = CliRunner().invoke(cli, ["kb", "show", "45378", "--json"], env=env)
    data = json.loads(result.stdout)
    assert data["pfs_modifier_rows"]["53"]["payment_nonfacility"] == 164.0
    assert data["endoscopy_family"]["base"] == "45378"
    text = CliRunner().invoke(cli, ["kb", "show", "99024"], env=env).stdout
    assert "status B - bundled" in text and "none under the fee schedule" in text
    text = CliRunner().invoke(cli, ["kb", "show", "27447"], env=env).stdout
    assert "pre 10%, intra 69%, post 21%" in text and "facility $1,257.63" in text
