"""Prepare and audit the demo corpus and the shared data; write each report as JSON, text, HTML and PNG.

    python benchmarks/render_report.py OUT_DIR [--json summary.json] [--max-tokens 512] [--no-png]

Corpora: the bundled sample (chunkwise/data/sample) and, when ../shared/data is present,
NaturalQuestions-Open gold passages together with the annotated long answers of the same
questions (the two overlap, as a scraped store would) and the five PUD treebanks joined
into documents. For each corpus: ``<name>.report.{json,txt,html,png}`` from
``prepare(...).report`` and ``<name>.audit.{json,txt,html,png}`` from ``audit(...)``.
PNGs are headless-Chromium screenshots (skipped when no Chromium is installed).
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def sample_corpus() -> list:
    from chunkwise.stores.sources import iter_documents

    return list(iter_documents(ROOT / "chunkwise" / "data" / "sample"))


def _literal(value):
    return ast.literal_eval(value) if isinstance(value, str) else value


def nq_pud_corpus() -> list[dict] | None:
    nq = SHARED / "nq" / "nq_open_oracle_dev.jsonl.gz"
    if not nq.exists():
        return None
    docs: list[dict] = []
    with gzip.open(nq, "rt", encoding="utf-8") as handle:
        for index, line in enumerate(handle):
            row = json.loads(line)
            for position, ctx in enumerate(_literal(row["ctxs"])):
                docs.append({"id": f"nq-{index}-passage-{position}", "text": f"{ctx['title']}\n\n{ctx['text']}"})
            gold = _literal(row.get("nq_annotated_gold"))
            if isinstance(gold, dict) and gold.get("long_answer"):
                docs.append({"id": f"nq-{index}-long-answer", "text": f"{gold['title']}\n\n{gold['long_answer']}"})
    for language in ("en", "de", "zh", "ar", "th"):
        path = SHARED / "pud" / f"{language}.jsonl"
        if not path.exists():
            continue
        joiner = "" if language in ("zh", "th") else " "
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                docs.append({"id": f"pud-{language}-{row['doc_id']}", "text": joiner.join(row["sentences"])})
    return docs


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "chromium-headless-shell", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def screenshot(browser: str, html_path: Path, png_path: Path, height: int) -> None:
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={png_path}", f"--window-size=1280,{height}", html_path.resolve().as_uri()],
                   check=True, capture_output=True, timeout=180)


def write(out: Path, stem: str, obj, browser: str | None, height: int) -> dict:
    (out / f"{stem}.json").write_text(obj.to_json(), encoding="utf-8")
    (out / f"{stem}.txt").write_text(obj.to_text() + "\n", encoding="utf-8")
    html_path = out / f"{stem}.html"
    html_path.write_text(obj.to_html(), encoding="utf-8")
    files = [f"{stem}.json", f"{stem}.txt", f"{stem}.html"]
    if browser:
        screenshot(browser, html_path, out / f"{stem}.png", height)
        files.append(f"{stem}.png")
    return {"files": files}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for the JSON/TXT/HTML/PNG files")
    parser.add_argument("--json", type=Path, default=None, help="write a summary of the runs here")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--sample", type=int, default=None, help="audit a seeded sample of this many documents")
    parser.add_argument("--no-png", action="store_true", help="skip the Chromium screenshots")
    args = parser.parse_args()

    import chunkwise
    from chunkwise.reporting.auditing import audit

    args.out.mkdir(parents=True, exist_ok=True)
    browser = None if args.no_png else chromium()
    print(f"chunkwise {chunkwise.__version__} ({chunkwise.backend()}), Python {platform.python_version()}, "
          f"{platform.platform()}; browser: {browser or 'none'}")
    corpora = {"sample": sample_corpus()}
    shared = nq_pud_corpus()
    if shared:
        corpora["nq_pud"] = shared
    else:
        print(f"{SHARED} not present: only the sample corpus")
    summary: dict = {"versions": {"chunkwise": chunkwise.__version__, "python": platform.python_version(),
                                  "backend": chunkwise.backend()}, "corpora": {}}
    for name, docs in corpora.items():
        started = time.perf_counter()
        result = chunkwise.prepare(docs, max_tokens=args.max_tokens)
        prepare_seconds = time.perf_counter() - started
        started = time.perf_counter()
        audited = audit(docs, max_tokens=args.max_tokens, sample=args.sample)
        audit_seconds = time.perf_counter() - started
        report = result.report
        entry = {
            "documents": len(docs),
            "prepare_seconds": round(prepare_seconds, 3),
            "audit_seconds": round(audit_seconds, 3),
            "headline": report.headline(),
            "report": write(args.out, f"{name}.report", report, browser, 3300),
            "audit": write(args.out, f"{name}.audit", audited, browser, 2300),
        }
        summary["corpora"][name] = entry
        print(f"\n== {name}: {len(docs)} documents, prepare {prepare_seconds:.2f}s, audit {audit_seconds:.2f}s")
        print(report.to_text())
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
