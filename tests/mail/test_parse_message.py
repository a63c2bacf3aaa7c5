"""parse_message on literal mails: headers, bodies, charsets, HTML, nesting, attachments."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from consult.mail.parse import MAX_ATTACHMENT_TEXT, parse_message

from .builders import make_docx, make_pdf

QUESTION = b"""From: =?utf-8?q?J=C3=BCrgen_Coder?= <Jurgen@Clinic.example>
To: Desk <coding@consult.example>, other@x.example
Cc: boss@clinic.example
Subject: =?utf-8?b?UmU6IDQzMjE0IHdpdGggNDMyMDA/?=
Date: Tue, 3 Mar 2020 10:00:00 -0500
Message-ID: < abc@clinic.example >
In-Reply-To: <x1@consult.example>
References: <x0@consult.example>
 <x1@consult.example>
Content-Type: text/plain; charset=utf-8

Can I bill 43214 with 43200 on the same day? Modifier 59?

Thanks,
Jurgen
Billing office

On Mon, Mar 2, 2020 at 9:00 AM Desk <coding@consult.example> wrote:
> Please send the codes.
"""


def mime(headers: str, body: bytes) -> bytes:
    return headers.replace("\n", "\r\n").encode() + b"\r\n" + body


def test_plain_question_fields() -> None:
    mail = parse_message(QUESTION)
    assert mail.message_id == "abc@clinic.example"
    assert mail.subject == "Re: 43214 with 43200?"
    assert (mail.from_addr, mail.from_name) == ("jurgen@clinic.example", "Jürgen Coder")
    assert mail.to == ["coding@consult.example", "other@x.example"]
    assert mail.cc == ["boss@clinic.example"]
    assert mail.date == datetime(2020, 3, 3, 15, 0, tzinfo=UTC)
    assert mail.date.utcoffset() == timedelta(hours=-5)
    assert mail.in_reply_to == "x1@consult.example"
    assert mail.references == ["x0@consult.example", "x1@consult.example"]
    assert mail.text == "Can I bill 43214 with 43200 on the same day? Modifier 59?"
    assert mail.signature == "Thanks,\nJurgen\nBilling office"
    assert mail.quoted.startswith("On Mon, Mar 2, 2020") and "> Please send" in mail.quoted
    assert mail.kind == "question" and not mail.unusable and mail.defects == []
    assert mail.header("Message-ID") == "< abc@clinic.example >"


def test_unparseable_date_is_none_and_noted() -> None:
    mail = parse_message(b"From: a@b.example\nDate: yesterday-ish\nSubject: x\n\nhello\n")
    assert mail.date is None
    assert "Date unparseable" in mail.defects


def test_date_without_zone_is_made_aware() -> None:
    mail = parse_message(b"From: a@b.example\nDate: Tue, 3 Mar 2020 10:00:00 -0000\n\nhi\n")
    assert mail.date is not None and mail.date.tzinfo is not None


def test_eight_bit_headers_and_unknown_charset_body() -> None:
    raw = ("From: Jos\u00e9 <jose@clinic.example>\nSubject: C\u00f3digo 43239\n"
           "Content-Type: text/plain; charset=x-klingon\n\nPaciente: se\u00f1or 43239\n")
    mail = parse_message(raw.encode("utf-8"))
    assert mail.subject == "Código 43239"
    assert mail.from_name == "José"
    assert mail.text == "Paciente: señor 43239"
    assert any("charset guessed" in d for d in mail.defects)


def test_wrong_declared_charset_falls_back_to_cp1252() -> None:
    body = "Don\u2019t bill 99213 \u2013 use 99214".encode("cp1252")
    raw = mime("From: a@b.example\nSubject: q\nContent-Type: text/plain; charset=utf-8\n", body)
    assert parse_message(raw).text == "Don’t bill 99213 – use 99214"


def test_latin1_header_encoded_word_and_8bit_in_names() -> None:
    raw = b"From: =?iso-8859-1?q?M=FCller=2C_Anna?= <anna@x.example>\nSubject: =?ISO-8859-1?B?" \
        + base64.b64encode("Über 43235".encode("latin-1")) + b"?=\n\nbody\n"
    mail = parse_message(raw)
    assert mail.from_name == "Müller, Anna" and mail.from_addr == "anna@x.example"
    assert mail.subject == "Über 43235"


def test_html_only_mail_becomes_readable_text_with_table() -> None:
    html = (b"<html><head><style>td{color:red}</style><script>alert(1)</script></head><body>"
            b"<p>Can we bill these together?</p><table><tr><th>Code</th><th>Units</th></tr>"
            b"<tr><td>96365</td><td>1</td></tr><tr><td>96366</td><td>2</td></tr></table>"
            b"<p>Thanks,<br>Ann</p></body></html>")
    raw = mime("From: ann@x.example\nSubject: infusion\nContent-Type: text/html; "
               "charset=utf-8\n", html)
    mail = parse_message(raw)
    assert mail.html_only
    assert "Code | Units\n96365 | 1\n96366 | 2" in mail.text
    assert "alert" not in mail.text and "color" not in mail.text
    assert mail.signature == "Thanks,\nAnn"


def test_alternative_prefers_plain_text() -> None:
    raw = mime(
        'From: a@x.example\nSubject: s\nMIME-Version: 1.0\n'
        'Content-Type: multipart/alternative; boundary="b"\n',
        b"--b\r\nContent-Type: text/plain\r\n\r\nplain 11042\r\n--b\r\nContent-Type: text/html"
        b"\r\n\r\n<p>html 99999</p>\r\n--b--\r\n",
    )
    mail = parse_message(raw)
    assert mail.text == "plain 11042" and not mail.html_only


def test_quoted_printable_and_base64_bodies_are_decoded() -> None:
    qp = mime("From: a@x.example\nContent-Type: text/plain; charset=utf-8\n"
              "Content-Transfer-Encoding: quoted-printable\n",
              b"Mod=C3=ADfier 25 with 99214=\r\n today\r\n")
    assert parse_message(qp).text == "Modífier 25 with 99214 today"
    b64 = mime("From: a@x.example\nContent-Type: text/plain; charset=utf-8\n"
               "Content-Transfer-Encoding: base64\n", base64.b64encode("Größe 20610".encode()))
    assert parse_message(b64).text == "Größe 20610"


def attach(name: str, ctype: str, data: bytes) -> bytes:
    return (f"--b\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; "
            f"filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode() \
        + base64.encodebytes(data).replace(b"\n", b"\r\n")


def with_attachments(*parts: bytes) -> bytes:
    body = b"--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n" + b"".join(parts) \
        + b"--b--\r\n"
    return mime('From: a@x.example\nSubject: att\nContent-Type: multipart/mixed; boundary="b"\n',
                body)


def test_attachments_txt_pdf_docx_winmail() -> None:
    raw = with_attachments(
        attach("note.txt", "text/plain", b"Dx K21.9, CPT 43239"),
        attach("op.pdf", "application/pdf", make_pdf("Procedure 43249 performed")),
        attach("sb.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml."
               "document", make_docx(["Superbill"], [["99213", "25"]])),
        attach("winmail.dat", "application/ms-tnef", b"\x78\x9f\x3e\x22" + b"\0" * 50),
        attach("x-ray.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100),
    )
    mail = parse_message(raw)
    by_name = {a.filename: a for a in mail.attachments}
    assert mail.text == "See attached."
    assert by_name["note.txt"].text == "Dx K21.9, CPT 43239"
    assert by_name["op.pdf"].text is not None and "43249" in by_name["op.pdf"].text
    assert by_name["sb.docx"].text == "Superbill\n99213 | 25"
    assert by_name["winmail.dat"].text is None and "TNEF" in by_name["winmail.dat"].note
    assert by_name["x-ray.png"].text is None and by_name["x-ray.png"].size > 100
    assert "43239" in mail.attachment_text and "43249" in mail.attachment_text


def test_oversized_attachment_is_listed_not_extracted() -> None:
    big = b"99213 " * (1024 * 1024)  # 6 MB
    mail = parse_message(with_attachments(attach("big.txt", "text/plain", big)))
    (att,) = mail.attachments
    assert att.text is None and "5 MB cap" in att.note and att.size > 5 * 1024 * 1024


def test_total_attachment_text_is_capped() -> None:
    chunk = b"x" * 90_000
    mail = parse_message(with_attachments(*(attach(f"{i}.txt", "text/plain", chunk)
                                            for i in range(4))))
    assert sum(len(a.text or "") for a in mail.attachments) == MAX_ATTACHMENT_TEXT
    assert "cap" in mail.attachments[-1].note


def test_corrupt_pdf_gets_a_note_not_an_exception() -> None:
    mail = parse_message(with_attachments(attach("bad.pdf", "application/pdf",
                                                  b"%PDF-1.4\ngarbage")))
    (att,) = mail.attachments
    assert att.text is None and att.note


def test_nested_rfc822_forward_is_an_attachment_with_text() -> None:
    inner = (b"From: Dr Who <who@x.example>\r\nSubject: =?utf-8?q?Op_n=C3=B6te?=\r\n"
             b"Date: Mon, 2 Mar 2020 09:00:00 +0000\r\n\r\nPerformed 47562, question on 49320.\r\n")
    body = (b"--b\r\nContent-Type: text/plain\r\n\r\nFYI see below\r\n--b\r\n"
            b"Content-Type: message/rfc822\r\n\r\n" + inner + b"--b--\r\n")
    raw = mime('From: a@x.example\nSubject: Fwd\nContent-Type: multipart/mixed; boundary="b"\n',
               body)
    mail = parse_message(raw)
    (att,) = mail.attachments
    assert att.content_type == "message/rfc822" and att.filename == "forwarded: Op nöte"
    assert att.text is not None and "Performed 47562" in att.text and "who@x.example" in att.text
    assert mail.text == "FYI see below"


def test_endless_nesting_stops() -> None:
    raw = b"From: a@x.example\r\nSubject: deep\r\n\r\nbottom 12345\r\n"
    for _ in range(20):
        raw = (b"From: a@x.example\r\nSubject: wrap\r\nContent-Type: message/rfc822\r\n\r\n"
               + raw)
    mail = parse_message(raw)
    assert mail.attachments and not mail.unusable
    assert "12345" not in mail.attachment_text


def test_format_flowed_is_unwrapped() -> None:
    raw = mime("From: a@x.example\nContent-Type: text/plain; format=flowed\n",
               b"Can we bill 43214 \r\nwith 43200?\r\n")
    assert parse_message(raw).text == "Can we bill 43214 with 43200?"


def test_unusable_mails_say_why() -> None:
    assert parse_message(b"").unusable == "empty message"
    assert parse_message(b"\x00\x01").unusable
    assert parse_message(b"Subject: hi\n\nno sender").unusable == "no sender address"
    assert parse_message(b"From: a@x.example\n\n").unusable == "no subject, body or attachment"


def test_own_address_is_a_loop() -> None:
    mail = parse_message(QUESTION, own_addresses=frozenset({"jurgen@clinic.example"}))
    assert mail.kind == "loop"


def test_loop_header_is_a_loop() -> None:
    raw = b"From: x@y.example\nX-Consult-Loop: consult.example\nSubject: hi\n\nq 99213\n"
    mail = parse_message(raw)
    assert (mail.kind, mail.kind_reason) == ("loop", "X-Consult-Loop: consult.example")
