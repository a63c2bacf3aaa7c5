"""Questions back to the sender: only what the answer needs and the mail did not say.

A question back costs the coder a round trip, so it is asked only when the answer turns on it:
the date of service when the mail gives no date at all and a date-dependent edit was found;
the side when the coder asks which modifier, a bilateral-rule code has no side and the mail's
words name none; the dose of a drug when the question is about units. Runs after the other
rules.
"""

from __future__ import annotations

import re

from consult.findings.context import RuleContext
from consult.findings.model import Finding

RULE = "missing_info"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Information needed"}
SIDES = frozenset({"LT", "RT", "50", "E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4",
                   "F5", "F6", "F7", "F8", "F9", "TA", "T1", "T2", "T3", "T4", "T5", "T6",
                   "T7", "T8", "T9"})
_SIDE_WORDS = re.compile(r"(?i)\b(?:left|right|bilateral|both\s+(?:sides|knees|shoulders|hips|"
                         r"eyes|ears|feet|hands)|b/l|lt|rt|l\s+knee|r\s+knee)\b")
_SIDES_ASKED = re.compile(r"(?i)\b(?:50|RT|LT|side|bilateral|laterality)\b")
#: Rules whose answer changes with the date of service.
DATED_RULES = frozenset({"code_status", "ncci_ptp", "addon"})


def _ask(codes: list[str], question: str) -> Finding:
    return Finding(RULE, codes, "info", question, "", 1.0, {"question": question, "answer": ""})


def check(ctx: RuleContext, found: list[Finding]) -> list[Finding]:
    out: list[Finding] = []
    ex = ctx.extraction
    dated = any(ln.date_of_service or ln.days_after is not None for ln in ctx.lines)
    if (ex.date_of_service is None and not dated and ctx.date_basis != "date of service"
            and any(f.rule in DATED_RULES and f.severity != "info" for f in found)):
        when = (f"we used the mail's date, {ctx.on.isoformat()}" if ctx.on
                else "we used the edits currently in force")
        out.append(_ask([], f"The date of service: edits and code validity change quarterly, "
                            f"and {when}."))
    text = ctx.text
    if ctx.asks("units"):
        dosed = {c for f in found if f.rule == "drug_units" for c in f.codes}
        for m in ctx.procedures:
            if m.units is None and m.code[:1] in ("J", "Q") and m.code not in dosed:
                out.append(_ask([m.code], f"How much of the drug was given for {m.code} (the "
                                          "dose), so the units follow from its descriptor?"))
    if ctx.asks("which_modifier") and _SIDES_ASKED.search(" ".join(p.text for p in ex.parts)) \
            and not _SIDE_WORDS.search(text):
        for m in ctx.procedures:
            pfs = ctx.kb.pfs(m.code)
            if pfs and pfs.bilat in ("1", "3") and not SIDES & set(ctx.modifiers_on(m.code)):
                out.append(_ask([m.code], f"Which side was {m.code} done on (left, right or "
                                          "both)?"))
    return out
