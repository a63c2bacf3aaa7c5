"""Text out of attachments: .txt, .pdf (pypdf), .docx (python-docx), HTML, nested mail.

Coders attach superbills, op notes and payer letters; their text may hold the codes. Files over
``MAX_EXTRACT_BYTES`` are not opened (a 40 MB scan would stall a worker), and the text kept per
message is capped by the caller. Every failure becomes a ``note`` on the attachment, never an
exception: a broken PDF must not stop the question in the body from being answered.

Small files can be bombs, so each format has a budget checked before the expensive step: a
.docx's zip directory (total and per-member uncompressed size, compression ratio) before
python-docx inflates it (a 190 KB file held 34 MB of XML: 26 s and 613 MB); pypdf's decoders and
content parser get lower limits, and pages are read while their decompressed content, all pages
together, stays under ``MAX_PDF_CONTENT_BYTES`` (a 15 KB PDF whose 60 pages share one busy
content stream took 34 s). These caps bound the work, so the time, and the same file always
gives the same text; a wall-clock cap here would make a page's text depend on the machine's
load, so time itself is the per-mail budget's job (``workers.analysis_pool``). HTML goes
through ``html_to_text``'s own cap.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from consult.mail.headers import decode_bytes
from consult.mail.html_text import html_to_text

log = logging.getLogger(__name__)

#: Attachments larger than this are listed but not text-extracted.
MAX_EXTRACT_BYTES = 5 * 1024 * 1024
#: Most text kept from a single attachment (characters).
MAX_TEXT_PER_ATTACHMENT = 100_000
#: PDF pages read at most; op notes are short, scanned books are not questions.
MAX_PDF_PAGES = 50
#: Decompressed page content (bytes, all pages together) read at most from one PDF.
MAX_PDF_CONTENT_BYTES = 1024 * 1024
#: Output limit of each of pypdf's decoders for one stream (its default is 75 MB).
MAX_PDF_STREAM_BYTES = 8 * 1024 * 1024
#: A .docx (a zip) is refused beyond this many members, this much uncompressed data in all,
#: this much in word/document.xml, or this compression ratio on a member over 1 MB.
MAX_ZIP_MEMBERS = 1000
MAX_ZIP_UNCOMPRESSED = 20 * 1024 * 1024
MAX_DOCX_XML = 2 * 1024 * 1024
MAX_ZIP_RATIO = 100

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


@contextmanager
def _pdf_limits() -> Iterator[None]:
    """pypdf's decoder and parser limits, lowered to what a mail attachment can need."""
    from pypdf import apply_configuration

    cap = MAX_PDF_STREAM_BYTES
    with apply_configuration(
        maximum_declared_stream_length=cap, array_based_stream_maximum_output_length=cap,
        jbig2_maximum_output_length=cap, lzw_maximum_output_length=cap,
        run_length_maximum_output_length=cap, zlib_maximum_output_length=cap,
        zlib_maximum_recovery_input_length=cap // 4, brotli_maximum_output_length=cap,
        image_maximum_buffer_size=cap, stream_decoding_work_maximum_length=4 * cap,
        stream_parsing_work_maximum_count=200_000, xform_maximum_invocations_per_extraction=200,
        page_tree_maximum_entries=10_000, page_tree_maximum_page_entries=20_000,
        xmp_maximum_input_length=cap // 8, outline_maximum_entries=10_000,
        form_fields_maximum_entries=10_000, named_destinations_maximum_entries=10_000,
        jbig2dec_binary=None,
    ):
        yield


def _content_bytes(page: Any) -> int:
    """Decompressed size of a page's content streams, without parsing their operators."""
    from pypdf.generic import ArrayObject

    contents = page.get("/Contents")
    if contents is None:
        return 0
    obj = contents.get_object()
    streams = [x.get_object() for x in obj] if isinstance(obj, ArrayObject) else [obj]
    return sum(len(s.get_data()) for s in streams if hasattr(s, "get_data"))


def _pdf_text(data: bytes) -> tuple[str, str]:
    """The text of the first pages, and a note when a cap stopped the reading early."""
    from pypdf import PdfReader  # imported on first use: most mails carry no PDF

    with _pdf_limits():
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception as exc:  # pypdf raises several types for unsupported encryption
                raise ValueError("encrypted PDF") from exc
        pages = reader.pages
        count = len(pages)
        chunks: list[str] = []
        total = content = 0
        stop = ""
        for number in range(min(count, MAX_PDF_PAGES)):
            page = pages[number]
            content += _content_bytes(page)
            if content > MAX_PDF_CONTENT_BYTES:
                stop = f"{MAX_PDF_CONTENT_BYTES // 1024} KB page content cap"
                break
            text = page.extract_text() or ""
            chunks.append(text)
            total += len(text)
            if total > MAX_TEXT_PER_ATTACHMENT:
                break
        if not stop and count > MAX_PDF_PAGES:
            stop = f"{MAX_PDF_PAGES} page cap"
    note = f"text of the first {len(chunks)} of {count} pages ({stop})" if stop else ""
    return "\n".join(chunks), note


def zip_refusal(data: bytes, *, main_member: str = "word/document.xml") -> str:
    """Why a zip container (.docx) must not be opened, from its directory alone; "" if fine.

    The sizes are the ones the directory declares; Python's zipfile stops a member at its
    declared size (and fails its CRC), so a lying header cannot inflate more than it says.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return "not a .docx file (not a zip archive)"
    if len(members) > MAX_ZIP_MEMBERS:
        return f"not text-extracted: {len(members):,} files in the archive (cap {MAX_ZIP_MEMBERS})"
    total = sum(m.file_size for m in members)
    if total > MAX_ZIP_UNCOMPRESSED:
        return (f"not text-extracted: {total:,} bytes uncompressed, over the "
                f"{MAX_ZIP_UNCOMPRESSED // (1024 * 1024)} MB cap (a zip bomb?)")
    for m in members:
        if m.file_size > 1024 * 1024 and m.file_size > MAX_ZIP_RATIO * max(m.compress_size, 1):
            ratio = m.file_size // max(m.compress_size, 1)
            return (f"not text-extracted: {m.filename} inflates {ratio}x, over the "
                    f"{MAX_ZIP_RATIO}x cap (a zip bomb?)")
        if m.filename == main_member and m.file_size > MAX_DOCX_XML:
            return (f"not text-extracted: the document text is {m.file_size:,} bytes of XML, "
                    f"over the {MAX_DOCX_XML // (1024 * 1024)} MB cap")
    return ""


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
            text, note = _pdf_text(data)
            if not text.strip():
                return None, note or "PDF has no text layer (scanned image?)"
        else:
            refusal = zip_refusal(data)
            if refusal:
                return None, refusal
            text, note = _docx_text(data), ""
    except Exception as exc:  # third-party parsers raise anything on corrupt files
        # No filename in the log: attachment names often carry patient names (PHI).
        log.debug("%s attachment could not be read: %s", kind, type(exc).__name__)
        return None, f"{kind} could not be read: {type(exc).__name__}"
    if len(text) > MAX_TEXT_PER_ATTACHMENT:
        text = text[:MAX_TEXT_PER_ATTACHMENT]
        note = (note + "; " if note else "") + "text truncated"
    return text, note
