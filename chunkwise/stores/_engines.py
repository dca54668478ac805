"""Where batches run: the worker side (one batch through ``prepare``, each document on its own,
failures classified) and the engines that run batches inline, in local processes or on Dask."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ChunkwiseError, InputDataError, MissingDependencyError
from .sources import StoreRecord, escape_surrogates, record_document, write_atomically
from ..pipeline import prepare

if TYPE_CHECKING:
    from .batch import BatchConfig


# Report fields that cannot be summed over documents; recomputed or left out for a store.
_REPORT_RECOMPUTED = frozenset({"prepared", "economics", "documents", "top_documents", "removed_examples"})


@dataclass(frozen=True)
class BatchOutcome:
    """What a worker returns for one batch: the part file's bytes (or, when the worker wrote the part
    itself, its size) and where each document's record is."""

    part_bytes: bytes
    done: list[tuple[str, str, int, int]]
    quarantined: list[tuple[str, str, str, str]]
    written: int | None = None  # bytes of the part the worker wrote; None when part_bytes are returned
    write_error: tuple[int, str, str] | None = None  # (errno, strerror, filename) of a failed write

    @property
    def part_size(self) -> int:
        return self.written if self.written is not None else len(self.part_bytes)


RETRIED_REASONS = frozenset({"error", "worker_died"})
"""Quarantine reasons a later run retries (the cause may be fixed); bad input is not retried."""


def worker_died(err: BaseException) -> bool:
    """Whether a batch failed because its worker process died (a crash, ``os._exit``, the OOM killer),
    not because of an error the batch raised: only such a failure is worth isolating a document for."""
    from concurrent.futures.process import BrokenProcessPool

    if isinstance(err, BrokenProcessPool):
        return True
    try:
        from distributed.scheduler import KilledWorker
    except ImportError:
        return False
    return isinstance(err, KilledWorker)


def _classify(err: Exception) -> str:
    if isinstance(err, UnicodeError):
        return "undecodable"
    if isinstance(err, InputDataError):  # the document itself is bad (a damaged PDF): not retried
        return "parse_error"
    if isinstance(err, (ValueError, AssertionError)) and not isinstance(err, ChunkwiseError):
        return "parse_error"
    return "error"


def process_batch(records: list[StoreRecord], prepare_options: dict[str, Any]) -> BatchOutcome:
    """Run ``prepare`` on each record on its own; each document's record is the part file's bytes.

    A record may carry its ``dedup_plan`` (dedup decided over the whole store, or True for the
    document's own dedup, in a store of one document); without one the document is prepared
    without dedup.

    A document's record is a header line (its id, chunk count, removals and
    report) and then one line per chunk, so a huge document is read back a
    block of chunks at a time. A document that fails (undecodable bytes, a
    parse error, anything its stages raise) is quarantined with its reason;
    the rest of the batch goes on.
    """

    part = io.BytesIO()
    done: list[tuple[str, str, int, int]] = []
    quarantined: list[tuple[str, str, str, str]] = []
    for record in records:
        start = part.tell()
        try:
            document = record_document(record)
            plan = record.dedup_plan if record.dedup_plan is not None else False
            result = prepare([document], dedup=plan, report_config=False, **prepare_options)
            _write_header(part, record.doc_id, len(result.chunks), result.removed, _report_fields(result.report))
            for chunk in result.chunks:
                part.write(_line(chunk.to_dict()))
        except UnicodeDecodeError as err:
            part.seek(start)
            part.truncate()
            quarantined.append((record.doc_id, record.content_hash, "undecodable", f"not text in any encoding ({err})"))
            continue
        # One bad document must not stop a store of millions: anything it raises quarantines it.
        except Exception as err:  # noqa: BLE001
            part.seek(start)
            part.truncate()
            detail = escape_surrogates(f"{type(err).__name__}: {err}"[:2000])
            quarantined.append((record.doc_id, record.content_hash, _classify(err), detail))
            continue
        done.append((record.doc_id, record.content_hash, start, part.tell() - start))
    return BatchOutcome(part.getvalue(), done, quarantined)


def process_batch_into(records: list[StoreRecord], prepare_options: dict[str, Any], part: str) -> BatchOutcome:
    """``process_batch``, with the part file written here, by the worker, at ``part`` (atomically).

    For workers that share the output's disk (local processes, a LocalCluster): the
    part's bytes then never travel back to the coordinator, which for 2 KB
    documents was as many bytes again as the store itself. The coordinator
    records the part in the manifest only after this returns, so a part written
    by a run that dies first is an orphan, removed by the next run.
    """
    outcome = process_batch(records, prepare_options)
    if not outcome.done:
        return outcome
    try:
        write_atomically(Path(part), outcome.part_bytes)
    except OSError as err:
        return BatchOutcome(b"", outcome.done, outcome.quarantined,
                            write_error=(err.errno or 0, err.strerror or str(err), str(err.filename or part)))
    return BatchOutcome(b"", outcome.done, outcome.quarantined, written=len(outcome.part_bytes))


def _report_fields(report: Any) -> dict[str, Any]:
    """The report's fields a store sums, as JSON-ready values (``dataclasses.asdict`` of the whole
    report, deep-copying what is then dropped, was a tenth of a small document's time)."""
    fields = {field.name: getattr(report, field.name) for field in dataclasses.fields(report)
              if field.name not in _REPORT_RECOMPUTED}
    fields["naive"] = dataclasses.asdict(report.naive)
    return fields


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _line(data: dict[str, Any]) -> bytes:
    return _json(data) + b"\n"


def _write_header(part: io.BytesIO, doc_id: str, chunks: int, removed: list[Any], report: dict[str, Any]) -> None:
    """A document's header line, ``{"doc_id", "chunks", "removed", "report"}``, written a removal at a time.

    Byte for byte the line ``_line`` makes of that dict. Removals carry their text, so a
    file that is mostly repeats has a header as large as itself: built whole, it was held
    as a list of dicts, a str, its bytes and a copy with the newline at once (a 50 MB file,
    14x its size at the peak).
    """
    part.write(b'{"doc_id":' + _json(doc_id) + b',"chunks":' + _json(chunks) + b',"removed":[')
    for index, entry in enumerate(removed):
        if index:
            part.write(b",")
        part.write(_json(entry.to_dict()))
    part.write(b'],"report":' + _json(report) + b"}\n")


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

    def recover(self) -> None:
        pass

    def close(self) -> None:
        pass

    shares_disk = False  # this process writes the part anyway: nothing to save


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
        self._workers = workers
        self._pool = self._start()

    def _start(self) -> Any:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        return ProcessPoolExecutor(max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_die_with_parent, initargs=(os.getpid(),))

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self._pool.submit(fn, *args)
        except BrokenProcessPool:  # a worker died since the last submit: every future of the pool failed with it
            self.recover()
            return self._pool.submit(fn, *args)

    shares_disk = True  # workers on this machine write their own parts

    def recover(self) -> None:
        """Replace a pool that a dying worker broke (a broken pool takes no more work)."""
        from concurrent.futures.process import BrokenProcessPool

        try:
            self._pool.submit(int).result()
        except BrokenProcessPool:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = self._start()

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
        import dask

        self._cluster = None
        self._own_client = True
        # Workers of a LocalCluster write their own parts; a remote cluster may not see this disk.
        self.shares_disk = scheduler is None
        if scheduler is None:
            # A task that kills its worker is given up after one more try (Dask's default is three,
            # each a worker restart); the batch is then isolated here, a document at a time.
            # dashboard_address ":0": the scheduler's HTTP server takes a free port. With None it
            # still binds 8787, and warns when another cluster (or one still closing) holds it.
            with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
                self._cluster = LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
                )
            self._client = Client(self._cluster)
        elif isinstance(scheduler, Client):
            self._client, self._own_client = scheduler, False
        else:
            self._client = Client(scheduler)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        # pure=False: two batches with equal arguments are still two tasks (results are not shared by key).
        # retries: a task that raises (a lost connection, a worker's disk) runs again elsewhere; one that
        # kills its worker is Dask's allowed-failures' business, and then isolate()'s.
        return self._client.submit(fn, *args, pure=False, retries=2)

    def wait_first(self, futures: Iterable[Any]) -> set[Any]:
        from distributed import wait

        return set(wait(list(futures), return_when="FIRST_COMPLETED").done)

    def recover(self) -> None:
        pass  # the nanny restarts a dead worker

    def close(self) -> None:
        if self._own_client:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_engine(config: BatchConfig) -> Any:
    if config.engine == "dask":
        return _DaskEngine(config.scheduler, config.workers)
    return _InlineEngine() if config.workers == 1 else _ProcessEngine(config.workers)
