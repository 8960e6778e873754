#!/usr/bin/env python3
"""VADER baseline for Hearth's 3-class sentiment (positive / neutral / negative).

Scores the sets Hearth's trainer scores, with VADER's compound score and the standard
thresholds: compound >= 0.05 -> positive, compound <= -0.05 -> negative, otherwise neutral.
The sets: models/sentiment/data/test.tsv and every test-SOURCE.tsv beside it (made by
prepare_data.py), tests/fixtures/sentiment/fixed_set.tsv, social_eval.tsv and social_dev.tsv (the latter two
also per category). Prints and writes models/sentiment/vader_baseline.json: per set, accuracy,
macro-F1, per-class precision / recall / F1 / support, the confusion matrix (rows = gold,
columns = predicted, order positive, neutral, negative); the exact command and the package
version.

Installs nothing itself. It needs the PyPI package vadersentiment==3.3.2 (MIT), e.g.

    python3 -m venv /tmp/vader-venv
    /tmp/vader-venv/bin/pip install vadersentiment==3.3.2
    /tmp/vader-venv/bin/python models/sentiment/vader_baseline.py

Input: UTF-8 TSV, one `label<TAB>text` or `category<TAB>label<TAB>text` per line, no header.
"""

import argparse
import hashlib
import importlib.metadata
import json
import platform
import shlex
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO / "models/sentiment/data"
DEFAULT_SETS = [
    REPO / "tests/fixtures/sentiment/fixed_set.tsv",
    REPO / "tests/fixtures/sentiment/social_eval.tsv",
    REPO / "tests/fixtures/sentiment/social_dev.tsv",
]
DEFAULT_OUTPUT = REPO / "models/sentiment/vader_baseline.json"
LABELS = ("positive", "neutral", "negative")
POS_THRESHOLD = 0.05
NEG_THRESHOLD = -0.05

try:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
except ImportError:
    sys.exit("vaderSentiment is not installed: pip install vadersentiment==3.3.2 (in a venv; see the docstring)")


def read_tsv(path: Path) -> list[tuple[str | None, str, str]]:
    """(category or None, label, text) per line."""
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if line == "":
            continue
        fields = line.split("\t")
        if len(fields) == 2:
            fields = [None, *fields]
        if len(fields) != 3 or fields[1] not in LABELS:
            sys.exit(f"{path}:{n}: expected `[category<TAB>]label<TAB>text` with label in {LABELS}")
        items.append((fields[0], fields[1], fields[2].strip()))
    return items


def to_label(compound: float) -> str:
    if compound >= POS_THRESHOLD:
        return "positive"
    if compound <= NEG_THRESHOLD:
        return "negative"
    return "neutral"


def r4(x: float) -> float:
    return round(x, 4)


def prf(cm: list[list[int]], i: int) -> tuple[float, float, float]:
    """Precision, recall, F1 of class i (0.0 where undefined)."""
    tp = cm[i][i]
    pred_n = sum(row[i] for row in cm)
    gold_n = sum(cm[i])
    prec = tp / pred_n if pred_n else 0.0
    rec = tp / gold_n if gold_n else 0.0
    return prec, rec, (2 * prec * rec / (prec + rec) if prec + rec else 0.0)


def evaluate(gold: list[str], pred: list[str]) -> dict:
    idx = {lab: i for i, lab in enumerate(LABELS)}
    cm = [[0] * len(LABELS) for _ in LABELS]
    for g, p in zip(gold, pred):
        cm[idx[g]][idx[p]] += 1
    per_class = {}
    f1s = []
    for lab, i in idx.items():
        prec, rec, f1 = prf(cm, i)
        f1s.append(f1)
        per_class[lab] = {"precision": r4(prec), "recall": r4(rec), "f1": r4(f1), "support": sum(cm[i])}
    correct = sum(cm[i][i] for i in range(len(LABELS)))
    return {
        "n": len(gold),
        "accuracy": r4(correct / len(gold)),
        "macro_f1": r4(sum(f1s) / len(LABELS)),
        "per_class": per_class,
        "confusion_matrix": {"labels": list(LABELS), "rows": "gold", "columns": "predicted", "matrix": cm},
    }


def score(analyzer, items: list[tuple[str | None, str, str]]) -> dict:
    gold = [lab for _, lab, _ in items]
    pred = [to_label(analyzer.polarity_scores(text)["compound"]) for _, _, text in items]
    return evaluate(gold, pred)


def show(name: str, res: dict) -> None:
    print(f"\n{name}: n={res['n']}  accuracy={res['accuracy']:.4f}  macro-F1={res['macro_f1']:.4f}")
    print(f"  {'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for lab, v in res["per_class"].items():
        print(f"  {lab:<10}{v['precision']:>10.4f}{v['recall']:>10.4f}{v['f1']:>10.4f}{v['support']:>10}")
    print("  confusion (rows gold, columns predicted):", "  ".join(f"{lab[:3]}" for lab in LABELS))
    for lab, row in zip(LABELS, res["confusion_matrix"]["matrix"]):
        print(f"  {lab:<10}" + "".join(f"{x:>7}" for x in row))


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with test.tsv and test-SOURCE.tsv")
    ap.add_argument("--eval", type=Path, action="append", help="more sets to score (default: the three fixtures)")
    ap.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = ap.parse_args()
    command = shlex.join([sys.executable, *sys.argv])
    print("command:", command)

    analyzer = SentimentIntensityAnalyzer()
    paths = [args.data / "test.tsv", *sorted(args.data.glob("test-*.tsv")), *(args.eval or DEFAULT_SETS)]
    evaluations = {}
    for path in paths:
        items = read_tsv(path)
        result = {"data": rel(path), "data_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                  "all": score(analyzer, items)}
        show(rel(path), result["all"])
        categories = sorted({category for category, _, _ in items if category is not None})
        if categories:
            result["by_category"] = {c: score(analyzer, [i for i in items if i[0] == c]) for c in categories}
            for c in categories:
                show(f"{rel(path)} [{c}]", result["by_category"][c])
        evaluations[path.stem] = result
    report = {
        "model": "VADER (vaderSentiment SentimentIntensityAnalyzer, compound score)",
        "package": "vadersentiment",
        "package_version": importlib.metadata.version("vaderSentiment"),
        "python": platform.python_version(),
        "thresholds": {"positive": f"compound >= {POS_THRESHOLD}", "negative": f"compound <= {NEG_THRESHOLD}",
                       "neutral": "otherwise"},
        "command": command,
        "evaluations": evaluations,
    }
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {rel(args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
