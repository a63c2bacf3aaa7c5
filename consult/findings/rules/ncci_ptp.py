"""NCCI procedure-to-procedure edits among the procedure lines of one claim and date.

For each pair with an edit: which code is column 1 (paid) and column 2 (bundled), the modifier
indicator, the rationale, the edit's dates against the date used, the setting's table, and
whether a modifier the sender named (or offered as a choice: "59 or XS?") can bypass it. An
edit applies only to services of one provider on one date: lines the mail dates differently,
or offers as alternatives ("G0121 or 45378?"), are not paired. The table's currency is said
plainly: "in the newest table we hold" when the date of service is after its quarter. An edit
that takes effect after the date used is reported as information.
"""

from __future__ import annotations

import re
from datetime import date

from consult.findings.context import RuleContext
from consult.findings.currency import in_force_words
from consult.findings.model import Finding, Severity
from consult.findings.rules.global_period import is_em
from consult.kb.model import PtpEdit

RULE = "ncci_ptp"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "NCCI procedure-to-procedure edit"}

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
    "0": "no modifier allowed",
    "1": "a modifier is allowed only for distinct services (other session, site or organ, "
         "incision, lesion or injury)",
    "9": "not applicable (deleted edit)",
}
_SEVERITY: dict[str, Severity] = {"0": "error", "1": "warning", "9": "info"}


_X_MEANING = {"XE": "separate encounter", "XS": "separate structure or organ",
              "XP": "separate practitioner", "XU": "unusual non-overlapping service"}


#: Edit rationales saying the column 1 code includes the column 2 service by its own
#: definition: a modifier is the exception, not the way to bill both.
_PART_OF = frozenset({"hcpcs/cpt procedure code definition", "cpt separate procedure definition",
                      "more extensive procedure", "laboratory panel"})


_SAME_SITE = re.compile(r"(?i)\b(?:the\s+)?same\s+(knee|joint|site|side|shoulder|hip|wound|"
                        r"lesion|area|incision|location|eye|finger|toe|ankle|wrist|elbow)\b")


def _modifier_advice(ctx: RuleContext, edit: PtpEdit) -> tuple[str, str, list[str]]:
    """Advice on the sender's modifiers, applied or offered ("59 or XS?"), for this edit;
    returns (detail, answer, used)."""
    col2_mods = ctx.modifiers_on(edit.column2)
    col1_mods = ctx.modifiers_on(edit.column1)
    offered = [m for m in ctx.modifier_options(edit.column2) + ctx.modifier_options(
        edit.column1) if m in BYPASS]
    named = [m for m in col2_mods if m in BYPASS]
    misplaced = [m for m in col1_mods if m in BYPASS and m not in ("25", "57")]
    c1, c2, ind = edit.column1, edit.column2, edit.modifier_indicator
    parts: list[str] = []
    if ind == "1" and is_em(c2):
        return _em_advice(c1, c2, col2_mods + offered)
    if ind == "0":
        if named or misplaced or offered:
            mods = ", ".join(dict.fromkeys(named + misplaced + offered))
            parts.append(f"{mods} cannot bypass it.")
        answer = f"No: {c2} is bundled into {c1} and no modifier, including 59, unbundles it."
    elif ind == "1":
        x = [m for m in offered if m in X_SUBSET]
        if offered and x and "59" in offered:
            answer = (f"Put {x[0]} on {c2} (the column 2 code), not 59: {x[0]} means "
                      f"{_X_MEANING[x[0]]}, and it applies only when the record shows that; "
                      f"otherwise {c2} stays bundled into {c1}.")
            parts.append("The X modifiers are the specific forms of 59; CMS asks for them "
                         "where one fits.")
        elif (named or offered) and (same := _SAME_SITE.search(ctx.text)):
            # "into the same knee ... 20610-RT-59?": the distinct-service modifiers need a
            # different site or session, which the mail itself rules out
            given = list(dict.fromkeys(named + offered))
            mods = ", ".join([m for m in given if m == "59" or m in X_SUBSET] or given)
            parts.append(f"{mods} on {c2} needs a different site, lesion or session; the mail "
                         f"says the same {same.group(1).lower()}.")
            answer = (f"No: {c2} is bundled into {c1}, and on the same {same.group(1).lower()} "
                      f"{mods} does not apply: it needs a different site, lesion or session.")
        elif named or offered:
            mods = ", ".join(dict.fromkeys(named + offered))
            parts.append(f"{mods} on {c2} bypasses it only when the record shows a distinct "
                         "service, not just because both were done.")
            if "59" in named + offered:
                parts.append("Prefer XE, XS, XP or XU where one fits.")
            answer = (f"Only if the services were distinct: {c2} is bundled into {c1}, and "
                      f"{mods} on {c2} unbundles it only when the record supports it.")
        else:
            parts.append(f"For distinct services append XS, XE, XP, XU or 59 (or an anatomic "
                         f"modifier) to {c2}.")
            if edit.rationale.lower() == "laboratory panel":
                answer = (f"No: {c2} is one of the tests in the {c1} panel; it is not billed "
                          "beside the panel for the same specimen.")
            elif edit.rationale.lower() in _PART_OF:
                # 93010 inside 93000, 29881 inside 29880: the column 1 code already holds it
                answer = (f"{c2} is part of {c1} by definition ({_lower(edit.rationale)}): "
                          f"bill both only for a separate session, site or lesion, with the "
                          f"modifier on {c2}: XS, XE, XP or XU where one fits, else 59.")
            else:
                answer = (f"Not without a modifier: {c2} is bundled into {c1}. If the "
                          f"services were distinct, the modifier goes on {c2}: XS, XE, XP or "
                          "XU where one fits, else 59.")
        if misplaced:
            parts.append(f"The modifier belongs on {c2} (column 2), not on {c1}.")
            answer += (f" The {', '.join(dict.fromkeys(misplaced))} on {c1} is on the wrong "
                       f"code: it belongs on {c2}, if anywhere.")
    else:
        answer = ""
    return " ".join(parts), answer, named + misplaced


def _em_advice(c1: str, c2: str, mods: list[str]) -> tuple[str, str, list[str]]:
    """An E/M as the column 2 code: 25 (or 57) on the E/M is the bypass, not 59 or X."""
    used = [m for m in mods if m in ("25", "57")]
    wrong = [m for m in mods if m in X_SUBSET or m == "59"]
    detail = f"For an E/M in column 2 the bypass is 25 on {c2} (57 when it decided on surgery)."
    if wrong:
        detail += f" {', '.join(dict.fromkeys(wrong))} is not used on an E/M."
    if used:
        answer = (f"Yes, with {used[0]} on {c2}, when the record shows a significant, "
                  f"separately identifiable E/M beyond the usual work of {c1}.")
    else:
        answer = (f"Only with modifier 25 on {c2}, and only when the E/M was significant and "
                  f"separately identifiable from {c1}.")
    if wrong and used:
        answer += f" Not {', '.join(dict.fromkeys(wrong))}: that is not used on an E/M."
    return detail, answer, used + wrong


def _dates(ctx: RuleContext, edit: PtpEdit, on: date | None) -> str:
    """When the edit applies, said no more strongly than the table allows."""
    end = f", deleted after {edit.deletion_date.isoformat()}" if edit.deletion_date else ""
    start = (f"effective from {edit.effective_date.isoformat()}{end}, "
             if edit.effective_date else (f"{end.lstrip(', ')}, " if end else ""))
    source = ctx.kb.sources().get(f"ncci_ptp_{edit.setting}")
    basis = ctx.date_basis if on == ctx.on else "date of service"
    return f"The edit is {start}{in_force_words(source, on, basis)}."


def _lower(text: str) -> str:
    """First letter lower-cased, unless the first word is an acronym ("CPT Manual")."""
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def describe(ctx: RuleContext, edit: PtpEdit, table_note: str, on: date | None = None) -> Finding:
    """The finding for one edit in force on the date used."""
    ind = edit.modifier_indicator
    c1, c2 = edit.column1, edit.column2
    advice, answer, used = _modifier_advice(ctx, edit)
    dates = _dates(ctx, edit, on if on else ctx.on)  # said in the detail and the basis
    detail = (
        f"{c2} is bundled into {c1} (column 1), modifier indicator {ind}: "
        f"{INDICATOR_MEANING.get(ind, 'unknown indicator')}; rationale: {_lower(edit.rationale)}. "
        f"{dates}{table_note}"
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
            "basis": (f"{c1} (column 1) with {c2} (column 2): PTP edit, modifier indicator "
                      f"{ind}, rationale {_lower(edit.rationale)}; "
                      f"{dates.removeprefix('The edit is ')}"
                      f"{table_note}"),
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


def _other_dates(ctx: RuleContext, a: str, b: str, edit: PtpEdit) -> Finding:
    """An edit between lines the mail puts on different dates: it does not apply."""
    da, db = ctx.date_of(a), ctx.date_of(b)
    when = f" ({da.isoformat()} and {db.isoformat()})" if da and db else ""
    answer = (f"{a} and {b} are on different dates{when}: the NCCI edit between them "
              f"(indicator {edit.modifier_indicator}) applies only to services of one provider "
              "on the same date of service, so it does not apply and no modifier is needed.")
    return Finding(RULE, [edit.column1, edit.column2], "info", answer, edit.source, 0.9,
                   {"column1": edit.column1, "column2": edit.column2,
                    "modifier_indicator": edit.modifier_indicator, "other_dates": True,
                    "answer": answer})


def _no_edit(ctx: RuleContext, pairs: list[tuple[str, str]], setting: str) -> Finding:
    """Lines of one claim with no edit between them: NCCI does not bundle them."""
    source = ctx.kb.sources().get(f"ncci_ptp_{setting}")
    where = in_force_words(source, ctx.on, ctx.date_basis)
    listed = "; ".join(f"{a} and {b}" for a, b in pairs[:4])
    answer = (f"There is no NCCI edit between {listed} {where}: NCCI does not bundle them, "
              "and no NCCI modifier (59 or X) is needed for that pair.")
    detail = (f"The procedure-to-procedure table has no row pairing {listed}, in either "
              "order.")
    codes = list(dict.fromkeys(c for pair in pairs for c in pair))
    return Finding(RULE, codes, "info", detail,
                   source.citation() if source else ctx.kb.citation("ncci_ptp_practitioner"),
                   0.9, {"no_edit": True, "answer": answer})


def check(ctx: RuleContext) -> list[Finding]:
    codes = sorted({m.code for m in ctx.procedures})
    if len(codes) < 2:
        return []
    setting, table_note = ctx.setting, ""
    if setting == "hospital" and "hospital" not in ctx.kb.ptp_settings():
        setting = "practitioner"
        table_note = " We hold only the practitioner table; hospital edits may differ."
    out: list[Finding] = []
    look_ahead = _before_release(ctx, setting)
    edits_of = ctx.kb.ptp_among(codes, ctx.on, setting)
    pairs = {(a.code, b.code): a.date_of_service or b.date_of_service
             for a, b in ctx.claim_pairs()}
    pairs.update({(b, a): d for (a, b), d in list(pairs.items())})
    for (a, b), edits in sorted(edits_of.items()):
        if (a, b) not in pairs and ctx.lines:
            live = next((e for e in edits if e.in_force(ctx.on)), None)
            if live is not None and not ctx.apart(a, b) and live.modifier_indicator != "9":
                out.append(_other_dates(ctx, a, b, live))
            continue
        on = pairs.get((a, b)) or ctx.on
        edit = next((e for e in edits if e.in_force(on)), None)
        if edit is not None:
            out.append(describe(ctx, edit, table_note, on))
            continue
        if look_ahead:
            later = next((e for e in edits if e.deletion_date is None), None)
            if later and later.effective_date and on and later.effective_date > on:
                out.append(_not_yet(ctx, later))
    if ctx.asks("bill_together", "which_modifier", "other", "which_code"):
        flagged = {frozenset(f.codes[:2]) for f in out}
        free = [(a, b) for (a, b) in pairs if a < b and frozenset((a, b)) not in flagged
                and not _drug(a) and not _drug(b) and not _addon_pair(ctx, a, b)]
        if free:
            out.append(_no_edit(ctx, sorted(free), setting))
        apart = sorted({(a.code, b.code) if a.code < b.code else (b.code, a.code)
                        for i, a in enumerate(ctx.lines) for b in ctx.lines[i + 1:]
                        if a.code != b.code and not ctx.same_claim(a, b)
                        and not ctx.apart(a, b)} - {tuple(sorted(f.codes[:2])) for f in out})
        if apart:
            out.append(_dates_apart(ctx, apart))
    return out


def _addon_pair(ctx: RuleContext, a: str, b: str) -> bool:
    """An add-on with its own primary (17003 with 17000): no edit is expected between them."""
    for addon, primary in ((a, b), (b, a)):
        rule = ctx.kb.addon(addon, ctx.on)
        if rule is not None and primary in rule.primaries:
            return True
    return False


def _drug(code: str) -> bool:
    """HCPCS drug and supply codes: their pairs with procedures are beside the question."""
    return code[:1] in ("J", "Q", "A")


def _dates_apart(ctx: RuleContext, pairs: list[tuple[str, str]]) -> Finding:
    """Lines on different dates with no edit between them: nothing to bypass."""
    listed = "; ".join(f"{a} ({_day(ctx, a)}) and {b} ({_day(ctx, b)})" for a, b in pairs[:3])
    answer = (f"{listed} are on different dates: NCCI pair edits apply only to services on "
              "the same date of service, so no 59 or X modifier is needed between them.")
    codes = list(dict.fromkeys(c for pair in pairs for c in pair))
    return Finding(RULE, codes, "info", answer, ctx.kb.citation("ncci_ptp_practitioner"),
                   0.85, {"other_dates": True, "answer": answer})


def _day(ctx: RuleContext, code: str) -> str:
    d = ctx.date_of(code)
    return d.isoformat() if d else "another date"
