"""Each importer against the real CMS files: row counts equal the files' data lines and known
rows read back exactly. Plus the CMS PTP text/xlsx layouts and the CPT file from fixtures."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from consult.kb.build import build_kb
from consult.kb.sources import cms_tables, hcpcs, ptp
from consult.kb.sources.detect import detect
from consult.kb.sources.files import SourceFile
from consult.kb.store import KnowledgeBase
from tests.kb.conftest import (
    AOC,
    HCPCS_2020,
    HCPCS_2025,
    HCPCS_JUL_SUBSET,
    HCPCS_ZIP_2025,
    MUE_DME,
    MUE_HOSP,
    MUE_PRAC,
    PTP_CSV,
    RVU,
    cms,
)


@pytest.mark.parametrize(("name", "setting", "rows"), [
    (MUE_PRAC, "practitioner", 15095), (MUE_HOSP, "hospital", 15045), (MUE_DME, "dme", 3083)])
def test_mue_files(name: str, setting: str, rows: int) -> None:
    sf = SourceFile(cms(name))
    got_setting, records = cms_tables.parse_mue(sf.lines("latin-1"), sf.label)
    data = {r.code: r for r in records}
    assert got_setting == setting and len(data) == rows
    if setting != "dme":
        assert data["43214"] == cms_tables.MueRow(
            "43214", 1, "3 Date of Service Edit: Clinical", "Nature of Service/Procedure")
        assert data["99213"].value == 2


def test_aoc_file() -> None:
    sf = SourceFile(cms(AOC))
    rows = list(cms_tables.parse_aoc_xlsx(sf.seekable(), sf.label))
    assert len(rows) == 9000
    assert sum(r.edit_type == "1" for r in rows) == 8293
    assert len({r.addon for r in rows}) == 830
    assert cms_tables.AocRow("1", "11045", "", "11042", "", "2013-04-01", "", "") in rows
    assert any(r.addon == "0054T" and r.primary == "CCCCC" and r.edit_type == "2" for r in rows)
    assert cms_tables.julian("2026001") == "2026-01-01"


def test_rvu_file() -> None:
    sf = SourceFile(cms(RVU))
    rows = list(cms_tables.parse_rvu(sf.lines("latin-1"), sf.label))
    assert len(rows) == 19090 and len({r.code for r in rows}) == 16852
    r = next(r for r in rows if r.code == "43214" and not r.modifier)
    assert (r.status, r.global_days, r.mult_proc, r.pctc, r.bilat, r.endo_base) == (
        "A", "000", "3", "0", "0", "43200")
    # a deleted CPT code is absent from the current file
    assert not any(r.code == "43456" for r in rows)


def test_hcpcs_text_files() -> None:
    sf = SourceFile(cms(HCPCS_2025))
    recs = list(hcpcs.parse_hcpcs_text(sf.lines("cp1252"), sf.label))
    assert sum(not r.is_modifier for r in recs) == 8259
    assert sum(r.is_modifier for r in recs) == 383
    j = next(r for r in recs if r.code == "J1030")
    assert (j.long, j.terminated, j.added) == (
        "Injection, methylprednisolone acetate, 40 mg", "2024-03-31", "1982-01-01")
    old = SourceFile(cms(HCPCS_2020))
    recs20 = list(hcpcs.parse_hcpcs_text(old.lines("cp1252"), old.label))
    assert sum(not r.is_modifier for r in recs20) == 6710
    assert sum(r.is_modifier for r in recs20) == 369


def test_hcpcs_xlsx_from_the_zip_matches_the_text() -> None:
    sf = SourceFile(cms(HCPCS_ZIP_2025), "HCPC2025_JAN_ANWEB_12172024.xlsx")
    full, records = hcpcs.parse_hcpcs_xlsx(sf.seekable(), sf.label)
    recs = {r.code: r for r in records if not r.is_modifier}
    assert full and len(recs) == 8259
    assert recs["J1030"].terminated == "2024-03-31"
    subset = SourceFile(cms(HCPCS_JUL_SUBSET))
    full_sub, sub = hcpcs.parse_hcpcs_xlsx(subset.seekable(), subset.label)
    assert not full_sub and sum(not r.is_modifier for r in sub) == 8387


def test_real_kb_holds_every_source(real_kb: KnowledgeBase) -> None:
    src = real_kb.sources()
    assert src["ncci_ptp_practitioner"].rows == 2545089
    assert src["ncci_ptp_practitioner"].citation() == (
        "CMS NCCI PTP edits (practitioner) v30.1, effective 2024-04-01")
    assert (src["mue_practitioner"].rows, src["mue_hospital"].rows, src["mue_dme"].rows) == (
        15095, 15045, 3083)
    assert src["aoc"].rows == 9000 and src["rvu"].rows == 19090
    assert src["hcpcs"].version == "2025-01"
    assert real_kb.ptp_for("43214")[0] == 331 and real_kb.ptp_for("45378")[0] == 397
    edit = real_kb.ptp("43214", "43200")
    assert edit is not None and edit.modifier_indicator == "0"
    assert edit.rationale == "CPT Separate procedure definition"
    # the row deleted 2023-12-31 applies before, not after
    assert real_kb.ptp("0001A", "0591T", date(2023, 12, 31)) is not None
    assert real_kb.ptp("0001A", "0591T", date(2024, 1, 1)) is None
    assert real_kb.ptp("0001A", "0591T") is None
    j = real_kb.code("J1030")
    assert j is not None and j.status == "terminated" and j.replaced_by == ("J1010",)
    assert real_kb.code("A2030", "HCPCS") is not None  # only in the July 2025 subset
    assert real_kb.code("43456").status == "deleted"  # type: ignore[union-attr]
    assert "99215" in real_kb.addon("99417").primaries  # type: ignore[union-attr]
    assert real_kb.modifier("A1") is not None  # HCPCS modifiers join the table


def test_real_ptp_csv_known_rows_read_back(real_kb: KnowledgeBase) -> None:
    with gzip.open(cms(PTP_CSV), "rt", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        sample = [row for i, row in enumerate(reader) if i % 250_000 == 0]
    for c1, c2, _eff, dele, mod, rationale in sample:
        on = date.fromisoformat(dele) if dele else None
        edit = real_kb.ptp(c1, c2, on)
        assert edit is not None, (c1, c2)
        assert (edit.modifier_indicator, edit.rationale) == (mod, rationale)


CCIPRA_HEADER = (
    "CPT codes, descriptions and other data only are copyright 2025 American Medical "
    "Association. All rights reserved.\n"
    "Applicable FARS/DFARS Restrictions Apply to Government Use.\n"
    "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date\n"
    "*=no data\tModifier\n0=not allowed\n1=allowed\n9=not applicable\tPTP Edit Rationale\n"
)
CCIPRA_ROWS = (
    "43214\t43197\t\t20140101\t*\t0\tCPT Manual or CMS manual coding instruction\n"
    "43214\t43200\t\t20140101\t*\t0\tCPT Separate procedure definition\n"
    "43214\t76000\t\t20140101\t20251231\t1\tCPT Manual or CMS manual coding instruction\n"
    "45378\t43200\t*\t19960101\t*\t1\tStandards of medical/surgical practice\n"
)


def test_ccipra_text_layout(tmp_path: Path, sources_dir: Callable[..., Path]) -> None:
    folder = sources_dir()
    rows = CCIPRA_ROWS.splitlines(keepends=True)
    (folder / "ccipra-v321r0-f1.txt").write_text(CCIPRA_HEADER + "".join(rows[:2]),
                                                 encoding="latin-1")
    (folder / "ccipra-v321r0-f2.txt").write_text(CCIPRA_HEADER + "".join(rows[2:]),
                                                 encoding="latin-1")
    (folder / "ccioph-v321r0-f1.txt").write_text(CCIPRA_HEADER + CCIPRA_ROWS,
                                                 encoding="latin-1")
    report = build_kb(tmp_path / "kb.sqlite", sources_dir=folder)
    kb = KnowledgeBase(report.path)
    src = kb.sources()
    assert src["ncci_ptp_practitioner"].rows == 4 and src["ncci_ptp_hospital"].rows == 4
    assert src["ncci_ptp_practitioner"].citation() == (
        "CMS NCCI PTP edits (practitioner) v32.1, effective 2026-04-01")
    edit = kb.ptp("43214", "43200", date(2026, 5, 1))
    assert edit is not None and edit.effective_date == date(2014, 1, 1)
    assert kb.ptp("43214", "43200", date(2013, 12, 31)) is None  # not yet effective
    assert kb.ptp("43214", "76000", date(2025, 12, 31)) is not None
    assert kb.ptp("43214", "76000", date(2026, 1, 1)) is None  # deleted before the date
    assert kb.ptp("43214", "76000", date(2026, 1, 1), setting="hospital") is None
    assert kb.ptp("43214", "74360") is None  # the starter subset was replaced


def test_ccipra_xlsx_layout(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["CPT codes, descriptions and other data only are copyright 2025 AMA."])
    ws.append(["Column 1", "Column 2", "*=in existence prior to 1996", "Effective Date",
               "Deletion Date *=no data", "Modifier 0=not allowed 1=allowed 9=not applicable",
               "PTP Edit Rationale"])
    ws.append(["43214", "43200", None, 20140101, "*", 0, "CPT Separate procedure definition"])
    ws.append(["45378", "43200", "*", "19960101", "20201231", "1", "Standards"])
    path = tmp_path / "ccipra-v321r0-f1.xlsx"
    wb.save(path)
    rows = list(ptp.parse_cms_xlsx(path.open("rb"), path.name))
    assert rows == [("43214", "43200", 20140101, 0, 0, "CPT Separate procedure definition"),
                    ("45378", "43200", 19960101, 20201231, 1, "Standards")]


def test_cpt_descriptor_file_replaces_descriptions_keeps_lay(
    tmp_path: Path, sources_dir: Callable[..., Path]
) -> None:
    folder = sources_dir()
    # test text written for this test, not AMA descriptors
    (folder / "cpt_2026.txt").write_text(
        "code\tdescription\n43214\tTEST DESCRIPTOR FOR 43214\n99999\tTEST DESCRIPTOR NEW\n",
        encoding="utf-8")
    kb = KnowledgeBase(build_kb(tmp_path / "kb.sqlite", sources_dir=folder).path)
    info = kb.code("43214")
    assert info is not None and info.description == "TEST DESCRIPTOR FOR 43214"
    assert info.lay_description.startswith("Flexible esophagus scope")
    assert kb.code("99999").source == "cpt"  # type: ignore[union-attr]
    assert "cpt" in kb.sources()


def test_payer_edit_table_in_interchange_layout(tmp_path: Path,
                                                sources_dir: Callable[..., Path]) -> None:
    folder = sources_dir()
    (folder / "acme_ptp_2026.csv").write_text(
        ",".join(ptp.CSV_HEADER) + "\n99213,36415,2025-01-01,,1,Payer bundling\n",
        encoding="utf-8")
    kb = KnowledgeBase(build_kb(tmp_path / "kb.sqlite", sources_dir=folder,
                                ptp_setting="acme").path)
    assert kb.ptp("99213", "36415", setting="acme") is not None
    assert kb.ptp("99213", "36415") is None
    assert "acme" in kb.ptp_settings() and kb.citation("ptp_acme").startswith("PTP edits (acme)")


@pytest.mark.parametrize(("name", "kind", "setting", "version", "effective"), [
    ("ccipra-v321r0-f1.txt", "ptp_cms", "practitioner", "32.1", "2026-04-01"),
    ("ccioph-v301r0-f4.xlsx", "ptp_cms", "hospital", "30.1", "2024-04-01"),
    ("MCR_MUE_DMESupplierServices_Eff_04-01-2026.csv", "mue", "dme", "2026Q2", "2026-04-01"),
    ("AOC_V2026Q2-MCR.xlsx", "aoc", "", "2026Q2", "2026-04-01"),
    ("PPRRVU2025_Oct.csv", "rvu", "", "RVU25D", "2025-10-01"),
    ("HCPC2025_JAN_ANWEB_12172024.txt", "hcpcs", "", "2025-01", "2025-01-01"),
])
def test_detect_names(name: str, kind: str, setting: str, version: str, effective: str) -> None:
    det = detect(name)
    assert det is not None
    assert (det.kind, det.setting, det.version, det.effective) == (kind, setting, version,
                                                                   effective)
    assert detect("HCPC2025_JAN_ANWEB_Corrections_12172024.xlsx") is None
