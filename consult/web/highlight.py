"""Inbound text as safe HTML with the PHI spans marked.

Every character of the mail goes through ``escape``; the only markup in the result is the
``<mark>`` elements this module writes itself, so a mail full of script tags shows as text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape

_KINDS = {"name", "dob", "mrn", "ssn", "phone", "address", "email", "other"}


def highlight(text: str, spans: Iterable[Mapping[str, Any]]) -> Markup:
    """``text`` escaped, with each valid, non-overlapping span wrapped in a PHI ``<mark>``.

    Spans that fall outside the text or overlap an earlier one are skipped rather than trusted:
    they come from analysis JSON that may be older than the parser that shows the text now.
    """
    parts: list[str] = []
    pos = 0
    ordered = sorted(
        (s for s in spans if isinstance(s.get("start"), int) and isinstance(s.get("end"), int)),
        key=lambda s: (s["start"], s["end"]),
    )
    for span in ordered:
        start, end = span["start"], span["end"]
        if start < pos or end <= start or end > len(text):
            continue
        kind = str(span.get("kind", "other"))
        css = kind if kind in _KINDS else "other"
        parts.append(str(escape(text[pos:start])))
        parts.append(f'<mark class="phi phi-{css}" title="PHI: {escape(kind)}">'
                     f"{escape(text[start:end])}</mark>")
        pos = end
    parts.append(str(escape(text[pos:])))
    return Markup("".join(parts))


def diff_lines(diff: str) -> list[tuple[str, str]]:
    """A unified diff as (css class, line) pairs for colouring; the template escapes the lines."""
    out = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            css = "diff-file"
        elif line.startswith("@@"):
            css = "diff-hunk"
        elif line.startswith("+"):
            css = "diff-add"
        elif line.startswith("-"):
            css = "diff-del"
        else:
            css = "diff-ctx"
        out.append((css, line))
    return out
