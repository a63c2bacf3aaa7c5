"""HTML mail -> readable plain text, so HTML-only questions can be read and extracted.

Built on the stdlib ``html.parser`` (tolerant of broken markup, no dependency). Scripts, styles
and the head are dropped; block elements end lines; table cells are joined with `` | `` so a
code table stays one row per line; ``<blockquote>`` content is prefixed with ``> `` so the
quote splitter treats HTML replies the same way as plain-text ones.

Budget: ``html.parser`` (Python 3.11) rescans to the end of the input for every construct that
never ends (``<a <a <a ...``: 64 KB took 39 s; an unclosed ``<!--`` repeated is as bad), so the
input is capped at ``MAX_HTML_CHARS`` and ``defuse`` first escapes every ``<`` that opens such a
construct: the parse is then linear. The text of those constructs is kept, as text.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIP = frozenset({"script", "style", "head", "title", "noscript", "template", "svg", "object",
                   "xml", "o:p"})
_BLOCK = frozenset({
    "address", "article", "aside", "center", "dd", "div", "dl", "dt", "fieldset", "figcaption",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "nav", "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul",
    "caption", "body", "html",
})
_CELL = frozenset({"td", "th"})
_VOID_SKIP = frozenset({"meta", "link", "img", "input", "base"})
_SPACES = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")
#: Most HTML handed to the parser (characters); a question never needs more.
MAX_HTML_CHARS = 500_000
#: The ends the parser searches for: a comment, a CDATA-like and an MS Office marked section.
_COMMENT_END = re.compile(r"--\s*>")
_SECTION_END = re.compile(r"]\s*]\s*>")
_MS_SECTION_END = re.compile(r"]\s*>")
_OPENERS = re.compile(r"<(!--|!\[\s*(?:(?P<ms>if|else|endif)|(?P<cd>temp|cdata|ignore|include|"
                      r"rcdata))?)?", re.IGNORECASE)


def _last_start(pattern: re.Pattern[str], text: str) -> int:
    """Where the last match of ``pattern`` starts (-1: none); one linear scan."""
    last = -1
    for m in pattern.finditer(text):
        last = m.start()
    return last


def defuse(html: str) -> str:
    """``html`` with ``&lt;`` for every ``<`` whose construct cannot end (pure, linear).

    A ``<`` after the last ``>``, a ``<!--`` after the last ``-->``, a marked section without
    its ``]]>`` / ``]>`` (or with a keyword the stdlib refuses) are what make the stdlib parser
    quadratic; escaped, they are plain text and every remaining construct has its end.
    """
    last_gt = html.rfind(">")
    ends = {"comment": _last_start(_COMMENT_END, html) if "<!--" in html else -1,
            "section": _last_start(_SECTION_END, html) if "<![" in html else -1,
            "ms": _last_start(_MS_SECTION_END, html) if "<![" in html else -1}
    out: list[str] = []
    pos = 0
    for m in _OPENERS.finditer(html):
        i = m.start()
        opener = m.group(1) or ""
        if i > last_gt:
            bad = True
        elif opener == "!--":
            bad = ends["comment"] < i + 4
        elif opener.startswith("!["):
            if m.group("ms"):
                bad = ends["ms"] < i + 3
            elif m.group("cd"):
                bad = ends["section"] < i + 3
            else:
                bad = True  # the stdlib raises on an unknown marked-section keyword
        else:
            bad = False
        if bad:
            out.append(html[pos:i])
            out.append("&lt;")
            pos = i + 1
    if not out:
        return html
    out.append(html[pos:])
    return "".join(out)


class _TextBuilder(HTMLParser):
    """Collects text with line structure; state is per instance so it is safe to reuse nowhere."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip_depth = 0
        self.skip_tag: list[str] = []
        self.quote_depth = 0
        self.pre_depth = 0
        self.cell_index = 0
        self.list_stack: list[list[int]] = []
        self.link_href: str | None = None
        self.link_text: list[str] = []

    # line handling -----------------------------------------------------------------------
    def _flush(self, *, blank: bool = False) -> None:
        text = "".join(self.current).strip()
        if not self.pre_depth:
            text = " ".join(text.split())
        if text.endswith("|"):
            text = text[:-1].rstrip()
        self.current = []
        if text:
            self.lines.append("> " * self.quote_depth + text)
        if blank and self.lines and self.lines[-1].strip("> "):
            self.lines.append(">" * self.quote_depth)

    def _write(self, text: str) -> None:
        if self.link_href is not None:
            self.link_text.append(text)
        self.current.append(text)

    # parser hooks ------------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip_depth:
            if tag == self.skip_tag[-1]:
                self.skip_depth += 1
            return
        if tag in _SKIP:
            self.skip_depth = 1
            self.skip_tag.append(tag)
            return
        if tag in _VOID_SKIP:
            if tag == "img":
                alt = dict(attrs).get("alt")
                if alt:
                    self._write(f" {alt.strip()} ")
            return
        if tag == "br":
            self._flush()
            return
        if tag == "blockquote":
            self._flush(blank=True)
            self.quote_depth += 1
            return
        if tag == "pre":
            self._flush()
            self.pre_depth += 1
            return
        if tag in _CELL:
            if self.cell_index:
                self._write(" | ")
            self.cell_index += 1
            return
        if tag == "tr":
            self._flush()
            self.cell_index = 0
            return
        if tag in ("ul", "ol"):
            self._flush()
            self.list_stack.append([0 if tag == "ol" else -1])
            return
        if tag == "li":
            self._flush()
            marker = "- "
            if self.list_stack and self.list_stack[-1][0] >= 0:
                self.list_stack[-1][0] += 1
                marker = f"{self.list_stack[-1][0]}. "
            self._write(marker)
            return
        if tag == "a":
            href = dict(attrs).get("href")
            self.link_href = href or None
            self.link_text = []
            return
        if tag in _BLOCK:
            self._flush(blank=tag in ("p", "table", "hr", "h1", "h2", "h3"))
            if tag == "hr":
                self.lines.append("> " * self.quote_depth + "-" * 20)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr", "img", "meta", "link", "input", "base"):
            self.handle_starttag(tag, attrs)
        # other self-closed tags (<div/>, <p/>) open nothing we need to close

    def handle_endtag(self, tag: str) -> None:
        if self.skip_depth:
            if self.skip_tag and tag == self.skip_tag[-1]:
                self.skip_depth -= 1
                if self.skip_depth == 0:
                    self.skip_tag.pop()
            return
        if tag == "blockquote":
            self._flush()
            self.quote_depth = max(0, self.quote_depth - 1)
            self._flush(blank=True)
            return
        if tag == "pre":
            self._flush()
            self.pre_depth = max(0, self.pre_depth - 1)
            return
        if tag in ("ul", "ol"):
            self._flush()
            if self.list_stack:
                self.list_stack.pop()
            return
        if tag == "a":
            href, text = self.link_href, "".join(self.link_text).strip()
            self.link_href = None
            if href and href.startswith(("http://", "https://")) and href not in text and text:
                self.current.append(f" <{href}>")
            return
        if tag == "tr":
            self._flush()
            self.cell_index = 0
            return
        if tag in _BLOCK:
            self._flush(blank=tag in ("p", "table", "h1", "h2", "h3"))

    def handle_data(self, data: str) -> None:
        if self.skip_depth or not data:
            return
        if self.pre_depth:
            parts = data.split("\n")
            for i, part in enumerate(parts):
                if i:
                    self._flush()
                self._write(part)
            return
        text = _SPACES.sub(" ", data)
        if text == " " and (not self.current or self.current[-1].endswith(" ")):
            return
        self._write(text)

    def result(self) -> str:
        self._flush()
        out: list[str] = []
        for line in self.lines:
            line = line.rstrip()
            if not line.strip("> ") and out and not out[-1].strip("> "):
                continue
            out.append(line)
        while out and not out[-1].strip("> "):
            out.pop()
        return "\n".join(out).strip("\n")


def html_to_text(html: str) -> str:
    """Readable text for an HTML body; never raises (broken markup gives best-effort text).

    At most ``MAX_HTML_CHARS`` of markup are read, defused first (see ``defuse``)."""
    builder = _TextBuilder()
    try:
        builder.feed(defuse(html[:MAX_HTML_CHARS]))
        builder.close()
    except Exception:  # html.parser is tolerant, but an assertion on odd markup must not escape
        pass
    return builder.result()
