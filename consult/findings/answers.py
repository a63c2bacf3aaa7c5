"""One short answer per question part, from the findings that bear on it - or an honest "our
sources do not cover this".

A coder asks typed questions (see ``consult.extract.questions``); each finding answers some
types. A part takes the findings of its types about its codes, and its answer is their answer
sentences, most severe first. A part no source can answer (a payer's own policy, prior
authorization, documentation rules, an LCD's diagnosis list, a commercial fee) is said to be
so, never answered with an all-clear; the case then needs an expert. Pure: the extraction and
findings in, answered parts out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from consult.extract.model import Extraction, PayerClass, QuestionPart, QuestionType
from consult.extract.narrative import payer_of
from consult.findings.context import RuleContext
from consult.findings.model import Finding
from consult.findings.order import SEVERITY_RANK

#: Finding rules that can answer each question type.
_CODING = frozenset({"ncci_ptp", "global_period", "addon", "code_status", "unknown_code",
                     "modifier", "mue", "status", "choice", "endoscopy", "code_family", "pctc",
                     "bilateral", "drug_units", "surgeons", "screening", "em_rules",
                     "payment", "diagnosis", "icd_sequencing", "icd_billable", "icd_seventh",
                     "excludes1"})
RELEVANT: dict[str, frozenset[str]] = {
    "bill_together": _CODING,
    "which_modifier": frozenset({"ncci_ptp", "global_period", "modifier", "mue", "choice",
                                 "status", "endoscopy", "pctc", "bilateral", "code_family",
                                 "screening", "surgeons"}),
    "global_period": frozenset({"global_period", "ncci_ptp", "status", "choice",
                                "code_family"}),
    "units": frozenset({"mue", "addon", "drug_units", "choice", "code_family", "bilateral",
                        "ncci_ptp", "code_status", "unknown_code"}),
    "code_validity": frozenset({"code_status", "unknown_code", "status", "choice",
                                "drug_units", "ncci_ptp"}),
    "diagnosis": frozenset({"icd_billable", "icd_seventh", "excludes1", "excludes2",
                            "icd_sequencing", "unknown_code", "diagnosis", "choice",
                            "screening", "coverage"}),
    "which_code": _CODING | {"suggestion", "diagnosis", "screening"},
    "payment": frozenset({"payment", "status", "choice", "bilateral", "endoscopy", "pctc",
                          "surgeons", "screening"}),
    "coverage": frozenset({"coverage", "status"}),
    # beyond our sources, but what Medicare's tables say is context the reviewer can use
    "payer_policy": _CODING,
    "documentation": frozenset({"global_period", "status"}),
    "other": _CODING | {"icd_billable", "icd_seventh", "excludes1", "suggestion", "payment",
                        "coverage", "screening", "diagnosis"},
}
#: Why a question type is beyond the sources, when it always is.
GAPS: dict[str, str] = {
    "payer_policy": "a payer's own policies, edits and prior-authorization rules are not in "
                    "our sources (we hold the CMS NCCI, MUE, PFS and HCPCS files)",
    "documentation": "documentation, signature and medical-record requirements are not in our "
                     "sources",
    "coverage": "the coverage criteria of LCDs, NCDs and billing articles (covered "
                "diagnoses, frequency limits) are not in our sources",
}
ABSTAIN = "Our sources do not cover this: {reason}; the reviewer will answer it."


@dataclass(slots=True)
class AnsweredPart:
    """A question part with its short answer and the findings behind it."""

    text: str
    type: QuestionType
    answer: str
    answerable: bool = True
    reason: str = ""
    finding_ids: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "type": self.type, "answer": self.answer,
                "answerable": self.answerable, "reason": self.reason,
                "finding_ids": list(self.finding_ids)}


def _about(part: QuestionPart, f: Finding, index: int) -> bool:
    """Whether a finding is about the part's codes and dates (when the part names any); a
    finding made for one part (``data["part"]``) is about that part only."""
    if "part" in f.data:
        return bool(f.data["part"] == index)
    if f.rule == "addon" and part.codes and f.codes[0] not in part.codes:
        return False  # an add-on's primaries matter when the part asks about the add-on
    visit = (f.rule == "global_period" and len(f.codes) == 1 and bool(f.data.get("event_date"))
             and part.type in ("global_period", "other"))
    if part.codes and not visit:  # a visit the mail dates without a code belongs to any part
        overlap = len(set(f.codes) & set(part.codes))
        loose = part.type == "diagnosis" or f.rule in ("code_family", "drug_units", "choice",
                                                       "status", "screening", "diagnosis",
                                                       "unknown_code")
        need = 1 if loose else min(len(part.codes), len(set(f.codes)), 2)
        if overlap < need:
            return False
    when = f.data.get("event_date")
    return not (part.dates and when and when not in {d.isoformat() for d in part.dates})


def _linked(part: QuestionPart, findings: list[Finding], used: set[str],
            index: int = 0, story: str | None = None) -> list[Finding]:
    """The findings of the part's types, about its codes and dates when it names any. A part
    that names no code takes first what earlier parts did not; a part asking about one code's
    modifier takes the edits where that code is the bundled one (column 2). ``story``: the
    part's patient's story in a mail about several: findings about codes outside it are
    another patient's."""
    relevant = [f for f in findings if f.rule in RELEVANT.get(part.type, frozenset())]
    if story is not None:
        relevant = [f for f in relevant if not f.codes or any(c in story for c in f.codes)]
    about = [f for f in relevant if _about(part, f, index)] or [
        f for f in relevant if f.data.get("part", index) == index]
    if not part.codes:
        fresh = [f for f in about if f.id not in used and f.data.get("answer")]
        about = fresh or about
    elif len(part.codes) == 1:
        bundled = [f for f in about if f.rule == "ncci_ptp"
                   and f.data.get("column2") == part.codes[0]]
        if bundled:
            about = [f for f in about if f.rule != "ncci_ptp" or f in bundled]
    return sorted(about, key=lambda f: SEVERITY_RANK.get(f.severity, 3))


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sentences(found: list[Finding], limit: int = 3,
               blocked: list[Finding] | None = None) -> list[str]:
    """Answer sentences, most severe first, one per pair of codes (a PTP edit and the global
    rule often speak of the same E/M and procedure)."""
    out: list[str] = []
    pairs: set[frozenset[str]] = set()
    counted = {f.codes[0] for f in found if f.rule in ("drug_units", "code_family") and f.codes}
    # codes a family finding says are not billed at all ("88305 is not billed for the Mohs
    # sections"): no "within its MUE" beside that
    counted |= {c for f in found if f.rule == "code_family" for c in f.codes
                if f"{c} is not billed" in str(f.data.get("answer", ""))}
    chosen = {c for f in found if f.rule == "choice" for c in f.codes}
    said_25: set[str] = set()
    after: list[str] = []  # said once the rest is said
    # a code an indicator-0 edit bundles away is not reported: no advice on its modifiers,
    # units or payment
    gone = {str(f.data.get("column2")) for f in (blocked or found) if f.rule == "ncci_ptp"
            and f.data.get("modifier_indicator") == "0" and not f.data.get("other_dates")}
    # nor a code Medicare does not pay at all ("may be reported with its primary" would
    # contradict "Medicare does not pay 96376")
    gone |= {f.codes[0] for f in (blocked or found) if f.rule == "status" and f.codes
             and f.severity == "warning" and f.data.get("status") in ("I", "N", "X", "E")}
    # for an E/M with a procedure the global rule (25 vs 57, 24) says more than the pair edit
    # a finding made for this very part (the areas it adds up) first, then by severity
    found = sorted(found, key=lambda f: ("part" not in f.data, not f.data.get("lead"),
                                         SEVERITY_RANK.get(f.severity, 3) if f.rule not in (
                                             "global_period", "ncci_ptp") else 1,
                                         f.rule != "global_period"))
    # "64493-50, 64494-50, 64495-50 or x2?": one sentence for the codes reported with 50, and
    # no "2 units are over the MUE" beside it (the 50 line is 1 unit)
    fifty = [f for f in found if f.rule == "bilateral" and f.data.get("bilat") == "1"
             and str(f.data.get("answer", "")).startswith("Report ") and f.codes
             and f.codes[0] not in gone]
    fifty_codes = {f.codes[0] for f in fifty}
    status_t = {f.codes[0] for f in found if f.rule == "status" and f.data.get("status") == "T"
                and f.data.get("answer")}
    for f in found:
        if f.rule == "mue" and f.codes and f.codes[0] in counted and f.severity == "info":
            continue  # the dose or count decides the units: the stated units are beside it
        if f.rule == "mue" and f.codes and f.codes[0] in fifty_codes:
            continue
        if len(fifty) > 1 and f in fifty:
            if f is fifty[0]:
                out.append(f"Report {_and([f'{x.codes[0]}-50' for x in fifty])}, each on one "
                           "line with 1 unit: bilateral indicator 1, Medicare pays 150% of the "
                           "one-side amount (not 2 units, not 200%).")
            continue
        if f.rule == "unknown_code" and f.data.get("meant") and any(
                str(g.data.get("chosen", ""))[:-1] == str(f.data["meant"])[:-1]
                for g in found if g.rule == "diagnosis"):
            continue  # the 7th-character answer names the code with its placeholder
        if f.rule == "status" and f.codes and f.codes[0] in chosen:
            # the choice among the coder's options already says it; what is left to say (GY
            # on a routine physical sent for a denial) comes after it
            if f.data.get("after_choice") and f.data["after_choice"] not in after:
                after.append(str(f.data["after_choice"]))
            continue
        if f.rule == "suggestion" and any(g.data.get("chosen") and g.data.get("answer")
                                          for g in found):
            continue  # the codes the mail names were answered: a guess beside them is noise
        if f.rule in ("pctc", "bilateral", "payment", "addon", "mue", "drug_units") and \
                f.codes and f.codes[0] in gone:
            continue
        text = str(f.data.get("answer") or "")
        if f.rule == "ncci_ptp" and f.data.get("column1") in status_t:
            # the status-T code is not paid beside the visit whatever the modifier: 25 keeps
            # the visit itself from being denied by the edit, it does not make the code pay
            text = re.sub(r"^Yes, with (\w+) on (\w+), when", r"Put \1 on \2 so the visit "
                          r"itself is paid, when", text)
        pair = frozenset(f.codes[:2]) if len(f.codes) >= 2 and f.rule in (
            "ncci_ptp", "global_period") else None
        if not text or text in out or (pair is not None and pair in pairs):
            continue
        em = next((c for c in f.codes if c.isdigit() and 99202 <= int(c) <= 99499), None)
        if em and f"25 on {em}" in text:
            if em in said_25:
                continue  # one "25 on the E/M" is enough, whichever procedure it is with
            said_25.add(em)
        if pair is not None:
            pairs.add(pair)
        out.append(text)
    return (out[:limit - len(after[:1])] + after[:1]) if after else out[:limit]


_THEIR_CALL = re.compile(r"(?i)\b(?:are|is)\s+(?:they|[a-z][\w&-]*)\s+(?:right|correct|allowed|"
                         r"wrong)\b|\bcan\s+"
                         r"they\s+(?:do\s+that|deny|bundle|refuse)|\bis\s+(?:that|this)\s+"
                         r"(?:denial\s+)?(?:right|correct|valid)\s+(?:of|for)\s+them")
_WHICH_QUARTER = re.compile(r"(?i)\bquarter|\bin\s+effect\s+on|\bactive\s+on|\bstill\s+active|"
                            r"\bas\s+of\s+\d|\bcurrent\s+(?:table|version|quarter)|\bdefinitely")


def _gap(ctx: RuleContext, part: QuestionPart, linked: list[Finding]) -> str:
    """Why the part is beyond our sources ("" when it is not): its type, a finding that knows
    its own answer stops short (a plan's own policy decides), a commercial payer's own call,
    or an edit asked about for a quarter newer than the table we hold."""
    flagged = [str(f.data["gap"]) for f in linked if f.data.get("gap")]
    if flagged:
        return flagged[0]
    kind = ctx.extraction.payer_class
    if kind in ("commercial", "medicare_advantage", "medicaid") and _THEIR_CALL.search(part.text):
        return f"{ctx.extraction.payer or 'the payer'}'s own bundling policy is not in our sources"
    if any("newest table we hold" in str(f.data.get("basis", "")) for f in linked) and \
            _WHICH_QUARTER.search(part.text):
        return ("the NCCI table of that quarter is not in our sources (we hold "
                f"{ctx.kb.citation('ncci_ptp_practitioner')})")
    if part.type in ("payer_policy", "documentation"):
        return GAPS[part.type]
    if part.type == "coverage" and not any(f.data.get("answers_coverage") for f in linked):
        return GAPS["coverage"]
    if part.type == "payment":
        kind = part_payer(ctx, part)
        if kind in ("commercial", "medicare_advantage", "medicaid"):
            name = ctx.extraction.payer or "this payer"
            return f"{name}'s fee schedule and contract rates are not in our sources"
        if not any(f.rule == "payment" for f in linked):
            return "payment amounts for this service are not in our sources"
    return ""


NCCI_RULES = frozenset({"ncci_ptp", "mue", "addon"})


def _payer_caveat(ctx: RuleContext, part: QuestionPart, linked: list[Finding]) -> str:
    """Who the NCCI answer binds, when the payer is not Medicare."""
    if not any(f.rule in NCCI_RULES for f in linked):
        return ""
    kind, name = ctx.extraction.payer_class, ctx.extraction.payer or "the plan"
    if kind == "commercial":
        return (f"NCCI edits bind Medicare and Medicaid; {name}, a commercial plan, may apply its "
                "own edits.")
    if kind == "medicare_advantage":
        return (f"{name} is a Medicare Advantage plan: it generally follows NCCI but may apply "
                "its own edits and prior-authorization rules.")
    if kind == "medicaid":
        return "Medicaid applies its own NCCI edit files, which mostly mirror Medicare's."
    return ""


def part_payer(ctx: RuleContext, part: QuestionPart) -> PayerClass | None:
    """The payer class a part asks about: "Medicare's national rate" is Medicare even in a mail
    that also asks about a commercial plan."""
    low = part.text.lower()
    if "medicare" in low and "advantage" not in low:
        return "medicare"
    story = ctx.story(part.text)
    if story != ctx.extraction.narrative:  # one of several patients: the payer of its story
        told = payer_of(story)
        if told is not None:
            return told  # type: ignore[return-value]
    return ctx.extraction.payer_class


def answer_parts(ctx: RuleContext, findings: list[Finding]) -> list[AnsweredPart]:
    """The mail's question parts, each with its answer (or an honest abstention)."""
    ex: Extraction = ctx.extraction
    parts = ex.parts or [QuestionPart(ex.question, "other")]
    out: list[AnsweredPart] = []
    used: set[str] = set()
    said: dict[str, int] = {}  # answer sentence -> the part (1-based) that said it first
    for index, part in enumerate(parts):
        story: str | None = ctx.story(part.text)
        linked = _linked(part, findings, used, index,
                         None if story == ex.narrative else story)
        used.update(f.id for f in linked)
        gap = _gap(ctx, part, linked)
        if part.type in ("payer_policy", "documentation"):
            # the abstention first; then only what the tables positively say (an edit, a
            # global period, a status), never a "no edit" that would read as an all-clear
            bundling = re.search(r"(?i)\bbundl|\bedit|\bmodifier|\bsame\s+day|\btogether|"
                                 r"\bseparately|\bglobal|\bpost-?op|-\d\d\b|\b25\b", part.text)
            context = _sentences([f for f in linked if f.rule in ("ncci_ptp", "global_period",
                                                                   "status")
                                  and (f.severity != "info" or f.rule == "global_period")],
                                 limit=2) if bundling else []
            answer = ABSTAIN.format(reason=gap) + (
                " For reference, Medicare's tables: " + " ".join(context) if context else "")
            out.append(AnsweredPart(part.text, part.type, answer, answerable=False,
                                    reason=gap, finding_ids=[f.id for f in linked]))
            continue
        sentences = _sentences(linked, limit=4 if part.type in ("bill_together", "other") else 3,
                               blocked=findings)
        if gap and not sentences:
            out.append(AnsweredPart(part.text, part.type, ABSTAIN.format(reason=gap),
                                    answerable=False, reason=gap,
                                    finding_ids=[f.id for f in linked]))
            continue
        if not sentences:
            sentences = [s for s in _sentences([f for f in linked if f.severity != "info"])]
        caveat = _payer_caveat(ctx, part, linked)
        if caveat:
            sentences.append(caveat)
        if gap:
            sentences.append(ABSTAIN.format(reason=gap))
        answerable = not gap
        if not sentences:
            reason = "no rule in our sources addresses this question"
            out.append(AnsweredPart(part.text, part.type,
                                    "We found nothing in our sources that answers this "
                                    "directly; the reviewer will answer it.",
                                    answerable=False, reason=reason,
                                    finding_ids=[f.id for f in linked]))
            continue
        fresh = [s for s in sentences if s not in said]
        if not fresh and said:
            first = min(said[s] for s in sentences)
            fresh = [f"See the answer to question {first}."]
        for s in fresh:
            said.setdefault(s, index + 1)
        out.append(AnsweredPart(part.text, part.type, " ".join(fresh), answerable,
                                gap, [f.id for f in linked]))
    return out
