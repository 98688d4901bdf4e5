"""Makes the README's clip sheets: the demo portrait as a photo, as an oil painting and as concept art, each
through every clip in assets/clips (a row a clip, 8 moments of it), by baking with the `bake` example.

    cargo build --release --features egui,replicon,fetch-runtime --example bake
    models/.venv/bin/python docs/make_clip_sheets.py [--bake PATH_TO_BAKE] [--out docs]

Only the project's own demo portrait appears (see ../shared/testdata/README.md: test data never goes into
the README). Writes docs/clips_photo.jpg, docs/clips_oil.jpg and docs/clips_concept_art.jpg.
"""
import argparse
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "models"))
import paint_portrait  # noqa: E402

FRAMES = 8
CELL = 120
# The face and hair of the 512 px demo portrait, with room for the turns and nods.
CROP = (148, 36, 328, 246)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bake", default=str(ROOT / "target/release/examples/bake"))
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--work", default=str(ROOT / "target/tmp/clip_sheets"))
    args = ap.parse_args()
    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    demo = ROOT / "assets/portraits/astronaut.png"
    oil = work / "astronaut_oil.png"
    paint_portrait.oil(str(demo), str(oil))
    portraits = [
        ("photo", demo),
        ("oil", oil),
        ("concept_art", ROOT / "assets/portraits/astronaut_painted.png"),
    ]
    clips = sorted((ROOT / "assets/clips").glob("*.face.ron"))
    for name, portrait in portraits:
        rows = []
        for clip in clips:
            dest = work / name / clip.name.removesuffix(".face.ron")
            subprocess.run(
                [args.bake, str(portrait), str(clip), "--out", str(dest), "--fps", "20", "--size", "512"],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            frames = sorted(dest.glob("frame_*.png"))
            picks = [frames[round(i * (len(frames) - 1) / (FRAMES - 1))] for i in range(FRAMES)]
            cells = []
            for f in picks:
                im = Image.open(f).convert("RGB").crop(CROP)
                cells.append(im.resize((CELL, round(CELL * im.height / im.width)), Image.Resampling.LANCZOS))
            rows.append((clip.name.removesuffix(".face.ron"), cells))
        label_w, cell_h = 72, rows[0][1][0].height
        sheet = Image.new("RGB", (label_w + FRAMES * CELL, len(rows) * cell_h), "white")
        draw = ImageDraw.Draw(sheet)
        for r, (label, cells) in enumerate(rows):
            draw.text((6, r * cell_h + cell_h // 2 - 6), label, fill="black")
            for c, im in enumerate(cells):
                sheet.paste(im, (label_w + c * CELL, r * cell_h))
        target = out / f"clips_{name}.jpg"
        sheet.save(target, quality=88, optimize=True)
        print(f"wrote {target} ({target.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
