"""The reference side of `cargo xtask bench images`: the same work as `hearth bench-images`
(decode, EXIF orientation, the documented preprocessing, EfficientNet-Lite0 on PyTorch CPU)
on the same files, at batch 1 and batch 16; prints one JSON report as its last line.

    python models/images/bench_images.py WEIGHTS.pth FILE... [--images 64] [--threads 2]
"""

import argparse
import io
import itertools
import json
import time

import numpy as np
import torch
from efficientnet_lite_pytorch import EfficientNet

from make_reference import preprocess  # the same preprocessing as the fidelity reference


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("weights")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=arguments.weights)
    model.eval()
    data = [open(path, "rb").read() for path in arguments.files]
    inputs = list(itertools.islice(itertools.cycle(data), arguments.images))

    def run(batch):
        started = time.perf_counter()
        with torch.no_grad():
            for start in range(0, len(inputs), batch):
                tensor = torch.from_numpy(np.stack([preprocess(io.BytesIO(item)) for item in inputs[start : start + batch]]))
                torch.topk(torch.softmax(model(tensor), 1), 5)
        return (time.perf_counter() - started) * 1000 / len(inputs)

    run(16)  # warm-up
    batch_1, batch_16 = run(1), run(16)
    print(
        json.dumps(
            {
                "implementation": f"PyTorch {torch.__version__} CPU (efficientnet_lite_pytorch)",
                "images": len(inputs),
                "batch_1_ms_per_image": round(batch_1, 2),
                "batch_16_ms_per_image": round(batch_16, 2),
                "threads": arguments.threads,
            }
        )
    )


if __name__ == "__main__":
    main()
