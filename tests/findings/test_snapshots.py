"""Snapshots of the rendered text and HTML, on a tiny KB whose rows the test owns (so the
snapshot changes only when the templates or the rules do). Refresh with
``UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/findings/test_snapshots.py`` and review the diff.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest

from consult.draft import render_draft
from consult.extract.model import Extraction, PhiSpan
from consult.findings import evaluate
from consult.kb.store import KnowledgeBase
from consult.mail.message import ParsedMail

SNAPSHOTS = Path(__file__).resolve().parent.parent / "data" / "golden" / "snapshots"
MakeEx = Callable[..., Extraction]

CODES = [
    {"code": c, "system": s, "description": d, "status": st, "end_date": end,
     "replaced_by": rep, "source": "starter"}
    for c, s, d, st, end, rep in (
        ("43214", "CPT", "Esophagus scope with wide balloon dilation (project wording)",
         "active", "", ""),
        ("43200", "CPT", "Esophagus scope, looking only (project wording)", "active", "", ""),
        ("76000", "CPT", "Fluoroscopy, first hour (project wording)", "active", "", ""),
        ("99213", "CPT", "Office visit, established patient (project wording)", "active", "",
         ""),
        ("20610", "CPT", "Large joint injection (project wording)", "active", "", ""),
        ("J1030", "HCPCS", "Injection, methylprednisolone acetate, 40 mg", "terminated",
         "2024-03-31", "J1010"),
        ("J1010", "HCPCS", "Injection, methylprednisolone acetate, 1 mg", "active", "", ""),
    )
]
PTP = [
    ("43214", "43200", "practitioner", "", "", "0", "CPT Separate procedure definition"),
    ("43214", "76000", "practitioner", "", "", "1", "CPT Manual or CMS manual coding instruction"),
    ("20610", "99213", "practitioner", "", "", "1", "CPT Manual or CMS manual coding instruction"),
]
MODIFIERS = [{"code": m, "description": m} for m in ("25", "59", "RT", "XS")]
PFS = [{"code": "20610", "status": "A", "global_days": "000", "mult_proc": "2", "pctc": "0",
        "bilat": "1"},
       {"code": "99213", "status": "A", "global_days": "XXX", "mult_proc": "0", "pctc": "0",
        "bilat": "0"}]
MUE = [{"code": "J1010", "setting": "practitioner", "value": 160,
        "adjudication": "3 Date of Service Edit: Clinical", "rationale": "Prescribing Information"}]


@pytest.fixture
def snap_kb(tiny_kb: Callable[..., KnowledgeBase]) -> KnowledgeBase:
    return tiny_kb(codes=CODES, ptp=PTP, modifiers=MODIFIERS, pfs=PFS, mue=MUE)


def _mail(body: str) -> ParsedMail:
    return ParsedMail(message_id="<snap@clinic.example>", subject="Coding question",
                      from_addr="dana@clinic.example", from_name="Whitfield, Dana", text=body,
                      date=datetime(2026, 5, 6, 8, 0))


def _check(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{name} has no snapshot; write it with UPDATE_SNAPSHOTS=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; see module docstring"


def test_snapshot_ptp_with_phi(snap_kb: KnowledgeBase, make_ex: MakeEx) -> None:
    body = ("Patient Maria Lopez, MRN 0048812. Can I bill 43214 with 43200-59 and 76000 on "
            "05/04/2026?")
    ex = make_ex("43214", "43200-59", "76000", dos=date(2026, 5, 4), payer="Medicare",
                 question=body)
    start = body.index("Maria")
    ex.phi = [PhiSpan("name", "body", start, start + len("Maria Lopez"))]
    draft = render_draft(_mail(body), ex, evaluate(ex, snap_kb), snap_kb, case_id=41)
    _check("ptp_with_phi.txt", draft.text)
    _check("ptp_with_phi.html", draft.html)


def test_snapshot_status_and_visit(snap_kb: KnowledgeBase, make_ex: MakeEx) -> None:
    body = "We billed 99213-25, 20610-RT and J1030 x 1. Is that right?"
    ex = make_ex("99213-25", "20610-RT", "J1030 x1", question=body)
    draft = render_draft(_mail(body), ex, evaluate(ex, snap_kb, received=date(2026, 5, 6)),
                         snap_kb, case_id=42)
    _check("status_and_visit.txt", draft.text)
    _check("status_and_visit.html", draft.html)
