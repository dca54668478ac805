"""How values show themselves: one-line previews and small escaped HTML tables for reprs and notebooks.

Every repr in the package is built from these, so a result of any size prints in
a few lines and every document string that reaches HTML is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

PREVIEW_CHARS = 60
HTML_ROWS = 50  # rows a notebook table shows before "... N more"


def preview(text: str, width: int = PREVIEW_CHARS) -> str:
    """``text`` on one line as a quoted literal, its middle elided past ``width`` characters."""
    flat = " ".join(text.split())
    if len(flat) > width:
        head = (width * 2) // 3
        flat = flat[:head] + "\u2026" + flat[len(flat) - (width - head - 1):]
    return repr(flat)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"


def html_table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, caption: str = "", more: int = 0) -> str:
    """An escaped table; ``more`` rows not shown are counted in a last row."""
    out = ["<table>"]
    if caption:
        out.append(f"<caption style=\"text-align:left\">{html.escape(caption)}</caption>")
    out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td style=\"text-align:left\">{html.escape(str(cell))}</td>" for cell in row) + "</tr>")
    if more:
        out.append(f"<tr><td colspan=\"{len(header)}\">\u2026 {more:,} more</td></tr>")
    out.append("</table>")
    return "".join(out)
