"""The labelled corpus holds extraction to its floor (figures printed by bench/extract.py)."""

from __future__ import annotations

from pathlib import Path

from consult.extract import extract
from consult.extract.scoring import Tally, load_corpus, score_mail
from consult.kb.store import KnowledgeBase

CORPUS = Path(__file__).resolve().parents[1] / "data" / "extraction" / "mails"


def test_corpus_is_large_enough() -> None:
    assert len(list(CORPUS.glob("*.eml"))) >= 150


def test_corpus_precision_recall_and_traps(kb: KnowledgeBase) -> None:
    tally = Tally()
    for mail, labels in load_corpus(CORPUS):
        score_mail(tally, mail, extract(mail, kb), labels)
    detail = "\n".join(tally.errors[:30])
    assert tally.traps_taken == 0, detail
    assert tally.precision() >= 0.99, detail
    assert tally.recall() >= 0.98, detail
    assert tally.modifiers_ok / tally.matched >= 0.98, detail
    assert tally.units_ok / tally.matched >= 0.98, detail
