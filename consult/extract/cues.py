"""Cheap "could this pattern match here at all?" checks that run before a slow regex.

Python's ``re`` tries every alternative of a big alternation at every position of a text; a
payer list with forty names costs far more than the mail it reads. Nearly every alternative
has a literal word that any of its matches must contain, so ``word in text`` (a C substring
search) for one word per alternative tells, exactly, when the regex cannot match.
"""

from __future__ import annotations

import re

_ESCAPE = re.compile(r"\\.")
_CLASS = re.compile(r"\[[^\]]*\]")
#: A group or character that may be absent: ``(?:ensation)?``, ``s*``, ``x{0,2}``.
_OPTIONAL_GROUP = re.compile(r"\([^()]*\)(?:[?*]|\{[^}]*\})")
_OPTIONAL_CHAR = re.compile(r"[^()](?:[?*]|\{[^}]*\})")
_GROUP = re.compile(r"\([^()]*\)")
_RUN = re.compile(r"[a-z0-9'’-]{2,}")


def split_alternatives(pattern: str) -> list[str]:
    """Top-level alternatives of ``pattern`` (``|`` outside groups and classes)."""
    out: list[str] = []
    depth = 0
    in_class = False
    cur: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            cur.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    out.append("".join(cur))
    return out


def required_word(alternative: str) -> str | None:
    """The longest literal every match of ``alternative`` contains, or None when none is
    certain (then the caller cannot pre-check and must run the regex)."""
    s = _ESCAPE.sub(" ", alternative)
    s = _CLASS.sub(" ", s)
    prev = None
    while prev != s:  # innermost first; a group left over may hold alternatives: drop it too
        prev = s
        s = _OPTIONAL_GROUP.sub(" ", s)
        s = _OPTIONAL_CHAR.sub(" ", s)
        s = _GROUP.sub(" ", s)
    s = s.replace("+", " ").replace("?", " ").replace("*", " ").replace("(", " ")
    s = s.replace(")", " ").replace("|", " ")
    runs = _RUN.findall(s)
    return max(runs, key=len) if runs else None


def required_words(pattern: str) -> tuple[str, ...] | None:
    """One required word per top-level alternative of a lower-case ``pattern``; None when an
    alternative has none. ``not any(w in low for w in words)`` proves there is no match."""
    words: list[str] = []
    for alt in split_alternatives(pattern):
        w = required_word(alt)
        if w is None:
            return None
        words.append(w)
    return tuple(dict.fromkeys(words))


def may_match(words: tuple[str, ...] | None, low: str) -> bool:
    """False only when no required word occurs in ``low`` (so the regex cannot match)."""
    return words is None or any(w in low for w in words)


class FirstMatch:
    """Which of several lower-case patterns matches first in a text, as one alternation
    ``(?P<p0>...)|(?P<p1>...)`` would answer (leftmost match; at a tie, the earlier pattern),
    but only running the patterns whose required words occur in the text."""

    __slots__ = ("_entries", "_words")

    def __init__(self, patterns: list[str]) -> None:
        self._entries: list[tuple[re.Pattern[str], frozenset[str] | None]] = []
        for p in patterns:
            words = required_words(p)
            self._entries.append((re.compile(p), None if words is None else frozenset(words)))
        self._words = tuple({w for _rx, ws in self._entries for w in ws or ()})

    def index(self, low: str) -> int | None:
        """Index of the pattern matching first in ``low``, or None."""
        present = {w for w in self._words if w in low}
        best: tuple[int, int] | None = None
        for i, (rx, words) in enumerate(self._entries):
            if words is not None and words.isdisjoint(present):
                continue
            end = len(low) if best is None else best[0] + 1
            m = rx.search(low, 0, end)
            if m is not None and (best is None or m.start() < best[0]):
                best = (m.start(), i)
        return None if best is None else best[1]
