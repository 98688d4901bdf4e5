"""The landmark sketch the neural generator is conditioned on, drawn exactly as src/neural/sketch.rs draws
it, from the same definition (src/neural/sketch_v1.json).

For each region in order, each segment between consecutive points (and back to the first for closed
regions) colours every pixel whose centre lies within half the line width of the segment; no
anti-aliasing, float64 throughout.

    python models/training/sketch.py --landmarks L.json --size 256 --out sketch.rgb [--png sketch.png]

L.json holds a list of [x, y] pixel coordinates (at least the 468 face-mesh points); the output is the
raw RGB bytes, row by row (and optionally a PNG).
"""

import argparse
import json
import math
from pathlib import Path

import numpy as np

SPEC_PATH = Path(__file__).resolve().parents[2] / "src" / "neural" / "sketch_v1.json"


def load_spec(path=SPEC_PATH):
    with open(path) as f:
        return json.load(f)


def landmarks_needed(spec):
    return max(i for r in spec["regions"] for i in r["points"]) + 1


def draw_segment(out, a, b, half, color):
    n = out.shape[0]
    x0 = max(math.floor(min(a[0], b[0]) - half), 0.0)
    x1 = min(math.ceil(max(a[0], b[0]) + half), n - 1.0)
    y0 = max(math.floor(min(a[1], b[1]) - half), 0.0)
    y1 = min(math.ceil(max(a[1], b[1]) + half), n - 1.0)
    if x0 > x1 or y0 > y1:
        return
    xs = np.arange(int(x0), int(x1) + 1, dtype=np.float64) + 0.5
    ys = np.arange(int(y0), int(y1) + 1, dtype=np.float64) + 0.5
    px, py = np.meshgrid(xs, ys)
    dx, dy = b[0] - a[0], b[1] - a[1]
    len2 = dx * dx + dy * dy
    if len2 > 0.0:
        t = np.clip(((px - a[0]) * dx + (py - a[1]) * dy) / len2, 0.0, 1.0)
    else:
        t = np.zeros_like(px)
    ex = a[0] + t * dx - px
    ey = a[1] + t * dy - py
    hit = ex * ex + ey * ey <= half * half
    region = out[int(y0) : int(y1) + 1, int(x0) : int(x1) + 1]
    region[hit] = color


def rasterise(landmarks, size, spec=None):
    """landmarks: (N, 2) pixel coordinates of the size x size output -> (size, size, 3) uint8."""
    spec = spec or load_spec()
    landmarks = np.asarray(landmarks, dtype=np.float64)
    needed = landmarks_needed(spec)
    if len(landmarks) < needed:
        raise ValueError(f"{len(landmarks)} landmarks, the sketch needs {needed}")
    out = np.zeros((size, size, 3), dtype=np.uint8)
    half = max(spec["line_width_at_256"] * size / 256.0, 1.0) / 2.0
    for region in spec["regions"]:
        pts = [(float(np.float32(landmarks[i][0])), float(np.float32(landmarks[i][1]))) for i in region["points"]]
        if not all(math.isfinite(v) for p in pts for v in p):
            raise ValueError(f"a landmark of `{region['name']}` is not a number")
        segments = len(pts) - 1 + (1 if region["closed"] and len(pts) > 2 else 0)
        for s in range(segments):
            draw_segment(out, pts[s], pts[(s + 1) % len(pts)], half, np.array(region["color"], dtype=np.uint8))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--landmarks", required=True)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--out", required=True)
    ap.add_argument("--png")
    args = ap.parse_args()
    with open(args.landmarks) as f:
        landmarks = json.load(f)
    img = rasterise(landmarks, args.size)
    Path(args.out).write_bytes(img.tobytes())
    if args.png:
        from PIL import Image

        Image.fromarray(img).save(args.png)


if __name__ == "__main__":
    main()
