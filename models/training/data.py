"""Training data: folders written by the Rust tool `examples/prepare_training_data.rs` (frames of a video
cropped by the crate's own FaceCrop, landmarks from the crate's own tracker), one folder per video:

    DATA/<video>/landmarks.json   {"version": 1, "resolution": R, "source": ..., "frames": [
                                      {"file": "000000.png", "index": 0, "time": 0.0,
                                       "landmarks": [[x, y], ...]}, ...]}
    DATA/<video>/000000.png ...   R x R RGB crops

Sketches are drawn here with sketch.py (the same drawing as the crate's). Everything is held in memory as
uint8 (a 64-pixel frame is 12 KiB).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import sketch as sketch_mod

FORMAT_VERSION = 1


class DataError(Exception):
    """A training folder that cannot be used; the message names the file."""


@dataclass
class Video:
    name: str
    frames: np.ndarray  # [N, R, R, 3] uint8
    sketches: np.ndarray  # [N, R, R, 3] uint8
    times: np.ndarray  # [N] seconds


def load_video(folder: Path, resolution: int, spec=None) -> Video:
    meta_path = folder / "landmarks.json"
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise DataError(f"{meta_path}: missing (make the folder with examples/prepare_training_data.rs)")
    except json.JSONDecodeError as e:
        raise DataError(f"{meta_path}: not JSON ({e})")
    if meta.get("version") != FORMAT_VERSION:
        raise DataError(f"{meta_path}: format version {meta.get('version')!r}, this code reads {FORMAT_VERSION}")
    if meta.get("resolution") != resolution:
        raise DataError(
            f"{meta_path}: frames are {meta.get('resolution')} px, training at {resolution} px "
            f"(prepare the data with --size {resolution})"
        )
    spec = spec or sketch_mod.load_spec()
    frames, sketches, times = [], [], []
    for entry in meta.get("frames", []):
        path = folder / entry["file"]
        try:
            img = np.asarray(Image.open(path).convert("RGB"))
        except (OSError, ValueError) as e:
            raise DataError(f"{path}: cannot read the frame ({e})")
        if img.shape != (resolution, resolution, 3):
            raise DataError(f"{path}: {img.shape[1]}x{img.shape[0]}, expected {resolution}x{resolution}")
        try:
            sk = sketch_mod.rasterise(entry["landmarks"], resolution, spec)
        except (ValueError, KeyError, TypeError) as e:
            raise DataError(f"{meta_path}: frame {entry.get('file')}: {e}")
        frames.append(img)
        sketches.append(sk)
        times.append(float(entry.get("time", len(times))))
    if len(frames) < 2:
        raise DataError(f"{meta_path}: {len(frames)} frames; a video needs at least 2")
    return Video(folder.name, np.stack(frames), np.stack(sketches), np.asarray(times))


def load_folder(root: Path, resolution: int) -> list[Video]:
    """Every video folder under `root` (or `root` itself when it is one), sorted by name."""
    root = Path(root)
    if (root / "landmarks.json").exists():
        folders = [root]
    else:
        folders = sorted(p for p in root.iterdir() if (p / "landmarks.json").exists()) if root.is_dir() else []
    if not folders:
        raise DataError(f"{root}: no video folders (each needs a landmarks.json)")
    spec = sketch_mod.load_spec()
    return [load_video(f, resolution, spec) for f in folders]


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 [..., R, R, 3] -> float [..., 3, R, R] in -1..1."""
    t = torch.from_numpy(np.ascontiguousarray(images)).float() / 127.5 - 1.0
    return t.movedim(-1, -3)


def to_uint8(t: torch.Tensor) -> np.ndarray:
    """float [..., 3, R, R] in -1..1 -> uint8 [..., R, R, 3]."""
    return ((t.detach().clamp(-1, 1) + 1) * 127.5).round().byte().movedim(-3, -1).cpu().numpy()


def split(video: Video, holdout: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices for training and held out: the last `holdout` part of the video is held out (frames next to
    each other look alike, so a random split would leak)."""
    n = len(video.frames)
    cut = n - int(round(n * holdout)) if holdout > 0 else n
    cut = min(max(cut, 1), n)
    return np.arange(cut), np.arange(cut, n)


def episode(videos: list[Video], pools: list[np.ndarray], batch: int, shots: int, rng: np.random.Generator):
    """A meta-learning batch: for each of `batch` videos, `shots` frames for the embedder and one other
    frame as the target. Returns frames [B,K,3,R,R], sketches [B,K,3,R,R], target, target sketch
    [B,3,R,R] and the video indices [B]."""
    vids = rng.integers(0, len(videos), size=batch)
    fr, sk, tf, ts = [], [], [], []
    for v in vids:
        pool = pools[v]
        pick = rng.choice(pool, size=shots + 1, replace=len(pool) < shots + 1)
        video = videos[v]
        fr.append(video.frames[pick[:shots]])
        sk.append(video.sketches[pick[:shots]])
        tf.append(video.frames[pick[shots]])
        ts.append(video.sketches[pick[shots]])
    return (
        to_tensor(np.stack(fr)),
        to_tensor(np.stack(sk)),
        to_tensor(np.stack(tf)),
        to_tensor(np.stack(ts)),
        torch.from_numpy(vids).long(),
    )
