#!/usr/bin/env python3
"""Google's own MediaPipe FaceLandmarker (Face Mesh V2, 478 points + Blendshape V2, 52 scores) on the shared
test data: the reference the Rust tracker is compared with. Developers only (never a crate dependency).

    python3 models/setup.py --reference            # makes models/.venv-reference (MediaPipe 1.2.2)
    PY=models/.venv-reference/bin/python
    $PY models/reference/mediapipe_reference.py                # writes tests/data/mediapipe_reference.json
    $PY models/reference/mediapipe_reference.py --pairs        # ... and target/mediapipe_pairs.npz (not committed)
    $PY models/reference/mediapipe_reference.py --time         # mean ms/frame, VIDEO mode, webcam_talking at 640x480

Reads ../shared/testdata and ../shared/models/face_landmarker.task (beside the repository; `--testdata`,
`--model` to change). Every picture is decoded by ffmpeg to rgb24 with
`ffmpeg -v error -i FILE -f rawvideo -pix_fmt rgb24 -`, so that a Rust test decoding the same way gets the
same pixels (greyscale becomes RGB). Options are MediaPipe's defaults: num_faces 1, the three minimum
confidences 0.5; blendshapes on.

tests/data/mediapipe_reference.json:
  "videos": per driving video (VIDEO mode, `detect_for_video(image, round(i * 1000 / fps))`):
      path (relative to testdata), width, height, fps, frames, faces (frames with a face),
      "blendshapes": one entry a frame: the 52 scores in `blendshape_names` order, 4 decimals, or null;
      "landmark_every": 5, "landmark_frames": [0, 5, 10, ...],
      "landmarks": one entry per landmark frame: [x0, y0, x1, y1, ...] (478 points, pixels: x * width,
      y * height, 2 decimals; MediaPipe's normalised coordinates, so 0 is the image's left/top edge) or null,
      "z": the same frames' z * width (2 decimals; MediaPipe's depth, same scale as x) or null.
  "stills": IMAGE mode (`detect`) on every image in faces/, paintings/, stylized/: path, width, height,
      face (bool), landmarks, z, blendshapes (as above, all 478 points) or null.
  "blendshape_names", "mediapipe_version", "model" (file name, sha256), "ffmpeg" (version line), "command".

target/mediapipe_pairs.npz (--pairs; for fitting expression shapes): every frame of the three videos,
VIDEO mode as above: landmarks float32 [N, 478, 3] (x, y, z * width in pixels; NaN without a face),
blendshapes float32 [N, 52] (NaN without a face), face bool [N], video int32 [N] (index into `videos`),
frame int32 [N], videos (paths), widths, heights, blendshape_names.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TESTDATA = ROOT.parent / "shared" / "testdata"
MODEL = ROOT.parent / "shared" / "models" / "face_landmarker.task"
OUT = ROOT / "tests" / "data" / "mediapipe_reference.json"
PAIRS = ROOT / "target" / "mediapipe_pairs.npz"
VIDEOS = ["driving/expressions_greenscreen.mp4", "driving/expressions_head_turns.mp4", "driving/webcam_talking.mp4"]
STILL_DIRS = ["faces", "paintings", "stylized"]
STILL_SUFFIXES = {".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".bmp", ".webp"}
LANDMARK_EVERY = 5
TIMING_VIDEO = "driving/webcam_talking.mp4"
TIMING_WARMUP = 10


# -- decoding (ffmpeg) -------------------------------------------------------------------------------
def probe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=width,height,r_frame_rate", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["streams"][0]


def decode(path: Path, width: int, height: int, vf: str | None = None):
    """Every frame of `path` as uint8 [n, height, width, 3], decoded by ffmpeg to rgb24."""
    import numpy as np

    cmd = ["ffmpeg", "-v", "error", "-i", str(path)]
    if vf:
        cmd += ["-vf", vf]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    size = width * height * 3
    if len(raw) % size:
        raise SystemExit(f"error: ffmpeg gave {len(raw)} bytes for {path}, not a multiple of {width}x{height}x3")
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def ffmpeg_version() -> str:
    return subprocess.run(["ffmpeg", "-version"], check=True, capture_output=True, text=True).stdout.splitlines()[0]


# -- MediaPipe --------------------------------------------------------------------------------------
def landmarker(model: Path, video: bool):
    from mediapipe.tasks import python as mp_tasks
    from mediapipe.tasks.python import vision

    return vision.FaceLandmarker.create_from_options(vision.FaceLandmarkerOptions(
        base_options=mp_tasks.BaseOptions(model_asset_path=str(model)),
        running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
        num_faces=1,
        min_face_detection_confidence=0.5,
        min_face_presence_confidence=0.5,
        min_tracking_confidence=0.5,
        output_face_blendshapes=True))


def mp_image(rgb):
    import mediapipe as mp
    import numpy as np

    return mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))


def face_of(result, width: int, height: int):
    """(landmarks float64 [478, 3] in pixels (x * width, y * height, z * width), scores [52], names) or None."""
    import numpy as np

    if not result.face_landmarks:
        return None
    pts = np.array([(p.x * width, p.y * height, p.z * width) for p in result.face_landmarks[0]], np.float64)
    cats = result.face_blendshapes[0]
    return pts, np.array([c.score for c in cats], np.float64), [c.category_name for c in cats]


def run_video(model: Path, frames, fps: Fraction):
    """One fresh VIDEO-mode landmarker over all frames: a list of face_of() results."""
    det = landmarker(model, video=True)
    try:
        out = []
        for i, rgb in enumerate(frames):
            ts = round(i * 1000 / fps)
            out.append(face_of(det.detect_for_video(mp_image(rgb), ts), rgb.shape[1], rgb.shape[0]))
        return out
    finally:
        det.close()


# -- JSON -------------------------------------------------------------------------------------------
def r2(values) -> list:
    return [round(float(v), 2) + 0.0 for v in values]  # + 0.0: no "-0.0"


def r4(values) -> list:
    return [round(float(v), 4) + 0.0 for v in values]


def xy(pts) -> list:
    return r2(pts[:, :2].reshape(-1))


def dump(obj, indent: int = 0) -> str:
    """JSON with objects and lists of lists indented, lists of numbers on one line."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {dump(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and any(isinstance(v, (dict, list)) for v in obj):
        items = [inner + dump(v, indent + 1) for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, separators=(",", ":"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_names(names: list, seen: list | None) -> list:
    if len(names) != 52 or (seen is not None and names != seen):
        raise SystemExit(f"error: unexpected blendshape categories {names}")
    return names


def record(testdata: Path, model: Path, out: Path, pairs: Path | None, command: str) -> None:
    import mediapipe as mp
    import numpy as np

    names = None
    videos, pair_rows = [], []
    for vi, rel in enumerate(VIDEOS):
        info = probe(testdata / rel)
        width, height = int(info["width"]), int(info["height"])
        fps = Fraction(info["r_frame_rate"])
        frames = decode(testdata / rel, width, height)
        t0 = time.time()
        faces = run_video(model, frames, fps)
        for f in faces:
            if f is not None:
                names = check_names(f[2], names)
        found = sum(f is not None for f in faces)
        print(f"{rel}: {len(frames)} frames {width}x{height} at {float(fps):g} fps, face on {found} "
              f"({time.time() - t0:.1f} s)", flush=True)
        marks = list(range(0, len(frames), LANDMARK_EVERY))
        videos.append({
            "path": rel, "width": width, "height": height, "fps": float(fps), "frames": len(frames), "faces": found,
            "blendshapes": [None if f is None else r4(f[1]) for f in faces],
            "landmark_every": LANDMARK_EVERY, "landmark_frames": marks,
            "landmarks": [None if faces[i] is None else xy(faces[i][0]) for i in marks],
            "z": [None if faces[i] is None else r2(faces[i][0][:, 2]) for i in marks],
        })
        if pairs is not None:
            pair_rows.append((vi, width, height, faces))

    stills = []
    det = landmarker(model, video=False)
    try:
        paths = sorted(p for d in STILL_DIRS for p in (testdata / d).iterdir() if p.suffix.lower() in STILL_SUFFIXES)
        for path in paths:
            info = probe(path)
            width, height = int(info["width"]), int(info["height"])
            (rgb,) = decode(path, width, height)
            f = face_of(det.detect(mp_image(rgb)), width, height)
            if f is not None:
                names = check_names(f[2], names)
            rel = path.relative_to(testdata).as_posix()
            print(f"{rel}: {width}x{height}, {'face' if f else 'no face'}", flush=True)
            stills.append({
                "path": rel, "width": width, "height": height, "face": f is not None,
                "landmarks": None if f is None else xy(f[0]),
                "z": None if f is None else r2(f[0][:, 2]),
                "blendshapes": None if f is None else r4(f[1]),
            })
    finally:
        det.close()
    if names is None:
        raise SystemExit("error: MediaPipe found no face anywhere")

    doc = {
        "about": "Google MediaPipe FaceLandmarker (Face Mesh V2 + Blendshape V2) on ../shared/testdata: "
                 "made by models/reference/mediapipe_reference.py, whose docstring describes the fields",
        "mediapipe_version": mp.__version__,
        "model": {"file": model.name, "sha256": sha256(model)},
        "ffmpeg": ffmpeg_version(),
        "decode": "ffmpeg -v error -i FILE -f rawvideo -pix_fmt rgb24 -",
        "options": {"num_faces": 1, "min_face_detection_confidence": 0.5, "min_face_presence_confidence": 0.5,
                    "min_tracking_confidence": 0.5, "output_face_blendshapes": True},
        "command": command,
        "blendshape_names": names,
        "videos": videos,
        "stills": stills,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dump(doc) + "\n")
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")

    if pairs is not None:
        n = sum(len(f) for _, _, _, f in pair_rows)
        lm = np.full((n, 478, 3), np.nan, np.float32)
        bs = np.full((n, 52), np.nan, np.float32)
        face = np.zeros(n, bool)
        video = np.zeros(n, np.int32)
        frame = np.zeros(n, np.int32)
        row = 0
        for vi, _, _, faces in pair_rows:
            for i, f in enumerate(faces):
                video[row], frame[row] = vi, i
                if f is not None:
                    lm[row], bs[row], face[row] = f[0], f[1], True
                row += 1
        pairs.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(pairs, landmarks=lm, blendshapes=bs, face=face, video=video, frame=frame,
                            videos=np.array(VIDEOS), widths=np.array([w for _, w, _, _ in pair_rows], np.int32),
                            heights=np.array([h for _, _, h, _ in pair_rows], np.int32),
                            blendshape_names=np.array(names))
        print(f"wrote {pairs}: landmarks {lm.shape}, blendshapes {bs.shape}, {int(face.sum())} frames with a face")


# -- timing -----------------------------------------------------------------------------------------
def time_once(testdata: Path, model: Path) -> None:
    """One timing run in this process (its CPU affinity already set): prints one JSON line."""
    path = testdata / TIMING_VIDEO
    fps = Fraction(probe(path)["r_frame_rate"])
    frames = decode(path, 640, 480, vf="scale=640:480")
    images = [mp_image(f) for f in frames]
    det = landmarker(model, video=True)
    try:
        times, found = [], 0
        for i, img in enumerate(images):
            t0 = time.perf_counter()
            result = det.detect_for_video(img, round(i * 1000 / fps))
            times.append(time.perf_counter() - t0)
            found += bool(result.face_landmarks)
    finally:
        det.close()
    timed = sorted(times[TIMING_WARMUP:])
    print(json.dumps({"cores": len(os.sched_getaffinity(0)), "frames": len(frames), "timed": len(timed),
                      "faces": found, "mean_ms": 1000 * sum(timed) / len(timed),
                      "median_ms": 1000 * timed[len(timed) // 2]}), flush=True)


def time_all(testdata: Path, model: Path, repeats: int) -> None:
    """MediaPipe has no thread-count option in Python: the one-thread figure pins the process to one CPU core
    (sched_setaffinity, before MediaPipe starts a thread); the other lets it use every core."""
    load = os.getloadavg()[0]
    print(f"MediaPipe FaceLandmarker, VIDEO mode, {TIMING_VIDEO} scaled to 640x480, mean over all frames after "
          f"{TIMING_WARMUP} warm-up frames (load average {load:.2f} on {os.cpu_count()} CPUs)", flush=True)
    for cores in ["1", "all"]:
        for _ in range(repeats):
            out = subprocess.run([sys.executable, __file__, "--testdata", str(testdata), "--model", str(model),
                                  "--time-once", cores], check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            label = "one core" if cores == "1" else f"all {r['cores']} cores"
            print(f"  {label:>12}: {r['mean_ms']:.2f} ms/frame mean, {r['median_ms']:.2f} median "
                  f"({r['timed']} frames timed, face on {r['faces']}/{r['frames']})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--testdata", type=Path, default=TESTDATA)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--out", type=Path, default=OUT, help=f"default {OUT.relative_to(ROOT)}")
    parser.add_argument("--pairs", nargs="?", type=Path, const=PAIRS, default=None,
                        help=f"also write every video frame's landmarks and scores (default {PAIRS.relative_to(ROOT)})")
    parser.add_argument("--time", action="store_true", help="time MediaPipe instead of recording")
    parser.add_argument("--repeats", type=int, default=1, help="timing runs per configuration (with --time)")
    parser.add_argument("--time-once", choices=["1", "all"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time_once:
        if args.time_once == "1":
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        time_once(args.testdata, args.model)
        return
    if args.time:
        time_all(args.testdata, args.model, args.repeats)
        return
    for p in [args.model, *(args.testdata / v for v in VIDEOS)]:
        if not p.exists():
            raise SystemExit(f"error: {p} is missing")
    command = "models/.venv-reference/bin/python models/reference/mediapipe_reference.py" + "".join(
        f" {a}" for a in sys.argv[1:])
    record(args.testdata, args.model, args.out, args.pairs, command)


if __name__ == "__main__":
    main()
