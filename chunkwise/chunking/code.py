"""Source code as units for the chunker: one unit per statement, its break from the program's structure.

Prose units come from ``segment``; code has its own grammar. Python is read with
the standard library's ``ast``; JavaScript, TypeScript, Go, Rust, Java, C and C++
with tree-sitter where its grammar package is installed. One scale serves all
(``statement_break``): the lines before a top-level definition (its decorators
and the comments right above it) are section breaks, members are paragraph
breaks, other statements weaker the deeper they sit. A line inside a
signature, a docstring or any multi-line statement joins the unit it
continues, so a definition's header and docstring are one unit, which the
chunker splits only when that unit alone is over the cap. Other languages, a
grammar not installed, and sources that do not parse get the same scale from
indentation and brackets.

Each unit is whole lines without the last newline (indentation kept); blank lines
between units are gaps, so a chunk starts and ends on code, never on blank lines.
"""

from __future__ import annotations

import ast
import functools
import importlib
import re
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from .._types import SPAN_KINDS, Break, SpanTable

Language = Literal["auto", "prose", "python", "code", "javascript", "typescript", "tsx", "go", "rust", "java", "c",
                   "cpp"]
LANGUAGES: tuple[str, ...] = ("auto", "prose", "python", "code", "javascript", "typescript", "tsx", "go", "rust", "java",
                              "c", "cpp")
# Every ``language`` that chunks a text as code (the rest are prose).
CODE_LANGUAGES = frozenset(LANGUAGES) - {"auto", "prose"}

# The tree-sitter grammar of each language that has one here: (package, function giving the language).
# Each grammar is its own small package with a compiled wheel (``pip install "chunkwise[code]"``);
# tree-sitter-language-pack was tried first, but it downloads its grammars on first use.
GRAMMARS: dict[str, tuple[str, str]] = {
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}

# File suffixes a store reads as code, and the language each is chunked as.
CODE_SUFFIXES: dict[str, str] = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go", ".rs": "rust", ".java": "java", ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp",
    **{suffix: "code" for suffix in (
        ".kt", ".scala", ".cs", ".swift", ".rb", ".php", ".sh", ".bash", ".lua", ".r", ".jl", ".sql",
        ".toml", ".yaml", ".yml",
    )},
}

_CODE = SPAN_KINDS.index("code")
_LINE = re.compile(r"[^\n]*\n?")
# A line that opens a definition in a C-like, Go, Rust, JS/TS, Java, Ruby or shell file.
_DEFINITION = re.compile(
    r"(?:(?:export|public|private|protected|internal|static|async|abstract|final|default|pub(?:\([^)]*\))?|"
    r"unsafe|extern|inline|virtual|override|open|sealed|data)\s+)*"
    r"(?:function\b|class\b|interface\b|struct\b|enum\b|impl\b|trait\b|fn\b|func\b|def\b|module\b|type\s+\w+\s*[={]|"
    r"namespace\b|object\b|[\w$]+\s*\([^;]*\)\s*\{?\s*$|(?:const|let|var)\s+[\w$]+\s*=\s*(?:async\s*)?(?:function|\())"
)


def _lines(text: str) -> tuple[list[int], list[int]]:
    """Start and end (without the newline) of every line."""
    starts: list[int] = []
    ends: list[int] = []
    for match in _LINE.finditer(text):
        if match.start() == len(text):
            break
        starts.append(match.start())
        line_end = match.end()
        if text.endswith("\n", match.start(), line_end):
            line_end -= 1
        ends.append(line_end)
    return starts, ends


def code_span_table(text: str, language: str) -> SpanTable:
    """The units of ``text`` as code: a row per statement (its lines), its break from the structure."""
    starts, ends = _lines(text)
    breaks = None
    # Our lines end at "\n" only; ast also ends one at a lone "\r", so its line numbers and ours would
    # disagree there (tree-sitter's rows are not relied on either): such a text is read by indentation.
    if not _lone_carriage_return(text):
        if language == "python":
            breaks = _python_breaks(text, starts, ends)
        elif language in GRAMMARS:
            breaks = _tree_sitter_breaks(text, starts, ends, language)
    if breaks is None:
        breaks = _indentation_breaks(text, starts, ends)
    rows: list[list[int]] = []
    for start, end, strength in zip(starts, ends, breaks):
        if not text[start:end].strip():
            continue
        if strength == Break.PIECE and rows:
            rows[-1][1] = end  # a line inside a statement, signature or docstring: part of the unit before it
        else:
            rows.append([start, end, _CODE, int(strength)])
    if not rows:
        return SpanTable(np.zeros((0, 4), dtype=np.int64))
    return SpanTable(np.asarray(rows, dtype=np.int64))


def _blank_before(text: str, starts: Sequence[int], ends: Sequence[int], line: int) -> bool:
    return line > 0 and not text[starts[line - 1]:ends[line - 1]].strip()


def statement_break(position: int, depth: int, definition: bool, blank_before: bool) -> Break:
    """The break before a statement, one scale for every language: definitions strongest (top level, then
    members, then nested), other statements weaker the deeper they sit, a blank line above one step more.

    A block's first statement (``position`` 0 inside a body) stays near the line that opens the block.
    """
    if position == 0 and depth > 0:
        return Break.WORD
    if definition:
        return Break.SECTION if depth == 0 else Break.PARAGRAPH if depth == 1 else Break.ITEM
    if depth == 0:
        return Break.ITEM if blank_before else Break.LINE
    if depth == 1:
        return Break.SENTENCE if blank_before else Break.CLAUSE
    return Break.CLAUSE if blank_before else Break.WORD


def _python_breaks(text: str, starts: list[int], ends: list[int]) -> list[Break] | None:
    """Breaks from Python's own parse; None if it does not parse (the caller falls back to indentation)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes in old sources is not ours to show
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    marks = _Marks(len(starts))
    mark = marks.mark

    def visit(body: Sequence[ast.stmt], depth: int) -> None:
        for position, node in enumerate(body):
            own = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", ())]) - 1
            first = _comments_above(text, starts, ends, own)
            definition = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            blank = _blank_before(text, starts, ends, first)
            if position == 0 and depth > 0 and _is_docstring(node):
                strength = Break.PIECE  # a docstring is part of its definition's header: one unit with it
            else:
                strength = statement_break(position, depth, definition, blank)
            mark(first, strength)
            if first < own and strength != Break.PIECE:
                # The comments above go with the statement, but where both do not fit in one chunk
                # the cut falls between them, not inside the signature.
                mark(own, Break.WORD)
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], (ast.stmt, ast.excepthandler)):
                    visit(inner, depth + 1)
            if isinstance(node, _MATCH):
                for case in node.cases:
                    visit(case.body, depth + 1)

    visit(tree.body, 0)
    _mark_loose_comments(text, starts, ends, marks, _covered_lines(tree, len(starts)))
    return marks.breaks


def _covered_lines(tree: ast.Module, count: int) -> list[bool]:
    """Lines inside a statement, past its first line: a simple statement's continuation lines (a docstring's
    included) and a compound statement's header (a signature over several lines)."""
    covered = [False] * count
    for node in ast.walk(tree):
        if not isinstance(node, (ast.stmt, ast.excepthandler)):
            continue
        last = node.end_lineno or node.lineno
        if any(isinstance(value, list) and value and isinstance(value[0], (ast.stmt, ast.excepthandler))
               for _, value in ast.iter_fields(node)):
            last = node.lineno  # compound: only its header, which ends where its last expression does
            for _, value in ast.iter_fields(node):
                parts = value if isinstance(value, list) else [value]
                for part in parts:
                    if isinstance(part, ast.AST) and not isinstance(part, (ast.stmt, ast.excepthandler)):
                        last = max(last, getattr(part, "end_lineno", None) or last)
        for line in range(node.lineno, min(last, count)):  # 0-based lineno .. last - 1 are past the first line
            covered[line] = True
    return covered


class _Marks:
    """The break of every line, all ``PIECE`` (joined to the unit above) until a statement marks its first line."""

    def __init__(self, count: int) -> None:
        self.breaks = [Break.PIECE] * count
        self.marked: set[int] = set()  # lines that start a statement or the comments right above one

    def mark(self, line: int, strength: Break) -> None:
        if 0 <= line < len(self.breaks):  # a line the parse sees that our split does not is left alone
            self.breaks[line] = strength
            self.marked.add(line)


def _mark_loose_comments(text: str, starts: list[int], ends: list[int], marks: _Marks, covered: list[bool],
                         prefixes: tuple[str, ...] = ("#",)) -> None:
    """A comment block that belongs to no statement right below it (a blank line between, or at a block's end)
    starts a unit of its own: otherwise it would join the unit above, a docstring's say, and make it too long."""
    previous_comment = False
    for line, (start, end) in enumerate(zip(starts, ends)):
        content = text[start:end]
        stripped = content.lstrip()
        comment = stripped.startswith(prefixes) and not covered[line]
        if comment and not previous_comment and line not in marks.marked:
            blank = _blank_before(text, starts, ends, line)
            top = len(content) == len(stripped)
            marks.breaks[line] = (Break.ITEM if blank else Break.LINE) if top else (Break.SENTENCE if blank else Break.CLAUSE)
        if stripped:
            previous_comment = comment


_MATCH = getattr(ast, "Match", ())  # Python 3.10+


def _is_docstring(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _lone_carriage_return(text: str) -> bool:
    return "\r" in text.replace("\r\n", "")


def _comments_above(text: str, starts: Sequence[int], ends: Sequence[int], line: int,
                    prefixes: tuple[str, ...] = ("#",)) -> int:
    """The first line of the comment block right above ``line`` (no blank line between), or ``line``."""
    while line > 0 and text[starts[line - 1]:ends[line - 1]].lstrip().startswith(prefixes):
        line -= 1
    return line


@functools.lru_cache(maxsize=len(GRAMMARS))
def _grammar(language: str) -> Any:
    """The tree-sitter Language of ``language``, or None where its grammar package is not installed."""
    package, function = GRAMMARS[language]
    try:
        import tree_sitter

        module = importlib.import_module(package)
        return tree_sitter.Language(getattr(module, function)())
    except (ImportError, AttributeError, ValueError, TypeError):  # not installed, or a grammar of another ABI
        return None


# Node types whose named children are statements (a body, a block, a list of members).
_CONTAINERS = frozenset({
    "program", "source_file", "translation_unit", "module", "statement_block", "class_body", "block",
    "statement_list", "declaration_list", "field_declaration_list", "compound_statement", "interface_body",
    "enum_body", "object_type", "switch_body", "enum_variant_list", "namespace_body", "constructor_body",
    "annotation_type_body", "enum_body_declarations",
})
# Node types that define something: functions, methods, classes and their kin.
_DEFINITIONS = re.compile(
    r"(?:function|method|class|interface|struct|impl|enum|trait|type|mod|module|namespace|constructor|union|"
    r"abstract_class|generator_function|arrow_function|record|annotation_type)"
    r"_(?:declaration|definition|item|specifier|signature)$"
)
_WRAPPERS = frozenset({"export_statement", "lexical_declaration", "variable_declaration", "declaration",
                       "template_declaration", "decorated_definition"})


def _is_definition(node: Any) -> bool:
    """A function, class... or a statement wrapping one (``export function``, ``const f = () => {}``)."""
    if _DEFINITIONS.search(node.type):
        return True
    if node.type not in _WRAPPERS:
        return False
    for child in node.named_children:
        if _DEFINITIONS.search(child.type) or any(_DEFINITIONS.search(g.type) or g.type in ("arrow_function",
                                                                                          "function_expression")
                                                  for g in child.named_children):
            return True
    return False


def _bodies(node: Any) -> list[Any]:
    """The statement containers right inside ``node`` (not inside a nested statement of it)."""
    found = []
    stack = list(node.named_children)
    while stack:
        child = stack.pop()
        if child.type in _CONTAINERS:
            found.append(child)
        elif child.end_point.row > child.start_point.row and "comment" not in child.type:
            stack.extend(child.named_children)  # a declarator, a value: a body may sit inside it
    return sorted(found, key=lambda body: body.start_byte)


_C_COMMENTS = ("//", "/*", "*", "#")


def _error_rows(root: Any) -> int:
    """Lines covered by the parse's ERROR nodes (tree-sitter recovers around them; statements inside are lost)."""
    rows: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            rows.update(range(node.start_point.row, node.end_point.row + 1))
        elif node.has_error:
            stack.extend(node.children)
    return len(rows)


def _tree_sitter_breaks(text: str, starts: list[int], ends: list[int], language: str) -> list[Break] | None:
    """Breaks from the program's tree-sitter parse; None without the grammar, or where much of it does not parse."""
    grammar = _grammar(language)
    if grammar is None:
        return None
    import tree_sitter

    root = tree_sitter.Parser(grammar).parse(text.encode("utf-8", "surrogatepass")).root_node
    if root.has_error and _error_rows(root) * 10 > len(starts):
        return None  # more than a tenth of the lines unparsed (macros, another dialect): indentation reads it better
    marks = _Marks(len(starts))
    mark = marks.mark
    covered = [False] * len(starts)  # lines inside a statement, past its first, outside its bodies

    def visit(container: Any, depth: int) -> None:
        statements = [child for child in container.named_children if "comment" not in child.type]
        if len(statements) == 1 and statements[0].type in _CONTAINERS:
            visit(statements[0], depth)  # Go's block holds a statement_list
            return
        previous_row = -1
        for position, node in enumerate(statements):
            own = node.start_point.row
            # A statement that starts on the line where the one before it ends: that line is the first's.
            if own != previous_row:
                first = _comments_above(text, starts, ends, own, _C_COMMENTS)
                blank = _blank_before(text, starts, ends, first)
                strength = statement_break(position, depth, _is_definition(node), blank)
                mark(first, strength)
                if first < own:
                    mark(own, Break.WORD)  # with its comments, unless both do not fit
            previous_row = node.end_point.row
            bodies = _bodies(node)
            for body in bodies:
                visit(body, depth + 1)
            inside = set()
            for body in bodies:
                inside.update(range(body.start_point.row + 1, body.end_point.row))
            for row in range(own + 1, min(node.end_point.row + 1, len(covered))):
                if row not in inside:
                    covered[row] = True

    visit(root, 0)
    _mark_loose_comments(text, starts, ends, marks, covered, ("//", "/*", "#"))
    return marks.breaks


def _indentation_breaks(text: str, starts: list[int], ends: list[int]) -> list[Break]:
    """Breaks from indentation and brackets: for languages without a parser here, and Python that does not parse."""
    breaks: list[Break] = []
    depth = 0  # open brackets carried over from earlier lines
    in_block_comment = False
    previous_opens = False  # the previous code line opened a block ("{" or ":" at its end)
    previous_comment = False  # the previous line was a comment
    unit = _indent_unit(text, starts, ends)
    for line, (start, end) in enumerate(zip(starts, ends)):
        content = text[start:end]
        stripped = content.strip()
        if not stripped:
            breaks.append(Break.PIECE)
            continue
        indent = len(content) - len(content.lstrip(" \t"))
        blank = _blank_before(text, starts, ends, line)
        if in_block_comment or depth > 0 or stripped[0] in ")]}":
            strength = Break.PIECE  # inside a comment, a bracket, or closing a block: with what came before
        elif previous_opens:
            strength = Break.WORD
        elif indent == 0:
            strength = Break.SECTION if _DEFINITION.match(stripped) or (blank and stripped.startswith(("/**", "//", "#"))) \
                else Break.ITEM if blank else Break.LINE
        elif indent <= unit:
            strength = Break.PARAGRAPH if _DEFINITION.match(stripped) else Break.SENTENCE if blank else Break.CLAUSE
        else:
            strength = Break.CLAUSE if blank else Break.WORD
        if previous_comment and not blank and strength > Break.WORD:
            strength = Break.WORD  # the comment right above starts this statement's unit
        breaks.append(strength)
        previous_comment = stripped.startswith(("//", "#", "/*", "*")) and depth == 0
        code = _without_strings(stripped)
        if "/*" in code and "*/" not in code[code.index("/*"):]:
            in_block_comment = True
        elif in_block_comment and "*/" in code:
            in_block_comment = False
        if not in_block_comment:
            depth = max(0, depth + sum(code.count(c) for c in "([") - sum(code.count(c) for c in ")]"))
        previous_opens = code.endswith(("{", ":")) and depth == 0
    return breaks


def _indent_unit(text: str, starts: list[int], ends: list[int]) -> int:
    """The smallest indentation of an indented line (a tab counts one): one level."""
    smallest = 0
    for start, end in zip(starts, ends):
        content = text[start:end]
        indent = len(content) - len(content.lstrip(" \t"))
        if indent and content.strip() and (smallest == 0 or indent < smallest):
            smallest = indent
    return smallest or 4


_STRINGS = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|`[^`]*`|//.*$|#.*$")


def _without_strings(line: str) -> str:
    """The line with string literals and line comments taken out, so their brackets are not counted."""
    return _STRINGS.sub("", line).rstrip()


def language_of(suffix: str) -> str | None:
    """The language a file suffix is chunked as, or None for prose."""
    return CODE_SUFFIXES.get(suffix.lower())


__all__ = ["code_span_table", "language_of", "Language", "LANGUAGES", "CODE_LANGUAGES", "CODE_SUFFIXES", "GRAMMARS"]
