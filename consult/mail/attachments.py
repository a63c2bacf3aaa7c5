"""Text out of attachments: .txt, .pdf (pypdf), .docx (python-docx), HTML, nested mail.

Coders attach superbills, op notes and payer letters; their text may hold the codes. Files over
``MAX_EXTRACT_BYTES`` are not opened (a 40 MB scan would stall a worker), and the text kept per
message is capped by the caller. Every failure becomes a ``note`` on the attachment, never an
exception: a broken PDF must not stop the question in the body from being answered.
"""

from __future__ import annotations

import io
import logging
import zipfile

from consult.mail.headers import decode_bytes
from consult.mail.html_text import html_to_text

log = logging.getLogger(__name__)

#: Attachments larger than this are listed but not text-extracted.
MAX_EXTRACT_BYTES = 5 * 1024 * 1024
#: Most text kept from a single attachment (characters).
MAX_TEXT_PER_ATTACHMENT = 100_000
#: PDF pages read at most; op notes are short, scanned books are not questions.
MAX_PDF_PAGES = 50

_TEXT_EXTENSIONS = (".txt", ".text", ".csv", ".tsv", ".log", ".md", ".rtf.txt")
_DOCX_TYPES = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",)
_TNEF_TYPES = ("application/ms-tnef", "application/vnd.ms-tnef")


def attachment_kind(filename: str, content_type: str) -> str | None:
    """Which extractor fits: "text", "html", "pdf", "docx", "tnef", or None (not extracted)."""
    name = filename.lower()
    ctype = content_type.lower()
    if name == "winmail.dat" or ctype in _TNEF_TYPES:
        return "tnef"
    if name.endswith(".pdf") or ctype == "application/pdf":
        return "pdf"
    if name.endswith(".docx") or ctype in _DOCX_TYPES:
        return "docx"
    if name.endswith((".html", ".htm")) or ctype == "text/html":
        return "html"
    if name.endswith(_TEXT_EXTENSIONS) or (ctype.startswith("text/") and ctype != "text/rtf"):
        return "text"
    return None


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader  # imported on first use: most mails carry no PDF

    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        try:
            reader.decrypt("")
        except Exception as exc:  # pypdf raises several types for unsupported encryption
            raise ValueError("encrypted PDF") from exc
    chunks: list[str] = []
    total = 0
    for page in reader.pages[:MAX_PDF_PAGES]:
        text = page.extract_text() or ""
        chunks.append(text)
        total += len(text)
        if total > MAX_TEXT_PER_ATTACHMENT:
            break
    return "\n".join(chunks)


def _docx_text(data: bytes) -> str:
    import docx  # python-docx; imported on first use

    document = docx.Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text.strip() for cell in row.cells))
    return "\n".join(lines)


def extract_text(data: bytes, filename: str, content_type: str,
                 charset: str | None = None) -> tuple[str | None, str]:
    """Text pulled out of one attachment and a note for the reviewer (why not, or what).

    Never raises: unsupported, oversized, encrypted or corrupt files give ``(None, note)``.
    """
    kind = attachment_kind(filename, content_type)
    if kind is None:
        return None, f"not text-extracted ({content_type or 'unknown type'})"
    if kind == "tnef":
        return None, ("winmail.dat (Outlook TNEF): contents not extracted; "
                      "ask the sender to attach the file itself")
    if len(data) > MAX_EXTRACT_BYTES:
        return None, (f"not text-extracted: {len(data):,} bytes is over the "
                      f"{MAX_EXTRACT_BYTES // (1024 * 1024)} MB cap")
    try:
        if kind == "text":
            text, clean = decode_bytes(data, charset)
            note = "" if clean else "charset guessed"
        elif kind == "html":
            text, clean = decode_bytes(data, charset)
            text, note = html_to_text(text), "" if clean else "charset guessed"
        elif kind == "pdf":
            if not data.startswith(b"%PDF") and b"%PDF" not in data[:1024]:
                return None, "not a PDF file (no %PDF header)"
            text, note = _pdf_text(data), ""
            if not text.strip():
                return None, "PDF has no text layer (scanned image?)"
        else:
            if not zipfile.is_zipfile(io.BytesIO(data)):
                return None, "not a .docx file (not a zip archive)"
            text, note = _docx_text(data), ""
    except Exception as exc:  # third-party parsers raise anything on corrupt files
        # No filename in the log: attachment names often carry patient names (PHI).
        log.debug("%s attachment could not be read: %s", kind, type(exc).__name__)
        return None, f"{kind} could not be read: {type(exc).__name__}"
    if len(text) > MAX_TEXT_PER_ATTACHMENT:
        text = text[:MAX_TEXT_PER_ATTACHMENT]
        note = (note + "; " if note else "") + "text truncated"
    return text, note
