"""What every rule sees: the extraction, the KB, and the facts derived once from both.

The date a rule judges against is the sender's date of service, else the mail's date
(``received``); the rule says which one it used, because an edit's dates decide the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from consult.extract.model import CodeMention, Extraction
from consult.kb.store import KnowledgeBase

PROCEDURE_SYSTEMS = frozenset({"CPT", "HCPCS"})

#: Words in the sender's setting that mean the hospital (OPPS) tables apply.
_HOSPITAL_WORDS = ("hospital", "outpatient", "facility", "opps", "asc", "ed ", "emergency")


def ptp_setting(setting: str | None) -> str:
    """Map the sender's free-text setting to a KB table: ``hospital`` or ``practitioner``."""
    text = f"{(setting or '').lower()} "
    return "hospital" if any(w in text for w in _HOSPITAL_WORDS) else "practitioner"


@dataclass(frozen=True, slots=True)
class RuleContext:
    """Inputs shared by all rules. Built once per evaluation; rules never mutate it."""

    extraction: Extraction
    kb: KnowledgeBase
    on: date | None
    date_basis: str  # "date of service" | "mail date" | "" (no date at all)
    setting: str  # practitioner | hospital
    mentions: tuple[CodeMention, ...] = field(default=())

    @classmethod
    def build(
        cls, extraction: Extraction, kb: KnowledgeBase, received: date | None = None
    ) -> RuleContext:
        if extraction.date_of_service:
            on, basis = extraction.date_of_service, "date of service"
        elif received:
            on, basis = received, "mail date"
        else:
            on, basis = None, ""
        return cls(
            extraction=extraction,
            kb=kb,
            on=on,
            date_basis=basis,
            setting=ptp_setting(extraction.setting),
            mentions=tuple(unique_mentions(extraction.codes_in())),
        )

    @property
    def procedures(self) -> list[CodeMention]:
        """CPT and HCPCS mentions, first mention of each code only."""
        return [m for m in self.mentions if m.system in PROCEDURE_SYSTEMS]

    @property
    def diagnoses(self) -> list[CodeMention]:
        return [m for m in self.mentions if m.system == "ICD10CM"]

    def mention(self, code: str) -> CodeMention | None:
        return next((m for m in self.mentions if m.code == code), None)

    def modifiers_on(self, code: str) -> list[str]:
        """Every modifier the sender attached to ``code`` anywhere in the mail (not quoted)."""
        mods: list[str] = []
        for m in self.extraction.codes_in():
            if m.code == code:
                mods.extend(x.upper() for x in m.modifiers if x.upper() not in mods)
        return mods

    def date_phrase(self) -> str:
        """E.g. ``on 2024-05-01 (date of service)``; empty when no date is known."""
        return f"on {self.on.isoformat()} ({self.date_basis})" if self.on else "currently"


def unique_mentions(mentions: list[CodeMention]) -> list[CodeMention]:
    """One mention per (system, code), merging modifiers and keeping the first stated units."""
    seen: dict[tuple[str, str], CodeMention] = {}
    order: list[tuple[str, str]] = []
    for m in mentions:
        key = (m.system, m.code)
        if key not in seen:
            seen[key] = CodeMention(
                system=m.system, code=m.code, modifiers=list(m.modifiers), units=m.units,
                where=m.where, known=m.known, description=m.description, start=m.start, end=m.end,
            )
            order.append(key)
            continue
        first = seen[key]
        first.modifiers.extend(x for x in m.modifiers if x not in first.modifiers)
        if first.units is None:
            first.units = m.units
    return [seen[k] for k in order]
