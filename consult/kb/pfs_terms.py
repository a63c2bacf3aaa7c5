"""What the Medicare PFS relative value file's indicators mean, in the project's own words.

Written by the project from the CMS record layout (RVU25D, "National Physician Fee Schedule
Relative Value File", Attachment A and the data record), shortened and reworded; the citation
for each meaning is that document. Pure data and small lookups: no KB, no I/O.
"""

from __future__ import annotations

#: Status code: is the code on the fee schedule, and is it paid separately when covered?
STATUS = {
    "A": "active: paid separately under the fee schedule when covered (no national coverage "
         "decision is implied; the MAC decides coverage)",
    "B": "bundled: never paid separately; payment is part of the service it goes with, even "
         "if RVUs are shown",
    "C": "contractor priced: the MAC sets the amount, usually case by case from the records",
    "D": "deleted at the start of the year",
    "E": "excluded from the fee schedule by regulation; when covered it is paid another way",
    "F": "deleted or discontinued without a grace period",
    "G": "not valid for Medicare; Medicare uses another code for this service (grace period)",
    "H": "deleted modifier row: the 26 or TC component of the prior year was dropped",
    "I": "not valid for Medicare; Medicare uses another code for this service (no grace "
         "period)",
    "J": "anesthesia service: no RVUs or amounts on this file",
    "M": "measurement code: reported for quality reporting only, not paid",
    "N": "not covered by Medicare",
    "P": "bundled or excluded: no separate payment; bundled when incident to a physician "
         "service that day, otherwise paid outside the fee schedule",
    "R": "restricted coverage: special coverage rules; contractor priced when covered",
    "T": "injection paid only when no other fee schedule service is billed by the same "
         "provider on the same date; otherwise bundled into that service",
    "X": "statutory exclusion: not a physician service under the fee schedule (e.g. "
         "ambulance, clinical lab); no fee schedule payment",
}

#: PC/TC indicator: can the service be split into professional and technical parts?
PCTC = {
    "0": "physician service: no professional/technical split; modifiers 26 and TC do not "
         "apply",
    "1": "diagnostic test with professional and technical components: 26 and TC may be used",
    "2": "professional-component-only code (a separate code covers the technical part and "
         "another the whole test); 26 and TC do not apply",
    "3": "technical-component-only code (or a test covered only as a diagnostic test); 26 and "
         "TC do not apply",
    "4": "global-test-only code: separate codes exist for the professional and the technical "
         "parts; 26 and TC do not apply",
    "5": "incident-to service: paid only in the office setting under direct supervision, not "
         "for hospital patients; 26 and TC do not apply",
    "6": "laboratory physician interpretation: the interpretation is paid here, the test under "
         "the lab fee schedule; TC does not apply",
    "7": "physical therapy service not paid when an independent therapist provides it to a "
         "hospital patient",
    "8": "physician interpretation of an abnormal smear for a hospital inpatient only",
    "9": "the professional/technical concept does not apply",
}

#: Global surgery days.
GLOBAL_DAYS = {
    "000": "endoscopy or minor procedure: the global package is the day of the procedure only",
    "010": "minor procedure: the day of the procedure and 10 days after are in the package",
    "090": "major surgery: the day before, the day of and 90 days after are in the package",
    "MMM": "maternity code: the usual global rules do not apply",
    "XXX": "the global concept does not apply",
    "YYY": "the MAC decides whether a global period applies and how long",
    "ZZZ": "tied to another service and always inside that service's global period",
}

#: Multiple procedure indicator (modifier 51 rules).
MULT_PROC = {
    "0": "no multiple procedure reduction",
    "1": "pre-1995 multiple procedure rules (100/50/25/25/25 %)",
    "2": "standard multiple procedure reduction: highest paid 100 %, the others 50 %",
    "3": "multiple endoscopy rule: endoscopies sharing a base code are priced as a family "
         "(the base code is not paid on top of another endoscopy of its family), then ranked "
         "with the day's other procedures",
    "4": "diagnostic imaging reduction of the technical part (and a small professional "
         "reduction) when imaging of the same family is done in one session",
    "5": "therapy reduction of the practice expense part",
    "6": "cardiovascular diagnostic reduction of the technical part for the second and later "
         "services",
    "7": "ophthalmology diagnostic reduction of the technical part for the second and later "
         "services",
    "9": "the multiple procedure concept does not apply",
}

#: Bilateral surgery indicator (modifier 50).
BILAT = {
    "0": "no bilateral adjustment: reported with 50 or RT+LT, both sides are paid as one "
         "(100 %) - anatomy or the code's wording makes a bilateral claim inappropriate",
    "1": "bilateral adjustment applies: with modifier 50 (or RT+LT, or 2 units) payment is "
         "150 % of one side",
    "2": "the code's value already counts both sides: with 50 or RT+LT payment stays 100 %",
    "3": "each side paid in full (100 % per side) when both are done - usually radiology and "
         "other diagnostic tests",
    "9": "the bilateral concept does not apply",
}

#: Assistant at surgery indicator (modifiers 80, 81, 82, AS).
ASSISTANT = {
    "0": "an assistant at surgery is paid only with documentation of medical necessity",
    "1": "an assistant at surgery is never paid (statutory restriction)",
    "2": "an assistant at surgery may be paid",
    "9": "the assistant-at-surgery concept does not apply",
}

#: Co-surgeon indicator (modifier 62).
CO_SURGEONS = {
    "0": "co-surgeons are not allowed",
    "1": "co-surgeons may be paid with documentation that two surgeons were needed",
    "2": "co-surgeons are allowed without documentation when the two-specialty rule is met",
    "9": "the co-surgeon concept does not apply",
}

#: Team surgery indicator (modifier 66).
TEAM = {
    "0": "team surgery is not allowed",
    "1": "team surgery may be paid with documentation of need; priced by report",
    "2": "team surgery is allowed; priced by report",
    "9": "the team surgery concept does not apply",
}

TABLES = {
    "status": STATUS,
    "pctc": PCTC,
    "global_days": GLOBAL_DAYS,
    "mult_proc": MULT_PROC,
    "bilat": BILAT,
    "assistant": ASSISTANT,
    "co_surgeons": CO_SURGEONS,
    "team": TEAM,
}


def meaning(indicator: str, value: str) -> str:
    """The meaning of one indicator value in words ('' when the value is empty or unknown).

    ``indicator`` is a ``PfsInfo`` field name: status, pctc, global_days, mult_proc, bilat,
    assistant, co_surgeons, team.
    """
    return TABLES.get(indicator, {}).get(value, "")

