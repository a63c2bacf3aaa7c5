"""Modifier semantics: codes a modifier cannot go on, conflicting pairs, modifiers that do not
exist.

Checked per code line: 25 and 57 only on an E/M; 59 not together with an X{EPSU} modifier (the
X modifiers are the specific subset of 59); 50 vs LT/RT against the RVU bilateral indicator;
26/TC against the PC/TC indicator.
"""

from __future__ import annotations

from consult.findings.context import RuleContext
from consult.findings.model import Finding
from consult.findings.rules.global_period import is_em
from consult.findings.rules.ncci_ptp import X_SUBSET

RULE = "modifier"

PCTC_MEANING = {
    "0": "no professional/technical split (26 and TC do not apply)",
    "1": "a professional/technical split (26 or TC applies)",
    "2": "a professional-component-only code (26 is not needed)",
    "3": "a technical-component-only code (TC is not needed)",
    "4": "a global test-only code (26 and TC do not apply)",
}
BILAT_MEANING = {
    "0": "the bilateral payment rule does not apply: 50 is not appropriate",
    "1": "the 150% bilateral rule applies: report one line with 50",
    "2": "the code is already bilateral by definition: do not add 50",
    "3": "each side is paid at 100%: report RT and LT (50 is paid as two sides)",
    "9": "the bilateral concept does not apply",
}


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
    pfs = ctx.kb.pfs(code)
    if pfs is not None:
        if "26" in mods and "TC" in mods:
            out.append(("error", f"26 and TC together on {code} mean the global service: "
                        "report it without either modifier.", ""))
        elif {"26", "TC"} & set(mods) and pfs.pctc and pfs.pctc != "1":
            mod = "26" if "26" in mods else "TC"
            meaning = PCTC_MEANING.get(pfs.pctc, f"PC/TC indicator {pfs.pctc}")
            out.append(("warning", f"{code} has PC/TC indicator {pfs.pctc}: {meaning}; "
                        f"modifier {mod} does not belong on it.", ""))
        sides = {"LT", "RT"} & set(mods)
        if "50" in mods or sides == {"LT", "RT"}:
            meaning = BILAT_MEANING.get(pfs.bilat, f"bilateral indicator {pfs.bilat}")
            if "50" in mods and sides:
                text = f"50 with {'/'.join(sorted(sides))} on {code}: use 50 alone"
            elif "50" in mods:
                text = f"50 on {code}"
            else:
                text = f"LT and RT on the same line of {code}: use 50 on one line"
            sev = "warning" if ("50" in mods and sides) or pfs.bilat in ("0", "2") else "info"
            if pfs.bilat == "3" and "50" not in mods:
                text, sev = f"RT and LT for {code}", "info"
            out.append((sev, f"{text}. Bilateral indicator {pfs.bilat}: {meaning}.", ""))
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
            pfs = ctx.kb.pfs(m.code)
            cite = f"{source}; {pfs.source}" if pfs and ("PC/TC" in detail or "ilateral" in
                                                         detail) else source
            out.append(Finding(RULE, [m.code], severity, detail, cite, 0.9,  # type: ignore[arg-type]
                               {"modifiers": mods, "answer": answer}))
    return out
