"""Words as the index and the ranker see them: one normalizer for narratives and code texts.

A coder writes "EGD w/ PEG", CMS writes "Egd tube/cath insertion", the project's lay text says
"EGD with placement of a percutaneous gastrostomy feeding tube (PEG)". All three go through the
same steps, so they meet on the same tokens:

1. lower case; ``w/`` ``w/o`` and ``&`` kept inside tokens such as ``i&d`` until looked up;
2. CMS short-descriptor abbreviations expanded (``rpr`` -> repair), for CMS short texts only;
3. the coders' lexicon (``egd`` -> esophagogastroduodenoscopy, ``lap chole`` -> laparoscopic
   cholecystectomy), longest phrase first;
4. stop words dropped, each word stemmed (Snowball English, then a trailing ``i`` or ``e``
   dropped so laparoscopy/laparoscopic and biopsy/biopsies meet).

Numbers stay as tokens ("30", "2.5") for the qualifier reader; they are not indexed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import snowballstemmer

_TOKEN = re.compile(r"[a-z0-9]+(?:[&/'][a-z0-9]+)*|&")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")

#: Words that carry no meaning for finding a code (function words and the trade's small talk).
_STOPWORDS_TEXT = """
a an and are as at be been being but by can could did do does done for from had has have
how i if in into is it its me my no not of on or our out over per so such than that the
their them then there these they this those to too up very was we were what when where which
while who why will with would you your yours he she his her him also any all both each just
only other same some about after before again once here more most own off under until
please pls thx lol hey sorry
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

#: Words of mail and of the coding trade that never make a narrative clinical on their own
#: (a cover note saying "a second opinion before we resubmit" must find nothing).
_GENERIC_TEXT = """
code codes coding coded coder coders bill billed billing billable claim claims payer payers
modifier modifiers unit units question questions thanks thank please help hi hello dear
regards team doctor doctors dr md provider providers physician patient patients pt pts
opinion second first third resubmit resubmitted appeal denied denial deny reimbursement
paid pay payment note notes chart documentation documented record records attached attach
see below above review reviewed let know advise confirm correct right wrong wondering
think should report reported reporting use used using need needs needed want get got go
today yesterday tomorrow date day days week weeks month year time times ok okay yes
sure quick follow forward forwarded fyi office clinic practice group department hospital
insurance medicare medicaid commercial plan policy guideline guidelines rule rules edit
edits ncci ptp mue same separate separately different another one two three four five
six seven eight nine ten several multiple many few number case cases email mail message
sent reply call phone fax address name signature confidential information intended
recipient received original copy new established level service services procedure
procedures performed perform done did diagnosis diagnoses dx cpt hcpcs icd icd10 icd-10
quarterly monthly weekly invoice invoices fee fees schedule password portal encrypted
encrypt address addresses audit audits cost costs price staff staffed delay delayed holiday
closed resume receipt process contact update updating file files rep representative resend
disregard ignore sending send sends over remaining end conversation agreed answer answers
going forward short long taking new here process w-9 w9 form forms login account access
friday monday tuesday wednesday thursday saturday sunday morning afternoon evening noon
quick reply replies yesterday test email emails inbox spam figured mind last next
unspecified home total status report reports reported included include including
type incident record page user users routing inbound outbound responsible id ids
"""
GENERIC = frozenset(_GENERIC_TEXT.split())

_NUM_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "single": 1, "a single": 1,
}


@dataclass(frozen=True, slots=True)
class LexEntry:
    """One lexicon phrase: what it reads as, and whether it signals a procedure or diagnosis."""

    words: tuple[str, ...]
    kind: str  # "P", "D", "F" or ""


def _data(name: str) -> str:
    return resources.files("consult.suggest").joinpath("data", name).read_text(encoding="utf-8")


def _table(name: str) -> list[list[str]]:
    rows = []
    for line in _data(name).splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        rows.append(line.split("\t"))
    return rows


@lru_cache(maxsize=1)
def abbreviations() -> dict[str, tuple[str, ...]]:
    """CMS short-descriptor abbreviations (``rpr`` -> ("repair",))."""
    return {row[0]: tuple(row[1].split()) for row in _table("abbrev.tsv") if len(row) >= 2}


@lru_cache(maxsize=1)
def lexicon() -> dict[tuple[str, ...], LexEntry]:
    """Coders' phrases keyed by their word tuple."""
    rows = _table("lexicon.tsv")
    whole = {row[0] for row in rows if " " not in row[0]}
    out: dict[tuple[str, ...], LexEntry] = {}
    for row in rows:
        flat = tuple(_tokens(row[0], whole))
        out[flat] = LexEntry(tuple(row[1].split()), row[2].strip() if len(row) > 2 else "")
    return out


_JOINED = re.compile(r"[&/']")


def _tokens(text: str, whole: set[str] | frozenset[str]) -> list[str]:
    """Lower-case tokens; a token with ``&`` ``/`` or ``'`` inside (``i&d``, ``w/o``) stays whole
    when ``whole`` or the CMS abbreviations know it, else it is split (``tube/cath``)."""
    out: list[str] = []
    abbrev = abbreviations()
    for m in _TOKEN.finditer(text.lower().replace("\u2019", "'")):
        tok = m.group()
        if tok == "&":
            out.append("and")
        elif tok in whole or tok in abbrev or not _JOINED.search(tok):
            out.append(tok)
        elif "'" in tok:
            out.append(tok.split("'")[0])
        else:
            out.extend(p for p in re.split(r"[&/]", tok) if p)
    return _spine_levels(_glue_numbers(out))


_SPINE = re.compile(r"^([ctls])(\d{1,2})$")
_REGION = {"c": "cervical", "t": "thoracic", "l": "lumbar", "s": "sacral"}


def _spine_levels(tokens: list[str]) -> list[str]:
    """``l4`` -> ``l4 lumbar``: a level names its spine region."""
    out: list[str] = []
    for tok in tokens:
        out.append(tok)
        m = _SPINE.match(tok)
        if m and int(m.group(2)) <= 12:
            region = _REGION[m.group(1)]
            if not out[-2:-1] or out[-2] != region:
                out.append(region)
    return out


_GLUE = frozenset({"stage", "type", "grade", "class"})
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5"}


def _glue_numbers(tokens: list[str]) -> list[str]:
    """``stage 3`` -> ``stage3``: numbers that name a kind stay meaningful in the index."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok in _GLUE and nxt and (nxt[0].isdigit() or nxt in _ROMAN) and len(nxt) <= 3:
            out.append(tok + _ROMAN.get(nxt, nxt))
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


@lru_cache(maxsize=1)
def _whole_tokens() -> frozenset[str]:
    return frozenset(k[0] for k in lexicon() if len(k) == 1)


def raw_tokens(text: str) -> list[str]:
    """Lower-case tokens; ``i&d``, ``w/o``, ``f/u`` kept whole when the lexicon knows them."""
    return _tokens(text, _whole_tokens())


#: CMS abbreviations a narrative may also use; these few are ordinary words there instead.
_NOT_IN_NARRATIVES_TEXT = """us car art gen ant dir int rec sup ip op mo ed ca id rd st ex
sub tr dp w n a b c d e f g h i m o p r s t v x new est pt pts hot band cyst sinus ear
"""
_NOT_IN_NARRATIVES = frozenset(_NOT_IN_NARRATIVES_TEXT.split())
_US = re.compile(r"\bUS\b")
_ED = re.compile(r"\b(?:ED|ER)\b")


def query_tokens(text: str) -> list[str]:
    """Tokens of a narrative: like ``raw_tokens``, with coders' uses of CMS abbreviations
    (``inj``, ``bx``, ``addl``) spelt out; ``US``, ``ED`` and ``ER`` are read as ultrasound and
    emergency department only in capitals (in lower case they are words of other languages)."""
    table = abbreviations()
    lex = lexicon()
    out: list[str] = []
    for tok in raw_tokens(_ED.sub("emergency department", _US.sub("ultrasound", text))):
        if (tok,) in lex or tok in _NOT_IN_NARRATIVES or tok not in table:
            out.append(tok)
        else:
            out.extend(table[tok])
    return out


def expand_abbreviations(tokens: Iterable[str]) -> list[str]:
    """CMS abbreviations to words (used on CMS short descriptors only)."""
    table = abbreviations()
    out: list[str] = []
    for tok in tokens:
        out.extend(table.get(tok, (tok,)))
    return out


@lru_cache(maxsize=1)
def _phrase_lengths() -> dict[str, tuple[int, ...]]:
    """The first word of each lexicon phrase -> the lengths of the phrases it starts, longest
    first (so a token tries only the phrases that can start with it)."""
    lengths: dict[str, set[int]] = {}
    for key in lexicon():
        lengths.setdefault(key[0], set()).add(len(key))
    return {word: tuple(sorted(ns, reverse=True)) for word, ns in lengths.items()}


def apply_lexicon(tokens: list[str]) -> tuple[list[str], list[str]]:
    """Replace coders' phrases by their words, longest first. Returns the words and the kinds
    of the phrases that matched (P, D, F) in order."""
    lex = lexicon()
    starts = _phrase_lengths()
    out: list[str] = []
    kinds: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        entry, n = None, 1
        for n in starts.get(tok, ()):
            if n <= len(tokens) - i:
                entry = lex.get(tuple(tokens[i:i + n]))
                if entry is not None:
                    break
        if entry is None:
            n = 1
            if len(tok) > 3 and tok.endswith("s"):
                entry = lex.get((tok[:-1],))  # "hemoclips", "polyps"
        if entry is None:
            out.append(tok)
        else:
            out.extend(entry.words)
            if entry.kind:
                kinds.append(entry.kind)
        i += n
    return out, kinds


_STEMMER = snowballstemmer.stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball stem, then a final ``i``/``e`` dropped on longer stems (biopsi -> biops)."""
    if word[0].isdigit():
        return word
    s = _STEMMER.stemWord(word)
    if len(s) > 5 and s[-1] in "ie":
        s = s[:-1]
    return s


def index_terms(words: Iterable[str]) -> list[str]:
    """Stems of the meaningful words (no stop words, no bare numbers, no 1-letter words)."""
    return [stem(w) for w in words
            if len(w) > 1 and w not in STOPWORDS and not _NUMBER.fullmatch(w)]


def normalize(text: str, *, cms_short: bool = False) -> list[str]:
    """The index terms of a text (see the module docstring)."""
    tokens = raw_tokens(text)
    if cms_short:
        tokens = expand_abbreviations(tokens)
    words, _kinds = apply_lexicon(tokens)
    return index_terms(words)


def number_word(word: str) -> int | None:
    """``three`` -> 3; digits -> int; else None."""
    if word.isdigit():
        return int(word)
    return _NUM_WORDS.get(word)


GENERIC_STEMS = frozenset(stem(w) for w in GENERIC) | frozenset(stem(w) for w in STOPWORDS)
