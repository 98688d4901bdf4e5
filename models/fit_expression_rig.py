#!/usr/bin/env python3
"""Fit expression shapes (landmark offsets per ARKit name) from MediaPipe's own landmarks and blendshape
scores, for src/rig/expressions/mod.rs. Numpy only.

    # once, with Google's MediaPipe (developers only; see models/reference/README.md):
    python3 models/setup.py --reference
    models/.venv-reference/bin/python models/reference/mediapipe_reference.py --pairs   # target/mediapipe_pairs.npz
    # then:
    models/.venv/bin/python models/fit_expression_rig.py target/mediapipe_pairs.npz
    models/.venv/bin/python models/fit_expression_rig.py target/mediapipe_pairs.npz --hand target/hand_rig.json

The npz (615 frames of the three shared driving videos; not committed) holds per frame MediaPipe's 478
landmarks in pixels (x, y, z * width) and its 52 blendshape scores. For every frame with a face:

1. The first 468 points go into the canonical face frame exactly as the crate does it
   (`src/tracking/pose.rs`: `fit_pose`, Horn's quaternion similarity fit of `RIGID_POINTS` onto
   `canonical_face()`, then `PoseFit::to_canonical`), ported below. `--check-frames 0 100 300 500` prints
   the fit of those frames; a throwaway Rust test printing `fit_pose` of the same frames agreed to every
   printed digit (yaw, pitch, roll to 1e-6 rad, scale, translation, residual, canonical points to 1e-5).
2. Regression, per landmark and coordinate: canonical point = neutral of the video + sum_k weight_k *
   shape_k, least squares with a ridge penalty on the shapes (not on the neutrals: one free intercept per
   video takes each actor's identity, so their face shapes do not leak into the expressions). The data are
   doubled by mirroring every frame (x -> -x, each landmark to its mirror twin, Left and Right scores
   swapped): the fitted Left and Right shapes are then mirror images, and each is fitted on both sides'
   motion.
3. Only channels whose score varies (std >= --min-std, or max >= --min-max) are regressors; the
   eyeLook* ones are regressors too (the eyes move the lids a little) but are not written: gaze turns the
   irises in src/rig/retarget.rs.
4. Held-out check: 10 contiguous blocks of frames, each left out in turn (the block's mirror twin with it);
   the fit on the rest predicts the left-out frames' offsets from their neutral. Per channel it reports, on
   the held-out frames where that channel's weight is >= 0.25, the RMS landmark error (canonical units,
   over the landmarks that channel moves) with the fitted shape, with the hand-made shape of the crate
   (--hand: the default rig saved as JSON by the crate, `ExpressionRig::default().save(..)`), and with no
   shape for it. The lower wins; src/rig/expressions/mod.rs lists which channels take the fitted shape.

Writes src/rig/fitted_shapes.json (or --out): a header (how it was made, residuals, the per-channel table)
and, per channel, the landmarks whose offset is >= --min-offset canonical units, 4 decimals.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CANONICAL = ROOT / "src" / "face" / "canonical_face.json"
OUT = ROOT / "src" / "rig" / "fitted_shapes.json"

# src/tracking/pose.rs RIGID_POINTS
RIGID_POINTS = [10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 33, 263, 127, 356, 234, 454, 93, 323, 116, 345,
                50, 280, 71, 301, 54, 284, 103, 332, 109]


def canonical_face() -> np.ndarray:
    pts = np.array(json.loads(CANONICAL.read_text())["points"], dtype=np.float64)
    assert pts.shape == (468, 3)
    return pts


def fit_pose(mesh: np.ndarray, canon: np.ndarray) -> dict:
    """Port of src/tracking/pose.rs fit_pose: image = scale * R * canonical + t (Horn 1987)."""
    x = canon[RIGID_POINTS]
    y = mesh[RIGID_POINTS].astype(np.float64)
    cx, cy = x.mean(0), y.mean(0)
    xc, yc = x - cx, y - cy
    s = xc.T @ yc  # S[a][b] = sum x_a y_b
    (sxx, sxy, sxz), (syx, syy, syz), (szx, szy, szz) = s
    n = np.array([
        [sxx + syy + szz, syz - szy, szx - sxz, sxy - syx],
        [syz - szy, sxx - syy - szz, sxy + syx, szx + sxz],
        [szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy],
        [sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz],
    ])
    vals, vecs = np.linalg.eigh(n)
    w, qx, qy, qz = vecs[:, np.argmax(vals)]
    r = np.array([
        [w * w + qx * qx - qy * qy - qz * qz, 2 * (qx * qy - w * qz), 2 * (qx * qz + w * qy)],
        [2 * (qx * qy + w * qz), w * w - qx * qx + qy * qy - qz * qz, 2 * (qy * qz - w * qx)],
        [2 * (qx * qz - w * qy), 2 * (qy * qz + w * qx), w * w - qx * qx - qy * qy + qz * qz],
    ])
    scale = np.sum(yc * (xc @ r.T)) / max(np.sum(xc * xc), 1e-12)
    t = cy - scale * r @ cx
    fit = {"rotation": r, "scale": scale, "translation": t,
           "yaw": float(np.arcsin(np.clip(r[2, 0], -1, 1))),
           "pitch": float(-np.arctan2(r[2, 1], r[2, 2])),
           "roll": float(np.arctan2(r[1, 0], r[0, 0]))}
    c = to_canonical(fit, mesh[RIGID_POINTS])
    fit["residual"] = float(np.sqrt(np.mean(np.sum((c - x) ** 2, axis=1))))
    return fit


def to_canonical(fit: dict, p: np.ndarray) -> np.ndarray:
    """PoseFit::to_canonical: R^T (p - t) / scale, for rows of points."""
    return (p - fit["translation"]) @ fit["rotation"] / fit["scale"]


def mirror_map(canon: np.ndarray) -> np.ndarray:
    """For each landmark, its mirror twin: the nearest point to (-x, y, z)."""
    m = canon * np.array([-1.0, 1.0, 1.0])
    d = np.linalg.norm(canon[None, :, :] - m[:, None, :], axis=2)
    return np.argmin(d, axis=1)


def swap_names(names: list[str]) -> np.ndarray:
    """Index permutation that swaps every ...Left channel with its ...Right twin."""
    idx = {n: i for i, n in enumerate(names)}
    out = []
    for n in names:
        if n.endswith("Left"):
            out.append(idx[n[:-4] + "Right"])
        elif n.endswith("Right"):
            out.append(idx[n[:-5] + "Left"])
        else:
            out.append(idx[n])
    return np.array(out)


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def region(name: str, canon: np.ndarray) -> np.ndarray:
    """Where channel `name` may move the face, 0..1 per landmark (a prior: outside, its shape is held at
    zero by a steep ridge penalty, so that channels that fire together do not take each other's motion)."""
    x, y = canon[:, 0], canon[:, 1]
    sign = 1.0 if name.endswith("Left") else -1.0 if name.endswith("Right") else 0.0
    # Left is the face's own left: +x in the canonical frame. A sided shape may cross the midline a little.
    side = smoothstep(-0.2, 0.05, sign * x) if sign else np.ones_like(x)
    above = lambda y0: 1.0 - smoothstep(y0, y0 + 0.15, y)  # noqa: E731
    below = lambda y0: smoothstep(y0 - 0.15, y0, y)  # noqa: E731
    if name.startswith("brow"):
        inner = 1.0 - smoothstep(0.35, 0.6, np.abs(x)) if name == "browInnerUp" else 1.0
        return side * above(0.0) * inner
    if name.startswith("eye"):
        ry = 0.38 if "Squint" in name else 0.3
        d = np.hypot((np.abs(x) - 0.33) / 0.35, (y - 0.02) / ry)
        on_side = smoothstep(-0.05, 0.05, sign * x)
        return (1.0 - smoothstep(0.7, 1.0, d)) * on_side
    if name.startswith("jaw"):
        return below(0.5) * side
    if name.startswith("cheek") or name.startswith("nose"):
        return below(0.1) * side
    if name in ("mouthLeft", "mouthRight") or not sign:
        return below(0.45) * (1.0 - smoothstep(0.5, 0.75, np.abs(x)))
    return below(0.3) * side


def solve(w: np.ndarray, groups: np.ndarray, y: np.ndarray, ridge: float, n_groups: int,
          windows: np.ndarray):
    """Least squares y ~ onehot(groups) @ B + w @ S, per landmark, with a ridge on S only that grows
    steeply outside each channel's window ([468, K]). y is [frames, 468 * 3]. Returns (B, S)."""
    a = np.concatenate([np.eye(n_groups)[groups], w], axis=1)
    ata, aty = a.T @ a, a.T @ y
    b = np.zeros((n_groups, y.shape[1]))
    s = np.zeros((w.shape[1], y.shape[1]))
    for i in range(y.shape[1] // 3):
        reg = np.zeros(a.shape[1])
        reg[n_groups:] = ridge * len(w) * (1.0 + 1e4 * (1.0 - windows[i]) ** 2)
        coef = np.linalg.solve(ata + np.diag(reg), aty[:, 3 * i:3 * i + 3])
        b[:, 3 * i:3 * i + 3], s[:, 3 * i:3 * i + 3] = coef[:n_groups], coef[n_groups:]
    return b, s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pairs", type=Path, help="mediapipe_pairs.npz (mediapipe_reference.py --pairs)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--hand", type=Path, required=True,
                    help="the crate's hand-made shapes as JSON, to compare with: cargo test --lib "
                         "rig::expressions::tests::save_hand_made_rig -- --ignored (writes target/hand_rig.json)")
    ap.add_argument("--ridge", type=float, default=1e-3)
    ap.add_argument("--min-std", type=float, default=0.03)
    ap.add_argument("--min-max", type=float, default=0.15)
    ap.add_argument("--min-offset", type=float, default=0.006, help="drop landmarks moving less (canonical units)")
    ap.add_argument("--check-frames", type=int, nargs="*", default=[],
                    help="print the pose fit of these frames (to compare with the Rust fit_pose)")
    args = ap.parse_args()

    data = np.load(args.pairs)
    names = [str(n) for n in data["blendshape_names"]]
    face = data["face"].astype(bool)
    lm = data["landmarks"][:, :468, :].astype(np.float64)
    weights = data["blendshapes"].astype(np.float64)
    video = data["video"].astype(int)
    canon = canonical_face()

    for f in args.check_frames:
        fit = fit_pose(lm[f], canon)
        c = to_canonical(fit, lm[f])
        print(f"frame {f}: yaw {fit['yaw']:.6f} pitch {fit['pitch']:.6f} roll {fit['roll']:.6f} "
              f"scale {fit['scale']:.4f} t {np.round(fit['translation'], 3).tolist()} "
              f"residual {fit['residual']:.6f} c1 {np.round(c[1], 5).tolist()} c14 {np.round(c[14], 5).tolist()}")
    if args.check_frames:
        return

    frames = np.flatnonzero(face)
    fits = [fit_pose(lm[f], canon) for f in frames]
    pts = np.stack([to_canonical(fit, lm[f]) for fit, f in zip(fits, frames)])  # [F, 468, 3]
    residuals = np.array([fit["residual"] for fit in fits])
    w_all = weights[frames]
    vid = video[frames]
    n_videos = int(video.max()) + 1

    std, mx = w_all.std(0), w_all.max(0)
    sw = swap_names(names)
    varies = (std >= args.min_std) | (mx >= args.min_max)
    # A channel and its mirror twin are both regressors or neither (the mirrored frames swap them).
    channels = [i for i, n in enumerate(names) if n != "_neutral" and (varies[i] or varies[sw[i]])]
    written = [i for i in channels if not names[i].startswith("eyeLook")]
    rare = [n for i, n in enumerate(names) if n != "_neutral" and i not in channels]

    # Mirror augmentation.
    mm = mirror_map(canon)
    print(f"mirror map: {int(np.sum(mm[mm] != np.arange(468)))} landmarks whose twin's twin is not themselves")
    pts_m = pts[:, mm, :] * np.array([-1.0, 1.0, 1.0])
    w_m = w_all[:, sw]
    y = np.concatenate([pts, pts_m]).reshape(2 * len(frames), -1)
    w = np.concatenate([w_all, w_m])[:, channels]
    groups = np.concatenate([vid, vid + n_videos])
    twin = np.concatenate([np.arange(len(frames)), np.arange(len(frames))])

    windows = np.stack([region(names[k], canon) for k in channels], axis=1)
    neutral, shapes = solve(w, groups, y, args.ridge, 2 * n_videos, windows)
    fitted = y - np.eye(2 * n_videos)[groups] @ neutral
    pred = w @ shapes
    rms_neutral = float(np.sqrt(np.mean(np.sum(fitted.reshape(-1, 468, 3) ** 2, axis=2))))
    rms_fit = float(np.sqrt(np.mean(np.sum((fitted - pred).reshape(-1, 468, 3) ** 2, axis=2))))
    print(f"{len(frames)} frames (x2 mirrored), {len(channels)} regressors; pose residual median "
          f"{np.median(residuals):.4f}; RMS landmark offset from the video's neutral {rms_neutral:.4f}, "
          f"after the fit {rms_fit:.4f} (canonical units)")

    # Held-out blocks.
    n_blocks = 10
    block = np.minimum((np.arange(len(frames)) * n_blocks) // len(frames), n_blocks - 1)[twin]
    held_pred = np.zeros_like(y)
    held_off = np.zeros_like(y)
    held_shapes = []
    for b in range(n_blocks):
        test = block == b
        nb, sb = solve(w[~test], groups[~test], y[~test], args.ridge, 2 * n_videos, windows)
        held_off[test] = y[test] - np.eye(2 * n_videos)[groups[test]] @ nb
        held_pred[test] = w[test] @ sb
        held_shapes.append((test, sb))

    if True:
        hand_rig = json.loads(args.hand.read_text())
        hand = {}
        for n, s in hand_rig["shapes"].items():
            a = np.zeros((468, 3))
            for i, d in s["offsets"].items():
                a[int(i)] = np.array(d) * s.get("gain", 1.0)
            hand[n] = a.reshape(-1)

    table = []
    for j, k in enumerate(channels):
        n = names[k]
        if n.startswith("eyeLook"):
            continue
        shape = shapes[j].reshape(468, 3)
        moved = np.linalg.norm(shape, axis=1) >= args.min_offset
        sel = w[:, j] >= min(0.25, 0.5 * mx[k])
        row = {"name": n, "std": round(float(std[k]), 3), "max": round(float(mx[k]), 3),
               "frames": int(sel.sum() // 1), "landmarks": int(moved.sum())}
        if sel.sum() >= 4:
            mask = np.ones(468 * 3, bool)  # all landmarks: a shape is charged for what it moves wrongly

            def err(rep):
                e = (held_off[sel] - rep)[:, mask].reshape(sel.sum(), -1, 3)
                return round(float(np.sqrt(np.mean(np.sum(e ** 2, axis=2)))), 4)

            row["rms_fitted"] = err(held_pred[sel])
            # Prediction with this channel's held-out fitted shape swapped out.
            sb_k = np.zeros((sel.sum(), y.shape[1]))
            for test, sb in held_shapes:
                t = test[sel]
                sb_k[t] = np.outer(w[sel][t, j], sb[j])
            without = held_pred[sel] - sb_k
            row["rms_none"] = err(without)
            if n in hand:
                row["rms_hand"] = err(without + np.outer(w[sel, j], hand[n]))
        table.append(row)

    # The fitted shape is used when this data has seen the channel beyond 0.3 (a shape is applied at weights
    # up to 1: extrapolating further is guesswork) and it beats both the hand-made shape and no shape by 1 %
    # on the held-out frames; decided for a Left/Right pair together (their mean errors, their larger max).
    rows = {r["name"]: r for r in table}
    for r in table:
        pair = [r, rows[names[sw[names.index(r["name"])]]]]
        if any("rms_fitted" not in p for p in pair):
            r["use"] = "hand-made"
            continue
        mean = lambda key: np.mean([p.get(key, np.inf) for p in pair])  # noqa: E731
        seen = max(p["max"] for p in pair)
        r["use"] = ("fitted" if seen >= 0.3 and mean("rms_fitted") < 0.99 * min(mean("rms_hand"), mean("rms_none"))
                    else "hand-made")

    print(f"{'channel':20s} {'std':>6s} {'max':>6s} {'frames':>6s} {'lms':>4s} {'fitted':>7s} {'hand':>7s} {'none':>7s}  use")
    for r in table:
        print(f"{r['name']:20s} {r['std']:6.3f} {r['max']:6.3f} {r['frames']:6d} {r['landmarks']:4d} "
              f"{r.get('rms_fitted', float('nan')):7.4f} {r.get('rms_hand', float('nan')):7.4f} "
              f"{r.get('rms_none', float('nan')):7.4f}  {r['use']}")

    out_shapes = {}
    for j, k in enumerate(channels):
        if k not in written:
            continue
        s = shapes[j].reshape(468, 3)
        keep = np.flatnonzero(np.linalg.norm(s, axis=1) >= args.min_offset)
        out_shapes[names[k]] = {str(int(i)): [round(float(v), 4) for v in s[i]] for i in keep}
    header = {
        "made_by": "models/fit_expression_rig.py " + " ".join(
            a if not a.endswith(".npz") else Path(a).name for a in sys.argv[1:]),
        "data": "MediaPipe 1.2.2 FaceLandmarker (face_landmarker.task) landmarks and blendshapes on the 615 "
                "frames of the three shared driving videos (models/reference/mediapipe_reference.py --pairs)",
        "date": datetime.date.today().isoformat(),
        "frame": "canonical face frame of src/tracking/pose.rs (fit_pose on RIGID_POINTS, to_canonical)",
        "method": f"ridge {args.ridge} least squares, one neutral per video, mirrored frames added; "
                  f"landmarks moving < {args.min_offset} dropped",
        "frames": int(len(frames)),
        "rms_offset_from_neutral": round(rms_neutral, 4),
        "rms_residual_after_fit": round(rms_fit, 4),
        "rms_residual_held_out": round(float(np.sqrt(np.mean(np.sum(
            (held_off - held_pred).reshape(-1, 468, 3) ** 2, axis=2)))), 4),
        "not_fitted (too rare in the data)": rare,
        "use_fitted": [r["name"] for r in table if r["use"] == "fitted"],
        "held_out_table": table,
    }
    text = json.dumps({"header": header, "shapes": out_shapes}, separators=(",", ":"))
    # One shape a line: diffable, still small.
    text = text.replace(',"shapes":{', ',\n"shapes":{\n').replace('},"', '},\n"')
    args.out.write_text(text + "\n")
    print(f"wrote {args.out} ({len(text) / 1024:.0f} KB, {len(out_shapes)} shapes)")


if __name__ == "__main__":
    main()
