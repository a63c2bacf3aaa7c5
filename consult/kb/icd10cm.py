"""ICD-10-CM into the KB, from the ``simple-icd-10-cm`` package (official CDC tabular list).

The package parses a 9.7 MB XML when imported (seconds), so it is used only here, while
building; at run time the KB answers. What is stored:

- every code (chapters and blocks only in ``icd_tree``): billable or header, description;
  codes with a 7th character are stored expanded (S52.521A), as the package lists them;
- ``icd_tree``: each code's ancestors, nearest first, so notes written on a category or block
  apply to every code below it without copying them;
- ``icd_notes``: Excludes1, Excludes2, includes, inclusion terms, code first, use additional,
  code also, notes and 7th-character definitions, each with its code references resolved
  (``consult.kb.icd_refs``).
"""

from __future__ import annotations

import re
import sqlite3
from importlib import metadata

from consult.errors import MissingExtra
from consult.kb.icd_refs import parse_refs
from consult.kb.model import SourceVersion

ICD_VERSION = "FY2026"
ICD_EFFECTIVE = "2025-10-01"


def _package_version() -> str:
    try:
        return metadata.version("simple-icd-10-cm")
    except metadata.PackageNotFoundError:  # pragma: no cover - it is a dependency
        return "unknown"


_BARE = re.compile(r"\b([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?)(\.?-)?(?![0-9A-Z.])")
_INCLUDING = ("includes", "inclusion_term", "note")


def note_refs(notes: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str, str]]:
    """(referenced category, code carrying the note, kind, reference, text) for every code a
    note names: the parsed references, and for includes and inclusion terms also codes written
    without parentheses ("any condition in N18 ... due to hypertension"). A range is indexed
    under its category when both ends share one."""
    out = []
    for code, kind, text, refs in notes:
        found = [r for r in refs.split(",") if r]
        if kind in _INCLUDING:
            found += [m.group(1) + (m.group(2) or "") for m in _BARE.finditer(text)]
        for ref in dict.fromkeys(found):
            lo, _sep, hi = ref.removesuffix(".-").removesuffix("-").partition("-")
            if hi and hi[:3] != lo[:3]:
                continue
            out.append((lo[:3], code, kind, ref, text))
    return out


def load_icd10cm(
    conn: sqlite3.Connection,
) -> tuple[SourceVersion, list[tuple[str, str]], set[str]]:
    """Load every code, the hierarchy and the notes.

    Returns the source record, (code, search terms) pairs for the suggestion index (the
    inclusion terms of a code, so a narrative in other words still finds it), and the codes
    that only add a 7th character: the index leaves those out (51,000 near-duplicates would
    make a search for "fracture" slow and crowd out the codes a coder picks from).
    """
    try:
        import simple_icd_10_cm as cm
    except ImportError as exc:
        raise MissingExtra("kb", "simple-icd-10-cm", "Building a knowledge base") from exc

    codes = []
    tree = []
    notes: list[tuple[str, str, str, str]] = []
    terms: dict[str, list[str]] = {}
    extended: set[str] = set()

    def note(code: str, kind: str, text: str) -> None:
        text = text.strip()
        if text:
            notes.append((code, kind, text, ",".join(parse_refs(text))))

    for code in cm.get_all_codes(with_dots=True):
        description = cm.get_description(code)
        heading = cm.is_chapter_or_block(code)
        # codes keep their description in ``codes``; only chapters and blocks need it here
        tree.append((code, description if heading else "", ",".join(cm.get_ancestors(code))))
        if not heading:
            if cm.is_extended_subcategory(code):
                extended.add(code)
            billable = cm.is_leaf(code)
            codes.append((code, "ICD10CM", description, "active" if billable else "header",
                          int(billable), "icd10cm"))
        for kind, getter in (("excludes1", cm.get_excludes1), ("excludes2", cm.get_excludes2),
                             ("includes", cm.get_includes)):
            for text in getter(code):
                note(code, kind, text)
        inclusion = cm.get_inclusion_term(code)
        for text in inclusion:
            note(code, "inclusion_term", text)
        if inclusion:
            terms[code] = list(inclusion)
        for kind, getter in (("code_first", cm.get_code_first),
                             ("use_additional", cm.get_use_additional_code),
                             ("code_also", cm.get_code_also), ("note", cm.get_notes)):
            value = getter(code)
            for text in [value] if isinstance(value, str) else value:
                note(code, kind, text)
        for char, meaning in cm.get_seven_chr_def(code).items():
            note(code, "seventh_char", f"{char}: {' '.join(meaning.split())}")
        note(code, "seventh_char_note", cm.get_seven_chr_note(code))

    conn.executemany(
        "INSERT OR REPLACE INTO codes(code, system, description, status, billable, source) "
        "VALUES (?,?,?,?,?,?)",
        codes,
    )
    conn.executemany("INSERT OR REPLACE INTO icd_tree VALUES (?,?,?)", tree)
    conn.executemany("INSERT INTO icd_notes VALUES (?,?,?,?)", notes)
    conn.executemany("INSERT INTO icd_note_refs VALUES (?,?,?,?,?)", note_refs(notes))
    source = SourceVersion(
        "icd10cm", ICD_VERSION, ICD_EFFECTIVE, f"simple-icd-10-cm {_package_version()}",
        len(codes),
    )
    return source, [(c, " ; ".join(t)) for c, t in terms.items()], extended
