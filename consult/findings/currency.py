"""How current a table is for a date of service: never claim more than the table says.

CMS replaces the NCCI tables every quarter, the RVU file four times a year and ICD-10-CM every
fiscal year. A table effective 2024-04-01 says what was in force in that quarter; for a service
in 2025 it is only "the newest table we hold", and the answer must say so rather than "in force
on the date of service". Pure: dates in, words out.
"""

from __future__ import annotations

from datetime import date, timedelta

from consult.kb.model import SourceVersion

#: How long one release of a source is current, in months (CMS's release cycle).
CYCLE_MONTHS = {
    "ncci_ptp_practitioner": 3, "ncci_ptp_hospital": 3, "mue_practitioner": 3,
    "mue_hospital": 3, "mue_dme": 3, "aoc": 3, "rvu": 3, "hcpcs": 3, "icd10cm": 12,
}


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1)


def window(source: SourceVersion) -> tuple[date, date] | None:
    """(first, last) day the release is current, or None when its date is unknown."""
    try:
        start = date.fromisoformat(source.effective)
    except ValueError:
        return None
    months = CYCLE_MONTHS.get(source.name)
    if months is None:
        return None
    return start, _add_months(start.replace(day=1), months) - timedelta(days=1)


def covers(source: SourceVersion | None, on: date | None) -> bool | None:
    """True when ``on`` falls in the release's own period, False when not, None if unknown."""
    if source is None or on is None:
        return None
    span = window(source)
    if span is None:
        return None
    return span[0] <= on <= span[1]


def in_force_words(source: SourceVersion | None, on: date | None, basis: str) -> str:
    """How to say an edit applies: "in force on 2024-05-01 (date of service)" only when the
    table is the release for that date; otherwise "in the newest table we hold" (the finding's
    source names its version and effective date)."""
    if on is None:
        return "in the newest table we hold"
    state = covers(source, on)
    if state:
        return f"in force on {on.isoformat()} ({basis})"
    if state is False and source is not None:
        span = window(source)
        if span is not None and on < span[0]:
            return f"in the table we hold, which is newer than your {basis} {on.isoformat()}"
    return "in the newest table we hold"
