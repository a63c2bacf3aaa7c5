"""Code families where a count, a size or a time picks the code and its units.

Each family is written from its official basis in the project's own words (CPT code-family
guidelines as summarised in the NCCI Policy Manual, CMS manuals), and checked against the
MUE and add-on tables the KB holds:

- destruction of premalignant lesions: 17000 for the first, 17003 per lesion 2-14, 17004 alone
  for 15 or more (never with 17000/17003);
- skin biopsies: one primary code per encounter (incisional 11106 over punch 11104 over
  tangential 11102) and each other biopsy with its own technique's add-on (11107/11105/11103);
- debridement: areas of one depth are added up; the first 20 sq cm is the primary code and
  each further 20 sq cm (or part) one unit of the add-on (11042/11045, 11043/11046, 11044/11047,
  97597/97598);
- paravertebral facet injections by level (64490-64495) and transforaminal epidurals by level
  (64479/64480, 64483/64484);
- trigger-point injections by the number of muscles (20552: one or two, 20553: three or more),
  once per session;
- timed therapy codes by the 8-minute rule (CMS Claims Processing Manual ch. 5 sec. 20.2);
- prolonged office E/M time: 99417 (CPT) vs G2212 (Medicare) thresholds;
- a clinical lab test repeated the same day for a new result: modifier 91.

Each check runs per question part (a mail may ask about two patients), on the part's own text
and codes; the finding carries the part's index so the answer goes to the right question.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from consult.extract.model import QuestionPart
from consult.extract.quantities import areas, lesion_count, minutes, number
from consult.findings.context import RuleContext, may_contain
from consult.findings.model import Finding

RULE = "code_family"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Code family: count, size or time"}
NOTES = "consult code-family notes (project's own words)"
Check = Callable[[RuleContext, int, QuestionPart, str], Finding | None]


def _units(ctx: RuleContext, code: str) -> int | None:
    line = ctx.line(code)
    return line.units if line else None


def _cite(ctx: RuleContext, codes: list[str], basis: str) -> str:
    mue = [m for m in (ctx.kb.mue(c, ctx.setting) for c in codes) if m]
    tail = f"; {mue[0].source}" if mue else ""
    return f"{NOTES}: {basis}{tail}"


def _mue_note(ctx: RuleContext, code: str) -> str:
    mue = ctx.kb.mue(code, ctx.setting)
    return f" (MUE {mue.value} per day)" if mue else ""


def _finding(index: int, codes: list[str], severity: str, detail: str, source: str,
             answer: str) -> Finding:
    return Finding(RULE, codes, severity, detail, source, 0.9,  # type: ignore[arg-type]
                   {"part": index, "answer": answer})


# -- destruction of premalignant lesions --------------------------------------------------------
_AK = ("17000", "17003", "17004")
_AK_WORDS = re.compile(r"(?i)\baks?\b|actinic|premalignant")
_AK_NEEDS = ("ak", "actinic", "premalignant")


def destruction(ctx: RuleContext, index: int, part: QuestionPart, text: str) -> Finding | None:
    named = [c for c in _AK if c in part.codes or (not part.codes and ctx.line(c))]
    if not named and not (may_contain(text, _AK_NEEDS)
                          and _AK_WORDS.search(text)):
        return None
    count = lesion_count(text)
    if count is None and "17000" in named:
        count = (_units(ctx, "17000") or 1) if "17003" not in named else 1 + (
            _units(ctx, "17003") or 1)
    if not count:
        return None
    basis = "destruction of premalignant lesions, CPT 17000-17004 family"
    if count >= 15:
        answer = (f"{count} lesions: report 17004 x1 alone (15 or more lesions), not 17000 or "
                  "17003.")
        detail = (f"For {count} premalignant lesions the code is 17004, reported once for 15 or "
                  "more; 17000 and 17003 are not reported with it (their pair edits with 17004 "
                  "are indicator 0).")
        codes = ["17004"]
    elif count >= 2:
        answer = (f"{count} lesions: report 17000 x1 (first lesion) and 17003 x{count - 1} "
                  f"(lesions 2 to {count}), not 17000 x{count}.")
        detail = (f"17000 covers the first premalignant lesion and is reported once; 17003 is "
                  f"the add-on for each of lesions 2 through 14, so {count} lesions = 17000 x1 + "
                  f"17003 x{count - 1}{_mue_note(ctx, '17003')}; 15 or more would be 17004 "
                  "alone.")
        codes = ["17000", "17003"]
    else:
        answer = "One lesion: report 17000 x1."
        detail = "17000 covers the first premalignant lesion."
        codes = ["17000"]
    return _finding(index, list(dict.fromkeys([*named, *codes])), "warning", detail,
                    _cite(ctx, codes, basis), answer)


# -- skin biopsies -------------------------------------------------------------------------------
_BIOPSY = {"11102": ("tangential", "11103"), "11104": ("punch", "11105"),
           "11106": ("incisional", "11107")}
_BIOPSY_ADDON = {v[1]: k for k, v in _BIOPSY.items()}


def skin_biopsy(ctx: RuleContext, index: int, part: QuestionPart, text: str) -> Finding | None:
    if not ctx.has_line(*_BIOPSY):
        return None  # no primary biopsy code: nothing to pick among
    present = [c for c in (*_BIOPSY, *_BIOPSY_ADDON) if ctx.line(c)]
    primaries = [c for c in _BIOPSY if c in present]
    if len(primaries) < 2 and not (primaries and any(
            a in present and _BIOPSY_ADDON[a] != primaries[0] and _BIOPSY_ADDON[a] not in
            present for a in _BIOPSY_ADDON)):
        return None
    order = ["11106", "11104", "11102"]
    main = next(c for c in order if c in primaries)
    others = [c for c in primaries if c != main]
    addons = [f"{_BIOPSY[c][1]} for the {_BIOPSY[c][0]} biopsy instead of {c}" for c in others]
    answer = (f"Report one primary biopsy code, {main} ({_BIOPSY[main][0]}), and "
              + "; ".join(addons) + "." if addons else
              f"Report {main} as the one primary biopsy code.")
    detail = ("Only one primary biopsy code is reported per encounter: with more than one "
              "technique the primary is incisional (11106) over punch (11104) over tangential "
              "(11102), and each further biopsy takes the add-on of its own technique (11107, "
              "11105, 11103).")
    codes = [main, *others, *[_BIOPSY[c][1] for c in others]]
    return _finding(index, codes, "warning", detail,
                    _cite(ctx, codes, "skin biopsy codes 11102-11107"), answer)


# -- debridement ---------------------------------------------------------------------------------
_DEBRIDEMENT = {"subcutaneous": ("11042", "11045"), "muscle": ("11043", "11046"),
                "bone": ("11044", "11047"), "selective": ("97597", "97598")}
_DEPTH_OF = {code: depth for depth, pair in _DEBRIDEMENT.items() for code in pair}


def _in_question(text: str, pos: int) -> bool:
    """Whether the sentence holding ``pos`` ends with a question mark."""
    end = re.search(r"[.?!\n]", text[pos:])
    return bool(end) and end.group() == "?"  # type: ignore[union-attr]


_DEBRIDE_WORD = re.compile(r"(?i)debrid")
_DEBRIDE_NEEDS = ("debrid",)


def debridement(ctx: RuleContext, index: int, part: QuestionPart, text: str) -> Finding | None:
    named = [c for c in _DEPTH_OF if ctx.line(c)]
    if not (named or (may_contain(text, _DEBRIDE_NEEDS) and _DEBRIDE_WORD.search(text))):
        return None  # checked before the areas: most mails are not about debridement
    found = areas(text)
    stated = [a for a in found if not _in_question(text, a.start)]
    if stated and len(stated) < len(found):
        found = stated  # "can we add the 12 sq cm ... ?" restates wounds the table lists
    if not found:
        return None
    default = _DEPTH_OF[named[0]] if len({_DEPTH_OF[c] for c in named}) == 1 and named else ""
    by_depth: dict[str, float] = {}
    for a in found:
        depth = a.depth or default
        if depth:
            by_depth[depth] = by_depth.get(depth, 0.0) + a.sq_cm
    if not by_depth:
        return None
    pieces, codes = [], []
    for depth, total in by_depth.items():
        first, addon = _DEBRIDEMENT[depth]
        extra = max(0, math.ceil((total - 20) / 20))
        area = f"{total:g} sq cm"
        pieces.append(f"{depth} {area} = {first} x1" + (f" + {addon} x{extra}" if extra else ""))
        codes += [first] + ([addon] if extra else [])
    answer = "; ".join(pieces) + "."
    if len(by_depth) > 1:
        answer += " Areas are added up only within one depth."
    detail = ("Debridement is coded by the deepest tissue removed; areas of wounds debrided to "
              "the same depth are added together, the first 20 sq cm is the primary code and "
              "each further 20 sq cm or part of it one unit of the add-on code: "
              + "; ".join(pieces) + ".")
    return _finding(index, codes, "warning", detail,
                    _cite(ctx, codes, "debridement codes 11042-11047, 97597/97598"), answer)


# -- facet and epidural levels ---------------------------------------------------------------------
_LEVEL = re.compile(r"(?i)\b[CTLS]\d\s*[-/]\s*(?:[CTLS])?\d\b|\b[LS]5\s*[-/]\s*S1\b")
_LEVEL_COUNT = re.compile(r"(?i)\b(?P<n>\d|one|two|three|four)\s*[- ]?levels?\b")
_SPINE = {
    "facet_lumbar": ("64493", "64494", "64495"),
    "facet_cervical": ("64490", "64491", "64492"),
    "tfesi_lumbar": ("64483", "64484", "64484"),
    "tfesi_cervical": ("64479", "64480", "64480"),
}


def _levels(text: str) -> int | None:
    found = {re.sub(r"\s", "", m.group().upper()) for m in _LEVEL.finditer(text)}
    if found:
        return len(found)
    m = _LEVEL_COUNT.search(text)
    return number(m.group("n")) if m else None


def spine_levels(ctx: RuleContext, index: int, part: QuestionPart, text: str) -> Finding | None:
    family = next((name for name, codes in _SPINE.items() if ctx.has_line(*codes)), None)
    if family is None:
        return None
    levels = _levels(text)
    first, second, third = _SPINE[family]
    if levels == 1 and (second in part.codes or third in part.codes):
        levels = _levels(ctx.extraction.narrative) or levels  # "is 64484 right for L5-S1?"
    if not levels or (levels == 1 and not (second in part.codes or third in part.codes)
                      and part.type not in ("units", "which_code")):
        return None
    facet = family.startswith("facet")
    if facet:
        plan = [first] + ([second] if levels >= 2 else []) + ([third] if levels >= 3 else [])
        listing = " + ".join(f"{c} x1" for c in plan)
        rule = (f"the first level is {first}, the second {second} and the third and any more "
                f"{third} (reported once)")
    else:
        listing = f"{first} x1" + (f" + {second} x{levels - 1}" if levels > 1 else "")
        plan = [first] + ([second] if levels > 1 else [])
        rule = f"the first level is {first} and each additional level one unit of {second}"
    answer = f"{levels} level{'s' if levels > 1 else ''}: {listing}."
    detail = (f"Spinal injections are coded per level: {rule}. A bilateral injection is one "
              "line per level with modifier 50 (bilateral indicator 1), not two units.")
    return _finding(index, plan, "warning", detail,
                    _cite(ctx, plan, "paravertebral facet and transforaminal epidural codes"),
                    answer)


# -- trigger points --------------------------------------------------------------------------------
_MUSCLES = re.compile(r"(?i)\b(?P<n>\d|one|two|three|four|five|six)\s+(?:\w+\s+)?muscles?\b")


def trigger_points(ctx: RuleContext, index: int, part: QuestionPart, text: str) -> Finding | None:
    if not ctx.has_line("20552", "20553"):
        return None
    counts = [number(m.group("n")) or 0 for m in _MUSCLES.finditer(text)]
    if not counts:
        return None
    total = sum(counts)
    code = "20553" if total >= 3 else "20552"
    answer = (f"{total} muscles in the session: report {code} x1 (20552 is one or two muscles, "
              "20553 three or more; one unit per session, whatever the side).")
    detail = ("Trigger-point injections are reported once per session by the number of muscles "
              "injected: 20552 for one or two, 20553 for three or more; not 20552 x2, and not "
              "both codes.")
    return _finding(index, [code, *[c for c in ("20552", "20553") if c != code]], "warning",
                    detail, _cite(ctx, [code], "trigger-point injection codes 20552/20553"),
                    answer)


# -- timed therapy ---------------------------------------------------------------------------------
_TIMED = frozenset({"97110", "97112", "97116", "97140", "97530", "97535", "97542", "97750",
                    "97760", "97761", "97763", "92526", "97032", "97033", "97035", "97036"})


#: "under 8 min", "less than 8 minutes": a threshold the coder quotes, not time spent.
_THRESHOLD = re.compile(r"(?i)(?:under|less\s+than|more\s+than|over|at\s+least|<|>)\s*$")


def _code_of(text: str, pos: int, until: int, since: int, codes: list[str]) -> str | None:
    """The timed code minutes at ``pos`` belong to: the first code written after them and
    before the next minutes ("33 min exercise (97110) + 7 min manual therapy (97140)"), else
    the last one written before them (since the previous minutes: "97110: 33 min")."""
    def found(lo: int, hi: int) -> list[tuple[int, str]]:
        return sorted((m.start() + lo, c) for c in dict.fromkeys(codes)
                      for m in re.finditer(re.escape(c), text[lo:hi]))
    after = found(pos, min(until, pos + 80))
    if after:
        return after[0][1]
    before = found(max(since, pos - 60), pos)
    return before[-1][1] if before else None


def therapy_units(total: int) -> int:
    """Billable 15-minute units for total timed minutes (the 8-minute rule)."""
    return 0 if total < 8 else (total + 7) // 15


def timed_therapy(ctx: RuleContext, index: int, part: QuestionPart, text: str) -> Finding | None:
    codes = [ln.code for ln in ctx.lines if ln.code in _TIMED]
    if not codes:
        return None
    times = minutes(text)
    if not times:
        return None
    times = [(mins, pos) for mins, pos in times
             if not _THRESHOLD.search(text[max(0, pos - 14):pos])]
    if not times:
        return None
    per_code: dict[str, int] = {}
    for i, (mins, pos) in enumerate(times):
        until = times[i + 1][1] if i + 1 < len(times) else len(text)
        since = times[i - 1][1] + 1 if i else 0
        code = _code_of(text, pos, until, since, codes)
        if code:
            per_code[code] = per_code.get(code, 0) + mins
    total = sum(per_code.values()) or sum(m for m, _ in times)
    units = therapy_units(total)
    split = ""
    if len(per_code) > 1:
        share = {c: m // 15 for c, m in per_code.items()}
        left = units - sum(share.values())
        rest = sorted(per_code, key=lambda c: per_code[c] % 15, reverse=True)
        for c in rest[:max(0, left)]:
            share[c] += 1
        split = " = " + " + ".join(f"{c} x{n}" for c, n in share.items() if n)
    plural = "s" if units != 1 else ""
    answer = f"{total} timed minutes = {units} unit{plural}{split} (8-minute rule)."
    detail = ("Timed therapy codes are billed in 15-minute units from the total timed minutes of "
              "the day: 8-22 minutes = 1 unit, 23-37 = 2, 38-52 = 3, 53-67 = 4; the units go to "
              "the services with the most minutes.")
    return _finding(index, sorted(per_code) or codes, "warning", detail,
                    f"{NOTES}: CMS Claims Processing Manual ch. 5 sec. 20.2 (8-minute rule)",
                    answer)


# -- prolonged office visits ---------------------------------------------------------------------
_PROLONGED = {"99215": (55, 69), "99205": (75, 89)}
_PROLONGED_WORD = re.compile(r"(?i)prolonged")
_PROLONGED_NEEDS = ("prolonged",)


def prolonged(ctx: RuleContext, index: int, part: QuestionPart, text: str) -> Finding | None:
    if not (ctx.has_line("99417", "G2212")
            or (may_contain(text, _PROLONGED_NEEDS) and _PROLONGED_WORD.search(text))):
        return None
    base = next((c for c in _PROLONGED if ctx.line(c)), None)
    if base is None:
        return None
    cpt_at, cms_at = _PROLONGED[base]
    times = [m for m, _ in minutes(text) if m >= 30]
    medicare = ctx.extraction.payer_class in ("medicare", None)
    if times:
        total = max(times)
        units = max(0, (total - cms_at) // 15 + 1) if total >= cms_at else 0
        cpt_units = max(0, (total - cpt_at) // 15 + 1) if total >= cpt_at else 0
        if medicare:
            answer = (f"Medicare: {total} minutes with {base} is "
                      + (f"G2212 x{units}" if units else "not yet enough for G2212")
                      + f" (G2212 starts at {cms_at} minutes; 99417 is not paid by Medicare).")
        else:
            answer = (f"{total} minutes with {base}: 99417 x{cpt_units} by CPT counting "
                      f"(starts at {cpt_at} minutes)." if cpt_units else
                      f"{total} minutes is below the {cpt_at} minutes 99417 needs with {base}.")
    else:
        answer = ""
    detail = (f"Prolonged time with {base} chosen by time: CPT's 99417 counts from {cpt_at} "
              f"minutes (15 minutes past the code's minimum), Medicare's G2212 from {cms_at} "
              "minutes (15 minutes past the top of the old time range), each 15 minutes one "
              "unit.")
    return _finding(index, [base, "G2212" if medicare else "99417"], "info", detail,
                    f"{NOTES}: CMS CY 2021 PFS final rule (G2212), CPT prolonged services",
                    answer)


# -- repeat labs ---------------------------------------------------------------------------------
def _is_lab(code: str) -> bool:
    return code.isdigit() and 80047 <= int(code) <= 89398


_REPEAT = re.compile(r"(?i)\brepeat|\bagain\b|\bsecond\s+(?:draw|test|result|glucose|level)|"
                     r"\blater\s+(?:that|the\s+same)\s+day|\bserial\b")
_MODIFIER_91 = re.compile(r"\b91\b")


def repeat_lab(ctx: RuleContext, index: int, part: QuestionPart, text: str) -> Finding | None:
    labs = [ln for ln in ctx.lines if _is_lab(ln.code)]
    if not labs:
        return None  # before the words: most mails name no lab code
    repeat = _REPEAT.search(text)
    if not (repeat or _MODIFIER_91.search(text)):
        return None
    target = next((ln for ln in labs if "91" in ln.modifier_options + ln.modifiers
                   or (ln.units or 1) > 1), labs[-1])
    if not repeat and len({ln.code for ln in labs}) > 1 and not any(
            (ln.units or 1) > 1 for ln in labs):
        # "80053 and a separate 82947, same draw: 91?" asks about two tests, not one repeated
        answer = (f"Not 91: it marks the same test repeated later the same day for a new "
                  f"result, not {target.code} run beside another test from the same draw.")
        return _finding(index, [target.code], "warning", _REPEAT_91, _REPEAT_SOURCE, answer)
    answer = (f"Use modifier 91 on the repeated {target.code} (the same test repeated the same "
              "day for a new result), not 59, 76 or 77.")
    return _finding(index, [target.code], "warning", _REPEAT_91, _REPEAT_SOURCE, answer)


_REPEAT_91 = ("Modifier 91 marks a clinical lab test repeated on the same day to get a later "
              "result; 59 is for distinct procedures and 76/77 for repeated procedures by a "
              "physician. 91 does not apply to a rerun to confirm a result or because of a "
              "specimen or equipment problem.")
_REPEAT_SOURCE = f"{NOTES}: CPT modifier 91; NCCI Policy Manual ch. X (pathology and lab)"


# -- codes that include their imaging guidance -------------------------------------------------
#: (procedure, guidance) -> the code that reports both (CPT arthrocentesis codes with
#: ultrasound guidance, 2015 on): the guidance is not added to the code without it.
_WITH_GUIDANCE = {("20610", "76942"): "20611", ("20605", "76942"): "20606",
                  ("20600", "76942"): "20604"}


def with_guidance(ctx: RuleContext, index: int, part: QuestionPart, text: str) -> Finding | None:
    for (proc, guide), combined in _WITH_GUIDANCE.items():
        if ctx.line(proc) and ctx.line(guide) and ctx.same_claim(proc, guide):
            answer = (f"Report {combined} alone: it is {proc} done with ultrasound guidance "
                      f"(with a permanent recorded image and report); {guide} is not added.")
            detail = (f"{proc} with {guide} on one claim is coded {combined}, the joint "
                      "aspiration or injection code that includes ultrasound guidance.")
            return _finding(index, [combined, proc, guide], "warning", detail,
                            f"{NOTES}: arthrocentesis with ultrasound guidance "
                            f"({proc}/{combined})", answer)
    return None


# -- Mohs micrographic surgery ---------------------------------------------------------------------
#: first stage -> each additional stage (head, neck, hands, feet, genitalia; trunk, arms, legs)
_MOHS = {"17311": "17312", "17313": "17314"}
_STAGES = re.compile(r"(?i)\b(?P<n>\d|one|two|three|four|five|six)\s+(?:total\s+)?stages?\b|"
                     r"\bstages?\s*(?:total|in\s+all)?\s*[:=]?\s*(?P<m>\d)\b")
_SURGICAL_PATH = tuple(str(c) for c in range(88300, 88310))


def mohs(ctx: RuleContext, index: int, part: QuestionPart, text: str) -> Finding | None:
    """Mohs stages: the first stage code once, the add-on once per further stage; the Mohs
    surgeon's own pathology of the Mohs sections is part of the Mohs codes (NCCI Policy Manual
    ch. III), so 88300-88309 for those sections are not billed."""
    first = next((c for c in _MOHS if ctx.has_line(c, _MOHS[c])), None)
    if first is None:
        return None
    addon = _MOHS[first]
    m = _STAGES.search(text)
    stages = (number(m.group("n")) if m and m.group("n") else
              int(m.group("m")) if m and m.group("m") else None)
    path = [c for c in _SURGICAL_PATH if ctx.line(c)]
    if not stages and not path:
        return None
    pieces = []
    if stages:
        extra = f" + {addon} x{stages - 1}" if stages > 1 else f" (no {addon})"
        pieces.append(f"{stages} stage{'s' if stages > 1 else ''} = {first} x1{extra}: "
                      f"{addon} is one unit per stage after the first")
    if path:
        pieces.append(f"{', '.join(path)} is not billed for the Mohs sections the surgeon "
                      "reads: the Mohs codes include that pathology (only a separate "
                      "diagnostic biopsy before the decision for Mohs is reported, with 59 or "
                      "XS)")
    answer = "; ".join(pieces) + "."
    detail = ("Mohs micrographic surgery is reported with the first-stage code once and its "
              "add-on once for each additional stage; the surgeon acting as pathologist on the "
              "Mohs sections is included in the Mohs codes (NCCI Policy Manual ch. III), so "
              "surgical pathology codes are not reported for those sections.")
    found = _finding(index, [addon, first, *path], "warning", detail,
                     _cite(ctx, [addon], "Mohs codes 17311-17315; NCCI Policy Manual ch. III"),
                     answer)
    found.data["lead"] = True  # it decides what the pair edit with 88305 would only hedge
    return found


FAMILIES: tuple[Check, ...] = (with_guidance, mohs, destruction, skin_biopsy, debridement,
                               spine_levels, trigger_points, timed_therapy, prolonged,
                               repeat_lab)
#: Families that speak only of their own codes: one of these must be on a line of the mail.
_FAMILY_CODES: dict[Check, tuple[str, ...]] = {
    with_guidance: tuple(proc for proc, _guide in _WITH_GUIDANCE),
    mohs: (*_MOHS, *_MOHS.values()),
    skin_biopsy: tuple(_BIOPSY),
    spine_levels: tuple(c for codes in _SPINE.values() for c in codes),
    trigger_points: ("20552", "20553"),
    timed_therapy: tuple(_TIMED),
    prolonged: tuple(_PROLONGED),
}


def _may_apply(ctx: RuleContext, family: Check) -> bool:
    """Whether ``family`` can say anything about this mail, whatever the text: checked once
    per mail, so a family without its codes is not run for every part and story."""
    if family is repeat_lab:
        return any(_is_lab(ln.code) for ln in ctx.lines)
    codes = _FAMILY_CODES.get(family)
    return codes is None or ctx.has_line(*codes)


def check(ctx: RuleContext) -> list[Finding]:
    """Every family, per question part: on the part's own words first, then (for a mail with
    several parts) on the part's patient's story (the whole mail when it tells one) when the
    part gives no number of its own."""
    parts = ctx.extraction.parts or [QuestionPart(ctx.extraction.question, "other")]
    mail = ctx.extraction.narrative
    out: list[Finding] = []
    seen: dict[tuple[str, str], Finding] = {}
    families = [family for family in FAMILIES if _may_apply(ctx, family)]
    for index, part in enumerate(parts):
        whole = f"{mail} {part.text}"
        for family in families:
            if len(parts) == 1:
                f = family(ctx, index, part, whole)
            else:  # the story only when the part's own words give nothing (found once a part)
                f = family(ctx, index, part, part.text) or family(ctx, index, part,
                                                                  ctx.story(part.text))
            if f is None:
                continue
            key = (family.__name__, str(f.data.get("answer")))
            if key in seen:
                seen[key].data.pop("part", None)  # the same fact for several parts
                continue
            seen[key] = f
            if len(parts) == 1:
                f.data.pop("part", None)
            out.append(f)
    return out
