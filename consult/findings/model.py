"""A finding: one thing the KB says about the codes in a mail, with its citation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]


@dataclass(slots=True)
class Finding:
    """One rule's result. ``source`` is the citation (file, version, effective date)."""

    rule: str
    codes: list[str]
    severity: Severity
    detail: str
    source: str
    confidence: float = 1.0
    data: dict[str, Any] = field(default_factory=dict)
    #: "F1", "F2"... in display order, set by ``evaluate``; question parts cite them.
    id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "codes": list(self.codes),
            "severity": self.severity,
            "confidence": self.confidence,
            "detail": self.detail,
            "source": self.source,
        }
