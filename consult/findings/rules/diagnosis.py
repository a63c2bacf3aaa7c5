"""ICD-10-CM choices the mail's words decide: the 7th character, combination codes, uncertain
diagnoses, and the billable child a header code's words point to.

From the ICD-10-CM Official Guidelines for Coding and Reporting (FY2026), in the project's own
words: the 7th character follows the encounter, not the visit count - A while the patient gets
active treatment (surgery, ED, evaluation by a new physician), D for routine care during
healing or recovery (cast change, follow-up after surgery, medication adjustment), S for a
sequela; G, K, P for delayed healing, nonunion, malunion (sec. I.C.19.a, I.C.19.c.1). A
combination code that names both conditions is used instead of two codes (sec. I.B.9). In the
outpatient setting a diagnosis written as "probable", "suspected", "rule out" is not coded:
code the signs and symptoms (sec. IV.H). Aftercare Z codes are not used for injuries (the
injury code with the 7th character is, sec. I.C.21.c.7).
"""

from __future__ import annotations

import re

from consult.findings.context import RuleContext
from consult.findings.model import Finding
from consult.kb.icd_refs import ref_matches

RULE = "diagnosis"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "ICD-10-CM: code choice"}
OGCR = "ICD-10-CM Official Guidelines for Coding and Reporting FY2026"

_ENCOUNTER = (
    ("S", re.compile(r"(?i)\bsequela|\blate\s+effect|\bresidual|\bscar\s+(?:from|after)")),
    ("K", re.compile(r"(?i)\bnon-?union")),
    ("P", re.compile(r"(?i)\bmal-?union")),
    ("G", re.compile(r"(?i)\bdelayed\s+(?:healing|union)")),
    ("D", re.compile(
        r"(?i)\bfollow[\s-]?up|\bf/u\b|\brecheck|\broutine\s+healing|\bcast\s+(?:change|"
        r"removal|check)|\bweeks?\s+(?:after|post|out|later)|\bpost[\s-]?op|\bhealing\b|"
        r"\bsubsequent|\bremoval\s+of\s+(?:the\s+)?(?:cast|hardware|sutures|pins)|"
        r"\brehab|\bphysical\s+therapy|\bafter\s+(?:the\s+)?(?:orif|surgery|repair)")),
    ("A", re.compile(
        r"(?i)\binitial|\bactive\s+treatment|\b(?:in\s+the\s+)?(?:ed|er|emergency)\b|"
        r"\bsurgery\s+(?:today|for)|\borif\b|\bclosed\s+reduction|\breduction\b|\bnew\s+"
        r"(?:injury|fracture)|\bfirst\s+(?:visit|seen)|\bevaluat")),
)
_UNCERTAIN = re.compile(r"(?i)\brule\s*out\b|\br/o\b|\bprobable|\bsuspected|\blikely|"
                        r"\bquestionable|\bpossible|\bconsistent\s+with|\bworking\s+diagnosis")
_AFTERCARE = re.compile(r"^Z47\.|^Z48\.")


def _encounter(text: str) -> str | None:
    """The 7th character the words point to (A, D, S, G, K, P), or None."""
    for char, rx in _ENCOUNTER:
        if rx.search(text):
            return char
    return None


def _seventh(ctx: RuleContext, code: str, text: str) -> Finding | None:
    chars = ctx.kb.seventh_characters(code)
    if not chars:
        return None
    want = _encounter(text)
    if want is None:
        return None
    base = code.replace(".", "")
    stem = code if len(base) < 7 else code[:-1]
    chosen = ctx.kb.icd_with_seventh(stem, want)
    if chosen is None:
        return None
    if chosen.code == code:
        answer = f"{code} is right: 7th character {want} ({chars.get(want, '')})."
    else:
        answer = (f"Report {chosen.code} (7th character {want}: {chars.get(want, '')}), "
                  f"not {code}." if len(base) >= 7 else
                  f"Report {chosen.code}: 7th character {want} ({chars.get(want, '')}).")
    detail = ("The 7th character follows the phase of care, not the visit count: A while the "
              "patient gets active treatment, D for routine care while it heals (follow-up, "
              "cast change, after surgery), S for a sequela; G, K and P for delayed healing, "
              f"nonunion and malunion. Your mail's words point to {want}.")
    return Finding(RULE, [code, chosen.code], "warning" if chosen.code != code else "info",
                   detail, f"{ctx.kb.citation('icd10cm')}; {OGCR} sec. I.C.19.a",
                   0.85, {"chosen": chosen.code, "answer": answer})


_UNSPECIFIED = re.compile(r"(?i)\bwithout\s+complications?\b|\bunspecified\b|\bNOS\b")


def _description(ctx: RuleContext, code: str) -> str:
    info = ctx.kb.code(code)
    return info.description if info else ""


def _combinations(ctx: RuleContext, codes: list[str]) -> list[Finding]:
    out = []
    for i, a in enumerate(codes):
        for b in codes[i + 1:]:
            for hint in ctx.kb.icd_combination_hints(a, b):
                target = hint.suggested.rstrip("-").rstrip(".")
                # the mail's words and the two codes' own descriptions ("stage 3a") pick
                # the child
                words = " ".join([ctx.extraction.narrative, *(
                    info.description for info in (ctx.kb.code(a), ctx.kb.code(b)) if info)])
                kids = ctx.kb.icd_children_matching(target, words, limit=1)
                pick = kids[0].code if kids else hint.suggested
                if pick in (a, b) or any(c.startswith(target) for c in (a, b)):
                    continue  # I12.9 with N18.30: the combination code is already there
                # a combination code may itself ask for one of the two ("use additional code
                # to identify the stage of chronic kidney disease"): that one stays
                kept = [c for c in (a, b) if any(
                    n.kind == "use_additional" and not n.from_code
                    and any(ref_matches(r, c) for r in n.refs) for n in ctx.kb.icd_notes(pick))]
                # a specific complication code of the same category (E11.65 beside E11.22)
                # is a second complication, not the unspecified code the combination replaces
                kept += [c for c in (a, b) if c not in kept and c[:3] == pick[:3]
                         and not _UNSPECIFIED.search(_description(ctx, c))]
                if len(kept) == 2:
                    answer = (f"Add the combination code {pick} and keep {kept[0]} and "
                              f"{kept[1]}: the tabular links the two conditions.")
                elif len(kept) == 1:
                    gone = b if kept[0] == a else a
                    answer = (f"Use the combination code {pick} instead of {gone}, and keep "
                              f"{kept[0]}: {pick} says to add a code for it.")
                else:
                    answer = (f"Use the combination code {pick} instead of {a} + {b}: it "
                              "reports both conditions.")
                detail = (f"The tabular note at {hint.note_code} ({hint.kind.replace('_', ' ')}: "
                          f"\"{hint.text}\") points from {a} and {b} to {hint.suggested}; a "
                          "combination code that names both conditions is used instead of two "
                          "codes.")
                out.append(Finding(RULE, [a, b, pick], "warning", detail,
                                   f"{ctx.kb.citation('icd10cm')}; {OGCR} sec. I.B.9", 0.8,
                                   {"answer": answer}))
    return out


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    codes = [m.code for m in ctx.diagnoses]
    text = f"{ctx.extraction.question} {ctx.extraction.narrative}"
    for code in codes:
        f = _seventh(ctx, code, text)
        if f is not None:
            out.append(f)
        if _AFTERCARE.match(code) and any(c.startswith(("S", "T")) for c in codes):
            answer = (f"Do not use {code} for an injury: report the injury code with the 7th "
                      "character for the phase of care (D for routine healing).")
            out.append(Finding(RULE, [code], "warning", answer,
                               f"{OGCR} sec. I.C.21.c.7", 0.8, {"answer": answer}))
    out.extend(_combinations(ctx, codes))
    if _UNCERTAIN.search(text) and (ctx.asks("diagnosis") or codes) and (
            "inpatient" not in (ctx.extraction.setting or "")):
        answer = ("In the outpatient setting a \"probable\", \"suspected\" or \"rule out\" "
                  "diagnosis is not coded: report the signs and symptoms (or the confirmed "
                  "findings) instead.")
        out.append(Finding(RULE, codes[:3], "info", answer, f"{OGCR} sec. IV.H", 0.85,
                           {"answer": answer}))
    return out
