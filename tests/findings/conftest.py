"""Shared fixtures: one starter KB per test session, and a terse way to write extractions."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from consult.extract.model import CodeMention, Extraction
from consult.kb.build import create_schema
from consult.kb.store import SCHEMA_VERSION, KnowledgeBase

_ICD = re.compile(r"^[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$")
_HCPCS = re.compile(r"^[A-V]\d{4}$")


def system_of(code: str) -> str:
    if _ICD.match(code) and ("." in code or not _HCPCS.match(code)):
        return "ICD10CM"
    if _HCPCS.match(code):
        return "HCPCS"
    return "CPT"


def mention(spec: str, where: str = "body") -> CodeMention:
    """``"43200-59-XS x2"`` -> CodeMention(code 43200, modifiers [59, XS], units 2)."""
    units = None
    if " x" in spec:
        spec, u = spec.split(" x")
        units = int(u)
    code, *mods = spec.split("-")
    return CodeMention(system=system_of(code), code=code, modifiers=mods, units=units,
                       where=where, known=True)  # type: ignore[arg-type]


def make_extraction(*specs: str, dos: date | None = None, payer: str | None = None,
                    setting: str | None = None, question: str = "",
                    narrative: str = "") -> Extraction:
    return Extraction(codes=[mention(s) for s in specs], question=question,
                      date_of_service=dos, payer=payer, setting=setting, narrative=narrative)


@pytest.fixture(scope="session")
def kb(starter_kb: KnowledgeBase) -> KnowledgeBase:
    """The starter KB (built once per worker by tests/conftest.py)."""
    return starter_kb


@pytest.fixture(scope="session")
def make_ex() -> Callable[..., Extraction]:
    """The ``make_extraction`` helper, as a fixture so test modules need no imports."""
    return make_extraction


@pytest.fixture(scope="session")
def make_mention() -> Callable[..., CodeMention]:
    return mention


def _ymd(iso: str) -> int:
    return int(iso.replace("-", "")) if iso else 0


def write_kb(path: Path, **tables: list[Any]) -> KnowledgeBase:
    """A tiny KB with exactly the rows a test needs, in the real schema.

    ``ptp`` rows are (column1, column2, setting, effective ISO, deletion ISO, indicator,
    rationale); every other table takes dicts of column -> value (unnamed columns default).
    """
    conn = sqlite3.connect(path)
    create_schema(conn)
    conn.execute("INSERT INTO meta VALUES ('kb_version', 'tiny-1'), ('schema', ?)",
                 (SCHEMA_VERSION,))
    sources = tables.pop("sources", [
        ("ncci_ptp_practitioner", "30.1", "2024-04-01", "", 0),
        ("mue_practitioner", "2026Q2", "2026-04-01", "", 0),
        ("aoc", "2026Q2", "2026-04-01", "", 0),
        ("rvu", "RVU25D", "2025-10-01", "", 0),
        ("starter", "t", "", "", 0),
    ])
    conn.executemany("INSERT INTO sources VALUES (?,?,?,?,?)", sources)
    table_ids: dict[str, int] = {}
    for c1, c2, setting, eff, dele, ind, rationale in tables.pop("ptp", []):
        if setting not in table_ids:
            table_ids[setting] = len(table_ids) + 1
            conn.execute("INSERT INTO ptp_tables(id, setting, source) VALUES (?,?,?)",
                         (table_ids[setting], setting, f"ncci_ptp_{setting}"))
        conn.execute("INSERT OR IGNORE INTO ptp_rationale(text) VALUES (?)", (rationale,))
        rid = conn.execute("SELECT id FROM ptp_rationale WHERE text = ?", (rationale,)).fetchone()
        conn.execute(
            "INSERT INTO ptp(column1, column2, tbl, effective, deletion, modifier, rationale_id) "
            "VALUES (?,?,?,?,?,?,?)",
            (c1, c2, table_ids[setting], _ymd(eff), _ymd(dele), int(ind), rid[0]),
        )
    for table, rows in tables.items():
        for row in rows:
            cols = ", ".join(row)
            marks = ",".join("?" * len(row))
            conn.execute(f"INSERT INTO {table}({cols}) VALUES ({marks})", tuple(row.values()))
    conn.commit()
    conn.close()
    return KnowledgeBase(path)


@pytest.fixture
def tiny_kb(tmp_path: Path) -> Callable[..., KnowledgeBase]:
    """``tiny_kb(ptp=[...], codes=[...])`` -> a KB file in this test's own temp dir."""
    counter = iter(range(1000))

    def make(**tables: list[Any]) -> KnowledgeBase:
        return write_kb(tmp_path / f"tiny{next(counter)}.sqlite", **tables)

    return make
