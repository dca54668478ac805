"""Code-aware chunking: definitions kept whole where they fit, same cap and offset guarantees, chosen by suffix."""

from __future__ import annotations

import ast
import bisect
import inspect
import shutil
import textwrap

import pytest

import chunkwise
from chunkwise import ConfigError, chunk, get_tokenizer, prepare
from chunkwise.chunking.code import GRAMMARS, code_span_table

MODULE = '''"""A module."""

import os
import sys

# Helpers for paths.


def join(*parts):
    """Join parts.

    # not a comment: a line of the docstring
    """
    return os.path.join(*parts)


# The cache decorator keeps results.
@staticmethod
def cached(function,
           size=128):
    """Cache ``function``."""
    table = {}

    def wrapper(*args):
        if args not in table:
            table[args] = function(*args)
        return table[args]

    return wrapper


class Store:
    """A store."""

    limit = 10      # aligned
    name  = "x"     # columns

    def get(self, key):
        """Get ``key``."""
        return self.data[key]

    def put(self, key, value):
        self.data[key] = value
'''


def _protected(text: str) -> list[tuple[int, int]]:
    """(first, last) of each definition's decorators, signature and docstring (or signature alone)."""
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    out = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = starts[min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1]
            body = node.body[0]
            if isinstance(body, ast.Expr) and isinstance(body.value, ast.Constant) and isinstance(body.value.value, str):
                last = starts[body.end_lineno - 1] + body.end_col_offset
            else:  # the end of the signature's last line: the furthest line its arguments, bases or annotation reach
                parts = node.bases + node.keywords if isinstance(node, ast.ClassDef) else [node.args, node.returns]
                line = max([node.lineno] + [getattr(n, "end_lineno", 0) or 0 for part in parts if part is not None
                                            for n in ast.walk(part)])
                last = text.find("\n", starts[line - 1])
            out.append((first, last))
    return out


def _cuts_inside(text: str, chunks, cap: int) -> list[int]:
    tokenizer = get_tokenizer(None)
    starts = sorted(c.start for c in chunks)
    bad = []
    for first, last in _protected(text):
        if tokenizer.count(text[first:last]) > cap:
            continue
        position = bisect.bisect_right(starts, first)
        if position < len(starts) and starts[position] < last and text[first:starts[position]].strip():
            bad.append(starts[position])
    return bad


@pytest.mark.parametrize("cap", [24, 48, 96, 512])
def test_python_chunks_start_at_definitions_not_inside_them(cap):
    chunks = chunk(MODULE, max_tokens=cap, language="python")
    assert all(MODULE[c.start:c.end] == c.text and c.token_count <= cap for c in chunks)
    assert _cuts_inside(MODULE, chunks, cap) == []
    assert "".join(c.text for c in chunks).replace("\n", "").replace(" ", "") == MODULE.replace("\n", "").replace(" ", "")


def test_comments_and_decorators_above_a_definition_start_its_chunk():
    chunks = chunk(MODULE, max_tokens=96, language="python")
    firsts = [c.text.splitlines()[0] for c in chunks]
    assert "# The cache decorator keeps results." in firsts
    assert not any(line.startswith(("@staticmethod", "def cached")) for line in firsts)
    assert "class Store:" in firsts


def test_prose_chunking_of_the_same_module_cuts_inside_definitions():
    """What the language option changes: as prose, the cuts ignore the definitions."""
    source = inspect.getsource(shutil)
    as_prose = chunk(source, max_tokens=128, language="prose")
    as_python = chunk(source, max_tokens=128, language="python")
    assert _cuts_inside(source, as_python, 128) == []
    assert len(_cuts_inside(source, as_prose, 128)) > 5


@pytest.mark.parametrize("module", [shutil, textwrap, inspect])
def test_standard_library_modules_hold_every_guarantee(module):
    source = inspect.getsource(module)
    for cap in (32, 256):
        chunks = chunk(source, max_tokens=cap, language="python")
        assert all(source[c.start:c.end] == c.text for c in chunks)
        assert max(c.token_count for c in chunks) <= cap
        assert _cuts_inside(source, chunks, cap) == []


def test_python_that_does_not_parse_falls_back_to_indentation():
    broken = MODULE.replace("def get(self, key):", "def get(self, key:")
    with pytest.raises(SyntaxError):
        ast.parse(broken)
    chunks = chunk(broken, max_tokens=48, language="python")
    assert all(broken[c.start:c.end] == c.text and c.token_count <= 48 for c in chunks)
    assert any(c.text.startswith("class Store:") for c in chunks)


JS = """import { x } from "y";

// Adds two numbers.
export function add(a, b) {
  const total = a + b;
  return total;
}

class Cache {
  constructor(size) {
    this.size = size;
    this.items = new Map([
      ["a", 1],
      ["b", 2],
    ]);
  }

  get(key) {
    return this.items.get(key);
  }
}
"""


def test_languages_without_a_grammar_are_cut_by_indentation_and_brackets():
    table = code_span_table(JS, "code")
    units = [JS[s:e] for s, e in table.rows[:, :2].tolist()]
    assert any(u.startswith('    this.items = new Map([') and '    ]);' in u for u in units)  # a bracket stays whole
    chunks = chunk(JS, max_tokens=40, language="code")
    assert all(JS[c.start:c.end] == c.text and c.token_count <= 40 for c in chunks)
    firsts = [c.text.splitlines()[0] for c in chunks]
    assert "// Adds two numbers." in firsts and "class Cache {" in firsts
    assert not any(line.strip() == "}" for line in firsts)


def test_a_store_chunks_code_files_by_suffix_and_keeps_their_lines(tmp_path):
    (tmp_path / "a.py").write_text(MODULE, encoding="utf-8")
    (tmp_path / "b.py").write_text(MODULE.replace("A module.", "Another module."), encoding="utf-8")
    (tmp_path / "app.js").write_text(JS, encoding="utf-8")
    (tmp_path / "notes.md").write_text("# Notes\n\nimport os\n\nSome prose about the modules.\n", encoding="utf-8")
    documents = list(chunkwise.iter_documents(tmp_path))
    assert {d.id: d.metadata.get("language") for d in documents} == \
        {"a.py": "python", "app.js": "javascript", "b.py": "python", "notes.md": None}
    result = prepare(documents, max_tokens=64, report_config=False)
    # Code loses no line to dedup (b.py repeats a.py's functions; "import os" is in three files) and keeps
    # its whitespace (the aligned columns); a near-copy document as a whole is still a duplicate.
    assert not [r for r in result.removed if r.doc_id in ("a.py", "app.js")]
    assert all(r.reason == "near" and (r.start, r.end) == (0, len(MODULE) + 6) for r in result.removed if r.doc_id == "b.py")
    texts = "\n".join(c.text for c in result.chunks_for("a.py"))
    assert 'name  = "x"     # columns' in texts
    assert any(c.text.startswith("# The cache decorator") for c in result.chunks_for("a.py"))


def test_language_is_checked():
    with pytest.raises(ConfigError, match="language must be one of"):
        chunk("x = 1", language="cobol")


SOURCES = {
    "go": """package store

import "fmt"

// Open opens a store.
func Open(path string,
\tsize int) (*Store, error) {
\ts := &Store{path: path, size: size}
\treturn s, nil
}

type Store struct {
\tpath string
\tsize int
}

// Get reads a key.
func (s *Store) Get(key string) string {
\tfmt.Println(key)
\treturn s.path + key
}
""",
    "rust": """use std::fmt;

/// A store.
pub struct Store {
    path: String,
}

impl Store {
    /// Opens a store.
    pub fn open(path: &str,
                size: usize) -> Store {
        let s = Store { path: path.to_string() };
        s
    }

    pub fn get(&self, key: &str) -> String {
        format!("{}{}", self.path, key)
    }
}
""",
    "java": """package store;

import java.util.Map;

/** A store. */
public class Store {
    private final Map<String, String> items;

    /** Opens a store. */
    public Store(Map<String, String> items,
                 int size) {
        this.items = items;
    }

    public String get(String key) {
        return items.get(key);
    }
}
""",
    "c": """#include <stdio.h>

/* Opens a store. */
struct store *store_open(const char *path,
                         int size) {
    struct store *s = malloc(sizeof *s);
    return s;
}

int store_get(struct store *s, const char *key) {
    printf("%s", key);
    return 0;
}
""",
    "typescript": """import { x } from "y";

/** Adds two numbers. */
export function add(a: number,
                    b: number): number {
  const total = a + b;
  return total;
}

export class Cache<T> {
  private items = new Map<string, T>();

  get(key: string): T | undefined {
    return this.items.get(key);
  }
}
""",
}


@pytest.mark.parametrize("language", sorted(SOURCES))
def test_tree_sitter_languages_are_cut_at_their_definitions(language):
    pytest.importorskip(GRAMMARS[language][0])
    source = SOURCES[language]
    table = code_span_table(source, language)
    units = [source[s:e] for s, e in table.rows[:, :2].tolist()]
    # A multi-line signature is one unit with its definition's first line: never cut inside.
    assert not any(u.lstrip().startswith(("size int)", "size: usize)", "int size)", "b: number)")) for u in units)
    for cap in (24, 48, 4096):
        chunks = chunk(source, max_tokens=cap, language=language)
        assert all(source[c.start:c.end] == c.text and c.token_count <= cap for c in chunks)
    openers = ("func ", "type ", "impl ", "pub ", "public ", "struct ", "int ", "export ", "import ", "use ", "package ",
               "#include", "//", "/*", "/**", "///", "private ", "get(", "let ", "return ", "this.", "printf", "fmt.",
               "format!", "s\n", "const ")
    for c in chunk(source, max_tokens=48, language=language):
        assert c.text.lstrip().startswith(openers), (language, c.text[:40])


def test_a_language_whose_grammar_is_missing_falls_back_to_indentation(monkeypatch):
    from chunkwise.chunking import code

    monkeypatch.setitem(code.GRAMMARS, "go", ("chunkwise_no_such_grammar", "language"))
    code._grammar.cache_clear()
    try:
        source = SOURCES["go"]
        chunks = chunk(source, max_tokens=48, language="go")
        assert all(source[c.start:c.end] == c.text and c.token_count <= 48 for c in chunks)
        assert code._grammar("go") is None
    finally:
        code._grammar.cache_clear()
