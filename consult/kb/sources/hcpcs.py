"""HCPCS Level II (the CMS alpha-numeric "ANWEB" file) and licensed CPT descriptor files.

HCPCS fixed-width text (record layout ``HCPC20xx_recordlayout.txt``, 1-based positions): code
1-5, sequence 6-10, record id 11 (3 = procedure, 4 = its continuation, 7 = modifier, 8 = its
continuation), long description 12-91, short description 92-119, up to five cross-reference
codes 205-229 (5 characters each: the current code a deleted or not-valid-for-Medicare code
crosswalks to), coverage code 230 (C, D, I, M, S), added 269-276, action effective 277-284,
termination 285-292 (YYYYMMDD), action code 293 (A add, B/C/F/S/T changes, D discontinue,
N none, P payment change, R reactivate).
Older files start with disclaimer lines and have 91-character continuation records.
The xlsx form has one row per record with the same fields under named columns.

CPT descriptor file (licensed from the AMA; the project never ships one). Expected layout: a
text file named ``cpt*.txt`` or ``cpt*.tsv``, UTF-8 (Latin-1 accepted), one code per line:
``CODE<TAB>DESCRIPTOR``; an optional first line ``code<TAB>description``; blank lines ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from consult.errors import SourceFileError
from consult.kb.sources.files import load_openpyxl


@dataclass
class HcpcsRecord:
    """One procedure code or modifier, continuation lines joined."""

    code: str
    is_modifier: bool
    long: str
    short: str = ""
    xref: str = ""  # the first cross-reference code (kept for callers that want one)
    added: str = ""  # ISO
    action_effective: str = ""
    terminated: str = ""
    action: str = ""
    xrefs: tuple[str, ...] = ()  # every cross-reference code, in file order
    coverage: str = ""  # C carrier judgment, D special instructions, I not payable, M/S not
    # covered (by Medicare / by statute)

    @property
    def status(self) -> str:
        return "terminated" if self.terminated else "active"


def _iso(ymd: str) -> str:
    ymd = ymd.strip()
    if not ymd:
        return ""
    if not re.fullmatch(r"\d{8}", ymd):
        raise ValueError(ymd)
    return f"{ymd[:4]}-{ymd[4:6]}-{ymd[6:]}"


def _err(label: str, line: int, expected: str, got: str) -> SourceFileError:
    return SourceFileError(f"{label}, line {line}: expected {expected}; got {got[:120]!r}")


_EXPECTED = ("a fixed-width HCPCS record: code (1-5), sequence digits (6-10), record id 3/4/7/8 "
             "(11); 320 characters for records 3 and 7")


def parse_hcpcs_text(lines: Iterable[str], label: str) -> Iterator[HcpcsRecord]:
    """The fixed-width ANWEB file; yields one record per code or modifier."""
    current: HcpcsRecord | None = None
    started = False
    for n, line in enumerate(lines, 1):
        text = line.rstrip("\r\n\x1a")
        if not text.strip():
            continue
        rid = text[10] if len(text) > 10 else ""
        ok = len(text) >= 11 and text[5:10].isdigit() and rid in "3478"
        if ok and rid in "37" and len(text) < 293:
            ok = False
        if not ok:
            if not started and n <= 20:
                continue  # disclaimer lines before the first record
            raise _err(label, n, _EXPECTED, text)
        started = True
        code = text[:5].strip()
        desc = text[11:91].strip()
        if rid in "37":
            if current:
                yield current
            try:
                xrefs = tuple(x for x in (text[i:i + 5].strip() for i in range(204, 229, 5))
                              if x)
                current = HcpcsRecord(
                    code=code, is_modifier=rid == "7", long=desc, short=text[91:119].strip(),
                    xref=xrefs[0] if xrefs else "", added=_iso(text[268:276]),
                    action_effective=_iso(text[276:284]), terminated=_iso(text[284:292]),
                    action=text[292].strip(), xrefs=xrefs, coverage=text[229].strip(),
                )
            except ValueError:
                raise _err(label, n, "dates YYYYMMDD or blanks in positions 269-292",
                           text[268:292]) from None
        else:
            if current is None or current.code != code:
                raise _err(label, n, f"a continuation of {current.code if current else 'a code'}",
                           text)
            current.long = f"{current.long} {desc}".strip()
    if current:
        yield current
    if not started:
        raise _err(label, 0, _EXPECTED, "no records")


_XLSX_NAMES = {
    "code": ("hcpc", "hcpcs"), "recid": ("recid",), "long": ("long description",),
    "short": ("short description",), "xref": ("xref1",), "xref2": ("xref2",),
    "xref3": ("xref3",), "xref4": ("xref4",), "xref5": ("xref5",), "coverage": ("cov",),
    "added": ("add dt",),
    "action_effective": ("act eff dt",), "terminated": ("term dt",), "action": ("action cd",),
}


def parse_hcpcs_xlsx(fh: object, label: str) -> tuple[bool, Iterator[HcpcsRecord]]:
    """(has status columns, records) from the xlsx form; columns found by their names."""
    openpyxl = load_openpyxl()

    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)  # type: ignore[arg-type]
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise SourceFileError(f"{label}: not a readable xlsx workbook ({exc})") from exc
    rows = wb.worksheets[0].iter_rows(values_only=True)
    header = [str(c or "").strip().lower() for c in next(rows, ())]
    cols = {k: next((header.index(n) for n in names if n in header), -1)
            for k, names in _XLSX_NAMES.items()}
    if min(cols["code"], cols["recid"], cols["long"]) < 0:
        raise _err(label, 1, "a header row with HCPC, RECID and LONG DESCRIPTION",
                   ", ".join(header))
    full = cols["terminated"] >= 0

    def records() -> Iterator[HcpcsRecord]:
        current: HcpcsRecord | None = None
        for n, values in enumerate(rows, 2):
            def get(key: str, values: tuple = values) -> str:
                i = cols[key]
                v = values[i] if 0 <= i < len(values) else None
                if isinstance(v, float) and v.is_integer():
                    v = int(v)
                return "" if v is None else str(v).strip()

            if not any(v not in (None, "") for v in values):
                continue
            rid = get("recid")
            code = get("code")
            if rid not in ("3", "4", "7", "8") or not code:
                raise _err(label, n, "record id 3/4/7/8 and a code", f"{code} {rid}")
            if rid in ("3", "7"):
                if current:
                    yield current
                try:
                    xrefs = tuple(x for x in (get(k) for k in ("xref", "xref2", "xref3",
                                                                "xref4", "xref5")) if x)
                    current = HcpcsRecord(
                        code=code, is_modifier=rid == "7", long=get("long"),
                        short=get("short"), xref=xrefs[0] if xrefs else "",
                        added=_iso(get("added")),
                        action_effective=_iso(get("action_effective")),
                        terminated=_iso(get("terminated")), action=get("action"),
                        xrefs=xrefs, coverage=get("coverage"),
                    )
                except ValueError:
                    raise _err(label, n, "dates YYYYMMDD", get("terminated")) from None
            elif current is not None and current.code == code:
                current.long = f"{current.long} {get('long')}".strip()
        if current:
            yield current
        wb.close()

    return full, records()


@dataclass(frozen=True)
class CptRow:
    code: str
    descriptor: str


_CPT = re.compile(r"^\d{4}[0-9FTMU]$")


def parse_cpt(lines: Iterable[str], label: str) -> Iterator[CptRow]:
    """The licensed CPT descriptor file (layout in the module docstring)."""
    for n, line in enumerate(lines, 1):
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        code, tab, descriptor = text.partition("\t")
        code = code.strip().lstrip("\ufeff")
        if n == 1 and code.lower() in ("code", "cpt", "cpt code", "hcpcs"):
            continue
        if not tab or not _CPT.match(code) or not descriptor.strip():
            raise _err(label, n, "CODE<TAB>DESCRIPTOR with a 5-character CPT code", text)
        yield CptRow(code, " ".join(descriptor.split()))
