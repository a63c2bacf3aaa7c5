"""Header helpers: RFC 2047, charset fallbacks, Message-ID normalization, sanitizing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from consult.mail.headers import (
    decode_bytes,
    decode_header_value,
    normalize_msgid,
    sanitize_header_value,
    split_msgids,
)


def test_normalize_msgid() -> None:
    assert normalize_msgid("<abc@x.example>") == "abc@x.example"
    assert normalize_msgid("  < abc@x.example >\r\n") == "abc@x.example"
    assert normalize_msgid("abc@x.example") == "abc@x.example"
    assert normalize_msgid("<>") is None
    assert normalize_msgid("") is None
    assert normalize_msgid(None) is None


def test_split_msgids_keeps_order_and_drops_repeats_and_junk() -> None:
    value = "<a@x> (comment) <b@x>\r\n <a@x>  <c@\r\n x>"
    assert split_msgids(value) == ["a@x", "b@x", "c@x"]
    assert split_msgids("a@x b@x") == ["a@x", "b@x"]
    assert split_msgids(None) == []


def test_encoded_words() -> None:
    assert decode_header_value("=?utf-8?q?caf=C3=A9?= =?utf-8?q?_bar?=") == "café bar"
    assert decode_header_value("=?UTF-8?B?w6k=?=") == "é"
    assert decode_header_value("=?utf-8?B?w6k?=") == "é"  # missing padding
    assert decode_header_value("=?x-unknown?q?abc?=") == "abc"
    assert decode_header_value("=?iso-2022-jp?B?GyRCJUYlOSVIGyhC?=") == "テスト"
    assert decode_header_value("a\r\n b") == "a b"


def test_decode_bytes_fallback_chain() -> None:
    assert decode_bytes("é".encode(), "us-ascii") == ("é", True)
    assert decode_bytes(b"\xe9", "utf-8") == ("é", False)
    assert decode_bytes(b"\x81\x8d", None) == ("\x81\x8d", False)  # latin-1, never lossy
    assert decode_bytes(b"abc", "no-such-charset") == ("abc", False)
    assert decode_bytes(b"abc", "unknown-8bit") == ("abc", True)


def test_sanitize_header_value_removes_injection() -> None:
    evil = "Re: 99213\r\nBcc: victim@example.com\r\n\r\nbody"
    clean = sanitize_header_value(evil)
    assert "\r" not in clean and "\n" not in clean
    assert clean == "Re: 99213 Bcc: victim@example.com body"
    assert sanitize_header_value("a\x00b\u2028c\x85d") == "a b c d"
    assert len(sanitize_header_value("x" * 5000)) == 900


@given(st.text())
def test_sanitized_values_are_single_clean_lines(value: str) -> None:
    clean = sanitize_header_value(value)
    assert not any(ch in clean for ch in "\r\n\x00\x0b\x0c\u2028\u2029\x85")
    assert clean == clean.strip() and len(clean) <= 900


@given(st.text())
def test_decode_header_value_is_total_and_single_line(value: str) -> None:
    decoded = decode_header_value(value)
    assert "\n" not in decoded and "\r" not in decoded
