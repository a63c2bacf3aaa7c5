"""Coverage from the Medicare Coverage Database: the real list of 3,133 current LCDs and
articles (by contractor, state and title words), the MCD download layout (invented content,
tests/kb/mcd_fixture.py) for code lists and diagnosis groups, the MAC jurisdiction table, and
"not loaded" said plainly."""

from __future__ import annotations

import zipfile
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from consult.errors import SourceFileError
from consult.kb.build import build_kb
from consult.kb.sources import mcd
from consult.kb.sources.detect import detect
from consult.kb.sources.files import SourceFile
from consult.kb.starter import starter_rows
from consult.kb.store import KnowledgeBase
from tests.kb.conftest import MCD_DIR, MCD_LIST
from tests.kb.mcd_fixture import write_mcd_zips

US = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
    "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
    "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VT", "VA", "WA", "WV", "WI", "WY", "PR", "VI", "GU", "AS", "MP"
}


def test_every_state_has_one_mac_of_each_kind() -> None:
    rows = starter_rows("mac_jurisdictions.csv")
    for kind in ("AB", "DME", "HHH"):
        served = Counter(s for r in rows if r["kind"] == kind for s in r["states"].split(","))
        missing = [s for s in US if s not in served]
        twice = [s for s, n in served.items() if n > 1]
        extra = [s for s in served if s not in US]
        if kind == "HHH":  # the HH+H map has no separate rows for the Pacific territories
            missing = [s for s in missing if s not in ("GU", "AS", "MP")]
        assert (missing, twice, extra) == ([], [], []), kind


def test_mac_lookup(starter_kb: KnowledgeBase) -> None:
    ab = starter_kb.mac_jurisdictions("ca", "AB")
    assert [(j.jurisdiction, j.contractor) for j in ab] == [
        ("JE", "Noridian Healthcare Solutions, LLC")]
    assert [j.jurisdiction for j in starter_kb.mac_jurisdictions("OH")] == [
        "J15", "DME B", "HHH JM"]


def test_the_document_list_reads_every_row() -> None:
    sf = SourceFile(MCD_DIR / MCD_LIST)
    bundle = mcd.parse_documents_list(sf.lines("utf-8"), sf.label)
    assert len(bundle.documents) == 3133
    kinds = Counter(d.kind for d in bundle.documents.values())
    assert kinds == {"Article": 2161, "LCD": 972}
    urine = bundle.documents[("L36668", "45")]
    assert (urine.title, urine.effective, urine.retired) == ("Urine Drug Testing",
                                                             "2025-08-14", "")
    assert urine.contractors == [("Noridian Healthcare Solutions, LLC",
                                  "MAC - Part A, MAC - Part B")]
    assert urine.url.endswith("lcdid=36668&ver=45")
    two = [d for d in bundle.documents.values() if len(d.contractors) == 2]
    assert len(two) == 141 and {c for c, _t in two[0].contractors} == {
        "CGS Administrators, LLC", "Noridian Healthcare Solutions, LLC"}
    assert detect(MCD_LIST).version == "2025-08-17"  # type: ignore[union-attr]


def test_documents_by_state_contractor_and_words(mcd_kb: KnowledgeBase) -> None:
    found = mcd_kb.coverage_documents(state="CA", words="urine drug testing", kind="LCD")
    assert found.loaded and "L36668" in [d.doc_id for d in found.documents]
    doc = next(d for d in found.documents if d.doc_id == "L36668")
    assert {"CA", "AK", "NV"} <= set(doc.states) and not doc.states_exact
    assert "as of 2025-08-17" in doc.source
    florida = mcd_kb.coverage_documents(state="FL", words="urine drug testing", kind="LCD")
    assert "L36668" not in [d.doc_id for d in florida.documents]
    assert all("First Coast" in " ".join(d.contractors) or "FL" in d.states
               for d in florida.documents)
    by_name = mcd_kb.coverage_documents(contractor="Palmetto", words="wound")
    assert by_name.documents and all("Palmetto" in " ".join(d.contractors)
                                     for d in by_name.documents)
    none = mcd_kb.coverage_documents(words="xyzzy nothing like this")
    assert none.loaded and none.documents == () and "No coverage document" in none.note


def test_current_and_future_versions(mcd_kb: KnowledgeBase) -> None:
    now = mcd_kb.coverage_document("L39297")
    assert now is not None and now.version == "3"  # version 6 is marked future in the list
    later = mcd_kb.coverage_document("L39297", on=date(2025, 9, 10))
    assert later is not None and later.version == "6"
    assert mcd_kb.coverage_document("L39297", on=date(2022, 10, 1)) is None  # not yet


def test_the_download_zips_give_code_lists(mcd_kb: KnowledgeBase) -> None:
    assert mcd_kb.coverage_loaded() == {"documents": True, "code_lists": True}
    found = mcd_kb.coverage_for_code("G0121")
    assert found.loaded
    assert [(d.doc_id, d.kind) for d in found.documents] == [("L99901", "LCD"),
                                                             ("A99901", "Article")]
    art = found.documents[1]
    assert art.version == "2" and art.states == ("CA", "HI") and art.states_exact
    assert art.contractors == ("Noridian Healthcare Solutions, LLC (A and B MAC; "
                               "contractor 99901)",)
    assert mcd_kb.coverage_for_code("G0121", state="FL").documents == ()
    # version 1 of the article (in force before 2025-02-01) lists 45378 but not G0121, and
    # the LCD's version took effect 2025-02-01
    assert mcd_kb.coverage_for_code("G0121", on=date(2024, 6, 1)).documents == ()
    early = mcd_kb.coverage_for_code("45378", on=date(2024, 6, 1)).documents
    assert [(d.doc_id, d.version) for d in early] == [("A99901", "1")]
    assert [d.doc_id for d in mcd_kb.coverage_for_code("J3420", state="FL").documents] == [
        "A99902"]
    assert mcd_kb.coverage_for_code("99213").note.startswith("No LCD or article in the KB")


@pytest.mark.parametrize(("code", "status", "groups"), [
    ("Z12.11", "covered", ("1",)),
    ("K63.5", "covered", ("2",)),
    ("z0000", "noncovered", ("1",)),
    ("R19.5", "not_listed", ()),
])
def test_diagnosis_groups(mcd_kb: KnowledgeBase, code: str, status: str,
                          groups: tuple[str, ...]) -> None:
    got = mcd_kb.diagnosis_coverage("a99901", code)
    assert (got.status, got.groups) == (status, groups)
    assert "A99901" in got.note and "as of" in got.source


def test_unknown_document_and_not_loaded(mcd_kb: KnowledgeBase,
                                         starter_kb: KnowledgeBase) -> None:
    assert mcd_kb.diagnosis_coverage("A00000", "Z12.11").status == "unknown_document"
    assert mcd_kb.diagnosis_coverage("L36668", "Z12.11").status == "no_lists"
    assert starter_kb.coverage_loaded() == {"documents": False, "code_lists": False}
    got = starter_kb.coverage_for_code("45378")
    assert not got.loaded and got.documents == ()
    assert "holds no Medicare Coverage Database code lists" in got.note
    dx = starter_kb.diagnosis_coverage("A99901", "Z12.11")
    assert dx.status == "not_loaded" and "cannot tell" in dx.note
    docs = starter_kb.coverage_documents(state="CA")
    assert not docs.loaded and "`consult kb update`" in docs.note


def test_list_without_code_lists_says_so(tmp_path: Path,
                                         sources_dir: Callable[..., Path]) -> None:
    folder = sources_dir()
    (folder / MCD_LIST).symlink_to(MCD_DIR / MCD_LIST)
    kb = KnowledgeBase(build_kb(tmp_path / "kb.sqlite", sources_dir=folder).path)
    assert kb.coverage_loaded() == {"documents": True, "code_lists": False}
    got = kb.coverage_for_code("80305")
    assert not got.loaded and "only the list of documents" in got.note


def test_nested_download_zips_as_cms_serves_them(tmp_path: Path,
                                                 sources_dir: Callable[..., Path]) -> None:
    folder = sources_dir()
    write_mcd_zips(folder, nested=True)
    kb = KnowledgeBase(build_kb(tmp_path / "kb.sqlite", sources_dir=folder).path)
    assert kb.diagnosis_coverage("A99901", "Z12.11").status == "covered"
    src = kb.sources()
    assert src["mcd_articles"].version == "2025-07-15" and src["mcd_lcds"].rows == 1


def test_a_zip_missing_a_member_or_too_big_is_refused(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    a, _ = write_mcd_zips(tmp_path / "z")
    broken = tmp_path / "current_article_csv.zip"
    with zipfile.ZipFile(a) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            if item.filename != "article_x_icd10_covered.csv":
                dst.writestr(item, src.read(item))
    with pytest.raises(SourceFileError, match=r"has no article_x_icd10_covered\.csv"):
        mcd.parse_mcd_zip(SourceFile(broken), "article")
    monkeypatch.setattr(mcd, "MAX_ZIP_BYTES", 1000)
    with pytest.raises(SourceFileError, match="unpacks to"):
        mcd.parse_mcd_zip(SourceFile(a), "article")


def test_bad_rows_name_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match=r"x\.csv, line 1: expected the header"):
        mcd.parse_documents_list(["a,b\n"], "x.csv")
    header = ",".join(mcd.LIST_COLUMNS) + "\n"
    row = 'X,L12345,12345,Article,1,01/01/2025,,N/A,t,01/01/2025,1,u\n'
    with pytest.raises(SourceFileError, match=r"x\.csv, line 2"):
        mcd.parse_documents_list([header, row], "x.csv")


@pytest.mark.parametrize(("text", "iso"), [
    ("08/14/2025", "2025-08-14"), ("2025-08-14", "2025-08-14"),
    ("2025-08-14 00:00:00", "2025-08-14"), ("2025-08-14 13:30:01.123", "2025-08-14"),
    ("N/A", ""), ("", "")])
def test_mcd_dates(text: str, iso: str) -> None:
    assert mcd.mcd_date(text) == iso
