"""What extraction finds in a mail: plain data, serialisable as ``consult extract --json``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

CodeSystem = Literal["CPT", "HCPCS", "ICD10CM", "ICD10PCS"]
Where = Literal["subject", "body", "attachment", "quoted"]


@dataclass(slots=True)
class CodeMention:
    """One code the sender wrote, with what was attached to it.

    ``code`` is normalised (ICD-10-CM with the dot, upper case). ``known`` says whether the KB
    knows the code; ``description`` is the KB's description when it does.
    """

    system: CodeSystem
    code: str
    modifiers: list[str] = field(default_factory=list)
    units: int | None = None
    where: Where = "body"
    known: bool = False
    description: str = ""
    start: int = -1
    end: int = -1

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "code": self.code,
            "modifiers": list(self.modifiers),
            "units": self.units if self.units is not None else 1,
            "where": self.where,
            "known": self.known,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class PhiSpan:
    """A stretch of text that identifies a patient; ``where`` names the text it indexes into.

    ``start``/``end`` are offsets into: ``subject`` -> ``mail.subject``, ``body`` ->
    ``mail.text``, ``quoted`` -> ``mail.quoted``, ``attachment`` -> ``mail.attachment_text``.
    ``kind`` is one of name, dob, mrn, ssn, phone, address, email.
    """

    kind: str  # name | dob | mrn | ssn | phone | address | email | other
    where: Where
    start: int
    end: int


@dataclass(slots=True)
class Extraction:
    """Everything extraction finds in one mail.

    ``CodeMention.units`` is None when the sender stated no units (``to_json`` prints 1), so
    findings can ask for them. ``setting`` is a plain word (office, ASC, hospital outpatient,
    inpatient ...); ``place_of_service`` the two-digit POS code when one was written.
    """

    codes: list[CodeMention] = field(default_factory=list)
    question: str = ""
    date_of_service: date | None = None
    payer: str | None = None
    setting: str | None = None
    narrative: str = ""
    phi: list[PhiSpan] = field(default_factory=list)
    place_of_service: str | None = None

    def codes_in(self, *wheres: str) -> list[CodeMention]:
        """Codes standing in the given places (default: everything but quoted history)."""
        allowed = set(wheres) if wheres else {"subject", "body", "attachment"}
        return [c for c in self.codes if c.where in allowed]

    def to_json(self, kind: str) -> dict[str, Any]:
        return {
            "kind": kind,
            "codes": [c.to_json() for c in self.codes],
            "question": self.question,
            "date_of_service": self.date_of_service.isoformat() if self.date_of_service else None,
            "payer": self.payer,
            "setting": self.setting,
            "place_of_service": self.place_of_service,
            "phi": [asdict(p) for p in self.phi],
        }
