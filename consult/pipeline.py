"""The pure core in one call: raw bytes -> parsed mail -> extraction -> findings -> draft.

No database, no network, no clock: the intake (an edge) calls ``analyze`` and stores the result,
and `consult extract` / `consult draft` print it. ``received`` is the mail's own date unless the
caller passes one; findings use it when the sender gave no date of service.
"""

from __future__ import annotations

import contextlib
import secrets
import traceback
from dataclasses import dataclass, field
from datetime import date

from consult.draft import DraftText, fill_case, render_draft
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

    def draft_for_case(self, kb: KnowledgeBase, case_id: int) -> DraftText:
        """The draft of case ``case_id``: the one made ahead with the number filled in, else
        rendered now (raises as ``render_draft`` does)."""
        if self.draft is not None and self.draft.slot:
            return fill_case(self.draft, case_id)
        return render_draft(self.mail, self.extraction, self.findings, kb, case_id=case_id,
                            parts=self.parts)

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
#: process, so no mail can contain it (``consult.draft.fill_case`` puts the number there).
CASE_SLOT = f"{{case-{secrets.token_hex(8)}}}"


@dataclass
class AnalyzedMail:
    """The part of intake that needs only the raw bytes and the KB, done ahead (maybe elsewhere).

    A process pool runs it so the intake keeps only the database work; the draft is made here
    too, with the case number still to fill in (``analysis.draft.slot``). Failures travel as
    text, since an exception may not pickle: ``parse_error`` / ``analysis_error`` hold
    ``repr(exc)``, the same text the in-process path puts in a quarantine reason, and
    ``trace`` the traceback for the log. ``analysis`` is only there for a usable, answerable
    mail with a sender, the mails intake drafts.
    """

    mail: ParsedMail | None
    analysis: Analysis | None = None
    parse_error: str = ""
    analysis_error: str = ""
    trace: str = ""
    #: Why the work was stopped (``mail`` is then None): too much CPU time, wall-clock time or
    #: memory in an analysis worker (``workers.analysis_pool``); the intake quarantines the mail.
    over_budget: str = ""


def analyze_raw(raw: bytes, kb: KnowledgeBase, *, own_addresses: frozenset[str]) -> AnalyzedMail:
    """Parse, extract and evaluate one mail; never raises for a bad mail."""
    try:
        mail = parse_message(raw, own_addresses=own_addresses)
    except Exception as exc:
        return AnalyzedMail(None, parse_error=repr(exc), trace=traceback.format_exc())
    if mail.unusable or mail.kind in UNANSWERABLE_KINDS or not mail.from_addr:
        return AnalyzedMail(mail)
    try:
        analysis = analyze_mail(mail, kb, with_draft=False)
    except Exception as exc:
        return AnalyzedMail(mail, analysis_error=repr(exc), trace=traceback.format_exc())
    # drafted here too, the case number left as CASE_SLOT (see render_draft); should it fail,
    # the intake renders again and quarantines the mail with the reason
    with contextlib.suppress(Exception):
        analysis.draft = render_draft(mail, analysis.extraction, analysis.findings, kb,
                                      parts=analysis.parts, case_slot=CASE_SLOT)
    return AnalyzedMail(mail, analysis)
