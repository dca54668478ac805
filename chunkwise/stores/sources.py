"""Document stores in (folder, file, JSONL, Parquet, CSV) and chunk files out (JSONL, Parquet).

Readers stream ``StoreRecord``s in a deterministic store order and never hold
more than one record: a folder is walked directory by directory in sorted
order, a JSONL file line by line (a line longer than the size limit is
skipped without being read into memory), Parquet by record batches. A record
carries its raw payload and a content hash; decoding (UTF-8, HTML to text)
happens later, in the worker, so an undecodable document is quarantined
there and not here. A record the reader itself cannot use (too large, a
malformed JSON line, a missing text column) comes with ``problem`` set.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import re
import stat
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, Literal

from .._types import Document
from ..errors import ChunkwiseWarning, ConfigError, InputDataError, MissingDependencyError
from .readers import (
    CODE_SUFFIXES,
    DOCX_SUFFIXES,
    HTML_SUFFIXES,
    PDF_SUFFIXES,
    SKIP_NAMES,
    TEXT_SUFFIXES,
    decode_bytes,
    docx_to_text,
    file_metadata,
    html_to_text,
    pdf_to_text,
)

StoreKind = Literal["file", "folder", "jsonl", "parquet", "csv", "dataset"]
PayloadFormat = Literal["text", "html", "pdf", "docx"]
OutputFormat = Literal["jsonl", "parquet"]

JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
READ_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES | DOCX_SUFFIXES | frozenset(CODE_SUFFIXES)
"""Suffixes of the files a folder store reads as documents (besides its data files)."""
DEFAULT_MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
_SKIP_CHUNK = 1 << 20
_PARQUET_ROWS_PER_READ = 1024
_PARQUET_ROWS_PER_GROUP = 65_536
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a document was quarantined: a short machine reason and a human detail."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class StoreRecord:
    """One document as read from a store, before decoding.

    ``payload`` is bytes (files, binary columns) or str (JSON, text columns);
    ``content_hash`` covers the id, payload, format and metadata, so a changed
    document gets a new hash. ``size`` is the payload size in bytes.
    """

    doc_id: str
    payload: bytes | str | None
    payload_format: PayloadFormat
    size: int
    content_hash: str
    metadata: dict[str, Any] = field(default_factory=dict)
    problem: Problem | None = None
    dedup_plan: Any = None  # a pipeline.DedupPlan when the store's dedup was decided before chunking (True: the document's own)


def _hash(doc_id: str, payload: bytes | str | None, payload_format: str, metadata: dict[str, Any]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(doc_id.encode("utf-8", "surrogatepass") + b"\x1f" + payload_format.encode() + b"\x1f")
    digest.update(json.dumps(metadata, sort_keys=True, ensure_ascii=True, default=str).encode() + b"\x1f")
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogatepass")
    digest.update(payload or b"")
    return digest.hexdigest()


def _record(doc_id: str, payload: bytes | str, payload_format: PayloadFormat, metadata: dict[str, Any]) -> StoreRecord:
    size = len(payload) if isinstance(payload, bytes) else len(payload.encode("utf-8", "surrogatepass"))
    return StoreRecord(doc_id, payload, payload_format, size, _hash(doc_id, payload, payload_format, metadata), metadata)


def _problem(doc_id: str, reason: str, detail: str, size: int = 0) -> StoreRecord:
    # Problems are cheap to find again, so their hash only has to be stable for one run.
    # Names read from disk may hold lone surrogates (bytes that are not UTF-8): escaped, they can be written.
    doc_id, detail = escape_surrogates(doc_id), escape_surrogates(detail)
    return StoreRecord(doc_id, None, "text", size, _hash(doc_id, reason, "problem", {}), {}, Problem(reason, detail))


def _too_large(doc_id: str, size: int, limit: int) -> StoreRecord:
    return _problem(doc_id, "too_large", f"{size:,} bytes is over the limit of {limit:,} (raise max_document_bytes)", size)


@dataclass(frozen=True, slots=True)
class Store:
    """A document store: where it is, what kind it is, and how to find id and text in it."""

    path: Path
    kind: StoreKind
    id_column: str = "id"
    text_column: str = "text"
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    follow_symlinks: bool = False
    # Rows without an id are named "<id_prefix>line-N": a data file inside a folder store prefixes its path.
    id_prefix: str = ""
    # Files of a folder that were not read, by suffix (filled while ``records`` walks the folder).
    unread: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    # A store behind an fsspec URL: its filesystem and its path there (``path`` then only names it).
    fs: Any = field(default=None, compare=False, repr=False)
    remote: str | None = None
    # A pyarrow.dataset.Dataset (kind "dataset"): rows read in its fragments' order.
    dataset: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.follow_symlinks, bool):
            raise ConfigError(f"follow_symlinks must be True or False, got {self.follow_symlinks!r}")
        if self.max_document_bytes < 1:
            raise ConfigError(f"max_document_bytes must be >= 1, got {self.max_document_bytes}")

    @property
    def total_bytes(self) -> int | None:
        """Size of a single-file store (for progress); None for a folder, which is not pre-walked, and
        for a compressed file, whose records are counted uncompressed."""
        if self.kind in ("folder", "dataset") or self.path.suffix.lower() in COMPRESSIONS:
            return None
        return int(self.fs.size(self.remote)) if self.fs is not None else self.path.stat().st_size

    @property
    def location(self) -> str:
        """The store as the user named it: its path, or its URL."""
        if self.dataset is not None:
            return "the pyarrow dataset"
        return self.fs.unstrip_protocol(self.remote) if self.fs is not None else str(self.path)

    def unread_note(self) -> str:
        """What a folder walk passed over, for an error about an empty store ("" when nothing)."""
        if not self.unread:
            return ""
        found = ", ".join(f"{count:,} {suffix or 'without a suffix'}" for suffix, count in sorted(self.unread.items()))
        readable = sorted(READ_SUFFIXES | JSONL_SUFFIXES | {".parquet", ".csv", ".jsonl.gz"})
        return f" it reads ({', '.join(readable)}); it has files it does not read ({found})"

    def records(self) -> Iterator[StoreRecord]:
        """Every document of the store, in store order.

        A document that cannot be read is a record with ``problem`` set; a store
        that cannot be read at all (the file is unreadable, not Parquet) raises
        InputDataError, never a bare OSError. Each walk counts the files it does not
        read afresh (``unread_note``).
        """
        self.unread.clear()
        try:
            yield from _READERS[self.kind](self)
        except OSError as err:
            raise InputDataError(f"cannot read the store {self.location}: {os_error_reason(err)}") from err
        except (EOFError, ValueError) as err:  # a truncated or corrupt compressed file (lzma's error is a ValueError)
            raise InputDataError(f"cannot read the store {self.location}: {_one_line(err)}") from err


def record_document(record: StoreRecord) -> Document:
    """The Document a record holds: bytes decoded (UTF-8, else the encoding found, named in the
    metadata as ``encoding``), HTML reduced to its text. UnicodeDecodeError when no encoding fits."""
    metadata = record.metadata
    if record.payload_format == "pdf":
        text, page_starts = pdf_to_text(_payload_bytes(record))
        return Document(record.doc_id, text, {**metadata, "page_starts": page_starts})
    if record.payload_format == "docx":
        return Document(record.doc_id, docx_to_text(_payload_bytes(record)), metadata)
    if isinstance(record.payload, bytes):
        text, encoding = decode_bytes(record.payload, html=record.payload_format == "html")
        if encoding != "utf-8":
            metadata = {**metadata, "encoding": encoding}
    else:
        text = record.payload
    if record.payload_format == "html":
        text = html_to_text(text)
    return Document(record.doc_id, text, metadata)


def _payload_bytes(record: StoreRecord) -> bytes:
    if not isinstance(record.payload, bytes):
        raise InputDataError(f"{record.doc_id}: a {record.payload_format.upper()} document must be bytes, not text")
    return record.payload


def with_unique_ids(records: Iterable[StoreRecord], seen: Callable[[str], bool] | None = None) -> Iterator[StoreRecord]:
    """``records`` with every repeat of an earlier readable record's id turned into a ``duplicate_id`` problem.

    ``seen(doc_id)`` says whether a readable record with that id came earlier
    (``prepare_store`` asks its manifest, which keeps memory flat); without
    it the ids are kept in a set.
    """
    ids: set[str] | None = set() if seen is None else None
    for record in records:
        if record.problem is None:
            if (record.doc_id in ids) if ids is not None else seen(record.doc_id):
                record = replace(record, payload=None, problem=Problem(
                    "duplicate_id", f"id {record.doc_id!r} appeared earlier in the store; ids must be unique"))
            elif ids is not None:
                ids.add(record.doc_id)
        yield record


def store_documents(store: Store, on_problem: Callable[[str, Problem], None] | None = None) -> Iterator[Document]:
    """The readable documents of ``store``, in store order.

    A record that cannot be read (undecodable, too large, unparseable, a
    repeated id) goes to ``on_problem(doc_id, problem)``; without one it
    raises InputDataError.
    """
    for record in with_unique_ids(store.records()):
        problem = record.problem
        document = None
        if problem is None:
            try:
                document = record_document(record)
            except UnicodeDecodeError as err:
                problem = Problem("undecodable", f"not text in any encoding ({err}); convert it or pass text yourself")
            except MissingDependencyError as err:  # a PDF without pypdf: the other documents still read
                problem = Problem("error", str(err))
            except InputDataError as err:  # a damaged PDF or DOCX
                problem = Problem("parse_error", str(err))
        if document is not None:
            yield document
        elif on_problem is None:
            raise InputDataError(f"{record.doc_id}: {problem.reason}: {problem.detail}")
        else:
            on_problem(record.doc_id, problem)


COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "lzma"}


def data_kind(path: Path) -> StoreKind | None:
    """The store kind of a data file by its name (``x.jsonl.gz`` is compressed JSONL), or None."""
    suffixes = [suffix.lower() for suffix in path.suffixes[-2:]]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        return "jsonl" if len(suffixes) == 2 and suffixes[0] in JSONL_SUFFIXES else None
    suffix = suffixes[-1] if suffixes else ""
    return "jsonl" if suffix in JSONL_SUFFIXES else {".parquet": "parquet", ".csv": "csv"}.get(suffix)


def _open_binary(store: Store) -> BinaryIO:
    """A data file opened for reading, decompressed as its suffix says."""
    compression = COMPRESSIONS.get(store.path.suffix.lower())
    if store.fs is not None:
        return store.fs.open(store.remote, "rb", compression=compression)
    if compression is None:
        return store.path.open("rb")
    module = __import__(compression)
    return module.open(store.path, "rb")


def open_store(
    path: str | os.PathLike[str],
    *,
    kind: StoreKind | None = None,
    id_column: str = "id",
    text_column: str = "text",
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
    follow_symlinks: bool = False,
) -> Store:
    """A ``Store`` for ``path``; the kind comes from the path (folder, .jsonl, .parquet, .csv, a text file).

    ``path`` may also be an fsspec URL (``s3://bucket/docs/``) or a ``pyarrow.dataset.Dataset``
    (``pyarrow.dataset.dataset("shards/", format="parquet")``), read a record batch at a time.

    In a folder, symbolic links that lead out of the store are quarantined
    (``outside_store``) unless ``follow_symlinks=True``, which also descends
    into linked folders (a link back to a folder being walked is quarantined
    as ``symlink_loop``).
    """
    if type(path).__module__.startswith("pyarrow") and hasattr(path, "scanner") and hasattr(path, "to_batches"):
        return Store(Path("dataset"), "dataset", id_column, text_column, max_document_bytes, dataset=path)
    if isinstance(path, str) and "://" in path and not path.startswith("file://"):
        return _url_store(path, kind, id_column, text_column, max_document_bytes)
    path = Path(path[len("file://"):] if isinstance(path, str) and path.startswith("file://") else path)
    if not path.exists():
        raise InputDataError(f"{path} does not exist; pass a folder, a .jsonl, .parquet or .csv file, or a text file")
    if kind is None:
        kind = _kind_of(path, path.is_dir(), str(path))
    if kind not in ("file", "folder", "jsonl", "parquet", "csv"):
        raise ConfigError(f"kind must be one of file, folder, jsonl, parquet, csv; got {kind!r}")
    return Store(path, kind, id_column, text_column, max_document_bytes, follow_symlinks)


def _kind_of(name: Path, is_folder: bool, where: str) -> StoreKind:
    """The kind of a store by what it is and its name (local or behind a URL)."""
    if is_folder:
        return "folder"
    kind = data_kind(name)
    if kind is not None:
        return kind
    if name.suffix.lower() in READ_SUFFIXES:
        return "file"
    raise InputDataError(f"cannot tell what kind of store {where} is; name it .jsonl/.jsonl.gz/.parquet/.csv, "
                         "or pass kind= (--kind)")


def _url_store(url: str, kind: StoreKind | None, id_column: str, text_column: str, max_document_bytes: int) -> Store:
    """A store behind an fsspec URL (``s3://``, ``gs://``, ``memory://``...), read through fsspec."""
    try:
        import fsspec
    except ImportError as err:
        raise MissingDependencyError(f"reading {url} needs fsspec: pip install fsspec (and the protocol's package, "
                                     "such as s3fs or gcsfs)") from err
    try:
        fs, remote = fsspec.core.url_to_fs(url)
    except ImportError as err:  # fsspec knows the protocol but its package is missing ("Install s3fs to access S3")
        raise MissingDependencyError(f"reading {url}: {err}") from err
    except ValueError as err:
        raise InputDataError(f"{url}: {err}") from err
    try:
        info = fs.info(remote)
    except FileNotFoundError as err:
        raise InputDataError(f"{url} does not exist") from err
    except OSError as err:
        raise InputDataError(f"cannot read {url}: {os_error_reason(err)}") from err
    name = Path(remote.rstrip("/") or "/")
    if kind is None:
        kind = _kind_of(name, info.get("type") == "directory", url)
    return Store(name, kind, id_column, text_column, max_document_bytes, fs=fs, remote=remote.rstrip("/"))


# ----------------------------------------------------------------------------- readers


def _file_record(path: Path, doc_id: str, limit: int) -> StoreRecord:
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            return _problem(doc_id, "not_a_file", f"{path} is a {_file_kind(status.st_mode)}, not a regular file")
        if status.st_size > limit:
            return _too_large(doc_id, status.st_size, limit)  # never read a 2 GB file to reject it
        payload = path.read_bytes()
    except OSError as err:
        return _unreadable(doc_id, err)
    return _record(doc_id, payload, _file_format(path), file_metadata(path))


def _file_format(path: Path) -> PayloadFormat:
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix in PDF_SUFFIXES:
        return "pdf"
    return "docx" if suffix in DOCX_SUFFIXES else "text"


def _file_records(store: Store) -> Iterator[StoreRecord]:
    if store.fs is not None:
        yield _remote_file_record(store, store.remote, store.path.name)
    else:
        yield _file_record(store.path, store.path.name, store.max_document_bytes)


def _remote_file_record(store: Store, remote: str, doc_id: str) -> StoreRecord:
    """A file behind fsspec as a record (too large ones are not read)."""
    try:
        size = int(store.fs.size(remote))
        if size > store.max_document_bytes:
            return _too_large(doc_id, size, store.max_document_bytes)
        payload = store.fs.cat_file(remote)
    except OSError as err:
        return _unreadable(doc_id, err)
    metadata = {key: store.fs.unstrip_protocol(value) for key, value in file_metadata(Path(remote)).items()}
    return _record(doc_id, payload, _file_format(Path(remote)), metadata)


def _remote_folder_records(store: Store) -> Iterator[StoreRecord]:
    """A folder behind fsspec: every file under it, in the order a local folder is walked (each
    folder's entries by name, depth first), so a store copied to a bucket gives the same output."""
    root = store.remote
    for remote in sorted(store.fs.find(root), key=lambda found: found[len(root):].lstrip("/").split("/")):
        doc_id = remote[len(root):].lstrip("/")
        name = Path(doc_id)
        kind = data_kind(name)
        if name.name.lower() in SKIP_NAMES:
            continue
        if kind is None and name.suffix.lower() not in READ_SUFFIXES:
            _count_unread(store, name)
        elif kind is not None:
            yield from _data_file_records(store, name, kind, doc_id, remote=remote)
        else:
            yield _remote_file_record(store, remote, doc_id)


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "named pipe"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
             (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "folder"))
    return next((name for test, name in kinds if test(mode)), "special file")


def _unreadable(doc_id: str, err: OSError) -> StoreRecord:
    if err.errno == errno.ELOOP:
        return _problem(doc_id, "symlink_loop", "a symbolic link that leads back to itself (a loop); remove or fix it")
    if err.errno == errno.ENOENT:
        return _problem(doc_id, "unreadable", f"gone, or a symbolic link to nothing ({os_error_reason(err)}); "
                                              "fix or remove it")
    hint = "fix its permissions" if err.errno in (errno.EACCES, errno.EPERM) else "check the disk"
    return _problem(doc_id, "unreadable", f"{os_error_reason(err)}; {hint} or remove it from the store")


def os_error_reason(err: OSError) -> str:
    """What an OSError says, on one line: 'Permission denied: /path'."""
    where = f": {err.filename}" if err.filename is not None else ""
    return " ".join(f"{err.strerror or err}{where}".split())


@dataclass(frozen=True, slots=True)
class _Walk:
    """What a folder walk needs to know: the store's real root and whether links may be followed."""

    root: Path
    real_root: Path
    follow_symlinks: bool

    def doc_id(self, path: Path, folder: bool = False) -> str:
        return path.relative_to(self.root).as_posix() + ("/" if folder else "")

    def outside(self, target: Path) -> bool:
        return target != self.real_root and self.real_root not in target.parents


def _walk_sorted(walk: _Walk, folder: Path, ancestors: frozenset[tuple[int, int]]) -> Iterator[Path | StoreRecord]:
    """Files under ``folder``, depth first, each folder's entries in sorted name order (streaming).

    Yields a problem record for a folder that cannot be listed, a link loop and,
    unless links are followed, a linked folder outside the store; ``ancestors``
    are the (device, inode) of the folders being walked, to recognise a loop.
    """
    try:
        with os.scandir(folder) as entries:
            ordered = sorted(entries, key=lambda entry: entry.name)
    except OSError as err:
        yield _unreadable(walk.doc_id(folder, folder=True), err)
        return
    for entry in ordered:
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            yield from _walk_folder(walk, path, ancestors)
            continue
        if not entry.is_symlink():
            yield path
            continue
        try:
            linked_folder = stat.S_ISDIR(path.stat().st_mode)
        except OSError:
            linked_folder = False  # a loop or a dangling link: reported when read, if it names a document
        if not linked_folder:
            yield path
        elif walk.follow_symlinks:
            yield from _walk_folder(walk, path, ancestors)
        elif walk.outside(path.resolve()):
            yield _outside_store(walk.doc_id(path, folder=True), path.resolve())
        # A linked folder inside the store is not descended: its files are read under their own paths.


def _walk_folder(walk: _Walk, folder: Path, ancestors: frozenset[tuple[int, int]]) -> Iterator[Path | StoreRecord]:
    try:
        status = folder.stat()
    except OSError as err:
        yield _unreadable(walk.doc_id(folder, folder=True), err)
        return
    key = (status.st_dev, status.st_ino)
    if key in ancestors:
        yield _problem(walk.doc_id(folder, folder=True), "symlink_loop",
                       f"a symbolic link to {folder.resolve()}, a folder that contains it (a loop); it is not walked again")
        return
    yield from _walk_sorted(walk, folder, ancestors | {key})


def _outside_store(doc_id: str, target: Path) -> StoreRecord:
    # A link out of the store could expose any file the job can read (/etc/passwd).
    return _problem(doc_id, "outside_store", f"a symbolic link to {target}, outside the store; links out of the store "
                                             "are not followed (copy the file in, or pass follow_symlinks / --follow-symlinks)")


def _folder_records(store: Store) -> Iterator[StoreRecord]:
    if store.fs is not None:
        yield from _remote_folder_records(store)
        return
    walk = _Walk(store.path, store.path.resolve(), store.follow_symlinks)
    for found in _walk_folder(walk, store.path, frozenset()):
        if isinstance(found, StoreRecord):
            yield found
            continue
        kind = data_kind(found)
        if found.name.lower() in SKIP_NAMES:
            continue
        if kind is None and found.suffix.lower() not in READ_SUFFIXES:
            _count_unread(store, found)
            continue
        doc_id = walk.doc_id(found)
        if doc_id != escape_surrogates(doc_id):
            yield _bad_id(doc_id, "the file name {} is not valid UTF-8; rename the file")
        elif found.is_symlink() and not store.follow_symlinks and _leads_outside(walk, found):
            yield _outside_store(doc_id, found.resolve())
        elif kind is not None:
            yield from _data_file_records(store, found, kind, doc_id)
        else:
            yield _file_record(found, doc_id, store.max_document_bytes)


def _count_unread(store: Store, path: Path) -> None:
    suffix = path.suffix.lower()
    store.unread[suffix] = store.unread.get(suffix, 0) + 1


def _data_file_records(store: Store, path: Path, kind: StoreKind, doc_id: str,
                       remote: str | None = None) -> Iterator[StoreRecord]:
    """The rows of a JSONL/Parquet/CSV file inside a folder store (a folder of shards; ``remote``: its
    path behind the store's fsspec filesystem); a file that cannot be read is one problem record,
    and the walk goes on."""
    inner = replace(store, path=path, kind=kind, remote=remote, id_prefix=f"{doc_id}:", unread={})
    try:
        yield from inner.records()
    except InputDataError as err:
        yield _problem(doc_id, "unreadable", str(err))


def _leads_outside(walk: _Walk, link: Path) -> bool:
    try:
        return walk.outside(Path(os.path.realpath(link, strict=True)))
    except OSError:
        return False  # a loop or a dangling link: reading it reports the problem


def escape_surrogates(text: str) -> str:
    """``text`` with lone surrogates (not valid Unicode, cannot be written as UTF-8) spelled as \\udXXX escapes."""
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _bad_id(doc_id: str, detail: str) -> StoreRecord:
    """A record for an id that cannot be written as UTF-8; ``detail`` has a ``{}`` for the (escaped) id."""
    return _problem(doc_id, "bad_id", detail.format(f"'{doc_id}'"))


def _skip_rest_of_line(handle: BinaryIO) -> None:
    while True:
        piece = handle.readline(_SKIP_CHUNK)
        if not piece or piece.endswith(b"\n"):
            return


def _row_record(store: Store, row: dict[str, Any], fallback_id: str) -> StoreRecord:
    """A record from one row/object with the store's id and text columns; other fields become metadata."""
    raw_id = row.get(store.id_column)
    doc_id = fallback_id if raw_id is None else str(raw_id)
    if doc_id != escape_surrogates(doc_id):
        return _bad_id(doc_id, f"the id {{}} ({fallback_id}) holds a lone surrogate, which is not valid Unicode; fix the id")
    text = row.get(store.text_column)
    if text is None:
        return _problem(doc_id, "parse_error", f"no {store.text_column!r} field (set text_column)")
    if not isinstance(text, (str, bytes)):
        return _problem(doc_id, "parse_error", f"{store.text_column!r} is a {type(text).__name__}, not text")
    metadata = row.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {k: v for k, v in row.items() if k not in (store.id_column, store.text_column) and v is not None}
    record = _record(doc_id, text, "text", metadata)
    if record.size > store.max_document_bytes:
        return _too_large(doc_id, record.size, store.max_document_bytes)
    return record


def _jsonl_records(store: Store) -> Iterator[StoreRecord]:
    limit = store.max_document_bytes
    with _open_binary(store) as handle:
        line_number = 0
        while True:
            # JSON escapes can make a line longer than its text; allow some room before calling it too large.
            line = handle.readline(limit * 2 + 1024)
            if not line:
                return
            line_number += 1
            fallback_id = f"{store.id_prefix}line-{line_number}"
            if not line.endswith(b"\n") and len(line) >= limit * 2 + 1024:
                _skip_rest_of_line(handle)
                yield _too_large(fallback_id, len(line), limit)
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except UnicodeDecodeError as err:
                yield _problem(fallback_id, "undecodable", f"line {line_number} is not valid UTF-8: {err}")
                continue
            except json.JSONDecodeError as err:
                yield _problem(fallback_id, "parse_error", f"line {line_number} is not valid JSON: {err}")
                continue
            if not isinstance(row, dict):
                yield _problem(fallback_id, "parse_error", f"line {line_number} is a JSON {type(row).__name__}, not an object")
                continue
            yield _row_record(store, row, fallback_id)


def _parquet_records(store: Store) -> Iterator[StoreRecord]:
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise MissingDependencyError("reading Parquet needs pyarrow: pip install 'chunkwise[parquet]'") from err
    try:
        parquet = pq.ParquetFile(store.fs.open(store.remote, "rb") if store.fs is not None else store.path)
    except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
        raise InputDataError(f"{store.location} is not a readable Parquet file ({_one_line(err)}); check it or re-export it") from err
    names = parquet.schema_arrow.names
    for column in (store.id_column, store.text_column):
        if column not in names:
            raise InputDataError(f"{store.location} has no column {column!r} (columns: {names}); set id_column/text_column")
    row_number = 0
    for group in range(parquet.num_row_groups):
        group_end = row_number + parquet.metadata.row_group(group).num_rows
        try:
            for batch in parquet.iter_batches(batch_size=_PARQUET_ROWS_PER_READ, row_groups=[group]):
                for row in batch.to_pylist():
                    row_number += 1
                    yield _row_record(store, row, f"{store.id_prefix}row-{row_number}")
        except (OSError, ValueError) as err:
            # A damaged row group loses its own rows, not the store: the next group is read as usual.
            yield _problem(f"{store.id_prefix}row-group-{group}", "unreadable",
                           f"rows {row_number + 1}-{group_end} of {store.location} cannot be read ({_one_line(err)}); re-export the file")
            row_number = group_end


def _dataset_records(store: Store) -> Iterator[StoreRecord]:
    names = store.dataset.schema.names
    for column in (store.id_column, store.text_column):
        if column not in names:
            raise InputDataError(f"the pyarrow dataset has no column {column!r} (columns: {names}); set id_column/text_column")
    row_number = 0
    # One thread: the rows must come in the same order on every run (resume and skipping depend on it).
    for batch in store.dataset.to_batches(batch_size=_PARQUET_ROWS_PER_READ, use_threads=False):
        for row in batch.to_pylist():
            row_number += 1
            yield _row_record(store, row, f"{store.id_prefix}row-{row_number}")


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())


def _csv_records(store: Store) -> Iterator[StoreRecord]:
    import csv
    import sys

    # The stdlib caps fields at 128 KiB; documents are larger. Raised only while this store is read.
    previous = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        opened = (io.TextIOWrapper(store.fs.open(store.remote, "rb"), encoding="utf-8", newline="") if store.fs is not None
                  else store.path.open("r", encoding="utf-8", newline=""))
        with opened as handle:
            reader = csv.DictReader(handle)
            for column in (store.id_column, store.text_column):
                if reader.fieldnames is None or column not in reader.fieldnames:
                    raise InputDataError(
                        f"{store.location} has no column {column!r} (header: {reader.fieldnames}); set id_column/text_column"
                    )
            for row_number, row in enumerate(reader, start=1):
                yield _row_record(store, row, f"{store.id_prefix}row-{row_number}")
    except UnicodeDecodeError as err:
        raise InputDataError(f"{store.location} is not valid UTF-8 ({err}); CSV stores must be UTF-8") from err
    finally:
        csv.field_size_limit(previous)


_READERS: dict[str, Callable[[Store], Iterator[StoreRecord]]] = {
    "file": _file_records, "folder": _folder_records, "jsonl": _jsonl_records, "parquet": _parquet_records,
    "csv": _csv_records, "dataset": _dataset_records,
}


# ----------------------------------------------------------------------------- writers


def fsync_directory(path: Path) -> None:
    """Make a rename inside ``path`` durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and fsync it; on any failure (a full disk) no part of it is left behind."""
    try:
        with path.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader (or a crash) sees the old file or the new one, never a part."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write_durably(tmp, data)
    try:
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


CHUNK_COLUMNS = ("id", "doc_id", "index", "start", "end", "token_count", "text", "metadata")
"""The columns of a chunk table, in order; ``metadata`` is a JSON object as a string."""


def chunk_schema() -> Any:
    """The pyarrow schema of a chunk table (Parquet output, ``prepare_batch`` on Arrow)."""
    try:
        import pyarrow as pa
    except ImportError as err:
        raise MissingDependencyError("Arrow tables and Parquet need pyarrow: pip install 'chunkwise[parquet]'") from err
    return pa.schema([
        ("id", pa.string()), ("doc_id", pa.string()), ("index", pa.int32()), ("start", pa.int64()),
        ("end", pa.int64()), ("token_count", pa.int32()), ("text", pa.string()), ("metadata", pa.string()),
    ])


class ChunkWriter:
    """Writes chunk dicts to a temporary file (``tmp``), made durable by ``finish`` and moved into place by ``commit``.

    JSONL: one ``Chunk.to_dict()`` object per line. Parquet: columns id,
    doc_id, index, start, end, token_count, text and metadata (a JSON string).
    A caller that moves several files into place as one commit calls
    ``finish`` and renames ``tmp`` itself.
    """

    def __init__(self, path: Path, output_format: OutputFormat, tmp: Path | None = None) -> None:
        self.path = path
        self.output_format = output_format
        self.tmp = tmp or path.with_name(f".{path.name}.tmp-{os.getpid()}")
        self.rows = 0
        self._buffer: list[dict[str, Any]] = []
        self._parquet: Any = None
        self._pa: Any = None
        if output_format == "jsonl":
            self._handle: BinaryIO | None = self.tmp.open("wb")
        elif output_format == "parquet":
            self._schema = chunk_schema()
            import pyarrow as pa
            import pyarrow.parquet as pq

            self._pa = pa
            self._handle = None
            self._parquet = pq.ParquetWriter(self.tmp, self._schema, compression="zstd")
        else:
            raise ConfigError(f"output format must be 'jsonl' or 'parquet', got {output_format!r}")

    def write(self, chunk: dict[str, Any]) -> None:
        self.rows += 1
        if self._handle is not None:
            self._handle.write(json.dumps(chunk, ensure_ascii=False).encode("utf-8") + b"\n")
            return
        self._buffer.append(chunk)
        if len(self._buffer) >= _PARQUET_ROWS_PER_GROUP:
            self._flush_parquet()

    def _flush_parquet(self) -> None:
        if not self._buffer:
            return
        columns = {name: [row[name] for row in self._buffer] for name in self._schema.names if name != "metadata"}
        columns["metadata"] = [json.dumps(row["metadata"], ensure_ascii=False, sort_keys=True) for row in self._buffer]
        self._parquet.write_table(self._pa.table(columns, schema=self._schema))
        self._buffer.clear()

    def finish(self) -> None:
        """Flush, close and fsync the temporary file (it is complete on disk, not yet in place)."""
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
        else:
            self._flush_parquet()
            self._parquet.close()
            with self.tmp.open("rb") as handle:
                os.fsync(handle.fileno())

    def commit(self) -> None:
        self.finish()
        os.replace(self.tmp, self.path)
        fsync_directory(self.path.parent)

    def abort(self) -> None:
        """Drop the temporary file; closing may fail again on the disk that failed the write, which is fine."""
        try:
            if self._handle is not None:
                self._handle.close()
            elif self._parquet is not None:
                self._parquet.close()
        except OSError:
            pass
        finally:
            self.tmp.unlink(missing_ok=True)


def iter_documents(path: str | Path, *, follow_symlinks: bool = False, kind: StoreKind | None = None,
                   errors: Literal["warn", "skip", "raise"] = "warn") -> Iterator[Document]:
    """Documents from a file (text, Markdown, HTML, PDF, DOCX), a folder of them (and of data
    files), or a JSONL (also compressed), Parquet or CSV store.

    Files and folders are read exactly as ``chunkwise prepare`` reads them (the
    same walk, ids and metadata; links out of a folder are read only with
    ``follow_symlinks=True``). A document that cannot be read (where ``prepare``
    would quarantine it) is passed over with a ChunkwiseWarning naming it and
    why (``errors="warn"``), passed over silently (``"skip"``), or raises
    InputDataError (``"raise"``). A store that cannot be read at all raises.
    """
    if errors not in ("warn", "skip", "raise"):
        raise ConfigError(f"errors must be 'warn', 'skip' or 'raise', got {errors!r}")

    def passed_over(doc_id: str, problem: Problem) -> None:
        if errors == "warn":
            warnings.warn(f"{doc_id}: {problem.reason}: {problem.detail}", ChunkwiseWarning, stacklevel=3)

    store = open_store(path, kind=kind, follow_symlinks=follow_symlinks)
    return store_documents(store, None if errors == "raise" else passed_over)


__all__ = [
    "iter_documents",
    "chunk_schema",
    "CHUNK_COLUMNS",
    "Store",
    "StoreRecord",
    "Problem",
    "open_store",
    "record_document",
    "store_documents",
    "with_unique_ids",
    "escape_surrogates",
    "os_error_reason",
    "ChunkWriter",
    "write_atomically",
    "write_durably",
    "fsync_directory",
    "DEFAULT_MAX_DOCUMENT_BYTES",
]
