"""From a narrative to the phrases worth ranking: clinical sentences only, split into
procedures and diagnoses.

``clinical_lines`` drops what never describes a service (greetings, sign-offs, signatures with
credentials or phone numbers, legal footers, cover notes such as "see below" or "a second
opinion before we resubmit"). ``split_phrases`` cuts what is left at diagnosis connectors
("for", "due to", "dx") and list separators, tags each part as a procedure or a diagnosis from
its words, and carries the endoscope or approach of a procedure ("EGD", "colonoscopy", "lap") to
the later parts that do not name their own ("EGD with biopsy and APC" -> "EGD APC").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from consult.suggest.text import apply_lexicon, raw_tokens

_NON_CLINICAL = re.compile(
    r"(?ix)^\s*(?:"
    r"(?:hi|hello|hey|dear|good\s+(?:morning|afternoon|evening)|greetings)\b"
    r"|(?:thanks|thank\s+you|many\s+thanks|regards|best|cheers|sincerely|respectfully)\b"
    r"|sent\s+from\b|get\s+outlook\b|from:|to:|cc:|subject:|date:|sent:"
    r"|-{2,}|_{3,}|={3,}|\*{3,}"
    r"|(?:this|the\s+information\s+in\s+this)\s+(?:e-?mail|message|communication|transmission)\b"
    r"|confidential(?:ity)?\b|disclaimer\b|privileged\b|notice:|caution:|external\s+email"
    r"|if\s+you\s+(?:are\s+not|have\s+received)\b|please\s+(?:see|find|review|advise|let)\b"
    r"|(?:see|as)\s+(?:below|above|attached)\b|fyi\b|forwarding\b|forwarded\b|fw:|fwd:"
    r"|(?:phone|tel|fax|cell|mobile|office|direct|ext|email|e-mail|web|www)\b\s*[:.#]?"
    r")"
)
_CREDENTIAL = re.compile(
    r"\b(?:CPC(?:-A)?|CCS(?:-P)?|CCA|RHIT|RHIA|CPMA|CRC|COC|CGIC|CPB|CDIP|CIC|CEMC|CCDS|"
    r"CDEO|CPCO|CRCR|MBA|MHA|PhD|RN|BSN|LPN|MSN|PA-C|NP-C|FNP|DNP|MD|DO|DPM|FACS|FACP)\b"
)
_CONTACT = re.compile(r"@|https?://|www\.|\(\d{3}\)|\b\d{3}[-.\s]\d{3}[-.\s]\d{4}\b|\bext\.?\s*\d+")
_ORG = re.compile(r"(?i)\b(?:coding|billing|revenue\s+cycle|compliance|health\s+information|"
                  r"department|dept|office\s+manager|manager|supervisor|specialist|analyst|"
                  r"director|coordinator|auditor|llc|inc|associates|medical\s+group|"
                  r"physicians\s+group|health\s+system|clinic|suite|street|st\.|ave|avenue|"
                  r"blvd|road|rd\.)\b")
_COVER = re.compile(
    r"(?i)\b(?:second\s+opinion|resubmit|re-?submission|appeal|denial|denied|rejected|"
    r"remittance|eob|see\s+(?:below|attached)|forwarding|let\s+me\s+know|any\s+(?:thoughts|"
    r"help|guidance)|thanks\s+in\s+advance|appreciate|quick\s+question|following\s+up|"
    r"circling\s+back|per\s+our\s+(?:call|conversation))\b"
)
_DX_CONNECTOR = re.compile(
    r"(?i)\b(?:for|due\s+to|secondary\s+to|because\s+of|dx(?:'d)?|diagnosis(?:\s+of)?|"
    r"diagnosed\s+with|indications?|reason|r/t|related\s+to|with\s+(?:a\s+)?(?:history|hx)\s+of|"
    r"h/o|hx\s+of|s/p|status\s+post|to\s+treat|treating|found|showed|shows|revealed|"
    r"findings?)\b\s*:?"
)
_LIST = re.compile(r"(?i)\s*(?:;|,|\+|\band\s+then\b|\bthen\b|\bplus\b|\balso\b|\band\b|"
                   r"\bwith\b|\bw/(?!o)|\s&\s)\s*")
_PROC_WORD = re.compile(
    r"(?i)(?:ectom(?:y|ies)|otom(?:y|ies)|ostom(?:y|ies)|plast(?:y|ies)|scop(?:y|ies|ic)|"
    r"graph(?:y|ic)|pexy|rrhaphy|centesis|tripsy|desis|inject|infus|remov|excis|excised|"
    r"repair|biops|dilat|placement|placed|insert|implant|ablat|destruct|drain|aspirat|"
    r"debrid|resect|reduction|fixation|release|transfer|graft|closure|sutur|ligat|"
    r"visit|exam|consult|evaluat|x-?ray|mri|\bct\b|ultrasound|scan|panel|test|screen|"
    r"therap|session|counsel|admin|vaccin|immuniz|transfusion|catheter|cath\b|stent|"
    r"angioplast|manipulat|arthroplast|shave|punch|freez|cryo|frozen|lanced|snare|"
    r"cauteri|replacement|tube|monitor|study|draw|collection)")
_DX_WORD = re.compile(
    r"(?i)(?:itis\b|osis\b|oses\b|oma\b|omas\b|algia\b|emia\b|pathy\b|ectasis\b|\bpain\b|"
    r"fractur|\bfx\b|disease|syndrome|disorder|infection|diabet|hypertens|failure|"
    r"deficien|injur|wound\b|lacerat|contusion|sprain|strain\b|cancer|carcinom|neoplasm|"
    r"malignan|benign|lesion|polyp|mass\b|nodule|cyst\b|ulcer|bleed|hemorrh|anemia|"
    r"obesity|depress|anxiety|dementia|stenosis|stricture|hernia|reflux|gerd|dysphagia|"
    r"nausea|vomit|cough|fever|rash|swelling|dislocation|tear\b|rupture|abnormal|history|"
    r"encounter|sequela|chronic|acute|pregnan|weeks?\s+gestation|screening\s+for)")


@dataclass(frozen=True, slots=True)
class Phrase:
    """A piece of the narrative to rank: ``role`` is procedure, diagnosis or either."""

    text: str
    role: str  # "procedure" | "diagnosis" | "either"
    family: str = ""  # endoscope or approach words inherited from the part it came from
    part: int = 0  # which part of the narrative (phrases of one part form one procedure)
    whole: bool = False  # the whole part rather than a piece of it


def clinical_lines(text: str) -> list[str]:
    """The lines and sentences of ``text`` that may describe a service or a condition."""
    kept: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(">"):
            continue
        if _CREDENTIAL.search(line) or _CONTACT.search(line):
            continue
        if _ORG.search(line) and len(line.split()) <= 8:
            continue
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", line):
            s = sentence.strip()
            if not s or _NON_CLINICAL.match(s) or _COVER.search(s):
                continue
            kept.append(s)
    return kept


def _kinds(text: str) -> tuple[int, int, bool]:
    """(procedure cues, diagnosis cues, names a family) of a piece of text."""
    _words, kinds = apply_lexicon(raw_tokens(text))
    p = kinds.count("P") + kinds.count("F") + len(_PROC_WORD.findall(text))
    d = kinds.count("D") + len(_DX_WORD.findall(text))
    return p, d, "F" in kinds


def role_of(text: str) -> str:
    p, d, _family = _kinds(text)
    if p > d:
        return "procedure"
    if d > p:
        return "diagnosis"
    return "either"


def family_words(text: str) -> str:
    """The words of ``text`` that name an endoscope or approach ("EGD", "lap"), else ''."""
    tokens = raw_tokens(text)
    out = []
    i = 0
    from consult.suggest.text import lexicon  # local: the table is cached there

    lex = lexicon()
    while i < len(tokens):
        for n in (3, 2, 1):
            entry = lex.get(tuple(tokens[i:i + n]))
            if entry is not None and entry.kind == "F":
                out.append(" ".join(tokens[i:i + n]))
                i += n
                break
        else:
            i += 1
    return " ".join(out)


def split_phrases(text: str) -> list[Phrase]:
    """Procedure and diagnosis phrases of a narrative, in reading order."""
    phrases: list[Phrase] = []
    part = 0
    for line in clinical_lines(text):
        pieces = _DX_CONNECTOR.split(line)
        for k, piece in enumerate(pieces):
            piece = piece.strip(" .:;,-")
            if not re.search(r"[A-Za-z]{2}", piece):
                continue
            role = role_of(piece)
            if k > 0 and role == "either":
                role = "diagnosis"
            family = family_words(piece) if role != "diagnosis" else ""
            phrases.append(Phrase(piece, role, family, part, True))
            subs = [s for s in _LIST.split(piece) if re.search(r"[A-Za-z]{2}", s or "")]
            if len(subs) > 1:
                for sub in subs:
                    sub = sub.strip(" .:;,-")
                    sub_role = role_of(sub)
                    if sub_role == "either":
                        sub_role = role
                    own = family_words(sub)
                    inherit = family if (family and not own and sub_role != "diagnosis") else ""
                    phrases.append(Phrase(sub, sub_role, inherit, part, False))
            part += 1
    return phrases
