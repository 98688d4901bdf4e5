#!/usr/bin/env python3
"""MediaPipe's IMAGE-mode Face Landmarker rebuilt step by step from its C++ source, run on the bundle's own
.tflite models, and compared with what MediaPipe 1.2.2 itself gave (tests/data/mediapipe_reference.json).
It shows which steps decide where the points land; the Rust tracker (src/tracking) follows the same steps.

    python3 models/setup.py --reference
    models/.venv-reference/bin/python models/reference/mediapipe_pipeline.py            # every still
    models/.venv-reference/bin/python models/reference/mediapipe_pipeline.py --old      # the tracker's former sampling

The steps (source files of github.com/google-ai-edge/mediapipe):
1. Detector input (face_detector_graph.cc: ImageToTensor with keep_aspect_ratio, BORDER_ZERO; CPU converter
   image_to_tensor_converter_opencv.cc): the whole image's rect padded to a square on its longer side
   (image_to_tensor_utils.cc PadRoi), cut with cv2.getPerspectiveTransform(boxPoints(rect) -> tensor corners)
   and cv2.warpPerspective(INTER_LINEAR, BORDER_CONSTANT): tensor pixel u reads the rect's point u in
   OpenCV's pixel convention (pixel i at i), 8-bit, no antialiasing; then x * 2/255 - 1.
2. SSD decode (strides 8, 16, 16, 16: 896 anchors), sigmoid score >= 0.5, weighted NMS at IoU > 0.5
   (face_detector_graph_options.proto min_suppression_threshold; non_max_suppression_calculator.cc averages
   xmin, ymin, xmax, ymax and the keypoints by score), projected back through the letterbox.
3. Face rect (DetectionsToRects: the box, turned by atan2 of keypoint 0 -> 1; RectTransformation 1.5 x 1.5,
   no square_long): width and height scaled separately.
4. Mesh input (face_landmarks_detector_graph.cc: ImageToTensor without keep_aspect_ratio, BORDER_REPLICATE):
   the rect stretched to 256 x 256, warpPerspective as in 1, x / 255.
5. Points: model output / 256, projected through the rect (LandmarkProjectionCalculator with IMAGE_DIMENSIONS).

Prints, per still, the mean distance to MediaPipe's points at 512 px, and the face rect.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import zipfile
from pathlib import Path

import cv2
import numpy as np
from tflite_runtime.interpreter import Interpreter

ROOT = Path(__file__).resolve().parent.parent.parent
REFERENCE = ROOT / "tests" / "data" / "mediapipe_reference.json"
TESTDATA = ROOT.parent / "shared" / "testdata"
MODEL = ROOT.parent / "shared" / "models" / "face_landmarker.task"


def decode(path: Path, width: int, height: int) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8)[: width * height * 3].reshape(height, width, 3)


def interpreter(bundle: zipfile.ZipFile, name: str) -> Interpreter:
    i = Interpreter(model_content=bundle.read(name))
    i.allocate_tensors()
    return i


def run(model: Interpreter, x: np.ndarray) -> list[np.ndarray]:
    model.set_tensor(model.get_input_details()[0]["index"], x[None].astype(np.float32))
    model.invoke()
    return [model.get_tensor(o["index"]) for o in model.get_output_details()]


def cut(img, cx, cy, w, h, rotation, size, border, old_at=None):
    """The rect (centre, size in pixels, rotation in radians) as a size x size RGB tensor (float, 0..255)."""
    if old_at is not None:  # the tracker's former sampling: tensor pixel u at the rect's point u + old_at,
        # pixel centres at +0.5 (so OpenCV's coordinate x - 0.5), float bilinear
        g = (np.arange(size) + old_at) / size - 0.5
        u, v = np.meshgrid(g * w, g * h)
        c, s = math.cos(rotation), math.sin(rotation)
        mx = (cx + c * u - s * v - 0.5).astype(np.float32)
        my = (cy + s * u + c * v - 0.5).astype(np.float32)
        return cv2.remap(img.astype(np.float32), mx, my, cv2.INTER_LINEAR, borderMode=border)
    src = cv2.boxPoints(((cx, cy), (w, h), rotation * 180 / math.pi)).astype(np.float32)
    dst = np.array([[0, size], [0, 0], [size, 0], [size, size]], np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=border).astype(np.float32)


ANCHORS = np.array([((x + 0.5) / n, (y + 0.5) / n)
                    for n, per in [(16, 2), (8, 6)] for y in range(n) for x in range(n) for _ in range(per)])


def iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


def detect(model, img, old_at=None):
    """Detections best first: (score, box xmin ymin xmax ymax, 6 keypoints), image pixels."""
    height, width = img.shape[:2]
    side = max(width, height)
    x = cut(img, width / 2, height / 2, side, side, 0.0, 128, cv2.BORDER_CONSTANT, old_at) * (2 / 255) - 1
    outs = run(model, x)
    reg = next(o for o in outs if o.shape[-1] == 16)[0] / 128
    logit = next(o for o in outs if o.shape[-1] == 1)[0, :, 0].astype(np.float64)
    score = 1 / (1 + np.exp(-np.clip(logit, -100, 100)))
    found = []
    for i in np.argsort(-score, kind="stable"):
        if score[i] < 0.5:
            break
        r, (ax, ay) = reg[i], ANCHORS[i]
        cx, cy, w, h = r[0] + ax, r[1] + ay, r[2], r[3]
        found.append((score[i], (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2),
                      [(r[4 + 2 * k] + ax, r[5 + 2 * k] + ay) for k in range(6)]))
    merged = []
    while found:
        best = found[0]
        group = [d for d in found if iou(d[1], best[1]) > 0.5]
        found = [d for d in found if not iou(d[1], best[1]) > 0.5]
        total = sum(d[0] for d in group)
        box = [sum(d[1][k] * d[0] for d in group) / total for k in range(4)]
        kps = [[sum(d[2][j][k] * d[0] for d in group) / total for k in range(2)] for j in range(6)]
        merged.append((best[0], box, kps))
    to_px = lambda x, y: (x * side - (side - width) / 2, y * side - (side - height) / 2)  # noqa: E731
    return [(s, (*to_px(b[0], b[1]), *to_px(b[2], b[3])), [to_px(*p) for p in k]) for s, b, k in merged]


def landmarks(model, img, detection, old_at=None):
    _, (x0, y0, x1, y1), kps = detection
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, 1.5 * (x1 - x0), 1.5 * (y1 - y0)
    (ax, ay), (bx, by) = kps[0], kps[1]
    rotation = math.atan2(by - ay, bx - ax)
    if old_at is not None:  # the tracker's former crop: square on the longer side
        w = h = max(w, h)
    x = cut(img, cx, cy, w, h, rotation, 256, cv2.BORDER_REPLICATE, old_at) / 255
    lm = next(o for o in run(model, x) if o.size == 478 * 3).reshape(478, 3) / 256
    c, s = math.cos(rotation), math.sin(rotation)
    u, v = (lm[:, 0] - 0.5) * w, (lm[:, 1] - 0.5) * h
    return np.stack([cx + c * u - s * v, cy + s * u + c * v], 1), (cx, cy, w, h, rotation)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", action="store_true",
                    help="the tracker's former sampling (detector at the pixel centre, mesh at 0.25, square crop)")
    ap.add_argument("--testdata", type=Path, default=TESTDATA)
    ap.add_argument("--model", type=Path, default=MODEL)
    args = ap.parse_args()
    reference = json.loads(REFERENCE.read_text())
    with zipfile.ZipFile(args.model) as bundle:
        detector = interpreter(bundle, "face_detector.tflite")
        mesh = interpreter(bundle, "face_landmarks_detector.tflite")
    errors = []
    for still in reference["stills"]:
        if not still["landmarks"]:
            continue
        width, height = still["width"], still["height"]
        img = decode(args.testdata / still["path"], width, height)
        found = detect(detector, img, 0.5 if args.old else None)
        if not found:
            print(f"{still['path']:42s} no face (MediaPipe found one)")
            continue
        points, rect = landmarks(mesh, img, found[0], 0.25 if args.old else None)
        theirs = np.array(still["landmarks"]).reshape(478, 2)
        error = np.linalg.norm(points - theirs, axis=1).mean() * 512 / max(width, height)
        errors.append(error)
        print(f"{still['path']:42s} {error:6.3f} px at 512 px; rect at {rect[0]:.1f}, {rect[1]:.1f}, "
              f"{rect[2]:.1f} x {rect[3]:.1f} px, {rect[4]:.3f} rad; {len(found)} detection(s)")
    print(f"{len(errors)} stills: mean {np.mean(errors):.3f} px, worst {np.max(errors):.3f} px")


if __name__ == "__main__":
    main()
