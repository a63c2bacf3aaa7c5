"""Global surgical period: an E/M or a second procedure counted against the surgery's dates.

The RVU file gives each procedure's global days: 000 and 010 are minor procedures (the decision
to do them is part of the procedure, so a same-day E/M needs 25 and must be significant and
separately identifiable), 090 is major surgery (the visit that decides it, the day before or
the day of, takes 57; other visits then are part of the package). The post-operative period
runs 10 or 90 days from the day after surgery: an E/M in it for an unrelated problem takes 24;
routine post-operative care is 99024, a status B code with no separate payment; complications
that do not need a return to the operating room are part of the package for Medicare. A second
procedure inside it takes 58 (staged or planned), 78 (return to the OR for a complication) or
79 (unrelated). Which applies follows from the dates the mail gives and what it says of the
visit (CMS Claims Processing Manual, ch. 12, sec. 40.1-40.4; the project's own words).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from consult.extract.model import ServiceLine
from consult.findings.context import RuleContext
from consult.findings.model import Finding, Severity
from consult.kb.model import PfsInfo

RULE = "global_period"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Global surgical period"}
MINOR = ("000", "010")
MAJOR = ("090",)
GUIDE = "CMS Claims Processing Manual ch. 12 sec. 40 (global surgery), project notes"

POSTOP_MODIFIERS = {
    "58": "a staged or related procedure, planned or more extensive, by the same physician "
          "during the global period (a new global period starts)",
    "78": "an unplanned return to the operating or procedure room for a related complication "
          "(no new global period; intra-operative part only)",
    "79": "an unrelated procedure during the global period (a new global period starts)",
    "24": "an unrelated E/M service during a postoperative period",
}
_GLOBAL_WORDS = re.compile(r"\bglobal|post-?op|postoperative|return(?:ed)? to the (?:or|operating)",
                           re.I)
#: A word each match of ``_GLOBAL_WORDS`` holds (see ``ctx.says``).
_GLOBAL_NEEDS = ("global", "post", "return")
_UNRELATED = re.compile(
    r"(?i)\bunrelated\b|\bnot\s+related\b|\bnothing\s+to\s+do\s+with|\bdifferent\s+(?:problem|"
    r"issue|complaint|condition|reason|diagnosis|dx)|\bnew\s+(?:problem|complaint|issue|"
    r"condition)|\bseparate\s+(?:problem|issue|condition|complaint)|\bfor\s+(?:a|an|her|his)\s+"
    r"(?:cold|uri|flu|cough|sore\s+throat|rash|uti|bronchitis|sinusitis|diabetes|"
    r"hypertension|bp)\b|\b(?:also|and)\b[^.]{0,60}\b(?:bp|blood\s+pressure|hypertension|"
    r"diabetes|blood\s+sugar|a1c|cold|cough|rash|uti|flu)\b|\bseparate\s+(?:note|problem)"
)
_ROUTINE = re.compile(
    r"(?i)\broutine\b|\bpost[\s-]?op(?:erative)?\s+(?:check|visit|follow|appointment|appt)|"
    r"\bwound\s+check|\bincision\s+check|\b(?:suture|staple|stitch)(?:es|s)?\s+removal|"
    r"\bremov(?:e|al\s+of|ed)\s+(?:the\s+)?(?:sutures|staples|stitches)|\bdressing\s+change|"
    r"\bfollow[\s-]?up\s+(?:for|after|on)\s+(?:the\s+|her\s+|his\s+)?(?:surgery|procedure)|"
    r"\bincision\b[^.]{0,40}\b(?:tender|sore|stiff|red|itch\w*|check|look\w*)|"
    r"\blooked\s+at\s+(?:the\s+)?(?:wound|incision)"
)
_COMPLICATION = re.compile(
    r"(?i)(?<!\bno )(?<!\bnot )(?<!\bwithout )(?<!\bno sign of )(?<!\bno signs of )"
    r"(?:\bcomplication|\binfect|\bdehiscen|\bhematoma|\bseroma|\bbleed|\babscess)"
)
_RETURN_TO_OR = re.compile(
    r"(?i)\breturn(?:ed|s)?\s+to\s+(?:the\s+)?(?:or|operating|procedure)|\btake[\s-]?back|"
    r"\btaken\s+back"
)
_OTHER_SIDE = re.compile(r"(?i)\b(?:left|right|other|second|2nd|opposite|fellow)\s+(?:eye|side|"
                         r"knee|ear|hip|shoulder|breast|foot)\b|\bcontralateral\b|\bOS\b.*\bOD\b|"
                         r"\bOD\b.*\bOS\b")
_STAGED = re.compile(r"(?i)\bstaged\b|\bplanned\b|\bsecond\s+stage|\bmore\s+extensive|"
                     r"\bpath(?:ology)?\s+(?:came\s+back|showed|returned|report(?:ed)?)|"
                     r"\bprospectively|\bas\s+planned")
_DECISION = re.compile(
    r"(?i)\bdecision\s+(?:for|to|was\s+made)|\bdecided\s+(?:to\s+(?:operate|do|proceed)|on)|"
    r"\bdetermined\s+(?:the\s+)?need\s+for\s+surgery"
)


def is_em(code: str) -> bool:
    """Evaluation and management codes (99202-99499)."""
    return code.isdigit() and len(code) == 5 and 99202 <= int(code) <= 99499


@dataclass(frozen=True, slots=True)
class _Surgery:
    code: str
    info: PfsInfo
    on: date | None
    line: ServiceLine

    @property
    def days(self) -> int:
        return int(self.info.global_days)

    @property
    def major(self) -> bool:
        return self.info.global_days in MAJOR


@dataclass(frozen=True, slots=True)
class _Event:
    """A later service: a coded line, or a visit the mail describes without a code."""

    code: str  # "" for an uncoded visit
    on: date | None
    days_after: int | None
    context: str
    line: ServiceLine | None = None

    @property
    def em(self) -> bool:
        return not self.code or is_em(self.code)

    @property
    def label(self) -> str:
        if self.code:
            return self.code
        return f"the visit on {self.on.isoformat()}" if self.on else "the visit"


def _surgeries(ctx: RuleContext) -> list[_Surgery]:
    out = []
    for ln in ctx.lines:
        if is_em(ln.code):
            continue
        info = ctx.kb.pfs(ln.code)
        if info and info.global_days in MINOR + MAJOR:
            out.append(_Surgery(ln.code, info, ln.date_of_service or (
                ctx.on if ln.days_after is None and not ctx.extraction.visits
                and len({x.date_of_service for x in ctx.lines}) <= 1 else None), ln))
    return out


def _events(ctx: RuleContext) -> list[_Event]:
    out = [_Event(ln.code, ln.date_of_service, ln.days_after, ln.context, ln)
           for ln in ctx.lines if ln.code != "99024"]
    out += [_Event("", v.date_of_service, v.days_after, v.context) for v in ctx.visits]
    return out


def _interval(ctx: RuleContext, e: _Event, s: _Surgery) -> int | None:
    """Days from the surgery to the later service (0: same day), or None when unknown."""
    if e.on is not None and s.line.date_of_service is not None:
        return (e.on - s.line.date_of_service).days
    if e.days_after is not None:
        return e.days_after
    if s.line.days_after is not None and e.on is None:
        return -s.line.days_after
    if e.line is None or e.on is not None or s.line.date_of_service is not None:
        return None
    return None if ctx.extraction.different_days else 0


def _text(ctx: RuleContext, e: _Event | None = None) -> str:
    if e is not None and e.context:
        return e.context
    return ctx.text


def _period(surgery: _Surgery) -> str:
    kind = "major" if surgery.major else "minor"
    return f"{surgery.code} has a {surgery.days}-day global period ({kind}; RVU global " \
           f"{surgery.info.global_days})"


def _end(surgery: _Surgery) -> str:
    """The last day of the period, only from a surgery date the mail wrote (an undated
    surgery is taken as on the mail's date for intervals, never for a stated end date)."""
    on = surgery.line.date_of_service
    if on is None:
        return ""
    end = on + timedelta(days=surgery.days)
    return f", which ends {end.isoformat()}"


def _cite(surgery: _Surgery) -> str:
    return f"{surgery.info.source}; {GUIDE}"


def _data(s: _Surgery, e: _Event, days: int, **more: object) -> dict[str, object]:
    data: dict[str, object] = {"global_days": s.info.global_days, "procedure": s.code,
                               "interval": days,
                               "event_date": e.on.isoformat() if e.on else None,
                               "basis": f"{_period(s)}{_end(s)}."}
    data.update(more)
    return data


def _same_day(ctx: RuleContext, e: _Event, s: _Surgery, before: bool) -> Finding:
    """An E/M the day of (or, for major surgery, the day before) the procedure: 25 or 57."""
    em = e.code or "the E/M"
    mods = list(e.line.modifiers) if e.line else []
    offered = list(e.line.modifier_options) if e.line else []
    right = "57" if s.major else "25"
    wrong = "25" if s.major else "57"
    when = "the day before" if before else "the same day as"
    if s.major:
        rule = (f"The day before and the day of major surgery are in its global package: an E/M "
                f"{when} it is paid only when it is the visit where the decision to operate was "
                f"made, with 57 on {em}.")
        if _DECISION.search(_text(ctx, e)) or ctx.says(_DECISION):
            answer = (f"Use modifier 57 on {em} (not 25): the visit decided on major surgery "
                      f"({s.code}, {s.days}-day global).")
        else:
            answer = (f"{em} {when} {s.code} ({s.days}-day global) is paid only with modifier "
                      "57, when that visit decided on the surgery; otherwise it is included in "
                      "the global package.")
    else:
        rule = (f"The decision to perform a minor procedure is included in it; {em} is paid the "
                f"same day only when significant and separately identifiable, with 25 on {em}.")
        if wrong in mods + offered:
            answer = (f"Use modifier 25 on {em} (not 57: {s.code} is a minor procedure, "
                      f"{s.days}-day global) if the E/M was significant and separately "
                      f"identifiable from {s.code}; a different diagnosis is not required.")
        elif right in mods:
            answer = (f"Yes: 25 on {em} is right with {s.code} ({s.days}-day global), when the "
                      "record shows a significant, separately identifiable E/M; a different "
                      "diagnosis is not required.")
        else:
            answer = (f"{em} with {s.code} ({s.days}-day global) needs modifier 25 on {em}, if "
                      "the record shows a significant, separately identifiable E/M; a different "
                      "diagnosis is not required.")
    severity: Severity = "warning"
    if right in mods and wrong not in mods:
        verdict, severity = f" Modifier {right} on {em} is the right one.", "info"
    elif wrong in mods:
        verdict = f" Modifier {wrong} on {em} is the wrong one here: use {right}."
    else:
        verdict = f" Without {right} the E/M is bundled into {s.code}."
    detail = f"{_period(s)}. {rule}{verdict}"
    data = _data(s, e, -1 if before else 0, em=em, modifier=right, answer=answer)
    return Finding(RULE, [x for x in (e.code, s.code) if x], severity, detail, _cite(s), 0.9,
                   data)


def _inside(ctx: RuleContext, e: _Event, s: _Surgery, days: int) -> Finding:
    """An E/M inside the post-operative period: 24 if unrelated, else 99024 (no payment)."""
    text = _text(ctx, e)
    em = e.code or "an E/M"
    mods = (list(e.line.modifier_options) + list(e.line.modifiers)) if e.line else []
    offered = [m for m in mods if m in ("25", "57")]
    against = (f"Neither {' nor '.join(dict.fromkeys(offered))}: " if offered else "")
    after = f"{days} days after {s.code}" + (f" ({s.on.isoformat()})" if s.on else "")
    what = e.label if e.code else f"The visit{' on ' + e.on.isoformat() if e.on else ''}"
    unrelated, routine = bool(_UNRELATED.search(text)), bool(_ROUTINE.search(text))
    complication = bool(_COMPLICATION.search(text)) and not unrelated
    if unrelated and routine:
        answer = (f"{against}{what} is {after}, inside its {s.days}-day global period: the "
                  "routine post-op check is part of the global package (99024, no separate "
                  f"payment); the unrelated problem may be billed as {em} with modifier 24 and "
                  "the unrelated diagnosis, if the record documents it separately.")
    elif unrelated:
        answer = (f"{against}{what} is {after}, inside its {s.days}-day global period; for a "
                  f"problem unrelated to the surgery report {em} with modifier 24 (and the "
                  "unrelated diagnosis).")
    elif routine or complication:
        answer = (f"{against}{what} is {after}, inside its {s.days}-day global period; "
                  "routine post-operative care" + (" and a complication not needing a return "
                                                   "to the OR" if complication else "")
                  + " is part of the global package: report 99024 (no separate payment), "
                  f"not {em}.")
    else:
        answer = (f"{against}{what} is {after}, inside its {s.days}-day global period. If "
                  f"it was for a problem unrelated to the surgery, report {em} with modifier "
                  "24; if it was the routine post-op visit, report 99024 (no separate "
                  "payment).")
    detail = (f"{_period(s)}{_end(s)}. A visit {after} falls inside it: an E/M for an unrelated "
              "problem takes modifier 24 with a diagnosis showing it is unrelated; routine "
              "post-operative care, and for Medicare complications that do not need a return "
              "to the operating room, are part of the package and reported with 99024 (PFS "
              "status B: bundled, no separate payment). Modifiers 25 and 57 do not apply to a "
              "post-operative visit.")
    data = _data(s, e, days, em=em, modifier="24", answer=answer)
    return Finding(RULE, [x for x in (e.code, s.code) if x], "warning", detail, _cite(s), 0.9,
                   data)


def _outside(e: _Event, s: _Surgery, days: int) -> Finding:
    after = f"{days} days after {s.code}" + (f" ({s.on.isoformat()})" if s.on else "")
    what = e.label if e.code else f"The visit{' on ' + e.on.isoformat() if e.on else ''}"
    mods = "24, 25, 57" if e.em else "58, 78, 79"
    answer = (f"{what} is {after}, outside its {s.days}-day global period{_end(s)}: report it "
              f"normally, with no global-period modifier ({mods} do not apply).")
    detail = f"{_period(s)}{_end(s)}. A service {after} is outside it."
    return Finding(RULE, [x for x in (e.code, s.code) if x], "info", detail, _cite(s), 0.9,
                   _data(s, e, days, answer=answer))


def _second_procedure(ctx: RuleContext, e: _Event, s: _Surgery, days: int) -> Finding:
    """A procedure inside another's global period: 58, 78 or 79 by what the mail says."""
    text = _text(ctx, e)
    code = e.code
    after = f"{days} days after {s.code}"
    if code == s.code and _OTHER_SIDE.search(text):
        answer = (f"{code} on the other side {days} days after the first falls inside its "
                  f"{s.days}-day global period: append 79 with RT/LT (the other eye or side is "
                  "an unrelated procedure for the global rules, even when planned; a new "
                  "global period starts), not 58.")
        return Finding(RULE, [code, s.code], "warning", f"{_period(s)}{_end(s)}.", _cite(s),
                       0.85, _data(s, e, days, modifier="79", answer=answer))
    if _RETURN_TO_OR.search(text) or (_COMPLICATION.search(text) and not _STAGED.search(text)):
        mod = "78"
    elif _STAGED.search(text):
        mod = "58"
    elif _UNRELATED.search(text):
        mod = "79"
    else:
        mod = ""
    if mod:
        answer = (f"{code} {after} falls inside the {s.days}-day global period of {s.code}: "
                  f"append {mod} ({POSTOP_MODIFIERS[mod]}).")
    else:
        answer = (f"{code} {after} falls inside the {s.days}-day global period of {s.code}: "
                  "use 58 if it was staged, planned or more extensive, 79 if unrelated (each "
                  "starts a new global period); 78 for an unplanned return to the OR for a "
                  "complication (no new global period).")
    detail = (f"{_period(s)}{_end(s)}. Procedures during it: "
              + "; ".join(f"{k} for {v}" for k, v in sorted(POSTOP_MODIFIERS.items())
                          if k != "24") + ".")
    return Finding(RULE, [code, s.code], "warning", detail, _cite(s), 0.85,
                   _data(s, e, days, modifier=mod or "58/78/79", answer=answer))


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    surgeries = _surgeries(ctx)
    events = _events(ctx)
    for s in surgeries:
        for e in events:
            if e.line is s.line or (e.line is not None and ctx.apart(e.line, s.line)):
                continue
            days = _interval(ctx, e, s)
            if days is None:
                continue
            if e.em:
                if days == 0 or (days == -1 and s.major):
                    out.append(_same_day(ctx, e, s, before=days == -1))
                elif 0 < days <= s.days:
                    out.append(_inside(ctx, e, s, days))
                elif days > s.days:
                    out.append(_outside(e, s, days))
            elif 0 < days <= s.days:
                out.append(_second_procedure(ctx, e, s, days))
            elif days > s.days and e.code == s.code:
                out.append(_outside(e, s, days))
    named_done = {f.data.get("modifier") for f in out}
    for m in ctx.procedures:
        for mod in [x for x in ctx.modifiers_on(m.code) if x in POSTOP_MODIFIERS]:
            if mod in named_done:
                continue
            pfs = ctx.kb.pfs(m.code)
            glob = f" ({m.code} global {pfs.global_days})" if pfs else ""
            detail = f"Modifier {mod} on {m.code} means {POSTOP_MODIFIERS[mod]}{glob}."
            out.append(Finding(RULE, [m.code], "info", detail,
                               pfs.source if pfs else ctx.kb.citation("modifiers"), 0.9,
                               {"modifier": mod, "answer": ""}))
    if surgeries and not out and ctx.says(_GLOBAL_WORDS, _GLOBAL_NEEDS):
        s = surgeries[0]
        detail = (
            f"For services during the {s.days}-day global period of {s.code}: "
            + "; ".join(f"{k} for {v}" for k, v in sorted(POSTOP_MODIFIERS.items())) + "."
        )
        # "How many global days does 47562 have?" asks the period itself, with no dates
        asked = [i for i, p in enumerate(ctx.extraction.parts) if p.type == "global_period"]
        answer = ""
        data: dict[str, object] = {"global_days": s.info.global_days}
        if asked:
            later = (" A service on a later day is outside it and needs no global modifier."
                     if s.days == 0 else "")
            answer = f"{_period(s)}{_end(s)}.{later}"
            data["part"] = asked[0]  # the part that asks, not an earlier modifier question
        data["answer"] = answer
        out.append(Finding(RULE, [s.code], "info", detail, _cite(s), 0.8, data))
    described = {c for f in out for c in f.codes}
    quiet = list({s.code: s for s in surgeries if s.code not in described}.values())
    if quiet and ctx.asks("bill_together", "which_modifier", "which_code", "global_period",
                          "other"):
        listed = ", ".join(f"{s.code} {s.info.global_days} ({s.days}-day)" for s in quiet[:4])
        basis = f"Global periods in the RVU file: {listed}."
        answer = ""
        if ctx.asks("global_period"):
            answer = "; ".join(f"{s.code} has a {s.days}-day global period (RVU "
                               f"{s.info.global_days})" for s in quiet[:4]) + "."
        out.append(Finding(RULE, [s.code for s in quiet[:4]], "info", basis,
                           quiet[0].info.source, 0.9,
                           {"answer": answer, "basis": basis, "show": True}))
    return out
