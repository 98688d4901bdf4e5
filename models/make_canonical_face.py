#!/usr/bin/env python3
"""Derive the canonical face that pose and expression are measured against, from the face-mesh model itself.

    models/.venv/bin/python models/make_canonical_face.py   # writes src/face/canonical_face.json

The face mesh of the demo portrait (the public-domain NASA photo that set-up fetches) is put in a face frame:
origin between the outer eye corners (mesh points 33 and 263), x along them (towards the image right), y
down the face (perpendicular to x, towards the chin, point 152), z = x cross y (away from the camera, the
model's own depth), unit = the outer eye-corner distance. The result is committed; rerun this after a model
change.
"""
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "models" / "reference"))
import tracker as reference  # noqa: E402


def main():
    img = reference.load_image(ROOT / "assets" / "portraits" / "astronaut.png")
    found = reference.Tracker().detect_still(img)
    if found is None:
        raise SystemExit("no face found in the demo portrait")
    pts = found[0].astype(np.float64)
    a, b, chin = pts[33], pts[263], pts[152]
    origin = (a + b) / 2
    x = (b - a) / np.linalg.norm(b - a)
    down = chin - origin
    y = down - x * down.dot(x)
    y /= np.linalg.norm(y)
    z = np.cross(x, y)
    unit = np.linalg.norm(b - a)
    canon = ((pts - origin) @ np.stack([x, y, z], axis=1)) / unit
    out = ROOT / "src" / "face" / "canonical_face.json"
    out.write_text(json.dumps({
        "source": "face mesh of assets/portraits/astronaut.png (scikit-image, public domain), by models/make_canonical_face.py",
        "frame": "origin between points 33 and 263, x towards 263, y towards the chin, z away from the camera; unit = |263 - 33|",
        "points": [[round(float(v), 5) for v in p] for p in canon],
    }, indent=None))
    print(f"wrote {out.relative_to(ROOT)}: 468 points, presence {found[1]:.3f}")


if __name__ == "__main__":
    main()
