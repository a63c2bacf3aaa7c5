"""The fast paths answer exactly what the slow, whole-text scans they replaced answered.

``trap_at`` tries the trap pattern only near a candidate, ``FirstMatch`` runs only the payer
or setting patterns whose words occur, ``find_phi`` scans a kind only when its cue occurs (and
tries a label kind only where a cue word starts, an e-mail address only before an ``@``).
Each is checked here against the plain regex scan on trap-rich generated text and on both
labelled corpora.
"""

from __future__ import annotations

import copy
import re
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.scoring import load_corpus

from consult.extract import without_footer
from consult.extract.codes import _CAND
from consult.extract.cues import FirstMatch, hoist_boundaries, required_word
from consult.extract.model import CodeMention, PhiSpan
from consult.extract.narrative import (
    _DOS_CASELESS,
    _SENTENCE,
    _SENTENCE_AS_WRITTEN,
    _lowercase_regex,
)
from consult.extract.phi import _NOT_NAMES, _START_FINDERS, _VALUE_GROUP, PHI_PATTERNS, find_phi
from consult.extract.questions import _TYPE_RULES, _TYPE_RULES_LOW
from consult.extract.traps import find_traps, lower_same_length, trap_at
from consult.extract.vocab import PAYERS, SETTINGS
from consult.extract.when import _NUMERIC_YEAR, _NUMERIC_YEAR_AS_WRITTEN

DATA = Path(__file__).resolve().parents[1] / "data"
_PIECES = [
    "43214", "99213", "K222", "J1100", "0FT44ZZ", "3074F", " ", " ", "\n", ", ", ".", "#", "$",
    "Columbus, OH ", "OH ", "Ohio ", "New Hampshire ", "MRN ", "MRN: ", "claim # ", "acct ",
    "NPI ", "Tax ID ", "ICN ", "PO Box ", "Suite ", "Street", " St", "12 Elm", "(614) ",
    "555-0199", "-", "/", "3/4/2025", "March 15, 2025", "10:30 am", "30 mm", "5 mg", " units",
    "version ", "v2.1", "release ", "carpal tunnel release ", "RARC ", "N390", "x3", "times ",
    "a@b.example", "https://x.example/", "Patient: Jane Roe", "DOB ", "Mr. John Smith ",
    "Medicare Advantage", "UHC", "workers comp", "w/c claim", "in the office", "ASC", "ER visit",
    "2,500", "4.5", "build ", "Room ", "page ", "line item ", "Jan ", "1st of May",
]
_TEXTS = st.lists(st.sampled_from(_PIECES), max_size=30).map("".join)


def _corpus_texts() -> list[str]:
    out: list[str] = []
    for folder in ("extraction", "extraction_holdout"):
        for m, _labels in load_corpus(DATA / folder / "mails"):
            out += [m.subject, without_footer(m.text), without_footer(m.attachment_text),
                    m.quoted]
    return [t for t in out if t]


def _spans(rx: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [m.span() for m in rx.finditer(text)]


def _trap_answers(text: str) -> tuple[list[bool], list[bool]]:
    low = lower_same_length(text)
    whole = find_traps(text, low)
    spans = [m.span() for m in _CAND.finditer(text)]
    return ([bool(whole.kind_at(a, b)) for a, b in spans],
            [trap_at(text, low, a, b) is not None for a, b in spans])


@settings(max_examples=400, deadline=None)
@given(_TEXTS)
def test_trap_at_never_misses_a_trap(text: str) -> None:
    slow, fast = _trap_answers(text)
    # Trying each start on its own may find a trap a left-to-right scan had stepped over;
    # it never drops one the scan found.
    assert all(f or not s for s, f in zip(slow, fast, strict=True))


def test_trap_at_agrees_on_the_corpora() -> None:
    for text in _corpus_texts():
        slow, fast = _trap_answers(text)
        assert slow == fast, text


def _alternation(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?P<p{i}>{p})" for i, p in enumerate(patterns)))


@pytest.mark.parametrize("table", [PAYERS, SETTINGS], ids=["payers", "settings"])
def test_first_match_is_the_alternation(table: tuple[tuple[str, str], ...]) -> None:
    patterns = [_lowercase_regex(rx) for rx, _name in table]
    fast, slow = FirstMatch(patterns), _alternation(patterns)
    texts = [*_corpus_texts(), *(" and ".join(p for p in _PIECES[i:i + 9])
                                 for i in range(0, len(_PIECES), 3))]
    texts += ["BCBS or Medicare Advantage", "medicare part b, then uhc", "w/c claim, self pay",
              "office visit at the ASC", "seen in the ER visit, then admitted"]
    for text in texts:
        low = lower_same_length(text)
        m = slow.search(low)
        want = int(m.lastgroup[1:]) if m and m.lastgroup else None
        assert fast.index(low) == want, text


def test_required_words_are_required() -> None:
    assert required_word(r"workers['’]?\s*comp(?:ensation)?") == "workers"
    assert required_word(r"\boffice\s+(?:visit|setting|procedure)") == "office"
    assert required_word(r"june?") == "jun"
    assert required_word(r"ab{0,1}c") is None


_PHI_ALL = re.compile("|".join(f"(?P<{k}>{rx})" for k, rx in PHI_PATTERNS), re.X)


def _phi_slow(text: str) -> list[PhiSpan]:
    out = []
    for m in _PHI_ALL.finditer(text):
        kind = next(k for k, _rx in PHI_PATTERNS if m.group(k) is not None)
        group = _VALUE_GROUP.get(kind)
        start, end = m.span(group) if group else m.span()
        if kind == "name" and m.group("nv").split()[0].rstrip(",") in _NOT_NAMES:
            continue
        out.append(PhiSpan(kind=kind, where="body", start=start, end=end))
    return out


@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_phi_is_the_alternation(text: str) -> None:
    assert find_phi(text, "body") == _phi_slow(text)


def test_phi_agrees_on_the_corpora() -> None:
    for text in _corpus_texts():
        assert find_phi(text, "body") == _phi_slow(text), text


#: Pieces that put PHI labels, cue words inside other words ("except", "forms"), e-mail
#: addresses glued to a name, and a non-ASCII letter that matches ``k`` caselessly next to
#: each other.
_PHI_PIECES = [
    "Patient John Smith", "_jr@x.example", "a@b.example", "Smith_jr", "@", "@@", "x.example",
    " ", "MRN: 12345ABC", "Mr. Lee ", "Mrs Ann Ray", "except ", "forms ", "name: Ann Lee",
    "pt ", "Pt. name ", "member ID 9A12", "policy # 12", "fin 33", "FIN 4455", "john.doe+x",
    "-", ".", ", ", "\u212a", "Ms ", "Miss Kay Poe", "é", "1", "555-123-4567", "Name\tMod",
    "\n", "DOB 3/4/1950", "born on March 4, 1950", "date of birth: 01/02/1960", "acct#",
    "account no. 77", "chart 8", "csn 991", "MBI 1EG4TE5MK72", "subscriber id W1",
    "beneficiary Joe Doe", "insured: Lu Kim", "SSN 123456789", "123-45-6789", "12 Elm St",
]
_PHI_TEXTS = st.lists(st.sampled_from(_PHI_PIECES), max_size=24).map("".join)


@settings(max_examples=500, deadline=None)
@given(_PHI_TEXTS)
def test_phi_is_the_alternation_on_label_rich_text(text: str) -> None:
    assert find_phi(text, "body") == _phi_slow(text)


@settings(max_examples=300, deadline=None)
@given(_PHI_TEXTS)
def test_phi_label_kinds_start_at_a_start_word(text: str) -> None:
    """``find_phi`` tries the name, birth date and MRN patterns of ASCII text only where one of
    their start words begins: every position where one of the patterns matches is one."""
    if not text.isascii():
        return
    low = lower_same_length(text)
    for kind, rx in PHI_PATTERNS:
        if kind not in _START_FINDERS:
            continue
        starts = {m.start() for m in _START_FINDERS[kind].finditer(low)}
        compiled = re.compile(rx, re.X)
        assert all(p in starts for p in range(len(text)) if compiled.match(text, p)), (kind, text)


def test_hoist_boundaries_groups_adjacent_boundary_alternatives() -> None:
    assert hoist_boundaries(r"\ba|\bb(?:x|\by)|[\b]c|\bd") == r"\b(?:a|b(?:x|\by))|[\b]c|\bd"
    assert hoist_boundaries(r"abc") == "abc"


def test_question_rules_match_as_before_their_boundaries_were_hoisted() -> None:
    """Each question-type rule finds the same spans (and groups) in lower-cased text as the
    rule as written, lowered, on the corpora and on text made of the rules' own examples."""
    texts = [lower_same_length(t) for t in _corpus_texts()]
    texts += [" and ".join(_PIECES[i:i + 9]).lower() for i in range(0, len(_PIECES), 3)]
    texts += ["is 99213-25 with 20610 ok? what will medicare pay? 59 or xu? $ 40, 50% off",
              "does aetna require prior auth? how many units of j1100? global 90 days after",
              "which code, 43239 or 43235? dx sequencing, icd z12.11; rates and rvus"]
    for (kind, written), (_kind, fast) in zip(_TYPE_RULES, _TYPE_RULES_LOW, strict=True):
        slow = re.compile(written.pattern.replace("(?i)", "").lower())
        assert fast.pattern != slow.pattern or r"|\b" not in slow.pattern, kind
        for text in texts:
            want = [(m.span(), m.regs) for m in slow.finditer(text)]
            assert [(m.span(), m.regs) for m in fast.finditer(text)] == want, (kind, text)


_SENTENCE_PIECES = ["Dr. ", "Drs.", "Mr.\t", "Mrs. Lee", "Ms.", "St. ", "Jr.", "Sr. ", "vs. ",
                    "approx. ", "e.g. ", "i.e. ", "D", "M", "S", "J", "v", "a", "e", "i", "Z12.11",
                    "1.5 cm", ".", "?", "!", "...", "?!", " ", "\n", "\n\n", "\t", "word", "é",
                    "Émile", "dr. ", "DR.", "x.", "ok?", "Is 99213-25 ok? ", "Thanks!\n"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_SENTENCE_PIECES), max_size=25).map("".join))
def test_sentences_as_the_pattern_as_written_finds_them(text: str) -> None:
    """``_SENTENCE`` (taking runs of plain characters at once, possessively) finds the spans
    the pattern as written finds."""
    assert _spans(_SENTENCE, text) == _spans(re.compile(_SENTENCE_AS_WRITTEN), text)


def test_sentences_as_the_pattern_as_written_finds_them_on_the_corpora() -> None:
    slow = re.compile(_SENTENCE_AS_WRITTEN)
    for text in _corpus_texts():
        assert _spans(_SENTENCE, text) == _spans(slow, text), text


_DIGITS = st.lists(st.sampled_from(["1", "12", "2025", "3", "/", "-", ".", " ", "x", "٣",
                                    "10/02/2026", "2026-11-02"]), max_size=16).map("".join)


@settings(max_examples=800, deadline=None)
@given(_DIGITS)
def test_numeric_dates_as_the_pattern_as_written_finds_them(text: str) -> None:
    assert _spans(_NUMERIC_YEAR, text) == _spans(re.compile(_NUMERIC_YEAR_AS_WRITTEN), text)


def test_numeric_dates_as_the_pattern_as_written_finds_them_on_the_corpora() -> None:
    slow = re.compile(_NUMERIC_YEAR_AS_WRITTEN)
    for text in _corpus_texts():
        assert _spans(_NUMERIC_YEAR, text) == _spans(slow, text), text


_DOS_PIECES = ["DOS ", "D.O.S. ", "dates of service ", "Service date: ", "date of the surgery ",
               "visit date ", "performed on ", "done on ", "Seen on ", "scoped on ", "injected on ",
               "admitted on ", "date seen ", "visit ", "was ", "is ", "on ", ": ", "= ", "- ",
               "3/4/2025", "March 4, 2025", "4th of March 2025", "2025-03-04", "x", "\n", "é",
               "updates ", "undone on ", "foreseen on "]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_DOS_PIECES), max_size=14).map("".join))
def test_dos_starts_where_a_start_word_begins(text: str) -> None:
    """``_DOS_CASELESS`` tries its pattern of ASCII text only where a start word begins: it
    finds what the pattern as written finds, and every place the pattern matches is one."""
    for t in (text, text.upper()):
        low = lower_same_length(t)
        want = [(m.span(), m.regs) for m in _DOS_CASELESS.exact.finditer(t)]
        assert [(m.span(), m.regs) for m in _DOS_CASELESS.finditer(t, low)] == want, t
        if t.isascii():
            assert _DOS_CASELESS.starts is not None
            starts = {m.start() for m in _DOS_CASELESS.starts.finditer(low)}
            rx = _DOS_CASELESS.lowered
            assert all(p in starts for p in range(len(t)) if rx.match(low, p)), t


def test_dos_finds_what_the_pattern_finds_on_the_corpora() -> None:
    for text in _corpus_texts():
        for t in (text, text.upper()):
            low = lower_same_length(t)
            want = [(m.span(), m.regs) for m in _DOS_CASELESS.exact.finditer(t)]
            assert [(m.span(), m.regs) for m in _DOS_CASELESS.finditer(t, low)] == want, t
            first = _DOS_CASELESS.exact.search(t, 5)
            got = _DOS_CASELESS.search(t, low, 5)
            assert (got.span() if got else None) == (first.span() if first else None), t


def test_a_mention_copies_as_copy_copy_does() -> None:
    """``CodeMention.copy`` names every field, and shares the modifiers list as ``copy.copy``
    does (a modifier added to the first mention of a code shows on its occurrences)."""
    m = CodeMention("HCPCS", "J1100", ["JZ"], 12, "attachment", True, "dexamethasone", 3, 8)
    assert {f.name for f in fields(CodeMention)} == set(CodeMention.__slots__)
    got, want = m.copy(), copy.copy(m)
    assert got == want and got is not m
    assert all(getattr(got, f.name) is getattr(want, f.name) for f in fields(CodeMention))
