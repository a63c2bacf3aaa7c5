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
from consult.findings.rules.code_status import with_placeholder
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
#: A word each match of ``_UNCERTAIN`` holds (see ``ctx.says``).
_UNCERTAIN_NEEDS = ("rule", "r/o", "probable", "suspected", "likely", "questionable", "possible",
                    "consistent", "working")
_AFTERCARE = re.compile(r"^Z47\.|^Z48\.")


def _encounter(text: str) -> str | None:
    """The 7th character the words point to (A, D, S, G, K, P), or None."""
    for char, rx in _ENCOUNTER:
        if rx.search(text):
            return char
    return None


def _placeholder_note(code: str, written: str) -> str:
    """", written without the placeholder X" when the mail's code was the code minus its X."""
    if written and written != code and "X" in code:
        return f" ({code[:code.index('X')]} takes the placeholder X before the 7th character)"
    return ""


def _seventh(ctx: RuleContext, code: str, text: str, *, written: str = "") -> Finding | None:
    """The 7th character the mail's words call for; ``written``: the code as the mail wrote
    it when that is not a code (a placeholder X left out), else ``code``."""
    chars = ctx.kb.seventh_characters(code)
    if not chars:
        return None
    shown = written or code
    want = _encounter(text)
    if want is None:
        return None
    base = code.replace(".", "")
    stem = code if len(base) < 7 else code[:-1]
    chosen = ctx.kb.icd_with_seventh(stem, want)
    if chosen is None:
        return None
    if chosen.code == shown:
        answer = f"{code} is right: 7th character {want} ({chars.get(want, '')})."
    else:
        answer = (f"Report {chosen.code} (7th character {want}: {chars.get(want, '')}), "
                  f"not {shown}{_placeholder_note(code, written)}." if len(base) >= 7 else
                  f"Report {chosen.code}: 7th character {want} ({chars.get(want, '')}).")
    detail = ("The 7th character follows the phase of care, not the visit count: A while the "
              "patient gets active treatment, D for routine care while it heals (follow-up, "
              "cast change, after surgery), S for a sequela; G, K and P for delayed healing, "
              f"nonunion and malunion. Your mail's words point to {want}.")
    return Finding(RULE, [shown, chosen.code], "warning" if chosen.code != shown else "info",
                   detail, f"{ctx.kb.citation('icd10cm')}; {OGCR} sec. I.C.19.a",
                   0.85, {"chosen": chosen.code, "answer": answer})


_UNSPECIFIED = re.compile(r"(?i)\bwithout\s+complications?\b|\bunspecified\b|\bNOS\b")
_UNSPECIFIED_WORD = re.compile(r"(?i)\bunspecified\b")


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
                # a sibling of the note's code is a combination code of the same kind already
                # there (E11.621, foot ulcer, beside the L97 note's E11.622, other skin ulcer)
                stem = target[:-1] if len(target.replace(".", "")) >= 5 else target
                if pick in (a, b) or any(c.startswith(target) or c.startswith(stem)
                                         for c in (a, b)):
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


def _specific(ctx: RuleContext, code: str, text: str) -> Finding | None:
    """An unspecified code beside the sibling the mail's own words describe ("L97.429,
    unspecified severity" when the note says "fat layer exposed": L97.422). Only a clear pick:
    the sibling holds at least two more of the mail's words than the code, and no other
    sibling ties with it (ICD-10-CM guideline I.B.18: unspecified codes are for when the
    record does not say more)."""
    info = ctx.kb.code(code)
    if info is None or not _UNSPECIFIED_WORD.search(info.description):
        return None
    parent = code[:-1].rstrip(".")
    # "unspecified" in the mail speaks of codes ("they deny unspecified codes"), not the patient
    scored = ctx.kb.icd_children_scored(parent, _UNSPECIFIED_WORD.sub(" ", text))
    if not scored:
        return None
    own = next((h for h, k in scored if k.code == code), 0)
    best, kid = scored[0]
    if kid.code == code or best < own + 2 or (len(scored) > 1 and scored[1][0] == best):
        return None
    answer = (f"Use {kid.code} ({kid.description}) instead of {code}: the record's words say "
              f"what {code} leaves unspecified.")
    detail = (f"{code} is {info.description}; {kid.code} is {kid.description}. Unspecified "
              "codes are for when the record does not say more.")
    return Finding(RULE, [code, kid.code], "warning", detail,
                   f"{ctx.kb.citation('icd10cm')}; {OGCR} sec. I.B.18", 0.8,
                   {"chosen": kid.code, "answer": answer})


#: Long-term drug therapy of diabetes (ICD-10-CM guideline I.C.4.a.3): insulin Z79.4, oral
#: hypoglycemics Z79.84, injectable non-insulin antidiabetics Z79.85; both when both are used.
_DIABETES_DRUGS = (
    ("Z79.4", "long-term (current) use of insulin",
     re.compile(r"(?i)\binsulin|\bglargine|\blantus|\bbasaglar|\btoujeo|\blevemir|\bdetemir|"
                r"\bdegludec|\btresiba|\blispro|\bhumalog|\baspart|\bnovolog|\bhumulin|"
                r"\bnovolin")),
    ("Z79.84", "long-term (current) use of oral hypoglycemic drugs",
     re.compile(r"(?i)\bmetformin|\bglucophage|\bglipizide|\bglyburide|\bglimepiride|"
                r"\bpioglitazone|\bsitagliptin|\bjanuvia|\blinagliptin|\bempagliflozin|"
                r"\bjardiance|\bdapagliflozin|\bfarxiga|\bcanagliflozin|\brybelsus|"
                r"\boral\s+(?:hypoglycemic|diabetes|antidiabetic)")),
    ("Z79.85", "long-term (current) use of injectable non-insulin antidiabetic drugs",
     re.compile(r"(?i)\bsemaglutide|\bozempic|\bliraglutide|\bvictoza|\bdulaglutide|"
                r"\btrulicity|\btirzepatide|\bmounjaro|\bexenatide|\bbyetta|\bbydureon")),
)


_DIABETES = re.compile(r"(?i)\bdiabet|\bDM2?\b|\bT2DM\b")
_DIABETES_NEEDS = ("diabet", "dm")


def _diabetes_drugs(ctx: RuleContext, codes: list[str], text: str) -> Finding | None:
    """The Z79 codes the mail's diabetes drugs call for that the mail does not have yet;
    ``text`` is the mail's (``ctx.text``)."""
    if not (any(c[:3] in ("E08", "E09", "E10", "E11", "E13") for c in codes)
            or (ctx.may_say(*_DIABETES_NEEDS) and _DIABETES.search(text))):
        return None
    needed = [(z, what, rx.search(text)) for z, what, rx in _DIABETES_DRUGS]
    used = [(z, what, m.group()) for z, what, m in needed if m]
    missing = [(z, what, drug) for z, what, drug in used if z not in codes]
    if not missing:
        return None
    adds = "; ".join(f"{z} ({what}) for the {drug.lower()}" for z, what, drug in missing)
    kept = [f"{z} for the {drug.lower()}" for z, _w, drug in used if z in codes]
    beside = f", beside {' and '.join(kept)}" if kept else ""
    both = (": with more than one kind of diabetes drug each gets its code"
            if len(used) > 1 else "")
    answer = f"Add {adds}{beside}{both}."
    detail = ("ICD-10-CM guideline I.C.4.a.3: long-term insulin is Z79.4, oral hypoglycemic "
              "drugs Z79.84, injectable non-insulin antidiabetic drugs Z79.85; a patient on "
              "more than one kind gets each code.")
    return Finding(RULE, [z for z, _w, _d in missing], "warning", detail,
                   f"{ctx.kb.citation('icd10cm')}; {OGCR} sec. I.C.4.a.3", 0.85,
                   {"chosen": missing[0][0], "answer": answer})


#: Organisms a mail names, and the B95-B97 code that reports each as the cause of a disease
#: classified elsewhere (FY2026 tabular); the first match wins (MRSA before S. aureus).
_ORGANISMS = (
    (re.compile(r"(?i)\bMRSA\b|methicillin[- ]resistant"), "B95.62"),
    (re.compile(r"(?i)\bMSSA\b|methicillin[- ](?:susceptible|sensitive)|\bstaph(?:ylococcus)?\.?"
                r"\s+aureus|\bS\.\s?aureus"), "B95.61"),
    (re.compile(r"(?i)\bE\.\s?coli\b|\becoli\b|\bescherichia"), "B96.20"),
    (re.compile(r"(?i)\bklebsiella"), "B96.1"),
    (re.compile(r"(?i)\bproteus\b"), "B96.4"),
    (re.compile(r"(?i)\bpseudomonas"), "B96.5"),
    (re.compile(r"(?i)\benterococc"), "B95.2"),
    (re.compile(r"(?i)\bgroup\s+a\s+strep"), "B95.0"),
    (re.compile(r"(?i)\bgroup\s+b\s+strep"), "B95.1"),
)
#: A word one of the ``_ORGANISMS`` patterns needs to match: without any, none can.
_ORGANISM_WORDS = ("mrsa", "mssa", "methicillin", "aureus", "coli", "escherichia", "klebsiella",
                   "proteus", "pseudomonas", "enterococc", "strep")


def _organism(ctx: RuleContext, codes: list[str], text: str) -> Finding | None:
    """The infectious-agent code a "use additional code (B95-B97)" note asks for, when the
    mail names the organism and does not code it yet; ``text`` is the mail's (``ctx.text``).
    Nine patterns over the text: looked for only when there is a code to add it to and the
    text names some organism at all."""
    if not codes or not ctx.may_say(*_ORGANISM_WORDS):
        return None
    organism = next((code for rx, code in _ORGANISMS if rx.search(text)), None)
    if organism is None or organism in codes:
        return None
    for code in codes:
        asks = [n for n in ctx.kb.icd_notes(code) if n.kind == "use_additional"
                and any(r.startswith(("B95", "B96")) for r in n.refs)]
        if not asks:
            continue
        info = ctx.kb.code(organism)
        what = info.description if info else organism
        answer = (f"Add {organism} ({what}) after {code}: {code}'s tabular note says to use "
                  "an additional code (B95-B97) for the infectious agent.")
        return Finding(RULE, [code, organism], "warning", answer,
                       f"{ctx.kb.citation('icd10cm')}; {OGCR} sec. I.A.13", 0.85,
                       {"chosen": organism, "answer": answer})
    return None


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    codes = [m.code for m in ctx.diagnoses]
    text = ctx.text
    sevenths: dict[str, Finding] = {}
    for code in codes:
        meant = with_placeholder(ctx, code) if ctx.kb.code(code) is None else None
        seventh = _seventh(ctx, meant or code, text, written=code)
        if seventh is not None:
            same = sevenths.get(str(seventh.data["chosen"]))
            if same is None or seventh.severity == "info":
                sevenths[str(seventh.data["chosen"])] = seventh
                out.append(seventh)
            else:  # "S82.611D or S82.611A?": one answer naming both codes it replaces
                same.codes.insert(-1, seventh.codes[0])
                same.data["answer"] = str(same.data["answer"]).replace(
                    f"not {same.codes[0]}", f"not {' or '.join(same.codes[:-1])}", 1)
        specific = None if _AFTERCARE.match(code) else _specific(ctx, code, text)
        if specific is not None:
            out.append(specific)
        if _AFTERCARE.match(code) and any(c.startswith(("S", "T")) for c in codes):
            answer = (f"Do not use {code} for an injury: report the injury code with the 7th "
                      "character for the phase of care (D for routine healing).")
            out.append(Finding(RULE, [code], "warning", answer,
                               f"{OGCR} sec. I.C.21.c.7", 0.8, {"answer": answer}))
    out.extend(_combinations(ctx, codes))
    organism = _organism(ctx, codes, text)
    if organism is not None:
        out.append(organism)
    drugs = _diabetes_drugs(ctx, codes, text)
    if drugs is not None:
        out.append(drugs)
    if (ctx.asks("diagnosis") or codes) and (
            "inpatient" not in (ctx.extraction.setting or "")) and ctx.says(
                _UNCERTAIN, _UNCERTAIN_NEEDS):
        answer = ("In the outpatient setting a \"probable\", \"suspected\" or \"rule out\" "
                  "diagnosis is not coded: report the signs and symptoms (or the confirmed "
                  "findings) instead.")
        out.append(Finding(RULE, codes[:3], "info", answer, f"{OGCR} sec. IV.H", 0.85,
                           {"answer": answer}))
    return out
