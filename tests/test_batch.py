"""Batch preparation of stores: readers, engines agree, crash drill, incremental re-runs, quarantine."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from chunkwise.stores.batch import BatchConfig, OutputPaths, prepare_store, process_batch
from chunkwise.errors import ConfigError, InputDataError
from chunkwise.stores.sources import open_store

WORDS = (
    "retrieval index chunk token budget policy billing customer export schema latency cache replica "
    "window tenant archive quota invoice ledger audit backup region cluster gateway"
).split()
OPTIONS = {"max_tokens": 96}


def make_text(rng: random.Random, position: int) -> str:
    paragraphs = [f"# Record {position}"]
    for _ in range(rng.randint(2, 5)):
        sentences = []
        for _ in range(rng.randint(2, 6)):
            words = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
            sentences.append(" ".join(words).capitalize() + ".")
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs) + "\n"


def make_docs(count: int, seed: int = 7, duplicates: int = 3) -> list[dict]:
    rng = random.Random(seed)
    docs = [{"id": f"doc-{i:05d}", "text": make_text(rng, i)} for i in range(count)]
    for i in range(duplicates):  # whole-document copies under other ids: store dedup must catch them
        source = docs[rng.randrange(len(docs) // 2)]
        docs[len(docs) // 2 + i] = {"id": docs[len(docs) // 2 + i]["id"], "text": source["text"]}
    return docs


def write_jsonl(path: Path, docs: list[dict]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for doc in docs:
            handle.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return path


def outputs(chunks: Path) -> dict[str, bytes]:
    """Every user-visible output of a run except the timing summary."""
    paths = OutputPaths.for_output(chunks, None)
    names = [paths.chunks] + [paths.sidecar(s) for s in (".removed.jsonl", ".quarantine.jsonl", ".report.json", ".report.html")]
    return {path.name: path.read_bytes() for path in names}


def chunk_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ----------------------------------------------------------------------------- stores


def test_folder_store_reads_text_markdown_html_in_sorted_order(tmp_path):
    root = tmp_path / "docs"
    (root / "b").mkdir(parents=True)
    (root / "z.md").write_text("# Z\n\nLast one.\n", encoding="utf-8")
    (root / "a.txt").write_text("First one.\n", encoding="utf-8")
    (root / "b" / "page.html").write_text("<p>Hello <b>there</b></p><script>x=1</script>", encoding="utf-8")
    (root / "b" / "skip.bin").write_bytes(b"\x00")
    (root / "README.md").write_text("not a document", encoding="utf-8")
    summary = prepare_store(root, tmp_path / "out", prepare_options=OPTIONS)
    rows = chunk_rows(summary.output)
    assert [r["doc_id"] for r in rows] == ["a.txt", "b/page.html", "z.md"]
    assert "Hello there" in rows[1]["text"] and "x=1" not in rows[1]["text"]
    assert summary.status == "ok" and summary.documents == 3


def test_jsonl_csv_parquet_stores_give_the_same_chunks(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    import csv

    docs = make_docs(30, duplicates=0)
    jsonl = write_jsonl(tmp_path / "s.jsonl", docs)
    with (tmp_path / "s.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "text"])
        writer.writeheader()
        writer.writerows(docs)
    pq.write_table(pa.table({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs]}), tmp_path / "s.parquet")
    results = {}
    for name in ("s.jsonl", "s.csv", "s.parquet"):
        summary = prepare_store(tmp_path / name, tmp_path / f"out-{name}" / "chunks.jsonl", prepare_options=OPTIONS)
        results[name] = [(r["doc_id"], r["start"], r["end"], r["text"]) for r in chunk_rows(summary.output)]
    assert results["s.jsonl"] == results["s.csv"] == results["s.parquet"]
    assert {doc_id for doc_id, *_ in results["s.jsonl"]} == {d["id"] for d in docs}
    assert jsonl.exists()


def test_named_columns_and_parquet_output(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    docs = [{"key": f"k{i}", "body": f"Body number {i}. " * 20, "lang": "en"} for i in range(5)]
    store = write_jsonl(tmp_path / "s.jsonl", docs)
    summary = prepare_store(store, tmp_path / "chunks.parquet", id_column="key", text_column="body", prepare_options=OPTIONS)
    table = pq.read_table(summary.output)
    assert table.column_names == ["id", "doc_id", "index", "start", "end", "token_count", "text", "metadata"]
    assert sorted(set(table.column("doc_id").to_pylist())) == [f"k{i}" for i in range(5)]
    assert json.loads(table.column("metadata")[0].as_py()) == {"lang": "en"}


def test_quarantine_records_reasons_and_the_job_goes_on(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "good.md").write_text("# Fine\n\nA good document about billing.\n", encoding="utf-8")
    (root / "bad.txt").write_bytes(b"\x00\xff\xfe\x00 broken \x81\x8d\x8f\x90\x9d\x00\x00")  # binary, not text
    (root / "huge.txt").write_text("word " * 5000, encoding="utf-8")
    summary = prepare_store(root, tmp_path / "out", max_document_bytes=10_000, prepare_options=OPTIONS)
    assert summary.status == "partial" and summary.quarantined == 2
    quarantine = chunk_rows(Path(summary.files["quarantine"]))
    assert [(q["doc_id"], q["reason"]) for q in quarantine] == [("bad.txt", "undecodable"), ("huge.txt", "too_large")]
    assert "not text in any encoding" in quarantine[0]["detail"]
    assert {r["doc_id"] for r in chunk_rows(summary.output)} == {"good.md"}


def test_jsonl_problems_are_quarantined_by_line(tmp_path):
    store = tmp_path / "s.jsonl"
    long_text = "x" * 5000
    store.write_bytes(
        b'{"id": "a", "text": "Alpha document text."}\n'
        b"{not json\n"
        b"[1, 2]\n"
        + json.dumps({"id": "big", "text": long_text}).encode() + b"\n"
        b'{"id": "c", "body": "no text field"}\n'
        b'{"id": "a", "text": "Same id again."}\n'
        b"\xff\xfe\n"
        b'{"id": "d", "text": "Delta document text."}\n'
    )
    summary = prepare_store(store, tmp_path / "out", max_document_bytes=1000, prepare_options=OPTIONS)
    reasons = [(q["doc_id"], q["reason"]) for q in chunk_rows(Path(summary.files["quarantine"]))]
    assert reasons == [
        ("line-2", "parse_error"), ("line-3", "parse_error"), ("line-4", "too_large"), ("c", "parse_error"),
        ("a", "duplicate_id"), ("line-7", "undecodable"),
    ]
    assert [r["doc_id"] for r in chunk_rows(summary.output)] == ["a", "d"]


def test_bad_configuration_and_missing_store_raise_our_errors(tmp_path):
    with pytest.raises(ConfigError):
        BatchConfig(workers=0)
    with pytest.raises(ConfigError):
        BatchConfig(engine="spark")
    with pytest.raises(InputDataError):
        open_store(tmp_path / "missing.jsonl")
    with pytest.raises(ConfigError, match="store_dedup"):
        prepare_store(write_jsonl(tmp_path / "s.jsonl", make_docs(2, duplicates=0)), tmp_path / "o", prepare_options={"dedup": True})


def test_process_batch_is_a_pure_function_of_its_records(tmp_path):
    store = open_store(write_jsonl(tmp_path / "s.jsonl", make_docs(6, duplicates=0)))
    records = list(store.records())
    first = process_batch(records, OPTIONS)
    again = process_batch(list(reversed(records)), OPTIONS)
    def by_document(outcome):
        return {doc_id: outcome.part_bytes[offset : offset + length] for doc_id, _, offset, length in outcome.done}

    records_first, records_again = by_document(first), by_document(again)
    assert records_first == records_again and len(records_first) == 6
    # Each record: a header naming its chunk count, then one line per chunk.
    for record in records_first.values():
        header, *chunk_lines = record.splitlines()
        assert json.loads(header)["chunks"] == len(chunk_lines) > 0


# ----------------------------------------------------------------------------- engines agree


def test_local_processes_and_dask_give_byte_identical_output(tmp_path):
    pytest.importorskip("distributed")
    store = write_jsonl(tmp_path / "s.jsonl", make_docs(120))
    runs = {
        "inline": {"workers": 1},
        "processes": {"workers": 2},
        "dask": {"engine": "dask", "workers": 2},
    }
    results = {}
    for name, options in runs.items():
        summary = prepare_store(store, tmp_path / name / "chunks.jsonl", batch_size=16, prepare_options=OPTIONS, **options)
        assert summary.processed == 120 and summary.status == "ok"
        results[name] = outputs(summary.output)
    assert results["inline"] == results["processes"] == results["dask"]
    assert summary.removed > 0  # the duplicated documents were found across batches


def test_parquet_output_is_byte_identical_across_engines(tmp_path):
    pytest.importorskip("pyarrow")
    store = write_jsonl(tmp_path / "s.jsonl", make_docs(40))
    first = prepare_store(store, tmp_path / "a" / "chunks.parquet", batch_size=7, prepare_options=OPTIONS)
    second = prepare_store(store, tmp_path / "b" / "chunks.parquet", batch_size=3, workers=2, prepare_options=OPTIONS)
    assert first.output.read_bytes() == second.output.read_bytes()


# ----------------------------------------------------------------------------- incremental


def test_changing_one_percent_reprocesses_only_those(tmp_path):
    docs = make_docs(300)
    store = write_jsonl(tmp_path / "s.jsonl", docs)
    out = tmp_path / "out" / "chunks.jsonl"
    first = prepare_store(store, out, batch_size=25, prepare_options=OPTIONS)
    assert first.processed == 300
    rng = random.Random(3)
    changed = rng.sample(range(300), 3)
    for index in changed:
        docs[index] = {"id": docs[index]["id"], "text": docs[index]["text"] + "\nAn added closing line about quotas.\n"}
    write_jsonl(store, docs)
    second = prepare_store(store, out, batch_size=25, prepare_options=OPTIONS)
    assert (second.processed, second.skipped) == (3, 297)
    fresh = prepare_store(store, tmp_path / "fresh" / "chunks.jsonl", batch_size=25, prepare_options=OPTIONS)
    assert outputs(out) == outputs(fresh.output)
    third = prepare_store(store, out, batch_size=25, prepare_options=OPTIONS)
    assert (third.processed, third.skipped) == (0, 300)


def test_store_dedup_stays_correct_when_documents_change_and_disappear(tmp_path):
    text = make_text(random.Random(1), 0)
    docs = [{"id": "a", "text": text}, {"id": "b", "text": "# Other\n\nUnrelated words about invoices and ledgers.\n"},
            {"id": "c", "text": text}]
    store = write_jsonl(tmp_path / "s.jsonl", docs)
    out = tmp_path / "out" / "chunks.jsonl"
    first = prepare_store(store, out, prepare_options=OPTIONS)
    removed = chunk_rows(Path(first.files["removed"]))
    assert removed and {(r["doc_id"], r["kept_doc_id"], r["reason"]) for r in removed} == {("c", "a", "exact")}
    # The kept copy disappears: c's chunks must come back (c is prepared again: what dedup keeps
    # of it changed), and "a" is forgotten.
    write_jsonl(store, docs[1:])
    second = prepare_store(store, out, prepare_options=OPTIONS)
    assert (second.processed, second.skipped, second.forgotten, second.removed) == (1, 1, 1, 0)
    assert {r["doc_id"] for r in chunk_rows(out)} == {"b", "c"}
    fresh = prepare_store(store, tmp_path / "fresh" / "chunks.jsonl", prepare_options=OPTIONS)
    assert outputs(out) == outputs(fresh.output)


def _dedup_store(tmp_path: Path) -> Path:
    """The bundled sample (overlapping windows of one source, exact and near duplicates) plus four
    files sharing a footer line (boilerplate: in 4 of 20 documents)."""
    import shutil

    import chunkwise

    folder = tmp_path / "store"
    shutil.copytree(Path(chunkwise.__file__).parent / "data" / "sample", folder)
    footer = "Copyright 2026 Example Corp. All rights reserved.\n"
    for index, topic in enumerate(["quotas", "exports", "ledgers", "replicas"]):
        (folder / f"note_{index}.txt").write_text(f"# Note on {topic}\n\nThe team reviewed {topic} on day {index}.\n\n"
                                                 + footer, encoding="utf-8")
    return folder


@pytest.mark.parametrize("workers", [1, 2])
def test_a_store_run_removes_what_prepare_removes_on_the_same_documents(tmp_path, workers):
    """Issue 16: overlap, exact and near duplicates and boilerplate across the store, as prepare() on a list."""
    import chunkwise
    from chunkwise.stores.sources import store_documents

    store = _dedup_store(tmp_path)
    summary = prepare_store(store, tmp_path / "out" / "chunks.jsonl", workers=workers, batch_size=3,
                            prepare_options={"max_tokens": 128})
    in_memory = chunkwise.prepare(list(store_documents(open_store(store))), max_tokens=128)
    removed = chunk_rows(Path(summary.files["removed"]))
    assert {entry["reason"] for entry in removed} == {"overlap", "exact", "near", "boilerplate"}
    assert chunk_rows(summary.output) == [c.to_dict() for c in in_memory.chunks]
    assert removed == [entry.to_dict() for entry in in_memory.removed]
    report = json.loads(Path(summary.files["report_json"]).read_text(encoding="utf-8"))
    assert report["removed_tokens"] == in_memory.report.removed_tokens
    assert report["tokens_saved"] == in_memory.report.tokens_saved
    # Nothing changed: nothing is prepared again.
    again = prepare_store(store, tmp_path / "out" / "chunks.jsonl", workers=workers, batch_size=3,
                          prepare_options={"max_tokens": 128})
    assert (again.processed, again.skipped) == (0, summary.documents)


def test_a_store_of_one_document_runs_its_own_dedup_with_no_coordinator_pass(tmp_path, monkeypatch):
    """One document: the store's dedup is the document's own, run by its worker; the coordinator
    never repairs or dedups it first (that pass was most of a one-file run's memory), same output."""
    import chunkwise
    from chunkwise.stores import _plan
    from chunkwise.stores.sources import store_documents

    def no_pass(*args, **kwargs):
        raise AssertionError("the coordinator repaired a one-document store")

    monkeypatch.setattr(_plan, "normalize_all", no_pass)
    store = tmp_path / "store"
    store.mkdir()
    paragraph = "The ledger replicas are compared every night and the differences are reported at dawn.\n\n"
    (store / "one.txt").write_text("# Ledgers\n\n" + paragraph * 3 + "A closing line of its own.\n", encoding="utf-8")
    summary = prepare_store(store, tmp_path / "out" / "chunks.jsonl", prepare_options={"max_tokens": 64})
    in_memory = chunkwise.prepare(list(store_documents(open_store(store))), max_tokens=64)
    assert summary.store_dedup == "full"
    assert in_memory.removed and chunk_rows(Path(summary.files["removed"])) == [e.to_dict() for e in in_memory.removed]
    assert chunk_rows(summary.output) == [c.to_dict() for c in in_memory.chunks]
    again = prepare_store(store, tmp_path / "out" / "chunks.jsonl", prepare_options={"max_tokens": 64})
    assert (again.processed, again.skipped) == (0, 1)


def test_a_store_too_large_for_memory_falls_back_to_chunks_with_a_warning(tmp_path, monkeypatch):
    """The default store dedup holds the store's text; where it would not fit (here: a budget of
    100 bytes), the run goes on by chunks, warns, and says so in its report; "full" insists."""
    from chunkwise.errors import ChunkwiseWarning
    import chunkwise.stores.batch as batch_module

    monkeypatch.setattr(batch_module, "memory_budget", lambda: 100)
    store = write_jsonl(tmp_path / "s.jsonl", make_docs(12))
    with pytest.warns(ChunkwiseWarning, match="by chunks"):
        fallback = prepare_store(store, tmp_path / "a" / "chunks.jsonl", prepare_options=OPTIONS)
    assert fallback.store_dedup == "chunks"
    report = json.loads(Path(fallback.files["report_json"]).read_text(encoding="utf-8"))
    assert any("store-wide dedup ran by chunks" in note for note in report["notes"])
    chunks_mode = prepare_store(store, tmp_path / "b" / "chunks.jsonl", store_dedup="chunks", prepare_options=OPTIONS)
    assert outputs(fallback.output)[fallback.output.name] == outputs(chunks_mode.output)[chunks_mode.output.name]
    insisted = prepare_store(store, tmp_path / "c" / "chunks.jsonl", store_dedup="full", prepare_options=OPTIONS)
    assert insisted.store_dedup == "full"


def test_chunks_mode_streams_and_drops_only_repeated_chunks(tmp_path):
    """store_dedup="chunks": each document prepared alone, then repeated chunks dropped in store order;
    a kept copy that goes brings its duplicate's chunks back without preparing anything again."""
    from chunkwise.cli import main

    text = make_text(random.Random(1), 0)
    docs = [{"id": "a", "text": text}, {"id": "b", "text": "# Other\n\nUnrelated words about invoices and ledgers.\n"},
            {"id": "c", "text": text}]
    store = write_jsonl(tmp_path / "s.jsonl", docs)
    out = tmp_path / "out" / "chunks.jsonl"
    first = prepare_store(store, out, store_dedup="chunks", prepare_options=OPTIONS)
    removed = chunk_rows(Path(first.files["removed"]))
    assert removed and {(r["doc_id"], r["kept_doc_id"], r["reason"]) for r in removed} == {("c", "a", "exact")}
    # Whole chunks, as chunk() cut them: c's removed spans are a's chunk spans.
    assert [(r["start"], r["end"]) for r in removed] == [(r["kept_start"], r["kept_end"]) for r in removed]
    assert "c" not in {r["doc_id"] for r in chunk_rows(out)}
    write_jsonl(store, docs[1:])
    second = prepare_store(store, out, store_dedup="chunks", prepare_options=OPTIONS)
    assert (second.processed, second.forgotten) == (0, 1)
    assert "c" in {r["doc_id"] for r in chunk_rows(out)}
    off = tmp_path / "off" / "chunks.jsonl"
    assert main(["prepare", str(store), "-o", str(off), "--max-tokens", "96", "--store-dedup", "off", "-q"]) == 0
    assert chunk_rows(Path(str(off) + ".removed.jsonl")) == []
    with pytest.raises(ConfigError, match="store_dedup"):
        BatchConfig(store_dedup="near")


def test_changed_configuration_starts_over_and_orphans_are_removed(tmp_path):
    store = write_jsonl(tmp_path / "s.jsonl", make_docs(20, duplicates=0))
    out = tmp_path / "out" / "chunks.jsonl"
    prepare_store(store, out, prepare_options=OPTIONS)
    parts = OutputPaths.for_output(out, None).parts
    (parts / "part-orphan.jsonl").write_bytes(b"left by a crash")
    (parts / ".part-x.jsonl.tmp-1").write_bytes(b"half")
    again = prepare_store(store, out, prepare_options={"max_tokens": 64})
    assert again.reset and again.processed == 20
    assert not (parts / "part-orphan.jsonl").exists() and not (parts / ".part-x.jsonl.tmp-1").exists()
    assert all(r["token_count"] <= 64 for r in chunk_rows(out))


def test_report_adds_up_over_the_store(tmp_path):
    store = write_jsonl(tmp_path / "s.jsonl", make_docs(50))
    summary = prepare_store(store, tmp_path / "out", batch_size=8, prepare_options=OPTIONS)
    report = json.loads(Path(summary.files["report_json"]).read_text(encoding="utf-8"))
    rows = chunk_rows(summary.output)
    assert report["documents"] == 50 and report["prepared"]["chunks"] == len(rows) == summary.chunks
    assert report["prepared"]["tokens"] == sum(r["token_count"] for r in rows)
    removed = chunk_rows(Path(summary.files["removed"]))
    assert report["removed_tokens"]["exact"] == sum(r["token_count"] for r in removed)
    assert "<script" not in Path(summary.files["report_html"]).read_text(encoding="utf-8").split("</style>", 1)[-1]


# ----------------------------------------------------------------------------- crash drill


def _cli(store: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "chunkwise.cli", "prepare", str(store), "-o", str(out), "--batch-size", "8",
            "--max-tokens", "96", "-q", *extra]


def _kill_when(command: list[str], ready, timeout: float = 60.0) -> bool:
    """Start the CLI, SIGKILL its whole process group once ``ready()``; False if it finished first."""
    with subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as process:
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            if ready():
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return True
            time.sleep(0.002)
        process.wait()
    return False


def _committed_parts(out: Path) -> int:
    manifest = OutputPaths.for_output(out, None).state / "manifest.sqlite"
    if not manifest.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{manifest}?mode=ro", uri=True, timeout=0.05)) as db:
            return db.execute("SELECT COUNT(*) FROM parts").fetchone()[0]
    except sqlite3.Error:
        return 0


def _assert_no_partial_files(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_file() and not path.name.startswith("."):
            if path.suffix == ".jsonl":
                for line in path.read_bytes().splitlines():
                    json.loads(line)  # a torn file would fail here


def test_crash_drill_sigkill_at_seeded_points_then_resume(tmp_path):
    store = write_jsonl(tmp_path / "s.jsonl", make_docs(400))
    reference = tmp_path / "reference" / "chunks.jsonl"
    assert subprocess.run(_cli(store, reference), capture_output=True).returncode == 0
    batches = -(-400 // 8)
    rng = random.Random(2024)
    kill_points = sorted(rng.sample(range(1, batches - 2), 5))
    out = tmp_path / "drill" / "chunks.jsonl"
    kills = 0
    for point in kill_points:
        # Each restart resumes the same job; parts already committed count towards the next point.
        kills += _kill_when(_cli(store, out), lambda: _committed_parts(out) >= point)
        _assert_no_partial_files(out.parent)
        assert not out.exists()  # the chunk file only appears once every document is done
    assert kills >= 4, f"the job finished before most kill points {kill_points}"
    # One more kill while the output is being assembled (or just before).
    kills += _kill_when(_cli(store, out), lambda: any(p.name.startswith(".chunks.jsonl.tmp") for p in out.parent.iterdir()))
    _assert_no_partial_files(out.parent)
    finished = subprocess.run(_cli(store, out, "--json"), capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    summary = json.loads(finished.stdout)["summary"]
    assert summary["processed"] + summary["skipped"] == 400 and summary["skipped"] > 0
    assert outputs(out) == outputs(reference)
    rows = chunk_rows(out)
    assert len({r["id"] for r in rows}) == len(rows)  # nothing duplicated
    assert [p for p in out.parent.iterdir() if ".tmp" in p.name] == []


@pytest.mark.slow
def test_crash_drill_with_worker_processes(tmp_path):
    store = write_jsonl(tmp_path / "s.jsonl", make_docs(240))
    reference = tmp_path / "reference" / "chunks.jsonl"
    assert subprocess.run(_cli(store, reference), capture_output=True).returncode == 0
    out = tmp_path / "drill" / "chunks.jsonl"
    killed = _kill_when(_cli(store, out, "--workers", "2"), lambda: _committed_parts(out) >= 6)
    assert killed
    finished = subprocess.run(_cli(store, out, "--workers", "2"), capture_output=True)
    assert finished.returncode == 0
    assert outputs(out) == outputs(reference)


def test_a_second_run_on_the_same_output_is_refused_while_one_holds_it(tmp_path):
    import fcntl

    store = write_jsonl(tmp_path / "s.jsonl", make_docs(5, duplicates=0))
    out = tmp_path / "out" / "chunks.jsonl"
    state = OutputPaths.for_output(out, None).state
    state.mkdir(parents=True)
    with (state / "lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(InputDataError, match="another chunkwise run"):
            prepare_store(store, out, prepare_options=OPTIONS)


def test_chunkwise_imports_where_fcntl_does_not_exist():
    """Issue 15: batch.py imported fcntl at import time, so ``import chunkwise`` failed on Windows."""
    import subprocess
    import sys

    code = "import sys; sys.modules['fcntl'] = None; import chunkwise, chunkwise.stores.batch; print('ok')"
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "ok"


def test_links_out_of_the_store_are_quarantined_not_read(tmp_path):
    """A symlink inside the store to a file outside it is not followed (issue 13, item 7)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "good.md").write_text("# Fine\n\nA good document about billing.\n", encoding="utf-8")
    (root / "passwd.txt").symlink_to(secret)
    (root / "sub" / "alias.md").symlink_to(root / "good.md")  # a link inside the store is fine
    summary = prepare_store(root, tmp_path / "out", prepare_options=OPTIONS)
    quarantine = chunk_rows(Path(summary.files["quarantine"]))
    assert [(q["doc_id"], q["reason"]) for q in quarantine] == [("passwd.txt", "outside_store")]
    assert str(secret) in quarantine[0]["detail"]
    rows = chunk_rows(summary.output)
    assert {r["doc_id"] for r in rows} <= {"good.md", "sub/alias.md"} and "good.md" in {r["doc_id"] for r in rows}
    assert not any("root:x" in r["text"] for r in rows)


# ----------------------------------------------------------------------------- a document that kills its worker


@pytest.mark.parametrize("engine", ["processes", "dask"])
def test_a_poison_document_is_isolated_and_retried_once_fixed(tmp_path, monkeypatch, engine):
    from support_poison import PILL, SWITCH_ENV, poison_counter

    if engine == "dask":
        pytest.importorskip("distributed")
    docs = make_docs(40, duplicates=0)
    docs[17]["text"] += f"\n\nThis paragraph carries the {PILL}.\n"
    store = write_jsonl(tmp_path / "s.jsonl", docs)
    switch = tmp_path / "poison-on"
    switch.touch()
    monkeypatch.setenv(SWITCH_ENV, str(switch))
    options = {"engine": "dask"} if engine == "dask" else {}
    prepare_options = {"tokenizer": poison_counter, "max_tokens": 96}
    out = tmp_path / "run" / "chunks.jsonl"

    first = prepare_store(store, out, batch_size=8, workers=2, prepare_options=prepare_options, **options)

    # Only the poison document is quarantined; its 7 batch mates and every other batch are prepared.
    assert first.processed == 40 and first.quarantined == 1 and first.status == "partial"
    quarantine = chunk_rows(OutputPaths.for_output(out, None).sidecar(".quarantine.jsonl"))
    assert [(q["doc_id"], q["reason"]) for q in quarantine] == [("doc-00017", "worker_died")]
    assert {row["doc_id"] for row in chunk_rows(out)} == {d["id"] for d in docs} - {"doc-00017"}

    # The cause goes away (the content does not change): the next run retries that document only.
    switch.unlink()
    second = prepare_store(store, out, batch_size=8, workers=2, prepare_options=prepare_options, **options)
    assert second.status == "ok" and second.processed == 1 and second.skipped == 39
    reference = prepare_store(store, tmp_path / "reference" / "chunks.jsonl", batch_size=8, prepare_options=prepare_options)
    assert outputs(out) == outputs(reference.output)


def test_documents_quarantined_for_bad_input_are_retried_only_when_asked(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "good.txt").write_text("A plain document about retrieval budgets.\n", encoding="utf-8")
    (store / "bad.txt").write_bytes(b"\x00\xff\xfe\x00 broken \x81\x8d\x8f\x90\x9d\x00\x00")
    out = tmp_path / "out" / "chunks.jsonl"
    first = prepare_store(store, out, prepare_options=OPTIONS)
    assert first.quarantined == 1
    again = prepare_store(store, out, prepare_options=OPTIONS)
    assert again.processed == 0 and again.quarantined == 1
    forced = prepare_store(store, out, prepare_options=OPTIONS, retry_quarantined=True)
    assert forced.processed == 1 and forced.quarantined == 1


# ----------------------------------------------------------------------------- inputs


def test_legacy_encodings_are_detected_not_quarantined(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    french = "Le garçon apporte la crème brûlée au café; très bien, dit la cliente naïve.\n"
    (store / "latin1.txt").write_bytes(french.encode("latin-1"))
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"></head>'
            "<body><h1>Menu</h1><p>Crème brûlée — “fait maison”.</p></body></html>")
    (store / "page.html").write_bytes(page.encode("cp1252"))
    (store / "utf16.txt").write_bytes("Ünïcödé text with a byte-order mark.\n".encode("utf-16"))
    (store / "binary.txt").write_bytes(b"\x00\xff\xfe\x00 broken \x81\x8d\x8f\x90\x9d\x00\x00")
    summary = prepare_store(store, tmp_path / "out" / "chunks.jsonl", prepare_options=OPTIONS)
    rows = {row["doc_id"]: row for row in chunk_rows(summary.output)}
    assert rows["latin1.txt"]["text"] == french.strip()
    assert rows["latin1.txt"]["metadata"]["encoding"] == "cp1252"
    assert "Crème brûlée — “fait maison”." in rows["page.html"]["text"]
    assert rows["utf16.txt"]["text"].startswith("Ünïcödé")
    quarantine = chunk_rows(Path(summary.files["quarantine"]))
    assert [(q["doc_id"], q["reason"]) for q in quarantine] == [("binary.txt", "undecodable")]


def test_compressed_jsonl_and_folders_of_data_files_are_stores(tmp_path):
    import gzip

    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    docs = make_docs(30, duplicates=0)
    plain = write_jsonl(tmp_path / "plain.jsonl", docs)
    reference = prepare_store(plain, tmp_path / "ref" / "chunks.jsonl", prepare_options=OPTIONS)

    packed = tmp_path / "packed.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    compressed = prepare_store(packed, tmp_path / "gz" / "chunks.jsonl", prepare_options=OPTIONS)
    assert compressed.output.read_bytes() == reference.output.read_bytes()

    # A folder of shards: JSONL, compressed JSONL and Parquet files, read in sorted path order.
    shards = tmp_path / "shards"
    shards.mkdir()
    write_jsonl(shards / "part-0.jsonl", docs[:10])
    (shards / "part-1.jsonl.gz").write_bytes(gzip.compress(write_jsonl(tmp_path / "x.jsonl", docs[10:20]).read_bytes()))
    pq.write_table(pa.Table.from_pylist(docs[20:]), shards / "part-2.parquet")
    (shards / "notes.bin").write_bytes(b"\x00 not a document")
    sharded = prepare_store(shards, tmp_path / "sharded" / "chunks.jsonl", prepare_options=OPTIONS)
    assert sharded.documents == 30 and sharded.status == "ok"
    assert sharded.output.read_bytes() == reference.output.read_bytes()


def test_a_store_with_no_documents_is_an_error(tmp_path):
    from chunkwise.cli import EXIT_INPUT, main

    empty = tmp_path / "books"
    empty.mkdir()
    (empty / "a.epub").write_bytes(b"PK\x03\x04")
    (empty / "b.epub").write_bytes(b"PK\x03\x04")
    with pytest.raises(InputDataError, match=r"no documents.*2 \.epub"):
        prepare_store(empty, tmp_path / "out" / "chunks.jsonl", prepare_options=OPTIONS)
    assert not (tmp_path / "out" / "chunks.jsonl").exists()
    assert main(["prepare", str(empty), "-o", str(tmp_path / "cli"), "-q"]) == EXIT_INPUT
    blank = write_jsonl(tmp_path / "blank.jsonl", [])
    assert main(["prepare", str(blank), "-o", str(tmp_path / "cli2"), "-q"]) == EXIT_INPUT


def test_kind_names_a_store_its_name_does_not(tmp_path):
    from chunkwise.cli import EXIT_OK, main

    odd = write_jsonl(tmp_path / "records.json-lines", make_docs(5, duplicates=0))
    assert main(["prepare", str(odd), "-o", str(tmp_path / "a"), "-q"]) != EXIT_OK
    assert main(["prepare", str(odd), "--kind", "jsonl", "-o", str(tmp_path / "b"), "-q"]) == EXIT_OK
    assert len(chunk_rows(tmp_path / "b" / "chunks.jsonl")) >= 5


def test_pdf_and_docx_are_read_with_pages_and_structure(tmp_path):
    pytest.importorskip("pypdf")
    docx = pytest.importorskip("docx")
    from support_documents import minimal_pdf

    store = tmp_path / "store"
    store.mkdir()
    pages = ["Billing guide\nInvoices are sent on the first day of each month.",
             "Refunds\nA refund reaches the card within five business days.",
             "Regions\nData stays in the region the tenant chose."]
    (store / "guide.pdf").write_bytes(minimal_pdf(pages))
    word = docx.Document()
    word.add_heading("Quota policy", level=1)
    word.add_paragraph("Each tenant has a monthly quota of archived records.")
    word.add_paragraph("Exports are free", style="List Bullet")
    word.add_paragraph("Restores are billed", style="List Bullet")
    table = word.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Plan", "Quota"), ("Basic", "10 GB")]):
        for cell, value in zip(row.cells, cells):
            cell.text = value
    word.save(store / "policy.docx")
    (store / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a PDF")

    summary = prepare_store(store, tmp_path / "out" / "chunks.jsonl", prepare_options={"max_tokens": 16})
    rows = chunk_rows(summary.output)
    pdf_rows = [r for r in rows if r["doc_id"] == "guide.pdf"]
    # Each chunk names the pages it covers; the offsets point into the extracted text.
    assert {r["metadata"]["page"] for r in pdf_rows} == {1, 2, 3}
    assert all("page_starts" not in r["metadata"] for r in pdf_rows)
    refund = next(r for r in pdf_rows if "refund reaches" in r["text"])
    assert refund["metadata"]["page"] == refund["metadata"]["last_page"] == 2
    text = "\n".join(r["text"] for r in rows if r["doc_id"] == "policy.docx")
    assert "# Quota policy" in text and "- Exports are free\n- Restores are billed" in text and "Basic | 10 GB" in text
    quarantine = chunk_rows(Path(summary.files["quarantine"]))
    assert [(q["doc_id"], q["reason"]) for q in quarantine] == [("broken.pdf", "parse_error")]
    assert "not a readable PDF" in quarantine[0]["detail"]


PAGE = """<!doctype html><html><head><title>Billing help</title><style>p {color: red}</style></head>
<body><nav><ul><li>Home</li><li>Billing</li></ul></nav>
<h1>Invoices &amp; refunds</h1>
<p>Invoices are sent on the <b>first</b> day of each month.<br>Refunds take five days.</p>
<table><tr><th>Plan</th><th>Price</th></tr><tr><td>Basic</td><td>&euro;10</td></tr></table>
<pre>  indented
  code</pre><script>var hidden = 1;</script><!-- a comment -->
<div><div><div><p>Deeply <i>nested</i> text.</p></div></div></div></body></html>"""


def test_both_html_parsers_give_the_same_text(monkeypatch):
    pytest.importorskip("selectolax")
    from chunkwise.stores import readers

    texts = {}
    for name in ("lexbor", "html.parser"):
        monkeypatch.setattr(readers, "html_parser_name", lambda name=name: name)
        texts[name] = readers.html_to_text(PAGE)
    assert texts["lexbor"] == texts["html.parser"]
    text = texts["lexbor"]
    assert "# Invoices & refunds" in text and "- Billing" in text and "Basic | €10" in text
    assert "indented\ncode" in text and "hidden" not in text and "comment" not in text and "color" not in text
    assert "first day of each month.\nRefunds take five days." in text
    # Nesting deeper than Python's recursion limit is walked without recursion.
    deep = "<div>" * 5000 + "deep text" + "</div>" * 5000
    assert readers.html_to_text(deep).strip() == "deep text"


# ----------------------------------------------------------------------------- prepare_batch: tables in, tables out


def test_prepare_batch_gives_a_store_runs_chunks_for_every_kind_of_batch(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import chunkwise

    docs = make_docs(12, duplicates=0)
    for i, doc in enumerate(docs):
        doc["lang"] = "en" if i % 2 else "de"
    store = prepare_store(write_jsonl(tmp_path / "s.jsonl", docs), tmp_path / "out" / "chunks.jsonl",
                          prepare_options=OPTIONS, store_dedup=False)
    expected = chunk_rows(store.output)

    rows = chunkwise.prepare_batch(docs, **OPTIONS)
    assert rows == expected  # the same chunks, ids and metadata as a store run

    table = chunkwise.prepare_batch(pa.Table.from_pylist(docs), **OPTIONS)
    assert table.schema == chunkwise.stores.chunk_schema()
    assert table.column("id").to_pylist() == [r["id"] for r in expected]
    assert [json.loads(m) for m in table.column("metadata").to_pylist()] == [r["metadata"] for r in expected]

    # Any split of the table gives the same chunks: each document is prepared on its own.
    halves = [chunkwise.prepare_batch(pa.Table.from_pylist(part), **OPTIONS) for part in (docs[:5], docs[5:])]
    assert pa.concat_tables(halves).equals(table)

    columns = chunkwise.prepare_batch({"id": [d["id"] for d in docs], "text": [d["text"] for d in docs]}, **OPTIONS)
    assert columns["text"] == [r["text"] for r in expected]


def test_prepare_batch_on_a_dask_dataframe_and_bad_rows(tmp_path):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    import chunkwise

    docs = make_docs(20, duplicates=0)
    frame = pd.DataFrame(docs)
    # The README's Dask DataFrame example: chunks of each partition, computed on the cluster.
    ddf = dd.from_pandas(frame, npartitions=3)
    meta = chunkwise.prepare_batch(frame.iloc[:0], **OPTIONS)
    chunks = ddf.map_partitions(chunkwise.prepare_batch, meta=meta, **OPTIONS).compute(scheduler="sync")
    assert chunks["id"].tolist() == [r["id"] for r in chunkwise.prepare_batch(docs, **OPTIONS)]
    assert list(chunks.columns) == list(chunkwise.stores.CHUNK_COLUMNS)

    bad = [{"id": "a", "text": "A fine document about quotas."}, {"id": "b", "text": 5}, {"id": "c"}]
    with pytest.raises(chunkwise.InputDataError, match="row 1"):
        chunkwise.prepare_batch(bad, **OPTIONS)
    with pytest.warns(chunkwise.ChunkwiseWarning) as caught:
        kept = chunkwise.prepare_batch(bad, errors="warn", **OPTIONS)
    assert {r["doc_id"] for r in kept} == {"a"} and len(caught) == 2
    with pytest.raises(chunkwise.InputTypeError):
        chunkwise.prepare_batch("not a batch")
    with pytest.raises(chunkwise.ConfigError, match="dedup"):
        chunkwise.prepare_batch(bad, dedup=True)


def test_the_dask_dataframe_example_runs(tmp_path):
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    example = Path(__file__).resolve().parents[1] / "examples" / "dask_dataframe.py"
    done = subprocess.run([sys.executable, str(example), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "documents ->" in done.stdout
    import pandas as pd

    written = pd.read_parquet(tmp_path / "chunks")
    assert len(written) > 0 and written["token_count"].max() <= 256


def test_stores_behind_fsspec_urls(tmp_path):
    fsspec = pytest.importorskip("fsspec")
    import gzip

    from chunkwise.cli import EXIT_DEPENDENCY, EXIT_INPUT, EXIT_OK, main
    from chunkwise.stores.sources import iter_documents

    docs = make_docs(12, duplicates=0)
    local = write_jsonl(tmp_path / "s.jsonl", docs)
    reference = prepare_store(local, tmp_path / "ref" / "chunks.jsonl", prepare_options=OPTIONS)
    memory = fsspec.filesystem("memory")
    memory.pipe("/bucket/store.jsonl.gz", gzip.compress(local.read_bytes()))
    memory.pipe("/bucket/folder/a.md", b"# Alpha\n\nThe first document of the folder.\n")
    memory.pipe("/bucket/folder/sub/b.txt", "Caf\u00e9 cr\u00e8me, the second one.\n".encode("latin-1"))
    memory.pipe("/bucket/folder/shard.jsonl", local.read_bytes())
    memory.pipe("/bucket/folder/skip.bin", b"\x00")
    try:
        remote = prepare_store("memory://bucket/store.jsonl.gz", tmp_path / "gz" / "chunks.jsonl", prepare_options=OPTIONS)
        assert remote.output.read_bytes() == reference.output.read_bytes()
        ids = [d.id for d in iter_documents("memory://bucket/folder")]
        assert ids == ["a.md", *[d["id"] for d in docs], "sub/b.txt"]
        second = next(d for d in iter_documents("memory://bucket/folder") if d.id == "sub/b.txt")
        assert second.text.startswith("Café crème") and second.metadata["path"] == memory.unstrip_protocol("/bucket/folder/sub/b.txt")
        assert main(["prepare", "memory://bucket/folder", "-o", str(tmp_path / "cli"), "-q"]) == EXIT_OK
        assert main(["prepare", "memory://bucket/missing.jsonl", "-o", str(tmp_path / "x"), "-q"]) == EXIT_INPUT
    finally:
        memory.rm("/bucket", recursive=True)
    # A protocol whose package is not installed is a missing dependency (exit 4), not "s3:/bucket does not exist".
    try:
        import s3fs  # noqa: F401
    except ImportError:
        assert main(["prepare", "s3://bucket/store.jsonl", "-o", str(tmp_path / "s3"), "-q"]) == EXIT_DEPENDENCY


def test_a_pyarrow_dataset_is_a_store(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    docs = make_docs(25, duplicates=0)
    reference = prepare_store(write_jsonl(tmp_path / "s.jsonl", docs), tmp_path / "ref" / "chunks.jsonl", prepare_options=OPTIONS)
    shards = tmp_path / "shards"
    shards.mkdir()
    for number, start in enumerate(range(0, 25, 10)):
        pq.write_table(pa.Table.from_pylist(docs[start : start + 10]), shards / f"part-{number}.parquet")
    dataset = ds.dataset(shards, format="parquet")
    summary = prepare_store(dataset, tmp_path / "out" / "chunks.jsonl", prepare_options=OPTIONS)
    assert summary.documents == 25 and summary.output.read_bytes() == reference.output.read_bytes()
    with pytest.raises(InputDataError, match="no column 'body'"):
        prepare_store(dataset, tmp_path / "bad" / "chunks.jsonl", prepare_options=OPTIONS, text_column="body")


def test_workers_write_their_own_parts_and_report_a_failed_write(tmp_path):
    from chunkwise.stores._engines import process_batch_into

    records = list(open_store(write_jsonl(tmp_path / "s.jsonl", make_docs(4, duplicates=0))).records())
    part = tmp_path / "part-x.jsonl"
    written = process_batch_into(records, OPTIONS, str(part))
    returned = process_batch(records, OPTIONS)
    assert part.read_bytes() == returned.part_bytes and written.part_bytes == b""
    assert written.written == len(returned.part_bytes) and written.done == returned.done
    failed = process_batch_into(records, OPTIONS, str(tmp_path / "no-such-folder" / "part-y.jsonl"))
    assert failed.write_error is not None and failed.write_error[0] == errno.ENOENT


def test_dask_runs_while_another_cluster_holds_the_dashboard_port(tmp_path):
    # Another Dask cluster (or one still closing) on 8787 must not turn into a warning, or an error.
    pytest.importorskip("distributed")
    import socket

    holder = socket.socket()
    try:
        holder.bind(("0.0.0.0", 8787))
        holder.listen()
    except OSError:
        pass  # something holds it already: the same situation
    try:
        summary = prepare_store(write_jsonl(tmp_path / "s.jsonl", make_docs(6, duplicates=0)), tmp_path / "out" / "chunks.jsonl",
                                engine="dask", workers=1, prepare_options=OPTIONS)
        assert summary.status == "ok" and summary.processed == 6
    finally:
        holder.close()
