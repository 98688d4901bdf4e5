"""Packs the face models that the crate embeds (feature `embedded-models`) into `models/embedded/`.

The five models that rigging and tracking need (both BlazeFace detectors, Face Mesh V2, Blendshape V2, and the
selfie segmentation that mattes portraits) are converted by `models/setup.py` into `assets/models/` with
float32 weights. Their weights all come from
float16 tflite files, so storing them as float16 loses nothing: each float32 initializer whose values are
exactly float16 values is stored as float16 and followed by a `Cast` back to float32 under its old name
(ONNX Runtime folds the casts when it loads the model, so the graph it runs is the float32 one, value for
value). An initializer that is not exactly float16 (none today) stays float32. That halves the package.

    models/.venv/bin/python models/pack_embedded.py assets/models models/embedded          # write
    models/.venv/bin/python models/pack_embedded.py assets/models models/embedded --check  # compare

`--check` packs into memory and fails unless every file in the output folder is byte for byte what a fresh
pack writes (initializers and casts in name order, so the bytes do not depend on the converter's order),
or else gives the same outputs as the fresh float32 conversion within 1e-5 on fixed random inputs; set-up
runs it, so the shipped files cannot drift from the conversion.
"""

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MODELS = ["face_detector.onnx", "face_detector_full_range.onnx", "face_mesh_v2.onnx", "face_blendshapes.onnx",
          "selfie_segmentation.onnx"]
# Initializers smaller than this stay float32: a Cast node costs more than it saves.
MIN_ELEMENTS = 64


def pack(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int, int]:
    """The model with its exactly-float16 float32 initializers stored as float16 (and how many were, of all)."""
    graph = model.graph
    kept, casts, packed, total = [], [], 0, 0
    for init in sorted(graph.initializer, key=lambda t: t.name):
        if init.data_type != TensorProto.FLOAT:
            kept.append(init)
            continue
        total += 1
        values = numpy_helper.to_array(init)
        half = values.astype(np.float16)
        if values.size < MIN_ELEMENTS or not np.array_equal(half.astype(np.float32), values, equal_nan=True):
            kept.append(init)
            continue
        name = init.name + "__f16"
        kept.append(numpy_helper.from_array(half, name))
        casts.append(helper.make_node("Cast", [name], [init.name], to=TensorProto.FLOAT, name=init.name + "__cast"))
        packed += 1
    # In name order: tflite2onnx writes them in an order that changes from run to run (Python's string
    # hashing), and the packed file must be the same bytes for the same model.
    del graph.initializer[:]
    graph.initializer.extend(sorted(kept, key=lambda t: t.name))
    value_info = sorted(graph.value_info, key=lambda v: v.name)
    del graph.value_info[:]
    graph.value_info.extend(value_info)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(model)
    return model, packed, total


def feeds(model: onnx.ModelProto, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    out = {}
    for i in model.graph.input:
        shape = [d.dim_value if d.dim_value > 0 else 1 for d in i.type.tensor_type.shape.dim]
        out[i.name] = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
    return out


def same_outputs(original: bytes, packed: bytes, name: str) -> float:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    a = ort.InferenceSession(original, opts, providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(packed, opts, providers=["CPUExecutionProvider"])
    worst = 0.0
    for seed in range(3):
        feed = feeds(onnx.load_from_string(original), seed)
        for x, y in zip(a.run(None, feed), b.run(None, feed)):
            worst = max(worst, float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))))
    if worst > 1e-5:
        raise SystemExit(f"error: {name}: the packed model's outputs differ from the float32 model's by {worst:g}")
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="folder of the float32 models (assets/models)")
    parser.add_argument("out", type=Path, help="folder of the packed models (models/embedded)")
    parser.add_argument("--check", action="store_true", help="compare with the files there instead of writing")
    args = parser.parse_args()
    if not args.check:
        args.out.mkdir(parents=True, exist_ok=True)
    stale = []
    for name in MODELS:
        original = (args.source / name).read_bytes()
        model, packed, total = pack(onnx.load_from_string(original))
        data = model.SerializeToString(deterministic=True)
        worst = same_outputs(original, data, name)
        target = args.out / name
        if args.check:
            have = target.read_bytes() if target.exists() else b""
            if have and have != data:
                # Same model in another graph order (should the converter's order change)? The issue's
                # other test: the shipped file's outputs equal a fresh conversion's on fixed inputs.
                try:
                    worst = same_outputs(original, have, str(target))
                    print(f"      {target}: not byte for byte a fresh pack, but its outputs equal the fresh "
                          f"conversion's within {worst:g}", flush=True)
                    continue
                except (SystemExit, Exception) as e:  # noqa: BLE001 - reported below
                    print(f"      {target}: {e}", flush=True)
            if have != data:
                stale.append(f"{target} (sha256 {hashlib.sha256(have).hexdigest()[:12]}, a fresh pack gives "
                             f"{hashlib.sha256(data).hexdigest()[:12]})")
            continue
        tmp = target.with_suffix(".onnx.part")
        tmp.write_bytes(data)
        tmp.replace(target)
        print(f"{target}: {len(original):,} -> {len(data):,} bytes, {packed} of {total} float initializers "
              f"as float16, outputs within {worst:g}", flush=True)
    if stale:
        raise SystemExit("error: the embedded models differ from a fresh pack of the converted ones: "
                         + "; ".join(stale)
                         + ". Run `models/.venv/bin/python models/pack_embedded.py assets/models models/embedded` "
                         "and commit the result")
    if args.check:
        print(f"      {args.out}: the {len(MODELS)} embedded models match a fresh pack of the conversion", flush=True)


if __name__ == "__main__":
    sys.exit(main())
