"""Choosing among the alternatives the coder offers ("A or B?", "option 1/2/3").

An alternative is not a claim: the answer is which option to report. The KB decides it when
the options differ in what the tables say: an option whose code Medicare does not pay (PFS
status I, N, X) or that an indicator-0 pair edit with another line of the claim blocks is out;
an option whose code is the column 1 code of edits with every code of another option includes
that option (report the comprehensive code alone). When one option is left, the answer names
it and why the others are not; when the tables do not separate them, nothing is claimed here.
"""

from __future__ import annotations

from consult.extract.model import Alternative
from consult.findings.context import RuleContext
from consult.findings.model import Finding
from consult.findings.rules.pfs_status import not_paid

RULE = "choice"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Choosing among your options"}
UNPAID = frozenset({"I", "N", "X", "E"})


def _blocked(ctx: RuleContext, option: tuple[str, ...], others: set[str]) -> str:
    """Why an option cannot be reported ("" when it can)."""
    medicare_like = ctx.extraction.payer_class in (None, "medicare", "medicare_advantage")
    for code in option:
        info = ctx.kb.pfs(code)
        if info and info.status in UNPAID and medicare_like:
            return not_paid(code, info.status)
    claim = [ln.code for ln in ctx.lines if ln.code not in others and ln.code not in option
             and ln.option is None]
    if not claim:
        return ""
    edits = ctx.kb.ptp_among([*option, *claim], ctx.on, ctx.setting)
    for code in option:
        for other in claim:
            found = edits.get((other, code))
            if found and found[0].in_force(ctx.on) and found[0].modifier_indicator == "0":
                return f"{code} is bundled into {other} with indicator 0 (no modifier allowed)"
    return ""


def _includes(ctx: RuleContext, a: tuple[str, ...], b: tuple[str, ...]) -> str | None:
    """The code of option ``a`` that is column 1 of edits with every code of ``b``."""
    edits = ctx.kb.ptp_among([*a, *b], ctx.on, ctx.setting)
    for code in a:
        if all((code, x) in edits and edits[(code, x)][0].in_force(ctx.on) for x in b):
            return code
    return None


def _decide(ctx: RuleContext, alt: Alternative) -> Finding | None:
    options = [o for o in alt.options if o]
    if len(options) < 2:
        return None
    offered = {c for o in options for c in o}
    reasons: dict[tuple[str, ...], str] = {}
    for o in options:
        why = _blocked(ctx, o, offered)
        if why:
            reasons[o] = why
    for a in options:
        for b in options:
            if a is b or b in reasons or a in reasons:
                continue
            code = _includes(ctx, a, b)
            if code:
                reasons[b] = (f"{code} includes {' and '.join(b)} (column 2 codes of {code} in "
                              "the NCCI table)")
    left = [o for o in options if o not in reasons]
    if len(left) != 1 or not reasons:
        return None
    chosen = " + ".join(left[0])
    why = "; ".join(f"not {' + '.join(o)}: {r}" for o, r in reasons.items())
    answer = f"Report {chosen}; {why}."
    gap = ""
    kind = ctx.extraction.payer_class
    if any("PFS status" in r for r in reasons.values()) and kind in (
            "medicare_advantage", "commercial"):
        plan = ctx.extraction.payer or "the plan"
        answer = (f"For traditional Medicare report {chosen}; {why}. {plan} is "
                  f"{'a Medicare Advantage' if kind == 'medicare_advantage' else 'a commercial'}"
                  " plan and may follow CPT instead: its own policy decides.")
        gap = f"{plan}'s own coding policy is not in our sources"
    detail = (f"Of the options you offer ({', '.join(' + '.join(o) for o in options)}), the KB "
              f"leaves one: {chosen}. {why[0].upper()}{why[1:]}.")
    source = ctx.kb.citation("ncci_ptp_practitioner")
    if any("PFS status" in r for r in reasons.values()):
        source = f"{ctx.kb.citation('rvu')}; {source}"
    data = {"chosen": list(left[0]), "answer": answer}
    if gap:
        data["gap"] = gap
    return Finding(RULE, [*left[0], *[c for o in reasons for c in o]], "warning", detail,
                   source, 0.85, data)


def check(ctx: RuleContext) -> list[Finding]:
    out = []
    for alt in ctx.extraction.alternatives:
        if alt.kind in ("codes", "codings"):
            f = _decide(ctx, alt)
            if f is not None:
                out.append(f)
    return out
