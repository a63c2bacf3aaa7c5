"""Medicare national payment from the RVU file: total RVUs x conversion factor.

Only when the mail asks about payment, and only Medicare's national amounts (no locality
adjustment: the MAC's GPCIs change them): the non-facility amount for an office (POS 11), the
facility amount for a hospital or ASC, both when the mail does not say. The row of the
modifier the line carries (26, TC, 53) is the one priced. Within one endoscopy family on one
date the multiple-endoscopy rule applies (the most valuable code in full, each other minus the
base); a bilateral indicator-1 code with 50 is paid at 150 %. A commercial or Medicare
Advantage payer's rates are not in our sources (the answer says so; see ``answers``).
"""

from __future__ import annotations

from consult.extract.lines import stories, story_of
from consult.extract.narrative import payer_of
from consult.findings.context import RuleContext
from consult.findings.model import Finding
from consult.findings.rules.pfs_indicators import professional_only
from consult.findings.rules.pfs_status import elsewhere
from consult.kb.model import PfsInfo

RULE = "payment"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Medicare national payment"}
_FACILITY_WORDS = ("hospital", "asc", "facility", "inpatient", "emergency", "skilled")


def _setting(ctx: RuleContext) -> tuple[bool, bool]:
    """(show non-facility, show facility) from the mail's setting."""
    where = (ctx.extraction.setting or "").lower()
    text = ctx.text.lower()
    both = ("facility" in text and ("office" in text or "non-facility" in text)) or (
        "pos 11" in text and "pos 22" in text)
    if both or not where:
        return True, True
    facility = any(w in where for w in _FACILITY_WORDS)
    return not facility, facility


def _money(value: float | None) -> str:
    return f"${value:,.2f}" if value is not None else "n/a"


def _row(ctx: RuleContext, code: str, *, read_only: bool = False) -> PfsInfo | None:
    mods = ctx.modifiers_on(code) + (["26"] if read_only else [])
    for mod in ("26", "TC", "53"):
        if mod in mods:
            row = ctx.kb.pfs(code, mod)
            if row is not None:
                return row
    return ctx.kb.pfs(code)


def _one(ctx: RuleContext, code: str, nonfac: bool, fac: bool, *,
         read_only: bool = False) -> Finding | None:
    info = _row(ctx, code, read_only=read_only)
    if info is None or info.conversion_factor is None:
        return None
    label = code + (f"-{info.modifier}" if info.modifier else "")
    if not info.payable:
        where = elsewhere(code, info.status)
        answer = (f"{label} has no Medicare physician fee-schedule payment (PFS status "
                  f"{info.status})" + (f"; {where}." if where else "."))
        return Finding(RULE, [code], "info", answer, info.source, 1.0, {"answer": answer})
    pieces = []
    if nonfac:
        pieces.append(f"non-facility (office) {info.nonfacility_total:.2f} RVU x "
                      f"{info.conversion_factor} = {_money(info.payment_nonfacility)}")
    if fac:
        pieces.append(f"facility {info.facility_total:.2f} RVU x {info.conversion_factor} = "
                      f"{_money(info.payment_facility)}")
    text = "; ".join(pieces)
    line = ctx.line(code)
    bilateral = ""
    if line is not None and "50" in line.modifiers + line.modifier_options and info.bilat == "1":
        amount = info.payment_nonfacility if nonfac else info.payment_facility
        if amount is not None:
            bilateral = f"; with 50 (bilateral indicator 1) 150% = {_money(amount * 1.5)}"
    answer = (f"Medicare national amount for {label}: {text}{bilateral} (before the locality "
              "adjustment).")
    return Finding(RULE, [code], "info", answer, info.source, 1.0, {"answer": answer})


def _endoscopies(ctx: RuleContext, nonfac: bool, fac: bool) -> list[Finding]:
    """The multiple-endoscopy amount for members of one family on one claim."""
    out = []
    seen: set[str] = set()
    for m in ctx.procedures:
        family = ctx.kb.endoscopy_family(m.code)
        if family is None or family.base in seen:
            continue
        members = [x.code for x in ctx.procedures if x.code in family and x.code != family.base]
        if len(members) < 2:
            continue
        seen.add(family.base)
        base = ctx.kb.pfs(family.base)
        rows = [ctx.kb.pfs(c) for c in members]
        if base is None or any(r is None or r.conversion_factor is None for r in rows):
            continue
        pieces = []
        for label, attr, wanted in (("non-facility", "nonfacility_total", nonfac),
                                    ("facility", "facility_total", fac)):
            if not wanted:
                continue
            values = sorted(((getattr(r, attr) or 0.0, r.code) for r in rows if r),
                            reverse=True)
            top, top_code = values[0]
            base_value = getattr(base, attr) or 0.0
            total = top + sum(max(0.0, v - base_value) for v, _ in values[1:])
            steps = f"{top_code} {top:.2f}" + "".join(
                f" + ({c} {v:.2f} - {family.base} {base_value:.2f})" for v, c in values[1:])
            cf = rows[0].conversion_factor or 0.0  # type: ignore[union-attr]
            amount = round(total * cf + 1e-9, 2)
            pieces.append(f"{label} {steps} = {total:.2f} RVU x {cf} = ${amount:,.2f}")
        answer = ("Multiple-endoscopy payment, national: " + "; ".join(pieces) + ".")
        out.append(Finding(RULE, members, "info", answer, base.source, 0.95,
                           {"answer": answer}))
    return out


def check(ctx: RuleContext, found: list[Finding]) -> list[Finding]:
    """Runs after the other rules: it also prices what they name instead of the mail's codes
    (a terminated code's replacement, a described service's likely code)."""
    if not ctx.asks("payment"):
        return []
    told = stories(ctx.extraction.narrative)
    medicare_asked = any(p.type == "payment" and ("medicare" in p.text.lower() or (
        len(told) > 1 and payer_of(story_of(ctx.extraction.narrative, p.text)) == "medicare"))
        for p in ctx.extraction.parts)
    if ctx.extraction.payer_class in ("commercial", "medicaid") and not medicare_asked:
        return []
    nonfac, fac = _setting(ctx)
    out = _endoscopies(ctx, nonfac, fac)
    done = {c for f in out for c in f.codes}
    codes = [m.code for m in ctx.procedures]
    for f in found:
        if f.rule == "code_status":
            codes += [str(c) for c in f.data.get("replaced_by", [])][:1]
        elif f.rule == "suggestion":
            codes += [c["code"] for c in f.data.get("candidates", [])
                      if c.get("system") in ("CPT", "HCPCS")][:1]
    read_only = professional_only(ctx)
    elsewhere_paid = {c for story in told if len(told) > 1
                      and payer_of(story) in ("commercial", "medicaid")
                      for c in codes if c in story}
    for code in dict.fromkeys(codes):
        if code in done or code in elsewhere_paid:
            continue  # another patient's code, on a plan whose rates we do not hold
        priced = _one(ctx, code, nonfac, fac, read_only=read_only)
        if priced is not None:
            out.append(priced)
    return out
