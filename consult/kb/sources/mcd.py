"""The CMS Medicare Coverage Database (MCD): LCDs, billing articles and their code lists.

Two kinds of input:

1. The MCD downloads (``current_article_csv.zip``, ``current_lcd_csv.zip``; CMS also ships
   them inside an outer ``current_article.zip`` / ``current_lcd.zip``, which is read too).
   Relational CSV files with a header row, columns as in the CMS MCD data dictionary:

   - ``article.csv``: article_id, article_version, title, display_id, article_eff_date,
     article_end_date, date_retired, last_updated, status, ...
   - ``article_x_hcpc_code.csv``: article_id, article_version, hcpc_code_id, hcpc_code_version,
     hcpc_code_group, range, last_updated, long_description, short_description
   - ``article_x_icd10_covered.csv``: article_id, article_version, icd10_code_id,
     icd10_code_version, icd10_covered_group, range, last_updated, sort_order, description,
     asterisk
   - ``article_x_icd10_noncovered.csv``: the same with icd10_noncovered_group
   - ``article_x_contractor.csv`` / ``lcd_x_contractor.csv``: the document id and version,
     contractor_id, contractor_type_id, contractor_version, last_updated
   - ``lcd.csv``: lcd_id, lcd_version, title, display_id, orig_det_eff_date, rev_eff_date,
     ent_det_end_date, date_retired, last_updated, status, ...
   - ``contractor.csv``: contractor_id, contractor_type_id, contractor_version,
     contractor_bus_name, contractor_number, ...
   - ``contractor_jurisdiction.csv``: contractor_id, contractor_type_id, contractor_version,
     state_id, last_updated, active_date, term_date; ``state_lookup.csv``: state_id,
     state_abbrev, description; ``contractor_type_lookup.csv``: contractor_type_id,
     description (the last three optional: without them a document's states come from the
     project's MAC jurisdiction data)
   - optional: ``lcd_x_hcpc_code.csv``, ``article_related_documents.csv`` (r_lcd_id).

   Only the newest version of each document is kept. CPT codes in the code lists are AMA
   copyright: they stay in the KB file, never in the repository.

2. A list of current documents, one row per LCD or article (``mcd_documents_YYYY-MM-DD.csv``):
   contractor_name_type, document_display_id, document_id, document_type, document_version,
   effective_date (MM/DD/YYYY), note, retirement_date ("N/A" or a date), title, updated_on,
   updated_on_sort, url. The contractor cell names the company and its types ("Noridian
   Healthcare Solutions, LLC\\n(MAC - Part A, MAC - Part B)"), several separated by blank lines.

Every reader checks the header it expects and raises ``SourceFileError`` with the file, the
line and what was expected at the first row it cannot read.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from consult.errors import SourceFileError
from consult.kb.icd_codes import normalize as icd_normalize
from consult.kb.sources.files import SourceFile

#: An MCD zip may not unpack to more than this (checked before reading a byte of it).
MAX_ZIP_BYTES = 4 << 30
#: The list of documents may not be larger than this.
MAX_LIST_BYTES = 64 << 20

csv.field_size_limit(64 << 20)  # article.csv holds whole HTML documents in single fields


def _err(label: str, line: int, expected: str, got: object) -> SourceFileError:
    shown = got if isinstance(got, str) else repr(got)
    return SourceFileError(f"{label}, line {line}: expected {expected}; got {shown[:120]!r}")


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M:%S",
                 "%Y-%m-%dT%H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%d-%b-%y", "%d-%b-%Y")


def mcd_date(text: str) -> str:
    """An MCD date in any of the forms CMS writes (ISO, MM/DD/YYYY, with or without a time)
    as ISO text; '' for empty or "N/A". ValueError on anything else."""
    t = text.strip()
    if not t or t.upper() in ("N/A", "NA", "NULL"):
        return ""
    t = t.split(".")[0]  # fractional seconds
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(t, fmt).date().isoformat()
        except ValueError:
            continue
    raise ValueError(text)


@dataclass
class McdDocument:
    """One LCD or article as the KB stores it."""

    doc_id: str  # display id: L36668, A52840
    kind: str  # LCD | Article
    number: str
    version: str
    title: str
    contractors: list[tuple[str, str]] = field(default_factory=list)  # (company, types text)
    effective: str = ""
    retired: str = ""
    updated: str = ""
    url: str = ""
    note: str = ""  # the list's note, e.g. "Future(Notice Ends 09/06/2025)"
    states: set[str] = field(default_factory=set)  # from the MCD's contractor jurisdictions


@dataclass
class McdBundle:
    """What one MCD zip (or the document list) holds, ready for the KB."""

    kind: str  # article | lcd | list
    documents: dict[tuple[str, str], McdDocument] = field(default_factory=dict)
    # (doc_id, version) -> document: a document may have a current and a future version
    codes: list[tuple[str, str, str, str]] = field(default_factory=list)
    # (code, doc_id, version, group)
    icd: list[tuple[str, str, str, int, str]] = field(default_factory=list)
    # (doc_id, version, icd code, 1 covered / 0 non-covered, group)
    related: list[tuple[str, str]] = field(default_factory=list)  # (article doc_id, lcd doc_id)
    as_of: str = ""  # newest last_updated date in the file, ISO


def doc_url(kind: str, number: str, version: str) -> str:
    page = "lcd.aspx?lcdid" if kind == "LCD" else "article.aspx?articleid"
    return f"https://www.cms.gov/medicare-coverage-database/view/{page}={number}&ver={version}"


# -- the list of current documents ----------------------------------------------------------------
LIST_COLUMNS = ["contractor_name_type", "document_display_id", "document_id", "document_type",
                "document_version", "effective_date", "note", "retirement_date", "title",
                "updated_on", "updated_on_sort", "url"]
_CONTRACTOR = re.compile(r"([^()]+?)\s*\(([^()]*)\)")


def contractors_of(cell: str) -> list[tuple[str, str]]:
    """'Noridian ..., LLC\\n(MAC - Part A, MAC - Part B)' -> [('Noridian ..., LLC',
    'MAC - Part A, MAC - Part B')]; several contractors in one cell give several pairs."""
    text = " ".join(cell.split())
    found = [(m.group(1).strip(" ,"), m.group(2).strip()) for m in _CONTRACTOR.finditer(text)]
    if not found and text:
        found = [(text, "")]
    return found


def parse_documents_list(lines: Iterable[str], label: str) -> McdBundle:
    """The list of current LCDs and articles (layout in the module docstring)."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    if header is None or [h.strip().lower() for h in header] != LIST_COLUMNS:
        raise _err(label, 1, "the header " + ",".join(LIST_COLUMNS),
                   ",".join(header or ["(empty file)"]))
    bundle = McdBundle("list")
    for record in reader:
        if not any(record):
            continue
        try:
            if len(record) != len(LIST_COLUMNS):
                raise ValueError("fields")
            row = dict(zip(LIST_COLUMNS, record, strict=True))
            kind = row["document_type"].strip()
            doc_id = row["document_display_id"].strip().upper()
            if kind not in ("LCD", "Article") or not re.fullmatch(r"[LA]\d{4,6}", doc_id):
                raise ValueError("type")
            if (kind == "LCD") != doc_id.startswith("L"):
                raise ValueError("id")
            updated = mcd_date(row["updated_on"])
            doc = McdDocument(
                doc_id=doc_id, kind=kind, number=row["document_id"].strip(),
                version=row["document_version"].strip(), title=" ".join(row["title"].split()),
                contractors=contractors_of(row["contractor_name_type"]),
                effective=mcd_date(row["effective_date"]),
                retired=mcd_date(row["retirement_date"]), updated=updated,
                url=row["url"].strip(), note=" ".join(row["note"].split()),
            )
        except ValueError:
            raise _err(label, reader.line_num,
                       "12 fields: contractor, display id (L#### for an LCD, A#### for an "
                       "article), id, type LCD/Article, version, dates MM/DD/YYYY or N/A, "
                       "title, updated, url", ",".join(record)) from None
        bundle.documents[(doc_id, doc.version)] = doc
        bundle.as_of = max(bundle.as_of, updated)
    if not bundle.documents:
        raise _err(label, reader.line_num, "at least one document row", "none")
    return bundle


# -- the MCD download zips ------------------------------------------------------------------------
ARTICLE_FILES = {
    "article.csv": ("article_id", "article_version", "title"),
    "article_x_hcpc_code.csv": ("article_id", "article_version", "hcpc_code_id",
                                "hcpc_code_group"),
    "article_x_icd10_covered.csv": ("article_id", "article_version", "icd10_code_id",
                                    "icd10_covered_group"),
    "article_x_icd10_noncovered.csv": ("article_id", "article_version", "icd10_code_id",
                                       "icd10_noncovered_group"),
    "article_x_contractor.csv": ("article_id", "article_version", "contractor_id",
                                 "contractor_type_id", "contractor_version"),
    "contractor.csv": ("contractor_id", "contractor_type_id", "contractor_version",
                       "contractor_bus_name"),
}
LCD_FILES = {
    "lcd.csv": ("lcd_id", "lcd_version", "title"),
    "lcd_x_contractor.csv": ("lcd_id", "lcd_version", "contractor_id", "contractor_type_id",
                             "contractor_version"),
    "contractor.csv": ("contractor_id", "contractor_type_id", "contractor_version",
                       "contractor_bus_name"),
}
OPTIONAL_FILES = {
    "contractor_jurisdiction.csv": ("contractor_id", "contractor_type_id", "contractor_version",
                                    "state_id"),
    "state_lookup.csv": ("state_id", "state_abbrev"),
    "contractor_type_lookup.csv": ("contractor_type_id", "description"),
    "lcd_x_hcpc_code.csv": ("lcd_id", "lcd_version", "hcpc_code_id"),
    "article_related_documents.csv": ("article_id", "article_version", "r_lcd_id"),
}


class _Zip:
    """The CSV members of an MCD zip, also when they sit in an inner ``*_csv.zip``."""

    def __init__(self, sf: SourceFile) -> None:
        self.label = sf.label
        data = sf.seekable()
        try:
            zf = zipfile.ZipFile(data)
            names = {self._base(n): n for n in zf.namelist() if not n.endswith("/")}
            inner = next((n for b, n in names.items()
                          if b.endswith(".zip") and "csv" in b), None)
            if inner and not any(b.endswith(".csv") for b in names):
                self._check(zf)
                zf = zipfile.ZipFile(io.BytesIO(zf.read(inner)))
                self.label = f"{sf.label}:{self._base(inner)}"
                names = {self._base(n): n for n in zf.namelist() if not n.endswith("/")}
            self._check(zf)
        except zipfile.BadZipFile as exc:
            raise SourceFileError(f"{sf.label}: not a valid zip file ({exc}). Download it "
                                  "again.") from exc
        self.zf = zf
        self.names = names

    @staticmethod
    def _base(name: str) -> str:
        return name.rsplit("/", 1)[-1].lower()

    def _check(self, zf: zipfile.ZipFile) -> None:
        total = sum(i.file_size for i in zf.infolist())
        if total > MAX_ZIP_BYTES:
            raise SourceFileError(
                f"{self.label}: unpacks to {total / 1e9:.1f} GB, more than the "
                f"{MAX_ZIP_BYTES / 1e9:.1f} GB an MCD download may hold. Check the file.")

    def has(self, name: str) -> bool:
        return name in self.names

    def rows(self, name: str, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
        """(line, row) of one member, columns by name; the header must hold ``required``."""
        label = f"{self.label}:{name}"
        if name not in self.names:
            raise SourceFileError(f"{self.label}: has no {name}. Expected the MCD download "
                                  "layout (see the CMS MCD data dictionary).")
        raw = self.zf.read(self.names[name])
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="strict")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise _err(label, 1, "a header with " + ", ".join(required), ",".join(header))
        for record in reader:
            if not any(record):
                continue
            if len(record) != len(header):
                raise _err(label, reader.line_num, f"{len(header)} fields as in the header",
                           ",".join(record))
            yield reader.line_num, dict(zip(header, record, strict=True))


def _contractors(z: _Zip) -> tuple[dict[tuple[str, str, str], tuple[str, str]],
                                   dict[tuple[str, str, str], set[str]]]:
    """(contractor key -> (company, type text), contractor key -> states) from the zip."""
    types: dict[str, str] = {}
    if z.has("contractor_type_lookup.csv"):
        for _n, r in z.rows("contractor_type_lookup.csv",
                            OPTIONAL_FILES["contractor_type_lookup.csv"]):
            types[r["contractor_type_id"].strip()] = r["description"].strip()
    names: dict[tuple[str, str, str], tuple[str, str]] = {}
    for _n, r in z.rows("contractor.csv", ARTICLE_FILES["contractor.csv"]):
        key = (r["contractor_id"].strip(), r["contractor_type_id"].strip(),
               r["contractor_version"].strip())
        number = r.get("contractor_number", "").strip()
        kind = types.get(key[1], "")
        kind = f"{kind}; contractor {number}" if number and kind else kind or (
            f"contractor {number}" if number else "")
        names[key] = (" ".join(r["contractor_bus_name"].split()), kind)
    states: dict[tuple[str, str, str], set[str]] = {}
    if z.has("contractor_jurisdiction.csv") and z.has("state_lookup.csv"):
        abbrev = {r["state_id"].strip(): r["state_abbrev"].strip().upper()
                  for _n, r in z.rows("state_lookup.csv", OPTIONAL_FILES["state_lookup.csv"])}
        for _n, r in z.rows("contractor_jurisdiction.csv",
                            OPTIONAL_FILES["contractor_jurisdiction.csv"]):
            if r.get("term_date", "").strip():
                continue
            key = (r["contractor_id"].strip(), r["contractor_type_id"].strip(),
                   r["contractor_version"].strip())
            st = abbrev.get(r["state_id"].strip())
            if st:
                states.setdefault(key, set()).add(st)
    return names, states


def _versions(rows: Iterable[tuple[int, dict[str, str]]], id_col: str, ver_col: str,
              label: str) -> Iterator[tuple[int, dict[str, str]]]:
    for n, r in rows:
        ident, ver = r[id_col].strip(), r[ver_col].strip()
        if not ident.isdigit() or not ver.isdigit():
            raise _err(label, n, f"numeric {id_col} and {ver_col}", f"{ident},{ver}")
        yield n, r


def parse_mcd_zip(sf: SourceFile, kind: str) -> McdBundle:
    """Read an article or LCD download zip (``kind`` "article" or "lcd")."""
    z = _Zip(sf)
    prefix = "article" if kind == "article" else "lcd"
    files = ARTICLE_FILES if kind == "article" else LCD_FILES
    for name in files:
        if not z.has(name):
            raise SourceFileError(
                f"{z.label}: has no {name}. An MCD {prefix} download holds "
                + ", ".join(files) + " (CMS MCD data dictionary).")
    bundle = McdBundle(kind)
    label = f"{z.label}:{prefix}.csv"
    doc_kind = "Article" if kind == "article" else "LCD"
    letter = "A" if kind == "article" else "L"
    keep: dict[tuple[str, str], tuple[str, str]] = {}  # (id, version) -> (display id, version)
    for n, r in _versions(z.rows(f"{prefix}.csv", files[f"{prefix}.csv"]), f"{prefix}_id",
                          f"{prefix}_version", label):
        ident, ver = r[f"{prefix}_id"].strip(), r[f"{prefix}_version"].strip()
        display = (r.get("display_id") or "").strip().upper() or f"{letter}{ident}"
        try:
            if kind == "article":
                effective = mcd_date(r.get("article_eff_date", ""))
                ended = mcd_date(r.get("date_retired", "")) or mcd_date(
                    r.get("article_end_date", ""))
            else:
                effective = mcd_date(r.get("rev_eff_date", "")) or mcd_date(
                    r.get("orig_det_eff_date", ""))
                ended = mcd_date(r.get("date_retired", "")) or mcd_date(
                    r.get("ent_det_end_date", ""))
            updated = mcd_date(r.get("last_updated", ""))
        except ValueError as exc:
            raise _err(label, n, "dates as YYYY-MM-DD or MM/DD/YYYY (a time may follow)",
                       str(exc)) from None
        keep[(ident, ver)] = (display, ver)
        bundle.documents[(display, ver)] = McdDocument(
            doc_id=display, kind=doc_kind, number=ident, version=ver,
            title=" ".join(r["title"].split()), effective=effective, retired=ended,
            updated=updated, url=doc_url(doc_kind, ident, ver))
        bundle.as_of = max(bundle.as_of, updated)

    def doc_of(r: dict[str, str]) -> tuple[str, str] | None:
        return keep.get((r[f"{prefix}_id"].strip(), r[f"{prefix}_version"].strip()))

    names, states = _contractors(z)
    link = f"{prefix}_x_contractor.csv"
    for n, r in z.rows(link, files[link]):
        doc = doc_of(r)
        if doc is None:
            continue
        key = (r["contractor_id"].strip(), r["contractor_type_id"].strip(),
               r["contractor_version"].strip())
        if key not in names:
            raise _err(f"{z.label}:{link}", n, "a contractor listed in contractor.csv",
                       ",".join(key))
        bundle.documents[doc].contractors.append(names[key])
        bundle.documents[doc].states |= states.get(key, set())

    code_file = f"{prefix}_x_hcpc_code.csv"
    if kind == "article" or z.has(code_file):
        cols = ARTICLE_FILES.get(code_file) or OPTIONAL_FILES[code_file]
        for n, r in z.rows(code_file, cols):
            doc = doc_of(r)
            code = r["hcpc_code_id"].strip().upper()
            if doc is None:
                continue
            if not re.fullmatch(r"[A-Z0-9]{4}[A-Z0-9]", code):
                raise _err(f"{z.label}:{code_file}", n, "a 5-character HCPCS/CPT code", code)
            bundle.codes.append((code, *doc, r.get("hcpc_code_group", "").strip()))

    if kind == "article":
        for name, covered, group_col in (
            ("article_x_icd10_covered.csv", 1, "icd10_covered_group"),
            ("article_x_icd10_noncovered.csv", 0, "icd10_noncovered_group"),
        ):
            for n, r in z.rows(name, ARTICLE_FILES[name]):
                doc = doc_of(r)
                if doc is None:
                    continue
                raw = r["icd10_code_id"].strip().upper()
                if not re.fullmatch(r"[A-Z][0-9][0-9A-Z]\.?[0-9A-Z]{0,4}", raw):
                    raise _err(f"{z.label}:{name}", n, "an ICD-10-CM code (e.g. E11.9)", raw)
                bundle.icd.append((*doc, icd_normalize(raw), covered, r[group_col].strip()))
        if z.has("article_related_documents.csv"):
            for _n, r in z.rows("article_related_documents.csv",
                                OPTIONAL_FILES["article_related_documents.csv"]):
                doc = doc_of(r)
                lcd = r["r_lcd_id"].strip()
                if doc is not None and lcd.isdigit():
                    bundle.related.append((doc[0], f"L{lcd}"))
    return bundle


def check_list_size(sf: SourceFile) -> None:
    size = sf.path.stat().st_size if not sf.member else 0
    if size > MAX_LIST_BYTES:
        raise SourceFileError(f"{sf.label}: {size / 1e6:.0f} MB is more than a list of "
                              "coverage documents should be. Check the file.")


def list_lines(sf: SourceFile) -> Iterator[str]:
    """Lines of the document list (UTF-8, as the MCD exports write it)."""
    check_list_size(sf)
    return sf.lines("utf-8")
