"""Benchmark the knowledge base: import speed of the full PTP table, KB size, lookup latency.

Prints figures; asserts nothing (targets: PTP import < 60 s, pair and code lookups < 20 us
median on a warm connection, FTS suggestion < 5 ms).

    .venv/bin/python bench/kb.py [--cms ../shared/data/cms] [--out /tmp/bench-kb.sqlite]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from consult.kb.build import build_kb
from consult.kb.sources.files import SourceFile
from consult.kb.sources.ptp import parse_csv
from consult.kb.store import KnowledgeBase

PTP = "ptp/ncci_ptp_practitioner_v30.1_2024-04-01.csv.gz"


def median_us(fn: Callable[[], object], n: int) -> float:
    for _ in range(min(n, 200)):
        fn()  # warm
    times = []
    for _ in range(n):
        t = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t)
    return statistics.median(times) / 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    here = Path(__file__).resolve().parents[2]
    ap.add_argument("--cms", type=Path, default=here / "shared" / "data" / "cms")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-kb-"))
    out = args.out or work / "kb.sqlite"

    t = time.perf_counter()
    starter = build_kb(work / "starter.sqlite")
    print(f"starter KB build: {time.perf_counter() - t:.1f} s, "
          f"{starter.size_bytes / 1e6:.1f} MB")

    sf = SourceFile(args.cms / PTP)
    t = time.perf_counter()
    n = sum(1 for _ in parse_csv(sf.lines("utf-8"), sf.label))
    parse_s = time.perf_counter() - t
    print(f"PTP parse only: {n:,} rows in {parse_s:.1f} s ({n / parse_s:,.0f} rows/s)")

    only_ptp = work / "ptp-only"
    only_ptp.mkdir()
    (only_ptp / Path(PTP).name).symlink_to(args.cms / PTP)
    t = time.perf_counter()
    rep = build_kb(work / "ptp.sqlite", sources_dir=only_ptp)
    total = time.perf_counter() - t
    rows = rep_rows = next(s.rows for s in rep.sources if s.name == "ncci_ptp_practitioner")
    print(f"KB build with the full PTP table: {total:.1f} s total (incl. ~3 s starter + "
          f"ICD-10-CM), {rep_rows:,} PTP rows, {rows / total:,.0f} rows/s overall, "
          f"{rep.size_bytes / 1e6:.1f} MB")

    t = time.perf_counter()
    full = build_kb(out, sources_dir=args.cms)
    print(f"KB build from every CMS file: {time.perf_counter() - t:.1f} s, "
          f"{full.size_bytes / 1e6:.1f} MB -> {out}")

    kb = KnowledgeBase(out)
    kb.ptp("43214", "43200")
    figures = {
        "ptp pair lookup (hit)": median_us(lambda: kb.ptp("43214", "43200"), 20000),
        "ptp pair lookup (miss)": median_us(lambda: kb.ptp("43200", "43214"), 20000),
        "code lookup (CPT)": median_us(lambda: kb.code("43214"), 20000),
        "code lookup (ICD-10-CM 7th char)": median_us(lambda: kb.code("S52.521A"), 20000),
        "icd excludes1 both ways": median_us(lambda: kb.icd_excludes("K21.9", "P78.83"), 5000),
        "mue lookup": median_us(lambda: kb.mue("43214"), 20000),
    }
    for name, us in figures.items():
        print(f"{name:34} median {us:8.1f} us")
    for text in ("balloon dilation of the esophagus", "patient with heartburn and reflux",
                 "fracture of the right radius initial encounter"):
        us = median_us(lambda text=text: kb.suggest(text), 300)
        print(f"suggest {text[:32]!r:36} median {us / 1000:6.2f} ms")
    kb.close()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
