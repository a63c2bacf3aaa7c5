"""Writing KB tables during a build (the store only reads them).

Shared by the starter loader and the CMS importers, so both write rows the same way: PTP dates as
YYYYMMDD integers, rationales interned, one ``ptp_tables`` row per setting or payer.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from consult.kb.sources.cms_tables import RvuRow
    from consult.kb.sources.mcd import McdBundle

#: (column1, column2, effective YYYYMMDD or 0, deletion YYYYMMDD or 0, modifier 0/1/9, rationale)
PtpRow = tuple[str, str, int, int, int, str]

PTP_SOURCE_FOR_SETTING = {
    "practitioner": "ncci_ptp_practitioner",
    "hospital": "ncci_ptp_hospital",
}


def ptp_source_name(setting: str) -> str:
    """Source name for a PTP table: the NCCI names for Medicare, ``ptp_<payer>`` otherwise."""
    return PTP_SOURCE_FOR_SETTING.get(setting, f"ptp_{setting}")


def ymd(value: date | None) -> int:
    return value.year * 10000 + value.month * 100 + value.day if value else 0


def iso_to_ymd(text: str) -> int:
    """'2024-04-01' -> 20240401; '' -> 0. Raises ValueError on anything else."""
    if not text:
        return 0
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError(text)
    return ymd(date.fromisoformat(text))


def ptp_table(conn: sqlite3.Connection, setting: str, *, replace: bool = True) -> int:
    """The id of the PTP table for ``setting``, emptied first when ``replace`` (a new release
    replaces the starter subset or an older release of the same table)."""
    source = ptp_source_name(setting)
    conn.execute("INSERT OR IGNORE INTO ptp_tables(setting, source) VALUES (?, ?)",
                 (setting, source))
    tid = conn.execute("SELECT id FROM ptp_tables WHERE setting = ?", (setting,)).fetchone()[0]
    if replace:
        conn.execute("DELETE FROM ptp WHERE tbl = ?", (tid,))
    return int(tid)


def insert_ptp(
    conn: sqlite3.Connection,
    tid: int,
    rows: Iterable[PtpRow],
    *,
    tick: Callable[[int], None] | None = None,
    batch: int = 50_000,
) -> int:
    """Insert PTP rows into table ``tid``; returns how many were given.

    A row repeated exactly (same pair, dates and rationale) is kept once: the KB answers the
    same either way, and the count returned is still the file's row count.
    """
    cache: dict[str, int] = dict(
        (text, rid) for rid, text in conn.execute("SELECT id, text FROM ptp_rationale")
    )

    def rid(text: str) -> int:
        got = cache.get(text)
        if got is None:
            cur = conn.execute("INSERT INTO ptp_rationale(text) VALUES (?)", (text,))
            got = cache[text] = int(cur.lastrowid or 0)
        return got

    sql = "INSERT OR IGNORE INTO ptp VALUES (?,?,?,?,?,?,?)"
    n = 0
    chunk: list[tuple[str, str, int, int, int, int, int]] = []
    for c1, c2, eff, dele, mod, rationale in rows:
        chunk.append((c1, c2, tid, eff, dele, mod, rid(rationale)))
        if len(chunk) >= batch:
            conn.executemany(sql, chunk)
            n += len(chunk)
            chunk.clear()
            if tick:
                tick(n)
    conn.executemany(sql, chunk)
    n += len(chunk)
    if tick:
        tick(n)
    return n


def insert_code(
    conn: sqlite3.Connection,
    *,
    code: str,
    system: str,
    description: str,
    status: str = "active",
    billable: bool = True,
    effective_date: str = "",
    end_date: str = "",
    replaced_by: str = "",
    source: str = "",
    lay: str = "",
) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO codes(code, system, description, status, billable, "
        "effective_date, end_date, replaced_by, source, lay) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (code, system, description, status, int(billable), effective_date, end_date,
         replaced_by, source, lay),
    )


# -- PFS ------------------------------------------------------------------------------------------
PFS_COLUMNS = ("code", "modifier", "status", "global_days", "mult_proc", "pctc", "bilat",
               "endo_base", "assistant", "co_surgeons", "team", "not_used", "work_rvu",
               "nf_pe_rvu", "nf_na", "f_pe_rvu", "f_na", "mp_rvu", "nf_total", "f_total",
               "pre_op", "intra_op", "post_op", "conv_factor", "supervision", "imaging_family")


def insert_pfs(conn: sqlite3.Connection, rows: Iterable[RvuRow]) -> int:
    """Write PFS rows (the RVU file's or the starter's, both as ``RvuRow``)."""
    data = [
        (r.code, r.modifier, r.status, r.global_days, r.mult_proc, r.pctc, r.bilat,
         r.endo_base, r.assistant, r.co_surgeons, r.team, int(r.not_used_for_medicare),
         r.work_rvu, r.nonfacility_pe_rvu, int(r.nonfacility_na), r.facility_pe_rvu,
         int(r.facility_na), r.mp_rvu, r.nonfacility_total, r.facility_total, r.pre_op,
         r.intra_op, r.post_op, r.conversion_factor, r.supervision, r.imaging_family)
        for r in rows
    ]
    marks = ",".join("?" * len(PFS_COLUMNS))
    conn.executemany(
        f"INSERT OR REPLACE INTO pfs({','.join(PFS_COLUMNS)}) VALUES ({marks})", data
    )
    return len(data)


# -- Medicare Coverage Database -------------------------------------------------------------------
def mac_kinds(types: str) -> set[str]:
    """MAC kinds a contractor-type text names: 'MAC - Part A, MAC - Part B' -> {'AB'},
    'DME MAC' -> {'DME'}, 'HHH MAC, MAC - Part A' -> {'HHH', 'AB'}."""
    low = types.lower()
    kinds = set()
    if "dme" in low:
        kinds.add("DME")
    if "hhh" in low or "hh+h" in low or "home health" in low:
        kinds.add("HHH")
    if "part a" in low or "part b" in low or "a and b" in low or "a/b" in low:
        kinds.add("AB")
    return kinds


def company_key(name: str) -> str:
    """'Noridian Healthcare Solutions, LLC' -> 'noridian' (the first word names the company)."""
    words = re.findall(r"[a-z]+", name.lower())
    return words[0] if words else ""


def states_for_contractors(
    conn: sqlite3.Connection, contractors: Iterable[tuple[str, str]]
) -> set[str]:
    """States the project's MAC table gives the (company, types) pairs of a document."""
    table = [(company_key(c), k, s) for c, k, s in conn.execute(
        "SELECT contractor, kind, states FROM mac_jurisdictions")]
    found: set[str] = set()
    for company, types in contractors:
        key, kinds = company_key(company), mac_kinds(types)
        for c, kind, states in table:
            if c == key and (kind in kinds or not kinds):
                found.update(x for x in states.split(",") if x)
    return found


def insert_mcd(conn: sqlite3.Connection, bundles: Iterable[McdBundle]) -> None:
    """Write coverage documents and their code lists; later bundles replace a document's row
    from earlier ones (the downloads after the list). Then index states and titles."""
    for bundle in bundles:
        source = "mcd_documents" if bundle.kind == "list" else f"mcd_{bundle.kind}s"
        docs = []
        for doc in bundle.documents.values():
            exact = bool(doc.states)
            states = doc.states or states_for_contractors(conn, doc.contractors)
            names = "\n".join(f"{c} ({t})" if t else c for c, t in doc.contractors)
            docs.append((doc.doc_id, doc.version, doc.kind, doc.number, doc.title, names,
                         doc.effective, doc.retired, doc.updated, doc.url, doc.note,
                         ",".join(sorted(states)), int(exact), source))
        conn.executemany(
            "INSERT OR REPLACE INTO mcd_documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", docs)
        conn.executemany("INSERT OR IGNORE INTO mcd_codes VALUES (?,?,?,?)", bundle.codes)
        conn.executemany("INSERT OR IGNORE INTO mcd_icd VALUES (?,?,?,?,?)", bundle.icd)
        conn.executemany("INSERT OR IGNORE INTO mcd_related VALUES (?,?)", bundle.related)
    conn.execute("DELETE FROM mcd_doc_states")
    conn.execute("DELETE FROM mcd_fts")
    rows = conn.execute("SELECT doc_id, version, states, title, contractors FROM mcd_documents"
                        ).fetchall()
    conn.executemany(
        "INSERT OR IGNORE INTO mcd_doc_states VALUES (?,?,?)",
        [(st, d, v) for d, v, states, _t, _c in rows for st in states.split(",") if st],
    )
    conn.executemany("INSERT INTO mcd_fts(doc_id, version, title, contractors) VALUES (?,?,?,?)",
                     [(d, v, t, c) for d, v, _s, t, c in rows])
