"""Code-aware chunking on the Python standard library's own sources: the cap, exact offsets, and cuts at definitions.

For every ``Lib/*.py`` (the running interpreter's, or ``--lib``) chunked with
``language="python"`` at each ``--caps`` value, it counts chunks over the cap,
chunks whose text is not ``text[start:end]``, and chunks that start inside a
function or class header (decorators, signature) or its docstring although
that header and docstring fit in the cap, so a cut at the definition itself
was possible. All three must be 0. It also prints how many chunks start at a
definition and, for comparison, the same counts for prose chunking
(``language="prose"``) of the same files.

    python benchmarks/check_code_chunking.py [--lib DIR] [--caps 128,512] [--json out.json]
"""

from __future__ import annotations

import argparse
import ast
import bisect
import json
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chunkwise import chunk, get_tokenizer  # noqa: E402


def protected_ranges(text: str, tree: ast.AST) -> list[tuple[int, int, int]]:
    """(first, last, head_end) character ranges of each definition's header and docstring.

    ``first`` is the start of its first decorator line (or the def line); ``last``
    the end of its docstring (or of its signature); a chunk must not start in
    ``(first, last]`` when ``text[first:last]`` fits in the cap.
    """
    line_starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            line_starts.append(index + 1)
    ranges = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or not node.body:
            continue
        first_line = min([node.lineno] + [d.lineno for d in node.decorator_list])
        first = line_starts[first_line - 1]
        body = node.body[0]
        has_doc = isinstance(body, ast.Expr) and isinstance(getattr(body, "value", None), ast.Constant) \
            and isinstance(body.value.value, str)
        if has_doc:
            last = line_starts[body.end_lineno - 1] + body.end_col_offset
        else:  # the end of the signature's last line (comments after it belong to the body)
            last = _line_end(text, line_starts, _signature_last_line(node))
        ranges.append((first, last, first_line))
    return ranges


def _signature_last_line(node: ast.AST) -> int:
    """The line of a definition's colon: the last line its name, arguments, bases or annotation reach."""
    parts: list[ast.AST] = []
    if isinstance(node, ast.ClassDef):
        parts += node.bases + node.keywords
    else:
        parts += [node.args] + ([node.returns] if node.returns is not None else [])
    last = node.lineno
    for part in parts:
        last = max(last, getattr(part, "end_lineno", None) or last)
        for child in ast.walk(part):
            last = max(last, getattr(child, "end_lineno", None) or last)
    return last


def _line_end(text: str, line_starts: list[int], line: int) -> int:
    end = text.find("\n", line_starts[line - 1])
    return len(text) if end == -1 else end


def check(text: str, cap: int, tokenizer: Any, language: str = "python") -> dict[str, int]:
    chunks = chunk(text, max_tokens=cap, tokenizer=tokenizer, language=language)
    tree = ast.parse(text)
    ranges = protected_ranges(text, tree)
    fits = [(first, last) for first, last, _ in ranges if tokenizer.count(text[first:last]) <= cap]
    definition_starts = {first for first, _, _ in ranges}
    starts = sorted(c.start for c in chunks)
    inside = 0
    for first, last in fits:
        position = bisect.bisect_right(starts, first)
        if position < len(starts) and starts[position] < last and text[first:starts[position]].strip():
            inside += 1
    return {
        "chunks": len(chunks),
        "over_cap": sum(c.token_count > cap for c in chunks),
        "bad_offsets": sum(text[c.start:c.end] != c.text for c in chunks),
        "inside_header_or_docstring": inside,
        "at_definition": sum(c.start in definition_starts for c in chunks),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lib", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--caps", default="128,512")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    tokenizer = get_tokenizer(None)
    files = sorted(args.lib.glob("*.py"))
    results: dict[str, Any] = {"lib": str(args.lib), "files": len(files), "python": sys.version.split()[0], "caps": {}}
    failed = False
    for cap in (int(c) for c in args.caps.split(",")):
        for language in ("python", "prose"):
            totals = {"chunks": 0, "over_cap": 0, "bad_offsets": 0, "inside_header_or_docstring": 0, "at_definition": 0}
            started = time.perf_counter()
            characters = 0
            for path in files:
                text = path.read_text(encoding="utf-8")
                characters += len(text)
                for key, value in check(text, cap, tokenizer, language).items():
                    totals[key] += value
            seconds = time.perf_counter() - started
            results["caps"].setdefault(str(cap), {})[language] = totals | {"seconds": round(seconds, 2)}
            print(f"cap {cap:>5} language={language:<6} {len(files)} files, {characters / 1e6:.2f} MB: "
                  f"{totals['chunks']:,} chunks, over cap {totals['over_cap']}, bad offsets {totals['bad_offsets']}, "
                  f"starting inside a header or docstring that fits {totals['inside_header_or_docstring']}, "
                  f"starting at a definition {totals['at_definition']:,} ({seconds:.1f} s)")
            if language == "python":
                failed |= any(totals[key] for key in ("over_cap", "bad_offsets", "inside_header_or_docstring"))
    print("FAIL" if failed else "PASS: 0 over the cap, 0 bad offsets, 0 cuts inside a header or docstring that fits")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
