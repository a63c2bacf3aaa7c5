"""No suggestion from mail that describes no service: the signatures of the labelled
consultation corpora and of the shared public mail corpus (bench/suggest_mail.py prints the
same figures, and the harder whole-body count)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support.paths import MAIL_CORPUS
from support.servers import require

from consult.kb.store import KnowledgeBase
from consult.mail.parse import parse_message
from consult.suggest import suggest

DATA = Path(__file__).resolve().parents[1] / "data"
CORPUS = Path(os.environ.get("CONSULT_MAIL_CORPUS", MAIL_CORPUS))


def _offenders(kb: KnowledgeBase, paths: list[Path]) -> list[str]:
    out = []
    for path in paths:
        try:
            mail = parse_message(path.read_bytes()[:2_000_000])
        except Exception:  # a corpus file that is not a mail at all
            continue
        if mail.signature.strip() and suggest(mail.signature, kb).candidates:
            out.append(f"{path.name}: {mail.signature[:80]!r}")
    return out


def test_signatures_of_the_labelled_corpora_get_no_code(starter_kb: KnowledgeBase) -> None:
    mails = sorted((DATA / "extraction" / "mails").glob("*.eml")) + sorted(
        (DATA / "extraction_holdout" / "mails").glob("*.eml"))
    assert len(mails) > 250
    assert _offenders(starter_kb, mails) == []


@pytest.mark.slow
def test_signatures_of_the_public_corpus_get_no_code(starter_kb: KnowledgeBase) -> None:
    if not (CORPUS / "MANIFEST.tsv").exists():
        require(False, f"the mail corpus at {CORPUS} (set CONSULT_MAIL_CORPUS)")
    files = [p for p in sorted(CORPUS.rglob("*"))
             if p.is_file() and p.suffix.lower() in (".eml", ".msg", ".txt")]
    assert _offenders(starter_kb, files) == []
