"""Writes a BitNet a4.8 model with BitNet b1.58 2B4T's shapes and random weights.

    /usr/bin/python3 models/make_2b4t.py OUT_DIR [--layers 30] [--variant a48|b158]

hidden 2560, FFN 6912, 20 heads and 5 KV heads of 128, 30 layers, vocab
128256, tied embeddings, a4.8 activations (INT4 absmean into QKV and
gate/up, TopK 50% then INT8 into the output projection, ReLU^2-GLU, INT8
into down). The ~2.7 billion weights would need ~11 GB as float32 and a
PyTorch export would need more memory than this machine has, so the graph is
written directly with onnx.helper: BitLinear layers in the exact ai.bitnet op
set (docs/ONNXCustomOps.md) with random ternary int8 weights, everything else
(RMSNorm, RoPE, causal GQA attention, residuals) in standard ONNX ops. The
weights go to OUT_DIR/2b4t.weights (external data, ~3.4 GB); the model is
OUT_DIR/2b4t.onnx. Never committed: regenerate it.

--variant b158 writes the paper's baseline with the same shapes and weights
instead: BitNet b1.58 (W1.58A8), INT8 absmax activations into every
projection and no TopK.
"""

import argparse
import os

import numpy as np
from onnx import TensorProto, helper, save_model

HIDDEN, FFN, HEADS, KV_HEADS, HEAD_DIM, VOCAB = 2560, 6912, 20, 5, 128, 128256
MAX_SEQ = 2048
D = "ai.bitnet"


class Writer:
    """Initializers as external data, appended to one weights file."""

    def __init__(self, out_dir):
        self.name = "2b4t.weights"
        self.f = open(os.path.join(out_dir, self.name), "wb")
        self.inits = []

    def add(self, name, array):
        offset = self.f.tell()
        self.f.write(np.ascontiguousarray(array).tobytes())
        t = TensorProto(name=name, dims=list(array.shape),
                        data_type={np.dtype(np.float32): TensorProto.FLOAT,
                                   np.dtype(np.int8): TensorProto.INT8,
                                   np.dtype(np.int64): TensorProto.INT64}[array.dtype])
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", self.name), ("offset", str(offset)),
                     ("length", str(array.nbytes))):
            e = t.external_data.add()
            e.key, e.value = k, v
        self.inits.append(t)
        return name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=30)
    ap.add_argument("--variant", choices=("a48", "b158"), default="a48")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(0)
    w = Writer(args.out)
    nodes = []
    counter = [0]

    def node(op, inputs, n_out=1, domain="", **attrs):
        counter[0] += 1
        outs = [f"v{counter[0]}_{i}" for i in range(n_out)]
        nodes.append(helper.make_node(op, inputs, outs, name=f"{op}_{counter[0]}",
                                      domain=domain, **attrs))
        return outs if n_out > 1 else outs[0]

    def const(name, array):
        return w.add(name, np.asarray(array))

    def ternary(name, rows, cols):
        codes = rng.integers(-1, 2, size=(rows, cols), dtype=np.int8)
        scale = np.array(rng.uniform(0.01, 0.05), dtype=np.float32)
        return const(name, codes), const(name + ".scale", scale)

    def rmsnorm(x, gname):
        g = const(gname, np.ones(HIDDEN, dtype=np.float32))
        ms = node("ReduceMean", [node("Mul", [x, x]), axes_last], keepdims=1)
        inv = node("Reciprocal", [node("Sqrt", [node("Add", [ms, eps])])])
        return node("Mul", [node("Mul", [x, inv]), g])

    def bitlinear(xq, xs, wname, rows, cols):
        codes, scale = ternary(wname, rows, cols)
        return node("BitLinear", [xq, xs, codes, scale], domain=D)

    axes_last = const("axes_last", np.array([-1], dtype=np.int64))
    eps = const("eps", np.array(1e-5, dtype=np.float32))
    embed = const("embed", (rng.standard_normal((VOCAB, HIDDEN), dtype=np.float32)
                            * 0.02).astype(np.float32))
    inv_freq = 1.0 / (500000.0 ** (np.arange(0, HEAD_DIM, 2) / HEAD_DIM))
    ang = np.arange(MAX_SEQ)[:, None] * inv_freq[None, :]
    cos_t = const("rope.cos", np.concatenate([np.cos(ang)] * 2, -1).astype(np.float32))
    sin_t = const("rope.sin", np.concatenate([np.sin(ang)] * 2, -1).astype(np.float32))
    mask_t = const("causal", np.triu(np.full((MAX_SEQ, MAX_SEQ), -np.inf, np.float32), 1))
    i64 = lambda *v: np.array(v, dtype=np.int64)  # noqa: E731
    zero, one, two = const("c0", i64(0)), const("c1", i64(1)), const("c2", i64(2))
    half, full = const("half", i64(HEAD_DIM // 2)), const("hd", i64(HEAD_DIM))
    big = const("big", i64(2 ** 62))
    seq = node("Shape", ["input_ids"], start=1, end=2)          # [T]
    cos = node("Slice", [cos_t, const("s0", i64(0)), seq, const("a0", i64(0))])
    sin = node("Slice", [sin_t, const("s0b", i64(0)), seq, const("a0b", i64(0))])
    mask = node("Slice", [mask_t, const("m0", i64(0, 0)),
                          node("Concat", [seq, seq], axis=0), const("m1", i64(0, 1))])
    inv_sqrt = const("inv_sqrt_hd", np.array(1 / np.sqrt(HEAD_DIM), np.float32))

    def heads(x, n):
        shape = node("Concat", [const(f"sh{counter[0]}a", i64(1)), seq,
                                const(f"sh{counter[0]}b", i64(n, HEAD_DIM))], axis=0)
        return node("Transpose", [node("Reshape", [x, shape])], perm=[0, 2, 1, 3])

    def rope(x):
        lo = node("Slice", [x, zero, half, const(f"ax{counter[0]}", i64(-1))])
        hi = node("Slice", [x, half, big, const(f"ax{counter[0]}", i64(-1))])
        rot = node("Concat", [node("Neg", [hi]), lo], axis=-1)
        return node("Add", [node("Mul", [x, cos]), node("Mul", [rot, sin])])

    a48 = args.variant == "a48"

    def quant_in(h):
        # a4.8: INT4 absmean into QKV and gate/up; b1.58: INT8 absmax.
        if a48:
            return node("AbsmeanQuant", [h], 2, domain=D, bits=4)
        return node("AbsmaxQuant", [h], 2, domain=D, bits=8)

    x = node("Gather", [embed, "input_ids"], axis=0)
    for l in range(args.layers):
        p = f"layers.{l}"
        h = rmsnorm(x, p + ".attn_norm")
        q4, s4 = quant_in(h)
        q = rope(heads(bitlinear(q4, s4, p + ".q", HEADS * HEAD_DIM, HIDDEN), HEADS))
        k = rope(heads(bitlinear(q4, s4, p + ".k", KV_HEADS * HEAD_DIM, HIDDEN), KV_HEADS))
        v = heads(bitlinear(q4, s4, p + ".v", KV_HEADS * HEAD_DIM, HIDDEN), KV_HEADS)
        rep = HEADS // KV_HEADS

        def gqa(t):
            t5 = node("Unsqueeze", [t, two])                      # [1,5,1,T,D]
            shape = node("Concat", [const(f"g{counter[0]}a", i64(1, KV_HEADS, rep)),
                                    seq, full], axis=0)
            e = node("Expand", [t5, shape])
            shape4 = node("Concat", [const(f"g{counter[0]}b", i64(1, HEADS)), seq, full],
                          axis=0)
            return node("Reshape", [e, shape4])

        k, v = gqa(k), gqa(v)
        att = node("Mul", [node("MatMul", [q, node("Transpose", [k], perm=[0, 1, 3, 2])]),
                           inv_sqrt])
        att = node("Softmax", [node("Add", [att, mask])], axis=-1)
        o = node("Transpose", [node("MatMul", [att, v])], perm=[0, 2, 1, 3])
        o = node("Reshape", [o, node("Concat", [const(f"o{l}a", i64(1)), seq,
                                                const(f"o{l}b", i64(HIDDEN))], axis=0)])
        if a48:
            o = node("TopKSparsify", [o], domain=D, ratio=0.5)
        oq, os_ = node("AbsmaxQuant", [o], 2, domain=D, bits=8)
        x = node("Add", [x, bitlinear(oq, os_, p + ".o", HIDDEN, HEADS * HEAD_DIM)])
        h = rmsnorm(x, p + ".ffn_norm")
        f4, fs = quant_in(h)
        gate = bitlinear(f4, fs, p + ".gate", FFN, HIDDEN)
        up = bitlinear(f4, fs, p + ".up", FFN, HIDDEN)
        a = node("ReLU2GLU", [gate, up], domain=D)
        aq, as_ = node("AbsmaxQuant", [a], 2, domain=D, bits=8)
        x = node("Add", [x, bitlinear(aq, as_, p + ".down", HIDDEN, FFN)])
    h = rmsnorm(x, "norm")
    nodes.append(helper.make_node("MatMul", [h, node("Transpose", [embed], perm=[1, 0])],
                                  ["logits"], name="lm_head"))
    w.f.close()
    graph = helper.make_graph(
        nodes, "bitnet-a4.8-2b4t-shapes" if a48 else "bitnet-b1.58-2b4t-shapes",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "seq"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, "seq", VOCAB])],
        initializer=w.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid(D, 1)],
                              producer_name="bitnet-mlir models/make_2b4t.py")
    save_model(model, os.path.join(args.out, "2b4t.onnx"))
    size = os.path.getsize(os.path.join(args.out, w.name))
    print(f"wrote {args.out}/2b4t.onnx ({len(nodes)} nodes) and {w.name} "
          f"({size / 2**30:.2f} GiB)")


if __name__ == "__main__":
    main()
