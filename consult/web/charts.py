"""Charts drawn on the server as inline SVG: no script, no library, nothing the page's
Content-Security-Policy ('self' only) would have to allow.

Pure functions: data in, markup out. Every label goes through ``markupsafe.escape`` (a code or a
reviewer's address is text, never markup); colours come from CSS classes in app.css (``c-*``),
so the SVG carries no ``style`` attribute either. Each bar or point has a ``<title>`` (the
browser's tooltip and a screen reader's text) and each chart a ``<title>`` of its own; the page
puts a table of the same numbers next to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Series:
    """One coloured series: a value per label (None: no value, e.g. a week without answers)."""

    name: str
    values: Sequence[float | None]
    css: str


@dataclass(frozen=True)
class Segment:
    """One part of a horizontal bar."""

    name: str
    value: float
    css: str


def axis(value: float, *, whole: bool = True) -> tuple[float, float]:
    """The top of an axis at or above ``value`` and its tick step: a step of 1, 2 or 5 times
    a power of ten, at most 5 ticks above zero (``whole``: counts, so never a step under 1)."""
    if value <= 0:
        return 1.0, 1.0 if whole else 0.25
    raw = value / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if raw <= m * power + 1e-12)
    if whole:
        step = max(1.0, step)
    return math.ceil(value / step - 1e-9) * step, step



def fmt(value: float) -> str:
    """A number for a label: whole numbers without decimals, else one decimal."""
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.1f}"


def _n(value: float) -> str:
    """A coordinate, short."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(width: int, height: int, title: str, body: list[str], css: str) -> Markup:
    return Markup(
        f'<svg class="chart {escape(css)}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def _y_axis(top: float, step: float, left: int, right: int, y0: float, height: float,
            unit: str) -> list[str]:
    out = []
    ticks = round(top / step)
    for k in range(ticks + 1):
        value = step * k
        y = y0 - height * value / top
        out.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{_n(y)}" y2="{_n(y)}"/>')
        out.append(f'<text class="tick" x="{left - 4}" y="{_n(y + 3.5)}" text-anchor="end">'
                   f"{escape(fmt(value))}{escape(unit) if k == ticks else ''}</text>")
    return out


def _x_labels(labels: Sequence[str], left: float, slot: float, y: float) -> list[str]:
    every = max(1, math.ceil(len(labels) / 12))  # at most about a dozen, never overlapping
    return [f'<text class="tick" x="{_n(left + slot * (i + 0.5))}" y="{_n(y)}" '
            f'text-anchor="middle">{escape(label)}</text>'
            for i, label in enumerate(labels) if i % every == 0]


def stacked_bars(labels: Sequence[str], series: Sequence[Series], *, title: str,
                 unit: str = "", width: int = 760, height: int = 240) -> Markup:
    """Vertical bars, one per label, each stacked from ``series`` in order (bottom first)."""
    left, right, top_pad, bottom = 44, 8, 10, 24
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    y0 = top_pad + plot_h
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    top, step = axis(max(totals, default=0))
    slot = plot_w / max(1, len(labels))
    bar = max(1.0, slot * 0.72)
    body = _y_axis(top, step, left, width - right, y0, plot_h, unit)
    for i, label in enumerate(labels):
        base = 0.0
        x = left + slot * i + (slot - bar) / 2
        for s in series:
            value = s.values[i] or 0
            if value <= 0:
                continue
            h = plot_h * value / top
            y = y0 - plot_h * (base + value) / top
            body.append(f'<rect class="{escape(s.css)}" x="{_n(x)}" y="{_n(y)}" '
                        f'width="{_n(bar)}" height="{_n(h)}"><title>{escape(label)}: '
                        f"{escape(s.name)} {escape(fmt(value))}{escape(unit)}</title></rect>")
            base += value
    body.append(f'<line class="axis" x1="{left}" x2="{width - right}" y1="{y0}" y2="{y0}"/>')
    body += _x_labels(labels, left, slot, height - 6)
    return _svg(width, height, title, body, "bars")


def line_chart(labels: Sequence[str], series: Sequence[Series], *, title: str,
               unit: str = "", width: int = 760, height: int = 240) -> Markup:
    """A line per series over the labels; a None value breaks the line (no point there)."""
    left, right, top_pad, bottom = 44, 8, 10, 24
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    y0 = top_pad + plot_h
    top, step = axis(max((v for s in series for v in s.values if v is not None), default=0),
                     whole=False)
    slot = plot_w / max(1, len(labels))
    body = _y_axis(top, step, left, width - right, y0, plot_h, unit)
    for s in series:
        runs: list[list[tuple[float, float]]] = [[]]
        for i, value in enumerate(s.values):
            if value is None:
                runs.append([])
                continue
            x, y = left + slot * (i + 0.5), y0 - plot_h * value / top
            runs[-1].append((x, y))
            body.append(f'<circle class="{escape(s.css)}" cx="{_n(x)}" cy="{_n(y)}" r="3">'
                        f"<title>{escape(labels[i])}: {escape(s.name)} "
                        f"{escape(fmt(value))}{escape(unit)}</title></circle>")
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{_n(x)},{_n(y)}" for x, y in run)
                body.append(f'<polyline class="{escape(s.css)}" points="{points}"/>')
    body.append(f'<line class="axis" x1="{left}" x2="{width - right}" y1="{y0}" y2="{y0}"/>')
    body += _x_labels(labels, left, slot, height - 6)
    return _svg(width, height, title, body, "lines")


def hbars(rows: Sequence[tuple[str, Sequence[Segment]]], *, title: str, unit: str = "",
          normalize: bool = False, width: int = 460, label_width: int = 150) -> Markup:
    """Horizontal bars, one row per label, each made of its segments side by side. With
    ``normalize`` every row fills the width (shares of the row's total), else lengths are to
    scale with the largest row; the row's total (or each share) is written after it."""
    row_h, gap, pad = 18, 6, 4
    value_w = 120 if normalize else 70
    plot_w = width - label_width - value_w
    height = pad * 2 + len(rows) * (row_h + gap)
    top = max((sum(s.value for s in segs) for _, segs in rows), default=0) or 1
    body: list[str] = []
    for i, (label, segments) in enumerate(rows):
        y = pad + i * (row_h + gap)
        total = sum(s.value for s in segments)
        body.append(f'<text class="label" x="{label_width - 6}" y="{_n(y + row_h * 0.7)}" '
                    f'text-anchor="end">{escape(label)}</text>')
        x = float(label_width)
        scale = (plot_w / total if total else 0) if normalize else plot_w / top
        for s in segments:
            if s.value <= 0:
                continue
            w = s.value * scale
            share = f" ({s.value / total:.0%})" if normalize and total else ""
            body.append(f'<rect class="{escape(s.css)}" x="{_n(x)}" y="{y}" width="{_n(w)}" '
                        f'height="{row_h}"><title>{escape(label)}: {escape(s.name)} '
                        f"{escape(fmt(s.value))}{escape(unit)}{share}</title></rect>")
            x += w
        text = fmt(total) + unit
        if normalize and total:
            text = f"{segments[0].value / total:.0%} {segments[0].name}"
        body.append(f'<text class="value" x="{_n(x + 4)}" y="{_n(y + row_h * 0.7)}">'
                    f"{escape(text)}</text>")
    return _svg(width, max(height, row_h + pad * 2), title, body, "hbars")
