"""Cheap "could this pattern match here at all?" checks that run before a slow regex.

Python's ``re`` tries every alternative of a big alternation at every position of a text; a
payer list with forty names costs far more than the mail it reads. Nearly every alternative
has a literal word that any of its matches must contain, so ``word in text`` (a C substring
search) for one word per alternative tells, exactly, when the regex cannot match.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator

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


def hoist_boundaries(pattern: str) -> str:
    r"""``pattern`` with the ``\b`` that opens each of a run of adjacent top-level alternatives
    written once, before them: ``\ba|\bb|c`` -> ``\b(?:a|b)|c``.

    It matches the same strings at the same places, the alternatives tried in the same order
    (the added group captures nothing), but ``re`` checks the boundary once per position
    instead of once per alternative, and most positions are not one: a rule of twenty
    ``\b`` words was ten times slower than any one of them."""
    out: list[str] = []
    run: list[str] = []

    def close_run() -> None:
        if len(run) > 1:
            out.append(r"\b(?:" + "|".join(run) + ")")
        elif run:
            out.append(r"\b" + run[0])
        run.clear()

    for alt in split_alternatives(pattern):
        if alt.startswith(r"\b"):
            run.append(alt[2:])
            continue
        close_run()
        out.append(alt)
    close_run()
    return "|".join(out)


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


def word_starts(words: Iterable[str]) -> re.Pattern[str]:
    """A pattern whose matches, over lower-cased text, start at every occurrence of one of
    ``words``, overlapping ones too: it takes a word's first letter and only looks ahead for
    the rest. Alternatives that open with a literal let ``re`` skip to the next such letter in
    C; a pattern that opens with a boundary or a group is tried at every position instead."""
    rests: dict[str, list[str]] = {}
    for word in sorted(set(words), key=lambda w: (-len(w), w)):
        rests.setdefault(word[0], []).append(re.escape(word[1:]))
    return re.compile("|".join(
        re.escape(first) + (f"(?:(?={'|'.join(rest)}))" if all(rest) else "")
        for first, rest in sorted(rests.items())))


#: ``rx.search(text, pos)`` as a function of ``pos``.
Search = Callable[[int], "re.Match[str] | None"]


def search_at_starts(rx: re.Pattern[str], text: str, starts: list[int]) -> Search:
    """``rx.search(text, pos)`` for a pattern that can only match at one of ``starts``
    (sorted): the leftmost of them where it matches, each tried once with ``match`` (which,
    like ``search``, reads the text before the position for ``\\b``)."""
    def search(pos: int) -> re.Match[str] | None:
        for i in range(bisect_left(starts, pos), len(starts)):
            m = rx.match(text, starts[i])
            if m is not None:
                return m
        return None
    return search


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


_INLINE_FLAGS = re.compile(r"\(\?([aiLmsux]+)\)")
#: What a pattern's text holds that lower-casing must keep: escapes, group names, inline flag
#: groups; and the letters it lowers.
_PATTERN_TOKEN = re.compile(r"\\.|\(\?P[<=][^>)]*[>)]|\(\?[aiLmsux-]*[:)]|\(|\)|\[|\]|[A-Za-z]")


def _lowered_pattern(pattern: str, ignorecase: bool) -> str:
    """``pattern`` for lower-cased text: the case-insensitive flags dropped and the letters it
    matches lowered. Raises ValueError when a letter stands outside a case-insensitive part
    (then lower-casing the text would change what it matches)."""
    out: list[str] = []
    scopes: list[bool] = []  # per open group: is it case-insensitive
    in_class = False
    pos = 0
    for m in _PATTERN_TOKEN.finditer(pattern):
        out.append(pattern[pos:m.start()])
        pos = m.end()
        tok = m.group()
        insensitive = ignorecase or any(scopes)
        if tok.startswith("\\") or tok.startswith("(?P="):
            out.append(tok)
        elif tok.startswith("(?P<"):  # a named group opens
            scopes.append(False)
            out.append(tok)
        elif in_class:
            in_class = tok != "]"
            out.append(tok.lower() if tok.isalpha() else tok)
            if tok.isalpha() and not insensitive:
                raise ValueError(f"case-sensitive letter in {pattern!r}")
        elif tok == "[":
            in_class = True
            out.append(tok)
        elif tok.startswith("(?") and tok.endswith(")"):  # global inline flags: (?i), (?im)
            if "-" in tok:
                raise ValueError(f"flags turned off in {pattern!r}")
            ignorecase = ignorecase or "i" in tok
            flags = tok[2:-1].replace("i", "")
            out.append(f"(?{flags})" if flags else "")
        elif tok.startswith("(?") and tok.endswith(":"):  # scoped flags: (?i:...)
            if "-" in tok:
                raise ValueError(f"flags turned off in {pattern!r}")
            scopes.append("i" in tok)
            flags = tok[2:-1].replace("i", "")
            out.append(f"(?{flags}:")
        elif tok == "(":
            scopes.append(False)
            out.append(tok)
        elif tok == ")":
            scopes.pop()
            out.append(tok)
        else:  # a letter
            if not insensitive:
                raise ValueError(f"case-sensitive letter in {pattern!r}")
            out.append(tok.lower())
    out.append(pattern[pos:])
    return "".join(out)


class Caseless:
    """A case-insensitive pattern that runs, on ASCII text, as a case-sensitive one over the
    lower-cased text: ``re`` matches case-insensitively several times slower, and for ASCII
    text lower-casing is exactly what case-insensitive matching does (other text takes the
    pattern itself). Match offsets index both texts alike; read groups from the original."""

    __slots__ = ("exact", "lowered", "starts")

    def __init__(self, rx: re.Pattern[str], starts: tuple[str, ...] = ()) -> None:
        """``starts``: lower-case words one of which every match begins with (a test holds
        them to the pattern); the lowered pattern is then tried only where one begins."""
        self.exact = rx
        ignorecase = bool(rx.flags & re.IGNORECASE)
        self.lowered = re.compile(_lowered_pattern(rx.pattern, ignorecase),
                                  rx.flags & ~re.IGNORECASE)
        self.starts = word_starts(starts) if starts else None

    def search(self, text: str, low: str, pos: int = 0) -> re.Match[str] | None:
        """``exact.search(text, pos)``; ``low`` is ``text`` lower-cased, length kept."""
        if not text.isascii():
            return self.exact.search(text, pos)
        if self.starts is None:
            return self.lowered.search(low, pos)
        return self._at_starts(low)(pos)

    def finditer(self, text: str, low: str) -> Iterator[re.Match[str]]:
        """``exact.finditer(text)``; ``low`` is ``text`` lower-cased, length kept."""
        if not text.isascii():
            return self.exact.finditer(text)
        if self.starts is None:
            return self.lowered.finditer(low)
        return self._iter(self._at_starts(low))

    def _at_starts(self, low: str) -> Search:
        """The lowered pattern's search, tried only where a start word begins."""
        assert self.starts is not None
        return search_at_starts(self.lowered, low, [m.start() for m in self.starts.finditer(low)])

    @staticmethod
    def _iter(search: Search) -> Iterator[re.Match[str]]:
        """What ``finditer`` gives: each match the first at or after the end of the one before
        (the patterns given start words never match the empty string)."""
        m = search(0)
        while m is not None:
            yield m
            m = search(m.end())
