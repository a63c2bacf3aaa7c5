"""From ranked phrases to a coding: one code per procedure and diagnosis described, the codes a
PTP edit bundles noted, the ICD-10-CM 7th character filled from the encounter, and silence
below the confidence floor."""

from __future__ import annotations

import re

from consult.kb.store import KnowledgeBase
from consult.suggest.index import DX, PROC
from consult.suggest.model import BundleNote, Candidate, SuggestResult
from consult.suggest.phrases import Phrase, split_phrases
from consult.suggest.qualifiers import Facts, read_facts
from consult.suggest.rank import Scored, SuggestIndex, index_for
from consult.suggest.text import (
    GENERIC_STEMS,
    apply_lexicon,
    index_terms,
    normalize,
    query_tokens,
)

#: Below this confidence (share of the phrase's meaningful words a code covers) say nothing.
FLOOR = 0.4
#: A piece of a procedure phrase whose words the main code already holds adds no code.
EXPLAINED = 0.75
#: The diagnostic scope each family's therapeutic codes include (noted as bundled).
BASE_CODES = {
    "esophagogastroduodenoscopy": "43235", "colonoscopy": "45378", "esophagoscopy": "43200",
    "flexible sigmoidoscopy": "45330", "sigmoidoscopy": "45330", "cystoscopy": "52000",
    "bronchoscopy": "31622", "knee arthroscopy": "29870", "shoulder arthroscopy": "29805",
    "endoscopic retrograde cholangiopancreatography": "43260", "anoscopy": "46600",
    "laparoscopic": "49320", "hysteroscopy": "58555",
}
_ROLE_KIND = {"procedure": (PROC,), "diagnosis": (DX,), "either": (PROC, DX)}
_OPEN_FRACTURE = re.compile(r"(?i)\bopen\s+(?:fracture|fx)|\bcompound\s+fracture")


def _seventh(kb: KnowledgeBase, code: str, text: str, facts: Facts) -> tuple[str, str]:
    """The full code with its 7th character: the one whose meaning the narrative states
    ("mild stage"), else the encounter (default initial), and a note saying which."""
    chars = kb.seventh_characters(code)
    if not chars:
        return code, ""
    low = text.lower()
    said = set(normalize(text)) - _ENCOUNTER_WORDS
    overlap = {c: len(said & set(normalize(m))) for c, m in chars.items()}
    top = max(overlap.values())
    if top > 0:
        best = [c for c, n in overlap.items() if n == top]
        if len(best) == 1:
            return _with_char(kb, code, best[0], chars)
    if "sequela" in low or "late effect" in low:
        want = ["S"]
    elif "subsequent" in facts.flags or re.search(
            r"\bsubseq|follow[\s-]?up|\bf/u\b|routine healing|healing normally", low):
        want = ["G", "K", "P"] if re.search(r"delayed|nonunion|malunion", low) else ["D"]
    elif _OPEN_FRACTURE.search(low):
        want = ["B", "A"]
    else:
        want = ["A"]
    char = next((c for c in want if c in chars), next(iter(chars)))
    return _with_char(kb, code, char, chars)


_ENCOUNTER_WORDS = frozenset(normalize("initial subsequent encounter sequela fracture"))


def _with_char(kb: KnowledgeBase, code: str, char: str,
               chars: dict[str, str]) -> tuple[str, str]:
    base = code
    while len(base.replace(".", "")) < 6:
        base += "X" if "." in base else ".X"
    full = base + char
    if kb.code(full, "ICD10CM") is None:
        return code, ""
    return full, f"7th character {char}: {chars[char]}"


def _candidate(kb: KnowledgeBase, s: Scored, phrase: Phrase, facts: Facts,
               context: str = "") -> Candidate:
    """``context``: the whole sentence part the phrase came from (its encounter words)."""
    code, note = s.code, ""
    if s.system == "ICD10CM" and not s.billable:
        code, note = _seventh(kb, s.code, context or phrase.text, facts)
    description = s.label
    if code != s.code:
        info = kb.code(code, "ICD10CM")
        description = info.description if info else description
    return Candidate(
        system=s.system, code=code, description=description, score=round(s.score, 4),
        confidence=round(s.coverage, 3),
        role="diagnosis" if s.system == "ICD10CM" else "procedure",
        phrase=phrase.text, matched=s.matched, note=note,
    )


def _rank_phrase(idx: SuggestIndex, phrase: Phrase, facts: Facts,
                 medicare: bool) -> list[Scored]:
    """The phrase's candidates; a phrase of no clear role takes the kind that covers it best
    (diagnoses win near-ties: a narrative naming no service describes a condition)."""
    best: list[Scored] = []
    lean = idx.leaning(phrase.text) if phrase.role == "either" else ""
    mend = _clear(phrase)
    for kind in _ROLE_KIND[phrase.role]:
        found = idx.rank(kind, phrase.text, facts, extra=phrase.family, aside=phrase.aside,
                         medicare=medicare, mend=mend)
        if not found:
            continue
        margin = 0.1 if kind == (lean or DX) else 0.0
        if not best or found[0].coverage + margin > best[0].coverage:
            best = found
    return best


_CODE = re.compile(r"\b(\d{4}[0-9FTU]|[A-V]\d{4}|[A-TV-Z]\d[0-9A-Z]\.[0-9A-Z]{1,4})\b")


def _named_codes(kb: KnowledgeBase, text: str) -> list[Candidate]:
    """Codes the narrative names itself ("est pt 99214 ..."): they lead the candidates."""
    out: list[Candidate] = []
    for m in _CODE.finditer(text):
        info = kb.code(m.group(1))
        if info is None or info.status in ("deleted", "terminated") or info.system == "MOD":
            continue
        if any(c.code == info.code for c in out):
            continue
        role = "diagnosis" if info.system == "ICD10CM" else "procedure"
        out.append(Candidate(info.system, info.code, info.description, 9.0, 1.0, role,
                             m.group(1), (m.group(1).lower(),), "named in the text"))
    return out


def suggest(text: str, kb: KnowledgeBase, limit: int = 10) -> SuggestResult:
    """Candidate codes for a narrative, best first, with the coding they add up to.

    Only clinical sentences count (greetings, signatures, disclaimers and cover notes are
    dropped). Raises ``KnowledgeBaseError`` when the KB was built without the Case2Code index.
    """
    phrases = split_phrases(text)
    if not phrases:
        return SuggestResult(abstained="no clinical sentence in the text (greetings, "
                                       "signatures and cover notes are not read)")
    idx = index_for(kb)
    medicare = bool(re.search(r"(?i)\bmedicare\b|\bmcr\b", text))
    part_facts: dict[int, Facts] = {}
    part_text: dict[int, str] = {}
    for p in phrases:
        if p.whole:
            part_facts[p.part] = read_facts(p.text)
            part_text[p.part] = p.text
    unknown = {p.part for p in phrases
               if p.whole and p.role == "either" and not _known_enough(idx, p.text)}
    ranked: list[tuple[Phrase, list[Scored]]] = []
    for p in phrases:
        if p.part in unknown:
            continue
        facts = part_facts.get(p.part) or read_facts(p.text)
        ranked.append((p, _rank_phrase(idx, p, facts, medicare)))

    coding: list[Candidate] = _named_codes(
        kb, " ".join(p.text for p in phrases if p.whole and p.part not in unknown))
    primary_terms: dict[int, frozenset[str]] = {}
    primary_code: dict[int, str] = {}
    best_seen = 0.0
    for p, found in ranked:
        if not found:
            continue
        top = found[0]
        best_seen = max(best_seen, top.coverage)
        if top.coverage < _floor(p):
            continue
        if (not _clear(p) and top.qualifier <= 0
                and len([m for m in top.matched if m not in GENERIC_STEMS]) < 2
                and not re.fullmatch(r"[A-Z0-9]{2,6}", p.text.strip())):
            continue  # one shared word is not a description ("bar", "windows"); "NST" is
        facts = part_facts.get(p.part) or read_facts(p.text)
        if p.whole:
            primary_terms[p.part] = top.terms
            primary_code[p.part] = top.code
        else:
            held = primary_terms.get(p.part)
            if held is not None:
                if top.code == primary_code.get(p.part):
                    continue
                own = idx.query_terms(PROC if top.system != "ICD10CM" else DX, p.text)
                if own and sum(t in held for t in own) / len(own) >= EXPLAINED:
                    continue
        cand = _candidate(kb, top, p, facts, part_text.get(p.part, ""))
        if p.secondary:
            cand = Candidate(cand.system, cand.code, cand.description, cand.score,
                             cand.confidence, cand.role, cand.phrase, cand.matched,
                             (cand.note + "; " if cand.note else "") + "secondary")
        if any(c.code == cand.code for c in coding):
            continue
        primary = _addon_primary(kb, cand, found)
        if primary is not None and all(c.code != primary.code for c in coding):
            coding.append(_candidate(kb, primary, p, facts))
        coding.append(cand)
        if p.whole and cand.role == "procedure":
            other = _complement(top, found)
            if other is not None and all(c.code != other.code for c in coding):
                coding.append(_candidate(kb, other, p, facts))

    if not coding:
        why = (f"nothing in the text matches a code closely enough (best match covers "
               f"{best_seen:.0%} of the words, the floor is {FLOOR:.0%})" if best_seen else
               "no word of the text is one the code index knows")
        return SuggestResult(abstained=why, phrases=tuple(p.text for p in phrases))

    bundled = _bundles(kb, coding, phrases)
    dropped = {b.code for b in bundled if b.modifier_indicator == "0"}
    coded = [c for c in coding if c.code not in dropped]
    lead = "procedure" if _procedure_led(phrases) else "diagnosis"
    coded.sort(key=lambda c: (c.note != "named in the text", c.role != lead,
                              "secondary" in c.note))
    out: list[Candidate] = list(coded)
    seen = {c.code for c in out} | dropped
    # alternatives: the runners-up of each whole phrase, then of the pieces, in score order
    for wanted_whole in (True, False):
        extra: list[tuple[float, Candidate]] = []
        for p, found in ranked:
            if p.whole != wanted_whole:
                continue
            facts = part_facts.get(p.part) or read_facts(p.text)
            for s in found[:limit]:
                if s.coverage < FLOOR * 0.6 or s.code in seen:
                    continue
                extra.append((s.score, _candidate(kb, s, p, facts, part_text.get(p.part, ""))))
        for _score, cand in sorted(extra, key=lambda x: -x[0]):
            if cand.code not in seen:
                out.append(cand)
                seen.add(cand.code)
    return SuggestResult(
        candidates=tuple(out[:limit]), coding=tuple(coded), bundled=tuple(bundled),
        phrases=tuple(p.text for p in phrases),
    )


#: Share of a phrase's meaningful words the index must know: prose about anything else
#: ("send submissions to the mailing list") shares a word or two with code texts, not most.
KNOWN = 0.75


def _known_enough(idx: SuggestIndex, text: str) -> bool:
    words, _kinds = apply_lexicon(query_tokens(text))
    terms = [t for t in index_terms(words) if t not in GENERIC_STEMS]
    if not terms:
        return False
    known = sum(1 for t in terms if t in idx.df[PROC] or t in idx.df[DX]
                or (len(t) >= 6 and idx.correct(PROC, t) is not None))
    return known / len(terms) >= KNOWN


def _clear(p: Phrase) -> bool:
    """The phrase names a service or a condition in words a coder uses for them."""
    from consult.suggest.phrases import _cues

    strong, _weak, dx, family = _cues(p.text)
    return bool(strong or dx or family or p.family)


def _floor(p: Phrase) -> float:
    """A phrase with a clear service word ("excision", "injection") may match a little less
    fully than one whose words could be anything; a phrase with no service or condition word
    at all must match almost fully."""
    from consult.suggest.phrases import _cues

    strong, _weak, _dx, _fam = _cues(p.text)
    if p.role == "either":
        return EITHER_FLOOR
    return FLOOR - 0.1 if strong else FLOOR


#: The floor for a phrase with no procedure or diagnosis word ("gout R great toe").
EITHER_FLOOR = 0.6


def _is_drug(s: Scored) -> bool:
    """A drug or biologic supply code (HCPCS J/Q, CPT vaccine and toxoid products)."""
    return (s.system == "HCPCS" and s.code[0] in "JQ") or (
        s.system == "CPT" and "90476" <= s.code <= "90759")


def _complement(top: Scored, found: list[Scored]) -> Scored | None:
    """A drug phrase also names how it was given, and a procedure phrase the drug it used:
    "B12 1000 mcg IM" is the drug code and the injection code; each is the best candidate of
    the other group that covers words the first one leaves out."""
    want_drug = not _is_drug(top)
    for s in found[1:25]:
        if _is_drug(s) != want_drug or s.coverage < 0.3:
            continue
        if set(s.matched) - set(top.matched):
            return s
    return None


def _addon_primary(kb: KnowledgeBase, cand: Candidate, found: list[Scored]) -> Scored | None:
    """When the best code is an add-on ("each additional 10 skin tags"), the primary code
    among the runners-up comes with it (22 skin tags: 11200 and 11201)."""
    if cand.role != "procedure":
        return None
    rule = kb.addon(cand.code)
    if rule is None or not rule.primaries:
        return None
    for s in found[1:60]:
        if s.code in rule.primaries:
            return s
    if len(rule.primaries) == 1:  # the narrative's numbers pushed it down: it is still due
        info = kb.code(rule.primaries[0])
        if info is not None:
            return Scored(0, info.code, info.system, info.description, 0.0, 0.0, (),
                          frozenset(), 1)
    return None


def _procedure_led(phrases: list[Phrase]) -> bool:
    first = next((p for p in phrases if p.whole), None)
    return first is None or first.role != "diagnosis"


def _bundles(kb: KnowledgeBase, coding: list[Candidate],
             phrases: list[Phrase]) -> list[BundleNote]:
    """PTP edits among the coded procedures, and the family's diagnostic scope under each."""
    procs = [c.code for c in coding if c.role == "procedure"]
    notes: list[BundleNote] = []
    for i, a in enumerate(procs):
        for b in procs[i + 1:]:
            edit = kb.ptp(a, b)
            if edit is not None and not any(n.code == b for n in notes):
                notes.append(BundleNote(b, a, edit.modifier_indicator, edit.source))
    families = {p.family or "" for p in phrases} | {_family_of(p.text) for p in phrases}
    for fam in families:
        base = _base_code(fam)
        if not base or base in procs or any(n.code == base for n in notes):
            continue
        for a in procs:
            edit = kb.ptp(a, base)
            if edit is not None:
                notes.append(BundleNote(base, a, edit.modifier_indicator, edit.source))
                break
    return notes


def _family_of(text: str) -> str:
    from consult.suggest.phrases import family_words

    return family_words(text)


def _base_code(family: str) -> str:
    from consult.suggest.text import apply_lexicon, raw_tokens

    words, _ = apply_lexicon(raw_tokens(family))
    joined = " ".join(words)
    for key, code in BASE_CODES.items():
        if key in joined:
            return code
    return ""
