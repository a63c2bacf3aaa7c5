"""The smaller CMS tables: MUE (CSV), add-on codes (AOC xlsx) and the PFS RVU file (CSV).

Each parser checks the header it expects and raises ``SourceFileError`` with the file, the line
and what was expected at the first row it cannot read.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from consult.errors import SourceFileError
from consult.kb.sources.files import load_openpyxl


def _err(label: str, line: int, expected: str, got: object) -> SourceFileError:
    shown = got if isinstance(got, str) else repr(got)
    return SourceFileError(f"{label}, line {line}: expected {expected}; got {shown[:120]!r}")


# -- MUE ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MueRow:
    code: str
    value: int
    adjudication: str
    rationale: str


MUE_SETTINGS = {
    "practitioner services": "practitioner",
    "outpatient hospital services": "hospital",
    "dme supplier services": "dme",
}
_MAI = re.compile(r"^[123] \S")


def mue_setting(header_cell: str) -> str:
    """'Practitioner Services MUE Values' -> practitioner ('' when not an MUE header)."""
    low = " ".join(header_cell.lower().split())
    return next((s for k, s in MUE_SETTINGS.items() if low.startswith(k)), "")


def parse_mue(lines: Iterable[str], label: str) -> tuple[str, Iterator[MueRow]]:
    """(setting named by the header, rows). Skips the AMA notice record before the header.

    The header's first cell is "HCPCS/CPT Code" (with a line break inside the quotes), the
    second names the setting; data rows are code, units, adjudication indicator, rationale.
    """
    reader = csv.reader(lines)
    setting = ""
    for record in reader:
        if record and record[0].replace("\n", "").replace("\r", "").upper().startswith("HCPCS/"):
            setting = mue_setting(record[1] if len(record) > 1 else "")
            if not setting or len(record) < 4:
                raise _err(label, reader.line_num,
                           "the MUE header: HCPCS/CPT Code, <setting> MUE Values, MUE "
                           "Adjudication Indicator, MUE Rationale", ",".join(record))
            break
        if reader.line_num > 30:
            raise _err(label, reader.line_num, "the MUE header (HCPCS/CPT Code, ...)",
                       ",".join(record))
    else:
        raise _err(label, reader.line_num, "the MUE header (HCPCS/CPT Code, ...)",
                   "end of file")

    def rows() -> Iterator[MueRow]:
        for record in reader:
            if not any(record):
                continue
            try:
                code, value, mai, rationale = record[:4]
                if len(code) != 5 or not _MAI.match(mai) or any(record[4:]):
                    raise ValueError(code)
                yield MueRow(code, int(value), mai, rationale)
            except ValueError:
                raise _err(label, reader.line_num,
                           "code, MUE value (a whole number), adjudication indicator "
                           "('1 Line Edit', '2 Date of Service Edit: Policy' or '3 ...'), "
                           "rationale", ",".join(record)) from None

    return setting, rows()


# -- add-on codes (AOC) ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AocRow:
    edit_type: str
    addon: str
    addon_deleted: str
    primary: str
    primary_deleted: str
    effective: str
    deleted: str
    note: str


AOC_COLUMNS = ["aoc_edit_type", "add-on_code", "aoc_deldt", "primary_code",
               "primary_code_deldt", "aoc_edit_effdt", "aoc_edit_deldt",
               "special_instruction_notes"]


def julian(value: object) -> str:
    """CMS AOC dates are Julian YYYYDDD (2013091 = 2013-04-01); '' when empty."""
    if value in (None, ""):
        return ""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    text = str(value).strip().removesuffix(".0")
    if not re.fullmatch(r"\d{7}", text):
        raise ValueError(text)
    day = int(text[4:])
    if not 1 <= day <= 366:
        raise ValueError(text)
    return (date(int(text[:4]), 1, 1) + timedelta(days=day - 1)).isoformat()


def parse_aoc_xlsx(fh: object, label: str) -> Iterator[AocRow]:
    """The AOC workbook: an AMA notice row, the header row, then one row per edit."""
    openpyxl = load_openpyxl()

    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)  # type: ignore[arg-type]
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise SourceFileError(f"{label}: not a readable xlsx workbook ({exc})") from exc
    ws = wb.worksheets[0]
    cols: dict[str, int] = {}
    for n, values in enumerate(ws.iter_rows(values_only=True), 1):
        cells = ["" if v is None else v for v in values]
        if not cols:
            names = [str(c).strip().lower() for c in cells]
            if "add-on_code" in names and "primary_code" in names:
                missing = [c for c in AOC_COLUMNS[:7] if c not in names]
                if missing:
                    raise _err(label, n, "the AOC columns " + ", ".join(AOC_COLUMNS),
                               ", ".join(names))
                cols = {c: names.index(c) for c in AOC_COLUMNS if c in names}
            elif n > 10:
                raise _err(label, n, "the AOC header row (AOC_Edit_Type, Add-On_Code, ...)",
                           cells)
            continue
        if not any(str(c).strip() for c in cells):
            continue
        try:
            get = {k: cells[i] if i < len(cells) else "" for k, i in cols.items()}
            edit_type = str(get["aoc_edit_type"]).strip().removesuffix(".0")
            addon, primary = str(get["add-on_code"]).strip(), str(get["primary_code"]).strip()
            if edit_type not in ("1", "2", "3") or len(addon) != 5 or len(primary) != 5:
                raise ValueError(edit_type)
            yield AocRow(edit_type, addon, julian(get["aoc_deldt"]), primary,
                         julian(get["primary_code_deldt"]), julian(get["aoc_edit_effdt"]),
                         julian(get["aoc_edit_deldt"]),
                         str(get.get("special_instruction_notes", "") or "").strip())
        except ValueError:
            raise _err(label, n, "edit type 1/2/3, 5-character add-on and primary codes, "
                       "Julian dates YYYYDDD", cells) from None
    wb.close()
    if not cols:
        raise _err(label, 0, "the AOC header row (AOC_Edit_Type, Add-On_Code, ...)", "none")


# -- PFS relative value file ----------------------------------------------------------------------
@dataclass(frozen=True)
class RvuRow:
    """One row of the PPRRVU file (columns as in the RVU record layout, RVU25D)."""

    code: str
    modifier: str
    description: str  # the file's short descriptor: CPT text, runtime only, never committed
    status: str
    pctc: str
    global_days: str
    mult_proc: str
    bilat: str
    endo_base: str
    not_used_for_medicare: bool = False
    work_rvu: float | None = None
    nonfacility_pe_rvu: float | None = None
    nonfacility_na: bool = False
    facility_pe_rvu: float | None = None
    facility_na: bool = False
    mp_rvu: float | None = None
    nonfacility_total: float | None = None
    facility_total: float | None = None
    pre_op: float | None = None
    intra_op: float | None = None
    post_op: float | None = None
    assistant: str = ""
    co_surgeons: str = ""
    team: str = ""
    conversion_factor: float | None = None
    supervision: str = ""
    imaging_family: str = ""


# column positions in the CSV (0-based), from the header row "HCPCS,MOD,DESCRIPTION,CODE,..."
_RVU_HEADER = {0: "HCPCS", 1: "MOD", 2: "DESCRIPTION", 3: "CODE", 13: "IND", 14: "DAYS",
               18: "PROC", 19: "SURG", 20: "SURG", 21: "SURG", 22: "SURG", 23: "BASE",
               24: "FACTOR"}
_GLOBAL = re.compile(r"^(\d{3}|XXX|YYY|ZZZ|MMM)$")
_INDICATOR = re.compile(r"^[0-9]?$")


def _rvu(text: str) -> float:
    value = float(text) if text.strip() else 0.0
    if value < 0 or value > 9999:
        raise ValueError(text)
    return value


def parse_rvu(lines: Iterable[str], label: str) -> Iterator[RvuRow]:
    """PPRRVU CSV: title lines, a header spread over four lines ending in 'HCPCS,MOD,...',
    then one row per code and modifier (columns as in the RVU file's record layout):
    status, the "not used for Medicare payment" flag, work / non-facility PE / facility PE /
    malpractice RVUs with the NA flags, the two totals, PC/TC, global days with the pre-,
    intra- and post-operative shares, multiple procedure, bilateral, assistant, co-surgeon,
    team, endoscopic base code, conversion factor, supervision and imaging family."""
    reader = csv.reader(lines)
    for record in reader:
        if record and record[0].strip().upper() == "HCPCS":
            bad = [i for i, name in _RVU_HEADER.items()
                   if i >= len(record) or record[i].strip().upper() != name]
            if bad:
                raise _err(label, reader.line_num,
                           "the RVU header HCPCS,MOD,DESCRIPTION,CODE,... (31 columns)",
                           ",".join(record))
            break
        if reader.line_num > 20:
            raise _err(label, reader.line_num, "the RVU header line starting 'HCPCS,MOD'",
                       ",".join(record))
    else:
        raise _err(label, reader.line_num, "the RVU header line starting 'HCPCS,MOD'",
                   "end of file")
    for record in reader:
        if not any(record):
            continue
        try:
            if len(record) < 28 or len(record[0]) != 5 or not _GLOBAL.match(record[14]):
                raise ValueError
            r = [c.strip() for c in record]
            if not all(_INDICATOR.match(r[i]) for i in (13, 18, 19, 20, 21, 22)):
                raise ValueError
            cf = _rvu(r[24]) if r[24] else None
            yield RvuRow(
                code=record[0], modifier=r[1], description=r[2], status=r[3], pctc=r[13],
                global_days=record[14], mult_proc=r[18], bilat=r[19], endo_base=r[23],
                not_used_for_medicare=r[4] == "+",
                work_rvu=_rvu(r[5]), nonfacility_pe_rvu=_rvu(r[6]),
                nonfacility_na=r[7].upper() == "NA", facility_pe_rvu=_rvu(r[8]),
                facility_na=r[9].upper() == "NA", mp_rvu=_rvu(r[10]),
                nonfacility_total=_rvu(r[11]), facility_total=_rvu(r[12]),
                pre_op=_rvu(r[15]), intra_op=_rvu(r[16]), post_op=_rvu(r[17]),
                assistant=r[20], co_surgeons=r[21], team=r[22], conversion_factor=cf,
                supervision=r[25], imaging_family=r[27],
            )
        except ValueError:
            raise _err(label, reader.line_num,
                       "31 comma-separated fields: HCPCS, MOD, DESCRIPTION, STATUS, ..., RVUs "
                       "as numbers, GLOB DAYS (000/010/090/XXX/YYY/ZZZ/MMM) in column 15, "
                       "one-digit indicators", ",".join(record)
                       ) from None
