#!/usr/bin/env python3
"""A direct TFLite -> ONNX converter for MediaPipe's Face Landmarker models (Face Mesh V2, Blendshape V2).

tflite2onnx 0.4.1 (used for the older models by convert_mediapipe.py) cannot convert these: their weights are
float16 behind DEQUANTIZE ops, and its layout pass fails on them. This converter reads the flatbuffer with the
`tflite` package and writes the same computation, op by op, in ONNX (opset 13):

- float16 constants behind DEQUANTIZE are folded into float32 initializers;
- activations keep TFLite's NHWC layout; 2-D convolutions and pooling are wrapped in transposes to and from
  NCHW, and every float32 image input can be declared NCHW (`[1, 3, H, W]`, this crate's convention);
  ONNX Runtime's transpose optimiser then removes the transposes between them when it loads the model;
- PRelu becomes x + (1 - a) * Relu(-x), and zeros padded onto the channel axis become a 1x1 convolution by an
  identity matrix: both stay inside ONNX Runtime's blocked NCHWc layout (see the comments where they are made);
- TFLite's ten-op layer normalisation (Blendshape V2) becomes one LayerNormalization (opset 17);
- only the ops these models use are supported; anything else is an error naming the op.

    convert_tflite.py IN.tflite OUT.onnx '{"renames": {"old": "new"}, "nchw_inputs": ["input"],
                                          "contract": "face_mesh_v2"}'

`"matmul_1x1": true` writes 1x1 convolutions (stride 1, one group) as MatMul on the last axis: right for
sequence models (Blendshape V2), wrong for image models, where it would take them out of NCHWc.

The output is deterministic (the same input gives the same bytes), so set-up can check its hash.
Checked against TFLite's own interpreter (tflite-runtime, in models/.venv-reference) on random inputs;
the figures are in models/face_landmarker/README.md.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import tflite
from onnx import TensorProto, helper, numpy_helper

OPSET = 17  # LayerNormalization
B = tflite.BuiltinOperator
NAMES = {v: k for k, v in B.__dict__.items() if not k.startswith("_")}
TT = tflite.TensorType
NP_TYPES = {TT.FLOAT32: np.float32, TT.FLOAT16: np.float16, TT.INT32: np.int32, TT.INT64: np.int64}
ACT = tflite.ActivationFunctionType


class Converter:
    def __init__(self, path: Path, renames: dict, nchw_inputs: list[str], matmul_1x1: bool = False):
        buf = path.read_bytes()
        self.model = tflite.Model.GetRootAsModel(buf, 0)
        self.graph = self.model.Subgraphs(0)
        self.renames = renames
        self.nchw_inputs = set(nchw_inputs)
        self.matmul_1x1 = matmul_1x1
        self.nodes: list[onnx.NodeProto] = []
        self.inits: dict[str, np.ndarray] = {}
        self.consts: dict[int, np.ndarray] = {}
        self.counter = 0

    # -- tensors -------------------------------------------------------------------------------
    def tensor(self, i: int):
        return self.graph.Tensors(i)

    def tname(self, i: int) -> str:
        raw = self.tensor(i).Name().decode()
        return self.renames.get(raw, f"t{i}")

    def shape(self, i: int) -> list[int]:
        t = self.tensor(i)
        return [int(d) for d in t.ShapeAsNumpy()] if t.ShapeLength() else []

    def const(self, i: int) -> np.ndarray | None:
        if i in self.consts:
            return self.consts[i]
        t = self.tensor(i)
        buf = self.model.Buffers(t.Buffer())
        if buf is None or buf.DataLength() == 0:
            return None
        dtype = NP_TYPES[t.Type()]
        data = np.frombuffer(buf.DataAsNumpy().tobytes(), dtype=dtype).reshape(self.shape(i))
        self.consts[i] = data
        return data

    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def init(self, array: np.ndarray, hint: str) -> str:
        name = self.fresh(hint)
        self.inits[name] = array
        return name

    def value(self, i: int) -> str:
        """The ONNX name of TFLite tensor i as an input: an initializer for constants."""
        c = self.const(i)
        if c is not None:
            name = f"c{i}"
            if name not in self.inits:
                self.inits[name] = c.astype(np.float32) if c.dtype == np.float16 else c
            return name
        return self.tname(i)

    def node(self, op: str, inputs: list[str], outputs: list[str] | None = None, **attrs) -> str:
        outputs = outputs or [self.fresh(op.lower())]
        self.nodes.append(helper.make_node(op, inputs, outputs, **attrs))
        return outputs[0]

    def activation(self, x: str, fused: int, out: str) -> None:
        if fused == ACT.NONE:
            self.node("Identity", [x], [out])
        elif fused == ACT.RELU:
            self.node("Relu", [x], [out])
        elif fused == ACT.RELU6:
            self.node("Clip", [x, self.init(np.array(0, np.float32), "zero"), self.init(np.array(6, np.float32), "six")], [out])
        else:
            raise SystemExit(f"error: fused activation {fused} is not supported")

    # -- ops -----------------------------------------------------------------------------------
    def convert_op(self, op) -> None:
        code = self.model.OperatorCodes(op.OpcodeIndex())
        kind = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        ins = [int(i) for i in op.InputsAsNumpy()]
        outs = [int(i) for i in op.OutputsAsNumpy()]
        out = self.tname(outs[0])
        name = NAMES.get(kind, str(kind))

        if kind == B.DEQUANTIZE:
            c = self.const(ins[0])
            if c is None:
                raise SystemExit("error: DEQUANTIZE of a non-constant tensor is not supported")
            self.consts[outs[0]] = c.astype(np.float32)
            return
        if kind in (B.CONV_2D, B.DEPTHWISE_CONV_2D):
            self.conv(op, kind, ins, out)
        elif kind == B.MAX_POOL_2D:
            o = tflite.Pool2DOptions()
            opts = op.BuiltinOptions()
            o.Init(opts.Bytes, opts.Pos)
            k = [o.FilterHeight(), o.FilterWidth()]
            s = [o.StrideH(), o.StrideW()]
            pads = self.same_pads(self.shape(ins[0])[1:3], k, s, [1, 1]) if o.Padding() == tflite.Padding.SAME else [0, 0, 0, 0]
            x = self.node("Transpose", [self.value(ins[0])], perm=[0, 3, 1, 2])
            y = self.node("MaxPool", [x], kernel_shape=k, strides=s, pads=pads)
            t = self.node("Transpose", [y], perm=[0, 2, 3, 1])
            self.activation(t, o.FusedActivationFunction(), out)
        elif kind == B.PRELU:
            a = self.const(ins[1])
            if a is None:
                raise SystemExit("error: PRELU with a non-constant slope is not supported")
            a = a.astype(np.float32)
            x = self.value(ins[0])
            # x + (1 - a) * Relu(-x): ONNX Runtime makes each product a depthwise 1x1 convolution in its
            # blocked NCHWc layout, fuses the Relu into the first and the Add into the second: two passes
            # over the tensor. Relu(x) * (1 - a) + x * a takes three (0.6 ms more on the mesh); ONNX's own
            # PRelu leaves NCHWc and makes the mesh 2.4x slower (BENCHMARKS.md).
            n = self.node("Mul", [x, self.init(np.full(a.shape, -1.0, np.float32), "prelu_neg")])
            r = self.node("Relu", [n])
            p = self.node("Mul", [r, self.init((1.0 - a).astype(np.float32), "prelu_scale")])
            self.node("Add", [p, x], [out])
        elif kind in (B.ADD, B.SUB, B.MUL, B.DIV):
            opts = op.BuiltinOptions()
            cls = {B.ADD: tflite.AddOptions, B.SUB: tflite.SubOptions, B.MUL: tflite.MulOptions, B.DIV: tflite.DivOptions}[kind]
            fused = ACT.NONE
            if opts is not None:
                o = cls()
                o.Init(opts.Bytes, opts.Pos)
                fused = o.FusedActivationFunction()
            onnx_op = {B.ADD: "Add", B.SUB: "Sub", B.MUL: "Mul", B.DIV: "Div"}[kind]
            y = self.node(onnx_op, [self.value(ins[0]), self.value(ins[1])])
            self.activation(y, fused, out)
        elif kind == B.SQUARED_DIFFERENCE:
            d = self.node("Sub", [self.value(ins[0]), self.value(ins[1])])
            self.node("Mul", [d, d], [out])
        elif kind == B.RSQRT:
            s = self.node("Sqrt", [self.value(ins[0])])
            self.node("Reciprocal", [s], [out])
        elif kind in (B.SQRT, B.NEG, B.LOGISTIC, B.RELU, B.HARD_SWISH):
            op_type = {B.SQRT: "Sqrt", B.NEG: "Neg", B.LOGISTIC: "Sigmoid", B.RELU: "Relu",
                       B.HARD_SWISH: "HardSwish"}[kind]
            self.node(op_type, [self.value(ins[0])], [out])
        elif kind == B.AVERAGE_POOL_2D:
            o = tflite.Pool2DOptions()
            opts = op.BuiltinOptions()
            o.Init(opts.Bytes, opts.Pos)
            h, w = self.shape(ins[0])[1:3]
            if [o.FilterHeight(), o.FilterWidth()] != [h, w] or o.Padding() != tflite.Padding.VALID:
                raise SystemExit("error: only global AVERAGE_POOL_2D (the filter the whole image) is supported")
            # A mean over height and width, in NHWC: no transposes (the selfie segmentation's squeeze-excite).
            y = self.node("ReduceMean", [self.value(ins[0])], axes=[1, 2], keepdims=1)
            self.activation(y, o.FusedActivationFunction(), out)
        elif kind == B.RESIZE_BILINEAR:
            o = tflite.ResizeBilinearOptions()
            opts = op.BuiltinOptions()
            o.Init(opts.Bytes, opts.Pos)
            mode = "align_corners" if o.AlignCorners() else "half_pixel" if o.HalfPixelCenters() else "asymmetric"
            n, h, w, c = self.shape(outs[0])
            x = self.node("Transpose", [self.value(ins[0])], perm=[0, 3, 1, 2])
            sizes = self.init(np.array([n, c, h, w], np.int64), "sizes")
            y = self.node("Resize", [x, "", "", sizes], mode="linear", coordinate_transformation_mode=mode)
            self.node("Transpose", [y], [out], perm=[0, 2, 3, 1])
        elif kind == B.CUSTOM and self.model.OperatorCodes(op.OpcodeIndex()).CustomCode() == b"Convolution2DTransposeBias":
            self.transpose_conv_bias(op, ins, out)
        elif kind in (B.MEAN, B.SUM):
            axes = [int(a) for a in np.atleast_1d(self.const(ins[1]))]
            o = tflite.ReducerOptions()
            opts = op.BuiltinOptions()
            o.Init(opts.Bytes, opts.Pos)
            keep = int(o.KeepDims())
            if kind == B.MEAN:
                self.node("ReduceMean", [self.value(ins[0])], [out], axes=axes, keepdims=keep)
            else:
                ax = self.init(np.array(axes, np.int64), "axes")
                self.node("ReduceSum", [self.value(ins[0]), ax], [out], keepdims=keep)
        elif kind == B.RESHAPE:
            shape = self.shape(outs[0])
            s = self.init(np.array(shape, np.int64), "shape")
            self.node("Reshape", [self.value(ins[0]), s], [out])
        elif kind == B.TRANSPOSE:
            perm = [int(p) for p in self.const(ins[1])]
            self.node("Transpose", [self.value(ins[0])], [out], perm=perm)
        elif kind == B.CONCATENATION:
            o = tflite.ConcatenationOptions()
            opts = op.BuiltinOptions()
            o.Init(opts.Bytes, opts.Pos)
            y = self.node("Concat", [self.value(i) for i in ins], axis=int(o.Axis()))
            self.activation(y, o.FusedActivationFunction(), out)
        elif kind == B.PAD:
            pads = self.const(ins[1]).astype(np.int64)
            shape = self.shape(ins[0])
            if len(shape) == 4 and not pads[:3].any() and pads[3, 0] == 0:
                # Zeros appended on the channel axis (a residual that widens): a 1x1 convolution by an identity
                # matrix gives the same numbers exactly and keeps ONNX Runtime's NCHWc layout, which a Pad
                # leaves (every later block then reorders in and out and runs its PRelu outside: 1.0 ms of 7.8).
                c = shape[3]
                eye = np.zeros((c + int(pads[3, 1]), c, 1, 1), np.float32)
                eye[np.arange(c), np.arange(c)] = 1.0
                x = self.node("Transpose", [self.value(ins[0])], perm=[0, 3, 1, 2])
                y = self.node("Conv", [x, self.init(eye, "widen")], kernel_shape=[1, 1])
                self.node("Transpose", [y], [out], perm=[0, 2, 3, 1])
                return
            p = self.init(np.concatenate([pads[:, 0], pads[:, 1]]), "pads")
            self.node("Pad", [self.value(ins[0]), p], [out])
        elif kind == B.STRIDED_SLICE:
            self.strided_slice(op, ins, out)
        else:
            raise SystemExit(f"error: TFLite op {name} is not supported by this converter")

    @staticmethod
    def same_pads(size, k, s, d) -> list[int]:
        before, after = [], []
        for n, kk, ss, dd in zip(size, k, s, d):
            out = -(-n // ss)
            total = max((out - 1) * ss + (kk - 1) * dd + 1 - n, 0)
            before.append(total // 2)
            after.append(total - total // 2)
        return before + after

    def conv(self, op, kind, ins, out) -> None:
        w = self.const(ins[1])
        if w is None:
            raise SystemExit("error: a convolution with non-constant weights is not supported")
        w = w.astype(np.float32)
        opts = op.BuiltinOptions()
        if kind == B.CONV_2D:
            o = tflite.Conv2DOptions()
            o.Init(opts.Bytes, opts.Pos)
            weight = w.transpose(0, 3, 1, 2)  # OHWI -> OIHW
            group = 1
        else:
            o = tflite.DepthwiseConv2DOptions()
            o.Init(opts.Bytes, opts.Pos)
            c_in = self.shape(ins[0])[3]
            weight = w.transpose(3, 0, 1, 2)  # 1HW(C*M) -> (C*M)1HW
            group = c_in
        s = [o.StrideH(), o.StrideW()]
        d = [o.DilationHFactor(), o.DilationWFactor()]
        k = list(weight.shape[2:])
        if self.matmul_1x1 and group == 1 and k == [1, 1] and s == [1, 1]:
            # A 1x1 convolution over NHWC is a product with the weights on the last axis: no transposes, and
            # ONNX Runtime's GEMM straight away (Blendshape V2's tokens: 7% of its time).
            y = self.node("MatMul", [self.value(ins[0]), self.init(np.ascontiguousarray(weight[:, :, 0, 0].T), "matmul")])
            if len(ins) > 2 and ins[2] >= 0:
                y = self.node("Add", [y, self.value(ins[2])])
            self.activation(y, o.FusedActivationFunction(), out)
            return
        pads = self.same_pads(self.shape(ins[0])[1:3], k, s, d) if o.Padding() == tflite.Padding.SAME else [0, 0, 0, 0]
        inputs = [self.node("Transpose", [self.value(ins[0])], perm=[0, 3, 1, 2]), self.init(weight, "weight")]
        if len(ins) > 2 and ins[2] >= 0:
            inputs.append(self.value(ins[2]))
        y = self.node("Conv", inputs, kernel_shape=k, strides=s, dilations=d, pads=pads, group=group)
        t = self.node("Transpose", [y], perm=[0, 2, 3, 1])
        self.activation(t, o.FusedActivationFunction(), out)

    def transpose_conv_bias(self, op, ins, out) -> None:
        """MediaPipe's custom Convolution2DTransposeBias: a transposed convolution with a bias; its options are
        TfLiteTransposeConvParams (int32 padding (1 same, 2 valid), stride width, stride height)."""
        padding, stride_w, stride_h = np.frombuffer(bytes(op.CustomOptionsAsNumpy()), "<i4")[:3]
        w = self.const(ins[1])
        if w is None:
            raise SystemExit("error: a transposed convolution with non-constant weights is not supported")
        weight = w.astype(np.float32).transpose(3, 0, 1, 2)  # OHWI -> IOHW
        k = list(weight.shape[2:])
        s = [int(stride_h), int(stride_w)]
        if padding == 1:  # SAME: the output is the input times the stride
            total = [max(kk - ss, 0) for kk, ss in zip(k, s)]
            pads = [t // 2 for t in total] + [t - t // 2 for t in total]
        else:
            pads = [0, 0, 0, 0]
        x = self.node("Transpose", [self.value(ins[0])], perm=[0, 3, 1, 2])
        y = self.node("ConvTranspose", [x, self.init(weight, "weight"), self.value(ins[2])],
                      kernel_shape=k, strides=s, pads=pads)
        self.node("Transpose", [y], [out], perm=[0, 2, 3, 1])

    def strided_slice(self, op, ins, out) -> None:
        o = tflite.StridedSliceOptions()
        opts = op.BuiltinOptions()
        o.Init(opts.Bytes, opts.Pos)
        if o.EllipsisMask() or o.NewAxisMask():
            raise SystemExit("error: STRIDED_SLICE with ellipsis or new-axis masks is not supported")
        begin, end, strides = (list(int(v) for v in self.const(i)) for i in ins[1:4])
        starts, ends, axes, steps, squeeze = [], [], [], [], []
        big = np.iinfo(np.int64).max
        for a in range(len(begin)):
            b, e, st = begin[a], end[a], strides[a]
            if o.BeginMask() >> a & 1:
                b = 0 if st > 0 else big
            if o.EndMask() >> a & 1:
                e = big if st > 0 else -big
            if o.ShrinkAxisMask() >> a & 1:
                e = b + 1 if b != -1 else big
                st = 1
                squeeze.append(a)
            starts.append(b)
            ends.append(e)
            axes.append(a)
            steps.append(st)
        args = [self.value(ins[0])] + [self.init(np.array(v, np.int64), n) for v, n in
                                       ((starts, "starts"), (ends, "ends"), (axes, "axes"), (steps, "steps"))]
        if squeeze:
            y = self.node("Slice", args)
            self.node("Squeeze", [y, self.init(np.array(squeeze, np.int64), "squeeze")], [out])
        else:
            self.node("Slice", args, [out])

    # -- layer normalisation -------------------------------------------------------------------
    def kind(self, op) -> int:
        code = self.model.OperatorCodes(op.OpcodeIndex())
        return max(code.BuiltinCode(), code.DeprecatedBuiltinCode())

    def layer_norms(self) -> dict[int, tuple]:
        """TFLite's layer normalisation over the last axis, ten ops (Blendshape V2 has eight):

            m = MEAN(x, -1)   n = NEG(m)   v = MEAN(SQUARED_DIFFERENCE(x, m), -1)
            r = RSQRT(ADD(v, eps))   g = MUL(r, gamma)   y = ADD(MUL(x, g), MUL(n, g))

        found by following each tensor to its users. Returns {index of the last op: (x, gamma, eps, y)};
        the other ops of each go to self.skipped. ONNX's LayerNormalization computes the same (x - m) * gamma /
        sqrt(v + eps) in one kernel instead of ten (the first was 35% of the model's time in ONNX Runtime).
        """
        g = self.graph
        ops = [g.Operators(k) for k in range(g.OperatorsLength())]
        kinds = [self.kind(op) for op in ops]
        ins = [[int(i) for i in op.InputsAsNumpy()] for op in ops]
        outs = [[int(i) for i in op.OutputsAsNumpy()] for op in ops]
        for k, op in enumerate(ops):  # the constants behind DEQUANTIZE, known before conversion
            if kinds[k] == B.DEQUANTIZE and self.const(ins[k][0]) is not None:
                self.consts[outs[k][0]] = self.const(ins[k][0]).astype(np.float32)
        users: dict[int, list[int]] = {}
        for k, a in enumerate(ins):
            for t in a:
                users.setdefault(t, []).append(k)
        graph_outputs = {int(g.Outputs(k)) for k in range(g.OutputsLength())}

        def only_user(t: int, kind: int) -> int | None:
            u = users.get(t, [])
            if len(u) == 1 and kinds[u[0]] == kind and t not in graph_outputs:
                return u[0]
            return None

        def last_axis_mean(k: int) -> bool:
            if kinds[k] != B.MEAN:
                return False
            axes = np.atleast_1d(self.const(ins[k][1]))
            rank = len(self.shape(ins[k][0]))
            o = tflite.ReducerOptions()
            opts = ops[k].BuiltinOptions()
            o.Init(opts.Bytes, opts.Pos)
            return len(axes) == 1 and int(axes[0]) % max(rank, 1) == rank - 1 and bool(o.KeepDims())

        found: dict[int, tuple] = {}
        self.skipped: set[int] = set()
        for k0 in range(len(ops)):
            if not last_axis_mean(k0):
                continue
            x, m = ins[k0][0], outs[k0][0]
            mu = sorted(users.get(m, []), key=lambda k: kinds[k])
            if m in graph_outputs or len(mu) != 2 or {kinds[k] for k in mu} != {B.NEG, B.SQUARED_DIFFERENCE}:
                continue
            k_neg = next(k for k in mu if kinds[k] == B.NEG)
            k_sd = next(k for k in mu if kinds[k] == B.SQUARED_DIFFERENCE)
            if ins[k_sd] != [x, m]:
                continue
            k_var = only_user(outs[k_sd][0], B.MEAN)
            if k_var is None or not last_axis_mean(k_var):
                continue
            k_eps = only_user(outs[k_var][0], B.ADD)
            if k_eps is None or ins[k_eps][0] != outs[k_var][0] or self.const(ins[k_eps][1]) is None:
                continue
            eps = self.const(ins[k_eps][1]).astype(np.float32)
            k_rsqrt = only_user(outs[k_eps][0], B.RSQRT)
            if eps.size != 1 or k_rsqrt is None:
                continue
            k_gamma = only_user(outs[k_rsqrt][0], B.MUL)
            if k_gamma is None or self.const(ins[k_gamma][1]) is None:
                continue
            gamma = self.const(ins[k_gamma][1]).astype(np.float32)
            gu = users.get(outs[k_gamma][0], [])
            k_negmul = only_user(outs[k_neg][0], B.MUL)
            k_xmul = next((k for k in gu if k != k_negmul and kinds[k] == B.MUL and ins[k] == [x, outs[k_gamma][0]]), None)
            if k_negmul is None or k_xmul is None or sorted(gu) != sorted([k_negmul, k_xmul]):
                continue
            if ins[k_negmul] != [outs[k_neg][0], outs[k_gamma][0]]:
                continue
            k_add = only_user(outs[k_xmul][0], B.ADD)
            if k_add is None or only_user(outs[k_negmul][0], B.ADD) != k_add:
                continue
            if gamma.ndim != 1 or gamma.shape[0] != self.shape(x)[-1]:
                continue
            # Every fused op's activation must be none (MUL and ADD carry one).
            members = [k0, k_neg, k_sd, k_var, k_eps, k_rsqrt, k_gamma, k_xmul, k_negmul, k_add]
            if any(self.fused_activation(ops[k], kinds[k]) != ACT.NONE for k in members):
                continue
            found[max(members)] = (x, gamma, float(eps.reshape(())), outs[k_add][0])
            self.skipped.update(members)
        self.skipped -= set(found)
        return found

    def fused_activation(self, op, kind: int) -> int:
        cls = {B.ADD: tflite.AddOptions, B.MUL: tflite.MulOptions}.get(kind)
        opts = op.BuiltinOptions()
        if cls is None or opts is None:
            return ACT.NONE
        o = cls()
        o.Init(opts.Bytes, opts.Pos)
        return o.FusedActivationFunction()

    def layer_norm(self, x: int, gamma: np.ndarray, eps: float, y: int) -> None:
        beta = np.zeros_like(gamma)
        self.node("LayerNormalization", [self.value(x), self.init(gamma, "ln_gamma"), self.init(beta, "ln_beta")],
                  [self.tname(y)], axis=-1, epsilon=eps)

    # -- graph ---------------------------------------------------------------------------------
    def convert(self) -> onnx.ModelProto:
        g = self.graph
        inputs, pre = [], []
        for k in range(g.InputsLength()):
            i = int(g.Inputs(k))
            name, shape = self.tname(i), self.shape(i)
            if name in self.nchw_inputs:
                n, h, w, c = shape
                inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [n, c, h, w]))
                nhwc = f"{name}_nhwc"
                pre.append(helper.make_node("Transpose", [name], [nhwc], perm=[0, 2, 3, 1]))
                self.renames = {**self.renames, self.tensor(i).Name().decode(): nhwc}
            else:
                inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        fused = self.layer_norms()
        for k in range(g.OperatorsLength()):
            if k in fused:
                self.layer_norm(*fused[k])
            elif k not in self.skipped:
                self.convert_op(g.Operators(k))
        outputs = []
        for k in range(g.OutputsLength()):
            i = int(g.Outputs(k))
            outputs.append(helper.make_tensor_value_info(self.tname(i), TensorProto.FLOAT, self.shape(i)))
        graph = helper.make_graph(
            pre + self.nodes,
            "converted",
            inputs,
            outputs,
            [numpy_helper.from_array(v, k) for k, v in self.inits.items()],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="bevy_talking_head convert_tflite.py")
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def convert(src: Path, dst: Path, spec: dict) -> onnx.ModelProto:
    model = Converter(src, spec.get("renames", {}), spec.get("nchw_inputs", []), spec.get("matmul_1x1", False)).convert()
    if "contract" in spec:
        onnx.helper.set_model_props(model, {"talking_head.contract": spec["contract"], "talking_head.source": src.name})
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(model.SerializeToString())
    return model


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    convert(Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3]))
