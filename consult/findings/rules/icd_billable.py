"""ICD-10-CM codes that cannot go on a claim as written: headers and a missing 7th character.

A category or subcategory is not billable: the reply lists the billable codes below it. Codes
in chapters with 7th characters (injuries, fractures, poisonings...) need one, with X
placeholders where the code is shorter than six characters.
"""

from __future__ import annotations

from consult.findings.context import RuleContext
from consult.findings.model import Finding
from consult.kb.model import CodeInfo

RULE_HEADER = "icd_billable"
RULE_SEVENTH = "icd_seventh"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE_SEVENTH: "ICD-10-CM: 7th character", RULE_HEADER: "ICD-10-CM: billable code"}
SHOW = 10


def _listing(children: list[CodeInfo]) -> str:
    shown = "; ".join(f"{c.code} {c.description}" for c in children[:SHOW])
    return shown + ("; ..." if len(children) > SHOW else "")


def needs_seventh(code: str, children: list[CodeInfo]) -> bool:
    """True when every billable code below ``code`` is a 7-character code and ``code`` is not."""
    flat = code.replace(".", "")
    return bool(children) and len(flat) < 7 and all(
        len(c.code.replace(".", "")) == 7 for c in children
    )


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    for m in ctx.diagnoses:
        info = ctx.kb.code(m.code, "ICD10CM")
        if info is None or info.billable:
            continue
        children = ctx.kb.children(m.code, billable_only=True, limit=60)
        source = ctx.kb.citation("icd10cm")
        data = {"children": [c.code for c in children[:SHOW]], "answer": ""}
        if needs_seventh(m.code, children):
            detail = (
                f"{m.code} needs a 7th character (with X placeholders where the code is short), "
                f"e.g. A initial encounter, D subsequent encounter, S sequela. Choose from: "
                f"{_listing(children)}."
            )
            data["answer"] = f"{m.code} is incomplete: it needs a 7th character."
            out.append(Finding(RULE_SEVENTH, [m.code], "error", detail, source, 0.95, data))
            continue
        if children:
            detail = (
                f"{m.code} ({info.description}) is a header, not a billable code: report the "
                f"most specific code below it. Choose from: {_listing(children)}."
            )
        else:
            detail = f"{m.code} ({info.description}) is not billable: a more specific code is "\
                     "needed."
        data["answer"] = f"{m.code} is not billable: pick a more specific code below it."
        out.append(Finding(RULE_HEADER, [m.code], "error", detail, source, 1.0, data))
    return out
