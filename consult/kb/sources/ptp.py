"""NCCI procedure-to-procedure edit files, in three layouts.

1. CMS text (``ccipra-v321r0-f1.txt``, ``ccioph-...``): copyright and column-title lines, then
   tab-delimited rows: Column 1, Column 2, ``*`` when in existence prior to 1996, Effective Date
   (YYYYMMDD), Deletion Date (YYYYMMDD or ``*`` = none), Modifier (0 not allowed, 1 allowed,
   9 not applicable), PTP Edit Rationale.
2. CMS xlsx: the same columns on one sheet below the same header rows.
3. The CSV interchange layout, for payers that publish their own edits and converted copies of
   NCCI: header ``column1,column2,effective_date,deletion_date,modifier_indicator,rationale``,
   ISO dates; an empty effective date means in force since before the table, an empty
   deletion date means active.

Each parser yields ``PtpRow`` tuples and raises ``SourceFileError`` with the file, the line and
what was expected at the first row it cannot read.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime

from consult.errors import SourceFileError
from consult.kb.sources.files import load_openpyxl
from consult.kb.tables import PtpRow

CSV_HEADER = [
    "column1", "column2", "effective_date", "deletion_date", "modifier_indicator", "rationale",
]
MODIFIERS = {"0": 0, "1": 1, "9": 9}
_YMD = re.compile(r"^\d{8}$")


def _err(label: str, line: int, expected: str, got: object) -> SourceFileError:
    shown = got if isinstance(got, str) else repr(got)
    return SourceFileError(f"{label}, line {line}: expected {expected}; got {shown[:120]!r}")


class _IsoDates:
    """ISO date text -> YYYYMMDD int, cached: a PTP table repeats a few thousand dates."""

    def __init__(self) -> None:
        self.cache: dict[str, int] = {"": 0}

    def __call__(self, text: str) -> int:
        got = self.cache.get(text)
        if got is None:
            d = date.fromisoformat(text)  # ValueError on anything else
            if len(text) != 10:
                raise ValueError(text)
            got = self.cache[text] = d.year * 10000 + d.month * 100 + d.day
        return got


def parse_csv(lines: Iterable[str], label: str) -> Iterator[PtpRow]:
    """The CSV interchange layout (see the module docstring)."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise _err(label, 1, "the header " + ",".join(CSV_HEADER), "an empty file")
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    if [h.strip().lower() for h in header] != CSV_HEADER:
        raise _err(label, 1, "the header " + ",".join(CSV_HEADER), ",".join(header))
    iso = _IsoDates()
    mods = MODIFIERS
    for row in reader:
        try:
            c1, c2, eff, dele, mod, rationale = row
            if len(c1) != 5 or len(c2) != 5:
                raise ValueError("codes")
            yield c1, c2, iso(eff), iso(dele), mods[mod], rationale
        except (ValueError, KeyError):
            if not row:
                continue
            raise _err(
                label, reader.line_num,
                "6 fields: two 5-character codes, ISO dates (YYYY-MM-DD or empty), "
                "modifier indicator 0/1/9, rationale",
                ",".join(row),
            ) from None


def _cms_date(value: object, *, star_is_none: bool) -> int:
    """A CMS date cell: YYYYMMDD text or number, an Excel date, or ``*`` (= none)."""
    if value is None:
        return 0
    if isinstance(value, datetime | date):
        return value.year * 10000 + value.month * 100 + value.day
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    if star_is_none and text in ("*", ""):
        return 0
    if not _YMD.match(text):
        raise ValueError(text)
    date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return int(text)


def _cms_row(cells: list[object]) -> PtpRow:
    """One data row of the CMS layout; ValueError when it is not one."""
    if len(cells) < 6:
        raise ValueError("short")
    c1, c2 = str(cells[0] or "").strip(), str(cells[1] or "").strip()
    if len(c1) != 5 or len(c2) != 5:
        raise ValueError("codes")
    eff = _cms_date(cells[3], star_is_none=False)
    dele = _cms_date(cells[4], star_is_none=True)
    mod_cell = cells[5]
    mod = str(int(mod_cell)) if isinstance(mod_cell, int | float) else str(mod_cell).strip()
    rationale = str(cells[6] or "").strip() if len(cells) > 6 else ""
    return c1, c2, eff, dele, MODIFIERS[mod], rationale


_EXPECTED_CMS = (
    "a tab-delimited row: Column 1, Column 2, * (prior to 1996) or empty, Effective Date "
    "YYYYMMDD, Deletion Date YYYYMMDD or *, Modifier 0/1/9, PTP Edit Rationale"
)


def parse_cms_text(lines: Iterable[str], label: str) -> Iterator[PtpRow]:
    """The CMS tab-delimited text layout: header lines first, then data rows."""
    seen_header = False
    in_data = False
    for n, line in enumerate(lines, 1):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        cells: list[object] = list(text.split("\t"))
        if not in_data:
            try:
                row = _cms_row(cells)
            except (ValueError, KeyError):
                if "column 1" in text.lower() or "copyright" in text.lower():
                    seen_header = True
                if n > 40:
                    raise _err(label, n, "the NCCI header lines then data rows", text) from None
                continue
            if not seen_header:
                raise _err(label, n, "the CMS header lines (copyright notice, Column 1 ...) "
                           "before the first edit", text)
            in_data = True
            yield row
            continue
        try:
            yield _cms_row(cells)
        except (ValueError, KeyError):
            raise _err(label, n, _EXPECTED_CMS, text) from None
    if not in_data:
        raise _err(label, 0, "NCCI PTP edit rows after the header", "no data rows")


def parse_cms_xlsx(fh: object, label: str) -> Iterator[PtpRow]:
    """The CMS xlsx layout: the header row holds "Column 1"; data rows follow."""
    openpyxl = load_openpyxl()

    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)  # type: ignore[arg-type]
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise SourceFileError(f"{label}: not a readable xlsx workbook ({exc})") from exc
    ws = wb.worksheets[0]
    in_data = False
    for n, values in enumerate(ws.iter_rows(values_only=True), 1):
        cells = list(values)
        if not any(c not in (None, "") for c in cells):
            continue
        if not in_data:
            first = str(cells[0] or "").strip().lower()
            if first.startswith("column 1") or first.startswith("column1"):
                in_data = True
            elif n > 40:
                raise _err(label, n, "a header row starting with 'Column 1'", cells)
            continue
        try:
            yield _cms_row(cells)
        except (ValueError, KeyError):
            raise _err(label, n, _EXPECTED_CMS.replace("a tab-delimited row", "a row"),
                       cells) from None
    wb.close()
    if not in_data:
        raise _err(label, 0, "a header row starting with 'Column 1'", "none")
