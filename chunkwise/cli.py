"""The ``chunkwise`` command: ``demo`` and ``prepare``."""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path

from . import __version__
from .errors import ChunkwiseError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INPUT = 3


def _sample_dir() -> Path:
    return Path(str(resources.files("chunkwise").joinpath("data", "sample")))


def _add_chunk_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-tokens", type=int, default=512, help="hard cap per chunk (default 512)")
    parser.add_argument("--min-tokens", type=int, default=None, help="soft floor per chunk (default max/4)")
    parser.add_argument("--tokenizer", default=None, help="catalog name or path to tokenizer.json (default cl100k_base)")
    parser.add_argument("--model", default=None, help="target LLM name, e.g. llama-3-8b")
    parser.add_argument("--strategy", default="structural", choices=["structural", "naive"])
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def _prepare(paths: list[Path], args: argparse.Namespace):
    from .pipeline import prepare
    from .readers import iter_documents

    documents = [doc for path in paths for doc in iter_documents(path)]
    return prepare(
        documents,
        model=args.model,
        max_tokens=args.max_tokens,
        min_tokens=args.min_tokens,
        tokenizer=args.tokenizer,
        strategy=args.strategy,
    )


def _preview(text: str, width: int = 72) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "\u2026"


def cmd_demo(args: argparse.Namespace) -> int:
    from ._backend import backend

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


def cmd_prepare(args: argparse.Namespace) -> int:
    result = _prepare(args.paths, args)
    out = args.output
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for c in result.chunks:
            f.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
    tmp.replace(out)  # atomic: readers never see a partial file
    if args.json:
        print(result.report.to_json())
    else:
        print(result.report.to_text())
        print(f"\nwrote {len(result.chunks)} chunks to {out}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chunkwise", description="Fewer, better tokens for RAG.")
    parser.add_argument("--version", action="version", version=f"chunkwise {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="prepare the bundled sample corpus and show what it saved")
    _add_chunk_options(demo)
    demo.set_defaults(handler=cmd_demo)
    prep = commands.add_parser("prepare", help="chunk a file or folder of text/Markdown/HTML into JSONL")
    prep.add_argument("paths", nargs="+", type=Path)
    prep.add_argument("-o", "--output", type=Path, required=True, help="output JSONL of chunks")
    _add_chunk_options(prep)
    prep.set_defaults(handler=cmd_prepare)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ChunkwiseError as err:
        print(f"chunkwise: error: {err}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main())
