"""Modifier semantics: codes a modifier cannot go on, conflicting pairs, modifiers that do not
exist.

Checked per code line: 25 and 57 only on an E/M; 59 not together with an X{EPSU} modifier (the
X modifiers are the specific subset of 59). 26/TC and 50/RT/LT against the RVU indicators are
``pfs_indicators``.
"""

from __future__ import annotations

from consult.findings.context import RuleContext
from consult.findings.model import Finding
from consult.findings.rules.global_period import is_em
from consult.findings.rules.ncci_ptp import X_SUBSET

RULE = "modifier"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Modifier"}

def _exists(ctx: RuleContext, mod: str) -> bool:
    return ctx.kb.modifier(mod) is not None or ctx.kb.code(mod, "MOD") is not None


def _line(ctx: RuleContext, code: str, mods: list[str]) -> list[tuple[str, str, str]]:
    """(severity, detail, answer) for one code line."""
    out: list[tuple[str, str, str]] = []
    em = is_em(code)
    for mod in ("25", "57"):
        if mod in mods and not em:
            out.append(("error", f"Modifier {mod} goes only on an E/M code; {code} is not one. "
                        f"Put {mod} on the E/M service instead.",
                        f"Modifier {mod} belongs on the E/M code, not on {code}."))
    xs = sorted(set(mods) & X_SUBSET)
    if "59" in mods and xs:
        out.append(("warning", f"59 and {', '.join(xs)} on the same line of {code}: the X "
                    "modifiers are the specific form of 59; report one of them, not both.", ""))
    if len(xs) > 1:
        out.append(("warning", f"{code} carries {', '.join(xs)}: one X modifier describes "
                    "the distinction; pick the one the record supports.", ""))
    return out


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    source = ctx.kb.citation("modifiers")
    for m in ctx.procedures:
        mods = ctx.modifiers_on(m.code)
        if not mods:
            continue
        for mod in mods:
            if not _exists(ctx, mod):
                out.append(Finding(
                    RULE, [m.code], "warning",
                    f"Modifier {mod} on {m.code} is not a CPT or HCPCS modifier in the "
                    "knowledge base: check it.", source, 0.8,
                    {"modifier": mod, "answer": f"Modifier {mod} does not exist."}))
        for severity, detail, answer in _line(ctx, m.code, mods):
            out.append(Finding(RULE, [m.code], severity, detail, source, 0.9,  # type: ignore[arg-type]
                               {"modifiers": mods, "answer": answer}))
    return out
