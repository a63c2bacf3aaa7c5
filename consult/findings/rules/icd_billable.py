"""ICD-10-CM codes that cannot go on a claim as written: headers and a missing 7th character.

A category or subcategory is not billable: the reply lists the billable codes below it. Codes
in chapters with 7th characters (injuries, fractures, poisonings...) need one, with X
placeholders where the code is shorter than six characters.
"""

from __future__ import annotations

import re

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


def _sentence_of(text: str, code: str) -> str:
    """The line or sentence that names the code (what the mail says of this diagnosis)."""
    for piece in re.split(r"\n|(?<=[.?!])\s+", text):
        if re.search(rf"(?<![\w.]){re.escape(code)}(?![\w.])", piece):
            return piece
    return ""


def _pick(ctx: RuleContext, code: str) -> CodeInfo | None:
    """The child the mail's words about this code point to: a clear best, or among tied best
    the unspecified one ("low back pain, no other detail" -> M54.50); None when unclear."""
    said = _sentence_of(ctx.extraction.narrative, code) or _sentence_of(
        ctx.extraction.question, code)
    scored = ctx.kb.icd_children_scored(code, said) if said else []
    if not scored:
        return None
    best = [kid for hits, kid in scored if hits == scored[0][0]]
    if len(best) == 1:
        return best[0]
    unspecified = [k for k in best if "unspecified" in k.description.lower()]
    return unspecified[0] if len(unspecified) == 1 else None


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    for m in ctx.diagnoses:
        info = ctx.kb.code(m.code, "ICD10CM")
        if info is None or info.billable:
            continue
        children = ctx.kb.children(m.code, billable_only=True, limit=60)
        source = ctx.kb.citation("icd10cm")
        data = {"children": [c.code for c in children[:SHOW]], "answer": ""}
        sevenths = ctx.kb.seventh_characters(m.code)
        # a 7th-character extension (A/D/S...) only where the tabular defines one: Z86.010's
        # 7-character children (Z86.0100-Z86.0109) are subcodes, not extensions
        if needs_seventh(m.code, children) and sevenths:
            examples = ", ".join(f"{k} {v.lower()}" for k, v in list(sevenths.items())[:3])
            detail = (
                f"{m.code} needs a 7th character (with X placeholders where the code is short), "
                f"e.g. {examples}. Choose from: {_listing(children)}."
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
        pick = _pick(ctx, m.code)
        if pick is not None:
            data["answer"] = (f"{m.code} is a header, not billable: from your words, "
                              f"{pick.code} ({pick.description}).")
            data["chosen"] = pick.code
        else:
            listed = ", ".join(c.code for c in children[:5]) + (", ..." if len(children) > 5
                                                                 else "")
            data["answer"] = f"{m.code} is a header, not billable: pick a code below it ({listed})."
        out.append(Finding(RULE_HEADER, [m.code], "error", detail, source, 1.0, data))
    return out
