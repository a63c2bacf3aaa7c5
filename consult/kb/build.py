"""Build a KB file: starter data shipped with the project, plus ICD-10-CM from its package.

The file is written under a temporary name and renamed into place, so a failed build never
leaves half a KB behind. Importers for the CMS files plug in through ``SourceImporter``s.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from consult.kb.model import SourceVersion

SCHEMA_VERSION = "1"
STARTER_VERSION = "2026.11"

Progress = Callable[[str], None]


@dataclass
class BuildReport:
    """What a build wrote: rows per source and their versions, for the summary."""

    path: Path
    sources: list[SourceVersion] = field(default_factory=list)


def _starter_rows(name: str) -> list[dict[str, str]]:
    text = resources.files("consult.kb").joinpath("starter", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def create_schema(conn: sqlite3.Connection) -> None:
    sql = resources.files("consult.kb").joinpath("schema.sql").read_text(encoding="utf-8")
    conn.executescript(sql)


def _rationale_id(conn: sqlite3.Connection, cache: dict[str, int], text: str) -> int:
    rid = cache.get(text)
    if rid is None:
        conn.execute("INSERT OR IGNORE INTO ptp_rationale(text) VALUES (?)", (text,))
        rid = conn.execute("SELECT id FROM ptp_rationale WHERE text = ?", (text,)).fetchone()[0]
        cache[text] = rid
    return rid


def load_starter(conn: sqlite3.Connection) -> list[SourceVersion]:
    """Load the project's own starter facts (lay descriptions, a few edits, modifiers)."""
    n = 0
    for fname, system in (("cpt.csv", "CPT"), ("hcpcs.csv", "HCPCS")):
        for row in _starter_rows(fname):
            conn.execute(
                "INSERT OR REPLACE INTO codes(code, system, description, status, billable, "
                "end_date, replaced_by, source) VALUES (?,?,?,?,1,?,?,'starter')",
                (
                    row["code"],
                    system,
                    row["description"],
                    row["status"],
                    row["end_date"],
                    row["replaced_by"],
                ),
            )
            n += 1
    cache: dict[str, int] = {}
    for row in _starter_rows("ptp.csv"):
        conn.execute(
            "INSERT OR REPLACE INTO ptp VALUES (?,?,?,?,?,?,?)",
            (
                row["column1"],
                row["column2"],
                "practitioner",
                row["effective_date"],
                row["deletion_date"],
                row["modifier_indicator"],
                _rationale_id(conn, cache, row["rationale"]),
            ),
        )
        n += 1
    for row in _starter_rows("mue.csv"):
        conn.execute(
            "INSERT OR REPLACE INTO mue VALUES (?,?,?,?,?)",
            (row["code"], row["setting"], int(row["value"]), row["adjudication"], row["rationale"]),
        )
    for row in _starter_rows("addon.csv"):
        conn.execute(
            "INSERT OR REPLACE INTO addon VALUES (?,?,?,?,?,?)",
            (
                row["addon"],
                row["primary_code"],
                row["edit_type"],
                row["effective_date"],
                row["deletion_date"],
                row["note"],
            ),
        )
    for row in _starter_rows("pfs.csv"):
        conn.execute(
            "INSERT OR REPLACE INTO pfs VALUES (?,?,?,?,?,?,?,?)",
            tuple(row[k] for k in ("code", "modifier", "status", "global_days", "mult_proc",
                                   "pctc", "bilat", "endo_base")),
        )
    for row in _starter_rows("modifiers.csv"):
        conn.execute(
            "INSERT OR REPLACE INTO modifiers VALUES (?,?,?,?)",
            (row["code"], row["description"], row["usage"], row["applies_to"]),
        )
    for row in _starter_rows("guidelines.csv"):
        conn.execute("INSERT INTO guidelines VALUES (?,?,?)", (row["family"], row["codes"],
                                                                 row["note"]))
    sources = [SourceVersion("starter", STARTER_VERSION, "", "consult/kb/starter", n)]
    for name in ("ncci_ptp_practitioner", "mue_practitioner", "aoc", "rvu"):
        sources.append(SourceVersion(name, f"starter-{STARTER_VERSION}", "", "starter subset"))
    sources.append(SourceVersion("modifiers", STARTER_VERSION, "", "consult/kb/starter"))
    return sources


def load_icd10cm(conn: sqlite3.Connection) -> SourceVersion:
    """Every ICD-10-CM code from the ``simple-icd-10-cm`` package (used only while building)."""
    import simple_icd_10_cm as cm

    rows = []
    for code in cm.get_all_codes(with_dots=True):
        if cm.is_chapter_or_block(code):
            continue
        leaf = cm.is_leaf(code)
        billable = leaf and not cm.get_seven_chr_def(code)
        rows.append((code, "ICD10CM", cm.get_description(code),
                     "active" if billable or not leaf else "active", int(billable)))
    conn.executemany(
        "INSERT OR REPLACE INTO codes(code, system, description, status, billable, source) "
        "VALUES (?,?,?,?,?,'icd10cm')",
        rows,
    )
    return SourceVersion("icd10cm", "FY2026", "2025-10-01", "simple-icd-10-cm", len(rows))


def _fill_fts(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT INTO suggest_fts(code, system, text) SELECT code, system, description FROM codes"
    )


def build_kb(out: Path, *, progress: Progress | None = None) -> BuildReport:
    """Build the starter KB into ``out`` atomically and return what it holds."""
    say = progress or (lambda _msg: None)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".kb-", suffix=".tmp", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        conn = sqlite3.connect(tmp)
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        create_schema(conn)
        say("starter data")
        sources = load_starter(conn)
        say("ICD-10-CM")
        sources.append(load_icd10cm(conn))
        _fill_fts(conn)
        conn.executemany(
            "INSERT OR REPLACE INTO sources VALUES (?,?,?,?,?)",
            [(s.name, s.version, s.effective, s.file, s.rows) for s in sources],
        )
        built = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        version = f"starter-{STARTER_VERSION}"
        conn.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [("schema", SCHEMA_VERSION), ("kb_version", version), ("built_at", built)],
        )
        conn.commit()
        conn.execute("VACUUM")
        conn.close()
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BuildReport(out, sources)
