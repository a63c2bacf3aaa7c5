"""The drafted reply: findings -> a text and an HTML part a senior coder approves in one read.

The answer comes first, then the codes with their descriptions, each finding with its citation,
questions back to the sender, and a disclaimer. The sender's own text is never quoted except the
extracted question, with every PHI span masked; when the mail carried patient identifiers the
draft asks for de-identified details. Rendering is pure and deterministic: the same mail, findings
and KB give the same bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from consult.extract.model import Extraction
from consult.findings.context import unique_mentions
from consult.findings.model import Finding
from consult.kb.store import KnowledgeBase
from consult.mail.message import ParsedMail
from consult.templating import environment

RULE_LABELS = {
    "code_status": "Code status",
    "unknown_code": "Code not found",
    "ncci_ptp": "NCCI procedure-to-procedure edit",
    "mue": "Medically unlikely edit (units)",
    "addon": "Add-on code",
    "global_period": "Global surgical period",
    "icd_billable": "ICD-10-CM: billable code",
    "icd_seventh": "ICD-10-CM: 7th character",
    "excludes1": "ICD-10-CM: Excludes1",
    "excludes2": "ICD-10-CM: Excludes2",
    "icd_sequencing": "ICD-10-CM: code first / use additional",
    "modifier": "Modifier",
    "payer": "Payer",
    "suggestion": "Candidate codes",
    "missing_info": "Information needed",
}
SEVERITY_LABELS = {"error": "Must fix", "warning": "Check", "info": "For information"}
MASK = "[removed]"
QUESTION_LIMIT = 400

#: Patient identifiers masked in the quoted question even when extraction missed them.
_SAFETY_NETS = (
    re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),  # SSN
    re.compile(r"\b(?:MRN|DOB|MR#|acct|account)\s*[:#]?\s*[\w/.-]+", re.I),
    re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b"),  # e-mail
    re.compile(r"\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b"),  # phone
)


@dataclass(frozen=True, slots=True)
class DraftText:
    """A rendered draft: the two MIME parts and the KB version it was drafted from."""

    text: str
    html: str
    kb_version: str


def _phi_texts(mail: ParsedMail, extraction: Extraction) -> list[str]:
    """The literal strings extraction marked as PHI, longest first."""
    sources = {
        "subject": mail.subject,
        "body": mail.text,
        "attachment": mail.attachment_text,
        "quoted": mail.quoted,
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
        text = re.sub(re.escape(piece), MASK, text, flags=re.I)
    for pattern in _SAFETY_NETS:
        text = pattern.sub(MASK, text)
    return text


def safe_question(mail: ParsedMail, extraction: Extraction) -> str:
    """The extracted question, PHI masked, one line, shortened to QUESTION_LIMIT characters."""
    question = " ".join(extraction.question.split())
    question = mask_phi(question, _phi_texts(mail, extraction))
    if len(question) > QUESTION_LIMIT:
        question = question[: QUESTION_LIMIT - 3].rsplit(" ", 1)[0] + "..."
    return question


def _greeting_name(mail: ParsedMail) -> str:
    name = " ".join(mail.from_name.replace('"', "").split())
    if "," in name:  # "Doe, Jane"
        name = name.split(",", 1)[1].strip()
    first = name.split(" ")[0] if name else ""
    return first if first.replace("-", "").replace("'", "").isalpha() else ""


def code_rows(extraction: Extraction, kb: KnowledgeBase) -> list[dict[str, str]]:
    """One row per code the sender named (not quoted history), with the KB's description."""
    rows = []
    for m in unique_mentions(extraction.codes_in()):
        info = kb.code(m.code, m.system) or kb.code(m.code)
        if info is None:
            description, status = "not found in the knowledge base", "unknown"
        else:
            description = info.description
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


def _ptp_answer(group: list[Finding]) -> str:
    """One sentence for all the edits sharing a column 1 code and an indicator."""
    first = group[0]
    if len(group) == 1:
        return str(first.data.get("answer") or "")
    c1 = first.data["column1"]
    col2 = [str(f.data["column2"]) for f in group]
    listed = ", ".join(col2[:-1]) + f" and {col2[-1]}"
    if first.data["modifier_indicator"] == "0":
        return f"No: {listed} are bundled into {c1} and no modifier, including 59, unbundles them."
    return (f"Not without a modifier: {listed} are bundled into {c1}; a modifier on each "
            "unbundles it only when the services were distinct.")


def _answers(findings: list[Finding]) -> list[str]:
    """Answer sentences in finding order, the NCCI edits grouped by column 1 code."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    sentences: list[tuple[str, tuple[str, str] | None]] = []
    for f in findings:
        if not f.data.get("answer"):
            continue
        if f.rule == "ncci_ptp":
            key = (str(f.data["column1"]), str(f.data["modifier_indicator"]))
            if key not in groups:
                groups[key] = []
                sentences.append(("", key))
            groups[key].append(f)
        else:
            sentences.append((str(f.data["answer"]), None))
    out: list[str] = []
    for text, group in sentences:
        sentence = _ptp_answer(groups[group]) if group else text
        if sentence not in out:
            out.append(sentence)
    return out


def direct_answer(extraction: Extraction, findings: list[Finding]) -> list[str]:
    """One or two sentences answering the question, from the most important findings."""
    answers = _answers(findings)[:2]
    if answers:
        return answers
    procedures = [m.code for m in unique_mentions(extraction.codes_in())
                  if m.system in ("CPT", "HCPCS")]
    if len(procedures) >= 2 and not any(f.rule == "ncci_ptp" for f in findings):
        return [f"We found no NCCI procedure-to-procedure edit among {', '.join(procedures)}, "
                "so NCCI does not stop you from reporting them together."]
    if not extraction.codes_in():
        return ["Your mail named no codes we could check; the notes below are what we can say "
                "from your description."]
    if not any(f.severity in ("error", "warning") for f in findings):
        return ["We found no problem with the codes you sent in the edits we checked."]
    return ["Please see the points below before you submit the claim."]


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


def _finding_rows(findings: list[Finding]) -> list[dict[str, Any]]:
    return [
        {
            "label": RULE_LABELS.get(f.rule, f.rule),
            "severity": f.severity,
            "severity_label": SEVERITY_LABELS.get(f.severity, f.severity),
            "codes": ", ".join(f.codes),
            "detail": f.detail,
            "detail_text": wrap(f.detail, 73, margin="   ").lstrip(),
            "source": f.source,
            "tentative": f.confidence < 0.8,
        }
        for f in findings
        if f.rule != "missing_info"
    ]


def draft_context(
    mail: ParsedMail,
    extraction: Extraction,
    findings: list[Finding],
    kb: KnowledgeBase,
    *,
    case_id: int | None = None,
) -> dict[str, Any]:
    """Everything the templates show, as plain data (tested without rendering)."""
    question = safe_question(mail, extraction)
    answer = direct_answer(extraction, findings)
    questions = [str(f.data.get("question", f.detail)) for f in findings
                 if f.rule == "missing_info"]
    return {
        "name": _greeting_name(mail),
        "case_ref": f"Case #{case_id}" if case_id is not None else "",
        "question": question,
        "question_text": wrap(f'You asked: "{question}"', 76, "  "),
        "answer": answer,
        "answer_text": wrap("Short answer: " + " ".join(answer), 76),
        "codes": code_rows(extraction, kb),
        "findings": _finding_rows(findings),
        "questions": questions,
        "questions_text": [wrap("- " + q, 74, "  ", margin="  ") for q in questions],
        "phi_reminder": bool(extraction.phi),
        "kb_version": kb.version,
    }


def render_draft(
    mail: ParsedMail,
    extraction: Extraction,
    findings: list[Finding],
    kb: KnowledgeBase,
    *,
    case_id: int | None = None,
) -> DraftText:
    """Render the text and HTML parts of the reply to ``mail``."""
    ctx = draft_context(mail, extraction, findings, kb, case_id=case_id)
    env = environment()
    text = env.get_template("reply.txt.j2").render(**ctx)
    html = env.get_template("reply.html.j2").render(**ctx)
    return DraftText(text=_tidy(text), html=html, kb_version=kb.version)


def _tidy(text: str) -> str:
    """Collapse runs of blank lines and trailing spaces the template logic leaves behind."""
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n"
