"""Extraction: what a consultation mail asks about.

``extract(mail, kb)`` is pure (no clock, no network, KB read-only) and is what the intake and
`consult extract` call. It reads the subject, the sender's new text, attachment text and the
quoted history (reported with ``where="quoted"``), never the signature or legal footers.

Codes found in more than one place are reported once, at their first place in reading order
(subject, body, attachment, quoted); quoted history only adds codes the new text lacks.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from consult.extract.codes import find_codes, has_pcs_context
from consult.extract.lookup import CodeLookup
from consult.extract.model import CodeMention, Extraction, PhiSpan, Where
from consult.extract.narrative import date_of_service, payer, place_of_service, question, setting
from consult.extract.phi import find_phi

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


def without_footer(text: str) -> str:
    """``text`` cut at a signature separator or legal footer (a prefix, so offsets hold)."""
    m = _FOOTER.search(text)
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


def extract(mail: ParsedMail, kb: KnowledgeBase | None = None) -> Extraction:
    """Codes (with modifiers, units, KB knowledge), question, date of service, payer, setting,
    narrative and PHI spans of one parsed mail. ``kb=None`` gives pattern-only results."""
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
    codes: list[CodeMention] = []
    for where, _text in parts:
        _merge(codes, found[where])
    if old:
        seen = {(c.system, c.code) for c in codes}
        _merge(codes, [c for c in old if (c.system, c.code) not in seen])
    new_texts = (mail.subject, body, attach)
    phi: list[PhiSpan] = []
    for where, text in (*parts, ("quoted", quoted)):
        phi.extend(find_phi(text, where))  # type: ignore[arg-type]
    return Extraction(
        codes=codes,
        question=question(body, mail.subject),
        date_of_service=date_of_service(*new_texts) or date_of_service(quoted),
        payer=payer(*new_texts) or payer(quoted),
        setting=setting(*new_texts) or setting(quoted),
        narrative=" ".join(body.split())[:2000],
        phi=phi,
        place_of_service=place_of_service(*new_texts),
    )
