"""The package's shape (issue 15): no import cycles, no function-local imports of
chunkwise's own modules, no module shadowed by a name its package exports.

Imports inside functions count (a lazy import is still a dependency); imports
under ``if TYPE_CHECKING:`` do not (they never run). Importing ``a.b.c`` runs
``a/b/__init__`` first, so it counts as a dependency on the package ``a.b`` too.
"""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import chunkwise
from chunkwise.errors import MissingDependencyError

PACKAGE = Path(chunkwise.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                skipped.update(id(n) for n in ast.walk(inner))
    return skipped


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_nodes(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                submodules = [f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in modules]
                targets = submodules if node.module is None and submodules else [target, *submodules]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                # a.b.c runs a/__init__ and a/b/__init__ first: a dependency on each package
                # that is not one of the importer's own (those are already running).
                parts = target.split(".")
                for depth in range(1, len(parts) + 1):
                    module = ".".join(parts[:depth])
                    own = name == module or name.startswith(module + ".")
                    if module in modules and not own:
                        graph[name].add(module)
    return graph


def function_local_imports() -> list[str]:
    """``file:line`` of every import of a chunkwise module inside a function body."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                own = (isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] == "chunkwise")) or (
                    isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "chunkwise" for alias in node.names)
                )
                if own:
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return sorted(set(found))


def shadowed_modules() -> list[str]:
    """Modules whose name in their package is bound to something else (``chunkwise.dedup`` was the function)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)
        try:
            module = importlib.import_module(name)
        except MissingDependencyError:  # an adapter whose framework is not installed
            continue
        package, _, attribute = name.rpartition(".")
        if package:
            bound = getattr(importlib.import_module(package), attribute, module)
            if bound is not module:
                found.append(f"{name} is {type(bound).__name__} {getattr(bound, '__qualname__', bound)!r} in {package}")
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_imports_and_package_inits():
    graph = import_graph()
    assert "chunkwise.reporting.html" in graph["chunkwise.reporting.report"]
    assert "chunkwise.retrieval" in graph["chunkwise"]  # the top level imports each stage's package
    # _options imports tokens only; pipeline imports reporting.scenarios, so it runs reporting/__init__.
    assert "chunkwise.reporting" in graph["chunkwise.pipeline"]
    assert "chunkwise.reporting" not in graph["chunkwise.reporting.report"]  # its own package is already running


def test_no_import_cycles():
    """Cycles found before (compress/index, readers/stores, report/report_html, batch/__init__ for
    __version__, _types/segment for Break, _options -> reporting/__init__ -> auditing -> _options);
    a new one fails here with its members named."""
    assert cycles(import_graph()) == []


def test_no_function_local_imports_of_chunkwise_modules():
    """A dependency belongs at the top of the module, where a reader and the cycle check see it;
    only optional third-party packages are imported inside functions."""
    assert function_local_imports() == []


def test_no_module_is_shadowed():
    """``import chunkwise.dedup; chunkwise.dedup.DedupConfig`` raised AttributeError, and
    ``mock.patch("chunkwise.dedup.x")`` patched nothing: the function of that name hid the module."""
    assert shadowed_modules() == []
    assert isinstance(chunkwise.reporting.economics, types.ModuleType)  # not scenarios.economics, the function


def test_public_imports_of_the_top_level_keep_working():
    for name in chunkwise.__all__:
        assert getattr(chunkwise, name) is not None
    from chunkwise import ChunkConfig, chunk, compress, dedup, normalize, prepare, segment  # noqa: F401

    assert callable(chunkwise.normalize) and callable(chunkwise.dedup) and callable(chunkwise.segment)
    # The embedding package's parts stay importable from the top level but are not its surface.
    from chunkwise import StaticEmbedder, embed_window  # noqa: F401

    assert not {"StaticEmbedder", "CachedEmbedder", "EmbeddingCache", "SentenceTransformerEmbedder", "embed_window"} & set(chunkwise.__all__)


def test_no_module_reaches_into_another_modules_privates():
    """A name with a leading underscore is private to its module; what two modules share lives in a
    module that is itself private (``reporting._rows``, ``_options``, ``_types``), under a public name
    there. (``audit`` imported ``pipeline._stage_config`` and ``batch`` ``pipeline._report_options``.)"""
    reaching = []
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.level or node.module is None:
                continue
            source = node.module.rpartition(".")[2]
            private = [alias.name for alias in node.names if alias.name.startswith("_") and not alias.name.startswith("__")]
            if private and not source.startswith("_"):
                reaching.append(f"{name}: from {'.' * node.level}{node.module} import {', '.join(private)}")
    assert reaching == []


def test_a_cycle_is_detected():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
