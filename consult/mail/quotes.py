"""Split a reply body into new text, quoted history and signature.

Extraction treats codes in the new text as the question and codes in the quote as context, so
the split decides what the sender is asking now. Recognized styles: ``>`` quoting, Gmail / Apple
Mail / mobile "On <date>, <name> wrote:" (also wrapped over two or three lines, and in the common
European languages), Outlook "-----Original Message-----" and "From: / Sent: / To: / Subject:"
header blocks, forwarded-message markers, and underscore separators. Signatures: the ``-- ``
delimiter, "Sent from my ..." mobile footers, and a closing sign-off ("Thanks,", "Regards,")
followed by a few short lines at the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class ReplyParts:
    """The three parts of a body; together they hold every non-blank line of the input.

    ``signature_marker`` says what started the signature: "delimiter", "mobile", "sign-off",
    "name", or "" when there is none.
    """

    text: str
    quoted: str
    signature: str
    signature_marker: str = ""


_WROTE_WORDS = (
    r"wrote|writes|schrieb|a écrit|a ecrit|escribió|escribio|ha scritto|schreef|skrev|napisał"
    r"|napisal|napisała|kirjoitti|írta|yazdı|escreveu|написал|написала|пишет|писал|написав|пише"
    r"|scrisse"
    r"|geschreven|skriver|skrifaði|napsal|kirjutas"
)
#: "On Tue, 3 Mar 2020 at 10:00, Jane <j@x.org> wrote:" and its translations, on one line.
_ON_WROTE = re.compile(
    rf"^\s*-*\s*(?:on|am|le|el|il|op|den|w dniu|em|dne|pe|в|у|\d).{{0,300}}?(?:{_WROTE_WORDS})"
    r"(?:\(a\))?\s*:?\s*-*\s*$",
    re.IGNORECASE,
)
_WROTE_END = re.compile(rf"(?:{_WROTE_WORDS})(?:\(a\))?\s*:?\s*-*\s*$", re.IGNORECASE)
#: "... wrote:" / "... schrieb am Fr., 28. Apr. 2017 um 11:53 Uhr:" / "... a écrit :".
_WROTE_COLON = re.compile(rf"\b(?:{_WROTE_WORDS})(?:\(a\))?\b.{{0,80}}:\s*-*\s*$|"
                          rf"\b(?:{_WROTE_WORDS})\s*-{{2,}}\s*$", re.IGNORECASE)
#: What starts every ``_DATED_ADDRESS`` match: an attribution without a "wrote" word needs it.
_LEADING_DIGIT = re.compile(r"\s*\d")


def _ascii_wrote_tails(words: str) -> tuple[str, ...]:
    """Lower-case literals, one of which is in every ASCII line that a "wrote" word matches.

    A word with a space ("ha scritto") is represented by its last token, the part that cannot
    straddle two lines joined with a space. Under ``re.IGNORECASE`` the only non-ASCII letter of
    the words that matches ASCII text is the dotless "ı" (it matches "i" and "I"); words with any
    other non-ASCII letter cannot match an ASCII line. Tokens containing another are dropped.
    """
    tails = {w.rsplit(" ", 1)[-1].lower().replace("ı", "i") for w in words.split("|")}
    tails = {t for t in tails if t.isascii()}
    return tuple(sorted(t for t in tails if not any(o != t and o in t for o in tails)))


_WROTE_TAILS = _ascii_wrote_tails(_WROTE_WORDS)


@lru_cache(maxsize=4096)
def _may_say_wrote(line: str) -> bool:
    """False only when no "wrote" word can match in ``line`` (or in a join that includes it).

    The wrote-word regexes try ~30 alternatives at every position and cost ~60 us per line;
    ``str.__contains__`` on the lower-cased line costs ~1 us. Non-ASCII lines (rare) keep the
    exact regex path, since case folding beyond ASCII is the regex engine's business. Cached:
    ``attribution_len`` asks about each line up to three times.
    """
    if not line.isascii():
        return True
    low = line.lower()
    return any(tail in low for tail in _WROTE_TAILS)


_HAS_ADDRESS_OR_DATE = re.compile(
    r"@|\d{1,2}:\d{2}|\b(?:19|20)\d{2}\b|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
_STARTS_WITH_DATE = re.compile(
    r"^\s*-*\s*(?:\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}\s+\w+\.?\s+\d{4})")
#: "2013/7/20 Jane via Forum <info@example.org>" and "2017-02-05 13:29 GMT+02:00 Jane <a@b>:".
_DATED_ADDRESS = re.compile(
    r"^\s*\d{4}[./-]\d{1,2}[./-]\d{1,2}\b.{0,200}<\s*[^<>@\s]+@[^<>\s]+>\s*:?\s*$")
#: Start of the header line that Gmail often wraps before "wrote:".
_ON_START = re.compile(
    r"^\s*-*\s*(?:on|am|le|el|il|op|den|w dniu|em)\s+\S.*(?:\d{1,2}:\d{2}|\d{4}|@)",
    re.IGNORECASE,
)
ORIGINAL_MESSAGE = re.compile(
    r"^\s*[-_=*]{2,}\s*(?:original message|original|ursprüngliche nachricht|message d'origine"
    r"|mensaje original|messaggio originale|oorspronkelijk bericht|oryginalna wiadomość"
    r"|исходное сообщение|alkuperäinen viesti|opprinnelig melding|originalmeddelande"
    r"|reply message|reply separator)\s*[-_=*]{2,}\s*$",
    re.IGNORECASE,
)
FORWARD_RULE = re.compile(
    r"^\s*[-_=*]{2,}\s*(?:forwarded message|weitergeleitete nachricht|message transféré"
    r"|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|пересылаемое сообщение)"
    r"\s*[-_=*]{2,}\s*$",
    re.IGNORECASE,
)
FORWARD_START = re.compile(
    r"^\s*(?:begin forwarded message:|anfang der weitergeleiteten nachricht:"
    r"|début du message réexpédié ?:|forwarded message:?)\s*$",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
#: The characters a stripped line must start with for FORWARD_START, FORWARD_RULE,
#: ORIGINAL_MESSAGE or an underscore rule to match: their first literals, under IGNORECASE
#: (no other Unicode character folds to these), so a line starting otherwise skips all four.
MARKER_FIRST_CHARS = frozenset("-_=*aAbBdDfF")
_HEADER_FIELD = re.compile(
    r"^\s*\**\s*(from|von|de|da|van|od|från|fra|от|lähettäjä|feladó|sent|gesendet|envoyé|enviado"
    r"|inviato|verzonden|wysłano|skickat|sendt|отправлено|date|datum|fecha|data|to|an|à|para|a|aan"
    r"|do|till|til|кому|subject|betreff|objet|asunto|oggetto|onderwerp|temat|ämne|emne|тема"
    r"|cc|kopie)\s*\**\s*:",
    re.IGNORECASE,
)
_FROM_FIELD = re.compile(
    r"^\s*\**\s*(from|von|de|da|van|od|från|fra|от|lähettäjä|feladó)\s*\**\s*:\s*\S",
    re.IGNORECASE,
)
_SIG_DELIMITER = re.compile(r"^(?:-- ?|--|__|—)\s*$")
_DASH_RULE = re.compile(r"^\s*(?:-{4,}|_{4,}|={4,}|\*{4,})\s*$")
_MOBILE_FOOTER = re.compile(
    r"^\s*[(<]*\s*(?:sent (?:from|via|with|by|using)\b|get (?:\[?outlook|the \w+ app)"
    r"|envoyé (?:de|depuis) mon|von meinem .* gesendet|diese nachricht wurde von meinem"
    r"|enviado (?:desde|do) (?:mi|meu)|inviato da|verzonden (?:met|vanaf)|wysłane z"
    r"|отправлено с|надіслано з|從我的|从我的|\S+ from (?:my )?(?:mobile|iphone|ipad|phone)"
    r"|from my (?:iphone|ipad|android|mobile|phone))",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^\s*(?:thanks?(?: you)?(?: so much| very much| again| in advance)?|thank you|thx|many thanks"
    r"|cheers|best(?: regards| wishes)?|kind regards|warm regards|regards|sincerely"
    r"|yours(?: truly| sincerely)?|respectfully|cordially|take care|all the best|br"
    r"|mit freundlichen grüßen|viele grüße|grüße|gruß|cordialement|bien à vous|saludos"
    r"|atentamente|cordiali saluti|met vriendelijke groet|groeten|pozdrawiam|с уважением)"
    r"\s*[,.!]*\s*$",
    re.IGNORECASE,
)
#: Characters that make a line look non-empty but show nothing (Gmail's tracking mark, ZWSP).
_INVISIBLE = " \t\u1427\u200b\u200c\u200d\ufeff\u00a0"
#: A sign-off may be followed by at most this many short lines (name, title, clinic, phone).
_MAX_SIGNATURE_LINES = 8
_MAX_SIGNATURE_LINE = 80


_SUPERCITE = re.compile(r"^\s*[A-Za-z][\w.-]{0,11}>(?:\s|$)")


def _is_quote(line: str) -> bool:
    """A ``>`` quoted line, or a Supercite one ("Richard> ...", "C> ...")."""
    if ">" not in line:
        return False  # both forms need one; most lines have none
    stripped = line.lstrip()
    return stripped.startswith(">") or bool(_SUPERCITE.match(stripped))


def outlook_header_at(lines: list[str], i: int) -> bool:
    """True when ``lines[i]`` starts a "From: ... / Sent: ... / To: ..." block of 2+ fields."""
    if not _FROM_FIELD.match(lines[i]):
        return False
    fields = 1
    j = i + 1
    while j < len(lines) and j <= i + 8:
        line = lines[j]
        if not line.strip():
            j += 1
            continue
        if _HEADER_FIELD.match(line):
            fields += 1
        elif fields >= 2 and not line.startswith((" ", "\t")):
            break
        j += 1
    return fields >= 3 or (fields >= 2 and i > 0 and not lines[i - 1].strip())


def attribution_len(lines: list[str], i: int) -> int:
    """Lines (1-3) of a "<someone> wrote:" attribution starting at ``i``, or 0.

    One line: "On <date>, <name> wrote:" (and translations), or any short line ending in a
    "wrote" word plus colon that names an address or a date, so "Dr Lee wrote:" in the new text
    is not taken for history. Gmail wraps long attributions over two or three lines, and some
    clients write "<date> <name> <address>:" with no verb at all.
    """
    first = lines[i].strip()
    if len(first) > 300:
        return 0
    # Without a "wrote" word in the (up to) three lines joined below, only a dated-address
    # attribution can match, and that starts with a digit: most lines are rejected here.
    if not _LEADING_DIGIT.match(first):
        for line in lines[i:i + 3]:
            if _may_say_wrote(line):
                break
        else:
            return 0
    if _ON_WROTE.match(first) or _DATED_ADDRESS.match(first):
        return 1
    if _WROTE_COLON.search(first) and _HAS_ADDRESS_OR_DATE.search(first):
        return 1
    if not (_ON_START.match(first) or _STARTS_WITH_DATE.match(first)
            or _HAS_ADDRESS_OR_DATE.search(first)):
        return 0
    joined = first
    for k in (1, 2):
        if i + k >= len(lines) or not lines[i + k].strip():
            break
        joined += " " + lines[i + k].strip()
        if len(joined) > 400:
            break
        if not _HAS_ADDRESS_OR_DATE.search(joined):
            continue
        if _WROTE_COLON.search(joined) or _DATED_ADDRESS.match(joined) or (
                _ON_START.match(first) and _WROTE_END.search(joined)):
            return k + 1
    return 0


def _history_header(lines: list[str]) -> tuple[int, int, str] | None:
    """(index, line count, kind) of the first quote header or marker, if any.

    kind is "attribution" ("On ... wrote:"), "forward" (a forwarded-message marker with the
    header block below it) or "reply" (Outlook reply headers, "Original Message").
    """
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or _is_quote(line):
            continue
        if stripped[0] in MARKER_FIRST_CHARS:
            if FORWARD_START.match(stripped) or FORWARD_RULE.match(stripped):
                return i, 1 + field_block_len(lines, i + 1), "forward"
            if ORIGINAL_MESSAGE.match(stripped):
                return i, 1, "reply"
            if _UNDERSCORES.match(stripped) and _next_is_header(lines, i + 1):
                return i, 1, "reply"
        if outlook_header_at(lines, i):
            return i, field_block_len(lines, i), "reply"
        length = attribution_len(lines, i)
        if length:
            return i, length, "attribution"
    return None


def field_block_len(lines: list[str], start: int) -> int:
    """Lines from ``start`` that form a "From: / Date: / Subject:" block (0 when none)."""
    j = start
    while j < len(lines) and j < start + 2 and not lines[j].strip():
        j += 1
    if j >= len(lines) or not _HEADER_FIELD.match(lines[j]):
        return 0
    while j < len(lines) and lines[j].strip() and j < start + 16:
        j += 1
    return j - start


def _next_is_header(lines: list[str], start: int) -> bool:
    for j in range(start, min(start + 3, len(lines))):
        if lines[j].strip():
            return bool(_HEADER_FIELD.match(lines[j]))
    return False


def _name_tokens(sender_name: str) -> tuple[str, ...]:
    words = re.findall(r"\w{2,}", sender_name.lower())
    return tuple(words)


def _is_name_line(line: str, names: tuple[str, ...]) -> bool:
    """A short line that is the sender's name ("Jane", "Jane Doe, CPC", "- J. Doe")."""
    stripped = line.strip(" \t-–—~*_,.")
    if not stripped or len(stripped) > 60 or not names:
        return False
    words = re.findall(r"\w{2,}", stripped.lower())
    return bool(words) and words[0] in names and len(words) <= 6


def signature_start(lines: list[str], names: tuple[str, ...] = ()) -> tuple[int, str] | None:
    """Where the signature of the new text begins and what marked it, if one is recognized.

    The marker is "delimiter" (``-- `` or a dash rule), "mobile" ("Sent from my iPhone"),
    "sign-off" ("Thanks,") or "name" (the sender's name on its own line).
    """
    content = [i for i, ln in enumerate(lines) if ln.strip()]
    if len(content) < 2:
        return None
    for i in reversed(content):
        # The delimiter is anchored at column 0: a first-character test rejects the rest.
        if lines[i][0] in "-_—" and _SIG_DELIMITER.match(lines[i]) and i > content[0]:
            return i, "delimiter"
    mobile_at = None
    for i in reversed(content):
        if not _MOBILE_FOOTER.match(lines[i]):
            break
        mobile_at = i
    if mobile_at is not None and mobile_at > content[0]:
        return mobile_at, "mobile"
    for i in reversed(content[-(_MAX_SIGNATURE_LINES + 5):]):
        if _DASH_RULE.match(lines[i]) and i > content[0]:
            tail = [ln for ln in lines[i + 1:] if ln.strip()]
            if len(tail) <= _MAX_SIGNATURE_LINES + 4 and all(
                    len(ln.strip()) <= _MAX_SIGNATURE_LINE for ln in tail):
                return i, "delimiter"
    for i in reversed(content[-(_MAX_SIGNATURE_LINES + 1):]):
        if _SIGN_OFF.match(lines[i]) and i > content[0]:
            tail = [ln for ln in lines[i + 1:] if ln.strip()]
            if len(tail) <= _MAX_SIGNATURE_LINES and all(
                len(ln.strip()) <= _MAX_SIGNATURE_LINE for ln in tail
            ):
                return i, "sign-off"
    if names:
        for i in content[-(_MAX_SIGNATURE_LINES + 1):]:
            if i > content[0] and _is_name_line(lines[i], names):
                tail = [ln for ln in lines[i + 1:] if ln.strip()]
                if len(tail) <= _MAX_SIGNATURE_LINES:
                    return i, "name"
    return None


def _join(lines: list[str]) -> str:
    """Lines as text, runs of blank lines (left where quotes were taken out) made one."""
    out: list[str] = []
    for line in lines:
        if not line.strip() and (not out or not out[-1].strip()):
            continue
        out.append(line.rstrip())
    return "\n".join(out).strip("\n")


def split_reply(body: str, *, sender_name: str = "") -> ReplyParts:
    """Separate what the sender wrote now from quoted history and their signature.

    Everything from the first quote header ("On ... wrote:", Outlook blocks, forward markers)
    on is history. Before it, ``>`` lines are history too; unquoted lines between quote blocks
    (inline answers) stay in the new text. The signature is looked for in the new text only;
    ``sender_name`` (the From display name) lets a bare name line at the end start it.
    """
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = ["" if not line.strip(_INVISIBLE) else line for line in lines]
    new_lines, quoted_lines = _split_history(lines)
    found = signature_start(new_lines, _name_tokens(sender_name))
    signature: list[str] = []
    marker = ""
    if found is not None:
        at, marker = found
        signature = new_lines[at:]
        new_lines = new_lines[:at]
    return ReplyParts(_join(new_lines), _join(quoted_lines), _join(signature), marker)


def _split_history(lines: list[str], depth: int = 0) -> tuple[list[str], list[str]]:
    """(new lines, quoted lines). A header with new text above it starts the history for good;
    a header at the very top (bottom-posting) only takes the quote block right below it."""
    found = _history_header(lines)
    start, length, kind = found if found is not None else (len(lines), 0, "")
    new_lines: list[str] = []
    quoted_lines: list[str] = []
    for line in lines[:start]:
        (quoted_lines if _is_quote(line) else new_lines).append(line)
    if found is None:
        return new_lines, quoted_lines
    has_new = any(line.strip() for line in new_lines)
    end = start + length
    while end < len(lines) and not lines[end].strip():
        end += 1
    inline = kind == "attribution" and end < len(lines) and _is_quote(lines[end])
    # Outlook-style reply headers are followed by the old mail unquoted: all of it is history.
    # An attribution followed by a ">" block is history only up to the end of that block (the
    # text after it is an inline answer or a bottom-posted reply), and a forward or attribution
    # at the very top with unquoted text below it is a forwarded question: that text is new.
    if depth >= 5 or kind == "reply" or (has_new and not inline):
        return new_lines, quoted_lines + lines[start:]
    while end < len(lines) and (not lines[end].strip() or _is_quote(lines[end])):
        end += 1
    quoted_lines.extend(lines[start:end])
    if has_new and not any(_is_quote(line) for line in lines[end:]):
        # Text trailing the last quote block of a top-posted reply is the quoted mail's
        # signature far more often than an answer: only text between quotes is inline.
        return new_lines, quoted_lines + lines[end:]
    rest_new, rest_quoted = _split_history(lines[end:], depth + 1)
    return new_lines + rest_new, quoted_lines + rest_quoted
