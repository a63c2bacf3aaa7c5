"""Alternatives the coder offers: "G0121 or 45378?", "59 or XS?", "option 1 ... option 2".

A question that offers a choice is not a claim with every option on it: "should we bill G0121
or 45378" asks which one, so the pair edit between them is beside the point, and "25 or 57"
asks which modifier, so neither is applied yet. This module finds the choices and marks the
service lines: a code choice puts each option in its own coding (``ServiceLine.option``), a
modifier choice moves the modifiers to ``modifier_options``.
"""

from __future__ import annotations

import re
from itertools import pairwise

from consult.extract.model import Alternative, CodeMention, ServiceLine
from consult.extract.vocab import MODIFIERS

#: Between two codes: the words of a choice ("or", "vs", "instead of", "or should we bill").
_CHOICE = re.compile(
    r"(?i)^[\s,()/:-]*(?:-?\s*[0-9A-Z]{2}\b[\s,]*)*(?:x\s*\d+\s*)?(?:units?\s*)?"
    r"(?:\)\s*)?,?\s*(?:or|vs\.?|versus|instead\s+of|rather\s+than|not)\b"
    r"(?:\s+(?:should|would|could|can|do|does|is|are|just|only|simply|bill|code|use|report|"
    r"we|i|it|be|the|a|an|with|correct|right|better|code\s+it\s+as|cpt|hcpcs|g-?code))*"
    r"[\s,()/:-]*$"
)
#: "25 or 57", "-59 vs -XS", "modifier 24 or 79": both must be modifiers.
_MOD_CHOICE = re.compile(
    r"(?<![\w./$])-?(?P<a>[0-9A-Z]{2})\s*(?:or|vs\.?|versus|/|instead\s+of|rather\s+than)\s*"
    r"(?:modifier\s+|mod\s+)?-?(?P<b>[0-9A-Z]{2})(?![\w/.%])(?:\s*(?:or|/)\s*-?"
    r"(?P<c>[0-9A-Z]{2})(?![\w/.%]))?"
)
#: Modifier pairs coders ask about so often that no "modifier" word is needed nearby.
_COMMON = frozenset({"24", "25", "57", "58", "59", "76", "77", "78", "79", "91", "XE", "XS",
                     "XP", "XU", "26", "TC", "50", "RT", "LT", "PT", "33", "53", "52", "51",
                     "GA", "GY", "GZ", "KX", "JW", "JZ", "95", "GT"})
_MOD_WORDS = re.compile(r"(?i)\bmod(?:ifier)?s?\b")
_OPTION = re.compile(r"(?im)^\s*[-*•]?\s*(?:option|opt\.?|scenario|choice|way)\s*#?\s*"
                     r"(?P<n>[0-9]|[A-D])\b\s*[:.)-]?")


_COMMA = re.compile(r"[\s,]*(?:-?\s*[0-9A-Z]{2}\b[\s,]*)*(?:x\s*\d+[\s,]*)?")
_JOIN = re.compile(
    r"(?i)^[\s,()/:-]*(?:-?\s*[0-9A-Z]{2}\b[\s,]*)*(?:x\s*\d+\s*)?(?:units?\s*)?"
    r"(?:\)\s*)?(?:\+|&|\band\b|\bplus\b|\bwith\b|\bw/)[\s,()/:-]*$"
)


def _separator(text: str) -> str:
    """How two neighbouring codes are joined: "or", "and", "comma" or "" (not a list)."""
    if "\n" in text.strip(" \t") or len(text) > 60:
        return ""
    if _CHOICE.match(text):
        return "or"
    if _JOIN.match(text):
        return "and"
    if _COMMA.fullmatch(text) and "," in text:
        return "comma"
    if _COMMA.fullmatch(text):
        return "and"
    return ""


def code_choices(text: str, mentions: list[CodeMention]) -> list[list[list[CodeMention]]]:
    """Choices among codes in ``text``: each a list of options, each option the codes joined
    by "+"/"and" ("74176 + 74177, or 74178" -> [[74176, 74177], [74178]]); in "A, B or C" the
    commas list options too."""
    ordered = sorted((m for m in mentions if m.start >= 0), key=lambda m: m.start)
    chains: list[tuple[list[CodeMention], list[str]]] = []
    chain: list[CodeMention] = []
    seps: list[str] = []
    for a, b in pairwise(ordered):
        sep = _separator(text[a.end:b.start])
        if not chain:
            chain = [a]
        if sep:
            chain.append(b)
            seps.append(sep)
        else:
            chains.append((chain, seps))
            chain, seps = [], []
    if chain:
        chains.append((chain, seps))
    out: list[list[list[CodeMention]]] = []
    for codes, kinds in chains:
        if "or" not in kinds:
            continue
        comma_is_or = "and" not in kinds
        options: list[list[CodeMention]] = [[codes[0]]]
        for code, kind in zip(codes[1:], kinds, strict=True):
            if kind == "or" or (kind == "comma" and comma_is_or):
                options.append([code])
            else:
                options[-1].append(code)
        sets = [{m.code for m in o} for o in options]
        if len({frozenset(x) for x in sets}) > 1 and not set.intersection(*sets):
            out.append(options)
    return out


def modifier_choices(text: str) -> list[tuple[int, tuple[str, ...]]]:
    """(position, modifiers) of each modifier choice written in ``text``."""
    out: list[tuple[int, tuple[str, ...]]] = []
    for m in _MOD_CHOICE.finditer(text):
        mods = tuple(x.upper() for x in (m.group("a"), m.group("b"), m.group("c")) if x)
        if not all(x in MODIFIERS for x in mods) or len(set(mods)) < 2:
            continue
        line_lo = text.rfind("\n", 0, m.start()) + 1
        context = text[max(line_lo, m.start() - 60):m.end() + 20]
        if not (all(x in _COMMON for x in mods) or _MOD_WORDS.search(context)
                or text[m.start()] == "-"):
            continue
        if all(x.isdigit() for x in mods) and re.match(
                r"\s*(?:min|minutes?|mg|ml|units?|sq|cm|mm|%|days?|years?)\b",
                text[m.end():m.end() + 12], re.I):
            continue
        out.append((m.start(), mods))
    return out


def option_blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each "Option 1: ..." block, when the text offers two or more."""
    starts = [m.start() for m in _OPTION.finditer(text)]
    if len(starts) < 2:
        return []
    ends = [*starts[1:], len(text)]
    # the last option ends at the first blank line after it (the question follows)
    last_blank = text.find("\n\n", starts[-1])
    if last_blank >= 0:
        ends[-1] = last_blank
    return list(zip(starts, ends, strict=True))


def apply_choices(
    lines: list[ServiceLine], texts: dict[str, str], mentions: list[CodeMention]
) -> list[Alternative]:
    """Find the choices in each text and mark ``lines`` (matched by code) accordingly."""
    out: list[Alternative] = []
    by_code = _ByCode(lines)
    option = 0
    for where, text in texts.items():
        here = [m for m in mentions if m.where == where and m.code in by_code]
        if not text or not here:
            continue
        blocks = option_blocks(text)
        if blocks:
            codings: list[tuple[str, ...]] = []
            for lo, hi in blocks:
                inside = tuple(dict.fromkeys(m.code for m in here if lo <= m.start < hi))
                if not inside:
                    continue
                option += 1
                codings.append(inside)
                for code in inside:
                    for ln in by_code.each(code):
                        if ln.option is None:
                            ln.option = option
            if len(codings) >= 2:
                out.append(Alternative("codings", tuple(codings)))
        for group in code_choices(text, here):
            options = [tuple(dict.fromkeys(m.code for m in o)) for o in group]
            codes = [c for o in options for c in o]
            if any(by_code[c].option is not None for c in codes):
                continue
            shared = {c for c in codes if codes.count(c) > 1}
            for opt in options:
                option += 1
                for code in opt:
                    if code not in shared:
                        for ln in by_code.each(code):
                            ln.option = option
            kind = "codes" if all(len(o) == 1 for o in options) else "codings"
            out.append(Alternative(kind, tuple(options)))  # type: ignore[arg-type]
        for pos, mods in modifier_choices(text):
            target = _code_for(pos, here, em_first=bool(set(mods) & _EM_MODIFIERS))
            if not target or target not in by_code:
                continue
            for line in by_code.each(target):
                line.modifiers = [x for x in line.modifiers if x not in mods]
                line.modifier_options = list(dict.fromkeys([*line.modifier_options, *mods]))
            out.append(Alternative("modifiers", tuple((x,) for x in mods), target))
    return out


_EM_MODIFIERS = frozenset({"24", "25", "57"})


def _is_em(code: str) -> bool:
    return code.isdigit() and 99202 <= int(code) <= 99499


class _ByCode(dict[str, ServiceLine]):
    """The first line of each code; ``set`` helpers reach every line of the code."""

    def __init__(self, lines: list[ServiceLine]) -> None:
        super().__init__()
        self.all = lines
        for ln in lines:
            self.setdefault(ln.code, ln)

    def each(self, code: str) -> list[ServiceLine]:
        return [ln for ln in self.all if ln.code == code]


def _code_for(pos: int, mentions: list[CodeMention], *, em_first: bool) -> str | None:
    """The code a modifier choice at ``pos`` is about: an E/M code for 24/25/57 when the text
    names one, else the last code before it, else the nearest one after it."""
    if em_first:
        ems = [m for m in mentions if _is_em(m.code)]
        if ems:
            return min(ems, key=lambda m: abs(m.start - pos)).code
    before = [m for m in mentions if m.end <= pos]
    if before:
        return max(before, key=lambda m: m.end).code
    after = [m for m in mentions if m.start >= pos]
    return min(after, key=lambda m: m.start).code if after else None
