"""The word lists that let a rule skip a case-insensitive pattern (``RuleContext.says``,
``may_contain``) are written by hand next to each pattern: each must hold a word of every match
the pattern can make, or a rule would silently miss a mail. Checked on every mail text we have
(the answer sets, the extraction mails, the real-world corpus; the first 20 KB of each, to keep
the test a few seconds), upper-cased as well."""

from __future__ import annotations

import itertools
import re
from functools import cache
from pathlib import Path
from re import _constants as C  # type: ignore[attr-defined]  # the pattern parser
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any

import pytest

from consult import phi_patterns
from consult.extract import when
from consult.findings.rules import code_families, coverage, diagnosis, global_period, mue, screening
from consult.findings.rules import pfs_indicators as pfs

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "data" / "mail-corpus"

PAIRS: list[tuple[str, re.Pattern[str], tuple[str, ...]]] = [
    ("global words", global_period._GLOBAL_WORDS, global_period._GLOBAL_NEEDS),
    ("diabetes", diagnosis._DIABETES, diagnosis._DIABETES_NEEDS),
    ("uncertain diagnosis", diagnosis._UNCERTAIN, diagnosis._UNCERTAIN_NEEDS),
    *[(f"organism {code}", rx, diagnosis._ORGANISM_WORDS) for rx, code in diagnosis._ORGANISMS],
    ("read", pfs._READ, pfs._READ_NEEDS),
    ("bilateral", pfs._BILATERAL, pfs._BILATERAL_NEEDS),
    ("surgeons", pfs._SURGEONS, pfs._SURGEONS_NEEDS),
    ("assist", pfs._ASSIST, pfs._ASSIST_NEEDS),
    ("co-surgeon", pfs._CO_SURGEON, pfs._CO_SURGEON_NEEDS),
    ("DME", mue._DME, mue._DME_NEEDS),
    ("actinic keratosis", code_families._AK_WORDS, code_families._AK_NEEDS),
    ("debridement", code_families._DEBRIDE_WORD, code_families._DEBRIDE_NEEDS),
    ("prolonged", code_families._PROLONGED_WORD, code_families._PROLONGED_NEEDS),
    ("colonoscopy", screening._COLON, screening._COLON_NEEDS),
    *[(f"abbreviation {rx.pattern[:30]}", rx, needs)
      for needs, rx, _full in coverage._ABBREVIATION_RX if needs],
    *[(f"mask {kind}", phi_patterns.compiled(kind), needs)
      for kind, needs in phi_patterns.NEEDS.items()],
    ("today", when._TODAY, when._TODAY_WORDS),
]


def examples(rx: re.Pattern[str], cap: int = 400) -> list[str]:
    """Strings the pattern matches: one per way through its alternatives (up to ``cap``), each
    repeat taken its least number of times (an optional one both once and not at all)."""

    def seq(items: Any) -> list[str]:
        out = [""]
        for op, av in items:
            out = [a + b for a in out for b in node(op, av)][:cap]
        return out

    def node(op: Any, av: Any) -> list[str]:
        if op is C.LITERAL:
            return [chr(av)]
        if op is C.NOT_LITERAL:
            return ["a" if av != ord("a") else "b"]
        if op is C.ANY:
            return ["x"]
        if op is C.IN:
            return one_of(av)
        if op is C.BRANCH:
            return [s for branch in av[1] for s in seq(branch)][:cap]
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            least, _most, sub = av
            once = seq(sub)
            out = ["".join(t) for t in itertools.islice(
                itertools.product(once, repeat=max(least, 1)), cap)]
            return out + ([""] if least == 0 else [])
        if op is C.SUBPATTERN:
            return seq(av[-1])
        if op is C.ATOMIC_GROUP:
            return seq(av)
        return [""]  # anchors, lookarounds, group references: no characters of their own

    def one_of(items: Any) -> list[str]:
        chars: list[str] = []
        for op, av in items:
            if op is C.LITERAL:
                chars.append(chr(av))
            elif op is C.RANGE:
                chars.append(chr(av[0]))
            elif op is C.CATEGORY:
                chars.append(CATEGORY_EXAMPLE.get(av, "a"))
        if any(op is C.NEGATE for op, _ in items):
            outside = re.compile("[" + "".join(map(re.escape, chars)) + "]") if chars else None
            return [next((c for c in " a0.-/Z" if not (outside and outside.match(c))), "~")]
        return chars[:3] or ["a"]

    return seq(P.parse(rx.pattern, rx.flags))


CATEGORY_EXAMPLE = {C.CATEGORY_DIGIT: "5", C.CATEGORY_WORD: "a", C.CATEGORY_SPACE: " ",
                    C.CATEGORY_NOT_DIGIT: "a", C.CATEGORY_NOT_WORD: " ", C.CATEGORY_NOT_SPACE: "a"}


@cache
def texts() -> tuple[str, ...]:
    files = [*sorted((ROOT / "tests" / "data" / "answers").glob("[dmf]*/*.eml")),
             *sorted((ROOT / "tests" / "data" / "extraction").rglob("*.eml")),
             *sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix not in (".md",
                                                                                    ".tsv"))]
    assert len(files) > 1_000, "the mail corpus is missing"
    out = [p.read_bytes()[:20_000].decode("utf-8", "replace") for p in files]  # the head
    return tuple(t for t in [*out, *(t.upper() for t in out)] if t.isascii())


@pytest.mark.parametrize(("name", "rx", "needs"), PAIRS, ids=[p[0] for p in PAIRS])
def test_every_match_holds_a_needed_word(name: str, rx: re.Pattern[str],
                                         needs: tuple[str, ...]) -> None:
    assert needs and all(w == w.lower() for w in needs)
    matched = 0
    for text in texts():
        for m in rx.finditer(text):
            matched += 1
            assert any(w in m.group().lower() for w in needs), (name, m.group())
    assert matched or name.startswith(("organism", "abbreviation", "mask")), f"{name} never matched"


@pytest.mark.parametrize(("name", "rx", "needs"), PAIRS, ids=[p[0] for p in PAIRS])
def test_every_way_the_pattern_can_match_holds_a_needed_word(
        name: str, rx: re.Pattern[str], needs: tuple[str, ...]) -> None:
    """Beyond the mails we have: a string for each alternative of the pattern, in three cases."""
    tried = 0
    for example in examples(rx):
        for text in (f" {example} ", f" {example.upper()} ", f" {example.title()} "):
            for m in rx.finditer(text):
                tried += 1
                assert any(w in m.group().lower() for w in needs), (name, m.group())
    assert tried, f"no example of {name} matched it"


#: A pattern and a simpler one every match of it holds (run first: no match of the simple one,
#: no match); ``lower``: the pattern runs on lower-cased text.
NEEDED_PATTERNS: list[tuple[str, re.Pattern[str], re.Pattern[str], bool]] = [
    *[(f"mask {kind}", phi_patterns.compiled(kind), needs, False)
      for kind, needs in phi_patterns.NEEDS_RE.items()],
    ("days after", when._AFTER, when._AFTER_UNIT, True),
]


@pytest.mark.parametrize(("name", "rx", "needs", "lower"), NEEDED_PATTERNS,
                         ids=[p[0] for p in NEEDED_PATTERNS])
def test_every_match_holds_its_needed_pattern(name: str, rx: re.Pattern[str],
                                              needs: re.Pattern[str], lower: bool) -> None:
    """Every match of the pattern, in the mails and in the pattern's own examples, holds a
    match of the simple pattern that is checked before it."""
    matched = 0
    for text in (*texts(), *(f" {e} " for e in examples(rx))):
        for m in rx.finditer(text.lower() if lower else text):
            matched += 1
            assert needs.search(m.group()), (name, m.group())
    assert matched, f"{name} never matched"
