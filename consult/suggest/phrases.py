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

from consult.suggest.text import apply_lexicon, lexicon, query_tokens, raw_tokens

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
    r"|(?:phone|tel|fax|cell|mobile|office|direct|ext|email|e-mail|web)\s*[:#]"
    r"|dr\.?\s+[a-z]+(?:'s)?\s*(?:office|clinic|practice)?\s*$"
    r")"
)
_CREDENTIAL = re.compile(
    r"\b(?:CPC(?:-A)?|CCS(?:-P)?|CCA|RHIT|RHIA|CPMA|CRC|COC|CGIC|CPB|CDIP|CIC|CEMC|CCDS|"
    r"CDEO|CPCO|CRCR|MBA|MHA|PhD|RN|BSN|LPN|MSN|PA-C|NP-C|FNP|DNP|MD|DO|DPM|FACS|FACP)\b"
)
_CONTACT = re.compile(r"@|https?://|www\.|\(\d{3}\)|\b\d{3}[-.\s]\d{3}[-.\s]\d{4}\b|\bext\.?\s*\d+")
_ORG = re.compile(r"(?i)\b(?:coding|billing|revenue\s+cycle|compliance|health\s+information|"
                  r"department|dept|office\s+manager|manager|supervisor|specialist|analyst|"
                  r"director|coordinator|auditor|llc|inc|associates|medical\s+group|office|practice|"
                  r"physicians\s+group|health\s+system|clinic|suite|street|st\.|ave|avenue|"
                  r"blvd|road|rd\.)\b")
_COVER = re.compile(
    r"(?i)\b(?:second\s+opinion|resubmit|re-?submission|appeal|denial|denied|rejected|"
    r"remittance|eob|see\s+(?:below|attached)|forwarding|let\s+me\s+know|any\s+(?:thoughts|"
    r"help|guidance)|thanks\s+in\s+advance|appreciate|quick\s+question|following\s+up|"
    r"circling\s+back|per\s+our\s+(?:call|conversation)|test\s+e-?mail|confirm\s+receipt|"
    r"please\s+confirm|please\s+ignore|disregard|unsubscribe|subscribe|notifications?|"
    r"mailing\s+list|scanned\s+for|viruses|spam|delivery\s+status|undeliverable|bounced?|"
    r"original\s+message|received\s+(?:at|from)|click|link\s+below|check\s+it\s+out|"
    r"content-[a-z]+|mime|iphone|android|mobile\s+device|envoy[ée]|gesendet|enviado)\b"
)
_DX_CONNECTOR = re.compile(
    r"(?i)\b(?:for|r/o|rule\s+out|due\s+to|secondary\s+to|because\s+of|dx(?:'d)?|diagnosis(?:\s+of)?|"
    r"diagnosed\s+with|indications?|reason|r/t|related\s+to|with\s+(?:a\s+)?(?:history|hx)\s+of|"
    r"h/o|hx\s+of|s/p|status\s+post|to\s+treat|treating|found|showed|shows|revealed|"
    r"findings?)\b\s*:?"
)
_LIST = re.compile(r"(?i)\s*(?:;|,|\+|\band\s+then\b|\bthen\b|\bplus\b|\balso\b|\band\b|"
                   r"\bwith\b|\bw/(?!o)|\s&\s)\s*")
_PROC_WORD = re.compile(
    r"(?i)(?:[a-z](?:ectom(?:y|ies)|otom(?:y|ies)|ostom(?:y|ies)|plast(?:y|ies)|scop(?:y|ies|ic)|"
    r"graph(?:y|ic)|pexy|rrhaphy|centesis|tripsy|desis)\b|\b(?:inject|infus|remov|excis|"
    r"repair|biops|dilat|placement|placed|insert|implant|ablat|destr(?:uct|oy)|drain|aspirat|"
    r"debrid|resect|reduction|fixation|release|transfer|graft|closure|sutur|ligat|"
    r"visit|exam\b|exams\b|examination|consult|evaluat|x-?rays?\b|mri\b|ct\b|ultrasound|"
    r"scans?\b|panel|tests?\b|screen(?:ing)?\b|therap|session|counsel|administ|vaccin|"
    r"immuniz|transfusion|catheter|cath\b|stent|angioplast|manipulat|arthroplast|shave|"
    r"punch|freez|cryo|frozen|lanced|snare|cauteri|replacement|tubes?\b|monitor|stud(?:y|ies)|"
    r"draw\b|collection|appl(?:y|ied|ication)\b|views?\b|films?\b|radiograph|imaging|"
    r"guidance|surgery|surgical|operat(?:ion|ive|ed)|interrogat\w*|programm\w*|"
    r"reprogramm\w*))")
_DX_WORD = re.compile(
    r"(?i)(?:[a-z](?:itis|osis|oses|oma|omas|algia|emia|pathy|ectasis)\b|\b(?:pain|"
    r"fractur\w*|fx|disease|syndrome|disorder|infection|diabet\w*|hypertens\w*|"
    r"deficien\w*|injur\w*|wound|lacerat\w*|contusion|sprain|strain|cancer|carcinom\w*|"
    r"neoplasm|malignan\w*|benign|lesions?|polyps?|mass|nodules?|cysts?|ulcers?|bleed\w*|"
    r"hemorrh\w*|anemia|obesity|depress\w*|anxiety|dementia|stenosis|stricture|hernia|"
    r"reflux|gerd|dysphagia|nausea|vomit\w*|cough|fever|rash|swelling|dislocation|tear|"
    r"rupture|sequela|pregnan\w*|weeks?\s+gestation|screening\s+for)\b)")


@dataclass(frozen=True, slots=True)
class Phrase:
    """A piece of the narrative to rank: ``role`` is procedure, diagnosis or either."""

    text: str
    role: str  # "procedure" | "diagnosis" | "either"
    family: str = ""  # endoscope or approach words inherited from the part it came from
    part: int = 0  # which part of the narrative (phrases of one part form one procedure)
    whole: bool = False  # the whole part rather than a piece of it
    aside: str = ""  # words of the same sentence that belong to other phrases (diagnoses)
    secondary: bool = False  # a diagnosis read out of a procedure sentence


_CHAT = re.compile(r"(?i)\b(?:you|your|we|we're|we've|our|us|i|i'm|i've|i'd|me|my|they|"
                   r"anyone|anybody|someone|guys|folks)\b")
_DX_MARKER = re.compile(r"(?i)(?:\b(?:dx|diagnosis|icd(?:-?10)?)(?:\s+codes?)?\s*\??\s*$|"
                        r"\b(?:dx|diagnosis|icd(?:-?10)?)\s+codes?\b)")
_HISTORY = re.compile(r"(?i)^(?:s/p|status\s+post|h/o|hx\s+of|history\s+of|with\s+(?:a\s+)?"
                      r"(?:history|hx)\s+of)")
_WEAK_PROC = re.compile(r"(?i)\b(?:visit|exam|eval\w*|consult\w*|test\w*|study|studies|"
                        r"screen\w*|care|management|mgmt|session|therap\w*|counsel\w*|physical|"
                        r"assessment|check|discussion|time|min(?:ute)?s?|read|interp\w*|culture|panel|level|"
                        r"titer|count|swab|dose|supplies|supply)\b|\bx\s?\d+\b|\b\d+\s?x\b")


def _title_case(line: str) -> bool:
    """Most words capitalized, acronyms aside: a name, a department, an address line."""
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'.-]*", line) if not w.isupper()]
    if not words:
        return False
    return sum(w[0].isupper() for w in words) / len(words) >= 0.6


_ADDRESS = re.compile(r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b|\bNPI\b|\bTax\s+ID\b|\bTIN\b|"
                      r"\bP\.?O\.?\s+Box\b|\b\d{2,6}\s+[A-Z][a-z]+\s+(?:[A-Z][a-z]+\s+)?"
                      r"(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Dr|Drive|Way|Ln|Lane|Ct|Pkwy|Hwy)\b")


def clinical_lines(text: str) -> list[str]:
    """The lines and sentences of ``text`` that may describe a service or a condition."""
    kept: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(">"):
            continue
        if _CONTACT.search(line) or _ADDRESS.search(line):
            continue
        words = len(line.split())
        if words > 40:
            continue  # prose, not a coder's description of a service
        if words <= 6 and _title_case(line):
            continue  # a name, department or clinic line
        if _CREDENTIAL.search(line) and (words <= 5 or _title_case(line)):
            continue
        if _ORG.search(line) and words <= 8 and _title_case(line):
            continue
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", line):
            s = sentence.strip()
            if not s or _NON_CLINICAL.match(s) or _COVER.search(s):
                continue
            strong, weak, dx, _fam = _cues(s)
            if _CHAT.search(re.sub(r"\bUS\b", "ultrasound", s)) and not (strong or dx or weak):
                continue  # conversation about the work, not the work
            kept.append(s)
    return kept


def _cues(text: str) -> tuple[int, int, int, bool]:
    """(strong procedure cues, weak procedure cues, diagnosis cues, names a family)."""
    _words, kinds = apply_lexicon(query_tokens(text))
    text = re.sub(r"\bUS\b", "ultrasound", text)
    weak_spans = [m.span() for m in _WEAK_PROC.finditer(text)]
    strong_words = [m for m in _PROC_WORD.finditer(text)
                    if not any(a <= m.start() < b for a, b in weak_spans)]
    strong = kinds.count("P") + kinds.count("F") + len(strong_words)
    dx = kinds.count("D") + len(_DX_WORD.findall(text))
    return strong, len(weak_spans), dx, "F" in kinds


def role_of(text: str) -> str:
    """procedure, diagnosis or either, from the words a coder uses for each."""
    if _DX_MARKER.search(text):
        return "diagnosis"
    strong, weak, dx, _family = _cues(text)
    if strong:
        return "procedure"
    if dx:
        return "diagnosis"
    if weak:
        return "procedure"
    return "either"


def family_words(text: str) -> str:
    """The words of ``text`` that name an endoscope or approach ("EGD", "lap"), else ''."""
    tokens = raw_tokens(text)
    out = []
    i = 0
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


def _meaningful(piece: str) -> bool:
    return bool(re.search(r"[A-Za-z][A-Za-z0-9]", piece or ""))


def _clean(piece: str) -> str:
    return piece.strip(" .:;,-")


def _list_items(text: str) -> list[str]:
    return [_clean(s) for s in _LIST.split(text) if _meaningful(s) and _clean(s)]


def split_phrases(text: str) -> list[Phrase]:
    """Procedure and diagnosis phrases of a narrative, in reading order."""
    phrases: list[Phrase] = []
    part = 0
    for line in clinical_lines(text):
        line_role = role_of(line)
        pieces: list[tuple[str, bool]] = []  # (text, follows a history connector)
        last = 0
        for m in _DX_CONNECTOR.finditer(line):
            pieces.append((line[last:m.start()], False))
            last = m.start() if _HISTORY.match(line[m.start():]) else m.end()
        pieces.append((line[last:], False))
        pieces = [(_clean(p), h) for p, h in pieces if _meaningful(p)]
        proc: list[str] = []
        dx: list[str] = []
        for k, (piece, _h) in enumerate(pieces):
            if line_role == "diagnosis" or _HISTORY.match(piece):
                dx.append(_HISTORY.sub("", piece).strip() or piece)
                continue
            strong, _weak, dxc, _fam = _cues(piece)
            if k == 0 or (strong and not dxc):
                proc.append(piece)
            else:
                dx.append(piece)
        if line_role == "either" and not dx:
            phrases.append(Phrase(" ".join(proc), "either", "", part, True))
            part += 1
            continue
        aside = " ".join(dx)
        if proc:
            segments: list[list[str]] = []
            for item in _list_items(" , ".join(proc)):
                if family_words(item) and segments and any(family_words(x) for x in segments[-1]):
                    segments.append([item])
                elif segments:
                    segments[-1].append(item)
                else:
                    segments.append([item])
            several = len(segments) > 1
            for seg in segments:
                family = ""
                whole_text = " ".join(seg) if several else " ".join(proc)
                phrases.append(Phrase(whole_text, "procedure", "", part, True, aside))
                if len(seg) > 1:
                    for item in seg:
                        own = family_words(item)
                        inherit = family if (family and not own) else ""
                        family = own or family
                        phrases.append(Phrase(item, "procedure", inherit, part, False))
                part += 1
            if not dx and _cues(" ".join(proc))[2]:
                phrases.append(Phrase(" ".join(proc), "diagnosis", "", part, True,
                                      secondary=True))
                part += 1
        for piece in dx:
            phrases.append(Phrase(piece, "diagnosis", "", part, True, secondary=bool(proc)))
            items = _list_items(piece)
            if len(items) > 1:
                for item in items:
                    phrases.append(Phrase(item, "diagnosis", "", part, False))
            part += 1
    return phrases
