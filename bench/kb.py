"""Benchmark the knowledge base: build time from every source, KB size, lookup latency.

Prints figures; asserts nothing. Targets: the full build from every source (the complete
practitioner PTP table, MUE, AOC, RVU, HCPCS 2020/2025, the MCD document list) in 30 s or less;
lookups (PTP pair, code, MUE, PFS, dose parse) 20 us or less at the median on a warm
connection; FTS suggestion under 5 ms.

    .venv/bin/python bench/kb.py [--cms ../shared/data/cms] [--mcd ../shared/data/mcd]
                                 [--out /tmp/bench-kb.sqlite] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sources import all_sources  # bench/sources.py

from consult.kb.build import build_kb
from consult.kb.doses import billing_units, parse_dose_unit
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


class _Timer:
    """Times each step the build reports (the progress messages name the source)."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []
        self._last = time.perf_counter()
        self._label = "start"

    def __call__(self, message: str) -> None:
        now = time.perf_counter()
        self.steps.append((self._label, now - self._last))
        self._label, self._last = message, now

    def close(self) -> None:
        self("end")




def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    here = Path(__file__).resolve().parents[2]
    ap.add_argument("--cms", type=Path, default=here / "shared" / "data" / "cms")
    ap.add_argument("--mcd", type=Path, default=here / "shared" / "data" / "mcd")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--quick", action="store_true", help="skip the PTP-only build and parse")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-kb-"))
    out = args.out or work / "kb.sqlite"

    t = time.perf_counter()
    starter = build_kb(work / "starter.sqlite")
    print(f"starter KB build: {time.perf_counter() - t:.1f} s, "
          f"{starter.size_bytes / 1e6:.1f} MB")

    if not args.quick:
        sf = SourceFile(args.cms / PTP)
        t = time.perf_counter()
        n = sum(1 for _ in parse_csv(sf.lines("utf-8"), sf.label))
        parse_s = time.perf_counter() - t
        print(f"PTP parse only: {n:,} rows in {parse_s:.1f} s ({n / parse_s:,.0f} rows/s)")

    folder = all_sources(args.cms, args.mcd, work)
    timer = _Timer()
    t = time.perf_counter()
    full = build_kb(out, sources_dir=folder, progress=timer)
    total = time.perf_counter() - t
    timer.close()
    print(f"KB build from every source: {total:.1f} s (target <= 30 s), "
          f"{full.size_bytes / 1e6:.1f} MB -> {out}")
    for label, seconds in timer.steps[1:]:
        print(f"  {seconds:6.1f} s  {label[:90]}")
    print("  sources: " + ", ".join(f"{s.name} {s.rows:,}" for s in full.sources))

    kb = KnowledgeBase(out)
    descriptor = "Injection, ceftriaxone sodium, per 250 mg"
    unit = parse_dose_unit("J0696", descriptor)
    figures = {
        "ptp pair lookup (hit)": median_us(lambda: kb.ptp("43214", "43200"), 20000),
        "ptp pair lookup (miss)": median_us(lambda: kb.ptp("43200", "43214"), 20000),
        "code lookup (CPT)": median_us(lambda: kb.code("43214"), 20000),
        "code lookup (ICD-10-CM 7th char)": median_us(lambda: kb.code("S52.521A"), 20000),
        "mue lookup": median_us(lambda: kb.mue("43214"), 20000),
        "pfs lookup (global row)": median_us(lambda: kb.pfs("93000"), 20000),
        "pfs lookup (26 row)": median_us(lambda: kb.pfs("71046", "26"), 20000),
        "dose unit parse (descriptor)": median_us(
            lambda: parse_dose_unit("J0696", descriptor), 20000),
        "dose units from a stated dose": median_us(
            lambda: billing_units("1 g ceftriaxone", unit), 20000),
        "dose unit lookup (KB)": median_us(lambda: kb.dose_unit("J0696"), 20000),
        "drug units (KB, code + dose)": median_us(
            lambda: kb.drug_units("J0696", "1 g ceftriaxone"), 20000),
        "endoscopy family": median_us(lambda: kb.endoscopy_family("43239"), 5000),
        "icd 7th character build": median_us(lambda: kb.icd_with_seventh("S72.001", "D"),
                                             20000),
        "icd excludes1 both ways": median_us(lambda: kb.icd_excludes("K21.9", "P78.83"), 5000),
        "icd combination hints": median_us(
            lambda: kb.icd_combination_hints("K20.9", "K21.9"), 2000),
        "coverage docs by state+words": median_us(
            lambda: kb.coverage_documents(state="CA", words="colonoscopy"), 2000),
        "currency for a date of service": median_us(lambda: kb.currency(date(2026, 5, 1)),
                                                    5000),
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
