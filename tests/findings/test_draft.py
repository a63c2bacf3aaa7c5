"""The rendered draft: answer first, codes with descriptions, citations, PHI never quoted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from consult.draft import mask_phi, render_draft
from consult.extract.model import Extraction, PhiSpan
from consult.findings import evaluate
from consult.kb.store import KnowledgeBase
from consult.mail.message import ParsedMail

MakeEx = Callable[..., Extraction]
BODY = (
    "Patient Maria Lopez, DOB 03/04/1956, MRN A77812. Can I bill 43214 with 43200-59 "
    "and 76000 on the same day?"
)


def _mail(body: str = BODY, name: str = "Dana Coder") -> ParsedMail:
    return ParsedMail(message_id="<m1@clinic.example>", subject="NCCI question",
                      from_addr="dana@clinic.example", from_name=name, text=body,
                      date=datetime(2024, 5, 2, 9, 30))


def _draft(kb: KnowledgeBase, make_ex: MakeEx, **kw: object):
    ex = make_ex("43214", "43200-59", "76000", dos=date(2024, 5, 1), question=BODY)
    start = BODY.index("Maria")
    ex.phi = [PhiSpan("name", "body", start, start + len("Maria Lopez"))]
    findings = evaluate(ex, kb, received=date(2024, 5, 2))
    return render_draft(_mail(), ex, findings, kb, case_id=12, **kw)


def test_text_names_codes_pairs_and_greets(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    d = _draft(kb, make_ex)
    assert d.text.startswith("Hello Dana,\n")
    assert "Case #12" in d.text
    for code in ("43214", "43200", "76000"):
        assert code in d.text
    text = " ".join(d.text.split())
    assert "43214 (column 1) with 43200 (column 2)" in text
    assert "modifier indicator 0" in text and "modifier indicator 1" in text
    assert d.text.index("Answer: No: 43200 is bundled into 43214") < d.text.index("Details")
    assert "payer policy and the medical record decide" in d.text
    assert d.kb_version == kb.version and kb.version in d.text


def test_commercial_payer_gets_the_ncci_caveat(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    ex = make_ex("43214", "43200", dos=date(2024, 5, 1), question="Can I bill 43214 with 43200?",
                 payer="Aetna")
    ex.payer_class = "commercial"
    d = render_draft(_mail(), ex, evaluate(ex, kb), kb)
    assert "Aetna, a commercial plan, may apply its own edits" in " ".join(d.text.split())


def test_phi_is_never_quoted(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    d = _draft(kb, make_ex)
    for secret in ("Maria", "Lopez", "A77812", "03/04/1956"):
        assert secret not in d.text
        assert secret not in d.html
    assert "de-identified" in d.text and "de-identified" in d.html


def test_html_lists_the_findings_behind_the_answer(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    d = _draft(kb, make_ex)
    assert d.html.count('<li class="finding') >= 2
    assert "<strong>Answer:</strong>" in d.html


def test_html_escapes_the_question(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    ex = make_ex("43214", question="Is <b>43214</b> & 43200 ok?")
    d = render_draft(_mail(body=ex.question), ex, evaluate(ex, kb), kb)
    assert "Is &lt;b&gt;43214&lt;/b&gt; &amp; 43200 ok?" in d.html
    assert "Is <b>43214</b> & 43200 ok?" in d.text


def test_same_input_gives_same_bytes(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    assert _draft(kb, make_ex) == _draft(kb, make_ex)


def test_mask_phi_safety_nets() -> None:
    masked = mask_phi("SSN 123-45-6789, call (555) 123-4567, jo@x.org, MRN: 99812", [])
    assert "6789" not in masked and "4567" not in masked and "jo@x.org" not in masked
    assert "99812" not in masked


def test_unknown_sender_name_gets_plain_greeting(kb: KnowledgeBase, make_ex: MakeEx) -> None:
    ex = make_ex("43214")
    d = render_draft(_mail(name=""), ex, evaluate(ex, kb), kb)
    assert d.text.startswith("Hello,\n")


def test_a_draft_made_ahead_is_the_same_once_its_case_number_is_in(
        kb: KnowledgeBase, make_ex: MakeEx, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Analysis workers draft before the case has a number; filling it in must give the bytes
    the intake would render itself, also when the draft is cut to size (a small limit here)."""
    import consult.analyzed as analyzed_module
    from consult.analyzed import fill_case
    from consult.pipeline import CASE_SLOT

    ex = make_ex("43214", "43200-59", "76000", dos=date(2024, 5, 1), question=BODY)
    findings = evaluate(ex, kb, received=date(2024, 5, 2))
    for limit in (analyzed_module.MAX_DRAFT_CHARS, 400):
        monkeypatch.setattr(analyzed_module, "MAX_DRAFT_CHARS", limit)
        ahead = render_draft(_mail(), ex, findings, kb, case_slot=CASE_SLOT)
        assert ahead.slot == CASE_SLOT and CASE_SLOT in ahead.text and CASE_SLOT in ahead.html
        for case_id in (12, 1234567890):
            direct = render_draft(_mail(), ex, findings, kb, case_id=case_id)
            assert fill_case(ahead, case_id) == direct
            assert f"Case #{case_id}" in direct.html
        assert limit > 1_000 or "[draft cut" in direct.text
