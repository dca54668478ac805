"""Hostile stores and environments (issue 13, items 6-7): each ends in a quarantine entry or a clear exit code.

Bad documents (a link loop, an unreadable file or folder, an id that is not
valid Unicode, a damaged Parquet row group) are quarantined and the run goes
on. A bad option or output path is a usage error (exit 2) before any work; an
output that cannot be written is exit 5 with one line and the previous output
untouched. Workers die with their parent, and the files of a run are moved
into place as one commit.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from chunkwise.stores.batch import OutputPaths, prepare_store
from chunkwise.cli import EXIT_INPUT, EXIT_OK, EXIT_OUTPUT, EXIT_PARTIAL, EXIT_USAGE, main
from chunkwise.errors import ChunkwiseWarning, ConfigError, InputDataError, OutputError
from chunkwise.stores.sources import iter_documents

OPTIONS = {"max_tokens": 96}


def _text(i: int) -> str:
    return f"# Note {i}\n\nThe ledger for region {i} was audited in full. Quota {i * 7} was raised for tenant {i}.\n"


def _folder(root: Path, count: int = 3) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (root / f"doc{i}.md").write_text(_text(i), encoding="utf-8")
    return root


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _quarantine(out: Path) -> dict[str, str]:
    return {q["doc_id"]: q["reason"] for q in _rows(OutputPaths.for_output(out, None).sidecar(".quarantine.jsonl"))}


def _prepare(store: Path, out: Path, *extra: str) -> int:
    return main(["prepare", str(store), "-o", str(out), "-q", "--max-tokens", "96", *extra])


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def _run_outputs(out: Path) -> dict[str, bytes]:
    """The files a run shows its readers (the summary's timing aside)."""
    paths = OutputPaths.for_output(out, None)
    files = [p for p in paths.visible if p.exists()]
    return {p.name: p.read_bytes() for p in files if not p.name.endswith(".summary.json")}


# ----------------------------------------------------------------------------- bad documents are quarantined


def test_a_link_loop_is_quarantined_and_the_run_goes_on(tmp_path, capsys):
    root = _folder(tmp_path / "docs")
    (root / "loop.md").symlink_to("loop.md")
    (root / "gone.md").symlink_to("nowhere.md")
    assert _prepare(root, tmp_path / "out") == EXIT_PARTIAL
    assert _quarantine(tmp_path / "out") == {"gone.md": "unreadable", "loop.md": "symlink_loop"}
    assert {r["doc_id"] for r in _rows(tmp_path / "out" / "chunks.jsonl")} == {"doc0.md", "doc1.md", "doc2.md"}


def test_a_folder_link_back_to_its_parent_is_walked_once_with_follow_symlinks(tmp_path):
    root = _folder(tmp_path / "docs")
    (root / "sub").mkdir()
    (root / "sub" / "inner.md").write_text(_text(9), encoding="utf-8")
    (root / "sub" / "up").symlink_to("..")  # docs/sub/up -> docs: a loop once links are followed
    summary = prepare_store(root, tmp_path / "out", prepare_options=OPTIONS, follow_symlinks=True)
    assert _quarantine(summary.output) == {"sub/up/": "symlink_loop"}
    assert {r["doc_id"] for r in _rows(summary.output)} == {"doc0.md", "doc1.md", "doc2.md", "sub/inner.md"}


def test_unreadable_file_and_folder_are_quarantined(tmp_path, monkeypatch):
    root = _folder(tmp_path / "docs")
    (root / "locked").mkdir()
    (root / "locked" / "x.md").write_text(_text(5), encoding="utf-8")
    (root / "secret.md").write_text(_text(6), encoding="utf-8")
    real_read, real_scandir = Path.read_bytes, os.scandir

    def read_bytes(path):
        if path.name == "secret.md":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_read(path)

    def scandir(path="."):
        if isinstance(path, (str, os.PathLike)) and Path(path).name == "locked":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr("chunkwise.stores.sources.os.scandir", scandir)
    summary = prepare_store(root, tmp_path / "out", prepare_options=OPTIONS)
    assert _quarantine(summary.output) == {"locked/": "unreadable", "secret.md": "unreadable"}
    detail = _rows(Path(summary.files["quarantine"]))[0]["detail"]
    assert "Permission denied" in detail and "permissions" in detail
    assert summary.documents == 3


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_and_folder_by_permissions(tmp_path):
    root = _folder(tmp_path / "docs")
    (root / "secret.md").write_text(_text(6), encoding="utf-8")
    (root / "locked").mkdir()
    (root / "secret.md").chmod(0)
    (root / "locked").chmod(0)
    try:
        assert _prepare(root, tmp_path / "out") == EXIT_PARTIAL
        assert _quarantine(tmp_path / "out") == {"locked/": "unreadable", "secret.md": "unreadable"}
    finally:
        (root / "locked").chmod(0o755)


def test_an_id_that_is_not_valid_unicode_is_quarantined(tmp_path, capsys):
    store = tmp_path / "s.jsonl"
    store.write_text('{"id": "a\\ud800", "text": "Hello there, world."}\n' + json.dumps({"id": "b", "text": _text(1)})
                     + "\n", encoding="utf-8")
    assert _prepare(store, tmp_path / "out") == EXIT_PARTIAL
    assert _quarantine(tmp_path / "out") == {"a\\ud800": "bad_id"}
    assert {r["doc_id"] for r in _rows(tmp_path / "out" / "chunks.jsonl")} == {"b"}


def test_a_file_name_that_is_not_utf8_is_quarantined(tmp_path):
    root = _folder(tmp_path / "docs", 1)
    try:
        with open(os.fsencode(root) + b"/caf\xe9.md", "wb") as handle:
            handle.write(b"Latin-1 name.\n")
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    summary = prepare_store(root, tmp_path / "out", prepare_options=OPTIONS)
    assert _quarantine(summary.output) == {"caf\\udce9.md": "bad_id"}
    assert [r["doc_id"] for r in _rows(summary.output)] == ["doc0.md"]


def _parquet_with_a_damaged_row_group(path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    ids = [f"d{i:02d}" for i in range(30)]
    pq.write_table(pa.table({"id": ids, "text": [_text(i) for i in range(30)]}), path, row_group_size=10)
    column = pq.ParquetFile(path).metadata.row_group(1).column(1)
    start = column.dictionary_page_offset or column.data_page_offset
    data = bytearray(path.read_bytes())
    data[start + 20:start + column.total_compressed_size - 5] = b"Z" * (column.total_compressed_size - 25)
    path.write_bytes(bytes(data))


def test_a_damaged_parquet_row_group_is_quarantined_and_the_others_are_read(tmp_path):
    store = tmp_path / "s.parquet"
    _parquet_with_a_damaged_row_group(store)
    assert _prepare(store, tmp_path / "out") == EXIT_PARTIAL
    assert _quarantine(tmp_path / "out") == {"row-group-1": "unreadable"}
    detail = _rows(tmp_path / "out" / "chunks.jsonl.quarantine.jsonl")[0]["detail"]
    assert "rows 11-20" in detail
    kept = {r["doc_id"] for r in _rows(tmp_path / "out" / "chunks.jsonl")}
    assert kept == {f"d{i:02d}" for i in (*range(10), *range(20, 30))}


def test_a_file_that_is_not_parquet_is_exit_3_on_one_line(tmp_path, capsys):
    store = tmp_path / "s.parquet"
    store.write_bytes(b"PAR1 this is not a parquet file")
    assert _prepare(store, tmp_path / "out") == EXIT_INPUT
    assert "not a readable Parquet file" in _one_line_error(capsys)


# ----------------------------------------------------------------------------- options checked before any work


def test_a_cap_no_character_fits_is_a_usage_error_before_any_work(tmp_path, capsys):
    root = _folder(tmp_path / "docs", 40)
    out = tmp_path / "out"
    assert _prepare(root, out, "--max-tokens", "5") == EXIT_USAGE
    assert "max_tokens=5" in _one_line_error(capsys)
    assert not out.exists()  # nothing was listed, processed or quarantined
    with pytest.raises(ConfigError, match="unexpected keyword"):
        prepare_store(root, out, prepare_options={"max_tokenz": 96})


def test_an_output_inside_the_store_is_refused(tmp_path, capsys):
    root = _folder(tmp_path / "docs")
    assert _prepare(root, root / "out") == EXIT_USAGE
    assert "inside the store" in _one_line_error(capsys)
    assert sorted(p.name for p in root.iterdir()) == ["doc0.md", "doc1.md", "doc2.md"]
    store = _jsonl(tmp_path / "s.jsonl", [{"id": "a", "text": _text(1)}])
    assert _prepare(store, store) == EXIT_USAGE
    assert "overwrite the store" in _one_line_error(capsys)
    assert _rows(store) == [{"id": "a", "text": _text(1)}]


def test_an_output_of_unknown_format_is_refused_and_a_dotted_folder_needs_a_slash(tmp_path, capsys):
    store = _jsonl(tmp_path / "s.jsonl", [{"id": "a", "text": _text(1)}])
    assert _prepare(store, tmp_path / "out.txt") == EXIT_USAGE
    assert ".jsonl or .parquet" in _one_line_error(capsys)
    assert not (tmp_path / "out.txt").exists()
    assert main(["prepare", str(store), "-o", f"{tmp_path / 'run.v2'}{os.sep}", "-q"]) == EXIT_OK
    assert (tmp_path / "run.v2" / "chunks.jsonl").is_file()


def test_jsonl_and_parquet_outputs_in_one_folder_keep_their_own_sidecars(tmp_path):
    pytest.importorskip("pyarrow")
    store = _jsonl(tmp_path / "s.jsonl", [{"id": f"d{i}", "text": _text(i)} for i in range(3)])
    assert _prepare(store, tmp_path / "x" / "chunks.jsonl") == EXIT_OK
    store.write_text(store.read_text(encoding="utf-8") + "{broken\n", encoding="utf-8")
    assert _prepare(store, tmp_path / "x" / "chunks.parquet") == EXIT_PARTIAL
    as_jsonl = OutputPaths.for_output(tmp_path / "x" / "chunks.jsonl", None)
    as_parquet = OutputPaths.for_output(tmp_path / "x" / "chunks.parquet", None)
    assert not set(as_jsonl.visible) & set(as_parquet.visible)
    assert _rows(as_jsonl.sidecar(".quarantine.jsonl")) == []
    assert [q["reason"] for q in _rows(as_parquet.sidecar(".quarantine.jsonl"))] == ["parse_error"]


# ----------------------------------------------------------------------------- the output cannot be written


def _runs_once(tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    store = _jsonl(tmp_path / "s.jsonl", [{"id": f"d{i}", "text": _text(i)} for i in range(6)])
    out = tmp_path / "out" / "chunks.jsonl"
    assert _prepare(store, out) == EXIT_OK
    _jsonl(store, [{"id": f"d{i}", "text": _text(i + 100)} for i in range(6)])  # the next run changes every file
    return store, out, _run_outputs(out)


def _no_temporaries(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if ".tmp-" in p.name]


def test_a_full_disk_while_assembling_is_exit_5_and_the_previous_output_stays(tmp_path, monkeypatch, capsys):
    from chunkwise.stores.sources import ChunkWriter

    store, out, before = _runs_once(tmp_path)
    real_write = ChunkWriter.write

    def write(self, chunk):
        if self.rows >= 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.tmp))
        real_write(self, chunk)

    monkeypatch.setattr(ChunkWriter, "write", write)
    assert _prepare(store, out) == EXIT_OUTPUT
    assert "disk is full" in _one_line_error(capsys)
    assert _run_outputs(out) == before and _no_temporaries(out.parent)
    monkeypatch.undo()
    assert _prepare(store, out) == EXIT_OK and _run_outputs(out) != before


def test_a_full_disk_while_writing_a_part_leaves_no_partial_part(tmp_path, monkeypatch, capsys):
    store, out, before = _runs_once(tmp_path)
    real_open = Path.open

    def open_(path, mode="r", *args, **kwargs):
        if ".tmp-" in path.name and path.name.startswith(".part-") and "w" in mode:
            handle = real_open(path, mode, *args, **kwargs)
            handle.write(b"half a part")
            handle.close()
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)
    assert _prepare(store, out) == EXIT_OUTPUT
    _one_line_error(capsys)
    assert _run_outputs(out) == before and _no_temporaries(out.parent)


def test_a_read_only_output_is_exit_5_on_one_line(tmp_path, monkeypatch, capsys):
    store = _jsonl(tmp_path / "s.jsonl", [{"id": "a", "text": _text(1)}])
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    assert _prepare(store, blocker / "out" / "chunks.jsonl") == EXIT_OUTPUT
    assert "cannot write the output" in _one_line_error(capsys)

    def read_only(path, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(Path, "mkdir", read_only)
    with pytest.raises(OutputError, match="Read-only file system"):
        prepare_store(store, tmp_path / "ro" / "chunks.jsonl", prepare_options=OPTIONS)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_output_folder_by_permissions(tmp_path, capsys):
    store, out, before = _runs_once(tmp_path)
    out.parent.chmod(0o555)
    try:
        assert _prepare(store, out) == EXIT_OUTPUT
        _one_line_error(capsys)
        assert _run_outputs(out) == before
    finally:
        out.parent.chmod(0o755)


def test_report_html_to_a_bad_path_is_exit_5_on_one_line(tmp_path, capsys):
    store = _jsonl(tmp_path / "s.jsonl", [{"id": "a", "text": _text(1)}])
    assert _prepare(store, tmp_path / "out") == EXIT_OK
    (tmp_path / "a-folder.html").mkdir()
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    for bad in (tmp_path / "a-folder.html", tmp_path / "a-file" / "r.html"):
        assert main(["report", str(tmp_path / "out"), "--html", str(bad)]) == EXIT_OUTPUT
        assert "cannot write" in _one_line_error(capsys)
        assert main(["audit", str(store), "-q", "--html", str(bad)]) == EXIT_OUTPUT
        assert "cannot write" in _one_line_error(capsys)
    assert main(["report", str(tmp_path / "out"), "--html", str(tmp_path / "new" / "r.html")]) == EXIT_OK
    assert (tmp_path / "new" / "r.html").read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


# ----------------------------------------------------------------------------- audit and prepare agree


def test_audit_quarantines_a_duplicate_id_as_prepare_does(tmp_path, capsys):
    store = _jsonl(tmp_path / "s.jsonl", [{"id": "a", "text": _text(1)}, {"id": "a", "text": _text(2)},
                                          {"id": "b", "text": _text(3)}])
    assert main(["audit", str(store), "--json"]) == EXIT_PARTIAL
    captured = capsys.readouterr()
    assert json.loads(captured.out)["documents"] == 2
    assert "a: duplicate_id" in captured.err
    assert _prepare(store, tmp_path / "out") == EXIT_PARTIAL
    assert [(q["doc_id"], q["reason"]) for q in _rows(tmp_path / "out" / "chunks.jsonl.quarantine.jsonl")] == [
        ("a", "duplicate_id")]


# ----------------------------------------------------------------------------- links out of the store


def test_follow_symlinks_reads_links_out_of_the_store_when_asked(tmp_path, capsys):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for name, i in (("a.md", 10), ("b.md", 11)):
        (outside / name).write_text(_text(i), encoding="utf-8")
    root = _folder(tmp_path / "docs", 1)
    (root / "linked.md").symlink_to(outside / "b.md")
    (root / "shelf").symlink_to(outside)
    assert _prepare(root, tmp_path / "out") == EXIT_PARTIAL
    assert _quarantine(tmp_path / "out") == {"linked.md": "outside_store", "shelf/": "outside_store"}
    assert _prepare(root, tmp_path / "out2", "--follow-symlinks") == EXIT_OK
    assert {r["doc_id"] for r in _rows(tmp_path / "out2" / "chunks.jsonl")} == {"doc0.md", "linked.md", "shelf/a.md"}
    summary = prepare_store(root, tmp_path / "out3", prepare_options=OPTIONS, follow_symlinks=True)
    assert summary.quarantined == 0 and summary.documents == 4
    assert [d.id for d in iter_documents(root, follow_symlinks=True)] == ["doc0.md", "linked.md", "shelf/a.md", "shelf/b.md"]
    with pytest.raises(InputDataError, match="outside_store"):
        list(iter_documents(root, errors="raise"))
    with pytest.warns(ChunkwiseWarning) as caught:
        assert [d.id for d in iter_documents(root)] == ["doc0.md"]
    assert [str(w.message).split(":")[:2] for w in caught] == [["linked.md", " outside_store"], ["shelf/", " outside_store"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [d.id for d in iter_documents(root, errors="skip")] == ["doc0.md"]


# ----------------------------------------------------------------------------- workers and commits


def test_workers_die_with_their_parent(tmp_path):
    psutil = pytest.importorskip("psutil")
    long_text = "Sentence about ledgers, quotas and tenants in every region of the cluster. " * 300
    store = _jsonl(tmp_path / "s.jsonl", [{"id": f"d{i}", "text": f"{i} {long_text}"} for i in range(400)])
    command = [sys.executable, "-m", "chunkwise.cli", "prepare", str(store), "-o", str(tmp_path / "out"), "-q",
               "--workers", "2", "--batch-size", "2"]
    parent = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        workers = []
        while time.monotonic() < deadline and parent.poll() is None:
            workers = [p for p in psutil.Process(parent.pid).children() if "spawn_main" in " ".join(p.cmdline())]
            if len(workers) >= 2:
                break
            time.sleep(0.1)
        assert len(workers) >= 2, "the workers did not start"
        time.sleep(1.0)  # let them take a batch each
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()

    def running(process) -> bool:  # a zombie has died; only a parent that is gone could reap it
        try:
            return process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + 10
    while any(running(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [p for p in workers if running(p)]
    for process in alive:
        process.kill()
    assert not alive, f"workers {[p.pid for p in alive]} outlived their parent"


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (no except Exception)."""


@pytest.mark.parametrize("kill_at", range(8))
def test_a_kill_at_any_point_of_the_commit_leaves_one_runs_files(tmp_path, monkeypatch, kill_at):
    """After the kill, what a reader is shown (chunkwise report / the next run finish a decided commit) is one run's."""
    store, out, before = _runs_once(tmp_path)
    reference = tmp_path / "reference" / "chunks.jsonl"
    assert _prepare(store, reference) == EXIT_OK
    after = _run_outputs(reference)
    paths = OutputPaths.for_output(out, None)
    watched = {p.name for p in paths.visible} | {paths.journal.name}
    real_replace = os.replace
    moved = []

    def replace(source, target, *args, **kwargs):
        if Path(target).name in watched:
            if len(moved) == kill_at:
                raise _Killed
            moved.append(Path(target).name)
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(_Killed):
        prepare_store(store, out, prepare_options=OPTIONS)
    monkeypatch.undo()
    assert moved[:1] in ([], ["commit.json"])  # the journal is the commit point: nothing is moved before it
    assert paths.journal.exists() == (kill_at > 0)
    assert main(["report", str(out), "--json"]) == EXIT_OK  # finishes a decided commit first
    assert _run_outputs(out) == (before if kill_at == 0 else after)
    assert _prepare(store, out) == EXIT_OK and _run_outputs(out) == after and _no_temporaries(out.parent)
