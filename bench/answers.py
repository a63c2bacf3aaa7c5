"""Score the drafts against the expert-answer sets in tests/data/answers/ (see its README).

    .venv/bin/python bench/answers.py                   # dev and medicare sets
    .venv/bin/python bench/answers.py --set holdout     # the held-out set (score it once)
    .venv/bin/python bench/answers.py --set dev --show  # every miss, case by case

Prints per set: facts found %, false statements, short answers that answer %, honest
abstentions %, over-abstentions, question-type agreement, and the median words of the reply.
Targets (issue 10): facts >= 95%, false statements 0, short answers >= 90%, abstentions 100%,
median <= 220 words. The drafter runs on the full KB built from ../shared/data/cms (built once
into var/bench/kb-full.sqlite, as bench/draft.py does), with the mail's Date as date received.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sources import all_sources  # bench/sources.py

from consult.kb.build import build_kb
from consult.kb.store import KnowledgeBase
from consult.pipeline import analyze

ROOT = Path(__file__).resolve().parent.parent
SETS = ROOT / "tests" / "data" / "answers"
CMS = ROOT.parent / "shared" / "data" / "cms"
MCD = ROOT.parent / "shared" / "data" / "mcd"
DEFAULT_KB = ROOT / "var" / "bench" / "kb-full.sqlite"
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+(?=[A-Z0-9\"(\[])|\n")


def paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks, whitespace collapsed."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def sentences(text: str) -> list[str]:
    """Sentences of every paragraph (a line break ends one too)."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        for line in block.split("\n"):
            out.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return out


def all_in_one(patterns: list[str], units: list[str]) -> bool:
    """Whether every pattern matches within one of ``units``."""
    compiled = [re.compile(p, re.I) for p in patterns]
    return any(all(rx.search(u) for rx in compiled) for u in units)


@dataclass
class CaseScore:
    """One case's result."""

    name: str
    facts: int = 0
    found: int = 0
    missed: list[str] = field(default_factory=list)
    false: list[str] = field(default_factory=list)
    short_ok: bool = True
    abstain_expected: bool = False
    abstained: bool = False
    words: int = 0
    types_expected: list[str] = field(default_factory=list)
    types_got: list[str] = field(default_factory=list)
    ms: float = 0.0


_RESTATED = re.compile(r'(?ms)^(?:Question(?: \d+)?|You asked): ".*?"\s*$')


def own_words(text: str) -> str:
    """The draft without the coder's question it restates in quotes ("Question: ..."): those
    are the coder's words, not statements of ours, so they never count as false."""
    return _RESTATED.sub("", text)


def score_case(expected: dict[str, Any], result: dict[str, Any], name: str) -> CaseScore:
    """Score one draft (``consult draft --json`` shape) against one expected answer."""
    text = result.get("reply_text") or ""
    paras = paragraphs(text)
    sents = [" ".join(s.split()) for s in sentences(own_words(text))]
    s = CaseScore(name)
    for fact in expected.get("facts", []):
        s.facts += 1
        if all_in_one(fact["match"], paras):
            s.found += 1
        else:
            s.missed.append(fact["fact"])
    for bad in expected.get("must_not", []):
        if all_in_one(bad["match"], sents):
            s.false.append(bad["statement"])
    parts = result.get("questions") or []
    answers = " ".join(str(p.get("answer") or "") for p in parts)
    answers = " ".join(answers.split())
    s.short_ok = all(re.search(p, answers, re.I) for p in expected.get("short_answer", []))
    s.abstain_expected = bool(expected.get("needs_expert"))
    s.abstained = bool(result.get("needs_expert")) and any(
        p.get("answerable") is False for p in parts)
    s.words = len(text.split())
    s.types_expected = [p["type"] for p in expected.get("question_parts", [])]
    s.types_got = [str(p.get("type")) for p in parts]
    return s


def _type_agreement(scores: list[CaseScore]) -> float:
    """Share of expected question types the draft also found (as a multiset per case)."""
    hit = total = 0
    for s in scores:
        got = list(s.types_got)
        for t in s.types_expected:
            total += 1
            if t in got:
                got.remove(t)
                hit += 1
    return hit / total if total else 1.0


def run_set(folder: Path, kb: KnowledgeBase, *, show: bool) -> list[CaseScore]:
    """Draft every case of a set and score it."""
    scores: list[CaseScore] = []
    for spec in sorted(folder.glob("*.json")):
        mail = spec.with_suffix(".eml")
        if not mail.exists():
            continue
        expected = json.loads(spec.read_text())
        started = time.perf_counter()
        analysis = analyze(mail.read_bytes(), kb)
        ms = (time.perf_counter() - started) * 1000
        s = score_case(expected, analysis.to_json(), spec.stem)
        s.ms = ms
        scores.append(s)
        if show and (s.missed or s.false or not s.short_ok
                     or s.abstain_expected != s.abstained):
            print(f"--- {folder.name}/{spec.stem} ({s.found}/{s.facts} facts, {s.words} words)")
            for m in s.missed:
                print(f"  missed: {m}")
            for f in s.false:
                print(f"  FALSE:  {f}")
            if not s.short_ok:
                print(f"  short answer misses {expected.get('short_answer')}")
            if s.abstain_expected != s.abstained:
                print(f"  abstention expected {s.abstain_expected}, got {s.abstained}")
    return scores


def report(name: str, scores: list[CaseScore]) -> None:
    """Print the figures of one set."""
    n = len(scores)
    if not n:
        print(f"== {name}: no cases")
        return
    facts = sum(s.facts for s in scores)
    found = sum(s.found for s in scores)
    false = sum(len(s.false) for s in scores)
    false_cases = sum(1 for s in scores if s.false)
    short = sum(1 for s in scores if s.short_ok)
    want = [s for s in scores if s.abstain_expected]
    honest = sum(1 for s in want if s.abstained)
    over = sum(1 for s in scores if s.abstained and not s.abstain_expected)
    words = statistics.median(s.words for s in scores)
    ms = statistics.median(s.ms for s in scores)
    print(f"== {name}: {n} mails")
    print(f"facts found:            {found / facts:6.1%} ({found}/{facts})")
    print(f"false statements:       {false} (in {false_cases} of {n} drafts)")
    print(f"short answers answer:   {short / n:6.1%} ({short}/{n})")
    print(f"honest abstentions:     {honest / len(want) if want else 1:6.1%} "
          f"({honest}/{len(want)}); over-abstentions {over}")
    print(f"question types agreed:  {_type_agreement(scores):6.1%}")
    print(f"median words:           {words:.0f}")
    print(f"median ms per mail:     {ms:.1f} (parse..draft)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", action="append", dest="sets",
                    help="set folder name under tests/data/answers (repeatable)")
    ap.add_argument("--kb", type=Path, default=DEFAULT_KB)
    ap.add_argument("--show", action="store_true", help="print every miss")
    args = ap.parse_args(argv)
    if not args.kb.exists():
        print(f"building the full KB from {CMS} and {MCD} into {args.kb} (once)...",
              file=sys.stderr)
        args.kb.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as work:
            build_kb(args.kb, sources_dir=all_sources(CMS, MCD, Path(work)))
    kb = KnowledgeBase(args.kb)
    for name in args.sets or ["dev", "medicare"]:
        folder = SETS / name
        if not folder.is_dir():
            print(f"== {name}: no folder {folder}")
            continue
        report(name, run_set(folder, kb, show=args.show))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
