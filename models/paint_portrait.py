"""Makes a painted, concept-art look of a portrait (flat colour areas, soft shading, inked contours), so the
NPC example has a stylised face made only from the demo portrait; with --oil, an oil-painting look
(brush strokes, canvas, varnish) for the README's painting sheet.

    python models/paint_portrait.py [--oil] SRC DST
"""
import sys

import numpy as np

from PIL import Image, ImageChops, ImageEnhance, ImageFilter, ImageOps


def paint(src: str, dst: str) -> None:
    im = Image.open(src).convert("RGB")
    smooth = im.filter(ImageFilter.MedianFilter(3)).filter(ImageFilter.MedianFilter(3))
    flat = smooth.quantize(colors=48, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).convert("RGB")
    flat = flat.filter(ImageFilter.ModeFilter(3)).filter(ImageFilter.SMOOTH)
    flat = ImageEnhance.Color(flat).enhance(1.1)
    flat = ImageEnhance.Contrast(flat).enhance(1.1)
    # Ink: strong luminance edges of the smoothed picture, thickened a little, drawn at 70 % black.
    edges = smooth.convert("L").filter(ImageFilter.GaussianBlur(1)).filter(ImageFilter.FIND_EDGES)
    edges = edges.point(lambda v: 255 if v > 26 else 0)
    ink = edges.point(lambda v: 255 - int(v * 0.6)).filter(ImageFilter.SMOOTH)
    out = ImageChops.multiply(flat, Image.merge("RGB", (ink, ink, ink)))
    out.save(dst)


def _box_mean(a: np.ndarray, r: int) -> np.ndarray:
    """Mean over the (r+1) x (r+1) box whose bottom-right corner is each pixel (edge-padded)."""
    pad = np.pad(a, ((r, 0), (r, 0)) + ((0, 0),) * (a.ndim - 2), mode="edge")
    c = np.cumsum(np.cumsum(pad, 0), 1)
    c = np.pad(c, ((1, 0), (1, 0)) + ((0, 0),) * (a.ndim - 2))
    h, w = a.shape[:2]
    k = r + 1
    return (c[k:k + h, k:k + w] - c[0:h, k:k + w] - c[k:k + h, 0:w] + c[0:h, 0:w]) / (k * k)


def oil(src: str, dst: str, radius: int = 4) -> None:
    """Kuwahara brush strokes (each pixel takes the calmest of its four quadrants' means), then a canvas
    weave and a warm varnish."""
    im = np.asarray(Image.open(src).convert("RGB"), dtype=np.float64) / 255.0
    h, w = im.shape[:2]
    luma = im @ np.array([0.299, 0.587, 0.114])
    mean, var = [], []
    for dy in (0, radius):
        for dx in (0, radius):
            m = _box_mean(im, radius)
            m2 = _box_mean(luma * luma, radius)
            ml = _box_mean(luma, radius)
            # Shift so the box lies above-left, above-right, below-left or below-right of the pixel.
            shift = lambda a: np.pad(a, ((0, dy), (0, dx)) + ((0, 0),) * (a.ndim - 2), mode="edge")[dy:dy + h, dx:dx + w]
            mean.append(shift(m))
            var.append(shift(m2 - ml * ml))
    best = np.argmin(np.stack(var), axis=0)
    out = np.take_along_axis(np.stack(mean), best[None, :, :, None], axis=0)[0]
    rng = np.random.default_rng(7)
    weave = 1.0 + 0.035 * (np.sin(np.arange(w) * 2.1)[None, :] * np.sin(np.arange(h) * 1.9)[:, None])
    grain = 1.0 + 0.025 * rng.standard_normal((h, w))
    out = np.clip(out * (weave * grain)[:, :, None], 0, 1)
    out = out ** 1.08 * np.array([1.0, 0.93, 0.80])
    yy, xx = np.mgrid[0:h, 0:w]
    vignette = 1.0 - 0.25 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2) * 2.0
    out = np.clip(out * vignette[:, :, None], 0, 1)
    Image.fromarray((out * 255 + 0.5).astype(np.uint8)).save(dst)


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "--oil":
        oil(args[1], args[2])
    elif len(args) == 2:
        paint(args[0], args[1])
    else:
        raise SystemExit(__doc__)
