"""Extraction: what a consultation mail asks about, read as a coder reads it.

``extract(mail, kb)`` is pure (no clock, no network, KB read-only) and is what the intake and
`consult extract` call. It reads the subject, the sender's new text, attachment text, a
forwarded question below a cover note (``where="forwarded"``, counted like the body) and the
quoted history (``where="quoted"``, context only), never signatures or legal footers. Then it
reads the mail as a coder does: each procedure line with its own date of service, the choices
the coder offers ("A or B?"), the payer class, and the question split into typed parts.

Codes found in more than one place are reported once, at their first place in reading order
(subject, body, attachment, forwarded, quoted); quoted history only adds codes the rest lacks.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from consult.extract.alternatives import apply_choices
from consult.extract.codes import find_codes, has_pcs_context
from consult.extract.cues import Caseless
from consult.extract.forwarded import Forwarded, find_forwarded
from consult.extract.lines import TextBlock, read_lines
from consult.extract.lookup import CodeLookup
from consult.extract.model import CodeMention, Extraction, PhiSpan, Where
from consult.extract.narrative import (
    date_of_service,
    payer,
    payer_class,
    place_of_service,
    setting,
)
from consult.extract.phi import find_phi
from consult.extract.questions import question_parts
from consult.extract.traps import lower_same_length
from consult.extract.when import find_dates, says_different_days

if TYPE_CHECKING:
    from consult.kb.store import KnowledgeBase
    from consult.mail.message import ParsedMail

__all__ = ["CodeMention", "Extraction", "PhiSpan", "extract"]

#: Where a legal footer or a signature separator starts; text below it is not the sender's.
_FOOTER = re.compile(
    r"(?im)^(?:--\s*$|_{5,}\s*$|confidentiality\s+notice|this\s+(?:e-?mail|message|"
    r"communication)\s+(?:and\s+any\s+attachments?\s+)?(?:is|are|may\s+contain|contains)\s+"
    r"(?:confidential|intended|privileged)|notice\s*:\s*this\s+(?:e-?mail|message)|"
    r"disclaimer\s*:|sent\s+from\s+my\s+(?:iphone|ipad|android|phone))"
)


_FOOTER_CASELESS = Caseless(_FOOTER)


def without_footer(text: str) -> str:
    """``text`` cut at a signature separator or legal footer (a prefix, so offsets hold)."""
    m = _FOOTER_CASELESS.search(text, lower_same_length(text))
    return text[: m.start()] if m else text


def _merge(codes: list[CodeMention], new: list[CodeMention]) -> None:
    """Add ``new`` mentions, folding repeats of a code into its first mention."""
    for c in new:
        twin = next(
            (
                o
                for o in codes
                if o.system == c.system
                and o.code == c.code
                and (not o.modifiers or not c.modifiers or o.modifiers == c.modifiers)
                and (o.where == "quoted") == (c.where == "quoted")
            ),
            None,
        )
        if twin is None:
            codes.append(c)
            continue
        for m in c.modifiers:
            if m not in twin.modifiers:
                twin.modifiers.append(m)
        if twin.units is None:
            twin.units = c.units


def _lines(text: str) -> str:
    """The text with each line's spacing collapsed and blank runs made one: sentences and lines
    stay (Case2Code reads clinical lines; signatures and greetings sit on their own lines)."""
    out: list[str] = []
    for line in text.splitlines():
        line = " ".join(line.split())
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _forwarded_codes(old: list[CodeMention], fwd: Forwarded) -> list[CodeMention]:
    """Quoted codes inside the forwarded messages, re-labelled ``forwarded`` (same offsets)."""
    out = []
    for c in old:
        if fwd.contains(c.start):
            c.where = "forwarded"
            out.append(c)
    return out


def extract(mail: ParsedMail, kb: KnowledgeBase | None = None) -> Extraction:
    """Codes (with modifiers, units, KB knowledge), question, date of service, payer, setting,
    narrative, PHI spans, and the coder's reading of them (service lines with their dates,
    alternatives, payer class, typed question parts) of one parsed mail. ``kb=None`` gives
    pattern-only results."""
    lookup = CodeLookup(kb)
    body = without_footer(mail.text)
    attach = without_footer(mail.attachment_text)
    quoted = mail.quoted
    parts: list[tuple[Where, str]] = [
        ("subject", mail.subject),
        ("body", body),
        ("attachment", attach),
    ]
    pcs = any(has_pcs_context(t) for _w, t in parts)
    found = {where: find_codes(text, where, lookup, pcs_context=pcs) for where, text in parts[1:]}
    old = (
        find_codes(quoted, "quoted", lookup, pcs_context=pcs or has_pcs_context(quoted))
        if quoted
        else []
    )
    # A subject is too short to hold context words ("59510 with tubal"): a code-shaped token
    # there is a code when the mail writes it as one elsewhere.
    elsewhere = frozenset((c.system, c.code) for ms in (*found.values(), old) for c in ms)
    found["subject"] = find_codes(
        mail.subject, "subject", lookup, pcs_context=pcs, confirmed=elsewhere
    )
    new_has_codes = any(found[w] for w in ("body", "attachment"))
    fwd = find_forwarded(mail, new_text_has_codes=new_has_codes) if quoted else Forwarded()
    forwarded = _forwarded_codes(old, fwd) if fwd else []
    # every occurrence, before repeats fold: the same code on two dates is two service lines
    occurrences = [c.copy() for where, _t in parts for c in found[where]]
    occurrences += [c.copy() for c in forwarded]
    codes: list[CodeMention] = []
    for where, _text in parts:
        _merge(codes, found[where])
    _merge(codes, forwarded)
    rest = [c for c in old if c.where == "quoted"]
    if rest:
        seen = {(c.system, c.code) for c in codes}
        _merge(codes, [c for c in rest if (c.system, c.code) not in seen])
    fwd_text = fwd.text(quoted) if fwd else ""
    new_texts = (mail.subject, body, attach, fwd_text)
    phi: list[PhiSpan] = []
    for where, text in (*parts, ("quoted", quoted)):
        phi.extend(find_phi(text, where))  # type: ignore[arg-type]
    if fwd:
        phi = [PhiSpan(p.kind, "forwarded", p.start, p.end)
               if p.where == "quoted" and fwd.contains(p.start) else p for p in phi]
    received = mail.date.date() if mail.date else None
    dos = date_of_service(*new_texts) or date_of_service(quoted)
    name = payer(*new_texts) or payer(quoted)
    blocks = [TextBlock("subject", mail.subject, received), TextBlock("body", body, received),
              TextBlock("attachment", attach, received)]
    blocks += [TextBlock("forwarded", quoted, d or received, m.start, m.body_end, m.body_start)
               for m, d in zip(fwd.messages, fwd.dates, strict=True)]
    asked = [c for c in codes if c.where != "quoted"]
    lines, visits = read_lines(occurrences, blocks, mail_dos=dos)
    texts = {"subject": mail.subject, "body": body, "attachment": attach}
    if fwd:
        texts["forwarded"] = quoted
    alternatives = apply_choices(lines, texts, [c for c in occurrences if c.where != "quoted"])
    question_texts = [fwd_text, body] if fwd else [body]
    qparts = question_parts(question_texts, mail.subject, [c.code for c in asked])
    for qp in qparts:
        qp.dates = [d.on for d in find_dates(qp.text, received) if d.on is not None]
    return Extraction(
        codes=codes,
        question=" ".join(p.text for p in qparts[:3]),
        date_of_service=dos,
        payer=name,
        setting=setting(*new_texts) or setting(quoted),
        narrative=_lines(f"{body}\n\n{fwd_text}")[:4000],
        phi=phi,
        place_of_service=place_of_service(*new_texts),
        payer_class=payer_class(name, *new_texts),  # type: ignore[arg-type]
        forwarded=bool(fwd),
        service_lines=lines,
        visits=visits,
        alternatives=alternatives,
        parts=qparts,
        different_days=says_different_days(" ".join(new_texts)),
    )
