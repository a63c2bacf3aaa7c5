"""The starter KB the project ships: written by the project, in its own words.

- ``cpt.csv``: lay descriptions of common CPT codes (never AMA descriptor text), with the CPT
  deletions the project records (status ``deleted``, last valid date, replacement codes).
- ``hcpcs.csv``: a few HCPCS Level II codes (public domain text), incl. terminated ones.
- ``ptp.csv``, ``mue.csv``, ``addon.csv``, ``pfs.csv``: facts about the starter codes taken
  from the CMS files (codes, dates, indicators and RVUs only, never descriptors) so the
  default KB can answer without them: PTP from the practitioner table v30.1, MUE and add-on
  codes 2026 Q2, PFS RVU25D (status, indicators, RVUs, conversion factor).
- ``modifiers.csv``, ``guidelines.csv``: the project's notes on modifiers and code families.
- ``mac_jurisdictions.csv``: which Medicare contractor serves which states (Part A/B, DME,
  home health and hospice), from CMS's published jurisdiction lists.

When a CMS release for the same table is imported, it replaces the starter subset.
"""

from __future__ import annotations

import csv
import sqlite3
from importlib import resources

from consult.kb.model import SourceVersion
from consult.kb.sources.cms_tables import RvuRow
from consult.kb.tables import insert_code, insert_pfs, insert_ptp, iso_to_ymd, ptp_table

STARTER_VERSION = "2026.11"
#: Where the starter subsets were taken from (cited as "starter subset of ...").
STARTER_SUBSETS = {
    "ncci_ptp_practitioner": ("starter-30.1", "2024-04-01"),
    "mue_practitioner": ("starter-2026Q2", "2026-04-01"),
    "mue_hospital": ("starter-2026Q2", "2026-04-01"),
    "mue_dme": ("starter-2026Q2", "2026-04-01"),
    "aoc": ("starter-2026Q2", "2026-04-01"),
    "rvu": ("starter-RVU25D", "2025-10-01"),
}


def starter_rows(name: str) -> list[dict[str, str]]:
    """Rows of one starter CSV (packaged with ``consult.kb``)."""
    text = resources.files("consult.kb").joinpath("starter", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def code_history() -> list[dict[str, str]]:
    """The deletions and terminations the project records, with replacements.

    A CMS import may know a code ended but not what replaced it (the HCPCS file leaves the
    cross-reference empty for J1030): these facts fill the gap after every import.
    """
    return [
        row
        for fname in ("cpt.csv", "hcpcs.csv")
        for row in starter_rows(fname)
        if row["status"] != "active"
    ]


def load_starter(conn: sqlite3.Connection) -> list[SourceVersion]:
    """Load the project's own starter facts; returns the sources to record."""
    n_codes = 0
    for fname, system in (("cpt.csv", "CPT"), ("hcpcs.csv", "HCPCS")):
        for row in starter_rows(fname):
            insert_code(
                conn,
                code=row["code"],
                system=system,
                description=row["description"],
                status=row["status"],
                end_date=row["end_date"],
                replaced_by=row["replaced_by"],
                source="starter",
                lay=row["description"] if system == "CPT" else "",
            )
            n_codes += 1
    tid = ptp_table(conn, "practitioner")
    n_ptp = insert_ptp(
        conn,
        tid,
        (
            (r["column1"], r["column2"], iso_to_ymd(r["effective_date"]),
             iso_to_ymd(r["deletion_date"]), int(r["modifier_indicator"]), r["rationale"])
            for r in starter_rows("ptp.csv")
        ),
    )
    mue = starter_rows("mue.csv")
    conn.executemany(
        "INSERT OR REPLACE INTO mue VALUES (?,?,?,?,?)",
        [(r["code"], r["setting"], int(r["value"]), r["adjudication"], r["rationale"])
         for r in mue],
    )
    addon = starter_rows("addon.csv")
    conn.executemany(
        "INSERT OR REPLACE INTO addon VALUES (?,?,?,?,?,?)",
        [(r["addon"], r["primary_code"], r["edit_type"], r["effective_date"],
          r["deletion_date"], r["note"]) for r in addon],
    )
    pfs = starter_rows("pfs.csv")
    insert_pfs(conn, (starter_pfs_row(r) for r in pfs))
    macs = starter_rows("mac_jurisdictions.csv")
    conn.executemany(
        "INSERT OR REPLACE INTO mac_jurisdictions VALUES (?,?,?,?)",
        [(r["jurisdiction"], r["contractor"], r["kind"], r["states"]) for r in macs],
    )
    mods = starter_rows("modifiers.csv")
    conn.executemany(
        "INSERT OR REPLACE INTO modifiers VALUES (?,?,?,?)",
        [(r["code"], r["description"], r["usage"], r["applies_to"]) for r in mods],
    )
    guides = starter_rows("guidelines.csv")
    for r in guides:
        gid = conn.execute(
            "INSERT INTO guidelines(family, codes, note) VALUES (?,?,?)",
            (r["family"], r["codes"], r["note"]),
        ).lastrowid
        conn.executemany(
            "INSERT OR IGNORE INTO guideline_codes VALUES (?, ?)",
            [(c.strip(), gid) for c in r["codes"].split(",") if c.strip()],
        )
    counts = {
        "ncci_ptp_practitioner": n_ptp,
        "mue_practitioner": sum(r["setting"] == "practitioner" for r in mue),
        "mue_hospital": sum(r["setting"] == "hospital" for r in mue),
        "mue_dme": sum(r["setting"] == "dme" for r in mue),
        "aoc": len(addon),
        "rvu": len(pfs),
    }
    sources = [SourceVersion("starter", STARTER_VERSION, "", "consult/kb/starter", n_codes)]
    for name, (version, effective) in STARTER_SUBSETS.items():
        sources.append(SourceVersion(name, version, effective, "starter subset", counts[name]))
    sources.append(SourceVersion("modifiers", STARTER_VERSION, "", "consult/kb/starter",
                                 len(mods)))
    sources.append(SourceVersion("guidelines", STARTER_VERSION, "", "consult/kb/starter",
                                 len(guides)))
    sources.append(SourceVersion("mac_jurisdictions", STARTER_VERSION, "",
                                 "consult/kb/starter", len(macs)))
    return sources


def _num(text: str) -> float | None:
    return float(text) if text.strip() else None


def starter_pfs_row(r: dict[str, str]) -> RvuRow:
    """A starter ``pfs.csv`` row as the RVU importer's record (one way to build a PFS row)."""
    return RvuRow(
        code=r["code"], modifier=r["modifier"], description="", status=r["status"],
        pctc=r["pctc"], global_days=r["global_days"], mult_proc=r["mult_proc"],
        bilat=r["bilat"], endo_base=r["endo_base"],
        not_used_for_medicare=r.get("not_used_for_medicare", "0") == "1",
        work_rvu=_num(r.get("work_rvu", "")), nonfacility_pe_rvu=_num(
            r.get("nonfacility_pe_rvu", "")),
        nonfacility_na=r.get("nonfacility_na", "0") == "1",
        facility_pe_rvu=_num(r.get("facility_pe_rvu", "")),
        facility_na=r.get("facility_na", "0") == "1", mp_rvu=_num(r.get("mp_rvu", "")),
        nonfacility_total=_num(r.get("nonfacility_total", "")),
        facility_total=_num(r.get("facility_total", "")), pre_op=_num(r.get("pre_op", "")),
        intra_op=_num(r.get("intra_op", "")), post_op=_num(r.get("post_op", "")),
        assistant=r.get("assistant", ""), co_surgeons=r.get("co_surgeons", ""),
        team=r.get("team", ""), conversion_factor=_num(r.get("conversion_factor", "")),
        supervision=r.get("supervision", ""), imaging_family=r.get("imaging_family", ""),
    )


def apply_code_history(conn: sqlite3.Connection) -> int:
    """Make sure every recorded deletion shows in the KB, with its replacement.

    Runs after all imports: a licensed CPT file or an HCPCS release may have replaced a row;
    the end date and replacement the project records are kept unless the import gave its own.
    """
    n = 0
    for row in code_history():
        system = "HCPCS" if row["code"][0].isalpha() else "CPT"
        cur = conn.execute(
            "UPDATE codes SET status = CASE WHEN status = 'active' THEN ? ELSE status END, "
            "end_date = CASE WHEN end_date = '' THEN ? ELSE end_date END, "
            "replaced_by = CASE WHEN replaced_by = '' THEN ? ELSE replaced_by END "
            "WHERE code = ? AND system = ?",
            (row["status"], row["end_date"], row["replaced_by"], row["code"], system),
        )
        n += cur.rowcount
    return n
