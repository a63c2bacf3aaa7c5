"""The question model: a mail's question split into parts, each typed.

A coder asks "1) can we bill 20610 with 99213? 2) which modifier? 3) does Aetna need a prior
auth?" - three questions of three kinds, and the answer must take them in turn: NCCI for the
first, modifier rules for the second, and "our sources do not cover this" for the third. The
split follows the coder's own numbering, else the question sentences; the type comes from the
words of each part (the first rule that fires, most specific first). Pure text in, parts out.
"""

from __future__ import annotations

import re

from consult.extract.cues import hoist_boundaries
from consult.extract.forwarded import is_cover_note
from consult.extract.model import QuestionPart, QuestionType
from consult.extract.narrative import clean_subject, sentences

_NUMBERED = re.compile(
    r"(?m)^\s*(?:\(?(?:\d{1,2}|[a-eA-E])[.)]|Q\s*\d{1,2}\s*[:.)]?|#\d{1,2}[:.)]?|"
    r"(?:question|q)\s*\d{1,2}\s*[:.)-])\s+"
)
_ASKING = re.compile(
    r"(?i)^\s*(?:(?:so|and|but|also|then|ok(?:ay)?|quick\s+question|second(?:ly)?|"
    r"third(?:ly)?|lastly|finally|last|if\s+not|if\s+so|and\s+if\s+not)[,:]?\s+)*"
    r"(?:can|could|should|would|shall|will|is|are|am|do|does|did|may|might|must|what|which|"
    r"how|when|why|where|who|any\s+(?:thoughts|guidance|advice)|please\s+(?:advise|confirm|"
    r"let\s+me\s+know|help|clarify|review|check)|need\s+(?:help|guidance|to\s+know)|"
    r"i(?:'m|\s+am)\s+(?:not\s+sure|wondering|unsure)|wondering|looking\s+for|"
    r"is\s+it|are\s+we|i\s+need\s+to\s+know|we\s+need\s+to\s+know|not\s+sure|"
    r"trying\s+to\s+(?:figure|determine|decide))\b"
)
_GENERIC = re.compile(
    r"(?i)^\s*(?:any\s+(?:thoughts|input|ideas|help|guidance)|can\s+you\s+(?:help|weigh\s+in|"
    r"take\s+a\s+look|look|advise|review|answer)|please\s+(?:advise|help|review|let\s+me\s+know)"
    r"|thoughts|what\s+do\s+you\s+think|could\s+you\s+(?:help|weigh\s+in|take\s+a\s+look|advise)"
    r"|thanks?|thank\s+you)\b[^?]{0,40}[?.!]?\s*$|"
    # "I'm not sure where to point them": the forwarder's doubt about the reply, not a question
    r"^\s*(?:i(?:'m|\s+am)\s+)?(?:not\s+sure|unsure)\s+(?:where|how|what|who)\s+to\s+"
    r"(?:point|tell|send|answer|respond|reply|direct|say)\b[^?]{0,40}[.!]?\s*$"
)
_GREETING = re.compile(r"(?i)^\s*(?:hi|hello|hey|good\s+(?:morning|afternoon|evening)|dear|"
                       r"thanks|thank\s+you|regards|best)\b[^?]*$")
_OR_START = re.compile(r"(?i)^\s*or\b")

_PAYERS = (r"aetna|cigna|uhc|united\s*health\s*care|unitedhealthcare|bcbs|blue\s+cross|"
           r"blue\s+shield|anthem|humana|highmark|carefirst|kaiser|molina|wellcare|ambetter|"
           r"tricare|optum|oscar|the\s+(?:plan|payer|carrier|insurance)|their|commercial|"
           r"medicaid|medicare\s+advantage|ma\s+plan|state")

#: (type, pattern) tried in order; the first that fires types the part.
_TYPE_RULES: tuple[tuple[QuestionType, re.Pattern[str]], ...] = (
    ("payer_policy", re.compile(
        rf"(?i)\bprior\s*auth|\bpre-?auth|\bprecert|\bpre-?certification|\bauthori[sz]ation|"
        rf"\b(?:{_PAYERS})(?:'s)?\s+(?:own\s+)?(?:policy|policies|guidelines?|rules?|"
        rf"edits?|contract|requirements?|bundling)|"
        rf"\b(?:does|do|will|would|can)\s+(?:[A-Z][\w.]*\s+){{0,2}}(?:{_PAYERS})\s+"
        rf"(?:\w+\s+){{0,2}}(?:require|allow|accept|cover|pay|reimburse|follow|apply|recogni[sz]e|"
        rf"want|need|deny|consider|count|bundle|take|let|waive|charge|cover)|"
        rf"\b(?:do|does|will|would)\s+they\s+(?:want|require|allow|accept|cover|pay|reimburse|"
        rf"follow|deny)|"
        rf"\bis\s+(?:{_PAYERS})\s+(?:right|correct|wrong|allowed)\s+to\b|"
        rf"\benroll(?:ed|ment)?\b|\bcredential|\bPTAN\b|\bcontract\s+with\b|"
        rf"\bper\s+(?:{_PAYERS})\b")),
    ("documentation", re.compile(
        r"(?i)\bsignatures?\b|\bsign(?:ed)?\s+(?:off|the)|\b(?:be|been|is|was)\s+signed\b|\battest|\bscribe|\bco-?sign|"
        r"\baudit|\bwhat\s+(?:needs|has|must)\s+to\s+be\s+(?:in|documented)|"
        r"\btime\s+statement|\bmedical\s+record\s+requirements?|"
        r"\bdocument(?:ation)?\s+(?:requirements?|required|needed|enough|sufficient|support)|"
        r"\b(?:does|will|would|is)\s+(?:the|our|this)\s+(?:documentation|note|record)\s+"
        r"(?:support|enough|sufficient|need|meet)|\b(?:require|need)s?\s+a\s+separate\s+"
        r"(?:progress\s+)?note\b")),
    ("coverage", re.compile(
        r"(?i)\bcover(?:ed|age|s)?\b|\bLCDs?\b|\bNCDs?\b|\bmedical(?:ly)?\s+necess|\bABN\b|"
        r"\bfrequency\s+limit|\bsupport(?:s|ed)?\s+(?:medical\s+)?necessity|"
        r"\bcovered\s+(?:dx|diagnos)|\bbilling\s+article|"
        r"\bhow\s+often\s+(?:does|do|will|can|may|should|is|are)\b|"
        r"\bhow\s+many\s+(?:sessions|times|injections|visits|treatments|procedures|tests)\s+"
        r"(?:\w+\s+){0,3}(?:a|per|each|in\s+a)\s+(?:year|month|week|lifetime|12\s+months)")),
    ("payment", re.compile(
        r"(?i)\bhow\s+much\b|\breimburse|\ballowable\b|\ballowed\s+amount|\bfee\s+schedule|"
        r"\bpay(?:s|ment)?\s+(?:amount|rate|for\s+it)|\brates?\b|\bRVUs?\b|\$\s?\d|"
        r"\bnon-?facility\b|\bfacility\s+(?:rate|amount|vs|versus|price)|\bnational\s+"
        r"(?:medicare\s+)?(?:amount|rate|allowable|payment|price|fee)|\bwhat\s+(?:will|would|"
        r"does)\s+\w+\s+(?:get\s+)?paid|\bhow\s+much\s+(?:more|less)|"
        r"\bwhat\s+(?:does|will|would)\s+(?:medicare|it|the\s+plan|they)\s+pay|"
        r"\bwhat\s+(?:does|will|would|do)\s+(?:[^\s]+\s+){1,3}pay\b|\bpays?\s+nationally\b|"
        r"\bpaid\s+at\b|\b(?:150|50)\s*%|\bmultiple\s+procedure\s+(?:reduction|discount)|"
        r"\bcoinsurance|\bcopay|\bdeductible")),
    ("code_validity", re.compile(
        r"(?i)\bdeleted\b|\bterminated\b|\bdiscontinued\b|\bretired\b|\bstill\s+(?:valid|good|"
        r"active|billable|around|usable)|\bvalid\s+(?:code|for|in|on)|\breplac(?:ed|ement|e)|"
        r"\bnew\s+code\b|\bend[- ]dated|\bno\s+longer|\bexpired|\bgo(?:ne)?\s+away")),
    ("which_code", re.compile(
        r"(?i)\b(?:\d{4}[0-9FTU]|[A-V]\d{4})(?:-\w{2})*(?:\s*(?:\+|and|&)\s*"
        r"(?:\d{4}[0-9FTU]|[A-V]\d{4})(?:-\w{2})*)*\s*,?\s*(?:or|vs\.?|versus|instead\s+of)\s+"
        r"(?:(?:just|only|bill|use|code|report)\s+)?(?:\d{4}[0-9FTU]|[A-V]\d{4})\b|"
        r"\boption\s*(?:1|a|one)\b")),
    ("which_modifier", re.compile(
        r"(?i)(?<![\w./$])-?(?:2[45]|5[0-9]|7[6-9]|91|XS|XU|XE|XP|26|TC|RT|LT|PT|33|GA|GY|GZ|"
        r"KX|JW|JZ)\s+(?:on\s+(?:the\s+)?\w+\s+)?(?:or|vs\.?|versus)\s+(?:modifier\s+)?-?"
        r"(?:2[45]|5[0-9]|7[6-9]|91|XS|XU|XE|XP|26|TC|RT|LT|PT|33|GA|GY|GZ|KX|JW|JZ)\b")),
    ("global_period", re.compile(
        r"(?i)\bglobal\b|\bpost[\s-]?op|\bpostoperative|\bafter\s+(?:the\s+|her\s+|his\s+)?"
        r"(?:surgery|procedure|op\b)|\bwithin\s+the\s+global|\b99024\b|"
        r"\b(?:modifier|mod)\s*-?(?:24|58|78|79)\b|-(?:24|58|78|79)\b|\b(?:24|79|78|58)\s+or\s+"
        r"(?:24|79|78|58|25|57)\b|\breturn(?:ed)?\s+to\s+(?:the\s+)?(?:or|operating)|"
        r"\bweeks?\s+(?:after|later|post)|\bdays?\s+(?:after|later|post)")),
    ("units", re.compile(
        r"(?i)\bhow\s+many\s+units|\bunits?\b|\bMUEs?\b|\bper\s+(?:mg|unit|ml|vial)|\bdose\b|"
        r"\bhow\s+many\s+(?:times|lines)|\bquantity|\b(?:\d{5}|[A-Z]\d{4})\s*x\s?\d{1,3}\b|"
        r"\bmg\b|\bminutes?\b")),
    ("which_modifier", re.compile(
        r"(?i)\bmod(?:ifier)?s?\b|(?<![\w/])-(?:\d{2}|[A-Z]{2})\b|\b\d{5}-(?:\d{2}|[A-Z]{2})\b|"
        r"\b(?:XS|XU|XE|XP)\b|\b(?:append|add|use|put|need|attach|apply)\s+(?:a\s+|the\s+)?-?"
        r"(?:2[45]|5[0-9]|7[6-9]|91|26|TC|RT|LT|PT|33|50)\b|\b(?:2[45]|5[79]|59|7[6-9]|91|26|TC|"
        r"PT|33|50)\s+on\s+(?:the\s+|a\s+|an\s+)?(?:\d{5}|[A-V]\d{4}|e/?m|visit|office|"
        r"injection|procedure|\w+)|\bthe\s+-?(?:2[45]|5[79]|7[6-9]|91|XS|XU|XE|XP|26|TC|PT|33|"
        r"50)\s+(?:ok|okay|right|correct|fine|needed|valid)\b")),
    ("diagnosis", re.compile(
        r"(?i)\bdx\b|\bdiagnos[ie]s|\bICD|\bsequenc|\bprimary\s+(?:dx|diagnosis|code)|"
        r"\bfirst[\s-]listed|\b7th\b|\bseventh\b|\bexcludes\s*[12]?|\blaterality|"
        r"\bwhich\s+(?:dx|diagnosis)|\bcode\s+first|\buse\s+additional|\bcombination\s+code|"
        r"\brule\s+out|\bprobable|\binitial\s+(?:or|vs)|\bsubsequent|\bsequela")),
    ("bill_together", re.compile(
        r"(?i)\btogether\b|\bsame\s+(?:day|date|dos|session|claim|encounter|visit)|\bbundl|"
        r"\bseparately|\bboth\b|\bNCCI\b|\bPTP\b|\bunbundl|\balong\s+with|\bin\s+addition\s+to|"
        r"\b(?:bill|code|report|charge)\s+(?:\w+\s+){0,3}(?:with|and|\+|&)\s+|"
        r"\b\d{5}\s*(?:with|w/|and|\+|&)\s*\d{5}|\bpair|\bdenied\s+(?:as\s+)?(?:inclusive|"
        r"incidental)|\binclusive|\bincidental")),
    ("bill_together", re.compile(
        r"(?i)^(?:.{0,200}[.:]\s+)?(?:is\s+(?:this|that|it)\s+(?:coded\s+)?(?:right|correct|ok)|"
        r"(?:is\s+this\s+)?correct\?|ok(?:ay)?\s+to\s+(?:submit|bill|send)|"
        r"(?:is|does)\s+(?:the|this|my|our)\s+claim\s+(?:look\s+)?(?:ok(?:ay)?|right|correct|"
        r"clean|good)|any(?:thing)?\s+"
        r"(?:problem|issue|wrong)|does\s+this\s+look\s+(?:right|ok|correct)|good\s+to\s+go)")),
    ("which_code", re.compile(
        r"(?i)\bwhich\s+(?:cpt|code|one)|\bwhat\s+(?:cpt|code|hcpcs)|\bcorrect\s+code|"
        r"\bright\s+code|\bhow\s+(?:do|should|would)\s+(?:we|i|you)\s+code|\bcode\s+(?:for|this|"
        r"it)\b|\bappropriate\s+code|\bproper\s+code|\bcode\s+(?:to\s+)?use")),
)


def _lowered(rules: tuple[tuple[QuestionType, re.Pattern[str]], ...]
             ) -> tuple[tuple[QuestionType, re.Pattern[str]], ...]:
    """The rules for lower-cased text: case-insensitive matching is several times slower, and
    this runs for every question part of every mail. The ``\\b`` that opens most of a rule's
    alternatives is checked once for all of them (``hoist_boundaries``)."""
    out = []
    for kind, rx in rules:
        pattern = rx.pattern.replace("(?i)", "")
        if re.search(r"\\[A-Z]", pattern):
            raise ValueError(f"pattern has an upper-case escape: {pattern}")
        out.append((kind, re.compile(hoist_boundaries(pattern.lower()))))
    return tuple(out)


_TYPE_RULES_LOW = _lowered(_TYPE_RULES)


def is_bare(text: str) -> bool:
    r"""Whether ``text`` holds no word: only separators (white space, digits, ``/.,:;|?()+#*x-``)
    and code tokens (``A1234``, ``1234F``, ``K21`` with any ``.9X`` after it, two capitals or
    digits), as in "05/20/2025 J2405 x2 ?", a table cell asking for the units.

    As one regex, ``^S*(?:(?:A1234|1234F|K21(?:\.\w+)?|XX)S*)*$``, this backtracks
    exponentially (a 78-character row of codes ending in a word took 54 s); instead every
    position a run of separators and tokens can reach is marked, left to right: linear time.
    """
    n = len(text)
    reach = bytearray(n + 1)
    reach[0] = 1

    def digits(start: int, count: int) -> bool:
        return start + count <= n and all(_DIGIT.match(text, j) for j in range(start,
                                                                              start + count))
    for i in range(n):
        if not reach[i]:
            continue
        c = text[i]
        if _BARE_SEPARATOR.match(c):
            reach[i + 1] = 1
        if c in _UPPER_DIGIT and i + 1 < n and text[i + 1] in _UPPER_DIGIT:
            reach[i + 2] = 1  # two capitals or digits
        if digits(i, 4) and i + 4 < n and text[i + 4] in "0123456789FTU":
            reach[i + 5] = 1  # 1234F
        if c not in _UPPER or not digits(i + 1, 1):
            continue
        if digits(i + 2, 3):
            reach[i + 5] = 1  # A1234
        if i + 2 < n and text[i + 2] in _UPPER_DIGIT:
            reach[i + 3] = 1  # K21
            if i + 3 < n and text[i + 3] == ".":
                j = i + 4
                while j < n and _WORD_CHAR.match(text, j):
                    j += 1
                    reach[j] = 1  # K21.9, K21.9X, ...
    return bool(reach[n])


def question_type(text: str) -> QuestionType:
    """The type of one question part (``other`` when no rule fires)."""
    low = text.lower()
    for kind, rx in _TYPE_RULES_LOW:
        if rx.search(low):
            return kind
    return "other"


def _numbered_parts(text: str) -> list[str]:
    """The questions of a numbered list ("1) ...", "Q2: ..."), when it has two or more items
    and one of them asks: an item that asks several things gives one part each (its opening
    statement goes with its first question); an item that only states a case is a parallel
    case of the question asked (three patients, "new or established?")."""
    starts = [m.start() for m in _NUMBERED.finditer(text)]
    if len(starts) < 2:
        return []
    items: list[list[str]] = []
    asking = False
    for a, b in zip(starts, [*starts[1:], len(text)], strict=True):
        body = _NUMBERED.sub("", text[a:b], count=1).strip()
        body = body.split("\n\n")[0]
        flat = " ".join(body.split())
        sents = sentences(flat)
        asked = [i for i, s in enumerate(sents) if s.endswith("?") or _ASKING.match(s)]
        if not asked:
            items.append([flat])
            continue
        asking = True
        parts = []
        lead = " ".join(sents[:asked[0]])
        for n, i in enumerate(asked):
            part = sents[i] if n else " ".join(x for x in (lead, sents[i]) if x)
            parts.extend(_split_compound(part))
        items.append(parts)
    if not asking:
        return []
    return [p for item in items for p in item]


_COMPOUND = re.compile(
    r"(?i),?\s+(?:and|also)\s+(?=(?:does|do|is|are|can|could|should|would|will|what|which|how|"
    r"when)\b)"
)
#: A question that points back at what was said before it ("Is this right?", "Which one?").
_POINTING = re.compile(r"(?i)\b(?:this|these|that|those|it|them|lines?|claim|one|right|correct|"
                       r"ok(?:ay)?|above|below|either|both)\b")
#: A part with no word in it (``is_bare``): separators (these characters) and code tokens.
_BARE_SEPARATOR = re.compile(r"[\s\d/.,:;|?()+#*x-]")
_DIGIT = re.compile(r"\d")
_WORD_CHAR = re.compile(r"\w")
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_UPPER_DIGIT = _UPPER | frozenset("0123456789")
#: A pointing question about the whole claim ("which lines", "these", "all of them").
_WHOLE = re.compile(r"(?i)\b(?:lines|rows|claim|these|those|all)\b")
_CODE_TOKEN = re.compile(r"\b(?:\d{4}[0-9FTU]|[A-V]\d{4}|[A-TV-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?)\b")


def _split_compound(sentence: str) -> list[str]:
    """"Can we bill an E/M on 5/12, and does the 5/20 I&D need a modifier?" -> two parts."""
    pieces = _COMPOUND.split(sentence)
    if len(pieces) < 2 or any(len(p.split()) < 3 for p in pieces) or not _ASKING.match(
            pieces[0]):
        return [sentence]
    out = []
    for p in pieces:
        p = p.strip().rstrip(",")
        out.append(p if p.endswith("?") else p + "?")
    return out


_ASKING_INSIDE = re.compile(
    r"(?i)\b(?:is\s+(?:that|this|it)\s+(?:ok(?:ay)?|right|correct|allowed|billable|included)|"
    r"can\s+(?:we|i)|should\s+(?:we|i)|do\s+(?:we|i)|are\s+we|could\s+we|may\s+we|"
    r"is\s+it\s+(?:all\s+)?(?:included|bundled|ok|right|correct))\b"
)


_RUNS_ON = re.compile(r"^[a-z0-9(]")
WRAP_MIN = 50


def unwrap(text: str) -> str:
    """Join a hard-wrapped line with the next when the sentence runs on ("Do we need 59 on
    the\n43200?"): the line is long (a mail client wrapped it), does not end a sentence, and
    the next starts lower-case or with a number. Short lines (tables, lists, signatures) stay
    apart."""
    lines = text.split("\n")
    out: list[str] = []
    for line in lines:
        prev = out[-1] if out else ""
        if (len(prev.rstrip()) >= WRAP_MIN and not prev.rstrip().endswith((".", "?", "!", ":"))
                and _RUNS_ON.match(line.lstrip())):
            out[-1] = prev.rstrip() + " " + line.strip()
        else:
            out.append(line)
    return "\n".join(out)


def _asked_sentences(text: str) -> list[str]:
    text = unwrap(text)
    found = _asked_sentences_strict(text)
    if found:
        return found
    return [s for s in sentences(text) if _ASKING_INSIDE.search(s)][:3]


_LEADING_GREETING = re.compile(r"(?i)^(?:hi|hello|hey|good\s+(?:morning|afternoon))"
                               r"(?:\s+(?:there|team|all|folks|[A-Z][a-z]+))?\s*[,!-]\s*")


def _asked_sentences_strict(text: str) -> list[str]:
    sents = [_LEADING_GREETING.sub("", s) for s in sentences(text) if not _GREETING.match(s)]
    merged: list[str] = []
    for i, s in enumerate(sents):
        if not (s.endswith("?") or _ASKING.match(s)):
            continue
        if merged and _OR_START.match(s):
            merged[-1] = f"{merged[-1]} {s}"
            continue
        if not _CODE_TOKEN.search(s) and len(s.split()) <= 8 and _POINTING.search(s):
            context = [x for x in sents[max(0, i - 3):i] if _CODE_TOKEN.search(x)
                       and not x.endswith("?")]
            before = [x for x in sents[:i] if _CODE_TOKEN.search(x) and not x.endswith("?")]
            # "Which lines should come off?" under a table points at all of it: the last two
            # rows would narrow the question to their codes
            if context and (len(before) <= 2 or not _WHOLE.search(s)):
                s = " ".join([*context[-2:], s])
        merged.extend(_split_compound(s))
    return merged


def _is_generic(item: str) -> bool:
    """A question that asks for help without asking anything ("can you weigh in?", "see below,
    thoughts?"): it names no code and is a cover note."""
    if _GENERIC.match(item):
        return True
    return not _CODE_TOKEN.search(item) and is_cover_note(item) and len(item.split()) <= 25


_QUESTION_WORD = re.compile(
    r"(?i)\b(?:can|could|should|would|shall|will|is|are|am|do|does|did|may|might|must|what|"
    r"which|how|when|why|where|who|ok(?:ay)?|correct|right|need|needed|bill|billable|code|"
    r"use|report|allowed|modifier|units?|either|or)\b"
)


def _asks_something(part: str) -> bool:
    """Not a fragment ("Kim's office?"): a code, a question word, or a real sentence."""
    return bool(_CODE_TOKEN.search(part) or _QUESTION_WORD.search(part)
                or len(part.split()) >= 5)


def split_question(texts: list[str], subject: str = "", *, limit: int = 6) -> list[str]:
    """The question parts of the texts, in order: numbered items, else asking sentences;
    generic cover questions ("can you help?") only when nothing else asks; else the subject."""
    parts: list[str] = []
    generic: list[str] = []
    for text in texts:
        if not text:
            continue
        items = _numbered_parts(text) or _asked_sentences(text)
        for item in items:
            (generic if _is_generic(item) else parts).append(item)
    parts = [p for p in parts if _asks_something(p)]
    worded = [p for p in parts if not is_bare(p)]
    if worded:
        parts = worded  # "05/20/2025 J2405 ?" is a table cell asking for the units, not a part
    if not parts:
        parts = generic
    if not parts:
        subj = clean_subject(subject)
        return [subj] if subj else []
    return list(dict.fromkeys(parts))[:limit]  # repeats dropped, first place kept


def question_parts(texts: list[str], subject: str, codes: list[str]) -> list[QuestionPart]:
    """Typed question parts, each with the codes it names (the mail's codes when it names
    none: "can we bill these together?")."""
    out: list[QuestionPart] = []
    known = set(codes)
    for text in split_question(texts, subject):
        named = [c for c in dict.fromkeys(_CODE_TOKEN.findall(text)) if c in known]
        sents = sentences(text)
        last = sents[-1] if sents else text
        if not _CODE_TOKEN.search(last) and _WHOLE.search(last):
            named = []  # "... on E11.65 and I12.9. Is the claim ok?" asks about the whole claim
        kind = question_type(last)  # the question itself, not the lines it points back to
        if kind == "other" and last != text:  # a one-sentence part was typed already
            kind = question_type(text)
        out.append(QuestionPart(text=text, type=kind, codes=named))
    return out
