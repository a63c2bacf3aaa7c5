"""Hostile mails for the robustness tests and bench/hostile.py, built from literals.

Each builder makes the small input of one probe from issue 13: a mail naming thousands of
codes, a .docx whose XML inflates ~300x, a small PDF whose content streams take pypdf seconds,
an HTML part that is quadratic for Python's ``html.parser``. No real PHI anywhere.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from support.mails import consultation

DATE = "Mon, 16 Nov 2026 14:00:00 +0000"


def _mail(subject: str, body: str, *, sender: str, message_id: str) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Probe <{sender}>"
    msg["To"] = "consult@consult.test"
    msg["Subject"] = subject
    msg["Date"] = DATE
    msg["Message-ID"] = f"<{message_id}>"
    msg.set_content(body)
    return msg


def big_code_list(count: int = 2800, *, sender: str = "probe@attacker.example",
                  message_id: str = "codes@attacker.example") -> bytes:
    """One mail naming ``count`` CPT-shaped codes (about 7 bytes each): the quadratic NCCI probe."""
    codes = [str(10021 + (i * 37) % 89000) for i in range(count)]
    body = "Can I bill these together? " + " ".join(codes)
    return consultation(subject="codes", body=body, sender=sender, message_id=message_id)


def docx_bytes(xml_megabytes: float = 34.0) -> bytes:
    """A valid .docx whose word/document.xml is ``xml_megabytes`` MB (deflates ~300x)."""
    import docx

    buf = io.BytesIO()
    docx.Document().save(buf)
    paragraph = b"<w:p><w:r><w:t>43214 with 43200</w:t></w:r></w:p>"
    repeat = int(xml_megabytes * 1024 * 1024 / len(paragraph))
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED,
                                                      compresslevel=9) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                head, sep, tail = data.partition(b"<w:body>")
                data = head + sep + paragraph * repeat + tail
            dst.writestr(item.filename, data)
    return out.getvalue()


def pdf_bytes(*, pages: int = 60, operators: int = 60_000) -> bytes:
    """A small PDF: ``pages`` pages sharing one deflated content stream of ``operators`` text
    operators. Each page costs pypdf a full Python-level walk of the stream."""
    content = b"BT /F1 9 Tf 10 10 Td (43214) Tj " + b"0 0 Td " * operators + b"ET"
    stream = zlib.compress(content, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(f"{5 + i} 0 R".encode() for i in range(pages))
        + f"] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" /Filter /FlateDecode >>\nstream\n"
        + stream + b"\nendstream",
    ]
    for _ in range(pages):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
              .encode())
    return out.getvalue()


def html_bomb(kilobytes: int = 64) -> str:
    """HTML that Python 3.11's html.parser takes quadratic time on: unterminated start tags."""
    return "<html><body><p>43214 with 43200?</p>" + "<a " * (kilobytes * 1024 // 3)


def with_attachment(data: bytes, filename: str, maintype: str, subtype: str, *,
                    sender: str = "probe@attacker.example",
                    message_id: str = "bomb@attacker.example") -> bytes:
    """A short question carrying ``data`` as an attachment."""
    msg = _mail("43214 with 43200?", "See the attached note: 43214 with 43200, modifier 59?",
                sender=sender, message_id=message_id)
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg.as_bytes()


def docx_bomb(xml_megabytes: float = 34.0, **kw: str) -> bytes:
    return with_attachment(docx_bytes(xml_megabytes), "note.docx", "application",
                           "vnd.openxmlformats-officedocument.wordprocessingml.document", **kw)


def pdf_bomb(**kw: str) -> bytes:
    return with_attachment(pdf_bytes(), "note.pdf", "application", "pdf", **kw)


def html_mail(kilobytes: int = 64, *, sender: str = "probe@attacker.example",
              message_id: str = "html@attacker.example") -> bytes:
    """An HTML-only mail whose body is ``html_bomb``."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Probe <{sender}>"
    msg["To"] = "consult@consult.test"
    msg["Subject"] = "43214 with 43200?"
    msg["Date"] = format_datetime(__import__("datetime").datetime(2026, 11, 16, 14, 0))
    msg["Message-ID"] = f"<{message_id}>"
    msg.set_content(html_bomb(kilobytes), subtype="html")
    return msg.as_bytes()


def many_pdfs(count: int = 5, *, sender: str = "probe@attacker.example",
              message_id: str = "pdfs@attacker.example") -> bytes:
    """A question with ``count`` PDF bombs attached: each stays within the per-PDF caps, but
    together they take several seconds, so only the per-mail budget stops them."""
    msg = _mail("43214 with 43200?", "See the attached notes: 43214 with 43200, modifier 59?",
                sender=sender, message_id=message_id)
    for number in range(count):
        msg.add_attachment(pdf_bytes(), maintype="application", subtype="pdf",
                           filename=f"note{number}.pdf")
    return msg.as_bytes()


def big_body(megabytes: int = 30, *, sender: str = "probe@attacker.example",
             message_id: str = "big@attacker.example") -> bytes:
    """A plain-text mail of ``megabytes`` MB: parsing it needs several times that in memory."""
    body = "Can we bill 43214 with 43200?\n" + ("x" * 76 + "\n") * (megabytes * 1024 * 1024 // 77)
    return consultation(subject="big", body=body, sender=sender, message_id=message_id)
