"""What extraction finds in a mail: plain data, serialisable as ``consult extract --json``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

CodeSystem = Literal["CPT", "HCPCS", "ICD10CM", "ICD10PCS"]
Where = Literal["subject", "body", "attachment", "forwarded", "quoted"]
#: Places whose codes are the sender's question (quoted history is only context).
ASKED: tuple[Where, ...] = ("subject", "body", "attachment", "forwarded")
QuestionType = Literal[
    "bill_together", "which_modifier", "which_code", "units", "code_validity", "diagnosis",
    "global_period", "payment", "coverage", "payer_policy", "documentation", "other",
]
PayerClass = Literal["medicare", "medicare_advantage", "medicaid", "commercial"]


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

    def copy(self) -> CodeMention:
        """What ``copy.copy`` gives (the same values, the modifiers list shared) in one
        constructor call: ``copy.copy`` asks a slotted object for its state generically, a few
        microseconds a mention, and extraction copies every mention it reads lines from."""
        return CodeMention(self.system, self.code, self.modifiers, self.units, self.where,
                           self.known, self.description, self.start, self.end)


@dataclass(frozen=True, slots=True)
class PhiSpan:
    """A stretch of text that identifies a patient; ``where`` names the text it indexes into.

    ``start``/``end`` are offsets into: ``subject`` -> ``mail.subject``, ``body`` ->
    ``mail.text``, ``quoted`` and ``forwarded`` -> ``mail.quoted`` (a forwarded question is a
    span of the quoted text), ``attachment`` -> ``mail.attachment_text``.
    ``kind`` is one of name, dob, mrn, ssn, phone, address, email.
    """

    kind: str  # name | dob | mrn | ssn | phone | address | email | other
    where: Where
    start: int
    end: int


@dataclass(slots=True)
class ServiceLine:
    """One procedure line as the coder described it: the code with its own date of service.

    ``date_of_service`` is None when the mail gives none for this line; ``days_after`` is set
    instead when the mail says only how long after the surgery it was ("six weeks post-op").
    ``option`` numbers the alternative coding the line belongs to (None: part of every one);
    ``modifier_options`` are modifiers the coder offers as a choice ("25 or 57?"), not applied.
    ``patient`` numbers the patient (or case) of a mail that asks about several ("Pt A: ...",
    "Breast surgeon: ..." then "Ophthalmology: ..."): lines of different patients are never
    one claim and never in each other's global period (None: the mail has one).
    """

    code: str
    system: CodeSystem
    modifiers: list[str] = field(default_factory=list)
    units: int | None = None
    date_of_service: date | None = None
    days_after: int | None = None
    option: int | None = None
    modifier_options: list[str] = field(default_factory=list)
    where: Where = "body"
    patient: int | None = None
    #: The sentence the code stands in (what the mail says of this service).
    context: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "system": self.system,
            "modifiers": list(self.modifiers),
            "units": self.units if self.units is not None else 1,
            "date_of_service": self.date_of_service.isoformat() if self.date_of_service else None,
            "days_after": self.days_after,
            "option": self.option,
            "modifier_options": list(self.modifier_options),
        }


@dataclass(frozen=True, slots=True)
class Visit:
    """A dated visit the mail describes without a code ("5/12: back for a wound check")."""

    date_of_service: date | None
    days_after: int | None
    context: str

    def to_json(self) -> dict[str, Any]:
        return {"date_of_service": self.date_of_service.isoformat()
                if self.date_of_service else None, "days_after": self.days_after}


@dataclass(frozen=True, slots=True)
class Alternative:
    """A choice the coder offers: codes ("G0121 or 45378?"), modifiers on one code ("25 or
    57?") or whole codings ("option 1 ... option 2 ..."). ``options`` lists each choice."""

    kind: Literal["codes", "modifiers", "codings"]
    options: tuple[tuple[str, ...], ...]
    code: str = ""  # for modifier choices: the code they would go on

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "options": [list(o) for o in self.options],
                "code": self.code or None}


@dataclass(slots=True)
class QuestionPart:
    """One question the mail asks, typed so the draft can answer each in turn."""

    text: str
    type: QuestionType
    codes: list[str] = field(default_factory=list)
    modifiers: list[str] = field(default_factory=list)
    #: Dates the part itself names ("can we bill an E/M on 5/12?").
    dates: list[date] = field(default_factory=list)


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
    payer_class: PayerClass | None = None
    #: True when the sender's own text is a cover note and the forwarded mail below it is
    #: the question (its codes are ``where="forwarded"``).
    forwarded: bool = False
    service_lines: list[ServiceLine] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)
    parts: list[QuestionPart] = field(default_factory=list)
    #: The mail says the services were on different days but gives no dates.
    different_days: bool = False

    def codes_in(self, *wheres: str) -> list[CodeMention]:
        """Codes standing in the given places (default: everything but quoted history)."""
        allowed = set(wheres) if wheres else set(ASKED)
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
            "payer_class": self.payer_class,
            "forwarded": self.forwarded,
            "service_lines": [line.to_json() for line in self.service_lines],
            "visits": [v.to_json() for v in self.visits],
            "alternatives": [a.to_json() for a in self.alternatives],
            "phi": [asdict(p) for p in self.phi],
        }
