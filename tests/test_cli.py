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
    bad.write_bytes(b"\x00\xff\xfe\x00 broken \x81\x8d\x8f\x90\x9d\x00\x00")  # binary: no encoding reads it
    assert main(["prepare", str(bad), "-o", str(tmp_path / "o.jsonl")]) == EXIT_INPUT
    assert "not text in any encoding" in capsys.readouterr().err


def test_console_script_entry_point():
    result = subprocess.run([sys.executable, "-m", "chunkwise.cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "chunkwise" in result.stdout


def _write_store(path, docs):
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path


def _docs(count):
    return [{"id": f"d{i}", "text": f"# Note {i}\n\nThe ledger for region {i} was audited. " * 3} for i in range(count)]


def test_prepare_jsonl_store_json_summary_and_partial_exit_code(tmp_path, capsys):
    from chunkwise.cli import EXIT_PARTIAL

    store = _write_store(tmp_path / "s.jsonl", _docs(6))
    with store.open("a", encoding="utf-8") as handle:
        handle.write("{broken\n")
    out = tmp_path / "out" / "chunks.jsonl"
    assert main(["prepare", str(store), "-o", str(out), "--json", "--max-tokens", "64"]) == EXIT_PARTIAL
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["summary"]["status"] == "partial" and data["summary"]["quarantined"] == 1
    assert data["report"]["documents"] == 6
    assert "line-7: parse_error" in captured.err
    # Unchanged store: nothing is prepared again, and the exit code still says a document is quarantined.
    assert main(["prepare", str(store), "-o", str(out), "--json", "--max-tokens", "64", "-q"]) == EXIT_PARTIAL
    assert json.loads(capsys.readouterr().out)["summary"]["skipped"] == 6


def test_prepare_quiet_prints_nothing_and_report_command_shows_the_run(tmp_path, capsys):
    store = _write_store(tmp_path / "s.jsonl", _docs(4))
    out = tmp_path / "out"
    assert main(["prepare", str(store), "-o", str(out), "-q"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["report", str(out)]) == 0
    assert "4 documents" in capsys.readouterr().out
    html = tmp_path / "r.html"
    assert main(["report", str(out), "--html", str(html)]) == 0
    assert html.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert main(["report", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["documents"] == 4
    assert main(["report", str(tmp_path / "nothing-here")]) == EXIT_INPUT


def test_prepare_parquet_store_on_dask_via_cli(tmp_path, capsys):
    pa = __import__("pytest").importorskip("pyarrow")
    pq = __import__("pytest").importorskip("pyarrow.parquet")
    __import__("pytest").importorskip("distributed")
    docs = _docs(12)
    store = tmp_path / "s.parquet"
    pq.write_table(pa.table({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs]}), store)
    local = tmp_path / "local.jsonl"
    dask = tmp_path / "dask.jsonl"
    assert main(["prepare", str(store), "-o", str(local), "-q"]) == 0
    assert main(["prepare", str(store), "-o", str(dask), "-q", "--engine", "dask", "--workers", "2", "--batch-size", "3"]) == 0
    assert local.read_bytes() == dask.read_bytes() and local.read_bytes()


def test_scheduler_without_dask_engine_is_refused(tmp_path, capsys):
    from chunkwise.cli import EXIT_USAGE

    store = _write_store(tmp_path / "s.jsonl", _docs(2))
    code = main(["prepare", str(store), "-o", str(tmp_path / "o.jsonl"), "--scheduler", "tcp://127.0.0.1:1"])
    assert code == EXIT_USAGE and "engine='dask'" in capsys.readouterr().err


def test_audit_command_on_bundled_sample(tmp_path, capsys):
    from chunkwise.cli import _sample_dir

    html = tmp_path / "audit.html"
    assert main(["audit", str(_sample_dir()), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert "tokens saved vs naive windows" in out and "removed tokens (overlap)" in out
    assert html.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


def test_audit_command_json_on_jsonl_store(tmp_path, capsys):
    store = tmp_path / "store.jsonl"
    rows = [{"id": f"d{i}", "text": "Shared footer line for every page of the site.\n\n" + f"Body {i}. " * 30} for i in range(6)]
    store.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert main(["audit", str(store), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["documents"] == 6 and data["measured_documents"] == 6
    # The footer repeats in all six documents: boilerplate, kept once.
    assert data["removed_tokens"]["boilerplate"]["value"] > 0
    assert 0 < data["duplication_rate"]["value"] < 1 and data["duplication_rate"]["exact"] is True


def test_report_measure_without_a_gpu_says_so_and_exits_cleanly(tmp_path, capsys, monkeypatch):
    """Issue 14's measured mode: on a machine without CUDA the report prints and the skip is one line."""
    import chunkwise
    from chunkwise import cli as cli_module
    from chunkwise.cli import _print_measured
    from chunkwise.errors import DeviceUnavailableError

    asked = []

    def no_gpu(model, *, seq_len, **_):
        asked.append((model, seq_len))
        raise DeviceUnavailableError("measure() needs a CUDA GPU")

    monkeypatch.setattr(cli_module, "measure", no_gpu)  # the name the CLI calls
    store = _write_store(tmp_path / "s.jsonl", _docs(4))
    out = tmp_path / "out"
    assert main(["prepare", str(store), "-o", str(out), "-q", "--model", "qwen2.5-7b", "--tokenizer", "cl100k_base"]) == 0
    assert main(["report", str(out), "--measure"]) == 0  # a store report now carries its serving model
    captured = capsys.readouterr()
    assert "4 documents" in captured.out and "measured mode skipped: measure() needs a CUDA GPU" in captured.err
    stored = json.loads((out / "chunks.jsonl.report.json").read_text(encoding="utf-8"))
    assert asked == [("qwen2.5-7b", stored["economics"]["naive"]["capacity"]["context_length"])]
    asked.clear()
    report = chunkwise.prepare(_docs(4), model="llama-3-8b", tokenizer="cl100k_base").report.to_dict()
    _print_measured(report)
    assert "measured mode skipped: measure() needs a CUDA GPU" in capsys.readouterr().err
    assert asked == [("llama-3-8b", report["economics"]["naive"]["capacity"]["context_length"])]


def test_store_report_has_the_full_economics_under_the_given_assumptions(tmp_path, capsys):
    """chunkwise prepare STORE takes the report options and writes cost and memory sections (issue 14)."""
    text = "word" + " word" * 299  # 300 tokens: 100-token windows start at 0, 80, 160, 240 -> 100, 100, 100, 60
    store = _write_store(tmp_path / "s.jsonl", [{"id": "a", "text": text}, {"id": "b", "text": text}])
    out = tmp_path / "out"
    assert main(["prepare", str(store), "-o", str(out), "-q", "--max-tokens", "100", "--gpu", "h100-80gb",
                 "--price", "claude-3.5-haiku", "--queries-per-day", "2000", "--top-k", "3"]) == 0
    report = json.loads((out / "chunks.jsonl.report.json").read_text(encoding="utf-8"))
    econ = report["economics"]
    assert econ["gpu"] == "h100-80gb" and econ["price"]["name"] == "claude-3.5-haiku" and econ["model"] == "llama-3-8b"
    assert econ["assumptions"]["queries_per_day"] == 2000 and econ["assumptions"]["top_k"] == 3
    # 8 naive windows of 720 tokens: 90 on average, 3 retrieved.
    assert econ["naive"]["chunks"] == 8 and econ["naive"]["retrieved_context_tokens"] == 270
    kept = [json.loads(line)["token_count"] for line in (out / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
    assert econ["chunkwise"]["chunks"] == len(kept) and econ["chunkwise"]["chunk_tokens"] == sum(kept)
    # Every chunk of "word word ..." repeats another: the store keeps one of each text and removes the rest as exact.
    assert sum(kept) == report["prepared"]["tokens"] and sum(kept) + report["removed_tokens"]["exact"] == 2 * 300
    parts = {part["part"]: part["tokens"] for part in report["savings"]}
    assert parts["overlap"] == 2 * (360 - 300) and sum(parts.values()) == report["tokens_saved"]
    page = (out / "chunks.jsonl.report.html").read_text(encoding="utf-8")
    assert "GPU memory by component" in page and "Assumptions, sources and formulas" in page
    assert "claude-3.5-haiku" in page and "2,000 queries/day" in page
    printed = (out / "chunks.jsonl.report.txt").read_text(encoding="utf-8")
    assert "serving llama-3-8b" in printed and "KV cache per request" in printed


def test_store_report_options_are_checked_before_any_work(tmp_path, capsys):
    from chunkwise.cli import EXIT_USAGE

    store = _write_store(tmp_path / "s.jsonl", _docs(2))
    out = tmp_path / "out"
    assert main(["prepare", str(store), "-o", str(out), "--gpu", "a100-80"]) == EXIT_USAGE
    assert "a100-80gb" in capsys.readouterr().err and not (out / "chunks.jsonl").exists()


def test_demo_takes_the_report_options(capsys):
    assert main(["demo", "--gpu", "h100-80gb", "--price", "claude-3.5-haiku", "--queries-per-day", "500"]) == 0
    out = capsys.readouterr().out
    assert "on h100-80gb" in out and "claude-3.5-haiku" in out and "500 queries a day x 365" in out
    assert "tokens saved against naive" in out and "  overlap " in out


def test_a_closed_pipe_ends_quietly():
    # `chunkwise demo --json | head -c 1`: the reader goes away before the output is written.
    code = "import sys; from chunkwise.cli import main; sys.exit(main(['demo', '--json']))"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err and b"BrokenPipe" not in err


def test_progress_bars_show_rate_and_time_left():
    import io
    import re
    import time

    from chunkwise.cli import _Progress
    from chunkwise.stores.batch import Progress

    stream = io.StringIO()
    progress = _Progress(stream)
    total = 40_000_000
    for step in range(1, 5):
        time.sleep(0.25)
        progress(Progress("processing", 10 * step, 9 * step, step, 0, total * step // 4, total))
    progress(Progress("assembling", 40, 36, 4, 0, total, None, chunks=500))
    progress(Progress("done", 40, 36, 4, 0, total, total, 500))
    shown = stream.getvalue()
    assert "preparing" in shown and "assembling" in shown
    assert re.search(r"\d+(\.\d+)?MB/s", shown) and "<" in shown  # a rate, and the time left
    rates = [float(x) for x in re.findall(r"(\d+(?:\.\d+)?)MB/s", shown)]
    assert max(rates) < 1000  # 10 MB every quarter second, not a burst divided by nothing
