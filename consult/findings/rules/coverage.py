"""Coverage questions: name the LCD and billing article that apply, and say plainly what the
KB cannot answer.

The Medicare Coverage Database list says which LCDs and billing articles each MAC has in force
(title, contractor, dates); their code lists (which diagnoses are covered) are in the KB only
when the MCD download was loaded. So a coverage question gets the documents by code when code
lists are loaded, else by the contractor and the words of the mail matched to document titles,
and whether the diagnosis is in a covered group only when the lists are there - otherwise the
answer says the list is not in our sources and the case goes to an expert.
"""

from __future__ import annotations

import re
from functools import lru_cache

from consult.findings.context import RuleContext, may_contain
from consult.findings.model import Finding
from consult.kb.model import CoverageDocument

RULE = "coverage"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Coverage documents"}
_CONTRACTORS = {
    "novitas": "Novitas", "noridian": "Noridian", "palmetto": "Palmetto", "wps": "WPS",
    "cgs": "CGS", "first coast": "First Coast", "fcso": "First Coast",
    "ngs": "National Government Services", "national government": "National Government",
}
_WORD = re.compile(r"[A-Za-z][A-Za-z-]{3,}")
_STOP = frozenset({"with", "from", "that", "this", "does", "have", "what", "which", "when",
                   "under", "covered", "cover", "coverage", "diagnosis", "code", "codes",
                   "medicare", "patient", "billing", "coding", "article", "local", "determination",
                   "there", "their", "they", "would", "should", "could", "about", "will", "need",
                   "lcd", "lcds", "policy", "list", "other", "than", "also", "into"})
_ABBREVIATIONS = {"esi": "epidural steroid", "tfesi": "epidural", "rfa": "radiofrequency",
                  "mbb": "facet", "tpi": "trigger point", "pt": "physical therapy",
                  # what a coder writes for the services an LCD title names otherwise
                  "pared|paring|calluse?s?|corns?|mycotic nails?|nail debridement":
                      "routine foot care",
                  "psg|polysomnogra\\w*|sleep stud(?:y|ies)": "polysomnography"}
_IRREGULAR = {"feet": "foot", "teeth": "tooth"}
#: A word each match of an ``_ABBREVIATIONS`` pattern holds (the key itself for a plain word;
#: none known, so no substring check, for any other).
_ABBREVIATION_NEEDS = {
    "pared|paring|calluse?s?|corns?|mycotic nails?|nail debridement":
        ("pare", "paring", "callus", "corn", "nail"),
    "psg|polysomnogra\\w*|sleep stud(?:y|ies)": ("psg", "polysomnogra", "sleep stud"),
}
#: The patterns of ``_CONTRACTORS`` and ``_ABBREVIATIONS``, compiled once, each after the
#: words it needs (a substring check before the search).
_CONTRACTOR_RX = tuple((key, re.compile(rf"\b{key}\b"), name)
                       for key, name in _CONTRACTORS.items())
_ABBREVIATION_RX = tuple((_ABBREVIATION_NEEDS.get(abbr, (abbr,) if abbr.isalpha() else ()),
                          re.compile(rf"(?i)\b(?:{abbr})\b"), frozenset(full.split()))
                         for abbr, full in _ABBREVIATIONS.items())


@lru_cache(maxsize=4096)
def _norm(word: str) -> str:
    """A word of a title or a mail, lower case and singular ("calluses" and "callus" meet)."""
    w = word.lower()
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if w.endswith("ies") and len(w) > 5:
        return w[:-3] + "y"
    if w.endswith(("ses", "xes")) and len(w) > 5:
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss") and len(w) > 4:
        return w[:-1]
    return w


def _contractor(text: str) -> str | None:
    low = text.lower()
    return next((name for key, rx, name in _CONTRACTOR_RX if key in low and rx.search(low)),
                None)


def _topic_words(ctx: RuleContext, text: str) -> set[str]:
    words = {_norm(w) for w in _WORD.findall(text)} - _STOP
    for needs, rx, full in _ABBREVIATION_RX:
        if (not needs or may_contain(text, needs)) and rx.search(text):
            words |= full
    return words


def _best(docs: tuple[CoverageDocument, ...], words: set[str],
          topic: frozenset[str] = frozenset()) -> list[CoverageDocument]:
    """The best-titled documents: a word of the codes' own descriptions ("vitamin" for 82306)
    counts double a word of the mail ("repeat", "monitor"). When the codes have descriptions,
    a title that shares no word with them needs two of the mail's words: one ("peripheral"
    from "peripheral neuropathy") names the wrong document more often than the right one.

    Each title is read and scored once (a contractor's pool holds thousands of documents; the
    score was recomputed for the filter, the sort key and the tie with the best)."""
    scored: list[tuple[int, CoverageDocument]] = []
    for d in docs:
        score = _title_score(_title_words(d.title), words, topic)
        if score is not None:
            scored.append((score, d))
    if not scored:
        return []
    scored.sort(key=lambda sd: (-sd[0], sd[1].kind != "LCD",
                                not sd[1].title.lower().startswith("billing and coding"),
                                sd[1].doc_id))
    top = scored[0][0]
    return [d for score, d in scored if score == top][:2]


@lru_cache(maxsize=8192)
def _title_words(title: str) -> frozenset[str]:
    """The normalised words of a document title, stop words left out; remembered, since the
    same titles (a contractor's LCDs and articles, from the KB) are scored for mail after mail.
    """
    return frozenset({_norm(w) for w in _WORD.findall(title)} - _STOP)


def _title_score(title: frozenset[str], words: set[str], topic: frozenset[str]) -> int | None:
    """How well a title's words fit the mail's ``words`` and the codes' ``topic`` words, or
    None when the title does not fit enough to be named (no shared word; one mail word only,
    when the codes have descriptions)."""
    prefixed = _prefixed(title, topic)
    score = len(title & words) + len(title & topic) + 2 * prefixed
    enough = bool(title & topic) or prefixed or len(title & words) >= (2 if topic else 1)
    return score if score >= 1 and enough else None


def _prefixed(title: frozenset[str], topic: frozenset[str]) -> bool:
    """A description word the RVU file cut short is the start of a title word ("polysom" in
    "Polysom 6/> yrs 4/> param" and "Polysomnography")."""
    return any(len(t) >= 5 and w.startswith(t) and w != t for t in topic for w in title)


def _name(d: CoverageDocument) -> str:
    since = (f", version {d.version} effective {d.effective_date.isoformat()}"
             if d.effective_date and d.version else
             f", effective {d.effective_date.isoformat()}" if d.effective_date else "")
    return f"{d.kind} {d.doc_id} \"{d.title}\" ({d.contractors[0].split(' (')[0]}{since})"


def check(ctx: RuleContext) -> list[Finding]:
    if not ctx.asks("coverage"):
        return []
    text = ctx.text
    loaded = ctx.kb.coverage_loaded()
    if not loaded.get("documents"):
        return []
    docs: list[CoverageDocument] = []
    if loaded.get("code_lists"):
        for m in ctx.procedures:
            docs.extend(ctx.kb.coverage_for_code(m.code, on=ctx.on).documents)
    contractor = _contractor(text)
    topic = frozenset(w for m in ctx.procedures if (info := ctx.kb.code(m.code))
                      for w in _topic_words(ctx, info.description))
    words = _topic_words(ctx, text) | topic
    if not docs and words:
        pool: tuple[CoverageDocument, ...] = ()
        if contractor:
            pool = ctx.kb.coverage_documents(contractor=contractor, on=ctx.on,
                                             limit=5000).documents
            # the list holds current versions only: a document whose held version is newer
            # than the mail but not its first (version 32 of L33996) was in force then in an
            # earlier version; its title, which is all we match on, rarely changes
            held = {d.doc_id for d in pool}
            pool += tuple(d for d in ctx.kb.coverage_documents(
                contractor=contractor, limit=5000).documents if d.doc_id not in held
                and d.version.isdigit() and int(d.version) > 1 and d.retired_date is None)
        if not pool:  # one title search per word: the longest (most telling) few
            for w in sorted(words, key=lambda w: (-len(w), w))[:5]:
                pool += ctx.kb.coverage_documents(words=w, on=ctx.on, limit=200).documents
        docs = _best(tuple(dict.fromkeys(pool)), words, topic)
    if not docs:
        return []
    named = "; ".join(_name(d) for d in docs[:2])
    dx = [m.code for m in ctx.diagnoses]
    if loaded.get("code_lists") and dx:
        verdicts = []
        for d in docs[:2]:
            for code in dx:
                res = ctx.kb.diagnosis_coverage(d.doc_id, code, on=ctx.on)
                verdicts.append(f"{code} is {res.status.replace('_', ' ')} in {d.doc_id}")
        answer = f"The documents that apply: {named}. " + "; ".join(verdicts) + "."
        answers = True
    else:
        answer = (f"The document{'s' if len(docs) > 1 else ''} that appl"
                  f"{'y' if len(docs) > 1 else 'ies'}: {named}.")
        gap = " Its covered-diagnosis list is not in our sources."
        detail = answer + gap
        if not ctx.asks("coverage"):
            answer += gap  # a coverage part says so in its own abstention
        answers = False
    detail = (detail if not answers else answer) + " Coverage documents are the MAC's; check "\
        "the current version's covered ICD-10-CM groups before you bill."
    return [Finding(RULE, [*dx[:3], *[m.code for m in ctx.procedures][:3]], "info", detail,
                    docs[0].source, 0.8, {"answer": answer, "answers_coverage": answers,
                                          "documents": [d.doc_id for d in docs[:2]]})]
