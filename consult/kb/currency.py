"""Which period each KB table is for, and whether it covers a date of service. Pure functions.

CMS publishes the NCCI PTP, MUE and add-on tables, the PFS relative value file and the HCPCS
file every quarter: a release is in force from its effective date to the day before the next
quarter. ICD-10-CM runs by fiscal year (October 1 to September 30). The coverage database is
a snapshot of the documents current on its date. The project's own notes carry no period.
A date of service after a table's period is answered from the newest table the KB holds, and
the answer says so.
"""

from __future__ import annotations

from datetime import date, timedelta

from consult.kb.model import SourceVersion, TableCurrency

QUARTERLY_PREFIXES = ("ncci_ptp_", "mue_", "aoc", "rvu", "hcpcs", "ptp_")
SNAPSHOT_PREFIXES = ("mcd_",)
UNDATED = ("starter", "modifiers", "guidelines", "code_history", "mac_jurisdictions")


def _d(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _quarter_end(start: date) -> date:
    month = (start.month - 1) // 3 * 3 + 4
    year = start.year + (month > 12)
    month = month - 12 if month > 12 else month
    return date(year, month, 1) - timedelta(days=1)


def period(source: SourceVersion) -> tuple[str, date | None, date | None]:
    """(label, first day, last day) of the period a table is for; label '' and None days for
    undated sources. The last day is None when a dated table has no known end."""
    start = _d(source.effective)
    name = source.name
    if name in UNDATED or start is None:
        return "", None, None
    if name.startswith(SNAPSHOT_PREFIXES):
        return f"as of {start.isoformat()}", start, start
    if name == "icd10cm":
        fy_start = date(start.year if start.month >= 10 else start.year - 1, 10, 1)
        return f"FY{fy_start.year + 1}", fy_start, date(fy_start.year + 1, 9, 30)
    if name == "cpt":
        return str(start.year), date(start.year, 1, 1), date(start.year, 12, 31)
    if name.startswith(QUARTERLY_PREFIXES):
        q = (start.month - 1) // 3 + 1
        return f"{start.year} Q{q}", start, _quarter_end(start)
    return "", start, None


def table_currency(source: SourceVersion, on: date | None) -> TableCurrency:
    """Whether ``source`` covers the date of service ``on`` (None: just its period)."""
    label, start, end = period(source)
    base = TableCurrency(source.name, source.label(), source.version, label, start, end,
                         "current")
    cite = source.citation()
    if start is None:
        return _with(base, "undated", "" if on is None else
                     f"{cite} is the project's own material and carries no period.")
    if on is None:
        return base
    if on < start:
        return _with(base, "before",
                     f"{cite} took effect after the date of service {on.isoformat()}; what "
                     "was in force on that date may differ.")
    if end is not None and on > end:
        kind = "snapshot" if label.startswith("as of") else "period"
        return _with(base, "after",
                     f"The date of service {on.isoformat()} is after this table's {kind} "
                     f"(to {end.isoformat()}): the answer is based on what is in the newest "
                     f"table we hold, {cite}; a newer release may say otherwise.")
    return _with(base, "covers", f"{cite} covers the date of service {on.isoformat()}.")


def _with(base: TableCurrency, status: str, note: str) -> TableCurrency:
    return TableCurrency(base.name, base.label, base.version, base.period, base.effective,
                         base.through, status, note)
