#!/usr/bin/env python3
"""Turn an image folder written by `flare poison` (OUT/train + OUT/manifest.csv) into a folder of
"photos" of assorted sizes, aspect ratios, formats and colour modes, with the manifest rewritten for
the new file names, so that `flare purify --image-size N` can be measured on mixed data with ground
truth (docs/results.md).

Each image is upscaled (bicubic) to S x S, S drawn from SIDES, and then widened or heightened to an
aspect ratio drawn from ASPECTS by mirroring its edges: scaling the shorter side back to N and
centre-cropping (what --image-size does) recovers the S x S picture, so a trigger in a corner
survives the crop. It is saved as JPEG, PNG, BMP or WebP; some images become grayscale, some PNG and
WebP ones get a varying alpha channel. Every choice comes from --seed.

Usage: /usr/bin/python3 bench/make_mixed_photos.py --src runs/poison64 --out runs/mixed64 [--seed 0]
Needs Pillow with WebP and NumPy (Debian: python3-pil python3-numpy).
"""
import argparse
import csv
import os
import random
import sys
from collections import Counter

import numpy as np
from PIL import Image

SIDES = [64, 96, 128, 160, 224]
ASPECTS = [(1, 1), (4, 3), (3, 4), (3, 2), (2, 3), (16, 9)]
FORMATS = {"jpg": ("JPEG", {"quality": 92}), "png": ("PNG", {}), "bmp": ("BMP", {}), "webp": ("WEBP", {"quality": 90})}
GRAYSCALE_SHARE = 0.15
ALPHA_SHARE = 0.15


def widen(pixels, aspect):
    """Mirror-pads the square picture to the aspect ratio (long : short), centred."""
    side = pixels.shape[0]
    long_side = round(side * max(aspect) / min(aspect))
    before = (long_side - side) // 2
    after = long_side - side - before
    pad = [(0, 0), (before, after)] if aspect[0] >= aspect[1] else [(before, after), (0, 0)]
    return np.pad(pixels, pad + [(0, 0)], mode="symmetric")


def convert(image, rng, extension):
    draw = rng.random()
    if draw < GRAYSCALE_SHARE:
        return image.convert("L"), "gray"
    if draw < GRAYSCALE_SHARE + ALPHA_SHARE and extension in ("png", "webp"):
        width, height = image.size
        alpha = np.tile(np.linspace(96, 255, width, dtype=np.uint8), (height, 1))
        rgba = image.convert("RGBA")
        rgba.putalpha(Image.fromarray(alpha, "L"))
        return rgba, "alpha"
    return image, "rgb"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", required=True, help="output folder of flare poison (train/ and manifest.csv)")
    parser.add_argument("--out", required=True, help="new folder: train/ and manifest.csv")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if os.path.exists(args.out):
        sys.exit(f"{args.out}: already exists")
    with open(os.path.join(args.src, "manifest.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    rng = random.Random(args.seed)
    sizes, formats, modes = Counter(), Counter(), Counter()
    for row in rows:
        side, aspect = rng.choice(SIDES), rng.choice(ASPECTS)
        extension = rng.choice(sorted(FORMATS))
        with Image.open(os.path.join(args.src, "train", row["path"])) as source:
            square = source.convert("RGB").resize((side, side), Image.BICUBIC)
        photo, mode = convert(Image.fromarray(widen(np.asarray(square), aspect)), rng, extension)
        path = os.path.splitext(row["path"])[0] + "." + extension
        os.makedirs(os.path.join(args.out, "train", os.path.dirname(path)), exist_ok=True)
        name, options = FORMATS[extension]
        photo.save(os.path.join(args.out, "train", path), name, **options)
        row["path"] = path
        sizes[photo.size] += 1
        formats[extension] += 1
        modes[mode] += 1
    with open(os.path.join(args.out, "manifest.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} images, {len(sizes)} sizes (from {min(sizes)} to {max(sizes)}), formats {dict(formats)}, modes {dict(modes)}")


if __name__ == "__main__":
    main()
