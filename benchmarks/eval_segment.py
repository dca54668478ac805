"""Sentence-boundary precision/recall/F1 of chunkwise.segment on the UD PUD treebanks.

Each PUD document's gold sentences are joined (a space between them, none for
Chinese, as running text would be) and the predicted unit starts with a break
of SENTENCE strength or more are compared with the gold sentence starts.

    python benchmarks/eval_segment.py [--data ../shared/data/pud] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from chunkwise.text.segmentation import sentence_boundaries

LANGUAGES = ("en", "de", "zh", "ar", "th")
JOINERS = {"zh": ""}


def evaluate(path: Path, joiner: str) -> dict:
    true_positive = predicted_total = gold_total = 0
    documents = 0
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            sentences = [s.strip() for s in json.loads(line)["sentences"]]
            documents += 1
            gold = set()
            position = 0
            for index, sentence in enumerate(sentences):
                if index:
                    position += len(joiner)
                    gold.add(position)
                position += len(sentence)
            predicted = set(sentence_boundaries(joiner.join(sentences)))
            true_positive += len(gold & predicted)
            predicted_total += len(predicted)
            gold_total += len(gold)
    precision = true_positive / predicted_total if predicted_total else 1.0
    recall = true_positive / gold_total if gold_total else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"documents": documents, "gold_boundaries": gold_total, "precision": precision, "recall": recall, "f1": f1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "pud")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no PUD data at {args.data}", file=sys.stderr)
        return 2
    results = {}
    print(f"{'lang':<5} {'docs':>5} {'gold':>6} {'precision':>9} {'recall':>7} {'F1':>6}")
    for language in LANGUAGES:
        path = args.data / f"{language}.jsonl"
        if not path.exists():
            continue
        r = evaluate(path, JOINERS.get(language, " "))
        results[language] = r
        print(f"{language:<5} {r['documents']:>5} {r['gold_boundaries']:>6} {r['precision']:>9.3f} {r['recall']:>7.3f} {r['f1']:>6.3f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
