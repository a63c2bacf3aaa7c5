"""Read-only access to a built knowledge base file.

Every lookup is an indexed query on a connection opened read-only (``mode=ro``), so many workers
can share one KB file and a lookup costs microseconds. Build-time code lives in ``consult.kb.build``.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from consult.errors import KnowledgeBaseError
from consult.kb.model import (
    AddonRule,
    CodeInfo,
    IcdNote,
    ModifierInfo,
    Mue,
    PfsInfo,
    PtpEdit,
    SourceVersion,
    Suggestion,
)

PTP_SETTINGS = {"practitioner": "ncci_ptp_practitioner", "hospital": "ncci_ptp_hospital"}
MUE_SETTINGS = {"practitioner": "mue_practitioner", "hospital": "mue_hospital", "dme": "mue_dme"}


def _d(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


class KnowledgeBase:
    """A read-only view of one KB file. Safe to share between threads (one connection each)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise KnowledgeBaseError(
                f"No knowledge base at {self.path}. Run `consult kb build` to make one."
            )
        self._local = threading.local()
        meta = dict(self._conn().execute("SELECT key, value FROM meta").fetchall())
        self.version: str = meta.get("kb_version", "unknown")
        self.built_at: str = meta.get("built_at", "")
        self._sources = {
            row[0]: SourceVersion(*row)
            for row in self._conn().execute(
                "SELECT name, version, effective, file, rows FROM sources"
            )
        }

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    f"file:{self.path.resolve()}?mode=ro", uri=True, check_same_thread=False
                )
                conn.execute("PRAGMA query_only = 1")
            except sqlite3.Error as exc:
                raise KnowledgeBaseError(f"Cannot open knowledge base {self.path}: {exc}") from exc
            self._local.conn = conn
        return conn

    # -- sources --------------------------------------------------------------------------------
    def sources(self) -> dict[str, SourceVersion]:
        return dict(self._sources)

    def citation(self, source: str) -> str:
        """A citation string for a source name, e.g. for the PTP practitioner table."""
        sv = self._sources.get(source)
        return sv.citation() if sv else source

    # -- codes ----------------------------------------------------------------------------------
    def code(self, code: str, system: str | None = None) -> CodeInfo | None:
        """The KB's record for a code; None when the KB does not know it."""
        sql = (
            "SELECT system, code, description, status, billable, effective_date, end_date, "
            "replaced_by, source FROM codes WHERE code = ?"
        )
        args: tuple[str, ...] = (code,)
        if system:
            sql += " AND system = ?"
            args = (code, system)
        row = self._conn().execute(sql, args).fetchone()
        return self._code_row(row) if row else None

    @staticmethod
    def _code_row(row: tuple) -> CodeInfo:
        return CodeInfo(
            system=row[0],
            code=row[1],
            description=row[2],
            status=row[3],
            billable=bool(row[4]),
            effective_date=_d(row[5]),
            end_date=_d(row[6]),
            replaced_by=tuple(x for x in row[7].split(",") if x),
            source=row[8],
        )

    def is_known(self, code: str, system: str | None = None) -> bool:
        return self.code(code, system) is not None

    def children(self, code: str, *, billable_only: bool = True, limit: int = 50) -> list[CodeInfo]:
        """ICD-10-CM codes below a category or subcategory (``K22`` -> ``K22.0`` ...)."""
        prefix = code if "." in code else code + "."
        rows = self._conn().execute(
            "SELECT system, code, description, status, billable, effective_date, end_date, "
            "replaced_by, source FROM codes WHERE system = 'ICD10CM' AND code > ? AND code < ? "
            + ("AND billable = 1 " if billable_only else "")
            + "ORDER BY code LIMIT ?",
            (prefix, prefix + "\uffff", limit),
        ).fetchall()
        return [self._code_row(r) for r in rows if r[1] != code]

    # -- NCCI PTP -------------------------------------------------------------------------------
    _PTP_SQL = (
        "SELECT p.column1, p.column2, p.modifier_indicator, r.text, p.effective_date, "
        "p.deletion_date, p.setting FROM ptp p JOIN ptp_rationale r ON r.id = p.rationale_id "
    )

    def _ptp_row(self, row: tuple) -> PtpEdit:
        return PtpEdit(
            column1=row[0],
            column2=row[1],
            modifier_indicator=row[2],
            rationale=row[3],
            effective_date=_d(row[4]),
            deletion_date=_d(row[5]),
            setting=row[6],
            source=self.citation(PTP_SETTINGS.get(row[6], row[6])),
        )

    def ptp(
        self, column1: str, column2: str, on: date | None = None, setting: str = "practitioner"
    ) -> PtpEdit | None:
        """The edit for this ordered pair in force on ``on`` (None: currently active)."""
        rows = self._conn().execute(
            self._PTP_SQL + "WHERE p.column1 = ? AND p.column2 = ? AND p.setting = ?",
            (column1, column2, setting),
        ).fetchall()
        edits = [self._ptp_row(r) for r in rows]
        live = [e for e in edits if e.in_force(on)]
        return max(live, key=lambda e: e.effective_date or date.min) if live else None

    def ptp_pairs(
        self, codes: Iterable[str], on: date | None = None, setting: str = "practitioner"
    ) -> list[PtpEdit]:
        """Every edit in force among a set of codes, both orders checked."""
        uniq = sorted(set(codes))
        found: list[PtpEdit] = []
        for a in uniq:
            for b in uniq:
                if a != b:
                    edit = self.ptp(a, b, on, setting)
                    if edit:
                        found.append(edit)
        return found

    def ptp_for(
        self, code: str, *, as_column: int = 1, setting: str = "practitioner", limit: int = 10
    ) -> tuple[int, list[PtpEdit]]:
        """Count and first few edits where ``code`` is column 1 (or 2), active or not."""
        col = "column1" if as_column == 1 else "column2"
        conn = self._conn()
        count = conn.execute(
            f"SELECT count(*) FROM ptp WHERE {col} = ? AND setting = ?", (code, setting)
        ).fetchone()[0]
        rows = conn.execute(
            self._PTP_SQL + f"WHERE p.{col} = ? AND p.setting = ? LIMIT ?", (code, setting, limit)
        ).fetchall()
        return count, [self._ptp_row(r) for r in rows]

    # -- MUE, add-on, PFS, modifiers --------------------------------------------------------------
    def mue(self, code: str, setting: str = "practitioner") -> Mue | None:
        row = self._conn().execute(
            "SELECT code, setting, value, adjudication, rationale FROM mue "
            "WHERE code = ? AND setting = ?",
            (code, setting),
        ).fetchone()
        if not row:
            return None
        return Mue(*row, source=self.citation(MUE_SETTINGS.get(setting, setting)))

    def addon(self, code: str, on: date | None = None) -> AddonRule | None:
        """The add-on rule for ``code`` (None when it is not an add-on code)."""
        rows = self._conn().execute(
            "SELECT primary_code, edit_type, effective_date, deletion_date, note FROM addon "
            "WHERE addon = ?",
            (code,),
        ).fetchall()
        if not rows:
            return None
        live = []
        for primary, _type, eff, dele, _note in rows:
            if on is not None and ((eff and on < _d(eff)) or (dele and on > _d(dele))):
                continue
            if on is None and dele:
                continue
            live.append(primary)
        return AddonRule(
            addon=code,
            edit_type=rows[0][1],
            primaries=tuple(sorted(set(live))),
            note=rows[0][4],
            source=self.citation("aoc"),
        )

    def pfs(self, code: str, modifier: str = "") -> PfsInfo | None:
        row = self._conn().execute(
            "SELECT code, status, global_days, mult_proc, pctc, bilat, endo_base FROM pfs "
            "WHERE code = ? AND modifier = ?",
            (code, modifier),
        ).fetchone()
        return PfsInfo(*row, source=self.citation("rvu")) if row else None

    def modifier(self, code: str) -> ModifierInfo | None:
        row = self._conn().execute(
            "SELECT code, description, usage, applies_to FROM modifiers WHERE code = ?",
            (code.upper(),),
        ).fetchone()
        return ModifierInfo(*row) if row else None

    def icd_notes(self, code: str) -> list[IcdNote]:
        """Notes on the code and inherited from its ancestors (category, block)."""
        rows = self._conn().execute(
            "SELECT code, kind, text, refs FROM icd_notes WHERE code = ?", (code,)
        ).fetchall()
        return [IcdNote(r[0], r[1], r[2], tuple(x for x in r[3].split(",") if x)) for r in rows]

    def guidelines(self, code: str) -> list[str]:
        rows = self._conn().execute(
            "SELECT note FROM guidelines WHERE ',' || codes || ',' LIKE ?", (f"%,{code},%",)
        ).fetchall()
        return [r[0] for r in rows]

    # -- suggestions ----------------------------------------------------------------------------
    _WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")

    def suggest(self, text: str, limit: int = 10) -> list[Suggestion]:
        """Ranked candidate codes for a narrative (FTS5 BM25 over descriptions)."""
        words = [w.lower() for w in self._WORD.findall(text) if len(w) > 2]
        if not words:
            return []
        query = " OR ".join(f'"{w}"' for w in dict.fromkeys(words))
        rows = self._conn().execute(
            "SELECT code, system, text, bm25(suggest_fts) FROM suggest_fts "
            "WHERE suggest_fts MATCH ? ORDER BY bm25(suggest_fts) LIMIT ?",
            (query, limit),
        ).fetchall()
        out = []
        for code, system, desc, score in rows:
            lowered = desc.lower()
            matched = tuple(w for w in dict.fromkeys(words) if w in lowered)
            out.append(Suggestion(system, code, desc, round(-score, 4), matched))
        return out

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
