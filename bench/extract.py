"""Measure extraction on the labelled corpora: quality per code system, traps, and throughput.

    .venv/bin/python bench/extract.py [--kb KB.sqlite] [--errors] [--rounds N]

Scores two corpora separately: the main one (``tests/data/extraction``, which the extractor
was tuned on) and the held-out one (``tests/data/extraction_holdout``, different scenario
families and wording, labelled before the extractor ever read it). The held-out figure is the
honest one. Throughput is timed over both corpora together.

Targets (printed, not asserted): precision >= 0.99, recall >= 0.98, zero traps taken,
>= 2,000 mails/s for extraction alone on one core. Without ``--kb`` (or CONSULT_KB_PATH) a
starter KB is built in a temporary folder first (a few seconds, not timed).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))  # the scoring is test support, shared with the corpus tests

from support.scoring import SYSTEMS, Tally, load_corpus, score_mail  # noqa: E402

from consult.extract import extract  # noqa: E402
from consult.kb.store import KnowledgeBase  # noqa: E402

DATA = TESTS / "data"
CORPORA = {"main": DATA / "extraction" / "mails", "holdout": DATA / "extraction_holdout" / "mails"}


def _kb(path: str | None, tmp: Path) -> KnowledgeBase:
    if path:
        return KnowledgeBase(path)
    from consult.kb.build import build_kb

    out = tmp / "kb.sqlite"
    build_kb(out)
    return KnowledgeBase(out)


def report(name: str, tally: Tally, n: int, *, errors: bool) -> None:
    """Print one corpus's quality figures."""
    print(f"== {name} corpus: {n} mails, "
          f"{sum(tally.tp.values()) + sum(tally.fn.values())} labelled codes, "
          f"{tally.traps_total} labelled traps")
    print(f"{'system':10} {'tp':>5} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7} {'f1':>6}")
    for s in (*SYSTEMS, None):
        label = s or "all"
        print(f"{label:10} {tally._sum(tally.tp, s):5d} {tally._sum(tally.fp, s):4d} "
              f"{tally._sum(tally.fn, s):4d} {tally.precision(s):9.4f} {tally.recall(s):7.4f} "
              f"{tally.f1(s):6.4f}")
    matched = max(tally.matched, 1)
    print(f"modifier accuracy: {tally.modifiers_ok / matched:.4f} ({tally.modifiers_ok}/{matched})")
    print(f"unit accuracy:     {tally.units_ok / matched:.4f} ({tally.units_ok}/{matched})")
    print(f"where accuracy:    {tally.where_ok / matched:.4f} ({tally.where_ok}/{matched})")
    for fact in ("payer", "date_of_service", "setting"):
        tot = tally.facts_total[fact]
        print(f"{fact + ' accuracy:':22} {tally.facts_ok[fact] / tot if tot else 1:.4f} "
              f"({tally.facts_ok[fact]}/{tot})")
    print(f"traps taken for codes: {tally.traps_taken}")
    if errors:
        for e in tally.errors:
            print("  " + e)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb", default=os.environ.get("CONSULT_KB_PATH"))
    ap.add_argument("--corpus", type=Path, action="append",
                    help="score this folder instead of the two corpora (repeatable)")
    ap.add_argument("--errors", action="store_true", help="list every miss, extra and mismatch")
    ap.add_argument("--rounds", type=int, default=5, help="passes over the corpora for timing")
    args = ap.parse_args()
    corpora = {str(p): p for p in args.corpus} if args.corpus else CORPORA
    mails = []
    with tempfile.TemporaryDirectory() as tmp:
        kb = _kb(args.kb, Path(tmp))
        for name, folder in corpora.items():
            corpus = load_corpus(folder)
            tally = Tally()
            for mail, labels in corpus:
                score_mail(tally, mail, extract(mail, kb), labels)
            report(name, tally, len(corpus), errors=args.errors)
            mails.extend(m for m, _ in corpus)
        for m in mails:  # warm the KB page cache before timing
            extract(m, kb)
        rounds: list[float] = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            for m in mails:
                extract(m, kb)
            rounds.append(time.perf_counter() - t0)
    elapsed = sum(rounds)
    n = len(mails) * args.rounds
    rate = n / elapsed if elapsed else float("inf")
    best = len(mails) / min(rounds) if min(rounds) else float("inf")
    print(f"throughput: {rate:,.0f} mails/s mean, {best:,.0f} mails/s best round "
          f"({elapsed * 1e6 / n:.0f} us/mail mean; extraction only, one core, "
          f"{len(mails)} mails x {args.rounds} rounds; best round shows the speed on a quiet "
          "machine)")
    print("targets: precision >= 0.99, recall >= 0.98, traps 0, >= 2,000 mails/s")


if __name__ == "__main__":
    main()
