"""Fixtures for the KB tests: the real CMS files (read-only, never copied into the repo), small
source folders made of links to them, and a KB with the coverage documents. The KB built from
all of them is tests/conftest.py's ``real_kb`` (once per run)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support.paths import CMS, MCD
from support.servers import require
from support.shared import built_once

from consult.kb.build import build_kb
from consult.kb.store import KnowledgeBase

CMS_DIR = CMS
MCD_DIR = MCD
MCD_LIST = "mcd_documents_2025-08-17.csv"

MUE_PRAC = "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv.gz"
MUE_HOSP = "MCR_MUE_OutpatientHospitalServices_Eff_04-01-2026.csv.gz"
MUE_DME = "MCR_MUE_DMESupplierServices_Eff_04-01-2026.csv.gz"
AOC = "AOC_V2026Q2-MCR.xlsx"
RVU = "PPRRVU2025_Oct.csv.gz"
HCPCS_2025 = "HCPC2025_JAN_ANWEB_12172024.txt.gz"
HCPCS_2020 = "HCPC2020_ANWEB_w_disclaimer.txt.gz"
HCPCS_ZIP_2025 = "hcpcs-2025.zip"
HCPCS_JUL_SUBSET = "HCPC2025_JUL_ANWEB_v3__usRds_4col_subset.xlsx"
PTP_CSV = "ptp/ncci_ptp_practitioner_v30.1_2024-04-01.csv.gz"


def cms(name: str) -> Path:
    path = CMS_DIR / name
    if not path.exists():
        require(False, f"CMS data at {path}")
    return path


@pytest.fixture
def sources_dir(tmp_path: Path) -> Callable[..., Path]:
    """A folder holding symlinks to the named CMS files (plus any files the test writes)."""

    def make(*names: str) -> Path:
        folder = tmp_path / "sources"
        folder.mkdir(exist_ok=True)
        for name in names:
            target = cms(name)
            (folder / target.name).symlink_to(target)
        return folder

    return make


@pytest.fixture(scope="session")
def mcd_kb(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> KnowledgeBase:
    """A KB with the real list of coverage documents and the invented MCD download zips
    (tests/kb/mcd_fixture.py), without the big CMS tables; built once per test run."""
    from tests.kb.mcd_fixture import write_mcd_zips

    listed = MCD_DIR / MCD_LIST
    if not listed.exists():
        require(False, f"MCD data at {listed}")

    def build(out: Path) -> None:
        folder = tmp_path_factory.mktemp("mcd-sources")
        (folder / MCD_LIST).symlink_to(listed)
        write_mcd_zips(folder)
        build_kb(out, sources_dir=folder)

    return KnowledgeBase(built_once(tmp_path_factory, worker_id, "mcd-kb.sqlite", build))
