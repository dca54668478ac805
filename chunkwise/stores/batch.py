"""Prepare a whole document store: streaming, in parallel (processes or Dask), resumable and incremental.

``prepare_store(store, output)`` reads the store in order, skips documents
whose content was already processed with the same configuration, sends the
rest in batches to workers, and assembles the output in store order.

Why per document: every document goes through ``chunkwise.prepare`` on its
own (with ``dedup=False``), so its record is a pure function of its content
and the configuration. That is what makes skipping unchanged documents
correct, local and Dask output byte-identical, and a resumed job equal to an
uninterrupted one. Duplicates *across* documents are removed afterwards, in
one ordered pass over the whole store (``store_dedup``): a chunk whose text,
whitespace-collapsed and lower-cased, equals an earlier chunk's is dropped and
recorded with the kept copy. That pass is recomputed on every run, so it
stays correct when documents change, appear or disappear.

Layout for ``output = OUT/chunks.jsonl`` (or ``.parquet``; every sidecar is
named after the whole chunk file, so a JSONL and a Parquet output can share a
folder)::

    OUT/chunks.jsonl                      the chunks, in store order (Chunk.to_dict per line)
    OUT/chunks.jsonl.removed.jsonl        store-wide duplicates: Removed.to_dict per line
    OUT/chunks.jsonl.quarantine.jsonl     {"position", "doc_id", "reason", "detail"} per line
    OUT/chunks.jsonl.report.json/.txt/.html  the Report over the whole store
    OUT/chunks.jsonl.summary.json         this run's counts and run_id
    OUT/chunks.jsonl.state/               manifest.sqlite (see chunkwise.stores.manifest), parts/, commit.json

Part files are written atomically before the manifest points to them. The
visible files of a run are staged under temporary names and committed
together: a journal (``commit.json``) naming them is written first, then each
is renamed into place. ``kill -9`` before the journal leaves the previous
run's files; after it, the next run (or ``chunkwise report``) finishes the
renames, so no reader is shown one run's report beside another's chunks.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .._types import Removed
from ..errors import ChunkwiseError, ConfigError, InputDataError, MissingDependencyError, OutputError
from .manifest import DoneDocument, Manifest, QuarantinedDocument
from .sources import (
    DEFAULT_MAX_DOCUMENT_BYTES,
    ChunkWriter,
    OutputFormat,
    Store,
    StoreRecord,
    fsync_directory,
    escape_surrogates,
    open_store,
    os_error_reason,
    record_document,
    with_unique_ids,
    write_atomically,
    write_durably,
)
from .._options import resolve_tokenizer
from .._version import __version__
from ..chunking.chunker import ChunkConfig
from ..duplicates.removal import normalize_unit
from ..pipeline import prepare
from ..reporting.report import DocumentRow, EXCERPT_CHARS, REMOVED_EXAMPLES, RemovedExample, Report, SplitStats, TOP_DOCUMENTS
from ..reporting.scenarios import checked_report_config, economics, resolve
from ..tokens import content_budget

Engine = Literal["local", "dask"]
# 2: a document's report carries its naive window lengths and its windows without overlap.
PART_FORMAT_VERSION = "2"
# Report fields that describe the configuration, not the documents: equal in every piece.
_REPORT_SETTINGS = frozenset({"tokenizer", "max_tokens", "naive_overlap", "naive_overlap_set"})
# Report fields that cannot be summed over documents; recomputed or left out for a store.
_REPORT_RECOMPUTED = frozenset({"prepared", "economics", "documents", "top_documents", "removed_examples"})
_OPEN_PARTS = 32


@dataclass(frozen=True)
class BatchConfig:
    """How a store is processed (not what is done to each document: that is ``prepare``'s options).

    ``batch_size`` documents (or ``batch_bytes`` of payload, whichever comes
    first) go to a worker at once; at most ``in_flight`` batches (default
    2 x workers) are out at a time, which bounds memory. ``engine="dask"``
    uses ``scheduler`` (an address or a ``distributed.Client``) or, when it
    is None, a LocalCluster of ``workers`` single-threaded processes.
    ``follow_symlinks`` lets a folder store read links that lead out of it.
    """

    engine: Engine = "local"
    workers: int = 1
    scheduler: Any = None
    batch_size: int = 64
    batch_bytes: int = 16 * 1024 * 1024
    in_flight: int | None = None
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    output_format: OutputFormat | None = None
    store_dedup: bool = True
    min_dedup_chars: int = 24
    id_column: str = "id"
    text_column: str = "text"
    follow_symlinks: bool = False

    def __post_init__(self) -> None:
        if self.engine not in ("local", "dask"):
            raise ConfigError(f"engine must be 'local' or 'dask', got {self.engine!r}")
        for name in ("workers", "batch_size", "batch_bytes", "max_document_bytes", "min_dedup_chars"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        if self.in_flight is not None and self.in_flight < 1:
            raise ConfigError(f"in_flight must be >= 1, got {self.in_flight}")
        if self.output_format not in (None, "jsonl", "parquet"):
            raise ConfigError(f"output_format must be 'jsonl' or 'parquet', got {self.output_format!r}")
        if self.scheduler is not None and self.engine != "dask":
            raise ConfigError("scheduler= is for engine='dask'")

    @property
    def max_in_flight(self) -> int:
        return self.in_flight or 2 * self.workers


@dataclass(frozen=True)
class Progress:
    """A progress update, sent to the ``progress`` callback after every batch and during assembly."""

    phase: Literal["processing", "assembling", "done"]
    listed: int
    processed: int
    skipped: int
    quarantined: int
    bytes_read: int
    total_bytes: int | None
    chunks: int = 0


@dataclass(frozen=True)
class BatchSummary:
    """What a run did. ``status`` is "ok", or "partial" when some documents are quarantined.

    ``processed`` documents went through ``prepare`` in this run; ``skipped``
    were unchanged since an earlier run; ``forgotten`` were in the output
    before and are no longer in the store; ``reset`` says the configuration
    changed, so earlier results were discarded. ``run_id`` names the commit
    that put this run's files in place (it is in the summary file too).
    """

    output: Path
    documents: int
    processed: int
    skipped: int
    quarantined: int
    forgotten: int
    chunks: int
    removed: int
    bytes_read: int
    seconds: float
    engine: str
    workers: int
    reset: bool
    files: dict[str, str] = field(default_factory=dict)
    run_id: str = ""

    @property
    def status(self) -> Literal["ok", "partial"]:
        return "partial" if self.quarantined else "ok"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["output"] = str(self.output)
        data["status"] = self.status
        data["seconds"] = round(self.seconds, 3)
        return data


@dataclass(frozen=True)
class BatchOutcome:
    """What a worker returns for one batch: the part file's bytes and where each document's record is."""

    part_bytes: bytes
    done: list[tuple[str, str, int, int]]
    quarantined: list[tuple[str, str, str, str]]


# ----------------------------------------------------------------------------- worker side


def _classify(err: Exception) -> str:
    if isinstance(err, UnicodeError):
        return "undecodable"
    if isinstance(err, (ValueError, AssertionError)) and not isinstance(err, ChunkwiseError):
        return "parse_error"
    return "error"


def process_batch(records: list[StoreRecord], prepare_options: dict[str, Any]) -> BatchOutcome:
    """Run ``prepare`` on each record on its own; one JSON line per document (the part file's bytes).

    A document that fails (undecodable bytes, a parse error, anything its
    stages raise) is quarantined with its reason; the rest of the batch goes on.
    """

    lines: list[bytes] = []
    done: list[tuple[str, str, int, int]] = []
    quarantined: list[tuple[str, str, str, str]] = []
    offset = 0
    for record in records:
        try:
            document = record_document(record)
            result = prepare([document], dedup=False, report_config=False, **prepare_options)
            report = dataclasses.asdict(result.report)
            for name in _REPORT_RECOMPUTED:
                report.pop(name, None)
            line = json.dumps(
                {
                    "doc_id": record.doc_id,
                    "chunks": [chunk.to_dict() for chunk in result.chunks],
                    "removed": [entry.to_dict() for entry in result.removed],
                    "report": report,
                },
                ensure_ascii=False,
                separators=(",", ":"),
            ).encode("utf-8")
        except UnicodeDecodeError as err:
            quarantined.append((record.doc_id, record.content_hash, "undecodable", f"not valid UTF-8 ({err})"))
            continue
        # One bad document must not stop a store of millions: anything it raises quarantines it.
        except Exception as err:  # noqa: BLE001
            detail = escape_surrogates(f"{type(err).__name__}: {err}"[:2000])
            quarantined.append((record.doc_id, record.content_hash, _classify(err), detail))
            continue
        lines.append(line + b"\n")
        done.append((record.doc_id, record.content_hash, offset, len(line)))
        offset += len(line) + 1
    return BatchOutcome(b"".join(lines), done, quarantined)


# ----------------------------------------------------------------------------- engines


class _InlineEngine:
    """One worker: run batches in this process (no pickling, no pool start-up)."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        from concurrent.futures import Future

        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as err:  # noqa: BLE001 - handed to the caller through the future, as a pool would
            future.set_exception(err)
        return future

    def wait_first(self, futures: Iterable[Any]) -> set[Any]:
        return set(futures)

    def close(self) -> None:
        pass


_PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


def _die_with_parent(parent: int) -> None:
    """Worker initializer: end this process when the coordinating one dies, even by ``kill -9``.

    Linux delivers SIGKILL on the parent's death (``PR_SET_PDEATHSIG``);
    elsewhere a daemon thread polls for a new parent. Either way a parent
    that died before this ran is noticed at once.
    """
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl (an unusual libc): the watchdog below still works
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="chunkwise-parent-watch", daemon=True).start()


class _ProcessEngine:
    """A pool of worker processes (spawned: no inherited threads or open databases) that die with this one."""

    def __init__(self, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_die_with_parent, initargs=(os.getpid(),))

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._pool.submit(fn, *args)

    def wait_first(self, futures: Iterable[Any]) -> set[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait

        return wait(list(futures), return_when=FIRST_COMPLETED).done

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _DaskEngine:
    """Dask distributed: an existing scheduler (address or Client) or a LocalCluster started here."""

    def __init__(self, scheduler: Any, workers: int) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as err:
            raise MissingDependencyError("engine='dask' needs dask.distributed: pip install 'chunkwise[dask]'") from err
        self._cluster = None
        self._own_client = True
        if scheduler is None:
            self._cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            self._client = Client(self._cluster)
        elif isinstance(scheduler, Client):
            self._client, self._own_client = scheduler, False
        else:
            self._client = Client(scheduler)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        # pure=False: two batches with equal arguments are still two tasks (results are not shared by key).
        return self._client.submit(fn, *args, pure=False)

    def wait_first(self, futures: Iterable[Any]) -> set[Any]:
        from distributed import wait

        return set(wait(list(futures), return_when="FIRST_COMPLETED").done)

    def close(self) -> None:
        if self._own_client:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def _engine(config: BatchConfig) -> Any:
    if config.engine == "dask":
        return _DaskEngine(config.scheduler, config.workers)
    return _InlineEngine() if config.workers == 1 else _ProcessEngine(config.workers)


# ----------------------------------------------------------------------------- output paths and state


_SIDECAR_NAMES = {"removed": ".removed.jsonl", "quarantine": ".quarantine.jsonl", "report_json": ".report.json",
                  "report_text": ".report.txt", "report_html": ".report.html", "summary": ".summary.json"}
SIDECARS = tuple(_SIDECAR_NAMES.values())


@dataclass(frozen=True)
class OutputPaths:
    """Where a run writes: the chunk file, its sidecars and the state folder.

    Sidecars and state are named after the whole chunk file name
    (``chunks.jsonl.report.json``), so ``x/chunks.jsonl`` and
    ``x/chunks.parquet`` never share them.
    """

    chunks: Path
    output_format: OutputFormat

    def sidecar(self, suffix: str) -> Path:
        return self.chunks.with_name(self.chunks.name + suffix)

    @property
    def visible(self) -> list[Path]:
        """Every file a run writes beside the chunk file."""
        return [self.chunks, *(self.sidecar(suffix) for suffix in SIDECARS)]

    def remove_stale_temporaries(self) -> None:
        """Temporary files a killed run left (hidden, never mistaken for output, but still litter)."""
        for path in self.visible:
            for stale in path.parent.glob(f".{path.name}.tmp-*"):
                stale.unlink(missing_ok=True)

    @property
    def state(self) -> Path:
        return self.chunks.with_name(self.chunks.name + ".state")

    @property
    def parts(self) -> Path:
        return self.state / "parts"

    @property
    def journal(self) -> Path:
        """The commit record: while it exists, the files it names are being moved into place."""
        return self.state / "commit.json"

    def finish_interrupted_commit(self) -> bool:
        """Complete a commit a killed run had decided on (its journal is written); True if there was one.

        Safe to call while a run is committing too: every step is a rename
        that is skipped when it has been done.
        """
        try:
            journal = json.loads(self.journal.read_bytes())
        except FileNotFoundError:
            return False
        _roll_forward(self.chunks.parent, journal["files"])
        self.journal.unlink(missing_ok=True)
        fsync_directory(self.state)
        return True

    @classmethod
    def for_output(cls, output: str | os.PathLike[str], output_format: OutputFormat | None) -> OutputPaths:
        """The paths for ``-o output``: a .jsonl or .parquet file, or a folder (existing, or named with no suffix)."""
        path = Path(output)
        if path.is_dir() or not path.suffix or str(output).endswith(os.sep):
            path = path / f"chunks.{output_format or 'jsonl'}"
        detected = path.suffix.lower().lstrip(".")
        if detected not in ("jsonl", "parquet"):
            raise ConfigError(
                f"output {path} must end in .jsonl or .parquet (the chunk file's format), or name a folder "
                f"(end it with {os.sep} when its name has a dot)"
            )
        if output_format is not None and output_format != detected:
            raise ConfigError(f"output {path} has suffix .{detected} but output_format={output_format!r}")
        return cls(path, output_format or detected)


def _roll_forward(folder: Path, files: list[list[str]]) -> None:
    """Move each staged temporary file onto its final name, in order; a rename already done is skipped.

    A temporary that is gone without having been moved (removed by hand) is
    skipped too: the next run writes every file again.
    """
    for temporary, final in files:
        try:
            os.replace(folder / temporary, folder / final)
        except FileNotFoundError:
            pass
    fsync_directory(folder)


class _Commit:
    """The files of one run, staged under temporary names and then moved into place as one commit.

    ``commit`` first writes a journal naming every (temporary, final) pair,
    then renames. A kill before the journal leaves the previous run's files
    untouched (the temporaries are removed on the next start); a kill after
    it is finished by ``OutputPaths.finish_interrupted_commit``, which the next
    run and ``chunkwise report`` call first. So a reader never sees a new
    report beside an old chunk file.
    """

    def __init__(self, paths: OutputPaths, run_id: str) -> None:
        self._paths = paths
        self.run_id = run_id
        self._staged: list[tuple[Path, Path]] = []

    def temporary(self, final: Path) -> Path:
        """The temporary name ``final`` is staged under (the caller writes and fsyncs it)."""
        temporary = final.with_name(f".{final.name}.tmp-{self.run_id}")
        self._staged.append((temporary, final))
        return temporary

    def stage(self, final: Path, data: bytes) -> None:
        write_durably(self.temporary(final), data)

    def commit(self) -> None:
        files = [[temporary.name, final.name] for temporary, final in self._staged]
        fsync_directory(self._paths.chunks.parent)  # the staged files' names are durable before the journal
        write_atomically(self._paths.journal, json.dumps({"run_id": self.run_id, "files": files}).encode())
        self._staged.clear()
        self._paths.finish_interrupted_commit()

    def abort(self) -> None:
        """Remove what was staged (only before ``commit``: after it, the journal finishes the job)."""
        for temporary, _ in self._staged:
            temporary.unlink(missing_ok=True)
        self._staged.clear()


class _StateLock:
    """An exclusive lock on the state folder: two runs must not write one output.

    ``filelock`` (flock on POSIX, msvcrt on Windows), so ``import chunkwise`` needs no
    POSIX-only module.
    """

    def __init__(self, state: Path) -> None:
        from filelock import FileLock, Timeout

        state.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(state / "lock", timeout=0)
        try:
            self._lock.acquire()
        except Timeout as err:
            raise InputDataError(f"another chunkwise run is writing {state.parent}; wait for it or use another -o") from err

    def release(self) -> None:
        self._lock.release()


def _remove_orphans(parts_dir: Path, known: set[str]) -> None:
    """Part files no committed batch points to (a crash between write and commit), and temporary files."""
    for path in parts_dir.iterdir():
        if path.name not in known:
            path.unlink(missing_ok=True)


def _fingerprint(prepare_options: dict[str, Any], tokenizer_name: str) -> str:
    options = {key: value for key, value in prepare_options.items() if key not in ("tokenizer", "model")}
    described = json.dumps(
        {"chunkwise": __version__, "part_format": PART_FORMAT_VERSION, "tokenizer": tokenizer_name,
         "model": prepare_options.get("model"), "options": options},
        sort_keys=True,
        default=repr,
    )
    return hashlib.blake2b(described.encode(), digest_size=16).hexdigest()


def _resolve_options(prepare_options: dict[str, Any]) -> tuple[dict[str, Any], str, list[str], Any]:
    """Options for the workers, the tokenizer's name, report notes (a model fallback warns once, here), and the
    report's resolved economics assumptions (None when ``report_config=False``), checked before any work.
    """

    options = dict(prepare_options)
    if "dedup" in options:
        raise ConfigError("dedup= is not a per-document option in batch mode; use BatchConfig(store_dedup=...)")
    # The economics are of the whole store's chunk lengths: computed once, at assembly, never per document.
    economics_options = {name: options.pop(name) for name in _ECONOMICS_OPTIONS if name in options}
    report_config = checked_report_config(economics_options.pop("report_config", None), options.get("model"), **economics_options)
    resolved = resolve(report_config, model_hint=options.get("model")) if report_config.economics else None
    if "docs" in options:
        raise ConfigError("prepare_options take prepare()'s keyword options (max_tokens=..., tokenizer=...), not docs")
    config = options.get("config")
    special = bool(options.get("special_tokens", False) if config is None else config.special_tokens)
    counter, notes = resolve_tokenizer(options.get("tokenizer"), options.get("model"), special)
    if notes:  # the model's tokenizer is missing: workers count with the default and do not warn again
        options["model"] = None
        options["tokenizer"] = None
    _check_options(options, counter)
    return options, counter.name, notes, resolved


def _check_options(options: dict[str, Any], counter: Any) -> None:
    """Check every option once, before any work: a bad one is a ConfigError now, not a quarantine of every document."""

    try:
        prepare([], dedup=False, report_config=False, **{**options, "tokenizer": counter, "model": None})
    except TypeError as err:  # an unknown keyword
        if isinstance(err, ChunkwiseError):
            raise
        raise ConfigError(f"prepare_options: {err}") from err
    config = options.get("config") or ChunkConfig(max_tokens=options.get("max_tokens", ChunkConfig.max_tokens))
    content_budget(counter, config.max_tokens)  # a cap no single character can meet


# ----------------------------------------------------------------------------- the run


def _batches(
    records: Iterator[tuple[int, StoreRecord]], batch_size: int, batch_bytes: int
) -> Iterator[list[StoreRecord]]:
    batch: list[StoreRecord] = []
    size = 0
    for _, record in records:
        batch.append(record)
        size += record.size
        if len(batch) >= batch_size or size >= batch_bytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _part_name(fingerprint: str, batch: list[StoreRecord]) -> str:
    digest = hashlib.blake2b(fingerprint.encode(), digest_size=12)
    for record in batch:
        digest.update(record.doc_id.encode("utf-8", "surrogatepass") + b"\x1f" + record.content_hash.encode() + b"\x1e")
    return f"part-{digest.hexdigest()}.jsonl"


def prepare_store(
    store: str | os.PathLike[str] | Store,
    output: str | os.PathLike[str],
    config: BatchConfig | None = None,
    *,
    prepare_options: dict[str, Any] | None = None,
    progress: Callable[[Progress], None] | None = None,
    **options: Any,
) -> BatchSummary:
    """Prepare every document of ``store`` into ``output``; resumable, incremental and deterministic.

    ``store``: a folder (txt/md/html), a .jsonl, .parquet or .csv file (with
    ``id_column``/``text_column``), a single text file, or a ``Store``.
    ``output``: the chunk file (.jsonl or .parquet) or a folder for
    ``chunks.jsonl``. ``prepare_options`` are ``prepare()``'s keyword
    options (``max_tokens``, ``tokenizer``, ``model``, ...; a tokenizer must
    be picklable for process/Dask workers). ``options`` override ``config``
    fields (``workers=2``). Re-running skips documents whose content and
    configuration are unchanged; a run killed at any point resumes where
    the committed batches end. Bad documents are quarantined, not raised.
    Raises, before any work, ``ConfigError`` for a bad option (a cap no
    character fits) or output (inside the store, not .jsonl/.parquet);
    ``InputDataError`` when the store cannot be read at all; ``OutputError``
    when the output cannot be written (the previous output stays as it was).
    """
    config = dataclasses.replace(config or BatchConfig(), **options) if options else (config or BatchConfig())
    if not isinstance(store, Store):
        store = open_store(store, id_column=config.id_column, text_column=config.text_column,
                           max_document_bytes=config.max_document_bytes, follow_symlinks=config.follow_symlinks)
    paths = OutputPaths.for_output(output, config.output_format)
    _refuse_output_in_store(store, paths)
    worker_options, tokenizer_name, notes, economics = _resolve_options(prepare_options or {})
    fingerprint = _fingerprint(worker_options, tokenizer_name)
    try:
        return _run(store, paths, config, worker_options, fingerprint, notes, progress, economics)
    except ChunkwiseError:
        raise
    # The store's own read errors are InputDataError or quarantine entries by now: what is left is the output's.
    except (OSError, sqlite3.Error) as err:
        raise OutputError(_output_failure(paths, err)) from err


def _refuse_output_in_store(store: Store, paths: OutputPaths) -> None:
    """Refuse an output the store would read back as documents, or one that would overwrite the store."""
    root = store.path.resolve()
    written = [path.resolve() for path in (*paths.visible, paths.state)]
    if store.kind == "folder" and any(root in path.parents for path in written):
        raise ConfigError(f"the output {paths.chunks} is inside the store {store.path}, so the next run would read it "
                          "as documents; write it outside the store")
    if store.kind != "folder" and root in written:
        raise ConfigError(f"the output {paths.chunks} would overwrite the store {store.path}; choose another -o")


def _output_failure(paths: OutputPaths, err: OSError | sqlite3.Error) -> str:
    if (isinstance(err, OSError) and err.errno == errno.ENOSPC) or "full" in str(err):  # sqlite: "disk is full"
        hint = "the disk is full; free some space"
    else:
        hint = "check that the folder is writable"
    reason = os_error_reason(err) if isinstance(err, OSError) else str(err)
    return (f"cannot write the output {paths.chunks} ({reason}); {hint}, or pass -o another folder, and run again "
            "(finished batches are kept; the previous output, if any, is unchanged)")


def _run(
    store: Store,
    paths: OutputPaths,
    config: BatchConfig,
    worker_options: dict[str, Any],
    fingerprint: str,
    notes: list[str],
    progress: Callable[[Progress], None] | None,
    economics: Any = None,
) -> BatchSummary:
    started = time.perf_counter()
    paths.chunks.parent.mkdir(parents=True, exist_ok=True)
    lock = _StateLock(paths.state)
    try:
        paths.parts.mkdir(exist_ok=True)
        paths.finish_interrupted_commit()
        paths.remove_stale_temporaries()
        manifest = Manifest(paths.state / "manifest.sqlite")
        commit = _Commit(paths, secrets.token_hex(8))
        try:
            reset = not manifest.start_run(fingerprint)
            _remove_orphans(paths.parts, manifest.part_names())
            counts = _process(store, manifest, paths, config, worker_options, fingerprint, progress)
            if manifest.unfinished():
                raise ChunkwiseError("some documents have no result after every batch finished; re-run to retry them")
            chunks, removed, quarantined = _assemble(manifest, paths, config, notes, counts, progress, commit, economics)
            forgotten, unused_parts = manifest.forget_unlisted()
            summary = BatchSummary(
                output=paths.chunks,
                documents=counts["listed"],
                processed=counts["processed"],
                skipped=counts["skipped"],
                quarantined=quarantined,
                forgotten=forgotten,
                chunks=chunks,
                removed=removed,
                bytes_read=counts["bytes_read"],
                seconds=time.perf_counter() - started,
                engine=config.engine,
                workers=config.workers,
                reset=reset,
                files={"chunks": str(paths.chunks),
                       **{name: str(paths.sidecar(suffix)) for name, suffix in _SIDECAR_NAMES.items()},
                       "state": str(paths.state)},
                run_id=commit.run_id,
            )
            commit.stage(paths.sidecar(".summary.json"), json.dumps(summary.to_dict(), indent=2).encode())
            commit.commit()
        except BaseException:
            commit.abort()
            raise
        finally:
            manifest.close()
        for name in unused_parts:
            (paths.parts / name).unlink(missing_ok=True)
        if progress is not None:
            progress(Progress("done", counts["listed"], counts["processed"], counts["skipped"], quarantined,
                              counts["bytes_read"], store.total_bytes, chunks))
        return summary
    finally:
        lock.release()


def _process(
    store: Store,
    manifest: Manifest,
    paths: OutputPaths,
    config: BatchConfig,
    worker_options: dict[str, Any],
    fingerprint: str,
    progress: Callable[[Progress], None] | None,
) -> dict[str, int]:
    """List the store, send new or changed documents to the engine, commit every finished batch."""
    counts = {"listed": 0, "processed": 0, "skipped": 0, "quarantined": 0, "bytes_read": 0}
    total_bytes = store.total_bytes

    def report_progress() -> None:
        if progress is not None:
            progress(Progress("processing", counts["listed"], counts["processed"], counts["skipped"],
                              counts["quarantined"], counts["bytes_read"], total_bytes))

    def to_do() -> Iterator[tuple[int, StoreRecord]]:
        manifest.begin()
        for position, record in enumerate(with_unique_ids(store.records(), manifest.is_listed)):
            counts["bytes_read"] += record.size
            if record.problem is not None:
                manifest.list_problem(position, record.doc_id, record.content_hash,
                                      record.problem.reason, record.problem.detail)
                counts["quarantined"] += 1
                continue
            counts["listed"] += 1
            status = manifest.list_document(position, record.doc_id, record.content_hash)
            if status is not None:
                counts["skipped"] += 1
                continue
            yield position, record
        manifest.commit()

    engine = _engine(config)
    pending: dict[Any, list[StoreRecord]] = {}

    def finish(done: set[Any]) -> None:
        for future in done:
            batch = pending.pop(future)
            try:
                outcome: BatchOutcome = future.result()
            # A batch that kills its worker (or cannot be sent) quarantines its documents; the job goes on.
            except Exception as err:  # noqa: BLE001
                detail = f"the batch failed as a whole: {type(err).__name__}: {err}"[:2000]
                outcome = BatchOutcome(b"", [], [(r.doc_id, r.content_hash, "error", detail) for r in batch])
            part = _part_name(fingerprint, batch) if outcome.done else None
            if part is not None:
                write_atomically(paths.parts / part, outcome.part_bytes)
            manifest.commit_batch(
                part,
                len(outcome.part_bytes),
                (DoneDocument(doc_id, content_hash, part, offset, length) for doc_id, content_hash, offset, length in outcome.done),
                (QuarantinedDocument(*entry) for entry in outcome.quarantined),
            )
            counts["processed"] += len(batch)
            counts["quarantined"] += len(outcome.quarantined)
            report_progress()

    try:
        for batch in _batches(to_do(), config.batch_size, config.batch_bytes):
            while len(pending) >= config.max_in_flight:
                finish(engine.wait_first(pending))
            pending[engine.submit(process_batch, batch, worker_options)] = batch
        while pending:
            finish(engine.wait_first(pending))
    finally:
        engine.close()
    return counts


# ----------------------------------------------------------------------------- assembly


class _PartReader:
    """Random access to document records in part files, with a few files kept open."""

    def __init__(self, parts_dir: Path) -> None:
        self._dir = parts_dir
        self._open: dict[str, Any] = {}

    def record(self, document: DoneDocument) -> dict[str, Any]:
        handle = self._open.pop(document.part, None)
        if handle is None:
            if len(self._open) >= _OPEN_PARTS:
                oldest = next(iter(self._open))
                self._open.pop(oldest).close()
            handle = (self._dir / document.part).open("rb")
        self._open[document.part] = handle  # most recently used last
        handle.seek(document.offset)
        return json.loads(handle.read(document.length))

    def close(self) -> None:
        for handle in self._open.values():
            handle.close()
        self._open.clear()


class _SeenChunks:
    """Normalized chunk text -> the first chunk with it, on disk (memory stays flat for any store size)."""

    def __init__(self, path: Path, min_chars: int) -> None:
        import sqlite3


        path.unlink(missing_ok=True)
        self._path = path
        self._normalize = normalize_unit
        self._min_chars = min_chars
        self._db = sqlite3.connect(path, isolation_level=None)
        # A scratch index rebuilt every run: durability would only cost time.
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE seen (key BLOB PRIMARY KEY, doc_id TEXT, start INTEGER, end INTEGER) WITHOUT ROWID")
        self._db.execute("BEGIN")

    def first_copies(self, chunks: list[dict[str, Any]]) -> list[tuple[str, int, int] | None]:
        """For each chunk, the earlier chunk it duplicates, or None (and it becomes the first copy)."""
        keys: list[bytes | None] = []
        for chunk in chunks:
            normalized = self._normalize(chunk["text"])
            keys.append(
                hashlib.blake2b(normalized.encode("utf-8", "surrogatepass"), digest_size=16).digest()
                if len(normalized) >= self._min_chars else None
            )
        wanted = [key for key in keys if key is not None]
        known: dict[bytes, tuple[str, int, int]] = {}
        if wanted:
            marks = ",".join("?" * len(wanted))
            for key, doc_id, start, end in self._db.execute(
                f"SELECT key, doc_id, start, end FROM seen WHERE key IN ({marks})", wanted
            ):
                known[key] = (doc_id, start, end)
        result: list[tuple[str, int, int] | None] = []
        fresh: list[tuple[bytes, str, int, int]] = []
        for key, chunk in zip(keys, chunks):
            if key is None:
                result.append(None)
            elif key in known:
                result.append(known[key])
            else:
                known[key] = (chunk["doc_id"], chunk["start"], chunk["end"])
                fresh.append((key, chunk["doc_id"], chunk["start"], chunk["end"]))
                result.append(None)
        self._db.executemany("INSERT INTO seen VALUES (?, ?, ?, ?)", fresh)
        return result

    def close(self) -> None:
        self._db.close()
        self._path.unlink(missing_ok=True)


_SUMMED = ("raw_chars", "raw_tokens", "normalized_tokens", "deduplicated_tokens", "naive_overlap_tokens",
           "prepared_overlap_tokens", "naive_no_overlap_tokens")
_SUMMED_BY_KEY = ("removed_tokens", "fixes")
# Report options whose figures depend on the whole corpus's distribution: applied once, when the store is assembled.
_ECONOMICS_OPTIONS = ("gpu", "queries_per_day", "top_k", "price", "report_config")


class _StoreReport:
    """The store's report figures, added up document by document in store order."""

    def __init__(self, notes: list[str], economics: Any = None) -> None:
        from array import array

        self.settings: dict[str, Any] = {}
        # Every naive window's and kept chunk's tokens (4 bytes each) for the economics' distributions.
        self.economics = economics
        self.naive_lengths = array("I")
        self.chunk_lengths = array("I")
        self.sums: dict[str, int | None] = {}
        self.by_key: dict[str, dict[str, int]] = {name: {} for name in _SUMMED_BY_KEY}
        self.naive = [0, 0, 0, 0]  # chunks, tokens, largest, padded
        self.prepared = [0, 0, 0]  # chunks, tokens, largest
        self.notes: list[str] = []
        self.documents = 0
        self.rows: list[tuple[int, str, tuple[str, int, int, int, int]]] = []
        self.examples: list[tuple[int, int, tuple[str, str, str, int | None, str]]] = []
        self._pending_notes = notes

    def add_document(self, doc_id: str, piece: dict[str, Any], kept_chunks: list[dict[str, Any]]) -> None:
        import heapq


        self.documents += 1
        for name in _REPORT_SETTINGS:
            self.settings.setdefault(name, piece.get(name))
        for name in _SUMMED:
            value = piece.get(name)
            if value is not None:
                self.sums[name] = (self.sums.get(name) or 0) + value
            else:
                self.sums.setdefault(name, None)
        for name in _SUMMED_BY_KEY:
            for key, value in (piece.get(name) or {}).items():
                self.by_key[name][key] = self.by_key[name].get(key, 0) + value
        naive = piece["naive"]
        self.naive[0] += naive["chunks"]
        self.naive[1] += naive["tokens"]
        self.naive[2] = max(self.naive[2], naive["max_chunk_tokens"])
        self.naive[3] += naive["padded_tokens"]
        if self.economics is not None:
            self.naive_lengths.extend(piece.get("naive_window_tokens") or ())
            self.chunk_lengths.extend(chunk["token_count"] for chunk in kept_chunks)
        chunk_tokens = 0
        for chunk in kept_chunks:
            chunk_tokens += chunk["token_count"]
            self.prepared[2] = max(self.prepared[2], chunk["token_count"])
        self.prepared[0] += len(kept_chunks)
        self.prepared[1] += chunk_tokens
        self.notes.extend(note for note in piece.get("notes") or () if note not in self.notes)
        # Keep the documents that saved most, as prepare's report does (ties by id).
        row = (doc_id, piece.get("raw_tokens", 0), naive["tokens"], len(kept_chunks), chunk_tokens)
        heapq.heappush(self.rows, (naive["tokens"] - chunk_tokens, _Reversed(doc_id), row))
        if len(self.rows) > TOP_DOCUMENTS:
            heapq.heappop(self.rows)

    def add_removed(self, entry: Removed, position: int) -> None:
        import heapq


        tokens = entry.token_count or 0
        self.by_key["removed_tokens"][entry.reason] = self.by_key["removed_tokens"].get(entry.reason, 0) + tokens
        if self.sums.get("deduplicated_tokens") is not None:
            self.sums["deduplicated_tokens"] -= tokens
        flat = " ".join(entry.text.split())
        excerpt = flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "\u2026"
        heapq.heappush(self.examples, (tokens, -position, (entry.doc_id, entry.reason, entry.kept_doc_id, entry.token_count, excerpt)))
        if len(self.examples) > REMOVED_EXAMPLES:
            heapq.heappop(self.examples)

    def report(self) -> Any:
        max_tokens = self.settings.get("max_tokens") or 0
        notes = self.notes + [note for note in self._pending_notes if note not in self.notes]

        rows = [DocumentRow(*row) for _, _, row in sorted(self.rows, reverse=True)]
        examples = [RemovedExample(*example) for _, _, example in sorted(self.examples, reverse=True)]
        econ = None
        if self.economics is not None and self.naive_lengths and self.chunk_lengths:
            econ = economics(self.naive_lengths, self.chunk_lengths, self.economics, max_tokens=max_tokens)
        elif self.economics is not None:
            notes.append("no economics section: the store produced no chunks")
        return Report(
            tokenizer=self.settings.get("tokenizer") or "",
            max_tokens=max_tokens,
            naive_overlap=self.settings.get("naive_overlap") or 0,
            documents=self.documents,
            raw_chars=self.sums.get("raw_chars") or 0,
            raw_tokens=self.sums.get("raw_tokens") or 0,
            naive=SplitStats(*self.naive),
            prepared=SplitStats(*self.prepared, self.prepared[0] * max_tokens),
            removed_tokens={k: v for k, v in sorted(self.by_key["removed_tokens"].items()) if v},
            normalized_tokens=self.sums.get("normalized_tokens"),
            deduplicated_tokens=self.sums.get("deduplicated_tokens"),
            fixes={k: v for k, v in sorted(self.by_key["fixes"].items()) if v},
            notes=tuple(notes),
            naive_overlap_tokens=self.sums.get("naive_overlap_tokens"),
            prepared_overlap_tokens=self.sums.get("prepared_overlap_tokens"),
            top_documents=tuple(rows),
            removed_examples=tuple(examples),
            economics=econ,
            naive_no_overlap_tokens=self.sums.get("naive_no_overlap_tokens"),
            naive_overlap_set=bool(self.settings.get("naive_overlap_set")),
        )


class _Reversed:
    """Orders strings backwards, so a min-heap on (saving, _Reversed(id)) drops the later id on ties."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return self.value > other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.value == other.value


def _assemble(
    manifest: Manifest,
    paths: OutputPaths,
    config: BatchConfig,
    notes: list[str],
    counts: dict[str, int],
    progress: Callable[[Progress], None] | None,
    commit: _Commit,
    economics: Any = None,
) -> tuple[int, int, int]:
    """Stage the chunks, removals, quarantine list and report of the whole store, in store order, in ``commit``."""
    writer = ChunkWriter(paths.chunks, paths.output_format, tmp=commit.temporary(paths.chunks))
    removed_tmp = commit.temporary(paths.sidecar(".removed.jsonl"))
    reader = _PartReader(paths.parts)
    seen = _SeenChunks(paths.state / "seen.sqlite", config.min_dedup_chars) if config.store_dedup else None
    totals = _StoreReport(notes, economics)
    chunk_count = removed_count = 0
    try:
        with removed_tmp.open("wb") as removed_out:
            for document in manifest.done_in_order():
                record = reader.record(document)
                for entry in record["removed"]:
                    removed_out.write(json.dumps(entry, ensure_ascii=False).encode() + b"\n")
                    removed_count += 1
                chunks = record["chunks"]
                copies = seen.first_copies(chunks) if seen is not None else [None] * len(chunks)
                kept: list[dict[str, Any]] = []
                for chunk, copy in zip(chunks, copies):
                    if copy is None:
                        kept.append(chunk)
                        writer.write(chunk)
                        continue
                    entry = Removed(chunk["doc_id"], chunk["start"], chunk["end"], "exact", *copy, chunk["text"],
                                    None, chunk["token_count"])
                    removed_out.write(json.dumps(entry.to_dict(), ensure_ascii=False).encode() + b"\n")
                    removed_count += 1
                    totals.add_removed(entry, removed_count)
                totals.add_document(document.doc_id, record["report"], kept)
                chunk_count += len(kept)
                if progress is not None and totals.documents % 1000 == 0:
                    progress(Progress("assembling", counts["listed"], counts["processed"], counts["skipped"], 0,
                                      counts["bytes_read"], None, chunk_count))
            removed_out.flush()
            os.fsync(removed_out.fileno())
        quarantine_lines = []
        for position, entry in manifest.quarantined_in_order():
            quarantine_lines.append(json.dumps(
                {"position": position, "doc_id": entry.doc_id, "reason": entry.reason, "detail": entry.detail},
                ensure_ascii=False,
            ).encode() + b"\n")
        report = totals.report()
        commit.stage(paths.sidecar(".quarantine.jsonl"), b"".join(quarantine_lines))
        commit.stage(paths.sidecar(".report.json"), report.to_json().encode("utf-8"))
        commit.stage(paths.sidecar(".report.txt"), report.to_text().encode("utf-8") + b"\n")
        commit.stage(paths.sidecar(".report.html"), report.to_html().encode("utf-8"))
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    finally:
        reader.close()
        if seen is not None:
            seen.close()
    return chunk_count, removed_count, len(quarantine_lines)


__all__ = ["prepare_store", "BatchConfig", "BatchSummary", "Progress", "process_batch", "OutputPaths"]
