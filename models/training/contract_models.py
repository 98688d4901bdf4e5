"""Tiny, untrained models that follow the neural path's ONNX contract (src/onnx/model.rs:
`neural_embedder`, `neural_generator`; metadata checked by `neural::validate_pair`), and broken variants
of them, for the contract tests. The real models come from the training code's export.

    python models/training/contract_models.py OUT_DIR [--resolution 64] [--embedding 8] [--shots 8]
        [--break NAME]

Writes OUT_DIR/embedder.onnx and OUT_DIR/generator.onnx. --break makes the pair wrong in one way:
sketch_version, resolution_metadata, input_name, embedding_size, missing_metadata.
"""

import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def metadata(model, entries):
    for k, v in entries.items():
        p = model.metadata_props.add()
        p.key, p.value = k, str(v)


def embedder(r, d, shots, brk):
    frames_name = "images" if brk == "input_name" else "frames"
    frames = helper.make_tensor_value_info(frames_name, TensorProto.FLOAT, ["K", 3, r, r])
    sketches = helper.make_tensor_value_info("sketches", TensorProto.FLOAT, ["K", 3, r, r])
    out = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, d])
    w = numpy_helper.from_array(np.linspace(-1, 1, 6 * d, dtype=np.float32).reshape(6, d), "w")
    nodes = [
        helper.make_node("Concat", [frames_name, "sketches"], ["both"], axis=1),
        helper.make_node("ReduceMean", ["both"], ["pooled"], axes=[2, 3], keepdims=0),
        helper.make_node("MatMul", ["pooled", "w"], ["per_shot"]),
        helper.make_node("ReduceMean", ["per_shot"], ["embedding"], axes=[0], keepdims=1),
    ]
    graph = helper.make_graph(nodes, "embedder", [frames, sketches], [out], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    meta = {
        "talking_head.contract": "neural_embedder",
        "talking_head.sketch_version": 2 if brk == "sketch_version" else 1,
        "talking_head.resolution": r,
        "talking_head.shots": shots,
        "talking_head.embedding_size": d,
    }
    if brk == "missing_metadata":
        del meta["talking_head.shots"]
    metadata(model, meta)
    return model


def generator(r, d, brk):
    sketch = helper.make_tensor_value_info("sketch", TensorProto.FLOAT, ["B", 3, r, r])
    gd = d + 1 if brk == "embedding_size" else d
    emb = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["B", gd])
    out = helper.make_tensor_value_info("image", TensorProto.FLOAT, ["B", 3, r, r])
    w = numpy_helper.from_array(np.linspace(-0.5, 0.5, gd * 3, dtype=np.float32).reshape(gd, 3), "w")
    axes = numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "axes")
    nodes = [
        helper.make_node("MatMul", ["embedding", "w"], ["colour"]),
        helper.make_node("Unsqueeze", ["colour", "axes"], ["colour4"]),
        helper.make_node("Add", ["sketch", "colour4"], ["sum"]),
        helper.make_node("Tanh", ["sum"], ["image"]),
    ]
    graph = helper.make_graph(nodes, "generator", [sketch, emb], [out], [w, axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    metadata(
        model,
        {
            "talking_head.contract": "neural_generator",
            "talking_head.sketch_version": 1,
            "talking_head.resolution": r * 2 if brk == "resolution_metadata" else r,
            "talking_head.embedding_size": gd,
        },
    )
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--embedding", type=int, default=8)
    ap.add_argument("--shots", type=int, default=8)
    ap.add_argument("--break", dest="brk", default=None)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, model in [
        ("embedder", embedder(args.resolution, args.embedding, args.shots, args.brk)),
        ("generator", generator(args.resolution, args.embedding, args.brk)),
    ]:
        model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, out / f"{name}.onnx")


if __name__ == "__main__":
    main()
