"""Writes the small ONNX files the importer's error tests read.

    /usr/bin/python3 make_inputs.py   (Debian's python3-onnx)

The outputs are committed, so tests need no Python.
"""

import struct

import onnx
from onnx import TensorProto, helper


def np_f32_sqrt(v):
    """sqrt(v) rounded to float32, as torch writes `v ** 0.5` into a graph."""
    return struct.unpack("f", struct.pack("f", v ** 0.5))[0]


def model(nodes, inits=(), opset=17, inputs=None, outputs=None):
    inputs = inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])]
    outputs = outputs or [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])]
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             producer_name="bitnet-mlir tests")


def save(m, name):
    with open(name, "wb") as f:
        f.write(m.SerializeToString())


def const(name, value, dtype=TensorProto.FLOAT):
    return helper.make_node("Constant", [], [name], name=name,
                            value=helper.make_tensor(name, dtype, [], [value]))


def ste(prefix, x, kind, q, lo, hi, eps=1e-5, eps_form="clamp", mult="recip",
        axes=(-1,)):
    """The STE quantizer as torch.onnx.export writes it; returns (nodes, out)."""
    p = prefix
    n = [helper.make_node("Abs", [x], [p + "abs"], name=p + "Abs")]
    if kind == "max":
        n.append(helper.make_node("ReduceMax", [p + "abs"], [p + "s"], name=p + "ReduceMax",
                                  axes=list(axes), keepdims=1))
    elif kind == "mean":
        n.append(helper.make_node("ReduceMean", [p + "abs"], [p + "s"], name=p + "ReduceMean",
                                  axes=list(axes), keepdims=1))
    else:  # per tensor
        n.append(helper.make_node("ReduceMean", [p + "abs"], [p + "s"], name=p + "ReduceMean",
                                  keepdims=0))
    n.append(const(p + "eps", eps))
    if eps_form == "clamp":
        n.append(helper.make_node("Clip", [p + "s", p + "eps"], [p + "d"], name=p + "Clip"))
    else:
        n.append(helper.make_node("Add", [p + "s", p + "eps"], [p + "d"], name=p + "AddEps"))
    n.append(const(p + "q", q))
    if mult == "recip":
        n.append(helper.make_node("Reciprocal", [p + "d"], [p + "r"], name=p + "Reciprocal"))
        n.append(helper.make_node("Mul", [p + "r", p + "q"], [p + "m"], name=p + "MulQ"))
    else:
        n.append(helper.make_node("Div", [p + "q", p + "d"], [p + "m"], name=p + "DivQ"))
    n += [helper.make_node("Mul", [x, p + "m"], [p + "v"], name=p + "Mul"),
          helper.make_node("Round", [p + "v"], [p + "rd"], name=p + "Round"),
          const(p + "lo", lo), const(p + "hi", hi),
          helper.make_node("Clip", [p + "rd", p + "lo", p + "hi"], [p + "c"], name=p + "ClipQ"),
          helper.make_node("Div", [p + "c", p + "m"], [p + "deq"], name=p + "Deq"),
          helper.make_node("Sub", [p + "deq", x], [p + "diff"], name=p + "Sub"),
          helper.make_node("Add", [x, p + "diff"], [p + "out"], name=p + "STE")]
    return n, p + "out"


def quantizer_model(name, **kw):
    nodes, out = ste("a/", "x", **kw)
    nodes.append(helper.make_node("Identity", [out], ["y"], name="out"))
    m = model(nodes, inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16])],
              outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 16])])
    onnx.checker.check_model(m)
    save(m, name)


def bitlinear_model(name, w_hi=1.0):
    import random
    random.seed(0)
    w = helper.make_tensor("w", TensorProto.FLOAT, [8, 16],
                           [random.gauss(0, 0.05) for _ in range(128)])
    xn, xq = ste("x/", "x", "max", 127.0, -128.0, 127.0)
    wn, wq = ste("w/", "w", "tensor", 1.0, -1.0, w_hi)
    nodes = xn + wn + [
        helper.make_node("Transpose", [wq], ["wt"], name="Transpose", perm=[1, 0]),
        helper.make_node("MatMul", [xq, "wt"], ["y"], name="MatMul")]
    m = model(nodes, [w],
              inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 16])],
              outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8])])
    onnx.checker.check_model(m)
    save(m, name)


def topk_model(name, largest=1, shape=(2, 16)):
    """Keeps half of each row. At 64 x 2560 (a 2B4T prefill chunk) the zeros
    and ones the scatter writes have more elements than the importer folds."""
    k = helper.make_tensor("k", TensorProto.INT64, [1], [shape[-1] // 2])
    nodes = [
        helper.make_node("Abs", ["x"], ["a"], name="Abs"),
        helper.make_node("TopK", ["a", "k"], ["vals", "idx"], name="TopK", axis=-1,
                         largest=largest, sorted=1),
        helper.make_node("Shape", ["x"], ["shape"], name="Shape"),
        helper.make_node("ConstantOfShape", ["shape"], ["zeros"], name="Zeros",
                         value=helper.make_tensor("z", TensorProto.FLOAT, [1], [0.0])),
        helper.make_node("Shape", ["idx"], ["ishape"], name="IShape"),
        const("one", 1.0),
        helper.make_node("Expand", ["one", "ishape"], ["ones"], name="Ones"),
        helper.make_node("ScatterElements", ["zeros", "idx", "ones"], ["mask"],
                         name="Scatter", axis=-1),
        helper.make_node("Mul", ["x", "mask"], ["y"], name="Mask")]
    m = model(nodes, [k],
              inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
              outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))])
    onnx.checker.check_model(m)
    save(m, name)


def fp4_model(name, t4=4.0):
    """bitnet_ref.py's FP4 MinMax STE, node for node."""
    p = "f/"
    n = [helper.make_node("Abs", ["x"], [p + "abs"], name=p + "Abs"),
         helper.make_node("ReduceMax", [p + "abs"], [p + "s"], name=p + "ReduceMax",
                          axes=[-1], keepdims=1),
         const(p + "eps", 1e-5),
         helper.make_node("Clip", [p + "s", p + "eps"], [p + "d"], name=p + "Clip"),
         helper.make_node("Reciprocal", [p + "d"], [p + "r"], name=p + "Reciprocal"),
         const(p + "six", 6.0),
         helper.make_node("Mul", [p + "r", p + "six"], [p + "m"], name=p + "MulQ"),
         helper.make_node("Mul", ["x", p + "m"], [p + "v"], name=p + "Mul"),
         helper.make_node("Abs", [p + "v"], [p + "av"], name=p + "AbsV"),
         const(p + "t4", t4), const(p + "t2", 2.0),
         helper.make_node("GreaterOrEqual", [p + "av", p + "t4"], [p + "ge4"], name=p + "Ge4"),
         helper.make_node("GreaterOrEqual", [p + "av", p + "t2"], [p + "ge2"], name=p + "Ge2"),
         const(p + "two", 2.0), const(p + "one", 1.0), const(p + "half", 0.5),
         helper.make_node("Where", [p + "ge2", p + "one", p + "half"], [p + "w2"], name=p + "W2"),
         helper.make_node("Where", [p + "ge4", p + "two", p + "w2"], [p + "step"], name=p + "W4"),
         helper.make_node("Div", [p + "v", p + "step"], [p + "vs"], name=p + "DivStep"),
         helper.make_node("Round", [p + "vs"], [p + "rd"], name=p + "Round"),
         helper.make_node("Mul", [p + "rd", p + "step"], [p + "g"], name=p + "MulStep"),
         const(p + "lo", -6.0), const(p + "hi", 6.0),
         helper.make_node("Clip", [p + "g", p + "lo", p + "hi"], [p + "c"], name=p + "ClipQ"),
         helper.make_node("Div", [p + "c", p + "m"], [p + "deq"], name=p + "Deq"),
         helper.make_node("Sub", [p + "deq", "x"], [p + "diff"], name=p + "Sub"),
         helper.make_node("Add", ["x", p + "diff"], ["y"], name=p + "STE")]
    m = model(n, inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16])],
              outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 16])])
    onnx.checker.check_model(m)
    save(m, name)


def bitnet_domain_model(name, eps_mode="clamp", extra_op=None):
    """Every op of the ai.bitnet domain (docs/ONNXCustomOps.md)."""
    D = "ai.bitnet"
    w = helper.make_tensor("w", TensorProto.INT8, [8, 16],
                           [((i * 7) % 3) - 1 for i in range(128)])
    ws = helper.make_tensor("ws", TensorProto.FLOAT, [], [0.05])
    wf = helper.make_tensor("wf", TensorProto.FLOAT, [8, 16],
                            [0.01 * ((i % 5) - 2) for i in range(128)])
    nodes = [
        helper.make_node("TopKSparsify", ["x"], ["xt"], name="topk", domain=D, ratio=0.5),
        helper.make_node("AbsmaxQuant", ["xt"], ["q", "s"], name="quant", domain=D,
                         bits=8, eps=1e-5, eps_mode=eps_mode, mult_form="recip_mul"),
        helper.make_node("BitLinear", ["q", "s", "w", "ws"], ["y1"], name="proj", domain=D),
        helper.make_node("AbsmeanQuant", ["x"], ["q4", "s4"], name="quant4", domain=D),
        helper.make_node("TernaryQuant", ["wf"], ["wc", "wsc"], name="wquant", domain=D),
        helper.make_node("BitLinear", ["q4", "s4", "wc", "wsc"], ["y2"], name="proj2", domain=D),
        helper.make_node("ReLU2GLU", ["y1", "y2"], ["h"], name="glu", domain=D),
        helper.make_node("Dequantize", ["q4", "s4"], ["xd"], name="deq", domain=D),
        helper.make_node("KVQuant", ["kv"], ["kc", "ks"], name="kvq", domain=D,
                         bits=3, bos_bits=4),
    ]
    if extra_op:
        nodes.append(helper.make_node(extra_op, ["x"], ["extra"], name="extra", domain=D))
    m = helper.make_model(
        helper.make_graph(
            nodes, "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16]),
             helper.make_tensor_value_info("kv", TensorProto.FLOAT, [4, 2, 8])],
            [helper.make_tensor_value_info("h", TensorProto.FLOAT, [4, 8]),
             helper.make_tensor_value_info("xd", TensorProto.FLOAT, [4, 16]),
             helper.make_tensor_value_info("kc", TensorProto.INT8, [4, 2, 8])],
            initializer=[w, ws, wf]),
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(D, 1)],
        producer_name="bitnet-mlir tests")
    save(m, name)


def kv_model(name, lo_offset=1.0):
    """bitnet_ref.py's KV quantizer on [B, H, T, D], 3-bit with BOS at 4."""
    q = helper.make_tensor("qmax", TensorProto.FLOAT, [4, 1], [7.0, 3.0, 3.0, 3.0])
    nodes = [
        helper.make_node("Abs", ["x"], ["a"], name="Abs"),
        helper.make_node("ReduceMax", ["a"], ["g"], name="ReduceMax", axes=[-1], keepdims=1),
        const("eps", 1e-5),
        helper.make_node("Add", ["g", "eps"], ["d"], name="AddEps"),
        helper.make_node("Div", ["qmax", "d"], ["m"], name="Mult"),
        helper.make_node("Mul", ["x", "m"], ["v"], name="Mul"),
        helper.make_node("Round", ["v"], ["r"], name="Round"),
        helper.make_node("Min", ["r", "qmax"], ["mn"], name="Min"),
        helper.make_node("Neg", ["qmax"], ["nq"], name="Neg"),
        const("off", lo_offset),
        helper.make_node("Sub", ["nq", "off"], ["lo"], name="Lo"),
        helper.make_node("Max", ["mn", "lo"], ["c"], name="Max"),
        helper.make_node("Div", ["c", "m"], ["deq"], name="Deq"),
        helper.make_node("Sub", ["deq", "x"], ["diff"], name="Sub"),
        helper.make_node("Add", ["x", "diff"], ["y"], name="STE")]
    m = model(nodes, [q],
              inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 8])],
              outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 4, 8])])
    onnx.checker.check_model(m)
    save(m, name)


def attention_model(name, mask="causal", scale_op="Mul"):
    """One attention layer over token and position embeddings (2 heads of
    4), its mask a [64, 64] table sliced to [seq, seq]: "causal" (0 / -inf),
    "table" (the same in a table of 257 x 257),
    "window" (a causal window of 2 positions) or "bias" (finite
    per-distance biases); the scores scaled by Mul 0.5 or Div 0.5."""
    import math
    # "table": a causal table of 257 x 257, more elements than the importer
    # keeps as data (it stays an attribute, sliced at [seq, seq]).
    n = 257 if mask == "table" else 64
    if mask in ("causal", "table"):
        table = [[0.0 if j <= i else -math.inf for j in range(n)] for i in range(n)]
    elif mask == "window":
        table = [[0.0 if i - 2 < j <= i else -math.inf for j in range(n)] for i in range(n)]
    else:
        table = [[-0.5 * (i - j) if j <= i else -math.inf for j in range(n)] for i in range(n)]
    flat = [v for row in table for v in row]

    def i64(nm, *v):
        return helper.make_tensor(nm, TensorProto.INT64, [len(v)], list(v))

    def w(nm, seed):
        return helper.make_tensor(nm, TensorProto.FLOAT, [8, 8],
                                  [((i * 7 + seed) % 11 - 5) / 10.0 for i in range(64)])
    inits = [helper.make_tensor("embed", TensorProto.FLOAT, [16, 8],
                                [((i * 5) % 13 - 6) / 8.0 for i in range(128)]),
             w("wq", 1), w("wk", 2), w("wv", 3),
             helper.make_tensor("mask_t", TensorProto.FLOAT, [n, n],
                                struct.pack(f"<{n * n}f", *flat), raw=True),
             helper.make_tensor("pos_t", TensorProto.FLOAT, [n, 8],
                                [((i * 3) % 7 - 3) / 16.0 for i in range(n * 8)]),
             i64("zero1", 0), i64("axis0", 0),
             i64("zero2", 0, 0), i64("axes01", 0, 1), i64("one", 1),
             i64("heads", 2, 4), i64("hidden", 8),
             helper.make_tensor("scale", TensorProto.FLOAT, [], [0.5])]
    nodes = [
        helper.make_node("Shape", ["input_ids"], ["seq"], name="Shape", start=1, end=2),
        helper.make_node("Concat", ["seq", "seq"], ["seq2"], name="Seq2", axis=0),
        helper.make_node("Slice", ["mask_t", "zero2", "seq2", "axes01"], ["mask"], name="Mask"),
        helper.make_node("Concat", ["one", "seq", "heads"], ["hshape"], name="HShape", axis=0),
        helper.make_node("Concat", ["one", "seq", "hidden"], ["oshape"], name="OShape", axis=0),
        helper.make_node("Gather", ["embed", "input_ids"], ["e"], name="Embed", axis=0),
        # Learned positions: a slice [0, seq) of a table (a position vector).
        helper.make_node("Slice", ["pos_t", "zero1", "seq", "axis0"], ["pos"], name="Pos"),
        helper.make_node("Add", ["e", "pos"], ["x"], name="AddPos")]
    for p in "qkv":
        nodes += [helper.make_node("MatMul", ["x", "w" + p], [p + "0"], name=p + "_proj"),
                  helper.make_node("Reshape", [p + "0", "hshape"], [p + "1"], name=p + "_heads"),
                  helper.make_node("Transpose", [p + "1"], [p], name=p + "_t", perm=[0, 2, 1, 3])]
    nodes += [
        helper.make_node("Transpose", ["k"], ["kt"], name="k_tt", perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["q", "kt"], ["s"], name="Scores"),
        helper.make_node(scale_op, ["s", "scale"], ["s2"], name="Scale"),
        helper.make_node("Add", ["s2", "mask"], ["s3"], name="MaskAdd"),
        helper.make_node("Softmax", ["s3"], ["p"], name="Softmax", axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["o"], name="PV"),
        helper.make_node("Transpose", ["o"], ["ot"], name="o_t", perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["ot", "oshape"], ["y"], name="Out")]
    m = model(nodes, inits,
              inputs=[helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "seq"])],
              outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, "seq", 8])])
    onnx.checker.check_model(m)
    save(m, name)


def main():
    attention_model("attention-causal.onnx")
    attention_model("attention-div.onnx", scale_op="Div")
    attention_model("attention-table.onnx", mask="table")
    attention_model("attention-window.onnx", mask="window")
    attention_model("attention-bias.onnx", mask="bias")
    kv_model("kv-ste.onnx")
    kv_model("kv-symmetric.onnx", lo_offset=0.0)
    bitnet_domain_model("bitnet-domain.onnx")
    bitnet_domain_model("bitnet-domain-bad-attr.onnx", eps_mode="max")
    bitnet_domain_model("bitnet-domain-unknown-op.onnx", extra_op="Hadamard")
    topk_model("topk-scatter.onnx")
    topk_model("topk-smallest.onnx", largest=0)
    topk_model("topk-scatter-large.onnx", shape=(64, 2560))
    fp4_model("fp4-ste.onnx")
    fp4_model("fp4-wrong-threshold.onnx", t4=3.0)
    quantizer_model("ste-absmax-clamp-recip.onnx", kind="max", q=127.0, lo=-128.0, hi=127.0)
    quantizer_model("ste-absmean-addeps-div.onnx", kind="mean", q=float(np_f32_sqrt(7)),
                    lo=-8.0, hi=7.0, eps_form="add", mult="div")
    # Near misses: symmetric clip, a reduction over the wrong axis, sqrt(7)
    # written with the wrong constant. They must stay float.
    quantizer_model("ste-symmetric-clip.onnx", kind="max", q=127.0, lo=-127.0, hi=127.0)
    quantizer_model("ste-wrong-axis.onnx", kind="max", q=127.0, lo=-128.0, hi=127.0, axes=(0,))
    quantizer_model("ste-wrong-q.onnx", kind="mean", q=2.6, lo=-8.0, hi=7.0)
    bitlinear_model("bitlinear.onnx")
    bitlinear_model("bitlinear-not-ternary.onnx", w_hi=2.0)
    with open("not-onnx.onnx", "w") as f:
        f.write("this is a text file, not a model\n")
    w = helper.make_tensor("w", TensorProto.FLOAT, [4], [1.0, 2.0, 3.0, 4.0])
    add = helper.make_node("Add", ["x", "w"], ["y"], name="add0")
    valid = model([add], [w])
    onnx.checker.check_model(valid)
    save(valid, "valid-add.onnx")
    data = valid.SerializeToString()
    with open("truncated.onnx", "wb") as f:
        f.write(data[: len(data) * 2 // 3])
    save(model([helper.make_node("Hardmax", ["x"], ["y"], name="hm")]), "unknown-op.onnx")
    save(model([add], [w], opset=9), "old-opset.onnx")
    bad = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4],
                      raw_data=b"\0" * 10)
    save(model([add], [bad]), "bad-initializer.onnx")
    ext = helper.make_tensor("w", TensorProto.FLOAT, [4], [1.0, 2.0, 3.0, 4.0])
    ext.data_location = TensorProto.EXTERNAL
    entry = ext.external_data.add()
    entry.key, entry.value = "location", "weights.bin"
    save(model([add], [ext]), "external-data.onnx")
    custom = helper.make_node("Quantize", ["x"], ["y"], name="q", domain="com.example")
    m = model([custom])
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    save(m, "custom-domain.onnx")


if __name__ == "__main__":
    main()
