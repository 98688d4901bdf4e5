"""Makes the README's clip sheets: the demo portrait as a photo, as an oil painting and as concept art, each
through every clip in assets/clips (a row a clip, 8 moments of it), by baking with the `bake` example.

    cargo build --release --features egui,replicon,fetch-runtime --example bake
    models/.venv/bin/python docs/make_clip_sheets.py [--bake PATH_TO_BAKE] [--out docs]

Only the project's own demo portrait appears (see ../shared/testdata/README.md: test data never goes into
the README). Writes docs/clips_photo.jpg, docs/clips_oil.jpg and docs/clips_concept_art.jpg, and the
README's first picture, docs/expressions.png: the demo through the `expressions` example's script
(examples/common/sheet.rs; keep the two in step), baked from a step clip.
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


# The `expressions` example's script (examples/common/sheet.rs; keep the two in step): expression
# weights, gaze yaw and head (yaw, pitch) of each step.
STEPS = [
    ("neutral", {}, 0.0, (0.0, 0.0)),
    ("blink", {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}, 0.0, (0.0, 0.0)),
    ("smile", {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0}, 0.0, (0.0, 0.0)),
    ("jaw open", {"jawOpen": 0.8}, 0.0, (0.0, 0.0)),
    ("look left", {}, 0.5, (0.0, 0.0)),
    ("look right", {}, -0.5, (0.0, 0.0)),
    ("turn left", {}, 0.0, (0.35, 0.0)),
    ("turn right", {}, 0.0, (-0.35, 0.0)),
    ("nod", {}, 0.0, (0.0, -0.3)),
]
EXPRESSION_CELL = 192
# The face and hair of the 512 px demo portrait, square.
EXPRESSION_CROP = (146, 36, 330, 220)


def expressions_sheet(bake: str, work: Path, out: Path) -> None:
    channels = sorted({c for _, e, _, _ in STEPS for c in e})
    keys = []
    for t, (_, weights, gaze, (yaw, pitch)) in enumerate(STEPS):
        # Every key names every channel (a step clip holds each key's values until the next).
        e = ", ".join(f'"{c}": {weights.get(c, 0.0)}' for c in channels)
        keys.append(
            f"        (time: {t}.0, expressions: {{{e}}}, gaze: (yaw: {gaze}, pitch: 0.0), "
            f"head: (yaw: {yaw}, pitch: {pitch})),"
        )
    clip = work / "expressions.face.ron"
    clip.write_text(
        "// The expressions example's script, one step a second (docs/make_clip_sheets.py).\n(\n"
        "    mode: Once,\n    interpolation: Step,\n    keys: [\n" + "\n".join(keys) + "\n    ],\n)\n"
    )
    dest = work / "expressions"
    subprocess.run(
        [bake, str(ROOT / "assets/portraits/astronaut.png"), str(clip), "--out", str(dest), "--fps", "1",
         "--size", "512"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    frames = sorted(dest.glob("frame_*.png"))
    assert len(frames) == len(STEPS), f"{len(frames)} frames baked for {len(STEPS)} steps"
    sheet = Image.new("RGB", (3 * EXPRESSION_CELL, 3 * EXPRESSION_CELL), "white")
    for i, f in enumerate(frames):
        im = Image.open(f).convert("RGB").crop(EXPRESSION_CROP)
        im = im.resize((EXPRESSION_CELL, EXPRESSION_CELL), Image.Resampling.LANCZOS)
        sheet.paste(im, ((i % 3) * EXPRESSION_CELL, (i // 3) * EXPRESSION_CELL))
    target = out / "expressions.png"
    sheet.save(target, optimize=True)
    print(f"wrote {target} ({target.stat().st_size // 1024} KB)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bake", default=str(ROOT / "target/release/examples/bake"))
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--work", default=str(ROOT / "target/tmp/clip_sheets"))
    ap.add_argument("--only-expressions", action="store_true", help="only docs/expressions.png")
    args = ap.parse_args()
    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    expressions_sheet(args.bake, work, out)
    if args.only_expressions:
        return
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
