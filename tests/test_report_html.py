"""The HTML report: self-contained, every document string escaped, well-formed plots, renders in Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from chunkwise import prepare
from chunkwise.audit import audit

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
