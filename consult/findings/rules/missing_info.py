"""Questions back to the sender: what the answer needs and the mail did not say.

Date of service, payer, units, laterality, and whether the services were distinct when an
edit allows a modifier. Runs after the other rules so it asks only what matters to them.
"""

from __future__ import annotations

from consult.findings.context import RuleContext
from consult.findings.model import Finding

RULE = "missing_info"
SIDES = frozenset({"LT", "RT", "50", "E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4",
                   "F5", "F6", "F7", "F8", "F9", "TA", "T1", "T2", "T3", "T4", "T5", "T6",
                   "T7", "T8", "T9"})


def _ask(codes: list[str], question: str) -> Finding:
    return Finding(RULE, codes, "info", question, "", 1.0, {"question": question, "answer": ""})


def check(ctx: RuleContext, found: list[Finding]) -> list[Finding]:
    out: list[Finding] = []
    ex = ctx.extraction
    rules = {f.rule for f in found}
    if ex.date_of_service is None and ctx.mentions:
        when = (f"we used the mail's date, {ctx.on.isoformat()}" if ctx.on
                else "we used the edits currently in force")
        out.append(_ask([], f"The date of service: edits and code validity change quarterly, "
                            f"and {when}."))
    if ex.payer is None and rules & {"ncci_ptp", "mue", "addon"}:
        out.append(_ask([], "The payer (Medicare, Medicaid, or which commercial plan): NCCI "
                            "and MUE bind Medicare and Medicaid; other payers may differ."))
    text = f"{ex.question} {ex.narrative}".lower()
    for m in ctx.procedures:
        if m.units is not None:
            continue
        mue = ctx.kb.mue(m.code, ctx.setting) or ctx.kb.mue(m.code)
        if (mue is not None and mue.value > 1 and "unit" in text) or m.code[:1] in ("J", "Q"):
            out.append(_ask([m.code], f"How many units of {m.code} were given or performed "
                                      "on the date of service?"))
    for m in ctx.procedures:
        pfs = ctx.kb.pfs(m.code)
        if pfs and pfs.bilat in ("1", "3") and not SIDES & set(ctx.modifiers_on(m.code)):
            out.append(_ask([m.code], f"Which side was {m.code} done on (left, right or "
                                      "both)?"))
    open_pairs = [f"{f.data['column1']} with {f.data['column2']}" for f in found
                  if f.rule == "ncci_ptp" and f.data.get("modifier_indicator") == "1"
                  and not f.data.get("modifiers")]
    if open_pairs:
        codes = sorted({c for f in found if f.rule == "ncci_ptp"
                        and f.data.get("modifier_indicator") == "1" for c in f.codes})
        out.append(_ask(codes, f"For {', '.join(open_pairs)}: were the services distinct (a "
                               "separate session, site or organ, incision or lesion)? That "
                               "decides whether a modifier may be used."))
    for m in ctx.diagnoses:
        info = ctx.kb.code(m.code, "ICD10CM")
        if info and not info.billable:
            kids = ctx.kb.children(m.code, billable_only=True, limit=60)
            if any("right" in k.description.lower() for k in kids) and any(
                "left" in k.description.lower() for k in kids
            ):
                out.append(_ask([m.code], f"Which side does the diagnosis {m.code} affect "
                                          "(right, left or bilateral)?"))
    return out
