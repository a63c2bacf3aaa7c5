"""``is_bare`` (a question part with no word: codes, dates and numbers) says what its regex
form says, on random coder-like strings, and stays fast where the regex backtracks for ever."""

from __future__ import annotations

import random
import re
import time

from consult.extract.questions import is_bare

#: The rule as a regex (exponential on long rows of codes): the reference for short strings.
REGEX = re.compile(r"^[\s\d/.,:;|?()+#*x-]*(?:(?:[A-Z]\d{4}|\d{4}[0-9FTU]|[A-Z]\d[0-9A-Z]"
                   r"(?:\.\w+)?|[A-Z0-9]{2})[\s\d/.,:;|?()+#*x-]*)*$")
ALPHABET = [*"AJKZ0129FTUx.?/- \nae_", "\u0663", "\u00e9", "\u2003"]


def test_same_answer_as_the_regex_on_random_strings() -> None:
    rnd = random.Random(11)
    for _ in range(40_000):
        text = "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(0, 11)))
        assert is_bare(text) == bool(REGEX.match(text)), repr(text)


TOKENS = ["J1100", "99213", "K21.9", "K21.9X", "E11.65a", "A1", "x2", "12", "1234F", "1234",
          "AB", "ab", "units", ".", "?", "-25", "05/20/2025", "\u0663\u0663\u0663\u0663T"]


def test_same_answer_as_the_regex_on_random_rows_of_tokens() -> None:
    rnd = random.Random(12)
    for _ in range(20_000):
        parts = [rnd.choice(TOKENS) for _ in range(rnd.randint(1, 4))]
        text = "".join(p + rnd.choice(["", " ", ", ", "\n", "/"]) for p in parts)
        assert is_bare(text) == bool(REGEX.match(text)), repr(text)


def test_coders_examples() -> None:
    assert is_bare("05/20/2025 J2405 x2 ?")
    assert is_bare("K21.9 / E11.65 - 99213-25?")
    assert not is_bare("J2405 how many units?")
    assert not is_bare("K21.9 or K21.0?")  # "or" is a word


def test_a_long_row_of_codes_is_read_in_linear_time() -> None:
    row = " ".join(["J1100 12 A1 99213"] * 400) + " units?"  # the regex: 54 s at 4 repeats
    start = time.process_time()
    assert not is_bare(row)
    assert is_bare(row.removesuffix(" units?"))
    assert time.process_time() - start < 0.5
