"""Every Python block of the README runs (issues 15 and 18).

Each block runs exactly as written, in a fresh folder, after a prelude that supplies what the
README leaves to the reader: its ``docs`` (the bundled sample), a ``handbook.md``, a Parquet
``store/``, an embedding model (all-MiniLM-L6-v2 from local files, through chunkwise's own
embedder), a vector store, a mock LLM where a framework insists on one. Ray and Spark are not
installed here: the Ray/Spark block runs against stand-ins that call its functions as
``Dataset.map_batches`` and ``DataFrame.mapInArrow`` do, and the Spark schema string is checked
against the columns ``prepare_batch`` returns. A block without a prelude fails the test, so a new
README example cannot go untested. Every ``chunkwise ...`` line of the bash blocks runs through the
CLI too, except the lines ``NOT_RUN`` names with their reasons.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from chunkwise.errors import ChunkwiseWarning

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "chunkwise" / "data" / "sample"


def _blocks() -> list[tuple[int, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [(text[: m.start()].count("\n") + 2, m.group(1)) for m in re.finditer(r"```python\n(.*?)```", text, re.S)]


_SAMPLE_DOCS = """
import chunkwise
SAMPLE = __import__("pathlib").Path(chunkwise.__file__).parent / "data" / "sample"
NAMES = sorted(p.name for p in SAMPLE.iterdir() if p.suffix in (".md", ".txt"))
TEXTS = [(SAMPLE / name).read_text(encoding="utf-8") for name in NAMES]
"""

_HANDBOOK = _SAMPLE_DOCS + """
__import__("pathlib").Path("handbook.md").write_text(
    (SAMPLE / "engineering_handbook.md").read_text(encoding="utf-8")
    + "\\n\\n## Leaving\\n\\nThe notice period is four weeks for everyone, counted from the first Monday after you tell your lead.\\n")
"""

_EMBEDDER = """
from chunkwise.embedding.embedders import get_embedder
EMBEDDER = get_embedder("balanced")  # all-MiniLM-L6-v2, from local files only
"""

# Keyed by a line that only its block has: (prelude, checks run after the block).
PRELUDES: dict[str, tuple[str, str]] = {
    'result = chunkwise.prepare(docs, model="llama-3-8b", max_tokens=512)': (
        _SAMPLE_DOCS + "docs = list(chunkwise.iter_documents(SAMPLE))\n",
        "assert result.chunks and all(c.token_count <= 512 for c in result.chunks) and result.removed\n",
    ),
    'chunks = chunk(source, max_tokens=256, language="python")': (
        "",
        "assert any(c.text.startswith(('def ', '@', '# ')) for c in chunks)\n",
    ),
    "baseline = naive_split(text, max_tokens=256)": (
        _HANDBOOK,
        "assert chunks and baseline and result.report.to_dict()['schema_version']\n",
    ),
    "docs = dd.read_parquet(\"store/\")": (
        _SAMPLE_DOCS + """
import os, pyarrow, pyarrow.parquet
os.makedirs("store")
pyarrow.parquet.write_table(pyarrow.table({"id": NAMES, "text": TEXTS}), "store/part-0.parquet")
""",
        "import pandas\nwritten = pandas.read_parquet('chunks/')\nassert len(written) > len(NAMES) and set(written['doc_id']) == set(NAMES)\n",
    ),
    "# Ray Data": (
        _SAMPLE_DOCS + """
import pyarrow
TABLE = pyarrow.table({"id": NAMES, "text": TEXTS})

class _RayDataset:  # stands in for ray.data.Dataset: map_batches calls the function on each batch
    def map_batches(self, fn, batch_format, fn_kwargs):
        assert batch_format == "pyarrow"
        self.batches = [fn(TABLE.slice(start, 4), **fn_kwargs) for start in range(0, TABLE.num_rows, 4)]
        return self

class _SparkFrame:  # stands in for a Spark DataFrame: mapInArrow calls the function with an iterator of batches
    def mapInArrow(self, fn, schema):
        self.batches, self.schema = list(fn(iter(TABLE.to_batches(max_chunksize=4)))), schema
        return self

ds, df = _RayDataset(), _SparkFrame()
""",
        """
assert sum(batch.num_rows for batch in ds.batches) > TABLE.num_rows
declared = [part.split()[0] for part in df.schema.split(",")]
assert df.batches and all(batch.schema.names == declared for batch in df.batches)
assert declared == list(chunkwise.stores.CHUNK_COLUMNS)
""",
    ),
    'result = chunkwise.evaluate(docs, questions, {"recursive 1000": recursive})': (
        _HANDBOOK,
        "assert result.to_dict()\n",
    ),
    "from langchain_classic.retrievers import ContextualCompressionRetriever": (
        _SAMPLE_DOCS + _EMBEDDER + """
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import InMemoryVectorStore

class _LocalEmbeddings(Embeddings):
    def embed_documents(self, texts):
        return [[float(x) for x in vector] for vector in EMBEDDER.embed(list(texts))]

    def embed_query(self, text):
        return self.embed_documents([text])[0]

docs = [Document(page_content=text, metadata={"source": name}) for name, text in zip(NAMES, TEXTS)]
embeddings = _LocalEmbeddings()
""",
        """
assert context and "serial number" in " ".join(d.page_content for d in context)
assert sum(chunkwise.get_tokenizer(None).count(d.page_content) for d in context) <= 1024
""",
    ),
    "from llama_index.core import VectorStoreIndex": (
        _SAMPLE_DOCS + _EMBEDDER + """
from llama_index.core import Document, Settings
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.llms import MockLLM

class _LocalEmbedding(BaseEmbedding):
    def _get_text_embedding(self, text):
        return [float(x) for x in EMBEDDER.embed([text])[0]]

    def _get_query_embedding(self, query):
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query):
        return self._get_query_embedding(query)

Settings.embed_model = _LocalEmbedding()
Settings.llm = MockLLM()  # the query engine writes an answer with an LLM; none is needed to check retrieval
documents = [Document(text=text, doc_id=name) for name, text in zip(NAMES, TEXTS)]
""",
        """
assert response.source_nodes and "serial number" in " ".join(n.node.get_content() for n in response.source_nodes)
""",
    ),
    "from chunkwise.integrations.haystack import ChunkwiseCompressor, ChunkwiseDocumentSplitter": (
        _SAMPLE_DOCS + """
from haystack import Document, Pipeline
from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
from haystack.document_stores.in_memory import InMemoryDocumentStore

store = InMemoryDocumentStore()
docs = [Document(content=text, meta={"source": name}) for name, text in zip(NAMES, TEXTS)]
q = "Where is the serial number printed?"
""",
        """
kept = result["compressor"]["documents"]
assert kept and sum(chunkwise.get_tokenizer(None).count(d.content) for d in kept) <= 1024
""",
    ),
}


def _prelude_for(block: str) -> tuple[str, str] | None:
    found = [key for key in PRELUDES if key in block]
    assert len(found) <= 1, f"several preludes match one block: {found}"
    return PRELUDES[found[0]] if found else None


def test_every_python_block_has_a_prelude_and_every_prelude_a_block():
    blocks = [block for _, block in _blocks()]
    assert len(blocks) >= len(PRELUDES)
    missing = [(line, block.splitlines()[0]) for line, block in _blocks() if _prelude_for(block) is None]
    assert not missing, f"README blocks this test does not run (give each a prelude): {missing}"
    unused = [key for key in PRELUDES if not any(key in block for block in blocks)]
    assert not unused, f"preludes for blocks no longer in the README: {unused}"


@pytest.mark.parametrize("line, block", _blocks(), ids=[f"README.md:{line}" for line, _ in _blocks()])
def test_readme_block_runs(line, block, tmp_path, monkeypatch):
    found = _prelude_for(block)
    if found is None:
        pytest.fail(f"README.md:{line} has no prelude in tests/test_readme.py")
    prelude, checks = found
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": f"readme_{line}"}
    with warnings.catch_warnings():
        # prepare(model=...) without that model's tokenizer in the local cache falls back to
        # cl100k_base with a ChunkwiseWarning, as the README says.
        warnings.simplefilter("ignore", ChunkwiseWarning)
        # Frameworks' own deprecation notices are theirs, not the README's.
        warnings.simplefilter("ignore", DeprecationWarning)
        exec(compile(prelude, f"prelude of README.md:{line}", "exec"), namespace)
        exec(compile(block, f"README.md:{line}", "exec"), namespace)
    exec(compile(checks, f"checks of README.md:{line}", "exec"), namespace)


# ----------------------------------------------------------------------------- shell blocks

# Shell lines the suite does not run, each with its reason; every other `chunkwise ...` line of a
# bash block runs through the CLI's main() in a folder holding docs/, store.jsonl and store.parquet.
NOT_RUN = {
    "python3 -m venv .venv": "the set-up and test commands: CI runs them as they are (.ci/run)",
    "python benchmarks/eval_chunking.py": "a benchmark of several minutes; its output is committed in docs/",
}


def _shell_lines() -> list[tuple[int, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = []
    for m in re.finditer(r"```bash\n(.*?)```", text, re.S):
        first = text[: m.start()].count("\n") + 2
        for offset, line in enumerate(m.group(1).splitlines()):
            command = line.split("  #")[0].strip()
            if command:
                lines.append((first + offset, command))
    return lines


def _run_line(command: str, address: str) -> int:
    import shlex

    from chunkwise.cli import main

    words = shlex.split(command.replace("tcp://host:8786", address))
    assert words[0] == "chunkwise", command
    return main(words[1:])


@pytest.fixture
def shell_folder(tmp_path, monkeypatch):
    """docs/ (the sample), store.jsonl and store.parquet of its text files, an eval chunker package and
    questions; the static table of the fast profile (built from the model on first use, minutes) is a
    seeded random table of the right shape, as in test_embed."""
    import json
    import shutil
    import sys

    import numpy as np
    import pyarrow
    import pyarrow.parquet

    from chunkwise.embedding import static as static_module
    from chunkwise.embedding._common import normalize_rows

    shutil.copytree(SAMPLE, tmp_path / "docs")
    rows = [{"id": p.name, "text": p.read_text(encoding="utf-8")} for p in sorted(SAMPLE.iterdir())
            if p.suffix in (".md", ".txt")]
    (tmp_path / "store.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pyarrow.parquet.write_table(pyarrow.table({"id": [r["id"] for r in rows], "text": [r["text"] for r in rows]}),
                                tmp_path / "store.parquet")
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "mypkg" / "split.py").write_text(
        "def split_text(text):\n    return [p for p in text.split('\\n\\n') if p.strip()]\n", encoding="utf-8")
    (tmp_path / "questions.jsonl").write_text(json.dumps(
        {"question": "Where are the serial number and the factory setup code printed?", "doc_id": "operator_manual_part1.txt",
         "evidence": "The serial number and the factory setup code are printed on a label on the underside of the collector."})
        + "\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(static_module, "build_static_table", lambda source, batch_size=512, *, limit=None:
                        normalize_rows(np.random.default_rng(0).standard_normal((30522, 384))))
    yield tmp_path
    sys.modules.pop("mypkg.split", None)
    sys.modules.pop("mypkg", None)


@pytest.mark.slow  # about a minute: once, in the compiled pass
def test_every_shell_line_of_the_readme_runs(shell_folder, capsys):
    """Each `chunkwise ...` line exits 0 (the Dask line on a LocalCluster of this machine; `--measure`
    without a CUDA GPU says it skipped the measurement, as the README says)."""
    from distributed import Client, LocalCluster

    lines = _shell_lines()
    skipped = [line for _, line in lines if any(line.startswith(prefix) for prefix in NOT_RUN)]
    assert {prefix for prefix in NOT_RUN if any(line.startswith(prefix) for line in skipped)} == set(NOT_RUN)
    ran = []
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster):
        for number, line in lines:
            if line in skipped:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ChunkwiseWarning)  # --model qwen2.5-7b: not in the local cache
                warnings.simplefilter("ignore", DeprecationWarning)
                status = _run_line(line, cluster.scheduler_address)
            assert status == 0, f"README.md:{number}: {line} exited {status}"
            ran.append(line)
    assert len(ran) >= 10
    assert "measured mode skipped" in capsys.readouterr().err
    assert (shell_folder / "report.html").is_file() and (shell_folder / "audit.html").is_file()
