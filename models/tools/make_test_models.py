#!/usr/bin/env python3
"""Writes the tiny ONNX models realskin's tests use, and the SRVGGNetCompact-shaped
benchmark model, with the `onnx` package only (no PyTorch, no downloads).

Every model follows the common super-resolution convention (one NCHW RGB input in
[0, 1], float32 or float16) except the `not-sr-*` ones, which are wrong on purpose.
Weights come from a fixed seed, so the files are the same on every run.

    python3 models/tools/make_test_models.py                 # tests/models/*.onnx (committed)
    python3 models/tools/make_test_models.py --bench DIR     # DIR/srvgg-x4.onnx (~2.4 MB, not committed)

Needs `pip install onnx numpy` (scripts/bench-onnx makes a venv under target/ for it).
"""

import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # readable by every ONNX Runtime realskin supports


class Graph:
    """Collects nodes and initializers for one model."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def conv(self, out, x, cin, cout, std, k=3):
        w = self.const(out + ".w", (self.rng.standard_normal((cout, cin, k, k)) * std).astype(np.float32))
        b = self.const(out + ".b", (self.rng.standard_normal(cout) * 0.01).astype(np.float32))
        self.nodes.append(helper.make_node("Conv", [x, w, b], [out], pads=[k // 2] * 4, kernel_shape=[k, k]))
        return out

    def to_float16(self):
        """Stores every float initializer as float16 (the weights of a half model)."""
        for i, t in enumerate(self.inits):
            a = numpy_helper.to_array(t)
            if a.dtype == np.float32 and not t.name.endswith(".scales"):
                self.inits[i] = numpy_helper.from_array(a.astype(np.float16), t.name)

    def op(self, kind, inputs, out, **attrs):
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def nearest(self, x, scale, out):
        scales = self.const(out + ".scales", np.array([1, 1, scale, scale], dtype=np.float32))
        return self.op("Resize", [x, "", scales], out, mode="nearest")

    def model(self, name, inputs, outputs, doc):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="realskin-tests")
        m.ir_version = IR_VERSION
        m.doc_string = doc
        onnx.checker.check_model(m)
        return m


def image_io(elem, h="height", w="width", scale=None, channels=3):
    """An NCHW image input/output; `scale` turns symbolic sizes into `<name>*s`."""
    def dim(d):
        if isinstance(d, int):
            return d * (scale or 1)
        return d if scale is None else f"{d}_x{scale}"
    shape_in = [1, channels, h, w]
    shape_out = [1, channels, dim(h), dim(w)]
    return (
        helper.make_tensor_value_info("input", elem, shape_in),
        helper.make_tensor_value_info("output", elem, shape_out),
    )


def tiny_sr(scale, seed=7, io=TensorProto.FLOAT, fixed=None):
    """Nearest-neighbour upscale plus a small learned residual (two 3x3 convolutions and
    DepthToSpace): output ≈ input, so results are easy to reason about, while the
    convolutions give every output pixel a 5x5 input neighbourhood (tiling is tested).
    With `io=FLOAT16` the whole model is float16 (weights and arithmetic), as a
    half-precision export is."""
    g = Graph(seed)
    g.conv("c1", "input", 3, 8, 0.3)
    g.op("Relu", ["c1"], "r1")
    g.conv("c2", "r1", 8, 3 * scale * scale, 0.05)
    g.op("DepthToSpace", ["c2"], "detail", blocksize=scale, mode="CRD")
    g.nearest("input", scale, "base")
    g.op("Add", ["base", "detail"], "output")
    if io == TensorProto.FLOAT16:
        g.to_float16()
    h, w = fixed if fixed else ("height", "width")
    inp, outp = image_io(io, h, w, scale)
    kind = "fixed %dx%d" % fixed if fixed else "dynamic"
    return g.model(f"tiny-sr-x{scale}", [inp], [outp], f"realskin test model: x{scale}, {kind} input")


def not_sr_rank():
    """A classifier-shaped model: input [1, 10], output [1, 4]."""
    g = Graph(1)
    g.const("w", g.rng.standard_normal((10, 4)).astype(np.float32))
    g.op("MatMul", ["input", "w"], "output")
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 10])
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4])
    return g.model("not-sr-rank", [inp], [out], "realskin test model: not an image model")


def not_sr_gray():
    """One input channel instead of three."""
    g = Graph(2)
    g.nearest("input", 2, "output")
    inp, out = image_io(TensorProto.FLOAT, channels=1, scale=2)
    return g.model("not-sr-gray", [inp], [out], "realskin test model: grey input")


def not_sr_fractional():
    """Output 1.5x the input: not an integer multiple."""
    g = Graph(3)
    scales = g.const("scales", np.array([1, 1, 1.5, 1.5], dtype=np.float32))
    g.op("Resize", ["input", "", scales], "output", mode="linear")
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "height", "width"])
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "oh", "ow"])
    return g.model("not-sr-fractional", [inp], [out], "realskin test model: x1.5")


def srvgg_x4(seed=11, feat=64, convs=16):
    """SRVGGNetCompact's shape (realesr-animevideov3 size): Conv 3→64 + PReLU,
    16 × [Conv 64→64 + PReLU], Conv 64→48, DepthToSpace 4, plus the nearest-upsampled
    input. Random weights: for speed measurements only."""
    g = Graph(seed)
    x = g.conv("first", "input", 3, feat, np.sqrt(2 / 27))
    for i in range(convs + 1):
        slope = g.const(f"prelu{i}", np.full((feat, 1, 1), 0.25, dtype=np.float32))
        x = g.op("PRelu", [x, slope], f"act{i}")
        if i < convs:
            x = g.conv(f"body{i}", x, feat, feat, np.sqrt(2 / (9 * feat)) * 0.5)
    g.conv("last", x, feat, 48, 0.01)
    g.op("DepthToSpace", ["last"], "detail", blocksize=4, mode="CRD")
    g.nearest("input", 4, "base")
    g.op("Add", ["base", "detail"], "output")
    inp, out = image_io(TensorProto.FLOAT, scale=4)
    return g.model("srvgg-x4", [inp], [out], "SRVGGNetCompact-shaped x4, random weights (benchmark)")


def save(model, folder, name):
    path = os.path.join(folder, name)
    onnx.save(model, path)
    print(f"{path}: {os.path.getsize(path)} bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "tests", "models"))
    ap.add_argument("--bench", metavar="DIR", help="write only the benchmark model into DIR")
    args = ap.parse_args()
    if args.bench:
        os.makedirs(args.bench, exist_ok=True)
        save(srvgg_x4(), args.bench, "srvgg-x4.onnx")
        return
    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)
    save(tiny_sr(2), out, "sr-x2.onnx")
    save(tiny_sr(4), out, "sr-x4.onnx")
    # Same weights as sr-x2: the tests compare their outputs.
    save(tiny_sr(2, io=TensorProto.FLOAT16), out, "sr-x2-fp16.onnx")
    save(tiny_sr(2, fixed=(64, 64)), out, "sr-x2-fixed64.onnx")
    save(not_sr_rank(), out, "not-sr-rank.onnx")
    save(not_sr_gray(), out, "not-sr-gray.onnx")
    save(not_sr_fractional(), out, "not-sr-fractional.onnx")


if __name__ == "__main__":
    main()
