"""Rank codes for one phrase: BM25 from the FTS5 index, then a coder's priors.

The FTS5 query (an OR of the phrase's terms, column-weighted BM25) only gathers candidates.
Each is then scored on:

- coverage: the share of the phrase's meaningful words (weighted by rarity) the code's texts
  hold - the main signal and the confidence reported;
- the BM25 rank itself and how much of the code's own wording the phrase explains;
- the code's prior (common codes with lay descriptions up; Category II, dental, unlisted and
  header codes down);
- qualifiers: the numbers and flags of the narrative against the code's conditions (30 mm
  balloon, 17 lesions, 45 minutes, new patient, L4-L5 and L5-S1 = 2 levels);
- conflicts: the phrase says right and the code says left, without vs with contrast, benign vs
  malignant, flexible vs rigid, new vs established...
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from consult.errors import KnowledgeBaseError
from consult.kb.store import KnowledgeBase
from consult.suggest.index import DX, INDEX_VERSION, PROC
from consult.suggest.qualifiers import Facts, fit, parse_when
from consult.suggest.text import GENERIC_STEMS, apply_lexicon, index_terms, query_tokens, stem

#: Candidates gathered by the FTS5 query before re-scoring.
POOL = 80
_CONFLICTS = [frozenset(stem(w) for w in group.split()) for group in (
    "right left bilateral", "noncontrast contrast", "new established", "initial subsequent",
    "flexible rigid", "transoral transnasal", "simple intermediate complex", "benign malignant",
    "acute chronic", "type1 type2", "unilateral bilateral", "upper lower",
    "cervical thoracic lumbar", "open laparoscopic", "open closed", "male female",
    "diagnostic screening", "antepartum postpartum", "inpatient outpatient",
    "unguided ultrasound", "nonrecurrent recurrent",
)]
_SIDES = frozenset(stem(w) for w in ("right", "left", "bilateral"))
#: Words a code's text should only have when the narrative says them (a colonoscopy "through a
#: stoma" is not the colonoscopy of a narrative that names no stoma).
_MARKED = frozenset(stem(w) for w in (
    "stoma", "pouch", "rigid", "transnasal", "retrograde", "congenital", "anomaly", "fetal",
    "newborn", "neonate", "infant", "pediatric", "intraoperative", "interprofessional",
    "telephone", "revision", "conversion", "redo", "recurrent", "younger", "prolonged",
    "group", "remote", "hormonal", "additional", "transplant",
    "postpartum", "antepartum", "bronchoscopic", "thoracoscopic", "endovascular",
    "assault", "self-harm", "undetermined", "terminated", "anesthesia", "bypass",
))
#: Encounter words: for ICD-10-CM they choose the 7th character, not the code.
_ENCOUNTER = frozenset(stem(w) for w in ("initial", "subsequent", "sequela", "encounter",
                                          "visit", "follow", "seen"))
_WEIGHTS = {PROC: "1.0, 1.4, 0.9", DX: "1.0, 0.5"}
_TABLE = {PROC: "c2c_proc", DX: "c2c_dx"}


@dataclass
class Scored:
    """One candidate with its features (kept for tests and for tuning)."""

    doc: int
    code: str
    system: str
    label: str
    score: float
    coverage: float
    matched: tuple[str, ...]
    terms: frozenset[str]
    billable: int
    qualifier: float = 0.0


class SuggestIndex:
    """The index of one KB: document frequencies in memory, documents on disk."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        conn = self.conn
        meta = dict(conn.execute("SELECT key, value FROM meta WHERE key LIKE 'c2c_%'"))
        if meta.get("c2c_index") != INDEX_VERSION:
            raise KnowledgeBaseError(
                f"{kb.path} has no Case2Code index of version {INDEX_VERSION} (it has "
                f"{meta.get('c2c_index')!r}). Rebuild the KB with `consult kb build`.")
        self.docs = {PROC: int(meta["c2c_docs_P"]), DX: int(meta["c2c_docs_D"])}
        self.df: dict[str, dict[str, int]] = {PROC: {}, DX: {}}
        for kind, term, n in conn.execute("SELECT kind, term, df FROM c2c_df"):
            self.df[kind][term] = n
        self._vocab = {k: sorted(v) for k, v in self.df.items()}
        self._terms: dict[tuple[str, str, bool], list[str]] = {}
        self._idf: dict[str, dict[str, float]] = {PROC: {}, DX: {}}
        self._own: dict[int, float] = {}

    @property
    def conn(self) -> sqlite3.Connection:
        return self.kb._conn()  # the KB's own read-only, per-thread connection

    def idf(self, kind: str, term: str) -> float:
        got = self._idf[kind].get(term)
        if got is None:
            n = self.df[kind].get(term, 0)
            total = self.docs[kind]
            got = math.log((total - n + 0.5) / (n + 0.5) + 1.0)
            self._idf[kind][term] = got
        return got

    def _own_mass(self, kind: str, doc: int, terms: frozenset[str]) -> float:
        """The rarity-weighted size of a code's own wording (cached per document)."""
        got = self._own.get(doc)
        if got is None:
            got = sum(self.idf(kind, t) for t in terms if t not in GENERIC_STEMS) or 1.0
            self._own[doc] = got
        return got

    def leaning(self, text: str) -> str:
        """Which kind of document the phrase's words belong to: PROC, DX or '' (both)."""
        proc = dx = 0.0
        for term in self.query_terms(PROC, text) + self.query_terms(DX, text):
            if term in GENERIC_STEMS:
                continue
            p = self.df[PROC].get(term, 0) / self.docs[PROC]
            d = self.df[DX].get(term, 0) / self.docs[DX]
            if p > 4 * d:
                proc += 1
            elif d > 4 * p:
                dx += 1
        return PROC if proc > dx else DX if dx > proc else ""

    def correct(self, kind: str, term: str) -> str | None:
        """The index term a misspelt one most likely means ("colonscop" -> "colonoscop")."""
        if len(term) < 5 or term[0].isdigit():
            return None
        choices = [t for t in self._vocab[kind]
                   if t[0] == term[0] and abs(len(t) - len(term)) <= 2 and len(t) >= 4]
        found = process.extractOne(term, choices, scorer=Levenshtein.distance,
                                   score_cutoff=1 if len(term) < 8 else 2)
        return found[0] if found else None

    def query_terms(self, kind: str, text: str, *, mend: bool = True) -> list[str]:
        """The phrase's index terms this kind of document knows (misspellings mended when
        ``mend``: only for phrases that already read as clinical, so that "message" in a mail
        never becomes "massage")."""
        key = (kind, text, mend)
        cached = self._terms.get(key)
        if cached is None:
            cached = self._query_terms(kind, text, mend)
            if len(self._terms) > 4096:
                self._terms.clear()
            self._terms[key] = cached
        return list(cached)

    def _query_terms(self, kind: str, text: str, mend: bool) -> list[str]:
        words, _kinds = apply_lexicon(query_tokens(text))
        out: list[str] = []
        for term in index_terms(words):
            if kind == DX and term in _ENCOUNTER:
                continue
            if term not in self.df[kind]:
                fixed = self.correct(kind, term) if mend else None
                if fixed is None:
                    continue
                term = fixed
            if term not in out:
                out.append(term)
        return out

    def rank(self, kind: str, text: str, facts: Facts, *, extra: str = "", aside: str = "",
             medicare: bool = False, mend: bool = True, pool: int = POOL) -> list[Scored]:
        """Candidates for ``text`` among procedures (``PROC``) or diagnoses (``DX``).

        ``extra``: words the phrase inherits (an endoscope named earlier); ``aside``: words of
        the same sentence that belong to another phrase (a diagnosis after "for"), which count
        a little so "colonoscopy for a bleeding diverticulum, clipped" finds the bleeding code.
        """
        terms = self.query_terms(kind, f"{extra} {text}" if extra else text, mend=mend)
        side = [t for t in self.query_terms(kind, aside) if t not in terms] if aside else []
        meaningful = [t for t in terms if t not in GENERIC_STEMS]
        if not meaningful:
            return []
        # very common words (right, fracture) only re-score: matching on them costs much
        common = self.docs[kind] * 0.08
        rare = [t for t in terms + side if self.df[kind].get(t, 0) <= common]
        match = " OR ".join(f'"{t}"' for t in (rare or terms + side))
        table = _TABLE[kind]
        rows = self.conn.execute(
            f"SELECT rowid, bm25({table}, {_WEIGHTS[kind]}) AS s FROM {table} "
            f"WHERE {table} MATCH ? ORDER BY s LIMIT ?",
            (match, pool if kind == PROC else pool * 3 // 2)).fetchall()
        if not rows:
            return []
        best_bm25 = min(r[1] for r in rows) or -1.0
        bm25 = {r[0]: r[1] / best_bm25 for r in rows}
        marks = ",".join("?" * len(rows))
        docs = self.conn.execute(
            f"SELECT id, code, system, label, prior, cond, terms, billable FROM c2c_docs "
            f"WHERE id IN ({marks})", [r[0] for r in rows]).fetchall()
        weights = {t: self.idf(kind, t) * (0.35 if t in GENERIC_STEMS else 1.0) for t in terms}
        total = sum(weights.values()) or 1.0
        if not mend:
            # a phrase with no clinical word: the words no code knows count against it
            words, _kinds = apply_lexicon(query_tokens(text))
            strangers = {t for t in index_terms(words)
                         if t not in self.df[kind] and t not in GENERIC_STEMS}
            total += len(strangers) * 0.5 * math.log(self.docs[kind])
        for t in side:
            weights[t] = 0.25 * self.idf(kind, t) * (0.35 if t in GENERIC_STEMS else 1.0)
        qset = frozenset(terms)
        allq = frozenset(weights)
        inherited = allq - qset
        said = allq | GENERIC_STEMS
        # the phrase's side of each conflict is the same for every candidate: the groups it
        # says nothing of can never conflict, and most phrases say something of one or none
        conflicts = [(q, group) for group in _CONFLICTS if (q := allq & group)]
        out: list[Scored] = []
        for doc, code, system, label, prior, cond, doc_terms, billable in docs:
            dterms = frozenset(doc_terms.split())
            matched = qset & dterms
            hit = sum(weights[t] for t in matched)
            coverage = hit / total
            bonus = sum(weights[t] for t in inherited & dterms) / total
            own = self._own_mass(kind, doc, dterms)
            explained = min(1.0, hit / own)
            score = (2.0 * coverage + bonus + 0.6 * bm25[doc] + 0.25 * explained + prior
                     - 0.35 * len((dterms & _MARKED) - allq))
            if medicare and system == "HCPCS" and code.startswith("G"):
                score += 0.3
            if dterms <= said:
                score += 0.2  # the code says what the phrase says and nothing more
            qual = fit(parse_when(cond), facts) if cond else 0.0
            score += 0.55 * qual if qual > 0 else 1.1 * qual
            for q, group in conflicts:
                d = dterms & group
                if d and not (q & d):
                    score -= 0.6
            if kind == DX and not (qset & _SIDES) and dterms & _SIDES:
                score -= 0.15  # no side said: the unspecified-side code
            elif kind == DX and qset & _SIDES and not dterms & _SIDES:
                score -= 0.25  # a side said: not the code that leaves it open
            out.append(Scored(doc, code, system, label, score, coverage,
                              tuple(sorted(matched)), dterms, billable, qual))
        out.sort(key=lambda s: (-s.score, s.code))
        return out


_CACHE: WeakKeyDictionary[KnowledgeBase, SuggestIndex] = WeakKeyDictionary()


def index_for(kb: KnowledgeBase) -> SuggestIndex:
    """The (cached) index of a KB; raises ``KnowledgeBaseError`` when the KB has none."""
    idx = _CACHE.get(kb)
    if idx is None:
        idx = SuggestIndex(kb)
        _CACHE[kb] = idx
    return idx
