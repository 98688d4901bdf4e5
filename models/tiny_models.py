#!/usr/bin/env python3
"""Make the tiny ONNX models committed with the crate (run in models/.venv; output is deterministic).

  assets/models/expression_tint.onnx   the `expression_filter` contract, proving the ONNX pipeline end to end:
      inputs  portrait   float32 [1, 3, H, W]  RGB in 0..1 (the still portrait at output size)
              expression float32 [1, 52]       ARKit blendshape weights, in bevy_talking_head's order
      output  image      float32 [1, 3, H, W]  RGB in 0..1
      image = clip(portrait * (1 - 0.6 * jawOpen) + (0.5 * mouthSmileLeft, 0, 0.5 * eyeBlinkLeft), 0, 1)
  tests/fixtures/wrong_inputs.onnx      the same graph whose inputs are named `x` and `weights`: a model that
      declares the `expression_filter` contract but breaks it, for the error tests.
  tests/fixtures/short_detector.onnx    declares the `face_detector` contract with a dynamic anchor count and
      returns 10 anchors instead of 896: a model whose outputs are shorter than its contract says.
  tests/fixtures/nan_detector.onnx      the `face_detector` contract with outputs of the right size, all NaN
      (what a float16 execution provider or a corrupt file can yield).
"""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
# Indices in the crate's Expression order (ARKit / Live Link Face order).
EYE_BLINK_LEFT, JAW_OPEN, MOUTH_SMILE_LEFT = 0, 17, 23


def finish(graph: onnx.GraphProto, contract: str) -> onnx.ModelProto:
    """The model of `graph` (opset 17, IR 8) with the crate's contract metadata, checked."""
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="bevy_talking_head")
    model.ir_version = 8
    helper.set_model_props(model, {
        "talking_head.contract": contract,
        "talking_head.converted_by": "bevy_talking_head models/tiny_models.py",
    })
    onnx.checker.check_model(model)
    return model


def tint_model(portrait: str, expression: str) -> onnx.ModelProto:
    w = np.zeros((52, 4), dtype=np.float32)  # columns: gain change, red, green, blue
    w[JAW_OPEN, 0] = -0.6
    w[MOUTH_SMILE_LEFT, 1] = 0.5
    w[EYE_BLINK_LEFT, 3] = 0.5
    inits = [
        numpy_helper.from_array(w, "weights"),
        numpy_helper.from_array(np.array([1.0, 0, 0, 0], dtype=np.float32), "bias"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "gain_start"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "tint_start"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis"),
        numpy_helper.from_array(np.array([4], dtype=np.int64), "end"),
        numpy_helper.from_array(np.array([1, 1, 1, 1], dtype=np.int64), "gain_shape"),
        numpy_helper.from_array(np.array([1, 3, 1, 1], dtype=np.int64), "tint_shape"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
    ]
    nodes = [
        helper.make_node("Gemm", [expression, "weights", "bias"], ["params"]),
        helper.make_node("Slice", ["params", "gain_start", "tint_start", "axis"], ["gain_flat"]),
        helper.make_node("Reshape", ["gain_flat", "gain_shape"], ["gain"]),
        helper.make_node("Slice", ["params", "tint_start", "end", "axis"], ["tint_flat"]),
        helper.make_node("Reshape", ["tint_flat", "tint_shape"], ["tint"]),
        helper.make_node("Mul", [portrait, "gain"], ["scaled"]),
        helper.make_node("Add", ["scaled", "tint"], ["tinted"]),
        helper.make_node("Clip", ["tinted", "zero", "one"], ["image"]),
    ]
    graph = helper.make_graph(
        nodes,
        "expression_tint",
        [helper.make_tensor_value_info(portrait, TensorProto.FLOAT, [1, 3, "height", "width"]),
         helper.make_tensor_value_info(expression, TensorProto.FLOAT, [1, 52])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "height", "width"])],
        inits,
    )
    return finish(graph, "expression_filter")


def constant_detector(anchors: int, value: float) -> onnx.ModelProto:
    """Regressors [1, anchors, 16] and classificators [1, anchors, 1], all `value`. The anchor count is
    taken from the image at run time (0 * max(image) + anchors), so ONNX Runtime cannot fix it at load:
    the outputs' anchor dimension stays dynamic, as in a model exported with dynamic axes."""
    inits = [
        numpy_helper.from_array(np.full((1, 896, 16), value, dtype=np.float32), "regressors_value"),
        numpy_helper.from_array(np.full((1, 896, 1), value, dtype=np.float32), "classificators_value"),
        numpy_helper.from_array(np.array([anchors], dtype=np.float32), "anchors"),
        numpy_helper.from_array(np.array([0.0], dtype=np.float32), "zero"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "start"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis"),
    ]
    nodes = [
        helper.make_node("ReduceMax", ["image"], ["image_max"], keepdims=0),
        helper.make_node("Mul", ["image_max", "zero"], ["nothing"]),
        helper.make_node("Add", ["nothing", "anchors"], ["end_f"]),
        helper.make_node("Cast", ["end_f"], ["end"], to=TensorProto.INT64),
        helper.make_node("Slice", ["regressors_value", "start", "end", "axis"], ["regressors"]),
        helper.make_node("Slice", ["classificators_value", "start", "end", "axis"], ["classificators"]),
    ]
    graph = helper.make_graph(
        nodes,
        "constant_detector",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 128, 128])],
        [helper.make_tensor_value_info("regressors", TensorProto.FLOAT, [1, "anchors", 16]),
         helper.make_tensor_value_info("classificators", TensorProto.FLOAT, [1, "anchors", 1])],
        inits,
    )
    return finish(graph, "face_detector")


def main() -> None:
    outputs = {
        ROOT / "assets/models/expression_tint.onnx": tint_model("portrait", "expression"),
        ROOT / "tests/fixtures/wrong_inputs.onnx": tint_model("x", "weights_in"),
        ROOT / "tests/fixtures/short_detector.onnx": constant_detector(10, 0.0),
        ROOT / "tests/fixtures/nan_detector.onnx": constant_detector(896, float("nan")),
    }
    for path, model in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(model.SerializeToString())
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")
    if "--check" in sys.argv:
        import onnxruntime as ort
        s = ort.InferenceSession(str(ROOT / "assets/models/expression_tint.onnx"), providers=["CPUExecutionProvider"])
        img = np.full((1, 3, 4, 5), 0.5, dtype=np.float32)
        e = np.zeros((1, 52), dtype=np.float32)
        e[0, JAW_OPEN] = 1.0
        e[0, MOUTH_SMILE_LEFT] = 1.0
        out = s.run(None, {"portrait": img, "expression": e})[0]
        print("check: jawOpen=1, smile=1 on 0.5 grey ->", out[0, :, 0, 0])


if __name__ == "__main__":
    main()
