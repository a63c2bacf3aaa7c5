"""Print the median time to draft a reply to a 10-code mail, with the full (real-data) KB.

Target: under 10 ms for findings + rendering (the part ``consult.draft`` and
``consult.findings`` own); the whole core (parse + extract + findings + draft) is printed too.

    .venv/bin/python bench/draft.py                 # builds var/bench/kb-full.sqlite once
    .venv/bin/python bench/draft.py --kb PATH       # any KB file
    .venv/bin/python bench/draft.py --starter       # the starter KB only
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from consult.draft import render_draft
from consult.extract import extract
from consult.findings import evaluate
from consult.kb.build import build_kb
from consult.kb.store import KnowledgeBase
from consult.mail.parse import parse_message
from consult.pipeline import analyze

ROOT = Path(__file__).resolve().parent.parent
CMS = Path("/work/shared/data/cms")
MAIL = b"""From: Dana Whitfield <dana@clinic.example.org>
To: consult@localhost
Subject: Claim review: EGD with dilation and injections
Date: Mon, 16 Nov 2026 09:12:00 -0500
Message-ID: <bench-10@clinic.example.org>
Content-Type: text/plain; charset=utf-8

Hi team,

Medicare patient, date of service 11/12/2026, office setting. The note lists
43214, 43200-59, 76000, 99213-25, 20610-RT, 96372 x 3, J1100 x 8
and 11045. Diagnoses K21.9 and E11.9. Which of these can be billed together,
and are the modifiers right?

Thanks,
Dana
"""


def _full_kb(path: Path) -> Path:
    if path.exists():
        return path
    params = inspect.signature(build_kb).parameters
    if "sources_dir" not in params:
        sys.exit("build_kb has no sources_dir yet: pass --kb or --starter")
    print(f"building the full KB from {CMS} into {path} (once)...", file=sys.stderr)
    started = time.perf_counter()
    build_kb(path, sources_dir=CMS)  # type: ignore[call-arg]
    print(f"  built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


def _median_ms(fn: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb", type=Path, help="an existing KB file")
    ap.add_argument("--starter", action="store_true", help="build and use the starter KB")
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    if args.kb:
        kb_path = args.kb
    elif args.starter:
        kb_path = ROOT / "var" / "bench" / "kb-starter.sqlite"
        if not kb_path.exists():
            build_kb(kb_path)
    else:
        kb_path = _full_kb(ROOT / "var" / "bench" / "kb-full.sqlite")
    kb = KnowledgeBase(kb_path)
    mail = parse_message(MAIL)
    extraction = extract(mail, kb)
    received = date(2026, 11, 16)
    codes = [c.code for c in extraction.codes_in()]

    def findings_and_draft() -> None:
        found = evaluate(extraction, kb, received=received)
        render_draft(mail, extraction, found, kb, case_id=1)

    findings_and_draft()  # warm the template cache and the SQLite page cache
    found = evaluate(extraction, kb, received=received)
    ms_eval = _median_ms(lambda: evaluate(extraction, kb, received=received), args.runs)
    ms_draft = _median_ms(findings_and_draft, args.runs)
    ms_core = _median_ms(lambda: analyze(MAIL, kb, case_id=1), args.runs)
    print(f"KB {kb.version} ({kb_path.name}); {len(codes)} codes: {' '.join(codes)}")
    print(f"findings: {len(found)}; runs: {args.runs}")
    print(f"median evaluate:                 {ms_eval:7.2f} ms")
    print(f"median evaluate + render_draft:  {ms_draft:7.2f} ms   (target < 10 ms)")
    print(f"median whole core (parse..draft): {ms_core:7.2f} ms")


if __name__ == "__main__":
    main()
