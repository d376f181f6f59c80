#!/usr/bin/env python3
"""Writes the bitnet IR of the GPU benchmark's kernel library: one BitLinear
layer function per (shape, M) of BitNet b1.58 2B4T and the paper's 7B model,
one per shape at M = 1 with its activation quantizer fused in front, the
up projections gated (gate-first sparsity; the benchmark closes 0% and the
paper's 67.5% of the gates) and the whole gate-first ReLU2-GLU (gate and
up projections in one kernel) at the same sparsities, the down and output
projections with bits2_cols weights (the column kernel, fed 0% and the
paper's 80% / 50% zero inputs), plus bench/gpu/read_bytes.mlir's streaming
kernel (the "read floor").
bitnet-compile --target=cuda turns the file into a kernel library. The
plain layers come at M = 1 and 16 (--ms picks others: 128 and 2048 are the
prefill sizes of issue 6's table, on tensor cores).

  python3 bench/gpu/make_kernels.py [--ms 1,16,128,2048] > kernels.mlir
"""
import os
import sys

# (name, N, K): the linear layers of one transformer block.
SHAPES = [
    ("b2b4t_qkv", 3840, 2560), ("b2b4t_out", 2560, 2560),
    ("b2b4t_gate_up", 6912, 2560), ("b2b4t_down", 2560, 6912),
    ("b7b_qkv", 12288, 4096), ("b7b_out", 4096, 4096),
    ("b7b_gate_up", 11008, 4096), ("b7b_down", 4096, 11008),
]
MS = [1, 16]
if "--ms" in sys.argv:
    MS = [int(v) for v in sys.argv[sys.argv.index("--ms") + 1].split(",")]


def layer(name, m, n, k):
    x, w, y = f"tensor<{m}x{k}xi8>", f"!bitnet.packed_ternary<{n}x{k}, bits2>", f"tensor<{m}x{n}xf32>"
    s = f"tensor<{m}xf32>"
    return (f"  func.func @{name}_m{m}(%x: {x}, %s: {s}, %w: {w}, %ws: tensor<f32>) -> {y} {{\n"
            f"    %y = bitnet.bitlinear %x, %s, %w, %ws : ({x}, {s}, {w}, tensor<f32>) -> {y}\n"
            f"    return %y : {y}\n  }}\n")


def fused_layer(name, n, k):
    """The layer at M = 1 taking f32 activations: the quantizer its input has
    in BitNet a4.8 (INT4 absmean into QKV and gate/up, INT8 absmax into the
    output and down projections) runs as the kernel's prologue."""
    int4 = name.endswith("qkv") or name.endswith("gate_up")
    op, bits = ("absmean_quant", 4) if int4 else ("absmax_quant", 8)
    x, c = f"tensor<1x{k}xf32>", f"tensor<1x{k}xi8>"
    w, y, s = f"!bitnet.packed_ternary<{n}x{k}, bits2>", f"tensor<1x{n}xf32>", "tensor<1xf32>"
    return (f"  func.func @{name}_fused_m1(%x: {x}, %w: {w}, %ws: tensor<f32>) -> {y} {{\n"
            f"    %c, %s = bitnet.{op} %x {{bits = {bits} : i32}} : {x} -> {c}, {s}\n"
            f"    %y = bitnet.bitlinear %c, %s, %w, %ws : ({c}, {s}, {w}, tensor<f32>) -> {y}\n"
            f"    return %y : {y}\n  }}\n")


def gated_layer(name, n, k, closed):
    """The up projection after gate-first sparsity at M = 1: output n only
    where gate[n] > 0, reading only those weight rows. `closed` (per mille)
    names the fraction of closed gates the benchmark feeds it."""
    x, w, y = f"tensor<1x{k}xi8>", f"!bitnet.packed_ternary<{n}x{k}, bits2>", f"tensor<1x{n}xf32>"
    s = "tensor<1xf32>"
    return (f"  func.func @{name}_gated{closed}_m1(%x: {x}, %s: {s}, %w: {w}, %ws: tensor<f32>, %g: {y}) -> {y} {{\n"
            f"    %y = bitnet.gated_bitlinear %x, %s, %w, %ws, %g : ({x}, {s}, {w}, tensor<f32>, {y}) -> {y}\n"
            f"    return %y : {y}\n  }}\n")


def glu_layer(name, n, k, closed):
    """The gate-first ReLU2-GLU at M = 1 as one kernel: the gate projection,
    the up projection only where the gate is open, relu2_glu. `closed` (per
    mille) names the fraction of gates the benchmark's weights close."""
    x, w, y = f"tensor<1x{k}xi8>", f"!bitnet.packed_ternary<{n}x{k}, bits2>", f"tensor<1x{n}xf32>"
    s = "tensor<1xf32>"
    return (f"  func.func @{name}_glu{closed}_m1(%x: {x}, %s: {s}, %wg: {w}, %wsg: tensor<f32>, %wu: {w}, %wsu: tensor<f32>) -> {y} {{\n"
            f"    %g = bitnet.bitlinear %x, %s, %wg, %wsg : ({x}, {s}, {w}, tensor<f32>) -> {y}\n"
            f"    %u = bitnet.gated_bitlinear %x, %s, %wu, %wsu, %g : ({x}, {s}, {w}, tensor<f32>, {y}) -> {y}\n"
            f"    %h = bitnet.relu2_glu %g, %u : {y}\n"
            f"    return %h : {y}\n  }}\n")


def fused_glu_layer(name, n, k, closed):
    """The GLU kernel taking f32 activations: the INT4 absmean quantizer
    BitNet a4.8 puts in front of gate/up as its prologue."""
    xf, x = f"tensor<1x{k}xf32>", f"tensor<1x{k}xi8>"
    w, y, s = f"!bitnet.packed_ternary<{n}x{k}, bits2>", f"tensor<1x{n}xf32>", "tensor<1xf32>"
    return (f"  func.func @{name}_glu{closed}_fused_m1(%xf: {xf}, %wg: {w}, %wsg: tensor<f32>, %wu: {w}, %wsu: tensor<f32>) -> {y} {{\n"
            f"    %x, %s = bitnet.absmean_quant %xf {{bits = 4 : i32}} : {xf} -> {x}, {s}\n"
            f"    %g = bitnet.bitlinear %x, %s, %wg, %wsg : ({x}, {s}, {w}, tensor<f32>) -> {y}\n"
            f"    %u = bitnet.gated_bitlinear %x, %s, %wu, %wsu, %g : ({x}, {s}, {w}, tensor<f32>, {y}) -> {y}\n"
            f"    %h = bitnet.relu2_glu %g, %u : {y}\n"
            f"    return %h : {y}\n  }}\n")


def column_layer(name, n, k, zeros):
    """The layer at M = 1 with bits2_cols weights: the column kernel reads
    only the columns of non-zero inputs. `zeros` (per mille) names the
    fraction of zero input codes the benchmark feeds it."""
    x, w, y = f"tensor<1x{k}xi8>", f"!bitnet.packed_ternary<{n}x{k}, bits2_cols>", f"tensor<1x{n}xf32>"
    s = "tensor<1xf32>"
    return (f"  func.func @{name}_cols{zeros}_m1(%x: {x}, %s: {s}, %w: {w}, %ws: tensor<f32>) -> {y} {{\n"
            f"    %y = bitnet.bitlinear %x, %s, %w, %ws : ({x}, {s}, {w}, tensor<f32>) -> {y}\n"
            f"    return %y : {y}\n  }}\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    reader = open(os.path.join(here, "read_bytes.mlir")).read()
    # The reader's gpu.module goes inside our module, next to the layers.
    body = reader[reader.index("gpu.module"):reader.rindex("}")]
    out = ["// Generated by bench/gpu/make_kernels.py\n",
           "module attributes {gpu.container_module} {\n  ", body]
    for name, n, k in SHAPES:
        for m in MS:
            out.append(layer(name, m, n, k))
        out.append(fused_layer(name, n, k))
        if name.endswith("gate_up"):
            for closed in (0, 675):
                out.append(gated_layer(name, n, k, closed))
                out.append(glu_layer(name, n, k, closed))
                out.append(fused_glu_layer(name, n, k, closed))
        # The paper's sparsities: 80% zeros into down, TopK 50% into out.
        if name.endswith("down"):
            for zeros in (0, 800):
                out.append(column_layer(name, n, k, zeros))
        if name.endswith("out"):
            for zeros in (0, 500):
                out.append(column_layer(name, n, k, zeros))
    out.append("}\n")
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
