"""Writing KB tables during a build (the store only reads them).

Shared by the starter loader and the CMS importers, so both write rows the same way: PTP dates as
YYYYMMDD integers, rationales interned, one ``ptp_tables`` row per setting or payer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from datetime import date

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
