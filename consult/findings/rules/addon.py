"""Add-on codes reported without an eligible primary code (NCCI add-on code edits).

An add-on code is paid only with one of its primary codes on the same claim: type 1 lists the
only eligible primaries, type 2 has none listed (the contractor decides), type 3 lists some and
lets the contractor accept others.
"""

from __future__ import annotations

from consult.findings.context import RuleContext
from consult.findings.model import Finding, Severity

RULE = "addon"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Add-on code"}
SHOW_PRIMARIES = 12

TYPE_MEANING = {
    "1": "type 1: only the listed primary codes are eligible",
    "2": "type 2: CMS lists no primary codes; the Medicare contractor decides which are "
         "eligible",
    "3": "type 3: the listed primaries are eligible and the contractor may accept others",
}


def _listing(primaries: tuple[str, ...]) -> str:
    shown = ", ".join(primaries[:SHOW_PRIMARIES])
    more = len(primaries) - SHOW_PRIMARIES
    return f"{shown} and {more} more" if more > 0 else shown


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    codes = [m.code for m in ctx.procedures]
    for code in codes:
        rule = ctx.kb.addon(code, ctx.on)
        if rule is None:
            continue
        present = sorted(set(codes) & set(rule.primaries))
        meaning = TYPE_MEANING.get(rule.edit_type, f"type {rule.edit_type}")
        data = {"edit_type": rule.edit_type, "primaries": list(rule.primaries),
                "present": present, "answer": ""}
        if present:
            others = tuple(p for p in rule.primaries if p not in present)
            more = f" and {len(others) - 4} more" if len(others) > 4 else ""
            listed = (f" Its other listed primaries: {', '.join(others[:4])}{more}."
                      if others else "")
            detail = (
                f"{code} is an add-on code ({meaning}); {', '.join(present)} in your mail "
                f"is an eligible primary, so {code} may be reported with it.{listed}"
            )
            data["answer"] = (f"{code} is an add-on code and {', '.join(present)} is one of its "
                              "eligible primaries, so it may be reported with it.")
            out.append(Finding(RULE, [code, *present], "info", detail, rule.source, 1.0, data))
            continue
        if not rule.primaries:
            detail = (
                f"{code} is an add-on code ({meaning}): report it only with the primary "
                "procedure it adds to; none of the other codes in your mail is listed as one."
            )
            out.append(Finding(RULE, [code], "warning", detail, rule.source, 0.7, data))
            continue
        detail = (
            f"{code} is an add-on code ({meaning}) and none of the codes in your mail is an "
            f"eligible primary. Eligible primaries: {_listing(rule.primaries)}."
        )
        data["answer"] = (
            f"{code} is an add-on code and is not paid without an eligible primary such as "
            f"{_listing(rule.primaries[:3])}."
        )
        severity: Severity = "error" if rule.edit_type == "1" else "warning"
        out.append(Finding(RULE, [code], severity, detail, rule.source, 1.0, data))
    return out
