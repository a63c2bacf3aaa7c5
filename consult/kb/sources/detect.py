"""Recognize source files by their names, the way CMS names its quarterly releases.

Pure functions: a file name in, what it is (kind, setting, version, effective date) out.

- ``ptp_cms``: ``ccipra-v321r0-f1.txt`` or ``.xlsx`` (practitioner), ``ccioph-...``
  (hospital); version 32.1, effective 2026-04-01 (NCCI v30 is 2024, minor = quarter - 1).
- ``ptp_csv``: ``*ptp*.csv`` in the interchange layout; ``v30.1`` and an ISO date in the name
  give version and effective date when present.
- ``mue``: ``MCR_MUE_PractitionerServices_Eff_04-01-2026.csv`` (also OutpatientHospital, DME);
  version 2026Q2, effective 2026-04-01.
- ``aoc``: ``AOC_V2026Q2-MCR.xlsx``; version 2026Q2, effective 2026-04-01.
- ``hcpcs``: ``HCPC2025_JAN_ANWEB_12172024.txt`` or ``.xlsx``, ``HCPC2020_ANWEB_w_disclaimer.txt``;
  version 2025-01, effective 2025-01-01.
- ``rvu``: ``PPRRVU2025_Oct.csv``; version RVU25D, effective 2025-10-01.
- ``cpt``: ``cpt*.txt`` or ``cpt*.tsv``, the licensed AMA descriptor file (``sources.hcpcs``).
- ``mcd_article`` / ``mcd_lcd``: the Medicare Coverage Database downloads
  ``current_article_csv.zip`` / ``current_lcd_csv.zip`` (or the outer ``current_article.zip``);
  version and effective date come from the files' last-updated dates (``sources.mcd``).
- ``mcd_documents``: ``mcd_documents_2025-08-17.csv``, the list of current LCDs and articles;
  version and effective date 2025-08-17.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MONTHS = {"JAN": 1, "APR": 4, "JUL": 7, "OCT": 10}
RVU_LETTER = {1: "A", 4: "B", 7: "C", 10: "D"}


@dataclass(frozen=True)
class Detected:
    """What a file is. ``version`` and ``effective`` are as the name tells them ('' if not)."""

    kind: str
    setting: str = ""
    version: str = ""
    effective: str = ""
    fmt: str = ""  # txt | csv | xlsx
    part: int = 0  # PTP files come in parts f1..f4


def _fmt(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def ncci_effective(major: int, minor: int) -> str:
    """NCCI versions count quarters: v30.0 is 2024 Q1, v32.1 is 2026 Q2."""
    return f"{1994 + major:04d}-{3 * minor + 1:02d}-01"


def quarter(month: int) -> int:
    return (month - 1) // 3 + 1


def detect(name: str) -> Detected | None:
    """Classify a file by its base name (``.gz`` already removed); None when not a source."""
    low = name.lower()
    fmt = _fmt(name)
    m = re.match(r"^cci(pra|oph)-v(\d+)(\d)r(\d+)(?:-f(\d+))?", low)
    if m and fmt in ("txt", "xlsx"):
        setting = "practitioner" if m.group(1) == "pra" else "hospital"
        major, minor, rev = int(m.group(2)), int(m.group(3)), int(m.group(4))
        version = f"{major}.{minor}" + (f"r{rev}" if rev else "")
        return Detected("ptp_cms", setting, version, ncci_effective(major, minor), fmt,
                        int(m.group(5) or 0))
    if "ptp" in low and fmt == "csv":
        v = re.search(r"v(\d+(?:\.\d+)*)", low)
        d = re.search(r"(\d{4}-\d{2}-\d{2})", low)
        return Detected("ptp_csv", "", v.group(1) if v else "", d.group(1) if d else "", fmt)
    if "mue" in low and fmt == "csv":
        setting = ("dme" if "dme" in low else "hospital" if "hospital" in low
                   else "practitioner" if "practitioner" in low else "")
        d = re.search(r"eff_(\d{2})-(\d{2})-(\d{4})", low)
        if d:
            month, year = int(d.group(1)), int(d.group(3))
            return Detected("mue", setting, f"{year}Q{quarter(month)}",
                            f"{year}-{d.group(1)}-{d.group(2)}", fmt)
        return Detected("mue", setting, "", "", fmt)
    m = re.match(r"^aoc_v(\d{4})q(\d)", low)
    if m and fmt == "xlsx":
        year, q = int(m.group(1)), int(m.group(2))
        return Detected("aoc", "", f"{year}Q{q}", f"{year}-{3 * q - 2:02d}-01", fmt)
    m = re.match(r"^hcpc(\d{4})(?:_(jan|apr|jul|oct))?.*anweb", low)
    if m and fmt in ("txt", "xlsx") and "correction" not in low and "trans" not in low:
        year, mon = int(m.group(1)), MONTHS.get((m.group(2) or "jan").upper(), 1)
        version = f"{year}-{mon:02d}"
        return Detected("hcpcs", "", version, f"{year}-{mon:02d}-01", fmt)
    m = re.match(r"^pprrvu(\d{2,4})_(jan|apr|jul|oct)", low)
    if m and fmt == "csv":
        year = int(m.group(1)) % 100 + 2000
        mon = MONTHS[m.group(2).upper()]
        return Detected("rvu", "", f"RVU{year % 100:02d}{RVU_LETTER[mon]}",
                        f"{year}-{mon:02d}-01", fmt)
    m = re.match(r"^(current|all)_(article|lcd)(_csv)?\.zip$", low)
    if m:
        return Detected(f"mcd_{m.group(2)}", "", "", "", "zip")
    m = re.match(r"^mcd_documents(?:_(\d{4}-\d{2}-\d{2}))?\.csv$", low)
    if m:
        day = m.group(1) or ""
        return Detected("mcd_documents", "", day, day, fmt)
    if low.startswith("cpt") and fmt in ("txt", "tsv"):
        y = re.search(r"(20\d{2})", low)
        return Detected("cpt", "", y.group(1) if y else "licensed", "", fmt)
    return None


def version_key(version: str) -> tuple[int, ...]:
    """Sort key for versions like 30.1, 32.1r1, 2026Q2, 2025-01, RVU25D."""
    return tuple(int(x) if x.isdigit() else ord(x[0]) for x in re.findall(r"\d+|[A-Za-z]", version))
