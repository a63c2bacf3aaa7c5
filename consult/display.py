"""Mail text made safe to show: bidirectional overrides and control characters neutralised.

Names, addresses and subjects come from strangers. A U+202E (right-to-left override) makes
``invoice_gpj.exe`` read as ``invoice_exe.jpg``, and an ESC or BEL starts a terminal escape
sequence (OSC 8 links, window titles, cursor moves) in `consult show`. Both are replaced by a
visible marker, so the reviewer sees that the text carried them: bidirectional controls as
``[U+202E]``, control characters as their Unicode "control picture" (ESC -> ␛). Newlines and
tabs stay. Pure.
"""

from __future__ import annotations

import re

#: Embeddings, overrides, isolates and marks that change the direction of the text.
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_UNSAFE = re.compile(f"[{BIDI_CONTROLS}\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f]")


def _marker(m: re.Match[str]) -> str:
    ch = m.group(0)
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ .. ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"[U+{code:04X}]"


def neutralize(text: str) -> str:
    """``text`` with every bidirectional control and control character (but newline and tab)
    replaced by a visible marker."""
    return _UNSAFE.sub(_marker, text) if _UNSAFE.search(text) else text
