"""What every rule sees: the extraction, the KB, and the facts derived once from both.

The date a rule judges against is the line's own date of service, else the mail's labelled
date of service, else the mail's date (``received``); the rule says which one it used, because
an edit's dates decide the answer. Lines that the mail puts on different dates, or in
different alternative codings ("A or B?"), are never judged as one claim.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import TypeVar

from consult.extract.lines import story_of
from consult.extract.model import CodeMention, Extraction, ServiceLine, Visit
from consult.kb.store import KnowledgeBase

PROCEDURE_SYSTEMS = frozenset({"CPT", "HCPCS"})
#: Distinct codes analysed per mail: pair rules are quadratic, and no real question names more.
MAX_CODES = 40

#: Words in the sender's setting that mean the hospital (OPPS) tables apply.
_HOSPITAL_WORDS = ("hospital", "outpatient", "facility", "opps", "asc", "ed ", "emergency")


def ptp_setting(setting: str | None) -> str:
    """Map the sender's free-text setting to a KB table: ``hospital`` or ``practitioner``."""
    text = f"{(setting or '').lower()} "
    return "hospital" if any(w in text for w in _HOSPITAL_WORDS) else "practitioner"


@dataclass(frozen=True, slots=True)
class RuleContext:
    """Inputs shared by all rules. Built once per evaluation; rules never mutate it (its
    memos, ``said`` and ``told``, only keep what ``says`` and ``story`` found)."""

    extraction: Extraction
    kb: KnowledgeBase
    on: date | None
    date_basis: str  # "date of service" | "mail date" | "" (no date at all)
    setting: str  # practitioner | hospital
    mentions: tuple[CodeMention, ...] = field(default=())
    lines: tuple[ServiceLine, ...] = field(default=())
    #: Codes beyond ``MAX_CODES`` that were not analysed.
    skipped: tuple[str, ...] = field(default=())
    received: date | None = None
    #: The first line of each code, for ``line``: rules ask it ~140 times per mail.
    first_line: dict[str, ServiceLine] = field(default_factory=dict)
    #: The first mention of each code, for ``mention``.
    first_mention: dict[str, CodeMention] = field(default_factory=dict)
    #: The mail's question and narrative: the text most rules read, joined once per mail.
    text: str = ""
    #: ``text`` in lower case when it is ASCII, else None: for ``may_say``.
    folded: str | None = None
    #: The CPT/HCPCS and the ICD-10-CM ones among ``mentions``, split once per mail.
    procedure_mentions: tuple[CodeMention, ...] = field(default=())
    diagnosis_mentions: tuple[CodeMention, ...] = field(default=())
    #: The question types the mail's parts ask, for ``asks``.
    asked: frozenset[str] = frozenset()
    #: Memo of ``says``: pattern -> whether it matches ``text`` (several rules ask per code).
    said: dict[re.Pattern[str], bool] = field(default_factory=dict)
    #: Memo of ``story``: a question part's text -> its patient's story.
    told: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls, extraction: Extraction, kb: KnowledgeBase, received: date | None = None
    ) -> RuleContext:
        if extraction.date_of_service:
            on, basis = extraction.date_of_service, "date of service"
        else:
            dated = sorted({ln.date_of_service for ln in extraction.service_lines
                            if ln.date_of_service})
            if len(dated) == 1:
                on, basis = dated[0], "date of service"
            elif received:
                on, basis = received, "mail date"
            else:
                on, basis = None, ""
        mentions = unique_mentions(extraction.codes_in())
        kept = mentions[:MAX_CODES]
        skipped = tuple(m.code for m in mentions[MAX_CODES:])
        codes = {m.code for m in kept}
        given = extraction.service_lines or [
            ServiceLine(m.code, m.system, list(m.modifiers), m.units,
                        extraction.date_of_service, where=m.where)
            for m in kept if m.system in PROCEDURE_SYSTEMS
        ]
        lines = [ln for ln in given if ln.code in codes]
        text = f"{extraction.question} {extraction.narrative}"
        return cls(
            extraction=extraction,
            kb=kb,
            on=on,
            date_basis=basis,
            setting=ptp_setting(extraction.setting),
            mentions=tuple(kept),
            lines=tuple(lines),
            skipped=skipped,
            received=received,
            first_line=_first_by_code(lines),
            first_mention=_first_by_code(kept),
            text=text,
            folded=fold(text),
            procedure_mentions=tuple(m for m in kept if m.system in PROCEDURE_SYSTEMS),
            diagnosis_mentions=tuple(m for m in kept if m.system == "ICD10CM"),
            asked=frozenset(p.type for p in extraction.parts),
        )

    @property
    def procedures(self) -> list[CodeMention]:
        """CPT and HCPCS mentions, first mention of each code only."""
        return list(self.procedure_mentions)

    @property
    def diagnoses(self) -> list[CodeMention]:
        return list(self.diagnosis_mentions)

    def asks(self, *types: str) -> bool:
        """Whether one of the mail's question parts is of one of ``types``."""
        return not self.asked.isdisjoint(types)

    def says(self, rx: re.Pattern[str], needs: tuple[str, ...] = ()) -> bool:
        """Whether ``rx`` matches the mail's ``text``: searched once per mail and pattern,
        since rules ask the same words for each code. ``needs``: lower-case words one of
        which every match of ``rx`` holds; a text with none of them is not searched."""
        hit = self.said.get(rx)
        if hit is None:
            hit = self.said[rx] = (not needs or self.may_say(*needs)) and \
                rx.search(self.text) is not None
        return hit

    def may_say(self, *words: str) -> bool:
        """``may_contain`` for the mail's ``text``."""
        return self.folded is None or any(w in self.folded for w in words)

    def story(self, needle: str) -> str:
        """``story_of(narrative, needle)``, found once per mail and part: the code-family
        checks and the answers both ask it of every part."""
        found = self.told.get(needle)
        if found is None:
            found = self.told[needle] = story_of(self.extraction.narrative, needle)
        return found

    def has_line(self, *codes: str) -> bool:
        """Whether the mail has a line of any of ``codes``."""
        return not self.first_line.keys().isdisjoint(codes)

    def mention(self, code: str) -> CodeMention | None:
        return self.first_mention.get(code)

    def line(self, code: str) -> ServiceLine | None:
        """The first line of ``code`` (a code the mail dates twice has two lines)."""
        return self.first_line.get(code)

    @property
    def visits(self) -> list[Visit]:
        return self.extraction.visits

    def modifiers_on(self, code: str) -> list[str]:
        """The modifiers the sender applied to ``code`` (offered choices excluded)."""
        line = self.line(code)
        if line is not None:
            return [x.upper() for x in line.modifiers]
        mods: list[str] = []
        for m in self.extraction.codes_in():
            if m.code == code:
                mods.extend(x.upper() for x in m.modifiers if x.upper() not in mods)
        return mods

    def modifier_options(self, code: str) -> list[str]:
        """Modifiers the sender offers as a choice for ``code`` ("25 or 57?")."""
        line = self.line(code)
        return list(line.modifier_options) if line else []

    def date_of(self, code: str) -> date | None:
        """The date a code's line is judged on: its own, else the mail's."""
        line = self.line(code)
        if line is not None and line.date_of_service is not None:
            return line.date_of_service
        if line is not None and line.days_after is not None:
            return None
        return self.on

    def apart(self, a: str | ServiceLine, b: str | ServiceLine) -> bool:
        """Whether two lines are alternatives of each other ("A or B?") or of two patients
        the mail asks about: never one claim, never in each other's global period."""
        la = self.line(a) if isinstance(a, str) else a
        lb = self.line(b) if isinstance(b, str) else b
        if la and lb and la.patient is not None and lb.patient is not None \
                and la.patient != lb.patient:
            return True
        return bool(la and lb and la.option is not None and lb.option is not None
                    and la.option != lb.option)

    def same_claim(self, a: str | ServiceLine, b: str | ServiceLine) -> bool:
        """Whether two procedure lines can be on one claim for one date of service."""
        la = self.line(a) if isinstance(a, str) else a
        lb = self.line(b) if isinstance(b, str) else b
        if la is None or lb is None:
            return True
        if self.apart(la, lb):
            return False
        if la.date_of_service and lb.date_of_service:
            return la.date_of_service == lb.date_of_service
        if la.days_after is not None or lb.days_after is not None:
            return (la.days_after or 0) == (lb.days_after or 0)
        return not self.extraction.different_days

    def claim_pairs(self) -> list[tuple[ServiceLine, ServiceLine]]:
        """Pairs of lines of different codes that can be on one claim, each pair once."""
        out: list[tuple[ServiceLine, ServiceLine]] = []
        seen: set[tuple[str, str]] = set()
        for i, a in enumerate(self.lines):
            for b in self.lines[i + 1:]:
                key = tuple(sorted((a.code, b.code)))
                if a.code == b.code or key in seen or not self.same_claim(a, b):
                    continue
                seen.add(key)  # type: ignore[arg-type]
                out.append((a, b))
        return out

    def date_phrase(self) -> str:
        """E.g. ``on 2024-05-01 (date of service)``; empty when no date is known."""
        return f"on {self.on.isoformat()} ({self.date_basis})" if self.on else "currently"


@lru_cache(maxsize=64)
def fold(text: str) -> str | None:
    """``text`` in lower case when it is ASCII, else None (see ``may_contain``). Cached: the
    code-family checks ask it of the same few texts (a part, its story) many times."""
    return text.lower() if text.isascii() else None


def may_contain(text: str, words: tuple[str, ...]) -> bool:
    """False only when ``text`` holds none of ``words`` (lower case) in any case: lets a
    rule skip a case-insensitive pattern each match of which holds one of them. Always True
    for a non-ASCII text, where such a pattern can match letters that ``lower()`` does not
    fold to ASCII (the Kelvin sign, the long s)."""
    low = fold(text)
    return low is None or any(w in low for w in words)


_Coded = TypeVar("_Coded", ServiceLine, CodeMention)


def _first_by_code(items: Sequence[_Coded]) -> dict[str, _Coded]:
    """Each code's first item, so a lookup by code is a dict access, not a scan."""
    out: dict[str, _Coded] = {}
    for item in items:
        out.setdefault(item.code, item)
    return out


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
