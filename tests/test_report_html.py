"""The HTML report: self-contained, every document string escaped, well-formed plots, renders in Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from chunkwise import prepare
from chunkwise.reporting.auditing import audit

EVIL = "<script>alert(1)</script> & <img src=x onerror=alert(2)>"
BODY = "A paragraph about replicas and racks that is long enough to count as a unit for dedup.\n\n" * 6
DOCS = [
    {"id": f"{EVIL} a&b", "text": f"# {EVIL}\n\n{EVIL} is in the text & so is this.\n\n" + BODY},
    {"id": "copy <b>bold</b> & co", "text": f"# {EVIL}\n\n{EVIL} is in the text & so is this.\n\n" + BODY},
    {"id": "plain", "text": "Something else entirely, with nothing to hide.\n\n" * 5},
]
ENTITY = re.compile(r"&(?:amp|lt|gt|quot|#x27|#\d+);")


@pytest.fixture(scope="module")
def page() -> str:
    return prepare(DOCS, max_tokens=64).report.to_html()


def _assert_escaped(page: str) -> None:
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "<b>bold</b>" not in page
    # Every ampersand starts an entity: raw "&" from documents never reaches the page.
    assert all(ENTITY.match(page, m.start()) for m in re.finditer("&", page))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a&amp;b" in page


def test_document_text_and_ids_are_escaped(page):
    _assert_escaped(page)
    assert "copy &lt;b&gt;bold&lt;/b&gt; &amp; co" in page  # a document id, in the documents table


def test_self_contained(page):
    assert "<link" not in page and "@import" not in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert "<style>" in page and page.count("<svg") >= 4


def test_plots_are_well_formed_svg_with_labelled_axes(page):
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    for svg in svgs:
        ET.fromstring(svg)  # raises on anything unescaped or unbalanced
    text = " ".join(svgs)
    for label in ("tokens", "GPU memory (GiB)", "concurrent requests", "tokens per request (prompt + output), log scale",
                  "batching strategy (real tokens / padded slots)"):
        assert label in text


def test_headline_numbers_come_from_the_report():
    report = prepare(DOCS, max_tokens=64).report
    page = report.to_html()
    assert f"{report.tokens_saved_fraction:.1%} fewer" in page
    assert f"{report.naive.tokens:,}" in page and f"{report.prepared.tokens:,}" in page
    assert "as of 2025-01-15" in page and "131,072 bytes per token" in page


def test_report_without_economics_still_renders():
    page = prepare(DOCS, max_tokens=64, report_config=False).report.to_html()
    _assert_escaped(page)
    assert "GPU memory by component" not in page


def test_audit_page_is_escaped():
    page = audit(DOCS, max_tokens=64).to_html()
    assert "<script" not in page.lower()
    assert all(ENTITY.match(page, m.start()) for m in re.finditer("&", page))
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        ET.fromstring(svg)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "chromium-headless-shell", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_renders_in_headless_chromium(page, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium installed (apt-get install chromium)")
    html_path = tmp_path / "report.html"
    html_path.write_text(page, encoding="utf-8")
    png = tmp_path / "report.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={png}", "--window-size=1280,2400", html_path.as_uri()],
                   check=True, capture_output=True, timeout=120)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000  # a blank page compresses to a few kB


def _rows(page: str) -> list[str]:
    return re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)


def test_no_placeholder_and_every_coloured_cell_says_for_whom(page):
    # No table cell stands in for a figure: the compressed context is a row only when measured.
    cells = [cell for row in _rows(page) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
    assert not [cell for cell in cells if "pass queries=" in cell or "after compression" in cell]
    coloured = [row for row in _rows(page) if 'class="better"' in row]
    assert len(coloured) >= 5
    for row in coloured:
        basis = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)[-1]
        assert "better for" in basis or "lower is" in basis or "higher is" in basis, row
    # The padding comparison is in slots, not a bare efficiency in green.
    assert "embedding efficiency" not in page and "length-sorted batches (sentence-transformers&#x27; encode)" in page


def test_waterfall_labels_and_the_savings_table_are_the_same_numbers():
    report = prepare(DOCS, max_tokens=64).report
    page = report.to_html()
    waterfall = re.findall(r"<svg[^>]*aria-label=\"Token waterfall\".*?</svg>", page, flags=re.S)[0]
    labels = re.findall("\u2212([0-9,]+)<", waterfall)
    drops = [part["tokens"] for part in report.savings() if part["tokens"] > 0]
    assert labels == [f"{tokens:,}" for tokens in drops]
    for part in report.savings():
        assert f"<tr><td>{part['part']}</td><td>{part['tokens']:,}</td>" in page
    assert "200 of 4000 characters" in page and "LangChain" in page  # the baseline's overlap, with its source


def test_cards_compare_context_at_an_equal_budget():
    report = prepare(DOCS, max_tokens=64).report
    page = report.to_html()
    econ = report.economics
    budget = econ.naive.retrieved_context_tokens
    assert f"{budget:,.0f} tokens" in page and "at an equal budget" in page and "recall not measured" in page
    assert "Saved per year, if recall holds" in page
    assert "Context per query</div><div class=\"v\">" in page and "% fewer</div><div class=\"d\">at an equal" not in page


def test_assumptions_are_stated_without_economics():
    page = prepare(DOCS, max_tokens=64, report_config=False).report.to_html()
    section = page.split("Assumptions, sources and formulas</h2>", 1)[1].split("</section>", 1)[0]
    assert "<li>" in section and "64-token windows" in section and "report_config=False" in section
