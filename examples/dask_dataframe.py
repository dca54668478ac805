"""Chunk a Parquet store with a Dask DataFrame: every partition through ``chunkwise.prepare_batch``.

    python examples/dask_dataframe.py [OUT_FOLDER]

Writes the bundled sample corpus as a Parquet store of three files, maps
``prepare_batch`` over its partitions on a local Dask cluster, and writes the
chunks as Parquet. Needs ``chunkwise[dask]`` (dask.dataframe and pyarrow).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import dask.dataframe as dd
import pandas as pd
from distributed import Client, LocalCluster

import chunkwise
from chunkwise.stores import iter_documents

SAMPLE = Path(chunkwise.__file__).parent / "data" / "sample"


def main(out: Path) -> pd.DataFrame:
    documents = [{"id": d.id, "text": d.text} for d in iter_documents(SAMPLE)]
    store = out / "store"
    dd.from_pandas(pd.DataFrame(documents), npartitions=3).to_parquet(store)

    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, Client(cluster):
        docs = dd.read_parquet(store)
        meta = chunkwise.prepare_batch(docs.head(0), max_tokens=256)
        chunks = docs.map_partitions(chunkwise.prepare_batch, meta=meta, max_tokens=256)
        chunks.to_parquet(out / "chunks")
    written = pd.read_parquet(out / "chunks")
    print(f"{len(documents)} documents -> {len(written)} chunks in {out / 'chunks'}; "
          f"largest {written['token_count'].max()} tokens")
    return written


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="chunkwise-dask-")))
