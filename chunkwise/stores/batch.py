"""Prepare a whole document store: streaming, in parallel (processes or Dask), resumable and incremental.

``prepare_store(store, output)`` reads the store in order, skips documents
whose content was already processed with the same configuration, sends the
rest in batches to workers, and assembles the output in store order.

Why per document: every document goes through ``chunkwise.prepare`` on its
own, so its record is a pure function of its content, the configuration and
what dedup keeps of it. That is what makes skipping unchanged documents
correct, local and Dask output byte-identical, and a resumed job equal to an
uninterrupted one. Dedup across documents (``store_dedup``):

* ``True`` (default, "full"): before any chunking, the coordinator runs
  ``prepare()``'s own dedup over every readable document in store order
  (``chunkwise.stores._plan``), so the run removes what ``prepare()`` on the
  same documents removes: overlap within a source, exact and near duplicate
  documents, boilerplate, exact paragraphs and sentences, near paragraphs.
  Each document goes to its worker with its kept pieces; a document whose kept
  pieces or removals change (its kept copy elsewhere went) is prepared again.
  The store's repaired text is in the coordinator's memory while it decides.
* ``"chunks"``: each document is prepared without dedup, and afterwards one
  ordered, streaming pass drops every chunk whose text, whitespace-collapsed
  and lower-cased, equals an earlier chunk's (memory flat for any store).
* ``False``: no dedup across documents.

Either is recomputed on every run, so it stays correct when documents change,
appear or disappear.

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
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import ChunkwiseError, ChunkwiseWarning, ConfigError, InputDataError, OutputError
from .manifest import DoneDocument, Manifest, QuarantinedDocument
from .sources import (
    DEFAULT_MAX_DOCUMENT_BYTES,
    OutputFormat,
    Store,
    StoreRecord,
    open_store,
    os_error_reason,
    record_document,
    with_unique_ids,
    write_atomically,
)
from .._options import resolve_tokenizer
from .._version import __version__
from ..chunking.chunker import ChunkConfig
from ..pipeline import prepare
from ..reporting.scenarios import checked_report_config, resolve
from ..tokens import content_budget
from ._assembly import assemble
from ._plan import StorePlan, StoreTooLarge, memory_budget, plan_store
from .readers import html_parser_name
from ._engines import RETRIED_REASONS, BatchOutcome, make_engine, process_batch, process_batch_into, worker_died
from ._output import SIDECAR_NAMES, Commit, OutputPaths, StateLock, remove_orphans

Engine = Literal["local", "dask"]
# 2: a document's report carries its naive window lengths and its windows without overlap.
# 3: a document's record is a header line and a line per chunk (was one line with every chunk).
PART_FORMAT_VERSION = "3"
_ECONOMICS_OPTIONS = ("gpu", "queries_per_day", "top_k", "price", "report_config")


@dataclass(frozen=True)
class BatchConfig:
    """How a store is processed (not what is done to each document: that is ``prepare``'s options).

    ``batch_size`` documents (or ``batch_bytes`` of payload, whichever comes
    first) go to a worker at once; at most ``in_flight`` batches (default
    2 x workers) are out at a time, which bounds memory. ``engine="dask"``
    uses ``scheduler`` (an address or a ``distributed.Client``) or, when it
    is None, a LocalCluster of ``workers`` single-threaded processes.
    ``follow_symlinks`` lets a folder store read links that lead out of it.
    ``store_dedup``: ``True`` (default) removes what ``prepare()`` removes on
    the same documents, deciding over the whole store in the coordinator's
    memory, and falls back to ``"chunks"`` (with a ``ChunkwiseWarning`` and a
    report note) when the store is over a tenth of the memory available;
    ``"full"`` insists; ``"chunks"`` streams and drops repeated chunks only;
    ``False`` removes nothing across documents (see the module docstring).

    A batch whose worker dies (a crash, the OOM killer) is run again alone,
    then halved until the document that kills its worker is alone; only it is
    quarantined (reason ``worker_died``), and a broken process pool is
    replaced. A later run retries documents quarantined for errors
    (``error``, ``worker_died``), since their cause may be fixed, but not
    those quarantined for bad input unless ``retry_quarantined``.
    """

    engine: Engine = "local"
    workers: int = 1
    scheduler: Any = None
    batch_size: int = 64
    batch_bytes: int = 16 * 1024 * 1024
    in_flight: int | None = None
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    output_format: OutputFormat | None = None
    store_dedup: bool | Literal["full", "chunks"] = True
    min_dedup_chars: int = 24
    id_column: str = "id"
    text_column: str = "text"
    follow_symlinks: bool = False
    retry_quarantined: bool = False

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
        if self.store_dedup not in (True, False, "full", "chunks"):
            raise ConfigError(f"store_dedup must be True ('full'), 'chunks' or False, got {self.store_dedup!r}")

    @property
    def dedup_mode(self) -> Literal["full", "chunks", "off"]:
        """``store_dedup`` as one word: "full" (prepare()'s dedup over the store), "chunks" or "off"."""
        if self.store_dedup is True or self.store_dedup == "full":
            return "full"
        return "chunks" if self.store_dedup == "chunks" else "off"

    @property
    def max_in_flight(self) -> int:
        return self.in_flight or 2 * self.workers


@dataclass(frozen=True)
class Progress:
    """A progress update, sent to the ``progress`` callback while the store-wide dedup reads the store
    (``listed``: records read), after every batch, and during assembly."""

    phase: Literal["deduplicating", "processing", "assembling", "done"]
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
    store_dedup: str = ""  # the store-wide dedup the run did: "full", "chunks" or "off"

    @property
    def status(self) -> Literal["ok", "partial"]:
        return "partial" if self.quarantined else "ok"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["output"] = str(self.output)
        data["status"] = self.status
        data["seconds"] = round(self.seconds, 3)
        return data


def _fingerprint(prepare_options: dict[str, Any], tokenizer_name: str) -> str:
    options = {key: value for key, value in prepare_options.items() if key not in ("tokenizer", "model")}
    described = json.dumps(
        {"chunkwise": __version__, "part_format": PART_FORMAT_VERSION, "tokenizer": tokenizer_name,
         "model": prepare_options.get("model"), "options": options, "html": html_parser_name()},
        sort_keys=True,
        default=repr,
    )
    return hashlib.blake2b(described.encode(), digest_size=16).hexdigest()


def _resolve_options(prepare_options: dict[str, Any]) -> tuple[dict[str, Any], Any, list[str], Any]:
    """Options for the workers, the tokenizer (a model fallback warns once, here), and the
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
    return options, counter, notes, resolved


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


def _retried(handled: tuple[str, str | None], retry_quarantined: bool) -> bool:
    """Whether a document already handled with this content is processed again: one quarantined for
    an error (which a fix may have removed) is; one quarantined for bad input only when forced."""
    status, reason = handled
    return status == "quarantined" and (retry_quarantined or reason in RETRIED_REASONS)


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

    ``store``: a folder (txt/md/html/pdf/docx and data-file shards), a .jsonl
    (also compressed), .parquet or .csv file (with ``id_column``/``text_column``),
    a single text file, an fsspec URL of any of these, a ``pyarrow.dataset.Dataset``,
    or a ``Store``.
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
    worker_options, counter, notes, economics = _resolve_options(prepare_options or {})
    fingerprint = _fingerprint(worker_options, counter.name)
    try:
        return _run(store, paths, config, worker_options, fingerprint, notes, progress, economics, counter)
    except ChunkwiseError:
        raise
    # The store's own read errors are InputDataError or quarantine entries by now: what is left is the output's.
    except (OSError, sqlite3.Error) as err:
        raise OutputError(_output_failure(paths, err)) from err


def _refuse_output_in_store(store: Store, paths: OutputPaths) -> None:
    """Refuse an output the store would read back as documents, or one that would overwrite the store."""
    if store.fs is not None or store.dataset is not None:
        return  # not files of this machine's disk (file:// URLs are opened as paths)
    root = store.path.resolve()
    written = [path.resolve() for path in (*paths.visible, paths.state)]
    if store.kind == "folder" and any(root in path.parents for path in written):
        raise ConfigError(f"the output {paths.chunks} is inside the store {store.path}, so the next run would read it "
                          "as documents; write it outside the store")
    if store.kind != "folder" and root in written:
        raise ConfigError(f"the output {paths.chunks} would overwrite the store {store.path}; choose another -o")


def _sample_reader(store: Store) -> Callable[[str], str | None] | None:
    """Reads one document of the store again for the report's sample page; None for a store not on this disk
    (a remote store is not read twice for a picture)."""
    if store.fs is not None or store.dataset is not None:
        return None

    def read(doc_id: str) -> str | None:
        for record in with_unique_ids(store.records()):
            if record.doc_id == doc_id:
                if record.problem is not None:
                    return None
                try:
                    return record_document(record).text
                except (UnicodeDecodeError, ChunkwiseError):
                    return None
        return None

    return read


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
    counter: Any = None,
) -> BatchSummary:
    started = time.perf_counter()
    paths.chunks.parent.mkdir(parents=True, exist_ok=True)
    lock = StateLock(paths.state)
    try:
        paths.parts.mkdir(exist_ok=True)
        paths.finish_interrupted_commit()
        paths.remove_stale_temporaries()
        manifest = Manifest(paths.state / "manifest.sqlite")
        commit = Commit(paths, secrets.token_hex(8))
        try:
            reset = not manifest.start_run(fingerprint)
            remove_orphans(paths.parts, manifest.part_names())
            plan, config, notes = _plan(store, config, worker_options, counter, progress, notes)
            counts = _process(store, manifest, paths, config, worker_options, fingerprint, progress, plan)
            if counts["listed"] == 0 and counts["quarantined"] == 0:
                raise InputDataError(f"the store {store.location} holds no documents{store.unread_note()}; the previous "
                                     "output, if any, is unchanged")
            if manifest.unfinished():
                raise ChunkwiseError("some documents have no result after every batch finished; re-run to retry them")
            chunks, removed, quarantined = assemble(manifest, paths, config, notes, counts, progress, commit, economics,
                                                    sample_text=_sample_reader(store))
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
                       **{name: str(paths.sidecar(suffix)) for name, suffix in SIDECAR_NAMES.items()},
                       "state": str(paths.state)},
                run_id=commit.run_id,
                store_dedup=config.dedup_mode,
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


def _plan(store: Store, config: BatchConfig, worker_options: dict[str, Any], counter: Any,
          progress: Callable[[Progress], None] | None, notes: list[str],
          ) -> tuple[StorePlan | None, BatchConfig, list[str]]:
    """The store-wide dedup plan ("full"), and the configuration and report notes the run goes on with:
    with the default ``store_dedup=True``, a store too large for this machine's memory falls back
    to "chunks", with a warning and a note; ``store_dedup="full"`` insists."""
    if config.dedup_mode != "full":
        return None, config, notes

    def planning(read: int, size: int) -> None:
        if progress is not None:
            progress(Progress("deduplicating", read, 0, 0, 0, size, store.total_bytes))

    limit = memory_budget() if config.store_dedup is True else None
    try:
        return plan_store(store, worker_options, counter, planning, limit), config, notes
    except StoreTooLarge as err:
        note = (f"store-wide dedup ran by chunks (only repeated chunks removed): the store is over "
                f"{err.limit / 1e6:,.0f} MB, a tenth of the memory available, which deciding prepare()'s dedup "
                "over it would need; pass store_dedup='full' (--store-dedup full) to insist")
        warnings.warn(note, ChunkwiseWarning, stacklevel=4)
        return None, dataclasses.replace(config, store_dedup="chunks"), [*notes, note]


def _process(
    store: Store,
    manifest: Manifest,
    paths: OutputPaths,
    config: BatchConfig,
    worker_options: dict[str, Any],
    fingerprint: str,
    progress: Callable[[Progress], None] | None,
    plan: StorePlan | None = None,
) -> dict[str, int]:
    """List the store, send new or changed documents to the engine, commit every finished batch
    (each with its dedup plan when ``plan`` is given)."""
    counts = {"listed": 0, "processed": 0, "skipped": 0, "quarantined": 0, "bytes_read": 0}
    total_bytes = store.total_bytes

    def report_progress() -> None:
        if progress is not None:
            progress(Progress("processing", counts["listed"], counts["processed"], counts["skipped"],
                              counts["quarantined"], counts["bytes_read"], total_bytes))

    def to_do() -> Iterator[tuple[int, StoreRecord]]:
        for position, record in enumerate(with_unique_ids(store.records(), manifest.is_listed)):
            if plan is not None:
                record = plan.attach(record)
            counts["bytes_read"] += record.size
            if record.problem is not None:
                manifest.list_problem(position, record.doc_id, record.content_hash,
                                      record.problem.reason, record.problem.detail)
                counts["quarantined"] += 1
                continue
            counts["listed"] += 1
            handled = manifest.list_document(position, record.doc_id, record.content_hash)
            if handled is not None and not _retried(handled, config.retry_quarantined):
                counts["skipped"] += 1
                continue
            yield position, record
        manifest.commit()

    engine = make_engine(config)
    pending: dict[Any, list[StoreRecord]] = {}
    # Batches whose worker died while they ran, to be run again one at a time: a death in a pool
    # fails every batch in flight, and only a batch that dies alone has the poison in it.
    suspects: deque[list[StoreRecord]] = deque()

    def submit(batch: list[StoreRecord]) -> Any:
        if engine.shares_disk:
            return engine.submit(process_batch_into, batch, worker_options, str(paths.parts / _part_name(fingerprint, batch)))
        return engine.submit(process_batch, batch, worker_options)

    def commit(batch: list[StoreRecord], outcome: BatchOutcome) -> None:
        if outcome.write_error is not None:
            raise OSError(*outcome.write_error)  # the output's disk: an OutputError, as when written here
        part = _part_name(fingerprint, batch) if outcome.done else None
        if part is not None and outcome.written is None:
            write_atomically(paths.parts / part, outcome.part_bytes)
        manifest.commit_batch(
            part,
            outcome.part_size,
            (DoneDocument(doc_id, content_hash, part, offset, length) for doc_id, content_hash, offset, length in outcome.done),
            (QuarantinedDocument(*entry) for entry in outcome.quarantined),
        )
        counts["processed"] += len(batch)
        counts["quarantined"] += len(outcome.quarantined)
        report_progress()

    def failed_whole(batch: list[StoreRecord], reason: str, detail: str) -> BatchOutcome:
        return BatchOutcome(b"", [], [(r.doc_id, r.content_hash, reason, detail[:2000]) for r in batch])

    def raised(batch: list[StoreRecord], err: Exception) -> BatchOutcome:
        # Not a death (the batch could not be sent, say): its documents are quarantined; the job goes on.
        return failed_whole(batch, "error", f"the batch failed as a whole: {type(err).__name__}: {err}")

    def finish(done: set[Any]) -> None:
        for future in done:
            batch = pending.pop(future)
            try:
                outcome: BatchOutcome = future.result()
            except Exception as err:  # noqa: BLE001
                if worker_died(err):
                    suspects.append(batch)
                    continue
                outcome = raised(batch, err)
            commit(batch, outcome)

    def isolate() -> None:
        """Run the suspect batches alone; one that dies alone is halved, until the document that kills
        its worker is alone: only it is quarantined."""
        engine.recover()
        while suspects:
            batch = suspects.popleft()
            future = submit(batch)
            engine.wait_first([future])
            try:
                outcome = future.result()
            except Exception as err:  # noqa: BLE001
                if not worker_died(err):
                    outcome = raised(batch, err)
                elif len(batch) > 1:
                    engine.recover()
                    half = len(batch) // 2
                    suspects.extendleft([batch[half:], batch[:half]])
                    continue
                else:
                    engine.recover()
                    outcome = failed_whole(batch, "worker_died", f"its worker process died while preparing it, "
                                           f"also when it ran alone ({type(err).__name__}: {err})")
            commit(batch, outcome)

    try:
        for batch in _batches(to_do(), config.batch_size, config.batch_bytes):
            while len(pending) >= config.max_in_flight:
                finish(engine.wait_first(pending))
            if suspects:
                while pending:
                    finish(engine.wait_first(pending))
                isolate()
            pending[submit(batch)] = batch
        while pending:
            finish(engine.wait_first(pending))
        if suspects:
            isolate()
    finally:
        engine.close()
    return counts


__all__ = ["prepare_store", "BatchConfig", "BatchSummary", "Progress", "process_batch", "OutputPaths"]
