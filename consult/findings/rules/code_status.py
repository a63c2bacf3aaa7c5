"""Code status: deleted, terminated or not-yet-effective codes, and codes the KB does not know.

This comes first in the answer: every other finding about a code that cannot be reported on the
date of service is moot until the sender reports the replacement instead.
"""

from __future__ import annotations

from consult.findings.context import RuleContext
from consult.findings.model import Finding, Severity
from consult.findings.rules.pfs_status import elsewhere
from consult.kb.model import CodeInfo

RULE = "code_status"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Code status", "unknown_code": "Code not found"}
UNKNOWN = "unknown_code"


def _replacement(info: CodeInfo) -> str:
    if not info.replaced_by:
        return "The KB records no replacement: look up the current code for the service."
    return f"Report {' or '.join(info.replaced_by)} instead."


def _lower(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:]


def _citation(ctx: RuleContext, info: CodeInfo) -> str:
    source = info.source or "starter"
    return ctx.kb.citation(source)


def with_placeholder(ctx: RuleContext, code: str) -> str | None:
    """The code a coder meant when they left out the placeholder X before a 7th character
    ("S82.611D" for S82.61XD: S82.61 has only five characters before its 7th): the
    ICD-10-CM code it becomes, or None."""
    raw = code.replace(".", "").upper()
    if len(raw) != 7 or not raw[-1].isalpha():
        return None
    for cut in (5, 4, 3):
        body = raw[:cut] + "X" * (6 - cut) + raw[-1]
        candidate = f"{body[:3]}.{body[3:]}"
        info = ctx.kb.code(candidate, "ICD10CM")
        if info is not None and info.billable:
            return candidate
    return None


def _unknown(ctx: RuleContext, system: str, code: str) -> Finding:
    """A code the KB lacks: for CPT the KB may simply hold no licensed file, so lower confidence."""
    meant = with_placeholder(ctx, code) if system == "ICD10CM" else None
    if meant is not None:
        stem = meant.rstrip("X" + meant[-1])
        detail = (f"{code} is not a valid ICD-10-CM code: {stem} takes the placeholder X "
                  f"before the 7th character ({meant}).")
        return Finding(UNKNOWN, [code, meant], "error", detail, ctx.kb.citation("icd10cm"),
                       confidence=0.9, data={"system": system, "meant": meant,
                                             "answer": detail})
    sources = ctx.kb.sources()
    has_full_list = system in ("ICD10CM", "HCPCS") or (
        system == "CPT"
        and ("cpt" in sources or ("rvu" in sources
                                  and not sources["rvu"].version.startswith("starter")))
    )
    if has_full_list:
        detail = (
            f"{code} is not a valid {system} code in the knowledge base: check it for a typo "
            "or a missing character."
        )
        return Finding(UNKNOWN, [code], "error" if system == "ICD10CM" else "warning", detail,
                       ctx.kb.citation("icd10cm" if system == "ICD10CM" else system.lower()),
                       confidence=0.9 if system != "CPT" else 0.7, data={"system": system})
    detail = (
        f"{code} is not in this knowledge base ({system}); it holds no licensed CPT file, so "
        "the code may be valid: the reviewer should confirm it."
    )
    return Finding(UNKNOWN, [code], "info", detail, ctx.kb.citation("starter"),
                   confidence=0.5, data={"system": system})


def _asked_about(ctx: RuleContext, code: str) -> bool:
    """A question asks whether this code is the right or a valid one."""
    return any(p.type in ("code_validity", "diagnosis") and code in p.codes
               for p in ctx.extraction.parts)


def describe_code(ctx: RuleContext, info: CodeInfo) -> str:
    """A code's meaning for an answer: the project's lay words for CPT, else the KB's text."""
    from consult.suggest import lay_description

    text = info.lay_description or lay_description(ctx.kb, info.code) or info.description
    if len(text) > 160:  # HCPCS long descriptors run to paragraphs: the head says what it is
        text = text[:157].rsplit(" ", 1)[0].rstrip(",;:(") + "..."
    return text


def _valid(ctx: RuleContext, code: str, info: CodeInfo) -> Finding:
    """A valid code someone asks about: what it is, and that it is billable (or not)."""
    what = describe_code(ctx, info)
    if info.system == "ICD10CM" and not info.billable:
        answer = f"{code} ({what}) is a category, not a billable code: pick a code below it."
    else:
        system = {"ICD10CM": "ICD-10-CM", "HCPCS": "HCPCS"}.get(info.system, info.system)
        pfs = ctx.kb.pfs(code) if info.system != "ICD10CM" else None
        if pfs is not None and pfs.status in ("I", "B", "N", "X", "E") and code[:1] not in "JQ":
            where = elsewhere(code, pfs.status)
            answer = (f"{code} ({what}) is a valid {system} code, but Medicare does not pay it "
                      + (f"under the physician fee schedule (PFS status {pfs.status}); {where}."
                         if where else f"separately (PFS status {pfs.status})."))
        else:
            answer = f"{code} ({what}) is a valid, billable {system} code."
    return Finding(RULE, [code], "info", answer, _citation(ctx, info), 1.0,
                   {"status": info.status, "answer": answer})


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    for m in ctx.mentions:
        info = ctx.kb.code(m.code, m.system) or ctx.kb.code(m.code)
        if info is None:
            out.append(_unknown(ctx, m.system, m.code))
            continue
        retired = info.status in ("deleted", "terminated")
        answer = ""
        if ctx.on is not None and info.effective_date and ctx.on < info.effective_date:
            detail = (
                f"{m.code} takes effect {info.effective_date.isoformat()}, after the "
                f"{ctx.date_basis} {ctx.on.isoformat()}: it cannot be reported for that date."
            )
            answer = f"{m.code} was not yet effective {ctx.date_phrase()}."
            severity: Severity = "error"
        elif ctx.on is not None and info.end_date and ctx.on > info.end_date:
            detail = (
                f"{m.code} was {info.status} after {info.end_date.isoformat()}, before the "
                f"{ctx.date_basis} {ctx.on.isoformat()}. {_replacement(info)}"
            )
            answer = f"{m.code} is {info.status}; {_lower(_replacement(info))}"
            severity = "error"
        elif retired and ctx.on is not None and info.end_date:
            detail = (
                f"{m.code} was still valid {ctx.date_phrase()}, but it is {info.status} "
                f"after {info.end_date.isoformat()}. For later dates: {_replacement(info)}"
            )
            severity = "warning"
        elif retired:
            end = f" after {info.end_date.isoformat()}" if info.end_date else ""
            detail = f"{m.code} is {info.status}{end}. {_replacement(info)}"
            answer = f"{m.code} is {info.status}; {_lower(_replacement(info))}"
            severity = "error"
        elif _asked_about(ctx, m.code):
            out.append(_valid(ctx, m.code, info))
            continue
        elif any(p.type == "which_code" and m.code in p.codes for p in ctx.extraction.parts):
            what = describe_code(ctx, info)
            what = what[:1].lower() + what[1:] if what[1:2].islower() else what
            answer = f"{m.code} is {what}" + ("" if what.endswith("...") else ".")
            out.append(Finding(RULE, [m.code], "info", answer, _citation(ctx, info), 1.0,
                               {"status": info.status, "answer": answer, "describes": True}))
            continue
        else:
            continue
        out.append(Finding(
            RULE, [m.code], severity, detail, _citation(ctx, info), confidence=1.0,
            data={"status": info.status, "replaced_by": list(info.replaced_by),
                  "end_date": info.end_date.isoformat() if info.end_date else None,
                  "answer": answer},
        ))
    return out
