"""Drug doses and billing units: the dose unit a HCPCS descriptor states, and how many units a
stated dose is. Pure functions: text in, records out; no KB, no I/O.

A HCPCS drug code bills in the unit its long descriptor names: "Injection, dexamethasone sodium
phosphate, 1 mg" bills one unit per mg; "Injection, ceftriaxone sodium, per 250 mg" one unit per
250 mg; "..., up to 10 mg" one unit for any amount up to 10 mg. The number of units is the dose
divided by that amount, rounded up to a whole unit (CMS: bill the units that cover the dose
given; a part of a unit is billed as one unit). Arithmetic is in fractions, so 0.3 mg of a
"0.1 mg" code is exactly 3 units.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from consult.kb.model import DoseUnit, StatedDose, UnitConversion

#: spelling -> (canonical unit, dimension, size in the dimension's base unit)
_UNITS: dict[str, tuple[str, str, Fraction]] = {}


def _add(names: str, unit: str, dimension: str, size: Fraction | int) -> None:
    for name in names.split("|"):
        _UNITS[name] = (unit, dimension, Fraction(size))


_add("mg|milligram|milligrams|mgs", "mg", "mass", 1)
_add("mcg|microgram|micrograms|ug|µg|mcgs", "mcg", "mass", Fraction(1, 1000))
_add("g|gm|gram|grams|gms", "g", "mass", 1000)
_add("kg", "kg", "mass", 1_000_000)
_add("ml|milliliter|milliliters|millilitre|cc|mls", "ml", "volume", 1)
_add("l|liter|liters|litre", "l", "volume", 1000)
_add("unit|units|u|usp unit|usp units", "unit", "unit", 1)
_add("iu|i.u.|i.u|international unit|international units", "iu", "unit", 1)
_add("million units|million unit|million iu|million i.u.", "million units", "unit", 1_000_000)
_add("mci|millicurie|millicuries", "mci", "activity", 1)
_add("uci|µci|microcurie|microcuries", "uci", "activity", Fraction(1, 1000))
_add("meq|milliequivalent|milliequivalents", "meq", "meq", 1)
_add("sq cm|square centimeter|square centimeters|sq. cm|cm2", "sq cm", "area", 1)
_add("dose|doses|study dose|therapeutic dose", "dose", "count", 1)
_add("vial|vials", "vial", "count_vial", 1)

_UNIT_ALT = "|".join(sorted((re.escape(n) for n in _UNITS), key=len, reverse=True))
_NUMBER = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|\.\d+)"
_WORD_NUMBERS = {"one": "1", "a": "1", "an": "1", "each": "1"}

# a descriptor segment (after the last comma) that is only a dose: "per 250 mg", "up to 10 mg",
# "1 mg", "per milligram", "1 mg (for esrd on dialysis)", "5 ml", "per i.u."
_SEGMENT = re.compile(
    rf"^(?:(?P<kind>per|up\s+to)\s+)?(?P<num>{_NUMBER}|one|a|an)?\s*"
    rf"(?P<unit>{_UNIT_ALT})(?:\s+of\s+[a-z ]+)?(?:\s*\([^()]*\))?\s*\.?$",
    re.IGNORECASE,
)
_SPLIT = re.compile(r",(?!\d{3}(?!\d))")
# "..., human) per i.u." - the dose at the very end after a parenthesis holding commas
_TAIL = re.compile(
    rf"(?P<kind>per|up\s+to)\s+(?P<num>{_NUMBER})?\s*(?P<unit>{_UNIT_ALT})"
    rf"(?:\s*\([^()]*\))?\s*\.?$",
    re.IGNORECASE,
)
_STATED = re.compile(
    rf"(?<![\w.]){_NUMBER}\s*(?P<unit>{_UNIT_ALT})(?![\w])(?!\s*/)",
    re.IGNORECASE,
)
_CONCENTRATION = re.compile(
    rf"(?<![\w.]){_NUMBER}\s*(?P<unit>{_UNIT_ALT})\s*/\s*(?:1\s*)?(?P<per>ml|cc)\b",
    re.IGNORECASE,
)


def _lookup(unit: str) -> tuple[str, str, Fraction] | None:
    return _UNITS.get(" ".join(unit.lower().split()))


def _num(text: str) -> Fraction:
    return Fraction(text.replace(",", ""))


def _dec(value: Fraction) -> str:
    """Exact decimal text for a fraction with a terminating expansion ('0.1', '250')."""
    if value.denominator == 1:
        return str(value.numerator)
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return text


def parse_dose_unit(code: str, description: str) -> DoseUnit | None:
    """The billing unit a HCPCS long descriptor states, or None when it states none the KB
    can use (e.g. "not otherwise classified", or a combination "x mg and y mg").

    The unit is read from the last comma-separated part of the descriptor, which is where
    HCPCS writes it ("Injection, ceftriaxone sodium, per 250 mg").
    """
    text = " ".join(description.split())
    if not text:
        return None
    # commas inside numbers ("per 250,000 iu") do not split; a trailing "(for esrd ...)" part
    # is a note on the dose before it
    parts = [p.strip() for p in _SPLIT.split(text) if p.strip()]
    while len(parts) > 1 and parts[-1].startswith("(") and parts[-1].endswith(")"):
        parts.pop()
    segment = parts[-1] if parts else ""
    m = _SEGMENT.match(segment) or _TAIL.search(text)
    if not m:
        return None
    segment = m.group(0).strip()
    found = _lookup(m.group("unit"))
    if found is None:
        return None
    unit, dimension, _size = found
    raw = (m.group("num") or "1").lower()
    amount = _num(_WORD_NUMBERS.get(raw, raw))
    if amount <= 0:
        return None
    kind = "up_to" if (m.group("kind") or "").lower().startswith("up") else "per"
    return DoseUnit(code, kind, _dec(amount), unit, dimension, segment)


def parse_stated_dose(text: str) -> StatedDose | None:
    """The dose a mail states: "dexamethasone 8 mg", "1 g ceftriaxone", "80mg Kenalog",
    "1,000 units", "Kenalog 40 mg/ml, 2 ml" (a concentration times a volume: 80 mg).

    The first amount with a unit wins, except that a concentration with a volume gives their
    product. None when the text holds no amount with a known unit.
    """
    conc = _CONCENTRATION.search(text)
    if conc:
        rest = text[: conc.start()] + " " + text[conc.end():]
        vol = next((m for m in _STATED.finditer(rest)
                    if (_lookup(m.group("unit")) or ("", "", 0))[1] == "volume"), None)
        found = _lookup(conc.group("unit"))
        if vol is not None and found is not None:
            v_unit = _lookup(vol.group("unit"))
            assert v_unit is not None
            amount = _num(conc.group(1)) * _num(vol.group(1)) * v_unit[2]
            return StatedDose(_dec(amount), found[0], found[1],
                              f"{conc.group(0)} x {vol.group(0)}")
    for m in _STATED.finditer(text):
        found = _lookup(m.group("unit"))
        if found is None:
            continue
        return StatedDose(_dec(_num(m.group(1))), found[0], found[1], m.group(0))
    return None


def _base(amount: str, unit: str) -> Fraction:
    found = _lookup(unit)
    size = found[2] if found else Fraction(1)
    return _num(amount) * size


def billing_units(dose: StatedDose | str, unit: DoseUnit | None, *, code: str = "") -> (
        UnitConversion):
    """How many billing units of a code a stated dose is (rounded up to whole units).

    ``dose`` is a ``StatedDose`` or the mail's words ("1 g ceftriaxone"); ``unit`` is the code's
    ``DoseUnit`` (None when the descriptor states none). The result says plainly when the two
    cannot be compared: a dose in ml for a code billed per mg needs the concentration.
    """
    code = code or (unit.code if unit else "")
    stated = parse_stated_dose(dose) if isinstance(dose, str) else dose
    if unit is None:
        return UnitConversion(code, "no_dose_unit", dose=stated,
                              note=f"The descriptor of {code} states no dose unit the KB can "
                                   "read; bill the units the descriptor defines by hand.")
    if stated is None:
        return UnitConversion(code, "no_dose", dose_unit=unit,
                              note=f"No dose with a unit was found; {code} bills one unit "
                                   f"{unit.label()}.")
    if stated.dimension != unit.dimension:
        hint = (" Give the concentration (e.g. 40 mg/ml) with the volume to convert."
                if {stated.dimension, unit.dimension} == {"mass", "volume"} else "")
        return UnitConversion(
            code, "incompatible", dose=stated, dose_unit=unit,
            note=f"The dose is in {stated.unit} but {code} bills {unit.label()}: the two "
                 f"cannot be converted without more information.{hint}")
    per = _base(unit.amount, unit.unit)
    given = _base(stated.amount, stated.unit)
    ratio = given / per
    units = max(1, math.ceil(ratio))
    exact = ratio == units
    shown = f"{stated.amount} {stated.unit}"
    if exact:
        note = f"{shown} of {code} ({unit.label()}) is {units} unit{'s' * (units != 1)}."
    else:
        note = (f"{shown} of {code} ({unit.label()}) is {float(ratio):.4g} units' worth; bill "
                f"{units} unit{'s' * (units != 1)} (a part of a unit is billed as a whole "
                "unit).")
    return UnitConversion(code, "ok", units=units, dose=stated, dose_unit=unit, exact=exact,
                          note=note)
