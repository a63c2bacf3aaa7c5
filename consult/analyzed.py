"""What the intake keeps of an analysed mail: its parse, a digest of the analysis, the draft.

The analysis itself (``consult.pipeline``: extraction, findings, answered parts) runs in the
budgeted analysis workers (``workers.analysis_pool``) or, without them, in process. What crosses
back to the intake is only what it writes: the case's codes and expert flag, the JSON the
review page shows, and the draft rendered with a placeholder where the case number goes. So the
intake never imports the extraction, findings or template modules, nor unpickles their objects:
a third of an intake process's start-up when it did (``bench/scaleout.py``).

Everything here is plain data and string work; no module of the core is imported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from consult.mail.message import ParsedMail

#: A draft never grows past this many characters (a hostile mail cannot make a huge one).
MAX_DRAFT_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class DraftText:
    """A rendered draft: the two MIME parts and the KB version it was drafted from.

    ``slot`` is set on a draft rendered before its case had a number (in an analysis worker):
    the token that stands where the case number goes, and the parts are not cut to size yet;
    ``fill_case`` makes the draft the case gets."""

    text: str
    html: str
    kb_version: str
    slot: str = ""


def fill_case(draft: DraftText, case_id: int) -> DraftText:
    """A draft rendered with a ``case_slot``, naming case ``case_id`` and cut to size: the
    same bytes ``render_draft(..., case_id=case_id)`` gives."""
    if not draft.slot:
        return draft
    number = str(case_id)
    return cut_to_size(draft.text.replace(draft.slot, number),
                       draft.html.replace(draft.slot, number), draft.kb_version)


def cut_to_size(text: str, html: str, kb_version: str) -> DraftText:
    """The draft within ``MAX_DRAFT_CHARS`` (a hostile mail cannot make a huge one)."""
    if len(text) > MAX_DRAFT_CHARS:
        text = text[:MAX_DRAFT_CHARS].rsplit("\n", 1)[0] + "\n[draft cut: see the case page]\n"
    if len(html) > 4 * MAX_DRAFT_CHARS:
        html = html[: 4 * MAX_DRAFT_CHARS] + "<p>[draft cut: see the case page]</p>"
    return DraftText(text=text, html=html, kb_version=kb_version)


class RemoteFailure(Exception):
    """An exception raised where a mail was prepared; its text is the traceback there."""


@dataclass(frozen=True, slots=True)
class Digest:
    """What the intake writes of one analysis (``consult.pipeline.Analysis.digest``).

    ``summary`` is ``Analysis.to_json()`` without the draft's two keys (plain JSON values);
    ``draft`` was rendered with a case slot, or is None with ``draft_error`` (the ``repr`` of
    the exception, as a quarantine reason says it) and ``draft_trace`` when rendering failed.
    """

    codes: str
    needs_expert: bool
    expert_reason: str
    summary: dict[str, Any]
    draft: DraftText | None
    draft_error: str = ""
    draft_trace: str = ""

    def for_case(self, case_id: int) -> DraftText | None:
        """The draft of case ``case_id``, or None when it could not be rendered (then
        ``draft_error`` says why)."""
        return None if self.draft is None else fill_case(self.draft, case_id)

    def analysis_json(self, draft: DraftText) -> str:
        """The draft row's ``analysis_json``: ``Analysis.to_json()`` of the drafted mail."""
        return json.dumps({**self.summary, "reply_text": draft.text,
                           "kb_version": draft.kb_version}, default=str)


@dataclass
class AnalyzedMail:
    """The part of intake that needs only the raw bytes and the KB, done ahead (maybe elsewhere).

    A process pool runs it so the intake keeps only the database work. Failures travel as
    text, since an exception may not pickle: ``parse_error`` / ``analysis_error`` hold
    ``repr(exc)``, the same text the in-process path puts in a quarantine reason, and
    ``trace`` the traceback for the log. ``digest`` is only there for a usable, answerable
    mail with a sender, the mails intake drafts.
    """

    mail: ParsedMail | None
    digest: Digest | None = None
    parse_error: str = ""
    analysis_error: str = ""
    trace: str = ""
    #: Why the work was stopped (``mail`` is then None): too much CPU time, wall-clock time or
    #: memory in an analysis worker (``workers.analysis_pool``); the intake quarantines the mail.
    over_budget: str = ""
