"""NCCI procedure-to-procedure edits among the procedure codes in the mail.

For each pair with an edit: which code is column 1 (paid) and column 2 (bundled), the modifier
indicator, the rationale, the edit's dates against the date used, the setting's table, and
whether a modifier the sender named can bypass it. An edit that takes effect after the date
used is reported as information, so the sender knows why the answer may change.
"""

from __future__ import annotations

from datetime import date

from consult.findings.context import RuleContext
from consult.findings.model import Finding, Severity
from consult.findings.rules.global_period import is_em
from consult.kb.model import PtpEdit

RULE = "ncci_ptp"

#: NCCI-associated modifiers (NCCI policy manual, ch. I): the only ones that can bypass an edit
#: whose indicator is 1.
ANATOMIC = frozenset(
    {"E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9",
     "TA", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "LT", "RT", "LC", "LD", "RC",
     "LM", "RI"}
)
X_SUBSET = frozenset({"XE", "XS", "XP", "XU"})
BYPASS = ANATOMIC | X_SUBSET | frozenset({"24", "25", "57", "58", "78", "79", "27", "59", "91"})

INDICATOR_MEANING = {
    "0": "never reported together; no modifier bypasses this edit",
    "1": "allowed with an NCCI-associated modifier only when the services are distinct "
         "(different session, site or organ, incision, lesion or injury)",
    "9": "the edit is not applicable (deleted): the pair is not restricted",
}
_SEVERITY: dict[str, Severity] = {"0": "error", "1": "warning", "9": "info"}


def _modifier_advice(ctx: RuleContext, edit: PtpEdit) -> tuple[str, str, list[str]]:
    """Advice on the sender's modifiers for this edit; returns (detail, answer, used)."""
    col2_mods = ctx.modifiers_on(edit.column2)
    col1_mods = ctx.modifiers_on(edit.column1)
    named = [m for m in col2_mods if m in BYPASS]
    misplaced = [m for m in col1_mods if m in BYPASS and m not in ("25", "57")]
    c1, c2, ind = edit.column1, edit.column2, edit.modifier_indicator
    parts: list[str] = []
    if ind == "1" and is_em(c2):
        return _em_advice(c1, c2, col2_mods)
    if ind == "0":
        if named or misplaced:
            mods = ", ".join(named + misplaced)
            parts.append(f"Modifier {mods} cannot bypass it: indicator 0 allows no modifier.")
        answer = f"No: {c2} is bundled into {c1} and no modifier, including 59, unbundles it."
    elif ind == "1":
        if named:
            mods = ", ".join(named)
            parts.append(
                f"Modifier {mods} on {c2} bypasses the edit only if the documentation shows a "
                "distinct service; it does not apply just because both were done."
            )
            if "59" in named:
                parts.append(
                    "Where one fits, use the more specific XE (separate encounter), XS "
                    "(separate structure), XP (separate practitioner) or XU (unusual "
                    "non-overlapping service) instead of 59."
                )
            answer = (
                f"Only if the services were distinct: {c2} is bundled into {c1}, and "
                f"{mods} on {c2} unbundles it only when the record supports it."
            )
        else:
            parts.append(
                f"If the services were distinct, append an NCCI-associated modifier (XS, XE, XP, "
                f"XU or 59, or an anatomic modifier) to {c2}, the column 2 code."
            )
            answer = (
                f"Not without a modifier: {c2} is bundled into {c1}; a modifier on {c2} "
                "unbundles it only when the services were distinct."
            )
        if misplaced:
            parts.append(
                f"The modifier belongs on the column 2 code {c2}, not on {c1} "
                f"(you named {', '.join(misplaced)} on {c1})."
            )
    else:
        answer = ""
    return " ".join(parts), answer, named + misplaced


def _em_advice(c1: str, c2: str, mods: list[str]) -> tuple[str, str, list[str]]:
    """An E/M as the column 2 code: 25 (or 57) on the E/M is the bypass, not 59 or X."""
    used = [m for m in mods if m in ("25", "57")]
    wrong = [m for m in mods if m in X_SUBSET or m == "59"]
    detail = (
        f"For an E/M as the column 2 code, modifier 25 on {c2} (57 when the visit decided on "
        f"major surgery) bypasses the edit when the visit was significant and separately "
        f"identifiable from {c1}."
    )
    if wrong:
        detail += f" {', '.join(wrong)} is not used on an E/M code."
    if used:
        answer = (f"Yes, with {used[0]} on {c2}, when the record shows a significant, "
                  f"separately identifiable E/M beyond the usual work of {c1}.")
    else:
        answer = (f"Only with modifier 25 on {c2}, and only when the E/M was significant and "
                  f"separately identifiable from {c1}.")
    return detail, answer, used + wrong


def _dates(edit: PtpEdit) -> str:
    end = f", deleted after {edit.deletion_date.isoformat()}" if edit.deletion_date else ""
    if edit.effective_date:
        return f"Edit effective from {edit.effective_date.isoformat()}{end}; in force"
    return f"Edit in force{end}"


def describe(ctx: RuleContext, edit: PtpEdit, table_note: str) -> Finding:
    """The finding for one edit in force on the date used."""
    ind = edit.modifier_indicator
    c1, c2 = edit.column1, edit.column2
    advice, answer, used = _modifier_advice(ctx, edit)
    detail = (
        f"{c1} with {c2}: column 2 code {c2} is bundled into {c1} (column 1), "
        f"modifier indicator {ind}: {INDICATOR_MEANING.get(ind, 'unknown indicator')}. "
        f"Rationale: {edit.rationale}. {_dates(edit)} {ctx.date_phrase()}, "
        f"{edit.setting} table.{table_note}"
    )
    if advice:
        detail += " " + advice
    confidence = 1.0 if not table_note else 0.7
    return Finding(
        RULE, [c1, c2], _SEVERITY.get(ind, "warning"), detail, edit.source,
        confidence=confidence,
        data={
            "column1": c1, "column2": c2, "modifier_indicator": ind,
            "rationale": edit.rationale, "setting": edit.setting,
            "effective_date": edit.effective_date.isoformat() if edit.effective_date else None,
            "deletion_date": edit.deletion_date.isoformat() if edit.deletion_date else None,
            "modifiers": used, "answer": answer,
        },
    )


def _not_yet(ctx: RuleContext, edit: PtpEdit) -> Finding:
    eff = edit.effective_date.isoformat() if edit.effective_date else "?"
    detail = (
        f"{edit.column1} with {edit.column2}: an edit (column 2 code {edit.column2}, modifier "
        f"indicator {edit.modifier_indicator}) takes effect {eff}, after the {ctx.date_basis} "
        f"{ctx.on.isoformat() if ctx.on else ''}: it did not apply then, but applies to later "
        "dates."
    )
    return Finding(RULE, [edit.column1, edit.column2], "info", detail, edit.source,
                   confidence=0.9, data={"column1": edit.column1, "column2": edit.column2,
                                         "modifier_indicator": edit.modifier_indicator,
                                         "answer": ""})


def _before_release(ctx: RuleContext, setting: str) -> bool:
    """True when the date used precedes the PTP release: only then can an edit in the table
    take effect after it (a release holds no edit effective after its own date)."""
    if ctx.on is None:
        return False
    release = ctx.kb.sources().get(f"ncci_ptp_{setting}")
    try:
        effective = date.fromisoformat(release.effective) if release else None
    except ValueError:
        effective = None
    return effective is None or ctx.on < effective


def check(ctx: RuleContext) -> list[Finding]:
    codes = sorted({m.code for m in ctx.procedures})
    if len(codes) < 2:
        return []
    setting, table_note = ctx.setting, ""
    if setting == "hospital" and "hospital" not in ctx.kb.ptp_settings():
        setting = "practitioner"
        table_note = (
            " The knowledge base holds only the practitioner table; the outpatient hospital "
            "edits usually match but may differ."
        )
    out: list[Finding] = []
    look_ahead = _before_release(ctx, setting)
    for a in codes:
        for b in codes:
            if a == b:
                continue
            edit = ctx.kb.ptp(a, b, ctx.on, setting)
            if edit is not None:
                out.append(describe(ctx, edit, table_note))
                continue
            if look_ahead:
                later = ctx.kb.ptp(a, b, None, setting)
                if later and later.effective_date and ctx.on and later.effective_date > ctx.on:
                    out.append(_not_yet(ctx, later))
    return out
