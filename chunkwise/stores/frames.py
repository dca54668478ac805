"""``prepare_batch``: a batch of documents in, a batch of chunks out, for the engines that map a
function over a table (Ray Data's ``map_batches``, Spark's ``mapInArrow``, Dask DataFrame's
``map_partitions``).

Every document is prepared on its own, exactly as a store run prepares it
(``prepare`` with ``dedup=False``), so a chunk depends only on its document and
the options: any partitioning of a table gives the same chunks. Duplicates
*across* documents are what ``prepare_store`` removes after that; a table mapped
here keeps them.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from .._types import Document
from ..errors import ChunkwiseWarning, ConfigError, InputDataError, InputTypeError
from ..pipeline import prepare
from .readers import decode_bytes
from .sources import CHUNK_COLUMNS, chunk_schema

def prepare_batch(
    batch: Any,
    *,
    id_column: str = "id",
    text_column: str = "text",
    errors: Literal["raise", "skip", "warn"] = "raise",
    **prepare_options: Any,
) -> Any:
    """The chunks of a batch of documents, as a batch of the same kind.

    ``batch``: a ``pyarrow.Table`` or ``RecordBatch`` (a Table comes back), a
    pandas DataFrame (a DataFrame comes back), a mapping of column name to
    values (Ray's numpy batches; a dict of lists comes back), or a list of row
    dicts (a list of chunk dicts comes back). Each row is a document: its id
    in ``id_column``, its text (str, or bytes in any encoding) in
    ``text_column``, and its other non-null columns as metadata. The result has
    the columns of ``CHUNK_COLUMNS`` (``metadata`` as JSON text, except in row
    dicts), one row per chunk, documents in batch order.

    ``prepare_options`` are ``prepare()``'s keyword options (``max_tokens``,
    ``tokenizer``, ``normalize``, ...; not ``dedup``, which is per store). A
    document that cannot be prepared raises InputDataError naming it
    (``errors="raise"``, so the engine's retry and failure handling see it),
    or is dropped, with a ChunkwiseWarning (``"warn"``) or silently (``"skip"``).
    """
    if errors not in ("raise", "skip", "warn"):
        raise ConfigError(f"errors must be 'raise', 'skip' or 'warn', got {errors!r}")
    if "dedup" in prepare_options:
        raise ConfigError("prepare_batch prepares each document on its own; dedup across documents is prepare_store's")
    kind, rows = _rows(batch)
    chunks: list[dict[str, Any]] = []
    for position, row in enumerate(rows):
        try:
            document = _document(row, position, id_column, text_column)
            prepared = prepare([document], dedup=False, report_config=False, **prepare_options)
        except (InputDataError, UnicodeDecodeError) as err:
            if errors == "raise":
                raise InputDataError(f"row {position}: {err}") from err
            if errors == "warn":
                warnings.warn(f"prepare_batch: row {position} dropped: {err}", ChunkwiseWarning, stacklevel=2)
            continue
        chunks.extend(chunk.to_dict() for chunk in prepared.chunks)
    return _as_kind(kind, chunks)


def _rows(batch: Any) -> tuple[str, Iterable[Mapping[str, Any]]]:
    """What kind of batch this is, and its rows."""
    module = type(batch).__module__.split(".")[0]
    if module == "pyarrow" and hasattr(batch, "to_pylist"):
        return "arrow", batch.to_pylist()
    if module == "pandas" and hasattr(batch, "to_dict"):
        return "pandas", batch.to_dict("records")
    if isinstance(batch, Mapping):
        columns = {name: list(values) for name, values in batch.items()}
        lengths = {len(values) for values in columns.values()}
        if len(lengths) > 1:
            raise InputDataError(f"the batch's columns differ in length ({sorted(lengths)})")
        count = lengths.pop() if lengths else 0
        return "columns", [{name: values[i] for name, values in columns.items()} for i in range(count)]
    if isinstance(batch, list) and all(isinstance(row, Mapping) for row in batch):
        return "rows", batch
    raise InputTypeError(
        f"prepare_batch takes a pyarrow Table or RecordBatch, a pandas DataFrame, a mapping of columns or a list of "
        f"row dicts; got {type(batch).__name__}"
    )


def _document(row: Mapping[str, Any], position: int, id_column: str, text_column: str) -> Document:
    if text_column not in row:
        raise InputDataError(f"no {text_column!r} column (set text_column=); columns: {sorted(row)}")
    text = row[text_column]
    if isinstance(text, (bytes, bytearray)):
        text, _encoding = decode_bytes(bytes(text))
    if not isinstance(text, str):
        raise InputDataError(f"{text_column!r} is a {type(text).__name__}, not text")
    raw_id = row.get(id_column)
    doc_id = f"row-{position}" if _missing(raw_id) else str(_plain(raw_id))
    metadata = {name: _plain(value) for name, value in row.items()
                if name not in (id_column, text_column) and not _missing(value)}
    return Document(doc_id, text, metadata)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)  # pandas fills gaps with NaN


def _plain(value: Any) -> Any:
    """A numpy or pandas scalar as the Python value it holds (metadata must serialise as JSON)."""
    item = getattr(value, "item", None)
    return item() if callable(item) and getattr(value, "shape", None) == () else value


def _as_kind(kind: str, chunks: list[dict[str, Any]]) -> Any:
    if kind == "rows":
        return chunks
    columns: dict[str, list[Any]] = {name: [chunk[name] for chunk in chunks] for name in CHUNK_COLUMNS}
    columns["metadata"] = [json.dumps(chunk["metadata"], ensure_ascii=False, sort_keys=True, default=str)
                           for chunk in chunks]
    if kind == "columns":
        return columns
    if kind == "arrow":
        import pyarrow as pa

        return pa.table(columns, schema=chunk_schema())
    import pandas as pd

    frame = pd.DataFrame(columns, columns=list(CHUNK_COLUMNS))
    # Explicit dtypes: an empty batch (Dask's ``meta``) must have those of a full one.
    return frame.astype({"id": str, "doc_id": str, "text": str, "metadata": str,
                         "index": "int32", "start": "int64", "end": "int64", "token_count": "int32"})


__all__ = ["prepare_batch", "chunk_schema", "CHUNK_COLUMNS"]
