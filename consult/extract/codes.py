"""Find the codes in one text: candidates by shape, traps removed, the rest judged by evidence.

A candidate is taken when the evidence says it is a code: the KB knows it, a context word
(CPT, code, dx, HCPCS, modifier ...) stands on its line, a modifier or units are attached, or it
sits in a list next to codes already taken. Everything else - ZIPs, phones, dates, IDs,
quantities - never reaches judgement, because ``traps`` masks it first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from consult.extract.attach import Attached, read_after, read_before
from consult.extract.lookup import CodeLookup
from consult.extract.model import CodeMention, Where
from consult.extract.normalize import (
    is_cpt_category1,
    is_hcpcs,
    is_icd10pcs,
    normalize_icd10cm,
)
from consult.extract.tables import table_rows
from consult.extract.traps import TrapMemo, lower_same_length, trap_at, trap_kinds_in
from consult.extract.vocab import CODE_CONTEXT, DX_CONTEXT, ICD_STOPWORDS, PCS_CONTEXT

_CAND = re.compile(
    r"""(?<![\w.$\\@&=%])(?<!\d[-–])(?:
        (?P<num>\d{5})(?=[xX×]\d{1,3}(?![\w.])|(?![\w]|\.\d))
      | (?P<lett>\d{4}[FTUftu])(?![\w])
      | (?P<hcx>[A-Va-v]\d{4})(?=[xX×]\d{1,3}(?![\w.]))
      | (?P<alnum>[A-Za-z]\d[0-9A-Za-z](?:\.[0-9A-Za-z]{1,4}|[0-9A-Za-z]{1,4})?)(?![\w]|\.\w)
      | (?P<pcs>[0-9A-HJ-NP-Z]{7})(?![\w])
    )""",
    re.X,
)
_RANGE = re.compile(r"[ \t]*(?:-|–|—|(?i:to|through|thru))[ \t]*(\d{5})(?![\w])")
_LIST_SEP = re.compile(
    r"[\s,;/&+:()\-–*•]*(?:(?i:and|or|plus|then|vs\.?|versus|with|w/|and/or|also|to)"
    r"[\s,;/&+:()\-–*•]*)?"
)
# Context patterns match lower-cased text (case-insensitive ``re`` is several times slower).
_CODE_CTX = re.compile(rf"\b(?:{CODE_CONTEXT})\b")
_DX_CTX = re.compile(rf"\b(?:{DX_CONTEXT})\b")
_HCPCS_CTX = re.compile(
    r"\b(?:hcpcs|j-?codes?|g-?codes?|drugs?|injections?|inj|suppl(?:y|ies)|units?|dme|"
    r"ndc|vials?|doses?|administered|admin|add-?on|level\s+ii)\b"
)
_PCS_CTX = re.compile(PCS_CONTEXT)
#: A number followed by one of these counts things ("12000 patients"), unless the KB knows it.
_COUNTED = re.compile(
    r"\s+(?i:patients|visits|claims|charts|cases|members|people|lives|encounters|employees|"
    r"records|rows|lines|accounts|times(?!\s*\d)|miles|steps|calls|emails|pages|words|users)\b"
)
#: Trap kinds that mark a line as contact details (a signature or letterhead line).
_CONTACT_TRAPS = frozenset({"zip", "street", "phone", "email", "url", "id"})
_SENTENCE_END = re.compile(r"\n|[.?!;](?:\s|$)")
_HASH_OK = re.compile(r"(?i:(?:cpt|code|hcpcs|icd|dx)\s*)$")


@dataclass(slots=True)
class _Found:
    """A judged candidate: ``strong`` ones are taken; weak ones only next to taken codes."""

    system: str
    code: str
    start: int
    end: int
    attached: Attached
    strong: bool
    range_of: tuple[str, str] | None = None
    alt: str | None = None  # the other reading of a dotless ``J1100`` / ``E1165`` token


def _line_window(text: str, start: int, end: int, before: int = 60, after: int = 40) -> str:
    lo = max(text.rfind("\n", 0, start) + 1, start - before)
    hi = text.find("\n", end)
    hi = min(len(text) if hi < 0 else hi, end + after)
    return text[lo:start] + " " + text[end:hi]


def has_pcs_context(text: str) -> bool:
    """Whether a text talks about ICD-10-PCS at all (PCS-shaped tokens need that)."""
    low = lower_same_length(text)
    return ("pcs" in low or "procedure" in low) and bool(_PCS_CTX.search(low))


def _judge_number(
    tok: str, start: int, end: int, text: str, lk: CodeLookup, window: str
) -> _Found | None:
    if not is_cpt_category1(tok):
        return None
    if start > 0 and text[start - 1] == "#":
        label = text[max(0, start - 12) : start - 1]
        if not _HASH_OK.search(label):
            return None
    known = lk.known(tok, "CPT")
    if not known and _COUNTED.match(text, end):
        return None
    att = _attach(text, start, end)
    strong = known or bool(att.modifiers) or att.units is not None
    strong = strong or bool(_CODE_CTX.search(window))
    return _Found("CPT", tok, start, end, att, strong)


def _judge_lettered(
    tok: str, start: int, end: int, text: str, lk: CodeLookup, window: str
) -> _Found | None:
    code = tok.upper()
    att = _attach(text, start, end)
    ctx = bool(_CODE_CTX.search(window))
    if tok[-1].islower() and not ctx:
        return None
    strong = lk.known(code, "CPT") or ctx or bool(att.modifiers) or not tok[-1].islower()
    return _Found("CPT", code, start, end, att, strong)


def _judge_alnum(
    tok: str, start: int, end: int, text: str, lk: CodeLookup, window: str, pcs_ctx: bool
) -> _Found | None:
    up = tok.upper()
    if up in ICD_STOPWORDS:
        return None
    dotted = "." in up
    lower = tok != up
    icd = normalize_icd10cm(up)
    if icd is None:
        return None
    dx_ctx = bool(_DX_CTX.search(window))
    code_ctx = bool(_CODE_CTX.search(window))
    hc_ctx = bool(_HCPCS_CTX.search(window))
    if not dotted and len(up) == 7 and pcs_ctx and is_icd10pcs(up) and not lk.known(icd, "ICD10CM"):
        return _Found("ICD10PCS", up, start, end, Attached(end=end), True)
    icd_known = lk.known(icd, "ICD10CM")
    seven = len(icd) == 8
    icd_plausible = icd_known or (seven and lk.icd_parent_known(icd))
    if not dotted and is_hcpcs(up):
        hc_known = lk.known(up, "HCPCS")
        if hc_known and not (dx_ctx and icd_plausible and not hc_ctx):
            return _Found("HCPCS", up, start, end, _attach(text, start, end), True)
        lo = max(text.rfind("\n", 0, start) + 1, start - 60)
        dx_before = bool(_DX_CTX.search(lower_same_length(text[lo:start])))
        if icd_plausible and dx_before and not hc_known:
            return _Found("ICD10CM", icd, start, end, Attached(end=end), True)
        if icd_plausible and (dx_ctx or not hc_ctx):
            return _Found("ICD10CM", icd, start, end, Attached(end=end), True, alt=up)
        if lower and not (hc_ctx or code_ctx):
            return None
        att = _attach(text, start, end)
        strong = hc_ctx or code_ctx or bool(att.modifiers) or att.units is not None
        if dx_ctx and not hc_ctx and not att.modifiers and att.units is None:
            return _Found("ICD10CM", icd, start, end, Attached(end=end), True, alt=up)
        return _Found("HCPCS", up, start, end, att, strong, alt=icd if icd_plausible else None)
    if icd_plausible:
        info = lk.info(icd, "ICD10CM")
        header3 = len(icd) == 3 and info is not None and not info.billable
        strong = not header3 or dx_ctx or code_ctx
        if lower and len(icd) == 3 and not dx_ctx:
            return None
        return _Found("ICD10CM", icd, start, end, Attached(end=end), strong)
    if dx_ctx or (dotted and code_ctx):
        if lower and not dx_ctx:
            return None
        return _Found("ICD10CM", icd, start, end, Attached(end=end), dotted or not lk.has_kb)
    if dotted and not lower:
        return _Found("ICD10CM", icd, start, end, Attached(end=end), False)
    return None


def _attach(text: str, start: int, end: int) -> Attached:
    after = read_after(text, end)
    before = read_before(text, start)
    mods = list(before.modifiers)
    for m in after.modifiers:
        if m not in mods:
            mods.append(m)
    units = after.units if after.units is not None else before.units
    return Attached(mods, units, after.end)


def find_codes(
    text: str,
    where: Where,
    lookup: CodeLookup,
    *,
    pcs_context: bool = False,
    confirmed: frozenset[tuple[str, str]] = frozenset(),
) -> list[CodeMention]:
    """Every code written in ``text``, in order, with modifiers, units and KB knowledge.
    ``confirmed`` holds (system, code) pairs taken elsewhere in the mail: a candidate reading
    as one of them is taken without further evidence."""
    if not text:
        return []
    cands = list(_CAND.finditer(text))
    if not cands:
        return []
    low = lower_same_length(text)
    memo: TrapMemo = {}
    found: list[_Found] = []
    extra: list[tuple[int, int, str]] = []  # range ends not expanded, judged on their own
    for m in cands:
        start, end = m.span()
        if trap_at(text, low, start, end, memo):
            continue
        f = _judge(m.group(), m.lastgroup or "", start, end, text, low, lookup, pcs_context)
        if f is None:
            continue
        if f.system == "CPT" and m.lastgroup == "num":
            r = _RANGE.match(text, end)
            if r:
                other = r.group(1)
                if _expandable(f.code, other, lookup):
                    f.range_of = (f.code, other)
                    f.end = r.end()
                    f.attached = Attached(end=r.end())
                    f.strong = True
                else:
                    extra.append((r.start(1), r.end(1), other))
        found.append(f)
    for start, end, tok in extra:
        if trap_at(text, low, start, end, memo):
            continue
        f = _judge(tok, "num", start, end, text, low, lookup, pcs_context)
        if f is not None:
            found.append(f)
    found.sort(key=lambda f: f.start)
    for f in found:
        if not f.strong and (f.system, f.code) in confirmed:
            f.strong = True
    _apply_tables(found, text)
    _promote_lists(found, text)
    _promote_in_coding_text(found, text, low)
    _resolve_ambiguous(found, text)
    out: list[CodeMention] = []
    for f in found:
        if not f.strong:
            continue
        codes = _expand(f.range_of, lookup) if f.range_of else [f.code]
        for code in codes:
            info = lookup.info(code, f.system)
            out.append(
                CodeMention(
                    system=f.system,  # type: ignore[arg-type]
                    code=code,
                    modifiers=list(f.attached.modifiers),
                    units=f.attached.units,
                    where=where,
                    known=info is not None,
                    description=info.description if info else "",
                    start=f.start,
                    end=f.end,
                )
            )
    return out


def _judge(
    tok: str,
    kind: str,
    start: int,
    end: int,
    text: str,
    low: str,
    lk: CodeLookup,
    pcs_ctx: bool,
) -> _Found | None:
    window = _line_window(low, start, end)
    if kind == "num":
        return _judge_number(tok, start, end, text, lk, window)
    if kind == "lett":
        return _judge_lettered(tok, start, end, text, lk, window)
    if kind == "alnum":
        return _judge_alnum(tok, start, end, text, lk, window, pcs_ctx)
    if kind == "hcx":  # ``J1100x3``: units glued on; an ICD-10-CM code never carries units
        return _Found("HCPCS", tok.upper(), start, end, _attach(text, start, end), True)
    if kind == "pcs" and is_icd10pcs(tok) and (pcs_ctx or lk.known(tok, "ICD10PCS")):
        return _Found("ICD10PCS", tok, start, end, Attached(end=end), True)
    return None


def _apply_tables(found: list[_Found], text: str) -> None:
    """A code in a table's code column is taken, with the modifiers and units its row's
    columns give (``43239,59,1`` under ``cpt,modifier,units``)."""
    rows = table_rows(text)
    if not rows:
        return
    for f in found:
        if f.system not in ("CPT", "HCPCS"):
            continue
        row = next((r for r in rows if r.code_start <= f.start < r.code_end), None)
        if row is None:
            continue
        f.strong = True
        mods = list(f.attached.modifiers)
        mods.extend(m for m in row.modifiers if m not in mods)
        units = row.units if row.units is not None else f.attached.units
        f.attached = Attached(mods, units, f.attached.end)


def _family(system: str) -> str:
    return "DX" if system.startswith("ICD10CM") else "PROC"


def _promote_lists(found: list[_Found], text: str) -> None:
    """Take weak candidates that sit in a list (``43235, 43239 and 43249``) with taken codes."""
    changed = True
    while changed:
        changed = False
        for i, f in enumerate(found):
            if f.strong:
                continue
            for j in (i - 1, i + 1):
                if not 0 <= j < len(found):
                    continue
                g = found[j]
                if not g.strong or _family(g.system) != _family(f.system):
                    continue
                lo, hi = (g.attached.end, f.start) if j < i else (f.attached.end, g.start)
                if lo <= hi and hi - lo <= 12 and _LIST_SEP.fullmatch(text, lo, hi):
                    f.strong = True
                    changed = True
                    break


def _promote_in_coding_text(found: list[_Found], text: str, low: str) -> None:
    """In a text that already names codes, a bare 5-digit CPT-shaped number (``Ortho did 29881
    on the right knee``, ``MFM did 76811`` next to diagnosis codes) or an unambiguous HCPCS
    shape (``G0289 for loose body removal``) is a code too - unless its line is contact details.
    """
    if not any(f.strong for f in found):
        return
    for f in found:
        if f.strong or not (f.system == "CPT" or (f.system == "HCPCS" and f.alt is None)):
            continue
        lo = text.rfind("\n", 0, f.start) + 1
        hi = text.find("\n", f.end)
        hi = len(text) if hi < 0 else hi
        if not trap_kinds_in(text, low, lo, hi) & _CONTACT_TRAPS:
            f.strong = True


def _resolve_ambiguous(found: list[_Found], text: str) -> None:
    """A dotless ``G0444`` is HCPCS or ICD-10-CM ``G04.44``: the codes next to it on its line
    decide (procedure neighbours -> HCPCS, diagnosis neighbours -> ICD-10-CM)."""
    for i, f in enumerate(found):
        if f.alt is None:
            continue
        fams = set()
        for j in (i - 1, i + 1):
            if 0 <= j < len(found) and found[j].strong and found[j].alt is None:
                g = found[j]
                lo, hi = (g.end, f.start) if j < i else (f.end, g.start)
                if lo <= hi and not _SENTENCE_END.search(text, lo, hi):
                    fams.add(_family(g.system))
        if len(fams) != 1:
            continue
        fam = fams.pop()
        if fam != _family(f.system):
            if f.system == "HCPCS":
                f.system, f.code, f.alt = "ICD10CM", f.alt, f.code
                f.attached = Attached(end=f.end)
            else:
                f.system, f.code, f.alt = "HCPCS", f.alt, f.code
                f.attached = _attach(text, f.start, f.end)


def _expandable(a: str, b: str, lk: CodeLookup) -> bool:
    """A range expands only when both ends are known codes of one family, in order, close."""
    return (
        a[:3] == b[:3]
        and 0 < int(b) - int(a) <= 30
        and lk.known(a, "CPT")
        and lk.known(b, "CPT")
    )


def _expand(ends: tuple[str, str], lk: CodeLookup) -> list[str]:
    """Both ends and the codes between them that the KB knows."""
    a, b = ends
    inner = [f"{n:05d}" for n in range(int(a) + 1, int(b))]
    return [a, *(c for c in inner if lk.known(c, "CPT")), b]
