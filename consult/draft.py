"""The drafted reply: one short answer per question, then the cited findings behind them.

A senior coder approves a draft in one read when it answers the question first, in plain
words, in the coder's own terms: each question part is restated in the sender's own sentence
and answered in one to three sentences; the findings that support the answers follow, each
with its source, version and effective date; a part no source covers is said to be so. What
does not bear on the question is left out (the case page keeps every finding). The sender's
own text is never quoted except the question, with every PHI span masked; the reminder to
de-identify appears only when the mail named a patient. Rendering is pure and deterministic:
the same mail, findings and KB give the same bytes.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from consult.analyzed import DraftText, cut_to_size
from consult.extract.model import Extraction
from consult.findings.answers import AnsweredPart, answer_parts
from consult.findings.context import MAX_CODES, RuleContext, unique_mentions
from consult.findings.model import Finding
from consult.findings.rules import RULE_LABELS
from consult.kb.store import KnowledgeBase
from consult.mail.message import ParsedMail
from consult.phi_patterns import SAFETY_NET_KINDS, mask
from consult.templating import environment

MASK = "[removed]"
QUESTION_LIMIT = 300
#: Supporting findings shown in a draft; the case page lists every one.
MAX_DETAILS = 8
#: PHI kinds that identify a patient; staff phones, e-mails and practice addresses do not.
PATIENT_KINDS = frozenset({"name", "dob", "mrn", "ssn"})


def _phi_texts(mail: ParsedMail, extraction: Extraction) -> list[str]:
    """The literal strings extraction marked as PHI, longest first."""
    sources = {
        "subject": mail.subject,
        "body": mail.text,
        "attachment": mail.attachment_text,
        "quoted": mail.quoted,
        "forwarded": mail.quoted,
    }
    found = set()
    for span in extraction.phi:
        text = sources.get(span.where, "")
        piece = text[span.start:span.end].strip() if 0 <= span.start < span.end else ""
        if len(piece) >= 2:
            found.add(piece)
    return sorted(found, key=lambda s: (-len(s), s))


def mask_phi(text: str, phi_texts: list[str]) -> str:
    """``text`` with every PHI string and every identifier-looking pattern replaced by MASK."""
    for piece in phi_texts:
        if piece.isascii() and text.isascii() and piece.lower() not in text.lower():
            continue  # (exact for ASCII) saves compiling a pattern per PHI string and text
        text = re.sub(re.escape(piece), MASK, text, flags=re.I)
    return mask(text, SAFETY_NET_KINDS, MASK)


def _short(text: str, limit: int = QUESTION_LIMIT) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3].rsplit(" ", 1)[0] + "..."
    return text


def names_patient(extraction: Extraction) -> bool:
    """Whether the mail's own text (not quoted history) identifies a patient."""
    return any(p.kind in PATIENT_KINDS and p.where != "quoted" for p in extraction.phi)


def _greeting_name(mail: ParsedMail) -> str:
    name = " ".join(mail.from_name.replace('"', "").split())
    if "," in name:  # "Doe, Jane"
        name = name.split(",", 1)[1].strip()
    first = name.split(" ")[0] if name else ""
    return first if first.replace("-", "").replace("'", "").isalpha() else ""


def code_rows(extraction: Extraction, kb: KnowledgeBase) -> list[dict[str, str]]:
    """One row per code the sender asked about (not quoted history), with its description."""
    rows = []
    for m in unique_mentions(extraction.codes_in())[:MAX_CODES]:
        info = kb.code(m.code, m.system) or kb.code(m.code)
        if info is None:
            description, status = "not found in the knowledge base", "unknown"
        else:
            description = info.lay_description or info.description
            status = info.status if info.status != "active" or info.billable else "not billable"
        rows.append({
            "code": m.code,
            "system": m.system,
            "modifiers": "-".join(m.modifiers) or "",
            "units": str(m.units) if m.units is not None else "",
            "description": description,
            "status": status,
        })
    return rows


def wrap(text: str, width: int = 76, indent: str = "", margin: str = "") -> str:
    """Greedy word wrap for the text part (textwrap is several times slower and this runs for
    every finding of every draft). Continuation lines start with ``indent``, every line with
    ``margin``; words are never broken."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = indent + word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n".join(margin + x for x in lines)


def shown_findings(findings: list[Finding], parts: list[AnsweredPart]) -> list[Finding]:
    """The findings a draft shows: those behind the answers, then any other error, at most
    MAX_DETAILS. Warnings and information nobody asked about stay on the case page."""
    wanted = {i for p in parts for i in p.finding_ids}
    linked = [f for f in findings if f.id in wanted and f.rule != "missing_info"
              and (f.severity != "info" or f.data.get("answer") or f.data.get("show"))]
    others = [f for f in findings if f.id not in wanted and f.severity == "error"
              and f.rule not in ("missing_info", "payer")]
    return (linked + others)[:MAX_DETAILS]


#: A detail whose text an answer already says word for word keeps only its source.
SAID_ABOVE = "As answered above."


def _detail_rows(shown: list[Finding], said: str = "") -> list[dict[str, Any]]:
    """One row per distinct finding; ``said``: the answers' text, so a finding an answer
    states verbatim is not said twice (its number and source are what the reader needs)."""
    flat = " ".join(said.split())
    rows = []
    for i, f in enumerate(_distinct(shown), 1):
        text = basis(f)
        if flat and " ".join(text.split()) in flat:
            text = SAID_ABOVE
        rows.append({
            "n": i,
            "label": RULE_LABELS.get(f.rule, f.rule.replace("_", " ").capitalize()),
            "severity": f.severity,
            "codes": ", ".join(f.codes),
            "detail": text,
            "detail_text": wrap(f"{i}. {text} Source: {f.source}.", 76, "   "),
            "source": f.source,
            "tentative": f.confidence < 0.8,
        })
    return rows


def basis(f: Finding) -> str:
    """What a finding rests on, in one line: the rule's own ``basis`` when it gives one."""
    return str(f.data.get("basis") or f.detail)


def _distinct(shown: list[Finding]) -> list[Finding]:
    """One detail per text: several findings may say the same (one per question part)."""
    seen: set[str] = set()
    out = []
    for f in shown:
        if basis(f) not in seen:
            seen.add(basis(f))
            out.append(f)
    return out


def _part_rows(mail: ParsedMail, extraction: Extraction, parts: list[AnsweredPart],
               shown: list[Finding]) -> list[dict[str, Any]]:
    phi = _phi_texts(mail, extraction)
    first = {basis(f): i for i, f in enumerate(_distinct(shown), 1)}
    number = {f.id: first[basis(f)] for f in shown}
    rows = []
    many = len(parts) > 1
    for k, p in enumerate(parts, 1):
        refs = list(dict.fromkeys(number[i] for i in p.finding_ids if i in number))
        see = f" (see {', '.join(str(r) for r in refs[:4])})" if refs and p.answerable else ""
        question = _short(mask_phi(p.text, phi))
        answer = mask_phi(p.answer, phi) + see
        label = f"Question {k}" if many else "Question"
        rows.append({
            "question": question,
            "answer": answer,
            "answerable": p.answerable,
            "question_text": wrap(f'{label}: "{question}"', 76, "  "),
            "answer_text": wrap(f"Answer: {answer}", 76, "  "),
        })
    return rows


def _asks(findings: list[Finding]) -> list[str]:
    return [str(f.data.get("question", f.detail)) for f in findings if f.rule == "missing_info"]


def draft_context(
    mail: ParsedMail,
    extraction: Extraction,
    findings: list[Finding],
    kb: KnowledgeBase,
    *,
    case_id: int | None = None,
    parts: list[AnsweredPart] | None = None,
    received: date | None = None,
) -> dict[str, Any]:
    """Everything the templates show, as plain data (tested without rendering)."""
    if parts is None:
        when = received or (mail.date.date() if mail.date else None)
        parts = answer_parts(RuleContext.build(extraction, kb, when), findings)
    shown = shown_findings(findings, parts)
    asks = _asks(findings)
    skipped = max(0, len(unique_mentions(extraction.codes_in())) - MAX_CODES)
    return {
        "name": _greeting_name(mail),
        "case_ref": f"Case #{case_id}" if case_id is not None else "",
        "parts": _part_rows(mail, extraction, parts, shown),
        "details": _detail_rows(shown, " ".join(p.answer for p in parts)),
        "asks": asks,
        "asks_text": [wrap("- " + q, 74, "  ", margin="  ") for q in asks],
        "skipped": skipped,
        "max_codes": MAX_CODES,
        "phi_reminder": names_patient(extraction),
        "kb_version": kb.version,
        "codes": code_rows(extraction, kb),
    }


def render_draft(
    mail: ParsedMail,
    extraction: Extraction,
    findings: list[Finding],
    kb: KnowledgeBase,
    *,
    case_id: int | None = None,
    parts: list[AnsweredPart] | None = None,
    received: date | None = None,
    case_slot: str = "",
) -> DraftText:
    """Render the text and HTML parts of the reply to ``mail``.

    With ``case_slot`` (a token no mail can guess) the draft names its case by that token
    and is not cut to size: ``fill_case`` does both once the case has its number. The
    analysis workers draft this way, so the intake's own process only fills in the number.
    """
    ctx = draft_context(mail, extraction, findings, kb, case_id=case_id, parts=parts,
                        received=received)
    if case_slot:
        ctx["case_ref"] = f"Case #{case_slot}"
    env = environment()
    text = _tidy(env.get_template("reply.txt.j2").render(**ctx))
    html = env.get_template("reply.html.j2").render(**ctx)
    if case_slot:
        return DraftText(text=text, html=html, kb_version=kb.version, slot=case_slot)
    return cut_to_size(text, html, kb.version)


def _tidy(text: str) -> str:
    """Collapse runs of blank lines and trailing spaces the template logic leaves behind."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n"
