"""Case2Code: from a coder's narrative to the right code.

    suggest(text, kb, limit=10) -> SuggestResult

Pure apart from reading the KB: the narrative's clinical sentences are split into procedure and
diagnosis phrases (``phrases``), each is ranked against the KB's Case2Code index (``rank``),
procedures against CPT and HCPCS and diagnoses against ICD-10-CM; the numbers and qualifiers of
the narrative pick the specific code (``qualifiers``); a narrative of several procedures gives a
coding, with the codes an NCCI PTP edit bundles noted rather than listed (``coding``). Below a
confidence floor nothing is suggested and ``abstained`` says why.
"""

from __future__ import annotations

from consult.kb.store import KnowledgeBase
from consult.suggest.coding import FLOOR, suggest
from consult.suggest.model import BundleNote, Candidate, SuggestResult
from consult.suggest.phrases import clinical_lines, split_phrases


def lay_description(kb: KnowledgeBase, code: str) -> str:
    """The project's lay description of a CPT code from the KB's Case2Code index ('' if none
    or if the KB was built without the index)."""
    try:
        row = kb._conn().execute("SELECT lay FROM c2c_lay WHERE code = ?", (code,)).fetchone()
    except Exception:  # sqlite3.OperationalError on a KB without the table
        return ""
    return str(row[0]) if row else ""

__all__ = [
    "FLOOR",
    "BundleNote",
    "Candidate",
    "KnowledgeBase",
    "SuggestResult",
    "clinical_lines",
    "lay_description",
    "split_phrases",
    "suggest",
]
