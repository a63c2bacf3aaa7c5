"""Read-only access to a built knowledge base file.

Every lookup is an indexed query on a connection opened read-only (``mode=ro``), so many workers
can share one KB file and a lookup costs microseconds. Build-time code lives in
``consult.kb.build``; nothing here imports the ICD-10-CM package, so opening a KB stays fast.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

from consult.errors import KnowledgeBaseError
from consult.kb import icd_codes
from consult.kb.currency import table_currency
from consult.kb.doses import billing_units
from consult.kb.icd_refs import ref_matches
from consult.kb.memo import copy_dict, copy_dict_of_lists, copy_list, memo
from consult.kb.model import (
    AddonRule,
    CodeInfo,
    CombinationHint,
    CoverageDocument,
    CoverageLookup,
    DiagnosisCoverage,
    DoseUnit,
    EndoscopyFamily,
    IcdNote,
    MacJurisdiction,
    ModifierInfo,
    Mue,
    PfsInfo,
    PtpEdit,
    SourceVersion,
    StatedDose,
    Suggestion,
    TableCurrency,
    UnitConversion,
)

MUE_SETTINGS = {"practitioner": "mue_practitioner", "hospital": "mue_hospital", "dme": "mue_dme"}
SCHEMA_VERSION = "3"

_CODE_COLS = (
    "SELECT system, code, description, status, billable, effective_date, end_date, "
    "replaced_by, source, lay, action, action_date FROM codes "
)
_PFS_COLS = (
    "SELECT code, status, global_days, mult_proc, pctc, bilat, endo_base, modifier, assistant, "
    "co_surgeons, team, not_used, work_rvu, nf_pe_rvu, nf_na, f_pe_rvu, f_na, mp_rvu, "
    "nf_total, f_total, pre_op, intra_op, post_op, conv_factor, supervision, imaging_family "
    "FROM pfs "
)
_MCD_COLS = (
    "SELECT doc_id, version, kind, title, contractors, effective, retired, updated, url, "
    "states, states_exact, source, note FROM mcd_documents "
)
#: words in a code's description that mark it as a combination code (ICD-10-CM convention)
_COMBINING = (" with ", " due to ", " in ", "associated", "hypertensive")
_STOPWORDS = frozenset({
    "and", "the", "with", "for", "without", "from", "into", "other", "than", "not", "was",
    "were", "are", "has", "had", "have", "per", "each", "patient", "patients", "left", "right",
})
_RIGHT_AS_CORRECT = re.compile(r"(?i)\bright\s*\?|\b(?:is|was|are|that'?s|thats)\s+"
                               r"(?:(?:this|that|it|[A-Z]\d\d\.?\w*)\s+)?right\b(?!\s+(?:side|"
                               r"knee|hip|eye|ear|arm|leg|foot|hand|shoulder|wrist|ankle|elbow|"
                               r"breast|lung|kidney))")


def _singular(word: str) -> str:
    """"knees" meets "knee" (the stems are word starts)."""
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") \
        else word


#: A coder's words for a side, as the tabular writes them ("both knees": bilateral).
_SIDE_WORDS = {"both": "bilateral", "bilat": "bilateral", "rt": "right", "lt": "left"}
_CHILD_STOPWORDS = _STOPWORDS - {"left", "right", "with", "without"}


def _d(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def _ymd(value: int) -> date | None:
    """PTP dates are stored as YYYYMMDD integers, 0 for none."""
    return date(value // 10000, value // 100 % 100, value % 100) if value else None


def _ymd_int(on: date) -> int:
    return on.year * 10000 + on.month * 100 + on.day


_STAGE_RANGE = re.compile(r"(?i)\bstages?\s+(\d)[a-c]?\s+(?:through|to|-)\s+(?:stage\s+)?(\d)\b")
_STAGE = re.compile(r"(?i)\bstage\s+(\d)[a-c]?\b")


def _stages(text: str) -> set[int]:
    """The numbered stages a text names ("stage 3a" -> {3}; "stage 1 through stage 4" ->
    {1, 2, 3, 4}): chronic kidney disease and pressure ulcer codes differ by stage number."""
    out: set[int] = set()
    for m in _STAGE_RANGE.finditer(text):
        out.update(range(int(m.group(1)), int(m.group(2)) + 1))
    rest = _STAGE_RANGE.sub(" ", text)
    out.update(int(m.group(1)) for m in _STAGE.finditer(rest))
    return out


class KnowledgeBase:
    """A read-only view of one KB file. Safe to share between threads (one connection each)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise KnowledgeBaseError(
                f"No knowledge base at {self.path}. Run `consult kb build` to make one."
            )
        self._local = threading.local()
        self._memos: dict[str, Callable[..., Any]] = {}
        conn = self._conn()
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise KnowledgeBaseError(
                f"{self.path} is not a knowledge base ({exc}). Rebuild it with `consult kb build`."
            ) from exc
        if meta.get("schema") != SCHEMA_VERSION:
            raise KnowledgeBaseError(
                f"{self.path} was built by another version of consult (KB schema "
                f"{meta.get('schema')!r}; this version needs {SCHEMA_VERSION!r}) and cannot "
                "be read. Rebuild it: `consult kb build --from DIR` with your CMS files, or "
                "`consult kb update` to download them (plain `consult kb build` gives the "
                "starter KB)."
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
        self._rvu_citation = self.citation("rvu")
        rvu = self._sources.get("rvu")
        self._rvu_version = rvu.version.removeprefix("starter-") if rvu else ""
        self._mcd_docs = bool(conn.execute("SELECT 1 FROM mcd_documents LIMIT 1").fetchone())
        self._mcd_lists = "mcd_articles" in self._sources

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
        """Every source the KB was built from by name: version, effective date, file, rows;
        ``SourceVersion.period()`` gives the quarter or year it is for."""
        return dict(self._sources)

    def citation(self, source: str) -> str:
        """A citation for a source name, e.g. "CMS NCCI PTP edits (practitioner) v30.1, effective
        2024-04-01"; the name itself when the KB does not hold that source."""
        return self._citations.get(source, source)

    def currency(self, on: date | None = None) -> list[TableCurrency]:
        """Each table's period (quarter, fiscal year, snapshot date) and, for a date of service
        ``on``, whether it covers it. A date after a table's period has status "after" and a
        note saying the answer is based on what is in the newest table we hold."""
        return [table_currency(sv, on) for _n, sv in sorted(self._sources.items())]

    def table_currency(self, name: str, on: date | None = None) -> TableCurrency | None:
        """``currency`` for one source (e.g. "ncci_ptp_practitioner"); None if not held."""
        sv = self._sources.get(name)
        return table_currency(sv, on) if sv else None

    def ptp_settings(self) -> list[str]:
        """The PTP tables this KB holds: practitioner, hospital and any payer's own table."""
        return sorted(self._ptp_tables)

    # -- codes ----------------------------------------------------------------------------------
    @memo()
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
            action=row[10],
            action_date=_d(row[11]),
        )

    def ping(self) -> None:
        """Read the file now (a code lookup may be answered from memory): raises when the file
        is gone or broken, for the readiness check."""
        self._conn().execute(_CODE_COLS + "WHERE code = ?", ("99213",)).fetchone()

    def is_known(self, code: str, system: str | None = None) -> bool:
        return self.code(code, system) is not None

    @memo()
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

    @memo()
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

    @memo()
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

    def ptp_among(
        self, codes: Iterable[str], on: date | None = None, setting: str = "practitioner"
    ) -> dict[tuple[str, str], list[PtpEdit]]:
        """Every edit row among ``codes`` (both orders), in one set query: ``column1 IN (...)
        AND column2 IN (...)``. Returns ``{(column1, column2): [edits]}`` with the edit in
        force on ``on`` first (None: currently active), then any not yet in force on it.

        One query for a whole mail instead of one per ordered pair (a mail with N codes would
        otherwise cost N x (N - 1) queries); callers cap N.
        """
        return self._ptp_among(tuple(sorted(set(codes))), on, setting)

    @memo(copy_dict_of_lists)
    def _ptp_among(self, uniq: tuple[str, ...], on: date | None, setting: str
                   ) -> dict[tuple[str, str], list[PtpEdit]]:
        table = self._ptp_tables.get(setting)
        if table is None or len(uniq) < 2:
            return {}
        marks = ",".join("?" * len(uniq))
        rows = self._conn().execute(
            self._PTP_SQL + f"WHERE column1 IN ({marks}) AND column2 IN ({marks}) AND tbl = ?",
            (*uniq, *uniq, table[0]),
        ).fetchall()
        when = _ymd_int(on) if on is not None else None
        grouped: dict[tuple[str, str], list[tuple]] = {}
        for row in rows:
            if row[0] != row[1]:
                grouped.setdefault((row[0], row[1]), []).append(row)
        out: dict[tuple[str, str], list[PtpEdit]] = {}
        for pair, group in grouped.items():
            def rank(row: tuple) -> tuple[int, int]:
                eff, dele = row[4], row[5]
                live = (not dele) if when is None else not (
                    (eff and when < eff) or (dele and when > dele))
                return (0 if live else 1, -eff)
            group.sort(key=rank)
            out[pair] = [self._ptp_row(r, setting, table[1]) for r in group]
        return out

    def ptp_pairs(
        self, codes: Iterable[str], on: date | None = None, setting: str = "practitioner"
    ) -> list[PtpEdit]:
        """Every edit in force among a set of codes, both orders checked."""
        found: list[PtpEdit] = []
        for (_a, _b), edits in sorted(self.ptp_among(codes, on, setting).items()):
            edit = edits[0]
            if edit.in_force(on):
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
    @memo()
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

    @memo()
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

    @memo(copy_list)
    def addons_for_primary(self, primary: str) -> list[str]:
        """Add-on codes that list ``primary`` among their primaries (active edits)."""
        rows = self._conn().execute(
            "SELECT DISTINCT addon FROM addon WHERE primary_code = ? AND deletion_date = '' "
            "ORDER BY addon",
            (primary,),
        ).fetchall()
        return [r[0] for r in rows]

    @memo()
    def pfs(self, code: str, modifier: str = "") -> PfsInfo | None:
        """The PFS row of a code: the global row, or the row of ``modifier`` ("26", "TC",
        "53") when the file has one. None when the KB has no PFS row for it."""
        row = self._conn().execute(
            _PFS_COLS + "WHERE code = ? AND modifier = ?", (code, modifier)
        ).fetchone()
        return self._pfs_row(row) if row else None

    @memo(copy_list)
    def pfs_rows(self, code: str) -> list[PfsInfo]:
        """Every PFS row of a code: the global row first, then 26, 53, TC."""
        rows = self._conn().execute(
            _PFS_COLS + "WHERE code = ? ORDER BY modifier", (code,)
        ).fetchall()
        return [self._pfs_row(r) for r in rows]

    def _pfs_row(self, r: tuple) -> PfsInfo:
        # positional, in the field order of PfsInfo (a hot path: about 2 us less than keywords)
        return PfsInfo(
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], self._rvu_citation, r[7], r[8], r[9],
            r[10], r[11] == 1, r[12], r[13], r[14] == 1, r[15], r[16] == 1, r[17], r[18],
            r[19], r[20], r[21], r[22], r[23], r[24], r[25], self._rvu_version,
        )

    @memo()
    def endoscopy_family(self, code: str) -> EndoscopyFamily | None:
        """The endoscopy family ``code`` belongs to, as the base code or as a member (a code
        with multiple procedure indicator 3 names its base in ENDO BASE). None when the code
        is in no family."""
        conn = self._conn()
        row = conn.execute(
            "SELECT endo_base FROM pfs WHERE code = ? AND modifier = '' AND endo_base != ''",
            (code,),
        ).fetchone()
        base = row[0] if row else code
        members = conn.execute(  # "!= ''" lets SQLite use the partial index
            "SELECT DISTINCT code FROM pfs WHERE endo_base = ? AND endo_base != '' "
            "ORDER BY code", (base,)
        ).fetchall()
        if not members:
            return None
        return EndoscopyFamily(base, tuple(m[0] for m in members if m[0] != base),
                               self._rvu_citation)

    @memo()
    def modifier(self, code: str) -> ModifierInfo | None:
        row = self._conn().execute(
            "SELECT code, description, usage, applies_to FROM modifiers WHERE code = ?",
            (code.upper(),),
        ).fetchone()
        return ModifierInfo(*row) if row else None

    # -- ICD-10-CM notes ------------------------------------------------------------------------
    @memo(copy_list)
    def icd_ancestors(self, code: str) -> list[str]:
        """Subcategory, category, block and chapter above a code, nearest first."""
        row = self._conn().execute(
            "SELECT ancestors FROM icd_tree WHERE code = ?", (code,)
        ).fetchone()
        return [x for x in row[0].split(",") if x] if row else []

    @memo(copy_list)
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

    @memo(copy_dict)
    def seventh_characters(self, code: str) -> dict[str, str]:
        """The 7th-character values that apply to a code (from its category), e.g. A, D, S."""
        out: dict[str, str] = {}
        for note in self.icd_notes(code):
            if note.kind == "seventh_char":
                char, _, meaning = note.text.partition(": ")
                out.setdefault(char, meaning)
        return out

    @memo(copy_list)
    def guidelines(self, code: str) -> list[str]:
        rows = self._conn().execute(
            "SELECT g.note FROM guideline_codes c JOIN guidelines g ON g.id = c.gid "
            "WHERE c.code = ? ORDER BY g.id",
            (code,),
        ).fetchall()
        return [r[0] for r in rows]

    # -- HCPCS: doses and replacements ----------------------------------------------------------
    @memo()
    def dose_unit(self, code: str) -> DoseUnit | None:
        """The billing unit a HCPCS code's descriptor states ("per 250 mg"); None when the
        descriptor states none the KB can read (or the code is not a HCPCS code)."""
        row = self._conn().execute(
            "SELECT code, kind, amount, unit, dimension, text FROM drug_doses WHERE code = ?",
            (code,),
        ).fetchone()
        return DoseUnit(*row) if row else None

    def drug_units(self, code: str, dose: str | StatedDose) -> UnitConversion:
        """Billing units of ``code`` for a stated dose ("1 g ceftriaxone", "80 mg"), rounded
        up to whole units; the result's status says when it cannot be done and why."""
        unit = self.dose_unit(code)
        if unit is None and self.code(code) is None:
            return UnitConversion(code, "unknown_code",
                                  note=f"{code} is not in this knowledge base.")
        return billing_units(dose, unit, code=code)

    @memo(copy_list)
    def replacements(self, code: str, on: date | None = None, *, depth: int = 5) -> list[str]:
        """What to report instead of an ended code, following the chain of replacements
        (a replacement that itself ended is followed to its own) up to ``depth`` steps; only
        codes valid on ``on`` (None: active now) are returned. [] when the KB records none."""
        found: list[str] = []
        todo = list((self.code(code) or CodeInfo("", code, "")).replaced_by)
        seen = {code}
        while todo and depth > 0:
            depth -= 1
            nxt: list[str] = []
            for c in todo:
                if c in seen:
                    continue
                seen.add(c)
                info = self.code(c)
                if info is None:
                    found.append(c)  # named by the source, unknown here: still the answer
                elif info.valid_on(on):
                    found.append(c)
                else:
                    nxt.extend(info.replaced_by)
            todo = nxt
        return found

    # -- ICD-10-CM helpers ----------------------------------------------------------------------
    @memo()
    def icd_with_seventh(self, code: str, char: str) -> CodeInfo | None:
        """The billable code for ``code`` with 7th character ``char`` (X placeholders added:
        S72.001 + D -> S72.001D, S02.5 + A -> S02.5XXA). None when that code does not exist
        (the category takes no such 7th character, or ``code`` is not a code)."""
        try:
            full = icd_codes.with_seventh(code, char)
        except ValueError:
            return None
        info = self.code(full, "ICD10CM")
        return info if info is not None and info.billable else None

    def icd_parent(self, code: str) -> str:
        """The code one level up ("S72.001D" -> "S72.001", "K21.00" -> "K21.0"; '' for a
        category)."""
        return icd_codes.parent(code)

    def icd_category(self, code: str) -> str:
        return icd_codes.category(code)

    def icd_is_under(self, code: str, ancestor: str) -> bool:
        """True when ``code`` is ``ancestor``, below it, or in its block ("K20-K31")."""
        if "-" in ancestor.strip("-") and not ancestor.endswith(".-"):
            return ancestor in self.icd_ancestors(icd_codes.normalize(code))
        return icd_codes.is_under(code, ancestor)

    def icd_children_matching(self, code: str, text: str, *, limit: int = 5) -> list[CodeInfo]:
        """Billable codes below ``code`` ranked by how many of the words of ``text`` their
        descriptions hold (ties keep code order): which child a mail's words point to."""
        return [kid for _hits, kid in self.icd_children_scored(code, text)[:limit]]

    def icd_children_scored(self, code: str, text: str) -> list[tuple[int, CodeInfo]]:
        """(score, code) for the billable codes below ``code`` the words of ``text`` point to,
        best first (ties keep code order): a caller can tell a clear pick from a tie."""
        words, negated = self._stems(text)
        said = words - negated
        stages = _stages(text)
        kids = self.children(code, billable_only=True, limit=2000)
        scored = []
        for i, kid in enumerate(kids):
            desc, desc_neg, kid_stages = self._description_stems(kid.description)
            # "without bleeding" in a child counts against a mail that says bleeding, and a
            # child's "with bleeding" against a mail that says "no bleeding"
            hits = len(said & desc) + len(negated & desc_neg)
            hits -= 2 * len(desc_neg & said) + 2 * len(negated & desc)
            # "stage 3a" picks "stage 1 through stage 4" over "stage 5" (words cannot)
            if stages and kid_stages:
                hits += 3 if stages & kid_stages else -3
            if hits > 0:
                scored.append((-hits, i, kid))
        scored.sort(key=lambda t: (t[0], t[1]))
        return [(-h, k) for h, _i, k in scored]

    @memo()
    def _description_stems(self, description: str
                           ) -> tuple[frozenset[str], frozenset[str], frozenset[int]]:
        """(stems said, stems negated, stages) of a code's description, for
        ``icd_children_scored``: the same for every mail that scores the code among its
        siblings (up to two thousand of them), so read once per KB."""
        desc, desc_neg = self._stems(description)
        return frozenset(desc - desc_neg), frozenset(desc_neg), frozenset(_stages(description))

    _WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")
    _NEGATION = re.compile(r"\b(?:without|no|not|denies|negative for)\s+([A-Za-z]+)", re.I)

    def _stems(self, text: str) -> tuple[set[str], set[str]]:
        """(word stems, stems of words after "without"/"no"/...) of a text."""
        # "is M17.9 right?" asks if it is correct: that "right" is no side
        text = _RIGHT_AS_CORRECT.sub(" ", text)
        words = {_singular(_SIDE_WORDS.get(w.lower(), w.lower()))[:6]
                 for w in self._WORD.findall(text)
                 if len(w) > 1 and w.lower() not in _CHILD_STOPWORDS
                 and (len(w) > 2 or w.lower() in _SIDE_WORDS)}
        if re.search(r"(?i)\bb/l\b", text):
            words.add("bilate")
        negated = {m.group(1).lower()[:6] for m in self._NEGATION.finditer(text)}
        return words, negated & words

    @memo(copy_list)
    def icd_combination_hints(self, a: str, b: str) -> list[CombinationHint]:
        """Where the tabular list points from two codes to one code that reports both.

        Two kinds of note count: a note on one code or its ancestors (Excludes1, code first,
        code also, note) naming a code in the other code's category that is not the other
        code itself and whose description combines conditions ("with", "due to", ...), e.g.
        K20.9 + K21.9 -> K21.0- (Excludes1 at K20), N18.30 + E11.9 -> E11.22 (code first at
        N18); and an includes note or inclusion term of a code in the same block as one code
        that names the other code's category, e.g. I10 + N18.30 -> I12 ("any condition in N18
        ... due to hypertension")."""
        a, b = icd_codes.normalize(a), icd_codes.normalize(b)
        hints: dict[str, CombinationHint] = {}
        conn = self._conn()
        for x, y in ((a, b), (b, a)):
            chain_x = [x, *self.icd_ancestors(x)]
            block_x = next((c for c in chain_x if "-" in c), "")
            rows = conn.execute(
                "SELECT code, kind, ref, text FROM icd_note_refs WHERE category = ?",
                (icd_codes.category(y),),
            ).fetchall()
            for code, kind, ref, text in rows:
                names_y = ref_matches(ref, y) or ref_matches(ref.removesuffix("-"), y)
                if (code in chain_x and not names_y
                        and kind in ("excludes1", "code_first", "code_also", "note")):
                    # (a note naming y itself asks for both codes: no combination)
                    target = ref.removesuffix(".-").removesuffix("-").partition("-")[0]
                    info = self.code(target, "ICD10CM")
                    desc = f" {info.description.lower()} " if info else ""
                    if info is None or not any(w in desc for w in _COMBINING):
                        continue
                    suggested = ref
                elif (kind in ("includes", "inclusion_term") and block_x
                      and icd_codes.category(code) != icd_codes.category(y)
                      and block_x in self.icd_ancestors(code)):
                    info = self.code(code, "ICD10CM")
                    suggested = f"{code}.-" if info and not info.billable and "." not in code \
                        else code
                else:
                    continue
                hints.setdefault(suggested, CombinationHint((a, b), suggested, code, kind,
                                                            " ".join(text.split())))
        return list(hints.values())

    # -- coverage (Medicare Coverage Database) ---------------------------------------------------
    def coverage_loaded(self) -> dict[str, bool]:
        """What coverage data the KB holds: "documents" (any LCD or article list) and
        "code_lists" (the MCD downloads with HCPCS and ICD-10-CM lists)."""
        return {"documents": self._mcd_docs, "code_lists": self._mcd_lists}

    def _doc(self, r: tuple) -> CoverageDocument:
        return CoverageDocument(
            doc_id=r[0], kind=r[2], title=r[3],
            contractors=tuple(x for x in r[4].split("\n") if x), version=r[1],
            effective_date=_d(r[5]), retired_date=_d(r[6]), updated=_d(r[7]), url=r[8],
            states=tuple(x for x in r[9].split(",") if x), states_exact=bool(r[10]),
            source=self.citation(r[11]),
        )

    def _pick_versions(self, rows: list[tuple], on: date | None) -> list[tuple]:
        """One version per document: the one in force on ``on`` (the newest whose effective
        date is not after it); with no date, the newest that is not marked future."""
        by_doc: dict[str, list[tuple]] = {}
        for r in rows:
            by_doc.setdefault(r[0], []).append(r)
        picked = []
        for versions in by_doc.values():
            versions.sort(key=lambda r: (r[5], int(r[1]) if r[1].isdigit() else 0))
            if on is not None:
                live = [r for r in versions if not r[5] or r[5] <= on.isoformat()]
                if not live:
                    continue
                best = live[-1]
                if best[6] and best[6] < on.isoformat():
                    continue  # retired before the date
            else:
                now = [r for r in versions if not r[12].lower().startswith("future")]
                best = (now or versions)[-1]
            picked.append(best)
        return picked

    def coverage_document(self, doc_id: str, on: date | None = None) -> CoverageDocument | None:
        """An LCD or article by display id (L36668, A52840), the version in force on ``on``."""
        rows = self._conn().execute(_MCD_COLS + "WHERE doc_id = ?",
                                    (doc_id.strip().upper(),)).fetchall()
        picked = self._pick_versions(rows, on)
        return self._doc(picked[0]) if picked else None

    def coverage_for_code(
        self, code: str, *, state: str | None = None, on: date | None = None,
        limit: int = 50,
    ) -> CoverageLookup:
        """Articles whose HCPCS/CPT list holds ``code`` (and the LCDs they relate to),
        optionally only those applying in ``state``; ``loaded`` False (with a plain note) when
        the KB holds no MCD code lists."""
        if not self._mcd_lists:
            return CoverageLookup((), False, self._not_loaded_note())
        conn = self._conn()
        keys = conn.execute("SELECT DISTINCT doc_id, version FROM mcd_codes WHERE code = ?",
                            (code.upper(),)).fetchall()
        listed = set(keys)

        def versions(doc_ids: Iterable[str]) -> list[tuple]:
            rows: list[tuple] = []
            for d in sorted(set(doc_ids)):
                rows += conn.execute(_MCD_COLS + "WHERE doc_id = ?", (d,)).fetchall()
            return self._pick_versions(rows, on)

        # the version in force must itself list the code; then the LCDs those articles name
        picked = [r for r in versions(d for d, _v in keys) if (r[0], r[1]) in listed]
        lcds = [lcd for r in picked for (lcd,) in conn.execute(
            "SELECT lcd FROM mcd_related WHERE article = ?", (r[0],))]
        picked += [r for r in versions(lcds) if (r[0], r[1]) not in listed]
        found = [self._doc(r) for r in picked]
        if state:
            found = [d for d in found if state.upper() in d.states]
        found.sort(key=lambda d: (d.kind != "LCD", d.doc_id))
        where = f" in {state.upper()}" if state else ""
        note = "" if found else (f"No LCD or article in the KB lists {code}{where} "
                                 f"({self.citation('mcd_articles')}).")
        return CoverageLookup(tuple(found[:limit]), True, note)

    @memo()
    def coverage_documents(
        self, *, state: str | None = None, contractor: str | None = None,
        words: str | None = None, kind: str | None = None, on: date | None = None,
        limit: int = 50,
    ) -> CoverageLookup:
        """LCDs and articles by state (two-letter code), contractor name words, title words
        and kind ("LCD" or "Article"), in force on ``on``. ``loaded`` False when the KB
        holds no coverage documents at all."""
        if not self._mcd_docs:
            return CoverageLookup((), False, self._not_loaded_note(documents=True))
        conn = self._conn()
        cols = ", ".join(f"m.{c.strip()}" for c in _MCD_COLS.removeprefix("SELECT ")
                         .removesuffix(" FROM mcd_documents ").split(","))
        clauses, args = [], []
        terms = " ".join(filter(None, [
            " ".join(f'title:"{w}"' for w in self._WORD.findall(words or "")
                     if w.lower() not in _STOPWORDS),
            " ".join(f'contractors:"{w}"' for w in self._WORD.findall(contractor or "")),
        ]))
        # drive the query from the most selective index: the title search, else the state
        if terms:
            sql = (f"SELECT {cols} FROM mcd_fts f JOIN mcd_documents m "
                   "ON m.doc_id = f.doc_id AND m.version = f.version")
            clauses.append("mcd_fts MATCH ?")
            args.append(terms)
            if state:
                clauses.append("EXISTS (SELECT 1 FROM mcd_doc_states s WHERE s.state = ? "
                               "AND s.doc_id = m.doc_id AND s.version = m.version)")
                args.append(state.upper())
        elif state:
            sql = (f"SELECT {cols} FROM mcd_doc_states s JOIN mcd_documents m "
                   "ON m.doc_id = s.doc_id AND m.version = s.version")
            clauses.append("s.state = ?")
            args.append(state.upper())
        else:
            sql = f"SELECT {cols} FROM mcd_documents m"
        if kind:
            clauses.append("m.kind = ?")
            args.append("LCD" if kind.upper() == "LCD" else "Article")
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = conn.execute(sql + where, args).fetchall()
        found = [self._doc(r) for r in self._pick_versions(rows, on)]
        found.sort(key=lambda d: (d.kind != "LCD", d.title.lower(), d.doc_id))
        note = "" if found else "No coverage document in the KB matches."
        return CoverageLookup(tuple(found[:limit]), True, note)

    def diagnosis_coverage(self, doc_id: str, code: str, *, on: date | None = None
                           ) -> DiagnosisCoverage:
        """Whether an ICD-10-CM code is in a covered or non-covered group of an article."""
        doc_id, icd = doc_id.strip().upper(), icd_codes.normalize(code)
        if not self._mcd_lists:
            return DiagnosisCoverage(doc_id, icd, "not_loaded",
                                     note=self._not_loaded_note())
        doc = self.coverage_document(doc_id, on)
        if doc is None:
            return DiagnosisCoverage(doc_id, icd, "unknown_document",
                                     note=f"{doc_id} is not in the KB's coverage documents.")
        conn = self._conn()
        rows = conn.execute(
            "SELECT covered, grp FROM mcd_icd WHERE doc_id = ? AND version = ? AND code = ?",
            (doc.doc_id, doc.version, icd),
        ).fetchall()
        cite = self.citation("mcd_articles")
        if rows:
            covered = sorted({g for c, g in rows if c == 1})
            status = "covered" if covered else "noncovered"
            groups = tuple(covered or sorted({g for _c, g in rows}))
            word = "a covered" if covered else "a non-covered"
            return DiagnosisCoverage(
                doc_id, icd, status, groups,
                f"{icd} is in {word} group ({', '.join(groups)}) of {doc_id} "
                f"\"{doc.title}\".", cite)
        any_list = conn.execute("SELECT 1 FROM mcd_icd WHERE doc_id = ? AND version = ? LIMIT 1",
                                (doc.doc_id, doc.version)).fetchone()
        if any_list:
            return DiagnosisCoverage(doc_id, icd, "not_listed", (),
                                     f"{icd} is in none of the ICD-10-CM groups of {doc_id} "
                                     f"\"{doc.title}\".", cite)
        return DiagnosisCoverage(doc_id, icd, "no_lists", (),
                                 f"The KB holds no ICD-10-CM list for {doc_id}.", cite)

    def _not_loaded_note(self, *, documents: bool = False) -> str:
        if documents:
            return ("The KB holds no Medicare Coverage Database documents: load the MCD files "
                    "(`consult kb update`, or `consult kb build --from DIR` with "
                    "mcd_documents_*.csv or the MCD download zips).")
        held = " It holds only the list of documents (titles, contractors, states)." \
            if self._mcd_docs else ""
        return ("The KB holds no Medicare Coverage Database code lists, so it cannot tell "
                f"which LCDs or articles list a code or cover a diagnosis.{held} Load "
                "current_article_csv.zip and current_lcd_csv.zip (`consult kb update`).")

    def mac_jurisdictions(self, state: str | None = None, kind: str | None = None
                          ) -> list[MacJurisdiction]:
        """MAC jurisdictions (project data), optionally those serving ``state`` and of
        ``kind`` ("AB", "DME", "HHH")."""
        out = []
        for j, contractor, k, states in self._conn().execute(
            "SELECT jurisdiction, contractor, kind, states FROM mac_jurisdictions "
            "ORDER BY kind, jurisdiction"
        ):
            st = tuple(x for x in states.split(",") if x)
            if (state is None or state.upper() in st) and (kind is None or kind.upper() == k):
                out.append(MacJurisdiction(j, contractor, k, st))
        return out

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
