"""Drug units from the dose: the HCPCS descriptor's unit ("per 10 mg", "up to 1000 mcg")
applied to the dose the mail states, then the MUE; a terminated drug code gets its
replacement, with the units for the same dose.

A coder writes "Kenalog 40 mg x2 knees" or "dexamethasone 10 mg, J1100 x?": the units are the
dose divided by the descriptor's amount, rounded up (CMS bills a partial unit as a whole one),
never the milligrams themselves. The dose is read from the code's own sentence, else from the
mail when it names one drug code; "4 mg + 4 mg" and "2 x 40 mg" are added up.
"""

from __future__ import annotations

import re

from consult.findings.context import RuleContext
from consult.findings.model import Finding

RULE = "drug_units"
#: The finding rule names this module emits, with their labels, in display order.
LABELS = {RULE: "Drug units from the dose"}
_AMOUNT = re.compile(
    r"(?i)(?<![\w.])(?:(?P<times>\d{1,2})\s*[x×]\s*)?(?P<n>\d+(?:,\d{3})*(?:\.\d+)?)\s*"
    r"(?P<u>mcg|µg|mg|g|gm|grams?|ml|cc|units?|iu)\b(?!\s*/)(?:\s*[x×]\s*(?P<after>\d{1,2})\b)?"
)
_JOINED = re.compile(r"^\s*(?:\+|and|plus|&|,)\s*$", re.I)


_EACH_SITE = re.compile(r"(?i)\b(?:into|in|to|for|per)\s+(?:each|both)\s+(?P<site>knee|side|"
                        r"joint|shoulder|hip|eye|ear|foot|hand|wrist|ankle|elbow)s?\b")


def stated_dose(text: str) -> str | None:
    """The total dose the text states, as "<amount> <unit>": amounts of one unit joined by "+"
    or "and" are added, "2 x 40 mg" multiplied; a concentration ("40 mg/ml") is not a dose."""
    found = list(_AMOUNT.finditer(text))
    if not found:
        return None
    first = found[0]
    unit = first.group("u").lower()
    total = 0.0
    prev_end = None
    for m in found:
        if m.group("u").lower() != unit:
            continue
        if prev_end is not None and not _JOINED.match(text[prev_end:m.start()]):
            break
        times = int(m.group("times") or m.group("after") or 1)
        total += float(m.group("n").replace(",", "")) * times
        prev_end = m.end()
    if prev_end is not None and _EACH_SITE.match(text[prev_end:prev_end + 30].lstrip(" ,")):
        total *= 2  # "40 mg into each knee": two sites
    amount = f"{total:g}"
    return f"{amount} {unit}"


_GENERIC_WORDS = frozenset({
    "injection", "sodium", "potassium", "hydrochloride", "sulfate", "acetate", "phosphate",
    "succinate", "citrate", "tartrate", "mesylate", "maleate", "bromide", "chloride",
    "calcium", "magnesium", "intravenous", "subcutaneous", "intramuscular", "infusion",
    "solution", "powder", "liposomal", "extended", "release", "preservative", "free",
    "biosimilar", "oral", "inhalation", "human", "recombinant"})
_NAME_WORD = re.compile(r"[A-Za-z][A-Za-z-]{4,}")


def drug_name(description: str) -> str | None:
    """The drug's name in a HCPCS descriptor ("Injection, ondansetron hydrochloride, per 1 mg"
    -> "ondansetron")."""
    for w in _NAME_WORD.findall(description):
        if w.lower() not in _GENERIC_WORDS:
            return w.lower()
    return None


def dose_by_name(text: str, name: str) -> str | None:
    """The total dose of one drug a mail gives by name, over every place it names it
    ("ondansetron 4 mg IV push, then ... ondansetron 4 mg IV push again" -> "8 mg")."""
    doses = []
    for m in re.finditer(rf"(?i)\b{re.escape(name)}\w*", text):
        clause = re.split(r"[,;.\n]|\bthen\b", text[m.end():m.end() + 60], maxsplit=1)[0]
        dose = stated_dose(clause)
        if dose:
            doses.append(dose)
    if not doses:
        return None
    units = {d.split()[1] for d in doses}
    if len(units) != 1:
        return None
    return f"{sum(float(d.split()[0]) for d in doses):g} {units.pop()}"


def check(ctx: RuleContext) -> list[Finding]:
    out: list[Finding] = []
    drugs = [ln for ln in ctx.lines if ctx.kb.dose_unit(ln.code) is not None]
    if not drugs:
        return out
    mail = ctx.text
    for line in drugs:
        own = line.context
        dose: str | None
        if re.search(r"(?i)\d\s*(?:mcg|mg|g|units?)\s*/\s*(?:ml|cc)", own):
            dose = own  # a concentration and a volume: the KB's parser multiplies them
        else:
            dose = stated_dose(own) or (stated_dose(mail) if len(drugs) == 1 else None)
        info = ctx.kb.code(line.code)
        if dose is None and info is not None and (name := drug_name(info.description)):
            dose = dose_by_name(mail, name)  # a table of codes, the doses in the narrative
        replacement = ""
        if info is not None and info.status == "terminated" and info.end_date and (
                ctx.on is None or ctx.on > info.end_date):
            later = ctx.kb.replacements(line.code, ctx.on)
            replacement = later[0] if later else ""
        if dose is None:
            continue
        target = replacement or line.code
        conv = ctx.kb.drug_units(target, dose)
        if conv.status != "ok" or conv.units is None:
            continue
        mue = ctx.kb.mue(target, ctx.setting)
        over = mue is not None and conv.units > mue.value
        stated = line.units
        unit_text = conv.dose_unit.label() if conv.dose_unit else ""
        shown = conv.dose.text if conv.dose else dose
        if replacement:
            answer = (f"{line.code} ended {info.end_date.isoformat()}: report "  # type: ignore[union-attr]
                      f"{replacement} ({unit_text}) x{conv.units} for {shown}.")
        elif stated is not None and stated != conv.units:
            answer = f"{shown} of {target} ({unit_text}) is {conv.units} units, not {stated}."
        else:
            answer = f"{shown} of {target} ({unit_text}) = {conv.units} units."
        if mue is not None:
            answer += (f" That is over its MUE of {mue.value}." if over else
                       f" Within its MUE of {mue.value}.")
        detail = (f"{conv.note} HCPCS units are the dose divided by the descriptor's amount, "
                  "rounded up, never the milligrams themselves.")
        source = ctx.kb.citation("hcpcs") + (f"; {mue.source}" if mue else "")
        out.append(Finding(RULE, [line.code, *([replacement] if replacement else [])],
                           "warning" if over or (stated and stated != conv.units) else "info",
                           detail, source, 0.9,
                           {"units": conv.units, "dose": dose, "answer": answer}))
    return out
