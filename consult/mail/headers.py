"""Header text: charset fallbacks, RFC 2047 decoding, Message-ID normalization, sanitizing.

Real mail carries raw 8-bit headers, encoded words in unknown charsets and Message-IDs with
stray whitespace; every function here is pure and total (never raises) so one odd header never
stops a message from being parsed. ``sanitize_header_value`` is for the other direction: values
we put into outbound headers must not be able to inject new header lines.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re

#: Charset names seen in the wild that Python does not know, or knows by a narrower codec.
#: Decoding with the superset is always safe: it only adds characters the subset leaves undefined.
_CHARSET_ALIASES: dict[str, str] = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "ansi_x3.4-1968": "utf-8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-unknown": "",
    "unknown": "",
    "unknown-8bit": "",
    "x-user-defined": "",
    "default": "",
    "charset": "",
}

_FALLBACKS = ("utf-8", "cp1252")


def codec_for(charset: str | None) -> str | None:
    """A Python codec name for a declared charset, or None when it is missing or unknown."""
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    if not name:
        return None
    name = _CHARSET_ALIASES.get(name, name)
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def decode_bytes(data: bytes, charset: str | None = None) -> tuple[str, bool]:
    """Decode with fallbacks: declared charset -> utf-8 -> cp1252 -> latin-1 (cannot fail).

    Returns the text and whether it decoded without guessing (False means the declared charset
    was unknown or wrong for these bytes, or 8-bit bytes came with no charset at all). Never
    lossy: latin-1 maps every byte, so the last fallback keeps the original recoverable.
    """
    codec = codec_for(charset)
    if codec is not None:
        try:
            return data.decode(codec), True
        except (UnicodeDecodeError, LookupError):
            pass
    if data.isascii():
        return data.decode("ascii"), codec is not None or _declares_nothing(charset)
    for fallback in _FALLBACKS:
        try:
            return data.decode(fallback), False
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), False


def _declares_nothing(charset: str | None) -> bool:
    """True for a missing charset or a placeholder such as ``unknown-8bit``."""
    if not charset:
        return True
    return _CHARSET_ALIASES.get(charset.strip().strip("\"'").lower()) == ""


def decode_raw_header(value: str) -> str:
    """Undo the surrogateescape the stdlib parser uses for 8-bit header bytes, then decode."""
    if value.isascii():
        return value  # no escaped bytes (and no copy made to find that out)
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        raw = value.encode("utf-8", "surrogateescape")
        return decode_bytes(raw)[0]


_ENCODED_WORD = re.compile(r"=\?([^?\s]+?)\?([bBqQ])\?([^?]*?)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")
_FOLD = re.compile(r"\r?\n[ \t]+|\r[ \t]+")


def _decode_word(charset: str, encoding: str, payload: str) -> str:
    charset = charset.split("*", 1)[0]  # RFC 2231 language suffix: =?utf-8*en?Q?...?=
    if encoding in "bB":
        padded = payload + "=" * (-len(payload) % 4)
        try:
            data = base64.b64decode(padded)
        except (binascii.Error, ValueError):
            try:
                data = base64.b64decode(padded.rstrip("="), validate=False)
            except (binascii.Error, ValueError):
                return payload
    else:
        data = quopri.decodestring(payload.replace("_", " ").encode("latin-1", "replace"),
                                   header=False)
    return decode_bytes(data, charset)[0]


def decode_header_value(value: str | None) -> str:
    """A header as readable text: unfolded, 8-bit bytes decoded, RFC 2047 words decoded."""
    if not value:
        return ""
    value = decode_raw_header(str(value))
    if "=?" not in value and "\n" not in value and "\r" not in value:
        return value.strip()  # the common plain value: nothing to unfold or decode
    value = _FOLD.sub(" ", value)
    if "=?" in value:
        value = _BETWEEN_WORDS.sub(r"\1\2", value)
        value = _ENCODED_WORD.sub(lambda m: _decode_word(m[1], m[2], m[3]), value)
    return value.replace("\r", " ").replace("\n", " ").strip()


_MSGID_STRIP = re.compile(r"[<>\s]+")


def normalize_msgid(value: str | None) -> str | None:
    """A Message-ID without angle brackets or whitespace; None when nothing usable is left.

    Intake threads on this, so ``<a@b>``, `` a@b `` and ``<a@b >`` must all compare equal.
    """
    if not value:
        return None
    match = re.search(r"<([^<>]*)>", value)
    core = match.group(1) if match else value
    core = _MSGID_STRIP.sub("", core)
    return core or None


def split_msgids(value: str | None) -> list[str]:
    """All Message-IDs in a References / In-Reply-To value, normalized, in order, no repeats."""
    if not value:
        return []
    found = re.findall(r"<([^<>]+)>", value)
    if not found:
        found = value.split()
    seen: list[str] = []
    for item in found:
        norm = normalize_msgid(item)
        if norm and norm not in seen:
            seen.append(norm)
    return seen


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


def sanitize_header_value(value: str, *, max_length: int = 900) -> str:
    """A value safe to put in an outbound header: one line, no control characters, bounded.

    Subjects and display names come from senders; a CR or LF in them would let a sender add
    headers (Bcc:) to our reply. Every control character becomes a space, runs of whitespace
    collapse, and the result is cut at ``max_length`` characters.
    """
    cleaned = _CONTROL.sub(" ", value or "")
    cleaned = " ".join(cleaned.split())
    return cleaned[:max_length].rstrip()
