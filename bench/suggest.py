"""Benchmark Case2Code: accuracy on a narrative set and latency on the full KB.

Prints figures; asserts nothing. Targets: top-3 >= 90 %, top-1 >= 75 %, p95 <= 20 ms.

    .venv/bin/python bench/suggest.py [FILE.jsonl] [--kb KB.sqlite] [--cms ../shared/data/cms]
        [--misses]

FILE defaults to tests/data/narratives/dev.jsonl: one JSON object a line with ``text``,
``expected`` and ``acceptable`` ([{"system", "code"}]) and ``abstain``. Without ``--kb`` the
full KB is built from the CMS files first (about 30 s).

- top-k: a line counts when one of its expected (or acceptable) codes is among the first k
  candidates; a line that should abstain counts when the run abstained.
- coding@k: stricter: every expected code is among the first k + (n - 1) candidates, n being
  the number of expected codes.
- abstentions right: of the runs that abstained, the share whose line expected an abstention;
  abstention recall: of the lines that expected one, the share that got it.
- latency: p50 and p95 of ``suggest`` per line on a warm KB (each line run 3 times).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from consult.kb.build import build_kb
from consult.kb.store import KnowledgeBase
from consult.suggest import suggest

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = {"ICD-10-CM": "ICD10CM", "ICD10": "ICD10CM", "ICD-10": "ICD10CM"}


def _key(item: dict) -> tuple[str, str]:
    return SYSTEMS.get(item["system"], item["system"]), item["code"].upper()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("file", nargs="?", type=Path,
                    default=ROOT / "tests" / "data" / "narratives" / "dev.jsonl")
    ap.add_argument("--kb", type=Path, default=None)
    ap.add_argument("--cms", type=Path, default=ROOT.parent / "shared" / "data" / "cms")
    ap.add_argument("--misses", action="store_true", help="print the lines missed at top-3")
    args = ap.parse_args()
    if args.kb is None:
        args.kb = Path(tempfile.mkdtemp(prefix="bench-suggest-")) / "kb.sqlite"
        t = time.perf_counter()
        build_kb(args.kb, args.cms)
        print(f"full KB built in {time.perf_counter() - t:.0f} s")
    kb = KnowledgeBase(args.kb)
    rows = [json.loads(line) for line in args.file.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    hits = {1: 0, 3: 0, 5: 0}
    coding_hits = {1: 0, 3: 0}
    abstained = abstained_right = should_abstain = 0
    times: list[float] = []
    misses: list[str] = []
    suggest("warm up the index", kb)
    for row in rows:
        for _ in range(3):
            t = time.perf_counter()
            result = suggest(row["text"], kb, 10)
            times.append((time.perf_counter() - t) * 1000)
        got = [(c.system, c.code) for c in result.candidates]
        expected = [_key(e) for e in row.get("expected", [])]
        good = set(expected) | {_key(e) for e in row.get("acceptable", [])}
        if row.get("abstain"):
            should_abstain += 1
        if not got:
            abstained += 1
            if row.get("abstain"):
                abstained_right += 1
                for k in hits:
                    hits[k] += 1
                for k in coding_hits:
                    coding_hits[k] += 1
                continue
        if row.get("abstain"):
            misses.append(f"{row['id']} should abstain: {row['text'][:70]!r} -> "
                          f"{[c for _s, c in got[:3]]}")
            continue
        for k in hits:
            if good & set(got[:k]):
                hits[k] += 1
        for k in coding_hits:
            if expected and all(e in got[:k + len(expected) - 1] for e in expected):
                coding_hits[k] += 1
        if not good & set(got[:3]):
            misses.append(f"{row['id']} {row.get('kind', '')}: {row['text'][:80]!r} want "
                          f"{[c for _s, c in expected]} got {[c for _s, c in got[:3]]}"
                          f"{' (abstained: ' + result.abstained + ')' if not got else ''}")
    n = len(rows)
    times.sort()
    print(f"{args.file} ({n} lines, KB {kb.version})")
    print(f"top-1 {hits[1] / n:6.1%}   top-3 {hits[3] / n:6.1%}   top-5 {hits[5] / n:6.1%}")
    print(f"coding@1 {coding_hits[1] / n:6.1%}   coding@3 {coding_hits[3] / n:6.1%}")
    print(f"abstentions right {abstained_right}/{abstained} "
          f"({abstained_right / abstained if abstained else 1:.1%}), abstention recall "
          f"{abstained_right}/{should_abstain}")
    print(f"latency p50 {statistics.median(times):.2f} ms   "
          f"p95 {times[int(len(times) * 0.95) - 1]:.2f} ms   max {times[-1]:.2f} ms")
    if args.misses:
        print("\n".join(misses))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
