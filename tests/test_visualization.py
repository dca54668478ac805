"""visualize() and `chunkwise viz`: every character drawn once, a marker per chunk with its count and break."""

from __future__ import annotations

import html
import json
import re
from collections import Counter

import pytest

import chunkwise
from chunkwise import InputDataError, InputTypeError, chunk, prepare, visualize
from chunkwise.cli import main

SECTION = "# Storage\n\nReplicas copy each block to three racks. Reads go to the nearest copy.\n\n"
TEXT = SECTION + "# Reads\n\n" + "A read that misses the cache walks the log. " * 40 + "\n\n<script>alert(1)</script> & done\n"


def _drawn_text(page: str) -> str:
    """The document as the page draws it: the text div without its markers and tags, unescaped."""
    body = page.split('<div class="doc">', 1)[1].split("</div>", 1)[0]
    body = re.sub(r'<span class="cut[^"]*"[^>]*>.*?<span class="bar"[^>]*></span></span>', "", body)
    return html.unescape(re.sub(r"<[^>]+>", "", body))


def test_every_character_is_drawn_once_and_escaped():
    page = visualize(TEXT, max_tokens=64).html
    assert _drawn_text(page) == TEXT
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "<script" not in page.lower().replace("&lt;script", "")  # the page itself runs nothing


def test_a_marker_per_chunk_with_its_tokens_and_the_break_it_starts_at():
    chunks = chunk(TEXT, max_tokens=64)
    page = visualize(TEXT, chunks=chunks, max_tokens=64).html
    markers = re.findall(r'<span class="cut( weak)?" id="c(\d+)" title="[^"]*">#\d+ \u00b7 ([\d,]+) tok \u00b7 ([a-z ]+)<', page)
    assert [int(number) for _, number, _, _ in markers] == list(range(len(chunks)))
    assert [int(count.replace(",", "")) for _, _, count, _ in markers] == [c.token_count for c in chunks]
    strengths = [name for _, _, _, name in markers]
    assert strengths[0] == "section"
    # The 40 repeated sentences are one paragraph over the cap: some cut falls between its sentences.
    assert "sentence" in strengths
    one_unit = "x" * 4000  # one word, far over the cap: cuts inside it are forced
    forced = visualize(one_unit, max_tokens=32).html
    assert "inside a unit" in forced and 'class="cut weak"' in forced


def test_removed_spans_are_drawn_with_their_reason_and_kept_copy():
    docs = [{"id": "a", "text": TEXT}, {"id": "b", "text": "# Other\n\nSomething else entirely here.\n\n" + SECTION}]
    result = prepare(docs, max_tokens=64, report_config=False)
    assert any(r.doc_id == "b" for r in result.removed)
    shown = visualize(result, doc_id="b")
    assert shown.removed == sum(r.doc_id == "b" for r in result.removed) and shown.chunks == len(result.chunks_for("b"))
    assert 'class="rm" title="removed (' in shown.html and "the kept copy is a " in shown.html
    assert _drawn_text(shown.html) == docs[1]["text"]


def test_bad_input_gets_our_errors():
    with pytest.raises(InputTypeError):
        visualize(12)
    result = prepare([TEXT], max_tokens=64, report_config=False)
    with pytest.raises(InputDataError, match="no document 'nope'"):
        visualize(result, doc_id="nope")
    with pytest.raises(InputDataError, match="outside"):
        visualize("short", chunks=chunk(TEXT, max_tokens=64))
    with pytest.raises(InputTypeError, match="already made"):
        visualize(TEXT, chunks=chunk(TEXT), overlap=3)


def test_a_long_text_is_cut_short_on_the_page_but_every_chunk_is_listed():
    long_text = (SECTION * 400)
    shown = visualize(long_text, max_tokens=64, max_chars=2_000)
    assert "The text stops at 2,000 of" in shown.html
    assert shown.html.count('<tr><td><a href="#c') == shown.chunks


def test_viz_command_writes_the_page(tmp_path, capsys):
    source = tmp_path / "notes.md"
    source.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "pages" / "notes.html"
    assert main(["viz", str(source), "-o", str(out), "--max-tokens", "64"]) == 0
    assert _drawn_text(out.read_text(encoding="utf-8")) == TEXT
    assert f"wrote {out}" in capsys.readouterr().out
    assert main(["viz", str(tmp_path), "--doc", "missing.md", "-o", str(out)]) == 3
    assert "no document 'missing.md'" in capsys.readouterr().err


def test_visualization_renders_in_a_notebook_inside_an_iframe():
    shown = chunkwise.visualize(TEXT, max_tokens=64)
    frame = shown._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "sandbox" in frame and "<script>" not in frame


def test_a_store_run_draws_a_sample_document_and_its_report_links_it(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    shared = "Boilerplate paragraph that two notes repeat word for word, long enough to count as a duplicate.\n\n"
    (store / "a.md").write_text(TEXT, encoding="utf-8")
    (store / "b.md").write_text("# Other\n\n" + "Something else entirely here. " * 30 + "\n\n" + shared + SECTION,
                                encoding="utf-8")
    (store / "c.md").write_text(shared + "The last note.\n", encoding="utf-8")
    out = tmp_path / "out"
    summary = chunkwise.prepare_store(store, out, prepare_options={"max_tokens": 64})
    sample = out / "chunks.jsonl.sample.html"
    assert summary.files["sample_html"] == str(sample)
    page = sample.read_text(encoding="utf-8")
    doc_id = re.search(r"<title>Sample document: ([^<]+)</title>", page).group(1)
    # Cut more than once, with the most removed tokens (then the most chunks; the first of equals):
    lines = (out / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    chunk_counts = Counter(json.loads(line)["doc_id"] for line in lines)
    removed_tokens = Counter()
    for line in (out / "chunks.jsonl.removed.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        removed_tokens[entry["doc_id"]] += entry["token_count"]
    order = ["a.md", "b.md", "c.md"]
    expected = max(order, key=lambda d: (chunk_counts[d] >= 2, removed_tokens[d], chunk_counts[d], -order.index(d)))
    assert len(removed_tokens) >= 2 and doc_id == expected
    assert _drawn_text(page) == (store / doc_id).read_text(encoding="utf-8")
    assert 'class="rm"' in page
    report = (out / "chunks.jsonl.report.html").read_text(encoding="utf-8")
    assert f'<a href="{sample.name}">{doc_id}</a>' in report
    copy = tmp_path / "elsewhere" / "report.html"
    assert main(["report", str(out), "--html", str(copy)]) == 0
    assert (copy.parent / sample.name).read_text(encoding="utf-8") == page


def test_cuts_in_code_are_labelled_by_the_programs_structure():
    source = "import os\n\n\ndef first():\n    return 1\n\n\nclass Second:\n    def method(self):\n        return 2\n" * 6
    shown = visualize(source, max_tokens=40, language="python").html
    labels = re.findall(r'id="c\d+" title="[^"]*">#\d+ \u00b7 [\d,]+ tok \u00b7 ([a-z ]+)<', shown)
    assert labels and set(labels) <= {"section", "paragraph", "item", "line"}


def test_a_stores_sample_of_a_large_document_holds_only_the_part_it_draws(tmp_path, monkeypatch):
    """The page draws the first part and lists the chunks that start there; the heading counts the whole."""
    from chunkwise.stores import _assembly

    monkeypatch.setattr(_assembly, "MAX_CHARS", 2_000)  # a large document, in miniature
    made: list[int] = []
    original = _assembly.Chunk

    def counted(**fields):
        made.append(fields["start"])
        return original(**fields)

    monkeypatch.setattr(_assembly, "Chunk", counted)
    store = tmp_path / "store"
    store.mkdir()
    text = "".join(f"Paragraph {i} says a few words about topic {i % 7}, then stops.\n\n" for i in range(200))
    (store / "long.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    chunkwise.prepare_store(store, out, prepare_options={"max_tokens": 32})
    page = (out / "chunks.jsonl.sample.html").read_text(encoding="utf-8")
    lines = (out / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    starts = [json.loads(line)["start"] for line in lines]
    shown = [s for s in starts if s < 2_000]
    assert f"{len(text):,} characters \u00b7 {len(lines):,} chunks" in page
    assert f"The text stops at 2,000 of {len(text):,} characters" in page
    assert f"the table lists the {len(shown):,} chunks that start there" in page
    assert sorted(made) == shown  # no chunk past the drawn part was ever made
    assert _drawn_text(page) == text[:2_000]
