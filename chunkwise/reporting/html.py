"""A report as one self-contained HTML page: inline CSS and SVG plots, no scripts, nothing fetched.

Every string that reaches the page goes through :func:`html.escape` (``_e``), whether it
came from a document (ids, excerpts), from the caller (model and price names, notes) or
from chunkwise itself; numbers are formatted first and escaped too. The page is static:
it prints and renders the same with scripting off.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from ._rows import ComparisonRow, gib, padding_explanation, padding_rows, SCHEMA_VERSION, serving_rows, usd


if TYPE_CHECKING:
    from .report import Report

GIB = 2**30

PALETTE = {
    "naive": "#9aa5b1",
    "chunkwise": "#1f6feb",
    "removed": "#f0b429",
    "weights": "#52606d",
    "reserve": "#9aa5b1",
    "kv_used": "#1f6feb",
    "kv_free": "#c5dcfb",
    "headroom": "#e4e7eb",
    "ink": "#1f2933",
    "muted": "#616e7c",
    "grid": "#e4e7eb",
}

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f5f7fa;color:#1f2933;font:15px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif}
main{max-width:1120px;margin:0 auto;padding:32px 40px 48px}
h1{font-size:26px;margin:0 0 4px;font-weight:650;letter-spacing:-.01em}
h2{font-size:18px;margin:0 0 12px;font-weight:620}
.sub{color:#616e7c;margin:0 0 24px}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:14px;margin-bottom:24px}
.card{background:#fff;border-radius:10px;padding:16px 18px;box-shadow:0 1px 2px rgba(31,41,51,.08)}
.card .k{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:#616e7c}
.card .v{font-size:28px;font-weight:680;margin:4px 0 2px;color:#1f6feb;font-variant-numeric:tabular-nums}
.card .d{font-size:13px;color:#3e4c59}
section{background:#fff;border-radius:10px;padding:20px 22px;margin-bottom:18px;box-shadow:0 1px 2px rgba(31,41,51,.08)}
.two{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.two section{margin-bottom:0}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:6px 10px;border-bottom:1px solid #e4e7eb;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
thead th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#616e7c;font-weight:600}
td.better{color:#0b6e4f;font-weight:600}
table.cmp td:first-child{width:30%}
table.cmp td:last-child,table.cmp th:last-child{text-align:left;width:44%;color:#52606d;font-size:12.5px}
.note{color:#616e7c;font-size:13px;margin:8px 0 0}
ul.notes{margin:6px 0 0;padding-left:18px;color:#3e4c59;font-size:13px}
details{margin-top:8px}
summary{cursor:pointer;color:#1f6feb;font-weight:600}
code,.mono{font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#3e4c59}
.formulas li{margin:3px 0;word-break:break-word}
.excerpt{font-size:13px;color:#3e4c59;text-align:left;max-width:520px}
svg text{font-family:inherit}
.legend{display:flex;gap:16px;flex-wrap:wrap;font-size:13px;color:#3e4c59;margin:6px 0 0}
.legend span::before{content:"";display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;vertical-align:-1px;background:var(--c)}
footer{color:#7b8794;font-size:12px;margin-top:20px}
"""


def _e(value: Any) -> str:
    """Escape anything for HTML text and attribute values."""
    return html.escape(str(value), quote=True)


def _int(value: float | int) -> str:
    return f"{round(value):,}"


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _nice_step(maximum: float, ticks: int = 5) -> float:
    if maximum <= 0:
        return 1.0
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _text(x: float, y: float, content: str, *, anchor: str = "middle", size: int = 12, fill: str | None = None,
          weight: int = 400, extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" font-weight="{weight}" '
            f'fill="{fill or PALETTE["ink"]}"{extra}>{_e(content)}</text>')


def waterfall_svg(steps: Sequence[tuple[str, str, int]], *, width: int = 1040, height: int = 320) -> str:
    """Bars of tokens after each step, with what each step removed stacked on top in amber.

    ``steps``: (label, sublabel, tokens) from the naive windows to the chunks.
    """
    left, right, top, bottom = 70, 20, 26, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((t for _, _, t in steps), default=1) or 1
    step = _nice_step(peak)
    y_max = math.ceil(peak / step) * step
    scale = plot_h / y_max
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="Token waterfall">']
    value = 0.0
    while value <= y_max + 1e-9:
        y = top + plot_h - value * scale
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{PALETTE["grid"]}"/>')
        parts.append(_text(left - 8, y + 4, _int(value), anchor="end", size=11, fill=PALETTE["muted"]))
        value += step
    parts.append(_text(16, top + plot_h / 2, "tokens", size=12, fill=PALETTE["muted"],
                       extra=f' transform="rotate(-90 16 {top + plot_h / 2:.1f})"'))
    slot = plot_w / max(1, len(steps))
    bar = slot * 0.56
    previous = None
    for index, (label, sublabel, tokens) in enumerate(steps):
        x = left + index * slot + (slot - bar) / 2
        color = PALETTE["naive"] if index == 0 else PALETTE["chunkwise"]
        h = tokens * scale
        parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" rx="3" fill="{color}"/>')
        if previous is not None and previous > tokens:
            drop = (previous - tokens) * scale
            parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - previous * scale:.1f}" width="{bar:.1f}" '
                         f'height="{drop:.1f}" rx="2" fill="{PALETTE["removed"]}" opacity=".85"/>')
            parts.append(_text(x + bar / 2, top + plot_h - previous * scale - 6, f"\u2212{_int(previous - tokens)}",
                               size=12, fill="#8d5b00", weight=600))
            if h > 24:
                parts.append(_text(x + bar / 2, top + plot_h - h + 17, _int(tokens), size=12, fill="#ffffff", weight=650))
        else:
            parts.append(_text(x + bar / 2, top + plot_h - h - 6, _int(tokens), size=12, weight=650))
        parts.append(_text(x + bar / 2, top + plot_h + 18, label, size=12, weight=600))
        parts.append(_text(x + bar / 2, top + plot_h + 34, sublabel, size=11, fill=PALETTE["muted"]))
        previous = tokens
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{PALETTE["muted"]}"/>')
    parts.append("</svg>")
    return "".join(parts)


def memory_svg(rows: Sequence[tuple[str, Sequence[tuple[str, float, str]]]], total_bytes: float, *,
               width: int = 1040, row_height: int = 34) -> str:
    """Horizontal stacked bars of GPU memory by component, one bar per row, in GiB."""
    left, right, top = 110, 20, 12
    height = top + len(rows) * (row_height + 16) + 40
    plot_w = width - left - right
    scale = plot_w / total_bytes
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="GPU memory by component">']
    total_gib = total_bytes / GIB
    step = _nice_step(total_gib, 8)
    axis_y = top + len(rows) * (row_height + 16)
    value = 0.0
    while value <= total_gib + 1e-9:
        x = left + value * GIB * scale
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{axis_y}" stroke="{PALETTE["grid"]}"/>')
        parts.append(_text(x, axis_y + 16, f"{value:g}", size=11, fill=PALETTE["muted"]))
        value += step
    parts.append(_text(left + plot_w / 2, axis_y + 34, "GPU memory (GiB)", size=12, fill=PALETTE["muted"]))
    for index, (label, segments) in enumerate(rows):
        y = top + index * (row_height + 16) + 4
        parts.append(_text(left - 10, y + row_height / 2 + 4, label, anchor="end", size=13, weight=600))
        x = left
        for name, size, color in segments:
            w = size * scale
            if w <= 0:
                continue
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_height}" fill="{color}">'
                         f'<title>{_e(name)}: {_e(gib(size))}</title></rect>')
            if w > 64:
                ink = "#ffffff" if color in (PALETTE["weights"], PALETTE["kv_used"], PALETTE["reserve"]) else PALETTE["ink"]
                parts.append(_text(x + w / 2, y + row_height / 2 + 4, f"{size / GIB:,.1f}", size=12, fill=ink, weight=600))
            x += w
    parts.append("</svg>")
    return "".join(parts)


def concurrency_svg(curve: Sequence[tuple[int, int]], marks: Sequence[tuple[str, int, int, str]], *,
                    width: int = 510, height: int = 300) -> str:
    """Concurrent requests per GPU against tokens per request; log-log, with the two scenarios marked."""
    left, right, top, bottom = 58, 16, 16, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    points = [(c, n) for c, n in curve if n > 0]
    if not points:
        return '<p class="note">The model does not fit on this GPU: no KV cache, no concurrency.</p>'
    x_lo, x_hi = math.log2(min(c for c, _ in points)), math.log2(max(c for c, _ in points))
    y_lo = math.floor(math.log10(min(n for _, n in points)))
    y_hi = math.ceil(math.log10(max(n for _, n in points)))
    y_hi = max(y_hi, y_lo + 1)

    def px(c: float) -> float:
        return left + (math.log2(c) - x_lo) / max(1e-9, x_hi - x_lo) * plot_w

    def py(n: float) -> float:
        return top + plot_h - (math.log10(max(n, 1e-9)) - y_lo) / (y_hi - y_lo) * plot_h

    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="Concurrency against context length">']
    for power in range(y_lo, y_hi + 1):
        y = py(10**power)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{PALETTE["grid"]}"/>')
        parts.append(_text(left - 6, y + 4, f"{10**power:,}", anchor="end", size=11, fill=PALETTE["muted"]))
    for c, _ in points:
        if c & (c - 1) == 0:
            x = px(c)
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot_h}" stroke="{PALETTE["grid"]}"/>')
            parts.append(_text(x, top + plot_h + 16, f"{c // 1024}k" if c >= 1024 else str(c), size=11, fill=PALETTE["muted"]))
    path = " ".join(f"{'M' if i == 0 else 'L'}{px(c):.1f},{py(n):.1f}" for i, (c, n) in enumerate(points))
    parts.append(f'<path d="{path}" fill="none" stroke="{PALETTE["ink"]}" stroke-width="2"/>')
    for index, (label, context, concurrent, color) in enumerate(marks):
        if concurrent <= 0:
            continue
        x, y = px(context), py(concurrent)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{color}" stroke="#fff" stroke-width="2"/>')
        # First mark labelled below the curve, the second above, so close points never collide.
        right_half = x > left + plot_w / 2
        parts.append(_text(x - 10 if right_half else x + 10, y + 22 if index % 2 == 0 else y - 12,
                           f"{label}: {concurrent:,} at {context:,} tokens", anchor="end" if right_half else "start",
                           size=12, fill="#3e4c59" if color == PALETTE["naive"] else color, weight=600))
    parts.append(_text(left + plot_w / 2, height - 10, "tokens per request (prompt + output), log scale", size=12,
                       fill=PALETTE["muted"]))
    parts.append(_text(14, top + plot_h / 2, "concurrent requests", size=12, fill=PALETTE["muted"],
                       extra=f' transform="rotate(-90 14 {top + plot_h / 2:.1f})"'))
    parts.append("</svg>")
    return "".join(parts)


def efficiency_svg(groups: Sequence[tuple[str, float, float]], *, width: int = 510, height: int = 300) -> str:
    """Grouped bars: sequence efficiency (real / padded tokens) per batching strategy, naive vs chunkwise."""
    left, right, top, bottom = 52, 16, 20, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-label="Sequence efficiency">']
    for tick in range(0, 101, 25):
        y = top + plot_h - tick / 100 * plot_h
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{PALETTE["grid"]}"/>')
        parts.append(_text(left - 6, y + 4, f"{tick}%", anchor="end", size=11, fill=PALETTE["muted"]))
    slot = plot_w / max(1, len(groups))
    bar = slot * 0.3
    for index, (label, naive, prepared) in enumerate(groups):
        x0 = left + index * slot + slot * 0.18
        for offset, value, color in ((0, naive, PALETTE["naive"]), (bar + 4, prepared, PALETTE["chunkwise"])):
            h = value * plot_h
            parts.append(f'<rect x="{x0 + offset:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" rx="3" fill="{color}"/>')
            parts.append(_text(x0 + offset + bar / 2, top + plot_h - h - 5, f"{value:.0%}", size=11, weight=600))
        parts.append(_text(x0 + bar + 2, top + plot_h + 18, label, size=12, weight=600))
    parts.append(_text(left + plot_w / 2, height - 8, "batching strategy (real tokens / padded slots)", size=12,
                       fill=PALETTE["muted"]))
    parts.append("</svg>")
    return "".join(parts)


def _legend(items: Sequence[tuple[str, str]]) -> str:
    return '<div class="legend">' + "".join(f'<span style="--c:{color}">{_e(label)}</span>' for label, color in items) + "</div>"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, better: Sequence[int | None] = (),
           klass: str = "") -> str:
    """A table; ``better[i]`` marks which column (1 or 2) of row i is the better one."""
    out = [f'<table class="{klass}"><thead><tr>' if klass else "<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in header), "</tr></thead><tbody>"]
    for index, row in enumerate(rows):
        mark = better[index] if index < len(better) else None
        cells = []
        for column, cell in enumerate(row):
            klass = ' class="better"' if mark is not None and column == mark else ""
            cells.append(f"<td{klass}>{_e(cell)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _comparison_table(rows: Sequence[ComparisonRow]) -> str:
    """Naive against chunkwise; the better cell is coloured only where the row says for whom it is better."""
    marks = [{"naive": 1, "chunkwise": 2}.get(row.winner() or "") if row.basis else None for row in rows]
    return _table(["", "naive", "chunkwise", "better for, and what it assumes"],
                  [(row.label, row.formatted(row.naive) if row.naive is not None else "\u2014",
                    row.formatted(row.chunkwise), row.basis) for row in rows], better=marks, klass="cmp")


def _formulas(items: Sequence[str]) -> str:
    return '<ul class="formulas">' + "".join(f"<li><code>{_e(item)}</code></li>" for item in items) + "</ul>"


def render_report(report: Report, *, title: str = "chunkwise token-economics report",
                  sample: tuple[str, str] | None = None) -> str:
    """The whole page for one report: the heading, then each section in reading order.

    ``sample``: ``(href, doc_id)`` of a document drawn by ``visualize``, linked under the headline.
    """
    econ = report.economics
    body: list[str] = [f"<h1>{_e(title)}</h1>"]
    subtitle = (f"{report.documents:,} documents \u00b7 {report.raw_chars:,} characters \u00b7 "
                f"{report.raw_tokens:,} tokens ({report.tokenizer}) \u00b7 naive baseline: {report.max_tokens}-token windows "
                f"with {report.naive_overlap}-token overlap \u00b7 chunkwise cap {report.max_tokens} tokens")
    body.append(f'<p class="sub">{_e(subtitle)}</p>')

    body += _headline_cards(report)
    if sample is not None:
        href, doc_id = sample
        body.append(f'<p class="sub">See where the chunks were cut: <a href="{_e(href)}">{_e(doc_id)}</a>, drawn with '
                    "its chunk boundaries, token counts, removed spans and the break each cut is at.</p>")
    body += _waterfall_section(report)
    body += _comparison_section(report)
    if econ is not None:
        body += _serving_sections(econ)
    body += _document_sections(report)
    body += _assumptions_section(report)

    footer = f"chunkwise report schema {SCHEMA_VERSION} \u00b7 every figure is in report.to_dict() with its formula"
    body.append(f"<footer>{_e(footer)}</footer>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>"
            + "".join(body) + "</main></body></html>\n")


def _headline_cards(report: Report) -> list[str]:
    """Headline cards: every figure says what it is measured against."""
    econ = report.economics
    body: list[str] = []
    savings = report.savings()
    overlap = savings[0]["tokens"]
    without_overlap = report.naive.tokens - overlap
    rest = report.tokens_saved - overlap
    cards = [
        ("Tokens to index", _pct(report.tokens_saved_fraction) + " fewer",
         f"{report.naive.tokens:,} naive \u2192 {report.prepared.tokens:,} chunkwise; {_int(overlap)} of the "
         f"{_int(report.tokens_saved)} are the naive overlap"),
        ("Without the baseline's overlap", (_pct(rest / without_overlap) if without_overlap else "0.0%") + " fewer",
         f"{without_overlap:,} in the same windows with no overlap \u2192 {report.prepared.tokens:,} chunkwise "
         "(repair + dedup + chunking)"),
    ]
    if econ is not None:
        context = econ.context_comparison()
        naive_kv, prepared_kv = econ.kv_bytes_at_concurrency
        cards += [
            ("Context per query", f"{context['equal_budget']['budget_tokens']:,.0f} tokens",
             f"at an equal budget: naive top-{econ.config.top_k} windows or about "
             f"{context['equal_budget']['chunkwise_chunks']:.1f} chunkwise chunks; recall not measured"),
            ("Saved per year, if recall holds", usd(econ.usd_saved_per_year),
             f"at equal top-{econ.config.top_k} ({econ.naive.retrieved_context_tokens:,.0f} \u2192 "
             f"{econ.prepared.retrieved_context_tokens:,.0f} context tokens): {econ.price.name}, "
             f"{econ.config.queries_per_day:,.0f} queries/day, prices as of {econ.prices_as_of}; KV cache freed "
             f"{gib(naive_kv - prepared_kv)} at {econ.concurrency:,} requests"),
        ]
    body.append('<div class="cards">' + "".join(
        f'<div class="card"><div class="k">{_e(k)}</div><div class="v">{_e(v)}</div><div class="d">{_e(d)}</div></div>'
        for k, v, d in cards) + "</div>")
    return body


def _waterfall_section(report: Report) -> list[str]:
    """Where the tokens go: one step per part of the saving, its label the part's own number."""
    savings = report.savings()
    body: list[str] = []
    baseline = report.baseline()
    sublabels = {"naive": f"{report.max_tokens} / {report.naive_overlap} overlap", "without_overlap": "same windows, 0 overlap",
                 "after_repair": "Unicode repaired", "after_dedup": "copies out", "chunked": "chunkwise output"}
    names = {"naive": "naive", "without_overlap": "no overlap", "after_repair": "repaired", "after_dedup": "deduplicated",
             "chunked": "chunked"}
    steps = [(names[name], sublabels[name], tokens) for name, tokens in report.waterfall]
    body.append("<section><h2>Where the tokens go: naive windows to chunkwise chunks</h2>")
    body.append(waterfall_svg(steps))
    body.append(_legend([("naive windows", PALETTE["naive"]), ("tokens after the step", PALETTE["chunkwise"]),
                         ("removed by the step", PALETTE["removed"])]))
    body.append(_table(["part of the saving", "tokens", "% of naive", "how it is counted"], klass="cmp", rows=[
        (part["part"], _int(part["tokens"]), _pct(part["fraction_of_naive"]), part["formula"]) for part in savings
    ] + [("total", _int(report.tokens_saved), _pct(report.tokens_saved_fraction), "naive tokens - chunkwise tokens")]))
    removed = ", ".join(f"{reason} {tokens:,}" for reason, tokens in sorted(report.removed_tokens.items())) or "none"
    fixes = ", ".join(f"{name} {count:,}" for name, count in report.fixes.items()) or "none"
    body.append(f'<p class="note">{_e(f"Dedup removed (tokens, by reason): {removed}. Unicode repairs (count): {fixes}.")}</p>')
    body.append(f'<p class="note">{_e("Baseline window: " + str(baseline["window_tokens"]) + " tokens, " + baseline["window_source"] + ". Baseline overlap: " + str(baseline["overlap_tokens"]) + " tokens, " + baseline["overlap_source"] + ".")}</p>')
    body.append("</section>")
    return body


def _comparison_section(report: Report) -> list[str]:
    """Naive against chunkwise, then padding and serving: a coloured cell always has its reader in the last column."""
    econ = report.economics
    body: list[str] = []
    token_rows = [
        ComparisonRow("chunks", report.naive.chunks, report.prepared.chunks, "int", None, "a count, not a cost"),
        ComparisonRow("tokens in chunks", report.naive.tokens, report.prepared.tokens, "int", "lower",
                      "lower is fewer tokens to embed and store (the parts above)"),
        ComparisonRow("mean tokens per chunk", report.naive.mean_chunk_tokens, report.prepared.mean_chunk_tokens, "float",
                      None, "a shape, not a cost"),
    ]
    body.append("<section><h2>Naive splitting against chunkwise</h2>")
    body.append(_comparison_table(token_rows))
    if econ is not None:
        padding = padding_rows(econ)
        if padding:
            body.append("<h2 style=\"margin-top:18px\">Embedding: padded slots by how the chunks are batched</h2>")
            body.append(_comparison_table(padding))
            body.append(f'<p class="note">{_e(padding_explanation(econ))}</p>')
        body.append(f"<h2 style=\"margin-top:18px\">Serving: compared at equal top-{_e(econ.config.top_k)} chunks per query</h2>")
        body.append(_comparison_table(serving_rows(econ)))
        body.append(f'<p class="note">{_e(econ.context_comparison()["note"])}</p>')
    body.append("</section>")
    return body


def _serving_sections(econ: Any) -> list[str]:
    """GPU memory by component, concurrency, embedding efficiency and embedding memory."""
    body: list[str] = []
    cap = econ.naive.capacity
    naive_kv, prepared_kv = econ.kv_bytes_at_concurrency
    headroom = cap.gpu_memory_bytes - cap.budget_bytes
    segments = []
    for label, used in (("naive", naive_kv), ("chunkwise", prepared_kv)):
        used = min(used, cap.kv_cache_bytes)
        segments.append((label, [
            ("weights", cap.weights_bytes, PALETTE["weights"]),
            ("activations + runtime", cap.reserve_bytes, PALETTE["reserve"]),
            (f"KV cache in use ({econ.concurrency} requests)", used, PALETTE["kv_used"]),
            ("KV cache free", cap.kv_cache_bytes - used, PALETTE["kv_free"]),
            ("outside gpu_memory_utilization", headroom + (cap.kv_cache_available_bytes - cap.kv_cache_bytes), PALETTE["headroom"]),
        ]))
    body.append(f"<section><h2>GPU memory by component: {_e(econ.model)} on one {_e(econ.gpu)}, "
                f"{_e(econ.concurrency)} concurrent requests</h2>")
    body.append(memory_svg(segments, cap.gpu_memory_bytes))
    body.append(_legend([("weights", PALETTE["weights"]), ("activations + runtime reserve", PALETTE["reserve"]),
                         ("KV cache in use", PALETTE["kv_used"]), ("KV cache free", PALETTE["kv_free"]),
                         (f"not used (utilization {econ.config.gpu_memory_utilization:g})", PALETTE["headroom"])]))
    body.append(f'<p class="note">{_e(f"KV cache: {econ.kv_per_token.formula} bytes per token; paged in blocks of {cap.block_size} tokens (vLLM). GPU memory: {cap.gpu_memory_bytes / GIB:.2f} GiB.")}</p>')
    body.append("</section>")

    marks = [("naive", econ.naive.request_tokens, econ.naive.max_concurrent_requests, PALETTE["naive"]),
             ("chunkwise", econ.prepared.request_tokens, econ.prepared.max_concurrent_requests, PALETTE["chunkwise"])]
    body.append('<div class="two"><section><h2>Concurrent requests per GPU</h2>')
    body.append(concurrency_svg(econ.concurrency_curve, marks))
    seqs = getattr(cap, "max_num_seqs", None)
    limit = f", at most max_num_seqs={seqs} (the engine's limit on sequences at once)" if seqs else ""
    body.append(f'<p class="note">{_e(f"floor(KV blocks / blocks per request){limit}; {cap.num_blocks:,} blocks of {cap.block_size} tokens fit on the {econ.gpu}.")}</p></section>')
    if econ.naive.padding is not None and econ.prepared.padding is not None:
        short = {"static": "padded to max", "dynamic": "document order", "bucketed": "length-sorted"}
        groups = [(short[name], getattr(econ.naive.padding, name).efficiency,
                   getattr(econ.prepared.padding, name).efficiency) for name in ("static", "dynamic", "bucketed")]
        max_length = econ.naive.padding.static.max_length
        body.append("<section><h2>Share of embedding slots that are real tokens</h2>")
        body.append(efficiency_svg(groups))
        body.append(_legend([("naive", PALETTE["naive"]), ("chunkwise", PALETTE["chunkwise"])]))
        efficiency_note = (f"Batch {econ.config.embed_batch_size}, max_length {max_length}. A higher share is not "
                           "fewer slots: the two sides embed different chunks, so compare the slot counts in the "
                           "table above. ")
        body.append(f'<p class="note">{_e(efficiency_note + padding_explanation(econ))}</p></section>')
    body.append("</div>")

    embed = econ.prepared.embed_memory
    body.append(f"<section><h2>Embedding memory per batch: {_e(econ.embedder)}</h2>")
    body.append(_table(["buffer", "bytes", "GiB"], [
        (value.what, f"{value.bytes:,}", f"{value.gib:.4f}") for value in embed.values()]))
    embed_note = (f"Batch of {econ.config.embed_batch_size} sequences padded to max_length; eager attention "
                  "materializes batch x heads x seq\u00b2 scores, SDPA keeps one fp32 statistic per row.")
    body.append(f'<p class="note">{_e(embed_note)}</p>')
    body.append("</section>")
    return body


def _document_sections(report: Report) -> list[str]:
    """The documents that saved most and examples of what dedup removed."""
    body: list[str] = []
    if report.top_documents:
        body.append("<section><h2>Documents with the largest savings against naive windows (their overlap included)</h2>")
        body.append(_table(["document", "raw tokens", "naive tokens", "chunks", "chunk tokens"], [
            (row.doc_id, f"{row.raw_tokens:,}", f"{row.naive_tokens:,}", f"{row.chunks:,}", f"{row.chunk_tokens:,}")
            for row in report.top_documents]))
        body.append("</section>")
    if report.removed_examples:
        body.append("<section><h2>Examples of what dedup removed</h2>")
        body.append("<table><thead><tr><th>document</th><th>reason</th><th>kept in</th><th>tokens</th>"
                    "<th style=\"text-align:left\">excerpt</th></tr></thead><tbody>")
        for example in report.removed_examples:
            body.append(f"<tr><td>{_e(example.doc_id)}</td><td>{_e(example.reason)}</td><td>{_e(example.kept_doc_id)}</td>"
                        f"<td>{_e('' if example.tokens is None else f'{example.tokens:,}')}</td>"
                        f'<td class="excerpt">{_e(example.excerpt)}</td></tr>')
        body.append("</tbody></table></section>")
    return body


def _assumptions_section(report: Report) -> list[str]:
    """Assumptions, sources and formulas."""
    econ = report.economics
    baseline = report.baseline()
    body: list[str] = []
    body.append("<section><h2>Assumptions, sources and formulas</h2>")
    notes = list(report.notes) + (list(econ.notes) if econ is not None else [])
    facts = [
        f"Tokens counted with {report.tokenizer}; naive baseline {baseline['strategy']}: "
        f"{baseline['window_tokens']}-token windows ({baseline['window_source']}), {baseline['overlap_tokens']}-token "
        f"overlap ({baseline['overlap_source']}).",
    ]
    if econ is None:
        facts.append("Memory and cost figures are off for this report (report_config=False); "
                     "prepare() and chunkwise prepare compute them by default.")
    else:
        price = econ.price
        facts += [
            f"Serving model {econ.model}; KV cache {econ.kv_per_token.bytes_per_token:,} bytes per token ({econ.kv_per_token.kv_dtype}).",
            f"GPU {econ.gpu}, gpu_memory_utilization {econ.config.gpu_memory_utilization:g}; {econ.naive.capacity.assumptions[0]}.",
            f"API price {price.name} ({price.provider or 'user'}): ${price.input_usd_per_million:g} input, "
            f"${price.output_usd_per_million:g} output per million tokens, as of {price.as_of or econ.prices_as_of}; source {price.source or 'caller'}.",
            f"Traffic: {econ.config.queries_per_day:,.0f} queries/day, top-{econ.config.top_k} chunks, "
            f"{econ.config.prompt_tokens} prompt tokens besides the context, {econ.config.output_tokens} output tokens.",
        ]
        if econ.gpu_hour is not None:
            facts.append(f"GPU-hour ${econ.gpu_hour.usd_per_gpu_hour:.4g}: {econ.gpu_hour.basis}, as of {econ.gpu_hour.as_of}; "
                         f"source {econ.gpu_hour.source}.")
    body.append('<ul class="notes">' + "".join(f"<li>{_e(fact)}</li>" for fact in facts) + "</ul>")
    if notes:
        body.append('<ul class="notes">' + "".join(f"<li>{_e(note)}</li>" for note in notes) + "</ul>")
    if econ is not None:
        for label, s in (("naive", econ.naive), ("chunkwise", econ.prepared)):
            formulas = list(s.formulas) + list(s.capacity.formulas) + [s.kv_cache.formula] + list(s.api_cost.formulas)
            if s.throughput is not None:
                formulas += list(s.throughput.formulas)
            if s.self_hosted is not None:
                formulas += list(s.self_hosted.formulas)
            body.append(f"<details><summary>Formulas, {_e(label)}</summary>{_formulas(formulas)}</details>")
    body.append("</section>")
    return body

def _estimate_text(estimate: Any, *, percent: bool = False) -> str:
    fmt = _pct if percent else _int
    if estimate.exact:
        return fmt(estimate.value)
    return f"{fmt(estimate.value)} [{fmt(estimate.low)} \u2013 {fmt(estimate.high)}]"


def render_audit(audit: Any, *, title: str = "chunkwise store audit") -> str:
    """The page for an :class:`chunkwise.reporting.auditing.AuditReport`: same look as the report."""
    how = (f"{audit.measured_documents:,} of {audit.documents:,} documents measured (seeded random sample, seed "
           f"{audit.seed}); ranges are {audit.confidence:.0%} intervals" if audit.sampled
           else f"all {audit.documents:,} documents measured")
    subtitle = f"{how} \u00b7 {audit.chars:,} characters \u00b7 tokenizer {audit.tokenizer}"
    body = [f"<h1>{_e(title)}</h1>", f'<p class="sub">{_e(subtitle)}</p>']
    store_run = audit.store_deduplicated_tokens is not None
    saved = audit.store_tokens_saved_fraction if store_run else audit.tokens_saved_fraction
    saved_vs_naive = audit.store_tokens_saved_vs_naive_fraction if store_run else audit.tokens_saved_vs_naive_fraction
    cards = [
        ("Tokens in the store", _int(audit.tokens.value), "measured" if audit.tokens.exact else
         _int(audit.tokens.low) + " \u2013 " + _int(audit.tokens.high)),
        ("Saved by chunkwise prepare STORE", _pct(saved.value),
         f"repair + exact duplicate chunks; {_pct(saved_vs_naive.value)} against naive {audit.max_tokens}-token windows"),
        ("prepare() in memory would save", _pct(audit.tokens_saved_fraction.value),
         f"it also removes overlap, near duplicates and boilerplate ({_pct(audit.duplication_rate.value)} of tokens "
         "duplicated); a store run does not"),
        ("Documents with damage", _pct(audit.damaged_documents_fraction.value),
         "broken Unicode, invisibles, exotic spaces; whitespace and line endings are formatting, not damage"),
    ]
    body.append('<div class="cards">' + "".join(
        f'<div class="card"><div class="k">{_e(k)}</div><div class="v">{_e(v)}</div><div class="d">{_e(d)}</div></div>'
        for k, v, d in cards) + "</div>")
    steps = [("naive", "windows, overlap", round(audit.naive_tokens.value)), ("as stored", "raw text", round(audit.tokens.value)),
             ("normalized", "Unicode repaired", round(audit.normalized_tokens.value)),
             ("deduplicated", "store run: overlap and copies out" if store_run else "copies out",
              round((audit.store_deduplicated_tokens if store_run else audit.deduplicated_tokens).value))]
    body.append("<section><h2>Where the tokens go</h2>" + waterfall_svg(steps))
    body.append(_legend([("naive windows", PALETTE["naive"]), ("tokens after the step", PALETTE["chunkwise"]),
                         ("removed by the step", PALETTE["removed"])]) + "</section>")
    rows = [("tokens", _estimate_text(audit.tokens)),
            ("tokens predicted from characters alone", _int(audit.predicted_tokens)),
            ("after normalize", _estimate_text(audit.normalized_tokens))]
    if store_run:
        rows += [("store run (chunkwise prepare STORE): removed, exact duplicate chunks",
                  _estimate_text(audit.store_removed_tokens)),
                 ("store run (chunkwise prepare STORE): after dedup", _estimate_text(audit.store_deduplicated_tokens))]
    rows += [("prepare() in memory: after dedup", _estimate_text(audit.deduplicated_tokens)),
             ("prepare() in memory: duplication rate", _estimate_text(audit.duplication_rate, percent=True)),
             ("prepare() in memory: overlap rate", _estimate_text(audit.overlap_rate, percent=True))]
    rows += [(f"prepare() in memory: removed tokens, {reason}", _estimate_text(value))
             for reason, value in audit.removed_tokens.items()]
    rows.append((f"in naive {audit.max_tokens}-token windows ({audit.naive_overlap} overlap)", _estimate_text(audit.naive_tokens)))
    rows += [(f"Unicode damage: {name} (count)", _estimate_text(value)) for name, value in audit.unicode_damage.items()]
    rows += [(f"formatting, not damage: {name} (count)", _estimate_text(value))
             for name, value in audit.formatting_fixes.items()]
    per_doc = audit.tokens_per_document
    rows.append(("tokens per document: mean / median / p95 / max",
                 f"{per_doc['mean']:,.0f} / {per_doc['median']:,.0f} / {per_doc['p95']:,.0f} / {per_doc['max']:,.0f}"))
    body.append("<section><h2>Measurements</h2>" + _table(["", "value"], rows) + "</section>")
    if audit.estimator is not None:
        e = audit.estimator
        err = ("no held-out documents (fewer than 10 measured)" if e.heldout_mean_abs_pct_error is None else
               f"error on {e.heldout_documents} held-out documents: mean {e.heldout_mean_abs_pct_error:.1%}, median "
               f"{e.heldout_median_abs_pct_error:.1%}, p90 {e.heldout_p90_abs_pct_error:.1%} per document; "
               f"{e.heldout_total_pct_error:+.1%} on their total")
        body.append("<section><h2>Predictive token estimate from characters</h2>")
        body.append(_table(["character class", "tokens per character", "characters per token", "basis"], [
            (name, f"{value:.4f}", "n/a" if value <= 0 else f"{1 / value:.2f}",
             "fitted" if name in e.fitted_classes else "prior (too few characters to fit)")
            for name, value in e.tokens_per_char.items()]))
        body.append(f'<p class="note">{_e(f"Fitted by non-negative least squares on {e.calibration_documents} documents for {e.tokenizer}; {err}. Coefficients are a joint fit (spaces often merge into word tokens), not rates of each class alone.")}</p></section>')
    if audit.economics:
        econ = audit.economics
        a, c = econ["as_stored"], econ["cleaned"]
        body.append(f"<section><h2>Serving the store: {_e(econ['model'])} on {_e(econ['gpu'])}, top-{_e(econ['top_k'])}</h2>")
        trows = [("tokens per request", _int(a.request_tokens), _int(c.request_tokens)),
                 ("KV cache per request", gib(a.kv_cache.bytes), gib(c.kv_cache.bytes)),
                 ("concurrent requests per GPU", _int(a.max_concurrent_requests), _int(c.max_concurrent_requests)),
                 (f"$ per year, {econ['price']} (as of {econ['prices_as_of']})", usd(a.api_cost.usd_per_year),
                  usd(c.api_cost.usd_per_year))]
        if a.padding is not None and c.padding is not None:
            trows.append(("sequence efficiency, bucketed", _pct(a.padding.bucketed.efficiency), _pct(c.padding.bucketed.efficiency)))
        body.append(_table(["", "as stored", "cleaned as a store run leaves it"], trows) + "</section>")
    if audit.notes:
        body.append('<section><h2>Notes</h2><ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in audit.notes)
                    + "</ul></section>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>"
            + "".join(body) + "</main></body></html>\n")


__all__ = ["render_report", "render_audit", "waterfall_svg", "memory_svg", "concurrency_svg", "efficiency_svg"]
