"""The pure core in one call: raw bytes -> parsed mail -> extraction -> findings -> draft.

No database, no network, no clock: the intake (an edge) calls ``analyze_raw`` and stores its
digest (``consult.analyzed``); `consult extract` / `consult draft` print ``analyze``'s result.
``received`` is the mail's own date unless the caller passes one; findings use it when the
sender gave no date of service.
"""

from __future__ import annotations

import secrets
import traceback
from dataclasses import dataclass, field
from datetime import date

from consult.analyzed import AnalyzedMail, Digest, DraftText
from consult.draft import render_draft
from consult.extract import extract
from consult.extract.model import Extraction
from consult.findings import assess
from consult.findings.answers import AnsweredPart
from consult.findings.model import Finding
from consult.kb.store import KnowledgeBase
from consult.mail.message import UNANSWERABLE_KINDS, ParsedMail
from consult.mail.parse import parse_message


@dataclass
class Analysis:
    """Everything the core says about one mail."""

    mail: ParsedMail
    extraction: Extraction
    findings: list[Finding] = field(default_factory=list)
    draft: DraftText | None = None
    parts: list[AnsweredPart] = field(default_factory=list)

    @property
    def needs_expert(self) -> bool:
        """A question part our sources cannot answer: the case goes to an expert."""
        return any(not p.answerable for p in self.parts)

    @property
    def expert_reason(self) -> str:
        return "; ".join(dict.fromkeys(p.reason for p in self.parts if not p.answerable))

    def digest(self, kb: KnowledgeBase, case_slot: str) -> Digest:
        """What the intake writes of this analysis, drafted with ``case_slot`` where the case
        number goes (``Digest.for_case`` fills it in); a failed rendering travels as text."""
        draft, error, trace = None, "", ""
        try:
            draft = render_draft(self.mail, self.extraction, self.findings, kb, parts=self.parts,
                                 case_slot=case_slot)
        except Exception as exc:
            error, trace = repr(exc), traceback.format_exc()
        summary = self.to_json()
        del summary["reply_text"], summary["kb_version"]
        return Digest(" ".join(dict.fromkeys(c.code for c in self.extraction.codes)),
                      self.needs_expert, self.expert_reason, summary, draft, error, trace)

    def to_json(self) -> dict:
        out = self.extraction.to_json(self.mail.kind)
        out["questions"] = [p.to_json() for p in self.parts]
        out["needs_expert"] = self.needs_expert
        out["expert_reason"] = self.expert_reason
        out["findings"] = [f.to_json() for f in self.findings]
        out["reply_text"] = self.draft.text if self.draft else None
        out["kb_version"] = self.draft.kb_version if self.draft else None
        return out


def analyze_mail(
    mail: ParsedMail,
    kb: KnowledgeBase,
    *,
    case_id: int | None = None,
    received: date | None = None,
    with_draft: bool = True,
) -> Analysis:
    """Extract, evaluate and draft for an already parsed mail."""
    extraction = extract(mail, kb)
    when = received or (mail.date.date() if mail.date else None)
    findings, parts = assess(extraction, kb, received=when)
    draft = None
    if with_draft and mail.kind not in UNANSWERABLE_KINDS:
        draft = render_draft(mail, extraction, findings, kb, case_id=case_id, parts=parts)
    return Analysis(mail, extraction, findings, draft, parts)


def analyze(
    raw: bytes,
    kb: KnowledgeBase,
    *,
    own_addresses: frozenset[str] = frozenset(),
    case_id: int | None = None,
    received: date | None = None,
    with_draft: bool = True,
) -> Analysis:
    """Parse raw bytes and run the whole core on them."""
    mail = parse_message(raw, own_addresses=own_addresses)
    return analyze_mail(mail, kb, case_id=case_id, received=received, with_draft=with_draft)


#: Where a draft made ahead (before its case has a number) names the case; random per
#: process, so no mail can contain it (``consult.analyzed.fill_case`` puts the number there).
CASE_SLOT = f"{{case-{secrets.token_hex(8)}}}"


def analyze_raw(raw: bytes, kb: KnowledgeBase, *, own_addresses: frozenset[str]) -> AnalyzedMail:
    """Parse, extract, evaluate and draft one mail (the case number left as ``CASE_SLOT``), for
    the intake; never raises for a bad mail. A failed rendering is in ``digest.draft_error``:
    the intake quarantines the mail with it."""
    try:
        mail = parse_message(raw, own_addresses=own_addresses)
    except Exception as exc:
        return AnalyzedMail(None, parse_error=repr(exc), trace=traceback.format_exc())
    if mail.unusable or mail.kind in UNANSWERABLE_KINDS or not mail.from_addr:
        return AnalyzedMail(mail)
    try:
        digest = digest_mail(mail, kb)
    except Exception as exc:
        return AnalyzedMail(mail, analysis_error=repr(exc), trace=traceback.format_exc())
    return AnalyzedMail(mail, digest)


def digest_mail(mail: ParsedMail, kb: KnowledgeBase) -> Digest:
    """``analyze_raw``'s digest of a mail parsed already (raises when the analysis does)."""
    return analyze_mail(mail, kb, with_draft=False).digest(kb, CASE_SLOT)
