"""File formats: which suffixes are text, Markdown, HTML, PDF or DOCX, each reduced to its text, and a file's metadata.

The store walk that reads them (and ``iter_documents``) lives in ``stores``.
"""

from __future__ import annotations

import io
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path

from ..chunking.code import CODE_SUFFIXES, language_of
from ..errors import InputDataError, MissingDependencyError

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".rst", ".text"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
PDF_SUFFIXES = frozenset({".pdf"})
DOCX_SUFFIXES = frozenset({".docx"})
_WINDOW_NAME = re.compile(r"(.+?)[_\-. ]?(?:part|window|chunk|page)[_\-. ]?\d+$", re.IGNORECASE)
SKIP_NAMES = frozenset({"readme.md", "readme.txt", "readme.rst"})

_BLOCK_TAGS = frozenset(
    "p div section article header footer nav aside main h1 h2 h3 h4 h5 h6 li ul ol table tr "
    "pre blockquote br hr dl dt dd figure figcaption form title".split()
)
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg"})
_HEADING_TAGS = {f"h{level}": "#" * level for level in range(1, 7)}


class _TextExtractor(HTMLParser):
    """Collects visible text; block tags become line breaks, headings become Markdown headings."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n" if tag not in ("br", "li", "tr", "dt", "dd") else "\n")
            if tag in _HEADING_TAGS:
                self.parts.append(_HEADING_TAGS[tag] + " ")
            elif tag == "li":
                self.parts.append("- ")
            elif tag == "pre":
                self._pre_depth += 1
        elif tag in ("td", "th"):
            self.parts.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n" if tag not in ("li", "tr", "dt", "dd") else "\n")
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._pre_depth:
            self.parts.append(data)
        else:
            # Keep one space where the source had any, so "<b>a</b> b" stays "a b".
            words = " ".join(data.split())
            if not words:
                self.parts.append(" " if data else "")
                return
            lead = " " if data[0].isspace() else ""
            trail = " " if data[-1].isspace() else ""
            self.parts.append(lead + words + trail)

    def text(self) -> str:
        joined = "".join(self.parts)
        lines = [line.strip() if not line.startswith("    ") else line.rstrip() for line in joined.split("\n")]
        out: list[str] = []
        for line in lines:
            if line or (out and out[-1]):
                out.append(line)
        return "\n".join(out).strip() + "\n"


_DECLARED_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)
# WHATWG's Encoding Standard reads these labels as windows-1252, as browsers do.
_WINDOWS_1252_LABELS = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "ascii", "us-ascii", "cp819"})
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode_bytes(payload: bytes, *, html: bool = False) -> tuple[str, str]:
    """``(text, encoding)`` of a file's bytes: UTF-8, else a byte-order mark, else (HTML) the page's
    own ``<meta charset>``, else charset-normalizer's detection.

    Detection ties (several encodings decode the bytes equally cleanly, common for
    short Western text) go to windows-1252, the web's legacy default: left to
    itself charset-normalizer picks the first name in its order (cp1250, even
    cp775), which turns French "crème" into "crčme". Raises UnicodeDecodeError
    when nothing fits (binary data).
    """
    try:
        return payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as err:
        first_error = err
    for mark, encoding in _BOMS:
        if payload.startswith(mark):
            try:
                return payload.decode(encoding), encoding
            except UnicodeDecodeError:
                break
    if html:
        declared = _DECLARED_CHARSET.search(payload[:4096])
        if declared is not None:
            label = declared.group(1).decode("ascii").lower()
            label = "cp1252" if label in _WINDOWS_1252_LABELS else label
            try:
                return payload.decode(label), label
            except (LookupError, UnicodeDecodeError):
                pass  # a wrong or unknown declaration: detect instead
    from charset_normalizer import from_bytes

    matches = list(from_bytes(payload))
    if not matches:
        raise UnicodeDecodeError("utf-8", payload, first_error.start, first_error.end,
                                 "not UTF-8, and no other encoding reads it as text")
    cleanest = min(match.chaos for match in matches)
    tied = [match for match in matches if match.chaos == cleanest]
    chosen = next((match for match in tied if match.encoding == "cp1252"), tied[0])
    return str(chosen), chosen.encoding


_VOID_TAGS = frozenset({"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "wbr"})


def html_parser_name() -> str:
    """The HTML parser ``html_to_text`` uses here: "lexbor" (selectolax, when installed) or "html.parser"."""
    try:
        import selectolax.lexbor  # noqa: F401
    except ImportError:
        return "html.parser"
    return "lexbor"


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, with block structure kept as line breaks.

    Parsed by selectolax's Lexbor when it is installed (``chunkwise[html]``;
    2.6 times the standard library's speed on the bundled sample pages, 4 MB
    in 0.76 s against 2.0 s: the rules below, in Python, are the rest), else by
    ``html.parser``. Both feed the same rules below, so a well-formed page gives
    the same text; on broken markup each parser repairs in its own way (store
    runs record which one made their output).
    """
    sink = _TextExtractor()
    if html_parser_name() == "lexbor":
        _feed_lexbor(html, sink)
    else:
        sink.feed(html)
        sink.close()
    return sink.text()


def _feed_lexbor(html: str, sink: _TextExtractor) -> None:
    """Walk Lexbor's tree in document order, as start tag, text and end tag events (no recursion:
    nesting can be deep)."""
    from selectolax.lexbor import LexborHTMLParser

    root = LexborHTMLParser(html).root
    if root is None:
        return
    children = [iter([root])]
    open_tags: list[str | None] = [None]
    while children:
        node = next(children[-1], None)
        if node is None:
            children.pop()
            tag = open_tags.pop()
            if tag is not None:
                sink.handle_endtag(tag)
            continue
        tag = node.tag
        if tag == "-text":
            sink.handle_data(node.text(deep=False))
        elif tag.startswith("-") or tag in _SKIP_TAGS:
            continue  # comments and the doctype; scripts and styles are never shown
        else:
            sink.handle_starttag(tag, [])
            children.append(node.iter(include_text=True))
            open_tags.append(None if tag in _VOID_TAGS else tag)


def pdf_to_text(payload: bytes) -> tuple[str, list[int]]:
    """The text of a PDF, pages apart by a blank line, and where each page starts in it.

    ``page_starts`` goes into the document's metadata; ``prepare`` turns it into
    each chunk's ``page`` and ``last_page``. Needs ``chunkwise[pdf]`` (pypdf).
    A PDF that cannot be parsed, or is encrypted, is an InputDataError.
    """
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError as err:
        raise MissingDependencyError("reading PDF needs pypdf: pip install 'chunkwise[pdf]'") from err
    try:
        reader = PdfReader(io.BytesIO(payload))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputDataError("the PDF is encrypted; decrypt it first")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as err:
        # pypdf reports a damaged file through its own errors and through plain ones from deep inside.
        raise InputDataError(f"not a readable PDF ({type(err).__name__}: {' '.join(str(err).split())[:300]})") from err
    texts: list[str] = []
    page_starts: list[int] = []
    length = 0
    for text in pages:
        if texts:
            texts.append("\n\n")
            length += 2
        page_starts.append(length)
        texts.append(text)
        length += len(text)
    return "".join(texts), page_starts


def docx_to_text(payload: bytes) -> str:
    """The text of a Word document in reading order: headings as Markdown headings, list paragraphs
    as items, table rows as cells apart by " | ", blocks apart by a blank line. Needs
    ``chunkwise[docx]`` (python-docx); a file that is not a .docx is an InputDataError."""
    try:
        import docx
        from docx.table import Table
    except ImportError as err:
        raise MissingDependencyError("reading DOCX needs python-docx: pip install 'chunkwise[docx]'") from err
    try:
        document = docx.Document(io.BytesIO(payload))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                rows = [" | ".join(" ".join(cell.text.split()) for cell in row.cells) for row in item.rows]
                blocks.append("\n".join(row for row in rows if row.strip(" |")))
                continue
            text = " ".join(item.text.split())
            if not text:
                continue
            style = (item.style.name if item.style is not None else "") or ""
            level = _HEADING_LEVEL.match(style)
            if style == "Title":
                text = "# " + text
            elif level is not None:
                text = "#" * min(int(level.group(1)), 6) + " " + text
            elif style.startswith("List"):
                text = "- " + text
                if blocks and blocks[-1].startswith("- "):
                    blocks[-1] += "\n" + text  # items of one list stay together
                    continue
            blocks.append(text)
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as err:
        raise InputDataError(f"not a readable .docx ({type(err).__name__}: {' '.join(str(err).split())[:300]})") from err
    return "\n\n".join(block for block in blocks if block) + "\n"


_HEADING_LEVEL = re.compile(r"Heading (\d+)$")


def file_metadata(path: Path) -> dict[str, str]:
    """Metadata of a document read from ``path``: its path, its ``language`` when it is source code, and its
    source when it is a window.

    "manual_part2.txt" is a window of the source "manual": dedup stitches the
    overlap between windows of one source (see ``DedupConfig.source_keys``).
    """
    metadata = {"path": str(path)}
    language = language_of(path.suffix)
    if language is not None:
        metadata["language"] = language  # chunked as code (ChunkConfig.language="auto")
    window = _WINDOW_NAME.match(path.stem)
    if window is not None:
        metadata["source_id"] = str(path.with_name(window.group(1)))
    return metadata


__all__ = ["CODE_SUFFIXES", "html_to_text", "html_parser_name", "file_metadata", "decode_bytes", "pdf_to_text", "docx_to_text"]
