#!/usr/bin/env python3
"""Hearth's tone model next to VADER, set by set: reads models/sentiment/metrics.json (written
by `cargo xtask train sentiment`) and models/sentiment/vader_baseline.json (written by
vader_baseline.py) and prints one Markdown table: accuracy and macro-F1 of each on every
evaluation set, and per category where a set has categories. Standard library only.

    python3 models/sentiment/compare.py
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Where each set's text comes from, relative to the training data.
DOMAIN = {
    "test": "held out, same sources as training",
    "test-rotten-tomatoes": "held out, in domain",
    "test-tweets": "held out, in domain",
    "test-amazon": "held out, in domain",
    "test-nyt": "held out, in domain",
    "fixed_set": "unlike the training data",
    "social_eval": "unlike the training data",
    "social_dev": "unlike the training data; for choosing between recipes",
}


def main() -> int:
    hearth = json.loads((HERE / "metrics.json").read_text(encoding="utf-8"))["evaluations"]
    vader = json.loads((HERE / "vader_baseline.json").read_text(encoding="utf-8"))["evaluations"]
    print("| set | texts | Hearth accuracy | VADER accuracy | difference | Hearth macro-F1 | VADER macro-F1 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, ours in hearth.items():
        theirs = vader.get(name)
        if theirs is None:
            sys.exit(f"vader_baseline.json has no set {name!r}; rerun vader_baseline.py")
        rows = [(f"{name} ({DOMAIN.get(name, 'other')})", ours["all"], theirs["all"])]
        for category, scores in (ours.get("by_category") or {}).items():
            rows.append((f"{name}: {category}", scores, theirs["by_category"][category]))
        for label, a, b in rows:
            n = a["examples"]
            if n != b["n"]:
                sys.exit(f"{label}: Hearth scored {n} texts, VADER {b['n']}")
            diff = 100 * (a["accuracy"] - b["accuracy"])
            print(f"| {label} | {n} | {a['accuracy']:.3f} | {b['accuracy']:.3f} | {diff:+.1f} pts"
                  f" | {a['macro_f1']:.3f} | {b['macro_f1']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
