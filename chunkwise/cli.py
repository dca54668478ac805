"""The ``chunkwise`` command: ``demo``, ``prepare`` (a file, folder or store), ``audit``, ``report`` and ``eval``.

Exit codes: 0 every document prepared; 1 finished, but some documents were
quarantined (listed in the run's quarantine file); 2 bad usage (an option no
document could satisfy, an output inside the store or of unknown format);
3 the input could not be read or nothing in it could be prepared; 4 an
optional dependency is missing (pyarrow, dask); 5 the output could not be
written (read-only or full disk, a bad path); 130 interrupted (re-run to resume).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from importlib import resources
from pathlib import Path

from . import __version__
from ._backend import backend
from .reporting.auditing import audit
from .reporting.visualization import visualize
from .stores.batch import BatchConfig, OutputPaths, prepare_store
from .chunking.chunker import chunk
from .integrations._shared import CHUNK_OPTIONS, chunk_options
from .reporting.economics.measure import measure
from .errors import (
    CatalogError,
    ChunkwiseError,
    ConfigError,
    DeviceUnavailableError,
    InputDataError,
    MissingDependencyError,
    OutputError,
)
from .retrieval.evaluation import evaluate
from .pipeline import prepare
from .stores.sources import iter_documents, open_store, os_error_reason, store_documents, write_atomically

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_DEPENDENCY = 4
EXIT_OUTPUT = 5
EXIT_INTERRUPTED = 130
_SHOWN_PROBLEMS = 10


def _sample_dir() -> Path:
    return Path(str(resources.files("chunkwise").joinpath("data", "sample")))


def _add_chunk_options(parser: argparse.ArgumentParser) -> None:
    """One flag per chunk option, made from ChunkConfig's fields (``integrations._shared.chunk_options``)."""
    for option in chunk_options():
        flag = "--" + option.name.replace("_", "-")
        if option.annotation is bool:
            parser.add_argument(flag, action="store_true", help=option.help)
        elif option.choices is not None:
            parser.add_argument(flag, default=option.default, choices=option.choices,
                                help=f"{option.help} (default {option.default})")
        else:
            shown = "" if option.default is None else f" (default {option.default})"
            parser.add_argument(flag, type=int, default=option.default, help=option.help + shown)
    parser.add_argument("--tokenizer", default=None, help="catalog name or path to tokenizer.json (default cl100k_base)")
    parser.add_argument("--model", default=None,
                        help="target LLM, e.g. llama-3-8b: its tokenizer counts the tokens and the report serves it "
                             "(default llama-3-8b for memory and cost figures)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _chunk_arguments(args: argparse.Namespace) -> dict:
    """The chunk options as parsed, by ChunkConfig field name."""
    return {name: getattr(args, name) for name in CHUNK_OPTIONS}


def _add_report_options(parser: argparse.ArgumentParser) -> None:
    """The assumptions of the report's memory and cost section (``--model`` is the serving LLM too)."""
    parser.add_argument("--gpu", default=None, help="GPU for memory and capacity figures (default a100-80gb)")
    parser.add_argument("--price", default=None, help="API price from the catalog for cost figures (default gpt-4o-mini)")
    parser.add_argument("--queries-per-day", type=float, default=None, help="volume for cost figures (default 10,000)")
    parser.add_argument("--top-k", type=int, default=None, help="retrieved chunks per query (default 5)")


def _report_options(args: argparse.Namespace) -> dict:
    return {"gpu": args.gpu, "price": args.price, "queries_per_day": args.queries_per_day, "top_k": args.top_k}


def _add_follow_symlinks(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--follow-symlinks", action="store_true",
                        help="in a folder store, read links that lead out of the store and descend into linked folders "
                             "(default: such links are quarantined as outside_store)")


def _add_kind(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=["file", "folder", "jsonl", "parquet", "csv"], default=None,
                        help="what the store is, where its name does not say (default: from the name; "
                             ".jsonl.gz/.bz2/.xz are compressed JSONL)")


def _prepare(paths: list[Path], args: argparse.Namespace):
    documents = [doc for path in paths for doc in iter_documents(path)]
    return prepare(documents, model=args.model, tokenizer=args.tokenizer, **_chunk_arguments(args), **_report_options(args))


def _preview(text: str, width: int = 72) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "\u2026"


def cmd_demo(args: argparse.Namespace) -> int:
    sample = _sample_dir()
    result = _prepare([sample], args)
    if args.json:
        print(result.report.to_json())
        return EXIT_OK
    print(f"chunkwise {__version__} demo ({backend()} core) on the bundled sample corpus: {sample}\n")
    print(result.report.to_text())
    print("\nFirst chunks (doc, tokens, raw offsets, text):")
    for c in result.chunks[:8]:
        print(f"  {c.doc_id[:34]:<34} {c.token_count:>4}  [{c.start:>6}:{c.end:<6}]  {_preview(c.text, 60)}")
    print(f"\n{len(result.chunks)} chunks from {len(result.documents)} documents; every chunk <= {args.max_tokens} tokens.")
    return EXIT_OK


class _Progress:
    """Progress bars on stderr (tqdm: rate and time left), one per stage as it starts; made only when
    stderr is a terminal, so piped and logged runs stay quiet."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self._bar = None
        self._stage = None

    def stage(self, name: str, total: int | None = None, unit: str = "doc", unit_scale: bool = False):
        """The bar of ``name``, started (and the previous stage's closed) the first time it is named."""
        if name != self._stage:
            from tqdm import tqdm

            self.close()
            self._stage = name
            self._bar = tqdm(total=total, desc=name, unit=unit, unit_scale=unit_scale, file=self._stream,
                             dynamic_ncols=True, mininterval=0.2, leave=False)
        return self._bar

    def advance_to(self, bar, value: int) -> None:
        if value > bar.n:
            bar.update(value - bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._stage = None

    def __call__(self, event) -> None:
        """A ``prepare_store`` progress event."""
        if event.phase == "done":
            self.close()
        elif event.phase == "assembling":
            self.advance_to(self.stage("assembling", unit="chunk", unit_scale=True), event.chunks)
        elif event.phase == "deduplicating":
            bar = self.stage("deduplicating", total=event.total_bytes, unit="B", unit_scale=True)
            self.advance_to(bar, min(event.bytes_read, event.total_bytes or event.bytes_read))
        elif event.total_bytes:
            # Skipped documents count as read: the rate is of the whole store, not of new work.
            bar = self.stage("preparing", total=event.total_bytes, unit="B", unit_scale=True)
            bar.set_postfix_str(f"{event.processed + event.skipped:,} docs, {event.skipped:,} unchanged, "
                                f"{event.quarantined:,} quarantined", refresh=False)
            self.advance_to(bar, min(event.bytes_read, event.total_bytes))
        else:
            bar = self.stage("preparing")
            bar.set_postfix_str(f"{event.skipped:,} unchanged, {event.quarantined:,} quarantined, "
                                f"{event.bytes_read / 1e6:,.1f} MB read", refresh=False)
            self.advance_to(bar, event.processed + event.skipped)

    def audit_step(self, stage: str, done: int, total: int) -> None:
        """An ``audit`` progress event."""
        self.advance_to(self.stage(stage, total=total), done)


def _prepare_options(args: argparse.Namespace) -> dict:
    options = {"model": args.model, "tokenizer": args.tokenizer, **_chunk_arguments(args)}
    return options | {name: value for name, value in _report_options(args).items() if value is not None}


def _show_quarantine(path: Path, limit: int = _SHOWN_PROBLEMS) -> None:
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for line in lines[:limit]:
        entry = json.loads(line)
        print(f"chunkwise: quarantined {entry['doc_id']}: {entry['reason']}: {entry['detail']}", file=sys.stderr)
    if len(lines) > limit:
        print(f"chunkwise: ... and {len(lines) - limit} more in {path}", file=sys.stderr)


def _store_dedup(args: argparse.Namespace) -> bool | str:
    if args.no_store_dedup or args.store_dedup == "off":
        return False
    return True if args.store_dedup is None else args.store_dedup


def cmd_prepare(args: argparse.Namespace) -> int:
    config = BatchConfig(
        engine=args.engine,
        workers=args.workers,
        scheduler=args.scheduler,
        batch_size=args.batch_size,
        max_document_bytes=args.max_document_bytes,
        output_format=args.format,
        store_dedup=_store_dedup(args),
        id_column=args.id_column,
        text_column=args.text_column,
        follow_symlinks=args.follow_symlinks,
        retry_quarantined=args.retry_quarantined,
    )
    show_progress = not args.quiet and sys.stderr.isatty()
    store = args.store if args.kind is None else open_store(
        args.store, kind=args.kind, id_column=args.id_column, text_column=args.text_column,
        max_document_bytes=args.max_document_bytes, follow_symlinks=args.follow_symlinks)
    summary = prepare_store(
        store, args.output, config,
        prepare_options=_prepare_options(args),
        progress=_Progress(sys.stderr) if show_progress else None,
    )
    if not args.quiet:
        _show_quarantine(Path(summary.files["quarantine"]))
    if args.json:
        report = json.loads(Path(summary.files["report_json"]).read_text(encoding="utf-8"))
        print(json.dumps({"summary": summary.to_dict(), "report": report}, ensure_ascii=False, indent=2))
    elif not args.quiet:
        print(Path(summary.files["report_text"]).read_text(encoding="utf-8"), end="")
        print(
            f"\nwrote {summary.chunks:,} chunks from {summary.documents:,} documents to {summary.output} "
            f"({summary.processed:,} prepared, {summary.skipped:,} unchanged, {summary.quarantined:,} quarantined, "
            f"{summary.removed:,} duplicate chunks removed) in {summary.seconds:.1f} s"
        )
    if summary.quarantined and summary.chunks == 0 and summary.documents - summary.quarantined <= 0:
        return EXIT_INPUT
    return EXIT_PARTIAL if summary.quarantined else EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    skipped: list[str] = []
    store = open_store(args.store, kind=args.kind, id_column=args.id_column, text_column=args.text_column,
                       follow_symlinks=args.follow_symlinks)
    progress = _Progress(sys.stderr) if not args.quiet and sys.stderr.isatty() else None
    documents = []
    for document in store_documents(store, lambda doc_id, problem: skipped.append(f"{doc_id}: {problem.reason} ({problem.detail})")):
        documents.append(document)
        if progress is not None:
            progress.stage("reading").update(1)
    if not documents:
        print(f"chunkwise: error: no readable documents in {args.store}", file=sys.stderr)
        return EXIT_INPUT
    try:
        result = audit(
            documents,
            tokenizer=args.tokenizer,
            model=args.model,
            sample=args.sample,
            seed=args.seed,
            max_tokens=args.max_tokens,
            progress=progress.audit_step if progress is not None else None,
            **_report_options(args),
        )
    finally:
        if progress is not None:
            progress.close()
    if args.html is not None:
        _write_file(args.html, result.to_html().encode("utf-8"))
    if args.json:
        print(result.to_json())
    elif not args.quiet:
        print(result.to_text())
        if args.html is not None:
            print(f"\nwrote the HTML audit to {args.html}")
    for line in skipped[:_SHOWN_PROBLEMS]:
        print(f"skipped {line}", file=sys.stderr)
    if len(skipped) > _SHOWN_PROBLEMS:
        print(f"... and {len(skipped) - _SHOWN_PROBLEMS} more skipped documents", file=sys.stderr)
    return EXIT_PARTIAL if skipped else EXIT_OK


def cmd_viz(args: argparse.Namespace) -> int:
    documents = list(iter_documents(args.file))
    if not documents:
        print(f"chunkwise: error: no readable documents in {args.file}", file=sys.stderr)
        return EXIT_INPUT
    if args.doc is not None and args.doc not in {d.id for d in documents}:
        print(f"chunkwise: error: no document {args.doc!r} in {args.file}; its first is {documents[0].id!r}",
              file=sys.stderr)
        return EXIT_INPUT
    result = prepare(documents, model=args.model, tokenizer=args.tokenizer, report_config=False, **_chunk_arguments(args))
    doc_id = args.doc or (result.chunks[0].doc_id if result.chunks else documents[0].id)
    output = args.output or Path(f"{Path(str(args.file).rstrip('/')).name}.chunks.html")
    shown = visualize(result, doc_id=doc_id)
    _write_file(output, shown.html.encode("utf-8"))
    if args.json:
        print(json.dumps({"output": str(output), "doc_id": doc_id, "chunks": shown.chunks, "removed": shown.removed}))
    elif not args.quiet:
        print(f"wrote {output}: {doc_id}, {shown.chunks:,} chunks, {shown.removed:,} removed spans "
              f"(cap {args.max_tokens} tokens); open it in a browser")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    paths = OutputPaths.for_output(args.result, None)
    try:
        paths.finish_interrupted_commit()  # a run killed while moving its files into place: finish the move
    except OSError as err:
        raise OutputError(f"cannot finish the interrupted commit of {paths.chunks} ({os_error_reason(err)})") from err
    report_json = paths.sidecar(".report.json")
    if not report_json.exists():
        print(f"chunkwise: error: no report next to {paths.chunks}; run chunkwise prepare STORE -o {args.result} first",
              file=sys.stderr)
        return EXIT_INPUT
    if args.html is not None:
        html_page = paths.sidecar(".report.html").read_bytes()
        sample = paths.sidecar(".sample.html")
        if sample.exists():  # the report links it by name: it goes beside the copy
            copied = args.html.with_name(sample.name)
            if copied.resolve() != sample.resolve():
                _write_file(copied, sample.read_bytes())
        _write_file(args.html, html_page)
    if args.json:
        summary_path = paths.sidecar(".summary.json")
        summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else None
        report = json.loads(report_json.read_text(encoding="utf-8"))
        print(json.dumps({"summary": summary, "report": report}, ensure_ascii=False, indent=2))
    elif args.html is None:
        print(paths.sidecar(".report.txt").read_text(encoding="utf-8"), end="")
    if args.measure:
        _print_measured(json.loads(report_json.read_text(encoding="utf-8")))
    return EXIT_OK


def _print_measured(report: dict) -> None:
    """``report --measure``: the report's model built on this machine's GPU, at each side's request length."""

    economics = report.get("economics") or {}
    model = economics.get("model")
    if not model:
        print("chunkwise: measured mode needs a report with a memory and cost section (this one was made with "
              "report_config=False or by a chunkwise before 0.1's store economics); run chunkwise prepare again; "
              "nothing measured", file=sys.stderr)
        return
    for side in ("naive", "chunkwise"):
        seq_len = ((economics.get(side) or {}).get("capacity") or {}).get("context_length")
        if not seq_len:
            continue
        try:
            result = measure(model, seq_len=int(seq_len))
        except (DeviceUnavailableError, MissingDependencyError) as err:
            print(f"chunkwise: measured mode skipped: {err}", file=sys.stderr)
            return
        print(f"\nmeasured, {side} request:\n{result.to_text()}")


def _write_file(path: Path, data: bytes) -> None:
    """Write a file the user named (``--html``), creating its folder; OutputError, not a traceback, if it cannot be."""

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
    except OSError as err:
        raise OutputError(f"cannot write {path} ({os_error_reason(err)}); pass a writable file path") from err


def _load_chunker(spec: str):
    """``module:function`` -> the callable (text -> chunks) it names."""
    import importlib


    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"--chunker {spec!r}: give it as module:function, e.g. mypkg.split:split_text")
    try:
        target = importlib.import_module(module_name)
    except ImportError as err:
        raise ConfigError(f"--chunker {spec!r}: cannot import {module_name!r} ({err})") from err
    for part in attribute.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ConfigError(f"--chunker {spec!r}: {module_name!r} has no {attribute!r}")
    if not callable(target):
        raise ConfigError(f"--chunker {spec!r} is not callable")
    return target


def _read_questions(path: Path) -> list[dict]:
    if not path.is_file():
        raise InputDataError(f"questions file {path} does not exist")
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputDataError(f"{path}:{number}: not JSON ({err.msg}); one question object per line") from err
            if not isinstance(record, dict):
                raise InputDataError(f"{path}:{number}: a question must be a JSON object")
            records.append(record)
    return records


def cmd_eval(args: argparse.Namespace) -> int:
    if args.max_tokens < 1 or args.top_k < 1 or any(b < 1 for b in args.budgets):
        print("chunkwise: error: --max-tokens, --top-k and --budgets must be positive", file=sys.stderr)
        return EXIT_USAGE
    documents = list(iter_documents(args.store))
    if not documents:
        print(f"chunkwise: error: no readable documents in {args.store}", file=sys.stderr)
        return EXIT_INPUT
    questions = _read_questions(args.questions)
    chunkers = {}
    if args.strategy == "semantic":
        chunkers["chunkwise semantic"] = lambda text: chunk(text, max_tokens=args.max_tokens, tokenizer=args.tokenizer,
                                                            strategy="semantic")
    for spec in args.chunker or []:
        chunkers[spec] = _load_chunker(spec)
    if not args.quiet:
        print(f"evaluating on {len(documents)} documents and {len(questions)} questions ...", file=sys.stderr)
    result = evaluate(documents, questions, chunkers, max_tokens=args.max_tokens, top_k=args.top_k,
                      budgets=tuple(args.budgets), tokenizer=args.tokenizer, embedder=args.embedder)
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.to_text())
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chunkwise", description="Fewer, better tokens for RAG.")
    parser.add_argument("--version", action="version", version=f"chunkwise {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="prepare the bundled sample corpus and show what it saved")
    _add_chunk_options(demo)
    _add_report_options(demo)
    demo.set_defaults(handler=cmd_demo, bad_option_exit=EXIT_USAGE)
    prep = commands.add_parser(
        "prepare",
        help="prepare a file, a folder (txt/md/html and JSONL/Parquet/CSV shards) or a store (.jsonl[.gz]/.parquet/.csv); "
             "resumable and incremental",
    )
    prep.add_argument("store", help="a text/Markdown/HTML/PDF/DOCX file, a folder of them (and of data files), or a .jsonl[.gz]/.parquet/.csv store; a path or an fsspec URL (s3://, gs://...)")
    # A str, not a Path: a trailing slash marks a folder whose name has a dot ("run.v2/").
    prep.add_argument("-o", "--output", required=True,
                      help="chunk file (.jsonl or .parquet) or a folder for chunks.jsonl (outside the store); "
                           "sidecars and state go beside it")
    prep.add_argument("--engine", choices=["local", "dask"], default="local")
    prep.add_argument("--workers", type=int, default=1, help="worker processes (default 1: in this process)")
    prep.add_argument("--scheduler", default=None, help="Dask scheduler address (default: a LocalCluster of --workers)")
    prep.add_argument("--batch-size", type=int, default=64, help="documents per batch (bounds memory; default 64)")
    prep.add_argument("--max-document-bytes", type=int, default=64 * 1024 * 1024,
                      help="larger documents are quarantined (default 64 MiB)")
    prep.add_argument("--format", choices=["jsonl", "parquet"], default=None, help="output format (default: from -o)")
    prep.add_argument("--id-column", default="id", help="id field of JSONL/Parquet/CSV stores (default id)")
    prep.add_argument("--text-column", default="text", help="text field of JSONL/Parquet/CSV stores (default text)")
    prep.add_argument("--store-dedup", choices=["full", "chunks", "off"], default=None,
                      help="dedup across the store's documents: 'full' removes what prepare() removes, deciding over "
                           "the whole store in memory before chunking; 'chunks' streams, dropping chunks that repeat "
                           "an earlier chunk exactly; 'off' removes nothing across documents (default: full, or "
                           "chunks with a warning when the store is over a tenth of the memory available)")
    prep.add_argument("--no-store-dedup", action="store_true", help="the same as --store-dedup off")
    prep.add_argument("--retry-quarantined", action="store_true",
                      help="prepare again documents quarantined for bad input too (those quarantined for an error "
                           "or a dying worker are always retried)")
    _add_follow_symlinks(prep)
    _add_kind(prep)
    prep.add_argument("-q", "--quiet", action="store_true", help="no progress, no report, no quarantine list")
    _add_chunk_options(prep)
    _add_report_options(prep)
    prep.set_defaults(handler=cmd_prepare, bad_option_exit=EXIT_USAGE)
    aud = commands.add_parser("audit", help="measure a store's token efficiency and cost without changing it")
    aud.add_argument("store", help="a text/Markdown/HTML/PDF/DOCX file, a folder of them (and of data files), or a .jsonl[.gz]/.parquet/.csv store; a path or an fsspec URL (s3://, gs://...)")
    aud.add_argument("--sample", type=int, default=None, help="measure N seeded random documents (with intervals)")
    aud.add_argument("--seed", type=int, default=0)
    aud.add_argument("--max-tokens", type=int, default=512, help="window size of the naive baseline (default 512)")
    aud.add_argument("--tokenizer", default=None, help="catalog name or path to tokenizer.json (default cl100k_base)")
    aud.add_argument("--model", default=None, help="serving LLM for the memory and cost figures (default llama-3-8b)")
    _add_report_options(aud)
    aud.add_argument("--id-column", default="id", help="id field of JSONL/Parquet/CSV stores (default id)")
    aud.add_argument("--text-column", default="text", help="text field of JSONL/Parquet/CSV stores (default text)")
    _add_follow_symlinks(aud)
    _add_kind(aud)
    aud.add_argument("--json", action="store_true", help="print the audit as JSON")
    aud.add_argument("--html", type=Path, default=None, help="also write the HTML audit to this file")
    aud.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    aud.set_defaults(handler=cmd_audit, bad_option_exit=EXIT_USAGE)
    viz = commands.add_parser("viz", help="draw a document's chunk boundaries, token counts and removed spans as an HTML page")
    viz.add_argument("file", type=Path, help="a text/Markdown/HTML/PDF/DOCX file, or a folder (see --doc)")
    viz.add_argument("-o", "--output", type=Path, default=None, help="the page to write (default FILE.chunks.html here)")
    viz.add_argument("--doc", default=None, help="which document of a folder to draw (default the first with chunks)")
    viz.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    _add_chunk_options(viz)
    viz.set_defaults(handler=cmd_viz, bad_option_exit=EXIT_USAGE)
    rep = commands.add_parser("report", help="show the report of a prepared output (text, --json, or --html FILE)")
    rep.add_argument("result", type=Path, help="the -o of a chunkwise prepare run")
    rep.add_argument("--json", action="store_true", help="print the run summary and report as JSON")
    rep.add_argument("--html", type=Path, default=None, help="write the HTML report to this file")
    rep.add_argument("--measure", action="store_true",
                     help="build the report's model with random weights on this machine's CUDA GPU and print its "
                          "measured memory next to the estimates (needs torch with CUDA and transformers)")
    rep.set_defaults(handler=cmd_report, bad_option_exit=EXIT_USAGE)
    ev = commands.add_parser("eval", help="measure retrieval quality per token of chunkwise vs naive splitting on your labelled questions")
    ev.add_argument("store", type=Path, help="the documents: a file, a folder (txt/md/html) or a .jsonl/.parquet/.csv store")
    ev.add_argument("--questions", type=Path, required=True,
                    help="JSONL, one object per line: question, doc_id (the document's id, e.g. its path in the folder), "
                         "and evidence as start/end, a list of spans, or text to locate")
    ev.add_argument("--max-tokens", type=int, default=250, help="chunk cap for every chunker (default 250)")
    ev.add_argument("--top-k", type=int, default=5, help="chunks retrieved per question (default 5)")
    ev.add_argument("--budgets", type=int, nargs="+", default=[256, 512, 1024, 2048],
                    help="context budgets in tokens for recall at a budget (default 256 512 1024 2048)")
    ev.add_argument("--tokenizer", default=None, help="counts caps and budgets (default cl100k_base)")
    ev.add_argument("--embedder", default="balanced", help="retrieval embedder profile (default balanced: all-MiniLM-L6-v2)")
    ev.add_argument("--strategy", choices=["structural", "semantic"], default="structural",
                    help="semantic adds a chunkwise semantic row")
    ev.add_argument("--chunker", action="append", metavar="MODULE:FUNCTION",
                    help="also compare this callable (text -> list of str, (start, end) or objects with start/end); repeatable")
    ev.add_argument("--json", action="store_true", help="print every figure as JSON")
    ev.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    ev.set_defaults(handler=cmd_eval, bad_option_exit=EXIT_USAGE)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except MissingDependencyError as err:
        print(f"chunkwise: error: {err}", file=sys.stderr)
        return EXIT_DEPENDENCY
    except OutputError as err:
        print(f"chunkwise: error: {err}", file=sys.stderr)
        return EXIT_OUTPUT
    except (ConfigError, CatalogError) as err:  # an unknown --gpu, --model or --price is a bad option too
        print(f"chunkwise: error: {err}", file=sys.stderr)
        # A bad option is a usage error; 'eval' has not moved over yet and still answers EXIT_INPUT.
        return getattr(args, "bad_option_exit", EXIT_INPUT)
    except ChunkwiseError as err:
        print(f"chunkwise: error: {err}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("chunkwise: interrupted; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`chunkwise report --json | head`): not an error. Point stdout at
        # devnull so the interpreter's final flush does not raise the same error again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
