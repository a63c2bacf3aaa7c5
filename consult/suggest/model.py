"""What a suggestion run returns: plain frozen data, easy to print, test and put in a draft."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Candidate:
    """A candidate code for a narrative.

    ``score`` orders candidates (higher is better); ``confidence`` (0-1) is the share of the
    phrase's meaningful words the code's texts cover, weighted by how rare each word is.
    ``role`` says whether the phrase read as a procedure or a diagnosis; ``phrase`` is the part
    of the narrative the code answers.
    """

    system: str
    code: str
    description: str
    score: float
    confidence: float
    role: str
    phrase: str
    matched: tuple[str, ...] = ()
    note: str = ""  # e.g. "7th character A: initial encounter"


@dataclass(frozen=True, slots=True)
class BundleNote:
    """A code the narrative implies that an NCCI PTP edit bundles into a coded one."""

    code: str
    into: str
    modifier_indicator: str  # "0": never reported together; "1": a modifier may apply
    source: str

    def text(self) -> str:
        if self.modifier_indicator == "1":
            how = ("reported together only when the services are distinct "
                   "(modifier 59 or XE/XS/XP/XU)")
        else:
            how = "not reported together (modifier indicator 0)"
        return f"{self.code} is bundled into {self.into} by an NCCI PTP edit: {how}."


@dataclass(frozen=True, slots=True)
class SuggestResult:
    """Ranked candidates, the coding they add up to, and why nothing was said when nothing was.

    ``candidates`` are best first (the coding's codes lead); ``coding`` is one code per
    procedure or diagnosis the narrative describes; ``bundled`` the codes left out of the
    coding because a PTP edit bundles them; ``abstained`` is empty unless the run said nothing.
    """

    candidates: tuple[Candidate, ...] = ()
    coding: tuple[Candidate, ...] = ()
    bundled: tuple[BundleNote, ...] = ()
    abstained: str = ""
    phrases: tuple[str, ...] = field(default=())
