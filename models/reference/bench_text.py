#!/usr/bin/env python3
"""The reference side of `cargo xtask bench text`: sentence-transformers on PyTorch CPU.

Embeds every line of a text file with all-MiniLM-L6-v2 loaded from a local folder (never a
hub), batch 32, on the given number of threads, after one warm-up batch, and prints one JSON
object: {"implementation", "texts", "seconds", "texts_per_second", "threads", versions}.

    python bench_text.py MODEL_DIR TEXTS_FILE [--threads 2] [--batch-size 32]
"""

import argparse
import json
import os
import time

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model_dir")
    parser.add_argument("texts")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import torch
    import sentence_transformers
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    with open(args.texts, encoding="utf-8") as handle:
        texts = handle.read().split("\n")
    if texts and texts[-1] == "":
        texts.pop()
    model = SentenceTransformer(args.model_dir, device="cpu", local_files_only=True)
    model.encode(texts[: args.batch_size], batch_size=args.batch_size)  # warm-up
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=args.batch_size, normalize_embeddings=True)
    seconds = time.perf_counter() - started
    assert len(vectors) == len(texts)
    print(json.dumps({
        "implementation": "sentence-transformers (PyTorch CPU)",
        "texts": len(texts),
        "seconds": round(seconds, 3),
        "texts_per_second": round(len(texts) / seconds, 1),
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "torch": torch.__version__,
        "sentence_transformers": sentence_transformers.__version__,
    }))


if __name__ == "__main__":
    main()
