"""Word lists extraction relies on: modifiers, payers, settings, states, context words.

Kept as plain frozen data in one place so a coder can review them without reading regexes.
Only code *identifiers* appear here (modifier codes, POS numbers), never AMA descriptor text.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    """A set from a space-separated list (easier to review than a list of quoted strings)."""
    return frozenset(text.split())


#: CPT Level I modifiers (two digits) a coder may attach to a code.
LEVEL1_MODIFIERS: frozenset[str] = _words(
    "22 23 24 25 26 27 32 33 47 50 51 52 53 54 55 56 57 58 59 62 63 66 73 74 76 77 78 79 "
    "80 81 82 90 91 92 93 95 96 97 99"
)

#: HCPCS Level II modifiers common in consultation mail (two characters, letters or letter+digit).
LEVEL2_MODIFIERS: frozenset[str] = _words(
    "LT RT XE XS XP XU TC GA GX GY GZ KX JW JZ GT GC GE GV GW GP GO GN Q5 Q6 QW PT PO PN "
    "FX FY CR CS CT CQ CO E1 E2 E3 E4 F1 F2 F3 F4 F5 F6 F7 F8 F9 FA TA T1 T2 T3 T4 T5 T6 T7 "
    "T8 T9 LC LD LM RC RI AI AS SA SG SL QK QX QY QZ AA AD QS G8 G9 P1 P2 P3 P4 P5 P6 KO KP "
    "KQ JG TB UN UP UQ UR US SC ET GU FS FT KT 33 93 95 NU RR UE KH KI KJ"
)

MODIFIERS: frozenset[str] = LEVEL1_MODIFIERS | LEVEL2_MODIFIERS

#: US state and territory abbreviations, for telling `Columbus, OH 43214` from a CPT code.
STATES: frozenset[str] = _words(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI"
)

#: Payers as coders write them -> the canonical name extraction reports. Longest match wins,
#: so "Medicare Advantage" beats "Medicare".
PAYERS: tuple[tuple[str, str], ...] = (
    (r"medicare\s+advantage|medicare\s+replacement|\bMA\s+plan|part\s+c\b|\bMAPD\b",
     "Medicare Advantage"),
    (r"traditional\s+medicare|original\s+medicare|medicare\s+part\s+b|medicare", "Medicare"),
    (r"medicaid|medi-cal|masshealth|\bMCD\b", "Medicaid"),
    (r"unitedhealth\s*care|united\s+health\s*care|united\s+healthcare|\bUHC\b|optum",
     "UnitedHealthcare"),
    (r"\bBCBS\b|blue\s+cross|blue\s+shield|anthem|highmark|carefirst|premera|regence",
     "BCBS"),
    (r"aetna", "Aetna"),
    (r"cigna", "Cigna"),
    (r"humana", "Humana"),
    (r"tricare", "Tricare"),
    (r"workers['’]?\s*comp(?:ensation)?|work\s+comp\b|\bW/?C\s+claim", "Workers' Compensation"),
    (r"kaiser", "Kaiser Permanente"),
    (r"molina", "Molina"),
    (r"wellcare", "WellCare"),
    (r"ambetter|centene", "Ambetter"),
    (r"\bVA\s+community\s+care|veterans\s+affairs", "VA"),
    (r"auto\s+insurance|no-fault|motor\s+vehicle\s+accident\s+claim", "Auto/No-fault"),
    (r"self[-\s]pay", "Self-pay"),
)

#: Place-of-service codes -> setting.
POS_SETTINGS: dict[str, str] = {
    "02": "telehealth",
    "10": "telehealth",
    "11": "office",
    "12": "home",
    "19": "hospital outpatient",
    "20": "urgent care",
    "21": "inpatient",
    "22": "hospital outpatient",
    "23": "emergency department",
    "24": "ASC",
    "31": "skilled nursing facility",
    "32": "nursing facility",
}

#: Setting phrases -> setting (checked in order; first match in the text wins by position).
SETTINGS: tuple[tuple[str, str], ...] = (
    (r"ambulatory\s+surg(?:ery|ical)\s+cent(?:er|re)|\bASC\b|surgery\s+center", "ASC"),
    (r"hospital\s+outpatient|outpatient\s+hospital|\bHOPD\b|\bOPPS\b|hospital\s+based\s+clinic",
     "hospital outpatient"),
    (r"\binpatient\b|admitted|\bIPPS\b", "inpatient"),
    (r"emergency\s+department|emergency\s+room|\bER\s+visit|\bED\s+visit", "emergency department"),
    (r"telehealth|telemedicine|video\s+visit", "telehealth"),
    (r"skilled\s+nursing|\bSNF\b", "skilled nursing facility"),
    (r"urgent\s+care", "urgent care"),
    (r"\bin\s+(?:the\s+|our\s+(?:own\s+)?)office\b|\boffice\s+(?:visit|setting|procedure)|\bin[-\s]office\b|"
     r"physician\s+office|\bclinic\s+visit|\bin\s+(?:the\s+|our\s+)?clinic\b", "office"),
)

#: Words that say "the number next to me is a code".
CODE_CONTEXT = (
    r"cpt|hcpcs|codes?|coded|coding|bill(?:ed|ing)?|report(?:ed|ing)?|charge[ds]?|"
    r"procedures?|modifiers?|mods?|e/?m|e&m|visit|dx|icd(?:-?10)?(?:-?cm|-?pcs)?|"
    r"diagnos[ie]s|pcs|primary|secondary|add-?on|units?|line|lines|claim\s+line|denied|"
    r"denial|bundl(?:ed|ing)|ncci|mue|ptp|payable|reimburs\w*|rvu|global|j-?codes?"
)

#: Words that say "the code next to me is a diagnosis".
DX_CONTEXT = r"dx|icd(?:-?10)?(?:-?cm)?|diagnos[ie]s|diag|pointer|linked?|secondary|primary"

#: Words that say "the 7-character code next to me is ICD-10-PCS".
PCS_CONTEXT = r"icd-?10-?pcs|\bpcs\b|inpatient\s+procedure\s+code|procedure\s+code"

#: Tokens with an ICD-10-CM shape that are almost always something else.
ICD_STOPWORDS: frozenset[str] = frozenset(
    {"N95", "KN95", "B12", "A1C", "H2O", "K9", "F150", "P90", "X11", "M4A", "L8R"}
)

NUMBER_WORDS: dict[str, int] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "once": 1, "twice": 2, "single": 1,
    "double": 2, "triple": 3,
}
