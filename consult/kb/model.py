"""Records the knowledge base answers with. Plain frozen data; the store builds them from rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class SourceVersion:
    """Which release of a source the KB was built from (cited in every answer)."""

    name: str  # e.g. ncci_ptp_practitioner, mue_practitioner, aoc, hcpcs, rvu, icd10cm, starter
    version: str  # e.g. "30.1", "2026Q2", "FY2026"
    effective: str  # ISO date or quarter the release is effective from
    file: str = ""
    rows: int = 0

    def citation(self) -> str:
        """E.g. "CMS NCCI PTP edits (practitioner) v30.1, effective 2024-04-01"."""
        eff = f", effective {self.effective}" if self.effective else ""
        version = self.version
        if version.startswith("starter-"):
            version = f"starter subset {version.removeprefix('starter-')}"
        elif version[:1].isdigit():
            version = f"v{version}"
        return f"{self.label()} {version}{eff}"

    def label(self) -> str:
        return source_label(self.name)


SOURCE_LABELS = {
    "ncci_ptp_practitioner": "CMS NCCI PTP edits (practitioner)",
    "ncci_ptp_hospital": "CMS NCCI PTP edits (outpatient hospital)",
    "mue_practitioner": "CMS NCCI MUE (practitioner)",
    "mue_hospital": "CMS NCCI MUE (outpatient hospital)",
    "mue_dme": "CMS NCCI MUE (DME supplier)",
    "aoc": "CMS NCCI add-on code edits",
    "hcpcs": "CMS HCPCS Level II",
    "rvu": "CMS Medicare PFS relative value file",
    "icd10cm": "ICD-10-CM tabular list",
    "cpt": "Licensed CPT descriptor file",
    "starter": "consult starter knowledge base (project notes)",
    "modifiers": "consult modifier notes (project's own words)",
    "guidelines": "consult guideline notes (project's own words)",
    "code_history": "consult code history (deleted and replaced codes)",
}


def source_label(name: str) -> str:
    """A readable label for any source name, including payer PTP tables (``ptp_<payer>``)."""
    if name in SOURCE_LABELS:
        return SOURCE_LABELS[name]
    if name.startswith("ptp_"):
        return f"PTP edits ({name[4:]})"
    return name


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """A code as the KB knows it.

    ``status`` is ``active``, ``deleted`` (CPT) or ``terminated`` (HCPCS), or ``header`` for an
    ICD-10-CM category that is not billable. ``replaced_by`` lists what to report instead.
    """

    system: str  # CPT | HCPCS | ICD10CM | ICD10PCS | MOD
    code: str
    description: str
    status: str = "active"
    billable: bool = True
    effective_date: date | None = None
    end_date: date | None = None
    replaced_by: tuple[str, ...] = ()
    source: str = ""
    lay_description: str = ""  # the project's own plain-language wording, when it has one

    def status_note(self) -> str:
        """One sentence a coder must hear first when the code is no longer valid ('' if valid)."""
        if self.status not in ("deleted", "terminated"):
            return ""
        when = f" (last valid {self.end_date.isoformat()})" if self.end_date else ""
        instead = (
            f"; report {' or '.join(self.replaced_by)} instead" if self.replaced_by
            else "; the KB records no replacement"
        )
        return f"{self.code} is {self.status}{when}{instead}."

    def valid_on(self, on: date | None) -> bool:
        """True when the code may be reported on ``on`` (None: today's status)."""
        if on is None:
            return self.status in ("active", "header")
        if self.effective_date and on < self.effective_date:
            return False
        return not (self.end_date and on > self.end_date)


@dataclass(frozen=True, slots=True)
class PtpEdit:
    """One NCCI procedure-to-procedure edit: ``column2`` is not paid with ``column1``.

    ``modifier_indicator``: "0" never together, "1" allowed with a modifier when the services are
    distinct, "9" not applicable (deleted edit).
    """

    column1: str
    column2: str
    modifier_indicator: str
    rationale: str
    effective_date: date | None
    deletion_date: date | None
    setting: str = "practitioner"
    source: str = ""

    def in_force(self, on: date | None) -> bool:
        if on is None:
            return self.deletion_date is None
        if self.effective_date and on < self.effective_date:
            return False
        return not (self.deletion_date and on > self.deletion_date)


@dataclass(frozen=True, slots=True)
class Mue:
    """Medically unlikely edit: the most units of ``code`` one provider bills on one date."""

    code: str
    setting: str  # practitioner | hospital | dme
    value: int
    adjudication: str  # "1 Line Edit", "2 Date of Service Edit: Policy", ...
    rationale: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class AddonRule:
    """An add-on code and the primary codes it may be reported with."""

    addon: str
    edit_type: str  # "1", "2", "3"
    primaries: tuple[str, ...]
    note: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class PfsInfo:
    """Medicare physician fee schedule facts for a code (RVU file)."""

    code: str
    status: str
    global_days: str  # 000, 010, 090, XXX, YYY, ZZZ, MMM
    mult_proc: str
    pctc: str = ""
    bilat: str = ""
    endo_base: str = ""
    source: str = ""


@dataclass(frozen=True, slots=True)
class ModifierInfo:
    """A modifier with its meaning and usage notes, in the project's own words."""

    code: str
    description: str
    usage: str = ""
    applies_to: str = ""  # e.g. "E/M", "procedure", "any"


@dataclass(frozen=True, slots=True)
class IcdNote:
    """An ICD-10-CM instructional note on a code (inherited notes carry ``from_code``)."""

    code: str
    kind: str  # excludes1 | excludes2 | includes | inclusion_term | code_first | use_additional
    # | code_also | note | seventh_char ("A: initial encounter ...") | seventh_char_note
    text: str
    refs: tuple[str, ...] = ()  # resolved code references: "K21", "K20-K21", "K21.-"
    from_code: str = ""


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A candidate code for a narrative, best first by ``score``."""

    system: str
    code: str
    description: str
    score: float
    matched: tuple[str, ...] = field(default=())
