"""Makes a painted, concept-art look of a portrait (flat colour areas, soft shading, inked contours), so the
NPC example has a stylised face made only from the demo portrait.

    python models/paint_portrait.py SRC DST
"""
import sys

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


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    paint(sys.argv[1], sys.argv[2])
