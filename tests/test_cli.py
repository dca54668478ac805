"""The chunkwise command: demo on the bundled corpus, prepare on files and folders."""

from __future__ import annotations

import json
import subprocess
import sys

from chunkwise.cli import EXIT_INPUT, main


def test_demo_runs_on_bundled_corpus(capsys):
    assert main(["demo", "--max-tokens", "256"]) == 0
    out = capsys.readouterr().out
    assert "tokens saved" in out and "every chunk <= 256 tokens" in out


def test_demo_json(capsys):
    assert main(["demo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["documents"] >= 10 and data["prepared"]["max_chunk_tokens"] <= 512


def test_prepare_folder_to_jsonl(tmp_path, capsys):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nFirst document. " * 40, encoding="utf-8")
    (folder / "b.html").write_text("<html><body><nav>Menu</nav><p>Second <b>document</b>.</p><script>x=1</script></body></html>", encoding="utf-8")
    (folder / "skip.bin").write_bytes(b"\x00\x01")
    out = tmp_path / "out" / "chunks.jsonl"
    assert main(["prepare", str(folder), "-o", str(out), "--max-tokens", "64"]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {r["doc_id"] for r in rows} == {"a.md", "b.html"}
    assert all(r["token_count"] <= 64 for r in rows)
    html_text = " ".join(r["text"] for r in rows if r["doc_id"] == "b.html")
    assert "Second document." in html_text and "x=1" not in html_text


def test_prepare_reports_bad_input_with_exit_code(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe broken")
    assert main(["prepare", str(bad), "-o", str(tmp_path / "o.jsonl")]) == EXIT_INPUT
    assert "not valid UTF-8" in capsys.readouterr().err


def test_console_script_entry_point():
    result = subprocess.run([sys.executable, "-m", "chunkwise.cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "chunkwise" in result.stdout
