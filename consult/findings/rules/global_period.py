"""Global surgical period: an E/M with a procedure (25 or 57), and services inside the global.

The RVU file gives each procedure's global days: 000 and 010 are minor procedures (the decision
to do them is part of the procedure, so a same-day E/M needs 25 and must be significant and
separately identifiable), 090 is major surgery (the visit that decides it, the day before or the
day of, takes 57). Services later in the global period take 58, 78, 79 (procedures) or 24 (E/M).
"""

from __future__ import annotations

import re

from consult.findings.context import RuleContext
from consult.findings.model import Finding, Severity
from consult.kb.model import PfsInfo

RULE = "global_period"
MINOR = ("000", "010")
MAJOR = ("090",)

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


def is_em(code: str) -> bool:
    """Evaluation and management codes (99202-99499)."""
    return code.isdigit() and len(code) == 5 and 99202 <= int(code) <= 99499


def _global_procedures(ctx: RuleContext) -> list[tuple[str, PfsInfo]]:
    out = []
    for m in ctx.procedures:
        if is_em(m.code):
            continue
        info = ctx.kb.pfs(m.code)
        if info and info.global_days in MINOR + MAJOR:
            out.append((m.code, info))
    return out


def _em_with_procedure(ctx: RuleContext, em: str, code: str, info: PfsInfo) -> Finding:
    mods = ctx.modifiers_on(em)
    days = info.global_days
    major = days in MAJOR
    right = "57" if major else "25"
    wrong = "25" if major else "57"
    base = (
        f"{code} has a {int(days)}-day global period ({'major' if major else 'minor'} "
        f"procedure, RVU global {days})."
    )
    if major:
        rule = (
            f" An E/M ({em}) on the day before or the day of major surgery is part of the "
            f"global package unless it is the visit where the decision for surgery was made: "
            f"then append 57 to {em}."
        )
    else:
        rule = (
            f" The decision to perform a minor procedure is included in it; {em} is paid the "
            f"same day only when it is significant and separately identifiable, with 25 on "
            f"{em}."
        )
    severity: Severity
    if right in mods:
        verdict, severity = f" Modifier {right} on {em} is the right one.", "info"
        answer = ""
    elif wrong in mods:
        verdict = f" Modifier {wrong} on {em} is the wrong one here: use {right}."
        severity = "warning"
        answer = f"Use modifier {right}, not {wrong}, on {em} with {code}."
    else:
        verdict = f" No modifier on {em}: without {right} the E/M is bundled into {code}."
        severity = "warning"
        answer = f"{em} with {code} needs modifier {right} on {em}, if the record supports it."
    data = {"global_days": days, "em": em, "procedure": code, "modifier": right,
            "answer": answer}
    return Finding(RULE, [em, code], severity, base + rule + verdict, info.source, 0.9, data)


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    procedures = _global_procedures(ctx)
    ems = [m.code for m in ctx.procedures if is_em(m.code)]
    for em in ems:
        for code, info in procedures:
            out.append(_em_with_procedure(ctx, em, code, info))
    text = f"{ctx.extraction.question} {ctx.extraction.narrative}"
    for m in ctx.procedures:
        named = [x for x in ctx.modifiers_on(m.code) if x in POSTOP_MODIFIERS]
        for mod in named:
            pfs = ctx.kb.pfs(m.code)
            days = f" ({m.code} global {pfs.global_days})" if pfs else ""
            detail = f"Modifier {mod} on {m.code} means {POSTOP_MODIFIERS[mod]}{days}."
            out.append(Finding(RULE, [m.code], "info", detail,
                               pfs.source if pfs else ctx.kb.citation("modifiers"), 0.9,
                               {"modifier": mod, "answer": ""}))
    if procedures and _GLOBAL_WORDS.search(text) and not any(
        f.data.get("modifier") in POSTOP_MODIFIERS for f in out
    ):
        code, info = procedures[0]
        detail = (
            f"For services during the {int(info.global_days)}-day global period of {code}: "
            + "; ".join(f"{k} for {v}" for k, v in sorted(POSTOP_MODIFIERS.items())) + "."
        )
        out.append(Finding(RULE, [code], "info", detail, info.source, 0.8,
                           {"global_days": info.global_days, "answer": ""}))
    return out
