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
        if self.name.startswith("mcd_"):
            return f"{self.label()} as of {self.effective or self.version}"
        eff = f", effective {self.effective}" if self.effective else ""
        version = self.version
        if version.startswith("starter-"):
            version = f"starter subset {version.removeprefix('starter-')}"
        elif version[:1].isdigit():
            version = f"v{version}"
        return f"{self.label()} {version}{eff}"

    def label(self) -> str:
        return source_label(self.name)

    def period(self) -> tuple[str, date | None, date | None]:
        """(label, first day, last day) of the period the table is for: "2026 Q2" for the
        quarterly CMS tables, "FY2026" for ICD-10-CM, "as of 2025-08-17" for coverage
        snapshots; ("", None, None) for the project's own notes (see consult.kb.currency)."""
        from consult.kb.currency import period

        return period(self)


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
    "mcd_documents": "CMS Medicare Coverage Database list of current LCDs and articles",
    "mcd_articles": "CMS Medicare Coverage Database billing articles and code lists",
    "mcd_lcds": "CMS Medicare Coverage Database LCDs",
    "mac_jurisdictions": "consult MAC jurisdiction table (project data from CMS notices)",
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
    action: str = ""  # HCPCS action code of the newest release (A add, D discontinue, ...)
    action_date: date | None = None  # HCPCS action effective date

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
    """Medicare physician fee schedule facts for one code and modifier (one RVU file row).

    Indicators are kept as the file writes them ("A", "090", "3", ...); ``consult.kb.pfs_terms``
    says what each value means. RVUs and the conversion factor are ``None`` when the KB holds
    only the indicators (a starter row without values). A row with ``modifier`` "26", "TC" or
    "53" is the file's separate row for that component or for a discontinued procedure.
    """

    code: str
    status: str
    global_days: str  # 000, 010, 090, XXX, YYY, ZZZ, MMM
    mult_proc: str  # 0-7, 9; 3 = endoscopy family rule (see endo_base)
    pctc: str = ""  # 0-9
    bilat: str = ""  # 0, 1, 2, 3, 9
    endo_base: str = ""
    source: str = ""
    modifier: str = ""  # "", "26", "TC", "53"
    assistant: str = ""  # 0, 1, 2, 9
    co_surgeons: str = ""  # 0, 1, 2, 9
    team: str = ""  # 0, 1, 2, 9
    not_used_for_medicare: bool = False  # the file's "+" flag: RVUs shown but not used
    work_rvu: float | None = None
    nonfacility_pe_rvu: float | None = None
    nonfacility_na: bool = False  # the file's NA: rarely or never done outside a facility
    facility_pe_rvu: float | None = None
    facility_na: bool = False
    mp_rvu: float | None = None
    nonfacility_total: float | None = None
    facility_total: float | None = None
    pre_op: float | None = None  # share of the global package before the procedure (0.10)
    intra_op: float | None = None
    post_op: float | None = None
    conversion_factor: float | None = None
    supervision: str = ""  # physician supervision of diagnostic tests (01, 02, 03, 09, ...)
    imaging_family: str = ""  # 88 = imaging reductions apply, 99 = not applicable
    version: str = ""  # RVU release, e.g. RVU25D

    @property
    def payment_nonfacility(self) -> float | None:
        """National non-facility amount: total non-facility RVUs x conversion factor, to the
        cent (no geographic adjustment). None without RVUs or a conversion factor."""
        return national_payment(self.nonfacility_total, self.conversion_factor)

    @property
    def payment_facility(self) -> float | None:
        """National facility amount: total facility RVUs x conversion factor, to the cent."""
        return national_payment(self.facility_total, self.conversion_factor)

    @property
    def payable(self) -> bool:
        """True when Medicare uses the RVUs of this row for payment (status A, R or T)."""
        return self.status in ("A", "R", "T")

    @property
    def global_shares(self) -> tuple[float, float, float] | None:
        """(pre, intra, post) shares of the global package; None when the file gives none."""
        if self.pre_op is None or self.intra_op is None or self.post_op is None:
            return None
        if self.pre_op == self.intra_op == self.post_op == 0:
            return None
        return (self.pre_op, self.intra_op, self.post_op)


@dataclass(frozen=True, slots=True)
class EndoscopyFamily:
    """Endoscopies that share a base code (the RVU file's ENDO BASE): the multiple endoscopy
    rule prices them as one family; the base (diagnostic) code is not paid with a member."""

    base: str
    members: tuple[str, ...]  # the codes whose ENDO BASE is ``base``, sorted (base excluded)
    source: str = ""

    def __contains__(self, code: object) -> bool:
        return code == self.base or code in self.members


def national_payment(total_rvu: float | None, conversion_factor: float | None) -> float | None:
    """RVUs x conversion factor rounded half up to the cent, computed in decimal arithmetic so
    0.43 x 32.3465 gives 13.91 exactly as a hand calculation does."""
    from decimal import ROUND_HALF_UP, Decimal

    if total_rvu is None or conversion_factor is None:
        return None
    amount = Decimal(repr(total_rvu)) * Decimal(repr(conversion_factor))
    return float(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


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


# -- drug doses (HCPCS) ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DoseUnit:
    """The billing unit of a drug code, read from its HCPCS long descriptor.

    "Injection, ceftriaxone sodium, per 250 mg" -> kind "per", amount "250", unit "mg";
    "..., up to 10 mg" -> kind "up_to". One billing unit is ``amount`` of ``unit`` (or any
    part of it, for "up to"). ``dimension`` groups convertible units: mass (mcg, mg, g),
    volume (ml), unit (units, IU), activity (mCi, uCi), meq, area (sq cm), count (dose, vial).
    ``amount`` is decimal text so 0.1 mg stays exact.
    """

    code: str
    kind: str  # per | up_to
    amount: str
    unit: str  # canonical spelling: mg, mcg, g, ml, unit, iu, mci, uci, meq, sq cm, dose, vial
    dimension: str
    text: str  # the words of the descriptor the unit was read from, e.g. "per 250 mg"

    def label(self) -> str:
        """E.g. "per 250 mg", "up to 10 mg"."""
        return f"{'up to' if self.kind == 'up_to' else 'per'} {self.amount} {self.unit}"


@dataclass(frozen=True, slots=True)
class StatedDose:
    """A dose as a mail states it ("dexamethasone 8 mg", "1 g ceftriaxone")."""

    amount: str  # decimal text
    unit: str  # canonical spelling, as in ``DoseUnit.unit``
    dimension: str
    text: str  # the words it was read from


@dataclass(frozen=True, slots=True)
class UnitConversion:
    """Billing units for a stated dose of a drug code.

    ``status``: "ok" (``units`` set), "incompatible" (the dose is in another dimension than the
    code's unit, e.g. ml against mg), "no_dose_unit" (the code's descriptor states no unit the
    KB can read), "unknown_code", "no_dose" (no dose found in the text). ``note`` says it in a
    sentence. Units round up: a part of a billing unit is billed as a whole one (``exact`` is
    False then, and ``note`` says so).
    """

    code: str
    status: str
    units: int | None = None
    dose: StatedDose | None = None
    dose_unit: DoseUnit | None = None
    exact: bool = True
    note: str = ""


# -- ICD-10-CM helpers ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CombinationHint:
    """The tabular list points from a pair of codes to one code that may report both.

    E.g. K20.9 with K21.9: the Excludes1 note on K20 names "reflux esophagitis (K21.0-)", so
    ``suggested`` is "K21.0-" (a code and everything below it). ``note_code`` carries the note
    (an ancestor of one of the codes, or a code in the same block), ``kind`` is the note's kind.
    """

    codes: tuple[str, str]
    suggested: str
    note_code: str
    kind: str
    text: str


# -- coverage (Medicare Coverage Database) --------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MacJurisdiction:
    """A Medicare Administrative Contractor jurisdiction: who processes claims for which states.

    ``kind``: "AB" (Part A and B), "DME", "HHH" (home health and hospice). Project data, in
    ``starter/mac_jurisdictions.csv``.
    """

    jurisdiction: str  # JE, JF, J5, ..., DME A-D, HHH J6 ...
    contractor: str  # company, e.g. "Noridian Healthcare Solutions, LLC"
    kind: str
    states: tuple[str, ...]  # two-letter postal codes


@dataclass(frozen=True, slots=True)
class CoverageDocument:
    """An LCD or a billing article of the Medicare Coverage Database.

    ``states`` are where it applies. ``states_exact`` is True when they come from the MCD's
    own contractor-jurisdiction table; False when the KB only knows the contractor company
    (the document list) and took the states that company serves from the project's MAC data
    (a company serving two jurisdictions may have written the document for one of them).
    """

    doc_id: str  # display id: L36668 (LCD), A52840 (article)
    kind: str  # LCD | Article
    title: str
    contractors: tuple[str, ...]
    version: str = ""
    effective_date: date | None = None
    retired_date: date | None = None
    updated: date | None = None
    url: str = ""
    states: tuple[str, ...] = ()
    states_exact: bool = False
    source: str = ""

    def in_force(self, on: date | None) -> bool:
        """True when the document applies on ``on`` (None: not retired)."""
        if on is None:
            return self.retired_date is None
        if self.effective_date and on < self.effective_date:
            return False
        return not (self.retired_date and on > self.retired_date)


@dataclass(frozen=True, slots=True)
class CoverageLookup:
    """Documents found for a question, with whether the KB could look at all.

    ``loaded`` is False when the table the lookup needs is not in the KB (e.g. no MCD code
    lists: the KB cannot say which articles list a code); ``note`` then says so plainly.
    """

    documents: tuple[CoverageDocument, ...]
    loaded: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class DiagnosisCoverage:
    """Whether a diagnosis is in a covered or non-covered group of an article.

    ``status``: "covered", "noncovered", "not_listed" (the article has ICD-10-CM lists and the
    code is in none), "no_lists" (the article has no ICD-10-CM list in the KB), "not_loaded"
    (the KB holds no MCD code lists at all), "unknown_document".
    """

    doc_id: str
    code: str
    status: str
    groups: tuple[str, ...] = ()
    note: str = ""
    source: str = ""


# -- currency -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TableCurrency:
    """Whether one KB table covers a date of service.

    ``status``: "covers" (the date falls in the table's period), "after" (the date is later
    than the period: the answer comes from the newest table the KB holds), "before" (the table
    took effect after the date), "undated" (project notes, or no effective date known), and
    "current" when no date was asked about. ``note`` is the sentence an answer can use.
    """

    name: str
    label: str
    version: str
    period: str  # "2024 Q2", "FY2026", "as of 2025-08-17", ""
    effective: date | None
    through: date | None
    status: str
    note: str = ""
