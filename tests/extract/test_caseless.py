"""``cues.Caseless``: a case-insensitive pattern run over lower-cased ASCII text finds exactly
what the pattern finds in the text itself, and a pattern it cannot lower is refused."""

from __future__ import annotations

import random
import re

import pytest

from consult.extract.cues import Caseless

PATTERNS = [
    re.compile(r"\b(?:DOS|date of service)\s*[:\-]?\s*(\d{1,2}/\d{1,2})", re.I),
    re.compile(r"(?i)\bmedicare\s+(?:advantage|replacement)\b|\bMA\s+plan\b"),
    re.compile(r"(?i:\b[A-Z]\d\d\.?[A-Z0-9]{0,4}\b)\s+\W+(?P<tail>\S+)"),
    re.compile(r"[A-Za-z]+ (?i:pos) \d+", re.I),
    re.compile(r"(?i)[^A-Z0-9 ]+|[B-Dk]{2}"),  # a negated class, a class with a range
]
WORDS = ["DOS", "dos", "Date of Service", "Medicare", "ADVANTAGE", "MA plan", "ma Plan", "K21.9",
         "k21.9", "POS", "11", "11/02", ":", "-", "  ", "\n", "é", "Ünïcode", "x", "Z79.4"]


@pytest.mark.parametrize("rx", PATTERNS, ids=range(len(PATTERNS)))
def test_same_spans_as_the_pattern_itself(rx: re.Pattern[str]) -> None:
    fast = Caseless(rx)
    rnd = random.Random(7)
    for _ in range(3000):
        text = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 12)))
        low = text.lower()
        assert len(low) == len(text) or not text.isascii()
        want = [(m.span(), m.regs) for m in rx.finditer(text)]
        got = [(m.span(), m.regs) for m in fast.finditer(text, low)]
        assert got == want, text
        first = rx.search(text)
        found = fast.search(text, low)
        assert (found.span() if found else None) == (first.span() if first else None), text


@pytest.mark.parametrize("pattern", [
    r"\bMA\b",                  # case-sensitive letters: lower-casing the text would break it
    r"(?i:dos)|\bPOS\b",       # one alternative outside the case-insensitive group
    r"(?-i:MA)",               # flags turned off
])
def test_a_pattern_with_case_sensitive_letters_is_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        Caseless(re.compile(pattern))
