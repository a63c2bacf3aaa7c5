"""Build the Case2Code index into a KB file (called by ``consult.kb.build``).

One document per reportable code, in two FTS5 tables: procedures (CPT, HCPCS) and diagnoses
(ICD-10-CM). A document's fields are normalized by ``consult.suggest.text`` before they are
stored, so the FTS5 tokenizer only splits on spaces and the ranker's own coverage count sees the
same terms:

- ``name``: the KB description (CMS short descriptors with their abbreviations expanded, HCPCS
  long descriptors, ICD-10-CM titles);
- ``lay``: the project's lay description (``data/lay/*.csv``, written in the project's words);
- ``terms``: coders' phrases for the code, ICD-10-CM inclusion terms and the title of the
  code's category (index-style words: "fracture of lower end of radius" for S52.5-).

``c2c_docs`` keeps, per document, the code, a prior (common codes up, Category II codes,
dental codes and headers down), the code's qualifier conditions and its terms; ``c2c_df`` the
document frequency of each term. The lay descriptions are kept in ``c2c_lay`` (the code
pages show them); the ``codes`` table is left as the importers wrote it, so a CPT code only the
lay file knows is searchable but stays unknown to extraction and findings.
"""

from __future__ import annotations

import csv
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass
from importlib import resources

from consult.suggest.text import normalize

#: Bumped when the index layout or its normalization changes (checked at query time).
INDEX_VERSION = "3"
PROC, DX = "P", "D"
#: External-cause chapters (V00-Y99: transport, falls, activities, places) are left out: their
#: everyday words ("water", "sports", "vehicle") made ordinary prose look clinical. The code
#: pages still find them by code.
_EXTERNAL_CAUSE = frozenset("VWXY")
_BASE = frozenset({"43235", "45378", "43200", "45330", "52000", "31622", "29870", "29805",
                   "43260", "46600", "49320"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS c2c_docs (
    id INTEGER PRIMARY KEY, code TEXT NOT NULL, system TEXT NOT NULL, kind TEXT NOT NULL,
    label TEXT NOT NULL, prior REAL NOT NULL, cond TEXT NOT NULL DEFAULT '',
    terms TEXT NOT NULL, billable INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS c2c_docs_code ON c2c_docs(code);
CREATE TABLE IF NOT EXISTS c2c_lay (
    code TEXT PRIMARY KEY, lay TEXT NOT NULL, also TEXT NOT NULL, cond TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS c2c_df (
    kind TEXT NOT NULL, term TEXT NOT NULL, df INTEGER NOT NULL, PRIMARY KEY (kind, term)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS c2c_proc USING fts5(
    name, lay, terms, content='', tokenize='unicode61 remove_diacritics 0 tokenchars ''-'''
);
CREATE VIRTUAL TABLE IF NOT EXISTS c2c_dx USING fts5(
    name, terms, content='', tokenize='unicode61 remove_diacritics 0 tokenchars ''-'''
);
"""


@dataclass(frozen=True, slots=True)
class LayRow:
    """One line of the project's lay descriptions."""

    code: str
    lay: str
    also: tuple[str, ...]
    when: str
    family: str  # the file it came from: em, gi, skin, ...


def lay_rows() -> list[LayRow]:
    """All lay descriptions shipped in ``consult/suggest/data/lay``."""
    folder = resources.files("consult.suggest").joinpath("data", "lay")
    rows: list[LayRow] = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".csv"):
            continue
        text = entry.read_text(encoding="utf-8")
        for r in csv.DictReader(text.splitlines()):
            also = tuple(a.strip() for a in r["also"].split(";") if a.strip())
            rows.append(LayRow(r["code"], r["lay"], also, r["when"].strip(),
                               entry.name.removesuffix(".csv")))
    return rows


_VIEWS = re.compile(r"(?i)(?:(fewer than|at least|minimum of) )?(\d+)(?: (?:or|to) (\d+))?"
                    r"( or more)? views?\b")


def _views(lay: str) -> str:
    """The number of X-ray views a lay description states, as a condition (``views=2-3``)."""
    m = _VIEWS.search(lay)
    if not m:
        return ""
    low = int(m.group(2))
    if m.group(1) == "fewer than":
        return f"views=1-{low - 1}"
    if m.group(1) or m.group(4):
        return f"views={low}-"
    return f"views={low}-{m.group(3) or low}"


def _cpt_prior(code: str, description: str, has_lay: bool) -> float:
    if code.endswith("F"):
        return -1.5  # Category II performance measures: never what a narrative describes
    if code.endswith("U"):
        return -0.8  # proprietary lab analyses
    if code.endswith("T"):
        return -0.4  # Category III
    prior = 0.45 if has_lay else 0.0
    if "unlisted" in description.lower() or description.lower().startswith("unl"):
        prior -= 0.6
    return prior


def _hcpcs_prior(code: str, description: str) -> float:
    first = code[0]
    if code[:2] in ("G8", "G9") or first == "M":
        return -1.5  # quality-reporting codes: never what a narrative describes
    prior = {"D": -0.9, "C": -0.3, "S": -0.4, "T": -0.4, "H": -0.3, "M": -0.5, "K": -0.2,
             "L": -0.15, "E": -0.15, "A": -0.2, "B": -0.2, "P": -0.2, "Q": -0.1,
             "V": -0.2, "U": -0.3}.get(first, 0.0)
    if first not in "JQ" and ("not otherwise" in description.lower()
                               or "unlisted" in description.lower()):
        prior -= 0.4
    return prior


def build_index(
    conn: sqlite3.Connection, icd_terms: list[tuple[str, str]], leave_out: set[str]
) -> dict[str, int]:
    """Write the index into an open build connection; returns documents per kind.

    ``icd_terms``: (code, inclusion terms) from the ICD-10-CM loader; ``leave_out``: the
    ICD-10-CM codes that only add a 7th character (resolved at query time instead).
    """
    conn.executescript(_SCHEMA)
    lay = {r.code: r for r in lay_rows()}
    conn.executemany("INSERT OR REPLACE INTO c2c_lay VALUES (?,?,?,?)",
                     [(r.code, r.lay, "; ".join(r.also), r.when) for r in lay.values()])
    terms = dict(icd_terms)
    # codes whose billable forms add a 7th character: ranked like billable codes
    needs_seventh = {e[:-1].rstrip("X").rstrip(".") for e in leave_out}
    seventh: dict[str, str] = {}
    for cat, text in conn.execute(
            "SELECT substr(code, 1, 3), text FROM icd_notes WHERE kind = 'seventh_char'"):
        meaning = text.partition(": ")[2]
        if "encounter" not in meaning and meaning not in seventh.get(cat, ""):
            seventh[cat] = f"{seventh.get(cat, '')} ; {meaning}"
    titles = dict(conn.execute(
        "SELECT code, description FROM codes WHERE system = 'ICD10CM' AND status = 'header'"))
    docs: list[tuple] = []
    proc_fts: list[tuple] = []
    dx_fts: list[tuple] = []
    df: dict[str, Counter[str]] = {PROC: Counter(), DX: Counter()}
    rows = conn.execute(
        "SELECT code, system, description, lay, source, status, billable FROM codes "
        "WHERE system IN ('CPT', 'HCPCS', 'ICD10CM') "
        "AND status NOT IN ('deleted', 'terminated') ORDER BY system, code"
    ).fetchall()
    known = {(r[0], r[1]) for r in conn.execute("SELECT code, system FROM codes")}
    # CPT codes only the lay file knows (a KB without the CMS files): searchable all the same
    rows += [(r.code, "CPT", r.lay, r.lay, "lay", "active", 1)
             for r in lay.values() if (r.code, "CPT") not in known]
    for code, system, description, lay_text, source, _status, billable in rows:
        if system == "ICD10CM":
            if code in leave_out or code[0] in _EXTERNAL_CAUSE:
                continue
            name = normalize(description)
            # index-style words: the inclusion terms and titles of the code's ancestors
            above = [code[:n].rstrip(".") for n in range(3, len(code)) if code[:n][-1] != "."]
            words = [terms.get(code, ""), seventh.get(code[:3], "") if code in needs_seventh
                     else ""]
            words += [f"{terms.get(a, '')} ; {titles.get(a, '')}" for a in above]
            extra = normalize(" ; ".join(words))
            prior = 0.0 if billable or code in needs_seventh else -0.6
            if description.startswith("Other ") or ", other" in description:
                prior -= 0.1
            docs.append((len(docs) + 1, code, system, DX, description, prior, "",
                         " ".join(sorted(set(name + extra))), int(billable)))
            dx_fts.append((len(docs), " ".join(name), " ".join(extra)))
            df[DX].update(set(name + extra))
            continue
        row = lay.get(code) if system == "CPT" else None
        cms_short = source in ("rvu",)
        name = normalize(description, cms_short=cms_short)
        own = normalize(row.lay if row else (lay_text if lay_text != description else ""))
        if row is not None and description == row.lay:
            name = []  # a code only the lay file knows: its text is counted once
        also = normalize(" ; ".join(row.also)) if row else []
        if system == "CPT":
            prior = _cpt_prior(code, description, row is not None or bool(lay_text))
            if code in _BASE:
                prior += 0.15  # the diagnostic scope: what a bare "EGD" or "colonoscopy" is
        else:
            prior = _hcpcs_prior(code, description)
        label = description
        cond = (row.when + " " + _views(row.lay)).strip() if row else ""
        docs.append((len(docs) + 1, code, system, PROC, label, prior, cond,
                     " ".join(sorted(set(name + own + also))), 1))
        proc_fts.append((len(docs), " ".join(name), " ".join(own), " ".join(also)))
        df[PROC].update(set(name + own + also))
    conn.executemany("INSERT INTO c2c_docs VALUES (?,?,?,?,?,?,?,?,?)", docs)
    conn.executemany("INSERT INTO c2c_proc(rowid, name, lay, terms) VALUES (?,?,?,?)", proc_fts)
    conn.executemany("INSERT INTO c2c_dx(rowid, name, terms) VALUES (?,?,?)", dx_fts)
    conn.executemany(
        "INSERT INTO c2c_df VALUES (?,?,?)",
        [(kind, term, n) for kind, counts in df.items() for term, n in counts.items()],
    )
    counts = {PROC: len(proc_fts), DX: len(dx_fts)}
    conn.executemany(
        "INSERT OR REPLACE INTO meta VALUES (?, ?)",
        [("c2c_index", INDEX_VERSION), ("c2c_docs_P", str(counts[PROC])),
         ("c2c_docs_D", str(counts[DX]))],
    )
    conn.execute("INSERT INTO c2c_proc(c2c_proc) VALUES ('optimize')")
    conn.execute("INSERT INTO c2c_dx(c2c_dx) VALUES ('optimize')")
    return counts
