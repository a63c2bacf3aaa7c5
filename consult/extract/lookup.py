"""KB lookups for one extraction call, cached, and usable without a KB at all.

Extraction asks the same few questions many times (is K22.2 known? is J1100?); one dict per call
keeps that to one indexed query per distinct code, with no state shared between mails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from consult.extract.normalize import icd10cm_parents

if TYPE_CHECKING:
    from consult.kb.model import CodeInfo
    from consult.kb.store import KnowledgeBase


class CodeLookup:
    """``info(code, system)`` memoised over one call; every answer is None without a KB."""

    __slots__ = ("_cache", "_kb")

    def __init__(self, kb: KnowledgeBase | None) -> None:
        self._kb = kb
        self._cache: dict[tuple[str, str], CodeInfo | None] = {}

    @property
    def has_kb(self) -> bool:
        return self._kb is not None

    def info(self, code: str, system: str) -> CodeInfo | None:
        """The KB record for ``code`` in ``system`` (None when unknown or there is no KB)."""
        key = (code, system)
        if key in self._cache:
            return self._cache[key]
        found = self._kb.code(code, system) if self._kb is not None else None
        self._cache[key] = found
        return found

    def known(self, code: str, system: str) -> bool:
        return self.info(code, system) is not None

    def icd_parent_known(self, code: str) -> bool:
        """True when a code above ``code`` is known (the KB may lack 7th-character codes)."""
        return any(self.known(p, "ICD10CM") for p in icd10cm_parents(code))
