"""Read-only access to a built knowledge base file.

Every lookup is an indexed query on a connection opened read-only (``mode=ro``), so many workers
can share one KB file and a lookup costs microseconds. Build-time code lives in
``consult.kb.build``; nothing here imports the ICD-10-CM package, so opening a KB stays fast.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from consult.errors import KnowledgeBaseError
from consult.kb.icd_refs import ref_matches
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
SCHEMA_VERSION = "2"

_CODE_COLS = (
    "SELECT system, code, description, status, billable, effective_date, end_date, "
    "replaced_by, source, lay FROM codes "
)


def _d(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def _ymd(value: int) -> date | None:
    """PTP dates are stored as YYYYMMDD integers, 0 for none."""
    return date(value // 10000, value // 100 % 100, value % 100) if value else None


def _ymd_int(on: date) -> int:
    return on.year * 10000 + on.month * 100 + on.day


class KnowledgeBase:
    """A read-only view of one KB file. Safe to share between threads (one connection each)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise KnowledgeBaseError(
                f"No knowledge base at {self.path}. Run `consult kb build` to make one."
            )
        self._local = threading.local()
        conn = self._conn()
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise KnowledgeBaseError(
                f"{self.path} is not a knowledge base ({exc}). Rebuild it with `consult kb build`."
            ) from exc
        if meta.get("schema") != SCHEMA_VERSION:
            raise KnowledgeBaseError(
                f"{self.path} was built by another version of consult (schema "
                f"{meta.get('schema')!r}, need {SCHEMA_VERSION!r}). Rebuild it with "
                "`consult kb build`."
            )
        self.version: str = meta.get("kb_version", "unknown")
        self.built_at: str = meta.get("built_at", "")
        self._sources = {
            row[0]: SourceVersion(*row)
            for row in conn.execute("SELECT name, version, effective, file, rows FROM sources")
        }
        self._citations = {name: sv.citation() for name, sv in self._sources.items()}
        self._ptp_tables = {
            setting: (tid, source)
            for tid, setting, source in conn.execute("SELECT id, setting, source FROM ptp_tables")
        }
        self._rationales = dict(conn.execute("SELECT id, text FROM ptp_rationale").fetchall())

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
        """A citation for a source name, e.g. "CMS NCCI PTP edits (practitioner) v30.1, effective
        2024-04-01"; the name itself when the KB does not hold that source."""
        return self._citations.get(source, source)

    def ptp_settings(self) -> list[str]:
        """The PTP tables this KB holds: practitioner, hospital and any payer's own table."""
        return sorted(self._ptp_tables)

    # -- codes ----------------------------------------------------------------------------------
    def code(self, code: str, system: str | None = None) -> CodeInfo | None:
        """The KB's record for a code; None when the KB does not know it.

        Check ``status`` (or ``status_note()``) first: a deleted or terminated code is still
        returned, with its end date and replacement, so the answer can say so.
        """
        if system:
            row = self._conn().execute(
                _CODE_COLS + "WHERE code = ? AND system = ?", (code, system)
            ).fetchone()
        else:
            row = self._conn().execute(_CODE_COLS + "WHERE code = ?", (code,)).fetchone()
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
            lay_description=row[9],
        )

    def is_known(self, code: str, system: str | None = None) -> bool:
        return self.code(code, system) is not None

    def children(self, code: str, *, billable_only: bool = True, limit: int = 50) -> list[CodeInfo]:
        """ICD-10-CM codes below a category or subcategory (``K22`` -> ``K22.0`` ...)."""
        prefix = code if "." in code else code + "."
        rows = self._conn().execute(
            _CODE_COLS + "WHERE system = 'ICD10CM' AND code > ? AND code < ? "
            + ("AND billable = 1 " if billable_only else "")
            + "ORDER BY code LIMIT ?",
            (prefix, prefix + "\uffff", limit),
        ).fetchall()
        return [self._code_row(r) for r in rows if r[1] != code]

    def count_children(self, code: str, *, billable_only: bool = True) -> int:
        prefix = code if "." in code else code + "."
        return self._conn().execute(
            "SELECT count(*) FROM codes WHERE system = 'ICD10CM' AND code > ? AND code < ? "
            + ("AND billable = 1" if billable_only else ""),
            (prefix, prefix + "\uffff"),
        ).fetchone()[0]

    # -- NCCI PTP -------------------------------------------------------------------------------
    _PTP_SQL = (
        "SELECT column1, column2, modifier, rationale_id, effective, deletion FROM ptp "
    )

    def _ptp_row(self, row: tuple, setting: str, source: str) -> PtpEdit:
        return PtpEdit(
            column1=row[0],
            column2=row[1],
            modifier_indicator=str(row[2]),
            rationale=self._rationales.get(row[3], ""),
            effective_date=_ymd(row[4]),
            deletion_date=_ymd(row[5]),
            setting=setting,
            source=self._citations.get(source, source),
        )

    def ptp(
        self, column1: str, column2: str, on: date | None = None, setting: str = "practitioner"
    ) -> PtpEdit | None:
        """The edit for this ordered pair in force on ``on`` (None: currently active).

        An edit deleted before ``on``, or not yet effective on it, does not apply.
        """
        table = self._ptp_tables.get(setting)
        if table is None:
            return None
        rows = self._conn().execute(
            self._PTP_SQL + "WHERE column1 = ? AND column2 = ? AND tbl = ?",
            (column1, column2, table[0]),
        ).fetchall()
        if not rows:
            return None
        when = _ymd_int(on) if on is not None else None
        best = None
        for row in rows:
            eff, dele = row[4], row[5]
            if when is None:
                if dele:
                    continue
            elif (eff and when < eff) or (dele and when > dele):
                continue
            if best is None or eff > best[4]:
                best = row
        return self._ptp_row(best, setting, table[1]) if best else None

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
        table = self._ptp_tables.get(setting)
        if table is None:
            return 0, []
        col = "column1" if as_column == 1 else "column2"
        conn = self._conn()
        count = conn.execute(
            f"SELECT count(*) FROM ptp WHERE {col} = ? AND tbl = ?", (code, table[0])
        ).fetchone()[0]
        rows = conn.execute(
            self._PTP_SQL + f"WHERE {col} = ? AND tbl = ? LIMIT ?", (code, table[0], limit)
        ).fetchall()
        return count, [self._ptp_row(r, setting, table[1]) for r in rows]

    def ptp_active_count(
        self, code: str, *, as_column: int = 1, setting: str = "practitioner"
    ) -> int:
        """How many edits with ``code`` in that column have no deletion date."""
        table = self._ptp_tables.get(setting)
        if table is None:
            return 0
        col = "column1" if as_column == 1 else "column2"
        return self._conn().execute(
            f"SELECT count(*) FROM ptp WHERE {col} = ? AND tbl = ? AND deletion = 0",
            (code, table[0]),
        ).fetchone()[0]

    # -- MUE, add-on, PFS, modifiers --------------------------------------------------------------
    def mue(self, code: str, setting: str = "practitioner") -> Mue | None:
        row = self._conn().execute(
            "SELECT code, setting, value, adjudication, rationale FROM mue "
            "WHERE code = ? AND setting = ?",
            (code, setting),
        ).fetchone()
        if not row:
            return None
        code_, setting_, value, adjudication, rationale = row
        return Mue(code_, setting_, value, adjudication, rationale,
                   source=self.citation(MUE_SETTINGS.get(setting, setting)))

    def addon(self, code: str, on: date | None = None) -> AddonRule | None:
        """The add-on rule for ``code`` (None when it is not an add-on code).

        ``primaries`` holds the primary codes whose edit is in force on ``on`` (None: active);
        ``CCCCC`` stands for "primary codes defined by the contractor" (type 2).
        """
        rows = self._conn().execute(
            "SELECT primary_code, edit_type, effective_date, deletion_date, note FROM addon "
            "WHERE addon = ?",
            (code,),
        ).fetchall()
        if not rows:
            return None
        live = []
        for primary, _type, eff, dele, _note in rows:
            starts, ends = _d(eff), _d(dele)
            if on is not None and ((starts and on < starts) or (ends and on > ends)):
                continue
            if on is None and dele:
                continue
            live.append(primary)
        return AddonRule(
            addon=code,
            edit_type=rows[0][1],
            primaries=tuple(sorted(set(live))),
            note=next((r[4] for r in rows if r[4]), ""),
            source=self.citation("aoc"),
        )

    def addons_for_primary(self, primary: str) -> list[str]:
        """Add-on codes that list ``primary`` among their primaries (active edits)."""
        rows = self._conn().execute(
            "SELECT DISTINCT addon FROM addon WHERE primary_code = ? AND deletion_date = '' "
            "ORDER BY addon",
            (primary,),
        ).fetchall()
        return [r[0] for r in rows]

    def pfs(self, code: str, modifier: str = "") -> PfsInfo | None:
        row = self._conn().execute(
            "SELECT code, status, global_days, mult_proc, pctc, bilat, endo_base FROM pfs "
            "WHERE code = ? AND modifier = ?",
            (code, modifier),
        ).fetchone()
        if not row:
            return None
        code_, status, days, mult, pctc, bilat, endo = row
        return PfsInfo(code_, status, days, mult, pctc, bilat, endo, source=self.citation("rvu"))

    def modifier(self, code: str) -> ModifierInfo | None:
        row = self._conn().execute(
            "SELECT code, description, usage, applies_to FROM modifiers WHERE code = ?",
            (code.upper(),),
        ).fetchone()
        return ModifierInfo(*row) if row else None

    # -- ICD-10-CM notes ------------------------------------------------------------------------
    def icd_ancestors(self, code: str) -> list[str]:
        """Subcategory, category, block and chapter above a code, nearest first."""
        row = self._conn().execute(
            "SELECT ancestors FROM icd_tree WHERE code = ?", (code,)
        ).fetchone()
        return [x for x in row[0].split(",") if x] if row else []

    def icd_notes(self, code: str, *, inherited: bool = True) -> list[IcdNote]:
        """Notes on the code and, unless told otherwise, inherited from its ancestors.

        An inherited note carries the ancestor in ``from_code`` ("K20-K31" for a block note).
        The code's own notes come first, then the nearest ancestor's, up to the chapter.
        """
        chain = [code, *(self.icd_ancestors(code) if inherited else [])]
        marks = ",".join("?" * len(chain))
        rows = self._conn().execute(
            f"SELECT code, kind, text, refs FROM icd_notes WHERE code IN ({marks})", chain
        ).fetchall()
        rank = {c: i for i, c in enumerate(chain)}
        rows.sort(key=lambda r: rank[r[0]])
        return [
            IcdNote(
                code,
                r[1],
                r[2],
                tuple(x for x in r[3].split(",") if x),
                from_code="" if r[0] == code else r[0],
            )
            for r in rows
        ]

    def icd_excludes(self, a: str, b: str, kind: str = "excludes1") -> list[IcdNote]:
        """Notes of ``kind`` on either code (inherited included) that name the other code.

        Excludes1 is symmetric in use: the pair conflicts whichever code carries the note, so
        both directions are checked. A note's ``code`` tells which side carries it.
        """
        found = []
        for this, other in ((a, b), (b, a)):
            for note in self.icd_notes(this):
                if note.kind == kind and any(ref_matches(r, other) for r in note.refs):
                    found.append(note)
        return found

    def seventh_characters(self, code: str) -> dict[str, str]:
        """The 7th-character values that apply to a code (from its category), e.g. A, D, S."""
        out: dict[str, str] = {}
        for note in self.icd_notes(code):
            if note.kind == "seventh_char":
                char, _, meaning = note.text.partition(": ")
                out.setdefault(char, meaning)
        return out

    def guidelines(self, code: str) -> list[str]:
        rows = self._conn().execute(
            "SELECT g.note FROM guideline_codes c JOIN guidelines g ON g.id = c.gid "
            "WHERE c.code = ? ORDER BY g.id",
            (code,),
        ).fetchall()
        return [r[0] for r in rows]

    # -- suggestions ----------------------------------------------------------------------------
    def suggest(self, text: str, limit: int = 10) -> list[Suggestion]:
        """Ranked candidate codes for a narrative, best first; empty when the ranker abstains.

        Case2Code (``consult.suggest.suggest``) does the work and also gives the coding, the
        bundled codes and the reason for an abstention.
        """
        from consult.suggest import suggest as case2code  # the ranker imports this module

        try:
            result = case2code(text, self, limit)
        except KnowledgeBaseError as exc:  # a KB built before the index: no candidates
            logging.getLogger(__name__).warning("%s", exc)
            return []
        return [Suggestion(c.system, c.code, c.description, c.score, c.matched)
                for c in result.candidates]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
