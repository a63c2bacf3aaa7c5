"""Service lines and visits: each procedure the mail names with its own date of service.

A coder writes "lap chole 9/28 ... seen 10/14, billed 99213", "TKA 27447 on 9/9, seen 35 days
after" or a list of dated visits: the NCCI pair edits apply only to services on one date, and
the global period is counted between two dates, so every line needs the date the mail gives
*for it*. A code takes the date written in its own clause (the one before it first), else in
its sentence, else the last date written before it in its paragraph; a relative date ("35 days
after") counts from the last date written before it, or stays an offset from the surgery when
no date was. The same code on two dates is two lines. Lines the mail dates nowhere get the
mail's labelled date of service, or the one date the mail gives, else none. A dated sentence
that names a visit but no code ("5/12: back for a wound check") is a ``Visit``: an E/M the
coder asks about without naming its code.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from consult.extract.model import CodeMention, ServiceLine, Visit, Where
from consult.extract.when import DateMention, find_dates

PROCEDURE_SYSTEMS = ("CPT", "HCPCS")
_SENTENCE_END = re.compile(r"[.?!](?=\s)|\n")
#: The two kinds of ``_SENTENCE_END`` match, indexed apart (a punctuation mark needs the
#: character after it, so it ends a sentence only inside a stretch that holds that one too).
_PUNCT_END = re.compile(r"[.?!](?=\s)")
_NEWLINE = re.compile(r"\n")
_PARAGRAPH_END = re.compile(r"\n\s*\n")
_CLAUSE_BREAK = re.compile(r"[;,]|\b(?:and|then|but|while|later|after\s+that)\b", re.I)
#: Clause breaks for visits: commas and semicolons only ("seen 4/6 (35 days later) for a f/u").
_CLAUSE_BREAK_VISIT = re.compile(r"[;,]")
_VISIT_WORDS = re.compile(
    r"(?i)\b(?:seen|visit|came\s+(?:back|in)|back|returned|return\s+visit|"
    r"follow[\s-]?up|f/u|e/?m|e&m|office|check(?:ed)?|recheck|appointment|appt|presented|"
    r"came\s+to|saw\s+(?:him|her|them|the\s+patient)|same\s+patient|new\s+problem|"
    r"examined)\b"
)
#: The head of a paragraph that starts another patient's (or case's) story: "Pt A:",
#: "Patient 2 -", "Case #3", "2nd patient", or a specialty or provider label ("Breast surgeon:",
#: "Ophthalmology:"): a desk forwards several cases in one mail.
_PATIENT_HEAD = re.compile(
    r"(?im)^[ \t>*\-]*(?:\(?(?:\d{1,2}|[A-H])[.)][ \t]*(?=(?:(?:a|an|the|our|one|another)\s+)?"
    r"(?:new\s+|established\s+)?(?:pt|patient|medicare|"
    r"medicaid|bcbs|blue\s+cross|aetna|cigna|uhc|united\s*health\w*|humana|tricare|"
    r"commercial)\b)|"
    r"(?:\(?(?:\d{1,2}|[A-H])[.)]\s*)?(?:"
    r"(?:pt|patient|case|scenario|claim)\s*#?\s*(?:\d{1,2}|[A-H])\b\s*[:.)\-]"
    r"|(?:1st|2nd|3rd|\d{1,2}th|first|second|third|next|another)\s+(?:pt|patient|case)\b"
    r"|(?:[A-Z][a-z]+\s+)?(?:surgeon|surgery|ophthalmology|cardiology|orthopedics|ortho|"
    r"dermatology|derm|gastroenterology|GI|urology|podiatry|ENT|radiology|pulmonology|"
    r"neurology|oncology|OB/?GYN|anesthesia|pain\s+(?:management|clinic)|family\s+medicine|"
    r"primary\s+care|internal\s+medicine|emergency|wound\s+care|physical\s+therapy|PT\s+clinic)"
    r"\s*:))")
#: A date this long before the mail is a birth date or history, not a date of service.
OLDEST = timedelta(days=3 * 366)


@dataclass(frozen=True, slots=True)
class TextBlock:
    """One text the codes were found in, with the date its relative dates count from."""

    where: Where
    text: str
    reference: date | None
    lo: int = 0
    hi: int = -1  # -1: to the end
    #: Where dates are read from (after a forwarded message's header block, whose Date line
    #: is when the mail was sent, not a date of service).
    dates_from: int = 0

    def end(self) -> int:
        return self.hi if self.hi >= 0 else len(self.text)

    def dates(self) -> list[DateMention]:
        """The date mentions of the block, with offsets into ``text``."""
        lo = max(self.lo, self.dates_from)
        found = find_dates(self.text[lo:self.end()], self.reference)
        return [DateMention(d.start + lo, d.end + lo, d.on, d.after_days, d.kind) for d in found]


def _bounds(text: str, pos: int, lo: int, hi: int, rx: re.Pattern[str]) -> tuple[int, int]:
    """The stretch of ``text`` around ``pos`` between two matches of ``rx``."""
    start = lo
    for m in rx.finditer(text, lo, pos):
        start = m.end()
    nxt = rx.search(text, pos, hi)
    return start, (nxt.start() if nxt else hi)


@dataclass(frozen=True, slots=True)
class SentenceEnds:
    """Where ``_SENTENCE_END`` matches in one text, so the sentence around a position is two
    bisections away: scanning from the block's start for every code and date was quadratic
    (a 500 KB body took 40 s)."""

    newlines: list[int]
    puncts: list[int]

    @classmethod
    def of(cls, text: str) -> SentenceEnds:
        return cls([m.start() for m in _NEWLINE.finditer(text)],
                   [m.start() for m in _PUNCT_END.finditer(text)])

    def bounds(self, pos: int, lo: int, hi: int) -> tuple[int, int]:
        """``_bounds(text, pos, lo, hi, _SENTENCE_END)``: a match before ``pos`` must lie in
        ``text[lo:pos]`` and one after it in ``text[pos:hi]``, the character after a
        punctuation mark included (``finditer``/``search`` see the text cut at the end)."""
        nl, pu = self.newlines, self.puncts
        start = lo
        i = bisect_left(nl, pos) - 1
        if i >= 0 and nl[i] >= lo:
            start = nl[i] + 1
        i = bisect_left(pu, pos - 1) - 1
        if i >= 0 and pu[i] >= lo:
            start = max(start, pu[i] + 1)
        stop = hi
        i = bisect_left(nl, pos)
        if i < len(nl) and nl[i] < hi:
            stop = nl[i]
        i = bisect_left(pu, pos)
        if i < len(pu) and pu[i] < hi - 1:
            stop = min(stop, pu[i])
        return start, stop


def _date_for(text: str, pos: int, end: int, dates: list[DateMention], codes: list[int],
              lo: int, hi: int, ends: SentenceEnds) -> DateMention | None:
    """The date mention that belongs to the code at ``pos``: its clause, then its sentence
    (the nearest date before the code wins over one after it), then the last date before it
    in its paragraph with no other code in between."""
    s_lo, s_hi = ends.bounds(pos, lo, hi)
    c_lo, c_hi = _bounds(text, pos, s_lo, s_hi, _CLAUSE_BREAK)
    for a, b in ((c_lo, c_hi), (s_lo, s_hi)):
        inside = [d for d in dates if a <= d.start and d.end <= b]
        before = [d for d in inside if d.end <= pos]
        if before:
            return before[-1]
        after = [d for d in inside if d.start >= end]
        if after:
            return after[0]
    p_lo, _p_hi = _bounds(text, pos, lo, hi, _PARAGRAPH_END)
    before = [d for d in dates if p_lo <= d.start and d.end <= pos]
    if before and not any(before[-1].end <= c < pos for c in codes):
        return before[-1]
    return None


_BACK = re.compile(r"(?i)(?:\bwith|\binto|\bagainst|\bbundled|\bvs\.?|\bversus|\bto)"
                   r"[\s\"'“(]*$")


def _refers_back(text: str, m: CodeMention) -> bool:
    """A code named as what another was bundled with or denied against ("bundled with 11102")."""
    return m.start > 0 and bool(_BACK.search(text[max(0, m.start - 20):m.start]))


_LIST_JOIN = re.compile(r"^\s*(?:,|;|and|&|,\s*and)\s*(?:(?:the\s+)?(?:left|right|other|second|2nd)"
                        r"(?:\s+(?:eye|side|knee|ear|hip|shoulder|breast|foot|leg|arm))?"
                        r"\s*(?:on\s+)?)?$", re.I)


def _listed_after(text: str, first: DateMention, dates: list[DateMention]) -> list[DateMention]:
    """Dates listed right after ``first`` ("on 10/1, 10/8, 10/15 and 10/22"): the same service
    on each of them."""
    out: list[DateMention] = []
    prev = first
    for d in dates:
        if d.start < prev.end or d.on is None:
            continue
        if not _LIST_JOIN.match(text[prev.end:d.start]):
            break
        out.append(d)
        prev = d
    return out


def _anchor(dates: list[DateMention], mention: DateMention) -> date | None:
    """The last absolute date written before a relative one ("9/9 ... 35 days later")."""
    earlier = [d.on for d in dates if d.end <= mention.start and d.on is not None]
    return earlier[-1] if earlier else None


def _resolve(mention: DateMention | None, dates: list[DateMention]) -> tuple[date | None,
                                                                            int | None]:
    """(date, days after the surgery) for a date mention."""
    if mention is None:
        return None, None
    if mention.on is not None:
        return mention.on, None
    if mention.after_days is None or mention.kind == "same_day":
        return None, None
    anchor = _anchor(dates, mention)
    if anchor is not None:
        return anchor + timedelta(days=mention.after_days), None
    return None, mention.after_days


def _sentence(text: str, pos: int, lo: int, hi: int, ends: SentenceEnds) -> str:
    a, b = ends.bounds(pos, lo, hi)
    return " ".join(text[a:b].split())


def read_lines(
    occurrences: Iterable[CodeMention], blocks: list[TextBlock], *, mail_dos: date | None
) -> tuple[list[ServiceLine], list[Visit]]:
    """Service lines (one per code and date, in mail order) and the dated visits the mail
    describes without a code."""
    procs = [m for m in occurrences if m.system in PROCEDURE_SYSTEMS]
    if not procs:
        return [], []  # dates matter only to procedure lines and the visits around them
    dates = {id(b): b.dates() for b in blocks if b.text}
    index = {t: SentenceEnds.of(t) for t in {b.text for b in blocks}}
    used: set[tuple[int, int]] = set()
    lines: list[ServiceLine] = []
    story = _storyteller(procs, blocks)
    for m in procs:
        block_text = next((b.text for b in blocks if b.where == m.where), "")
        if _refers_back(block_text, m) and any(o.code == m.code and o.start < m.start
                                                 and o.where == m.where for o in procs):
            continue  # "denied as bundled with 11102": the earlier line, not a new service
        line = ServiceLine(m.code, m.system, list(m.modifiers), m.units, where=m.where,
                           patient=story(m))
        block = next((b for b in blocks if b.where == m.where
                      and b.lo <= m.start < b.end() + 1), None)
        if block is not None and m.start >= 0:
            found = dates.get(id(block), [])
            starts = [o.start for o in procs if o.where == m.where and o is not m]
            ends = index[block.text]
            mention = _date_for(block.text, m.start, m.end, found, starts, block.lo,
                                block.end(), ends)
            line.date_of_service, line.days_after = _resolve(mention, found)
            line.context = _sentence(block.text, m.start, block.lo, block.end(), ends)
            if mention is not None and mention.start < m.start:
                # the date came from an earlier sentence ("3/30: came back because the
                # incision was tender. ... He wants to bill 99213-24."): what the mail says of
                # that visit is from the date on
                d_lo, _d_hi = ends.bounds(mention.start, block.lo, block.end())
                c_lo, c_hi = ends.bounds(m.start, block.lo, block.end())
                if d_lo < c_lo and c_hi - d_lo <= 400:
                    line.context = " ".join(block.text[d_lo:c_hi].split())
            lines.append(line)
            if mention is not None:
                used.add((id(block), mention.start))
                for more in _listed_after(block.text, mention, found):
                    used.add((id(block), more.start))
                    twin = ServiceLine(m.code, m.system, list(m.modifiers), m.units,
                                       where=m.where, context=line.context,
                                       patient=line.patient)
                    twin.date_of_service, twin.days_after = _resolve(more, found)
                    lines.append(twin)
        else:
            lines.append(line)
    written = set()
    for b in blocks:
        for d in dates.get(id(b), []):
            if d.on is not None and (b.reference is None or d.on >= b.reference - OLDEST):
                written.add(d.on)
    _fill(lines, mail_dos, written)
    em_days = {ln.date_of_service for ln in lines if ln.code.isdigit()
               and 99202 <= int(ln.code) <= 99499 and ln.date_of_service}
    visits = [v for v in _visits(blocks, dates, procs, used, index)
              if v.date_of_service is None or v.date_of_service not in em_days]
    return _dedupe(lines), visits


def _heads(text: str, lo: int = 0, hi: int | None = None) -> list[int]:
    """Where each patient's story starts ("Pt A:", "2) BCBS commercial pt", ...)."""
    return [m.start() for m in _PATIENT_HEAD.finditer(text, lo, len(text) if hi is None else hi)]


def stories(text: str) -> list[str]:
    """The patients' stories of a mail that tells several under their own heads (the text
    before the first head goes with none); ``[text]`` for a mail with one."""
    heads = _heads(text)
    if len(heads) < 2:
        return [text]
    return [text[a:b] for a, b in zip(heads, [*heads[1:], len(text)], strict=True)]


def story_of(text: str, needle: str) -> str:
    """The patient's story ``needle`` stands in, in a mail that tells several under their
    own heads ("Pt 1: ... Pt 2: ..."): from its head to the next; all of ``text`` otherwise."""
    heads = _heads(text)
    at = text.find(needle) if needle else -1
    if len(heads) < 2 or at < 0:
        return text
    lo = max((h for h in heads if h <= at), default=0)
    hi = min((h for h in heads if h > at), default=len(text))
    return text[lo:hi]


def _storyteller(procs: list[CodeMention],
                 blocks: list[TextBlock]) -> Callable[[CodeMention], int | None]:
    """Which patient's story a mention of the body stands in, for a mail that tells several
    under their own heads and names procedures in at least two; None for every mention of a
    mail with one story."""
    body = next((b for b in blocks if b.where == "body"), None)
    starts = _heads(body.text, body.lo, body.end()) if body is not None else []

    def story(m: CodeMention) -> int | None:
        if m.where != "body" or m.start < 0:
            return None
        return sum(1 for s in starts if s <= m.start) or None

    if len(starts) < 2 or len({story(m) for m in procs} - {None}) < 2:
        return lambda _m: None
    return story


def _visits(blocks: list[TextBlock], dates: dict[int, list[DateMention]],
            procs: list[CodeMention], used: set[tuple[int, int]],
            index: dict[str, SentenceEnds]) -> list[Visit]:
    """Dates no code line took whose clause describes a visit and names no procedure code
    ("17110 done 3/2, seen 4/6 for a follow-up": the 4/6 visit)."""
    out: list[Visit] = []
    for b in blocks:
        for d in dates.get(id(b), []):
            if d.kind == "same_day" or (id(b), d.start) in used:
                continue
            lo = max(b.lo, b.dates_from)
            s_lo, s_hi = index[b.text].bounds(d.start, lo, b.end())
            a, z = _bounds(b.text, d.start, s_lo, s_hi, _CLAUSE_BREAK_VISIT)
            if any(p.where == b.where and a <= p.start < z for p in procs):
                continue
            clause = " ".join(b.text[a:z].split())
            if not _VISIT_WORDS.search(clause):
                continue
            sentence = " ".join(b.text[s_lo:s_hi].split())
            on, after = _resolve(d, dates.get(id(b), []))
            if on is None and after is None:
                continue
            visit = Visit(on, after, sentence if len(sentence) < 240 else clause)
            if visit not in out:
                out.append(visit)
    return out


def _dedupe(lines: list[ServiceLine]) -> list[ServiceLine]:
    """One line per code and date: repeats fold into the first (modifiers and units kept); an
    undated repeat of a dated code ("does the 10060 need a modifier?") folds into its first
    line."""
    out: list[ServiceLine] = []
    for ln in lines:
        if ln.date_of_service is None and ln.days_after is None:
            dated = next((o for o in out if o.code == ln.code and o.patient == ln.patient), None)
            if dated is not None:
                _join_context(dated, ln)
                dated.modifiers.extend(x for x in ln.modifiers if x not in dated.modifiers)
                dated.modifier_options.extend(x for x in ln.modifier_options
                                              if x not in dated.modifier_options)
                continue
        twin = next((o for o in out if o.code == ln.code and o.patient == ln.patient
                     and o.date_of_service == ln.date_of_service
                     and o.days_after == ln.days_after), None)
        if twin is None:
            out.append(ln)
            continue
        _join_context(twin, ln)
        twin.modifiers.extend(x for x in ln.modifiers if x not in twin.modifiers)
        if twin.units is None:
            twin.units = ln.units
    return out


def _join_context(line: ServiceLine, other: ServiceLine) -> None:
    """Keep what the mail says of a code in each place it names it (subject and body)."""
    if other.context and other.context not in line.context:
        line.context = f"{line.context}; {other.context}" if line.context else other.context


def _fill(lines: list[ServiceLine], mail_dos: date | None, written: set[date]) -> None:
    """Undated lines take the labelled date of service, or the one date the lines have, or
    the one date the mail writes."""
    dates = {ln.date_of_service for ln in lines if ln.date_of_service}
    fallback = mail_dos or (next(iter(dates)) if len(dates) == 1 else None)
    if fallback is None and not dates and len(written) == 1:
        fallback = next(iter(written))
    if fallback is None:
        return
    for ln in lines:
        if ln.date_of_service is None and ln.days_after is None:
            ln.date_of_service = fallback
