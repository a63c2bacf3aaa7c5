"""Item 2: attachment bombs are refused or cut short before the expensive step, and honest
attachments still give their text."""

from __future__ import annotations

import io
import random
import time

from support import hostile

from consult.mail import attachments
from consult.mail.attachments import extract_text
from consult.mail.html_text import html_to_text
from consult.mail.parse import parse_message


def test_docx_bomb_is_refused_from_its_zip_directory() -> None:
    data = hostile.docx_bytes(8.0)  # 8 MB of XML in ~50 KB
    started = time.perf_counter()
    text, note = extract_text(data, "note.docx", "application/octet-stream")
    took = time.perf_counter() - started
    assert text is None and "zip bomb" in note, note
    assert took < 2.0, f"{took:.2f} s: the archive was inflated"  # ~6 s before the cap


def test_an_honest_docx_still_gives_its_text() -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Can we bill 43214 with 43200, modifier 59?")
    buf = io.BytesIO()
    document.save(buf)
    assert attachments.zip_refusal(buf.getvalue()) == ""
    text, _note = extract_text(buf.getvalue(), "q.docx", "application/octet-stream")
    assert text is not None and "43214 with 43200" in text


def test_pdf_pages_stop_at_the_content_cap() -> None:
    data = hostile.pdf_bytes(pages=12)  # ~8 s for all twelve pages before the cap
    text, note = extract_text(data, "note.pdf", "application/pdf")
    per_page = len(b"0 0 Td ") * 60_000
    read = attachments.MAX_PDF_CONTENT_BYTES // per_page
    assert note == f"text of the first {read} of 12 pages (1024 KB page content cap)", note
    assert text is not None and "43214" in text


def test_html_that_is_quadratic_for_the_stdlib_parser_is_linear_now() -> None:
    # before: 20,000 "<a " took ~30 s, 60,000 "<!--" ~25 s (quadratic); now ~0.1 s each
    for construct, count in (("<a ", 20_000), ("<!--", 60_000), ("<![CDATA[ x", 20_000)):
        html = "<p>43214 with 43200?</p>" + construct * count
        started = time.perf_counter()
        text = html_to_text(html)
        took = time.perf_counter() - started
        assert text.startswith("43214 with 43200?"), text[:80]
        assert took < 5.0, f"{construct!r}: {took:.2f} s"


def test_random_markup_soup_parses_in_linear_time() -> None:
    tokens = ["<", "<a", " ", "<!--", "-->", ">", "</", "<!", "<?", '"', "'", "=", "<![",
              "]]>", "]>", "<script>", "</script>", "<p>", "x", "<![if", "<![CDATA[", "/>"]
    rng = random.Random(13)
    worst = 0.0
    for _ in range(40):
        pick = rng.sample(tokens, rng.randint(2, 6))
        soup = "".join(rng.choice(pick) for _ in range(40_000))
        started = time.perf_counter()
        html_to_text(soup)
        worst = max(worst, time.perf_counter() - started)
    assert worst < 3.0, f"worst {worst:.2f} s"  # quadratic soups took minutes


def test_a_mail_carrying_a_bomb_keeps_its_question() -> None:
    raw = hostile.with_attachment(hostile.docx_bytes(8.0), "a.docx", "application",
                                  "vnd.openxmlformats-officedocument.wordprocessingml.document")
    mail = parse_message(raw)
    assert not mail.unusable and "43214" in mail.text
    [attachment] = mail.attachments
    assert attachment.text is None and "zip bomb" in attachment.note
