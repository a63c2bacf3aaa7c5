"""Case2Code on mail that describes no service: signatures, sign-offs and cover notes of the
labelled consultation corpora and of the public mail-parser corpus (the target: zero), and, as
a harder check, whole bodies of the public corpus (none of which is a coding question).

    .venv/bin/python bench/suggest_mail.py [--kb KB.sqlite] [--show N]

Without ``--kb`` the starter KB is built (its index holds every CPT code with a lay
description, all HCPCS codes it knows and all of ICD-10-CM).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from consult.kb.build import build_kb
from consult.kb.store import KnowledgeBase
from consult.mail.parse import parse_message
from consult.suggest import suggest

ROOT = Path(__file__).resolve().parents[1]
CORPORA = [ROOT / "tests" / "data" / "extraction" / "mails",
           ROOT / "tests" / "data" / "extraction_holdout" / "mails"]
PUBLIC = ROOT.parent / "shared" / "data" / "mail-corpus"
#: Cover notes a coder writes around a case: never a reason to suggest a code.
COVER_NOTES = [
    "Thanks, a second opinion before we resubmit would help.",
    "Please see below and let me know your thoughts.",
    "Forwarding this from our billing team, FYI.",
    "Hi team, hope you are well!",
    "Sent from my iPhone",
    "This message may contain confidential information intended only for the recipient.",
    "Best regards,\nDana Whitfield, CPC, CGIC\nCoding Department | Lakeside Orthopedics\n"
    "Phone (555) 201-3344 ext. 12",
    "Appreciate any guidance, we got a denial on this one.",
]


def _texts_from_labelled() -> list[tuple[str, str]]:
    out = []
    for folder in CORPORA:
        for eml in sorted(folder.glob("*.eml")):
            mail = parse_message(eml.read_bytes())
            if mail.signature.strip():
                out.append((f"{eml.parent.parent.name}/{eml.name} signature", mail.signature))
    return out


def _texts_from_public(*, whole: bool) -> list[tuple[str, str]]:
    """Signatures of the public corpus's mails, or (``whole``) their whole new text."""
    out = []
    for path in sorted(PUBLIC.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in (".eml", ".msg", ".txt"):
            continue
        try:
            mail = parse_message(path.read_bytes()[:2_000_000])
        except Exception:  # a fixture that is not mail at all
            continue
        text = ("\n".join(t for t in (mail.subject, mail.text, mail.signature) if t) if whole
                else mail.signature)
        if text.strip():
            out.append((str(path.relative_to(PUBLIC)), text[:20_000]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kb", type=Path, default=None)
    ap.add_argument("--show", type=int, default=10, help="print this many offenders")
    args = ap.parse_args()
    if args.kb is None:
        args.kb = Path(tempfile.mkdtemp(prefix="bench-suggest-mail-")) / "kb.sqlite"
        build_kb(args.kb)
    kb = KnowledgeBase(args.kb)
    for label, texts in (("cover notes", [(t[:40], t) for t in COVER_NOTES]),
                         ("signatures (labelled corpora)", _texts_from_labelled()),
                         ("signatures (public mail corpus)", _texts_from_public(whole=False)),
                         ("public mail corpus, whole bodies (none is about coding)",
                          _texts_from_public(whole=True))):
        t = time.perf_counter()
        offenders = []
        for name, text in texts:
            result = suggest(text, kb, 5)
            if result.candidates:
                offenders.append((name, result.phrases[:2],
                                  [c.code for c in result.candidates[:3]]))
        print(f"{label}: {len(offenders)} of {len(texts)} texts got a suggestion "
              f"({time.perf_counter() - t:.1f} s)")
        for name, phrases, codes in offenders[:args.show]:
            print(f"   {name}: {phrases} -> {codes}")


if __name__ == "__main__":
    main()
