"""HTML -> text: readable, tables kept as rows, scripts dropped, quotes marked."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from consult.mail.html_text import html_to_text


def test_blocks_breaks_entities() -> None:
    html = "<div>Hello&nbsp;there &amp; <b>welcome</b></div><div>line&lt;2&gt;<br>line 3</div>"
    assert html_to_text(html) == "Hello there & welcome\nline<2>\nline 3"


def test_table_rows_stay_on_one_line() -> None:
    html = ("<table><tr><td>CPT</td><td>Mod</td></tr><tr><td> 43239 </td>"
            "<td>59</td></tr></table>")
    assert html_to_text(html) == "CPT | Mod\n43239 | 59"


def test_scripts_styles_head_are_dropped() -> None:
    html = ("<html><head><title>T</title><style>p{x:1}</style></head><body><script>var a=1;"
            "</script><p>Body</p><!-- comment --></body></html>")
    assert html_to_text(html) == "Body"


def test_blockquote_becomes_quoted_lines() -> None:
    html = "<p>New</p><blockquote>old<br>older<blockquote>oldest</blockquote></blockquote>"
    assert html_to_text(html) == "New\n\n> old\n> older\n>\n> > oldest"


def test_lists_and_links() -> None:
    html = ('<ul><li>one</li><li>two</li></ul><ol><li>a</li><li>b</li></ol>'
            '<a href="https://cms.example/ncci">NCCI table</a>')
    assert html_to_text(html) == "- one\n- two\n1. a\n2. b\nNCCI table <https://cms.example/ncci>"


def test_broken_markup_still_gives_text() -> None:
    assert html_to_text("<p>open <b>never closed <td>cell</p></div></div>") == \
        "open never closed cell"


@given(st.text())
def test_never_raises(html: str) -> None:
    assert isinstance(html_to_text(html), str)
