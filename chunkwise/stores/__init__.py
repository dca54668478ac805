"""Document stores: where documents come from (``sources``: folders, JSONL, Parquet, with the
file readers in ``readers``), and the resumable batch run over a store (``batch``): where batches
run (``_engines``: inline, processes, Dask), a run's files and their commit (``_output``),
assembling the output in store order (``_assembly``), and the SQLite manifest of what is done
and what was quarantined (``manifest``); and ``frames``, a batch of documents in and a batch of
chunks out for engines that map over tables (Ray Data, Spark, Dask DataFrame).
"""

from . import batch as _batch, readers as _readers, sources as _sources
from .batch import *  # noqa: F403
from .frames import prepare_batch
from .manifest import DoneDocument, Manifest, QuarantinedDocument
from .readers import *  # noqa: F403
from .sources import *  # noqa: F403

__all__ = [*_sources.__all__, *_readers.__all__, *_batch.__all__, "prepare_batch", "Manifest", "DoneDocument",
           "QuarantinedDocument"]
