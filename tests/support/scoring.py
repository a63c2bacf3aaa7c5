"""Score an extraction against a coder's labels: precision, recall, modifiers, units, traps.

Pure functions shared by ``bench/extract.py`` (which prints the figures) and the corpus tests
(which hold them to a floor), so both measure the same thing. Test support, not part of the
service (it lived in consult/extract/ before). Labels are the JSON written by
``tests/data/extraction/generate.py``.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consult.extract.model import CodeMention, Extraction

SYSTEMS = ("CPT", "HCPCS", "ICD10CM", "ICD10PCS")


@dataclass
class Tally:
    """Counts over a corpus; the ratios are computed at the end."""

    tp: Counter[str] = field(default_factory=Counter)
    fp: Counter[str] = field(default_factory=Counter)
    fn: Counter[str] = field(default_factory=Counter)
    modifiers_ok: int = 0
    units_ok: int = 0
    where_ok: int = 0
    matched: int = 0
    traps_taken: int = 0
    traps_total: int = 0
    facts_ok: Counter[str] = field(default_factory=Counter)
    facts_total: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def precision(self, system: str | None = None) -> float:
        tp = self._sum(self.tp, system)
        fp = self._sum(self.fp, system)
        return tp / (tp + fp) if tp + fp else 1.0

    def recall(self, system: str | None = None) -> float:
        tp = self._sum(self.tp, system)
        fn = self._sum(self.fn, system)
        return tp / (tp + fn) if tp + fn else 1.0

    def f1(self, system: str | None = None) -> float:
        p, r = self.precision(system), self.recall(system)
        return 2 * p * r / (p + r) if p + r else 0.0

    @staticmethod
    def _sum(c: Counter[str], system: str | None) -> int:
        return c[system] if system else sum(c.values())


def _texts(mail: Any) -> dict[str, str]:
    return {
        "subject": mail.subject,
        "body": mail.text,
        "attachment": mail.attachment_text,
        "quoted": mail.quoted,
        "forwarded": mail.quoted,
    }


def _trap_hit(m: CodeMention, texts: dict[str, str], traps: list[dict[str, str]]) -> bool:
    """Does the mention's text lie inside a labelled trap (e.g. the ZIP of an address)?"""
    text = texts.get(m.where, "")
    if m.start < 0:
        return False
    for trap in traps:
        needle = trap["text"]
        pos = text.find(needle)
        while pos >= 0:
            if pos < m.end and m.start < pos + len(needle):
                return True
            pos = text.find(needle, pos + 1)
    return False


def score_mail(tally: Tally, mail: Any, got: Extraction, labels: dict[str, Any]) -> None:
    """Add one mail's outcome to ``tally`` (``mail`` is the ParsedMail the offsets refer to)."""
    want: list[dict[str, Any]] = list(labels["codes"])
    have: list[CodeMention] = list(got.codes)
    texts = _texts(mail)
    remaining = list(have)
    for exp in want:
        same = [m for m in remaining if m.system == exp["system"] and m.code == exp["code"]]
        if not same:
            tally.fn[exp["system"]] += 1
            tally.errors.append(f"{labels['id']}: missed {exp['system']} {exp['code']}")
            continue
        best = next((m for m in same if set(m.modifiers) == set(exp["modifiers"])), same[0])
        remaining.remove(best)
        tally.tp[exp["system"]] += 1
        tally.matched += 1
        if set(best.modifiers) == set(exp["modifiers"]):
            tally.modifiers_ok += 1
        else:
            tally.errors.append(
                f"{labels['id']}: {exp['code']} modifiers {best.modifiers} != {exp['modifiers']}"
            )
        if best.units == exp["units"]:
            tally.units_ok += 1
        else:
            tally.errors.append(
                f"{labels['id']}: {exp['code']} units {best.units} != {exp['units']}"
            )
        if best.where == exp["where"]:
            tally.where_ok += 1
        else:
            tally.errors.append(
                f"{labels['id']}: {exp['code']} where {best.where} != {exp['where']}"
            )
    traps = labels.get("traps", [])
    tally.traps_total += len(traps)
    for m in remaining:
        tally.fp[m.system] += 1
        trap = _trap_hit(m, texts, traps)
        tally.traps_taken += int(trap)
        tally.errors.append(
            f"{labels['id']}: extra {m.system} {m.code} [{m.where}]" + (" (TRAP)" if trap else "")
        )
    for name, value in (
        ("payer", got.payer),
        ("date_of_service", got.date_of_service.isoformat() if got.date_of_service else None),
        ("setting", got.setting),
    ):
        expected = labels.get(name)
        if expected is None and value is None:
            continue
        tally.facts_total[name] += 1
        if expected == value:
            tally.facts_ok[name] += 1
        else:
            tally.errors.append(f"{labels['id']}: {name} {value!r} != {expected!r}")


def load_corpus(folder: Path) -> list[tuple[Any, dict[str, Any]]]:
    """(parsed mail, labels) for every ``NNN.eml`` + ``NNN.json`` pair in ``folder``.

    Uses the project's MIME parser; falls back to a minimal stdlib parse when it is missing,
    so the corpus stays usable while the parser changes.
    """
    out: list[tuple[Any, dict[str, Any]]] = []
    for eml in sorted(folder.glob("*.eml")):
        labels = json.loads(eml.with_suffix(".json").read_text(encoding="utf-8"))
        out.append((_parse(eml.read_bytes()), labels))
    return out


def _parse(raw: bytes) -> Any:
    try:
        from consult.mail.parse import parse_message
    except ImportError:  # pragma: no cover - only while the parser is being written
        return _stdlib_parse(raw)
    return parse_message(raw)


def _stdlib_parse(raw: bytes) -> Any:  # pragma: no cover - fallback only
    from email import policy
    from email.parser import BytesParser

    from consult.mail.message import Attachment, ParsedMail

    msg = BytesParser(policy=policy.default).parsebytes(raw)
    body = msg.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    atts = [
        Attachment(p.get_filename() or "", p.get_content_type(), 0, p.get_content())
        for p in msg.iter_attachments()
        if p.get_content_maintype() == "text"
    ]
    return ParsedMail(None, str(msg["subject"] or ""), str(msg["from"] or ""), text=text,
                      attachments=atts)
