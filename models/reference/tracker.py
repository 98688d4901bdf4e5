#!/usr/bin/env python3
"""Reference face tracker in numpy + onnxruntime: the same pipeline as src/tracking, step for step.

    models/.venv/bin/python models/reference/tracker.py IMAGE [IMAGE ...]           # JSON landmarks
    models/.venv/bin/python models/reference/tracker.py --bench 100 IMAGE [THREADS]  # median ms: detect, track

Used by tests/tracking_parity.rs (Rust and Python landmarks must agree within 0.5 px) and by the tracking
benchmark. Conventions: continuous pixel coordinates with pixel centres at +0.5; bilinear sampling with the
border replicated (black outside the image for the detector's letterbox); crops rotated by `angle` radians
(image x towards image y); optionally mirrored.
"""
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

MODELS = Path(__file__).resolve().parent.parent.parent / "assets" / "models"
RIGHT_EYE_OUTER, RIGHT_EYE_INNER, LEFT_EYE_INNER, LEFT_EYE_OUTER = 33, 133, 362, 263
MIN_PRESENCE = 0.5


THREADS = 1


def session(name):
    so = ort.SessionOptions()
    so.intra_op_num_threads = THREADS
    so.log_severity_level = 3
    return ort.InferenceSession(str(MODELS / name), so, providers=["CPUExecutionProvider"])


def load_image(path):
    path = Path(path)
    data = path.read_bytes()
    if path.suffix == ".ppm":
        fields, i = [], 0
        while len(fields) < 4:
            while data[i:i + 1].isspace():
                i += 1
            start = i
            while not data[i:i + 1].isspace():
                i += 1
            fields.append(data[start:i].decode())
        w, h = int(fields[1]), int(fields[2])
        return np.frombuffer(data[i + 1:i + 1 + w * h * 3], dtype=np.uint8).reshape(h, w, 3)
    from PIL import Image  # only for JPEG / PNG
    return np.asarray(Image.open(path).convert("RGB"))


def to_image(crop, u, v):
    cx, cy, side, angle, size, mirror = crop
    scale = side / size
    dx = (u - size / 2) * scale
    dy = (v - size / 2) * scale
    if mirror:
        dx = -dx
    c, s = np.cos(np.float32(angle)), np.sin(np.float32(angle))
    return cx + c * dx - s * dy, cy + s * dx + c * dy


def sample_chw(img, crop, mul, add, zero_outside):
    size = crop[4]
    g = np.arange(size, dtype=np.float32) + 0.5
    u, v = np.meshgrid(g, g)
    x, y = to_image(crop, u, v)
    h, w = img.shape[:2]
    fx, fy = x - 0.5, y - 0.5
    x0, y0 = np.floor(fx), np.floor(fy)
    tx, ty = (fx - x0)[..., None], (fy - y0)[..., None]
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    f = img.astype(np.float32)

    def px(xx, yy):
        return f[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]

    top = px(x0, y0) + (px(x0 + 1, y0) - px(x0, y0)) * tx
    bottom = px(x0, y0 + 1) + (px(x0 + 1, y0 + 1) - px(x0, y0 + 1)) * tx
    out = top + (bottom - top) * ty
    if zero_outside:
        outside = (x < 0) | (y < 0) | (x >= w) | (y >= h)
        out[outside] = 0
    return (out * mul + add).transpose(2, 0, 1)[None].astype(np.float32)


def anchors(kind):
    layers = [(16, 2), (8, 6)] if kind == "short" else [(48, 1)]
    out = []
    for n, per in layers:
        for y in range(n):
            for x in range(n):
                out += [((x + 0.5) / n, (y + 0.5) / n)] * per
    return np.array(out, dtype=np.float32)


class Detector:
    def __init__(self, kind):
        self.kind = kind
        self.n = 128 if kind == "short" else 192
        self.sess = session("face_detector.onnx" if kind == "short" else "face_detector_full_range.onnx")
        self.anchors = anchors(kind)

    def detect_in(self, img, centre, side):
        n = self.n
        crop = (centre[0], centre[1], side, 0.0, n, False)
        reg, cls = self.sess.run(None, {"image": sample_chw(img, crop, 1 / 127.5, -1.0, True)})
        reg, cls = reg[0], cls[0, :, 0]
        with np.errstate(over="ignore"):
            scores = 1 / (1 + np.exp(-np.clip(cls, -100, 100)))
        found = []
        scale = side / n
        for i in np.nonzero(scores >= 0.5)[0]:
            r, a = reg[i], self.anchors[i]
            pt = lambda dx, dy: to_image(crop, (dx / n + a[0]) * n, (dy / n + a[1]) * n)
            found.append({
                "score": float(scores[i]), "centre": pt(r[0], r[1]), "size": (r[2] * scale, r[3] * scale),
                "keypoints": [pt(r[4 + 2 * k], r[5 + 2 * k]) for k in range(6)],
            })
        return weighted_nms(found)

    def detect(self, img):
        h, w = img.shape[:2]
        return self.detect_in(img, (w / 2, h / 2), max(w, h))


def iou(a, b):
    ax0, ay0 = a["centre"][0] - a["size"][0] / 2, a["centre"][1] - a["size"][1] / 2
    bx0, by0 = b["centre"][0] - b["size"][0] / 2, b["centre"][1] - b["size"][1] / 2
    w = max(min(ax0 + a["size"][0], bx0 + b["size"][0]) - max(ax0, bx0), 0)
    h = max(min(ay0 + a["size"][1], by0 + b["size"][1]) - max(ay0, by0), 0)
    union = a["size"][0] * a["size"][1] + b["size"][0] * b["size"][1] - w * h
    return 0 if union <= 0 else w * h / union


def weighted_nms(dets, threshold=0.3):
    dets = sorted(dets, key=lambda d: -d["score"])
    out = []
    while dets:
        best = dets[0]
        group = [d for d in dets if iou(d, best) > threshold or d is best]
        dets = [d for d in dets if not (iou(d, best) > threshold or d is best)]
        total = sum(d["score"] for d in group)
        m = dict(best)
        m["centre"] = tuple(sum(d["centre"][k] * d["score"] / total for d in group) for k in range(2))
        m["size"] = tuple(sum(d["size"][k] * d["score"] / total for d in group) for k in range(2))
        m["keypoints"] = [tuple(sum(d["keypoints"][j][k] * d["score"] / total for d in group) for k in range(2))
                          for j in range(6)]
        out.append(m)
    return out


def crop_from_detection(d):
    (ax, ay), (bx, by) = d["keypoints"][0], d["keypoints"][1]
    return (d["centre"][0], d["centre"][1], 1.5 * max(d["size"]), float(np.arctan2(by - ay, bx - ax)), 192, False)


def crop_from_landmarks(p):
    a, b = p[RIGHT_EYE_OUTER], p[LEFT_EYE_OUTER]
    angle = float(np.arctan2(b[1] - a[1], b[0] - a[0]))
    c, s = np.cos(np.float32(angle)), np.sin(np.float32(angle))
    u = c * p[:, 0] + s * p[:, 1]
    v = -s * p[:, 0] + c * p[:, 1]
    mu, mv = (u.min() + u.max()) / 2, (v.min() + v.max()) / 2
    return (c * mu - s * mv, s * mu + c * mv, 1.5 * max(u.max() - u.min(), v.max() - v.min()), angle, 192, False)


class Tracker:
    def __init__(self):
        self.short, self.full = Detector("short"), Detector("full")
        self.mesh, self.iris = session("face_landmarks.onnx"), session("iris_landmarks.onnx")

    def landmarks(self, img, crop):
        crop = crop[:4] + (192, False)
        pts, presence = self.mesh.run(None, {"image": sample_chw(img, crop, 1 / 255, 0.0, False)})
        pts = pts.reshape(468, 3)
        x, y = to_image(crop, pts[:, 0], pts[:, 1])
        return np.stack([x, y, pts[:, 2] * crop[2] / 192], axis=1), float(1 / (1 + np.exp(-presence.ravel()[0])))

    def search(self, img):
        found = self.short.detect(img)
        if found:
            return found
        found = self.full.detect(img)
        if found:
            return found
        h, w = img.shape[:2]
        found = []
        for fraction in (0.75, 0.5, 0.3):
            side = min(w, h) * fraction
            step = side / 2
            y = side / 2
            while y - side / 2 < h:
                x = side / 2
                while x - side / 2 < w:
                    found += self.short.detect_in(img, (x, y), side)
                    x += step
                y += step
            if found:
                break
        return weighted_nms(found)

    def eyes(self, img, pts):
        out = []
        for a, b, mirror in ((RIGHT_EYE_OUTER, RIGHT_EYE_INNER, False), (LEFT_EYE_INNER, LEFT_EYE_OUTER, True)):
            pa, pb = pts[a], pts[b]
            width = max(float(np.hypot(pb[0] - pa[0], pb[1] - pa[1])), 1.0)
            crop = ((pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2, 2.3 * width,
                    float(np.arctan2(pb[1] - pa[1], pb[0] - pa[0])), 64, mirror)
            out.append(self.iris.run(None, {"image": sample_chw(img, crop, 1 / 255, 0.0, False)}))
        return out

    def track(self, img, last=None):
        """Video mode, as FaceTracker::track: from the last landmarks, or detect (single pass)."""
        if last is not None:
            pts, presence = self.landmarks(img, crop_from_landmarks(last))
            if presence >= MIN_PRESENCE:
                self.eyes(img, pts)
                return pts
        dets = self.short.detect(img)
        if not dets:
            return None
        d = max(dets, key=lambda d: d["size"][0] * d["size"][1])
        pts, presence = self.landmarks(img, crop_from_detection(d))
        if presence < MIN_PRESENCE:
            return None
        self.eyes(img, pts)
        return pts

    def detect_still(self, img):
        dets = self.search(img)
        if not dets:
            return None
        d = max(dets, key=lambda d: d["size"][0] * d["size"][1])
        crop = crop_from_detection(d)
        pts, presence = self.landmarks(img, crop)
        if presence < MIN_PRESENCE:
            upright = self.landmarks(img, crop[:3] + (0.0,) + crop[4:])
            if upright[1] > presence:
                pts, presence = upright
        if presence >= MIN_PRESENCE:
            pts, presence = self.landmarks(img, crop_from_landmarks(pts))
        if presence < MIN_PRESENCE:
            return None
        return pts, presence


def main():
    args = sys.argv[1:]
    if args and args[0] == "--bench":
        global THREADS
        runs, img = int(args[1]), load_image(args[2])
        THREADS = int(args[3]) if len(args) > 3 else 1
        tracker = Tracker()
        last = tracker.track(img)

        def median(f):
            f()
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                f()
                times.append(time.perf_counter() - t)
            return float(np.median(times) * 1e3)

        print(json.dumps({"threads": THREADS, "detect_landmarks_iris_ms": median(lambda: tracker.track(img)),
                          "tracking_ms": median(lambda: tracker.track(img, last))}))
        return
    tracker = Tracker()
    out = {}
    for path in args:
        r = tracker.detect_still(load_image(path))
        out[path] = None if r is None else {"points": r[0].tolist(), "presence": r[1]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
