//===- Passes.td - bitnet-to-bitnet transforms -------------*- tablegen -*-===//

#ifndef BITNET_DIALECT_BITNET_TRANSFORMS_PASSES_TD
#define BITNET_DIALECT_BITNET_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Decompositions
//===----------------------------------------------------------------------===//

def BitNetDecomposeFusedBitLinear : Pass<"bitnet-decompose-fused-bitlinear"> {
  let summary = "Expand bitnet.fused_bitlinear into topk_sparsify, a quantizer and bitlinear";
  let description = [{
    The inverse of quantize-into-GEMM fusion: rewrites each
    `bitnet.fused_bitlinear` into its parts, for targets without a fused
    kernel and for the reference lowering.

    ```mlir
    %y = bitnet.fused_bitlinear %x, %w, %ws {act = #bitnet.act<int4_absmean>}
        : (tensor<4x64xf32>, tensor<32x64xi8>, tensor<f32>) -> tensor<4x32xf32>
    // becomes
    %q, %s = bitnet.absmean_quant %x {bits = 4 : i32} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
    %y = bitnet.bitlinear %q, %s, %w, %ws : (...) -> tensor<4x32xf32>
    ```
  }];
  let dependentDialects = ["::mlir::bitnet::BitNetDialect"];
}

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

def BitNetFoldWeights : Pass<"bitnet-fold-weights"> {
  let summary = "Quantize and pack constant BitLinear weights at compile time";
  let description = [{
    Weights are constants, so their quantization belongs to the compiler:

    - `bitnet.ternary_quant` of a float constant becomes constant i8 codes and
      a constant scale, computed exactly as the op's reference lowering would
      (same float operations, same order: bitnet/Support/TernaryQuant.h);
    - a `bitnet.bitlinear` whose weight is a constant i8 tensor gets it packed
      (`bitnet.pack_ternary`, which folds into a `bitnet.packed_constant`), so
      no BitLinear weight stays float or unpacked in the program.

    ```mlir
    %w = arith.constant dense<...> : tensor<32x64xf32>
    %c, %s = bitnet.ternary_quant %w : tensor<32x64xf32> -> tensor<32x64xi8>, tensor<f32>
    %y = bitnet.bitlinear %q, %qs, %c, %s : (...) -> tensor<4x32xf32>
    // becomes
    %s = arith.constant dense<0.0213> : tensor<f32>
    %p = bitnet.packed_constant dense<...> : tensor<32x16xi8> -> !bitnet.packed_ternary<32x64, bits2>
    %y = bitnet.bitlinear %q, %qs, %p, %s : (...) -> tensor<4x32xf32>
    ```
  }];
  let options = [
    Option<"layout", "layout", "std::string", /*default=*/"\"bits2\"",
           "packed layout of BitLinear weights: bits2 or trits5">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bitnet::BitNetDialect"];
}

//===----------------------------------------------------------------------===//
// Activation sparsity
//===----------------------------------------------------------------------===//

def BitNetGateFirstSparsity : Pass<"bitnet-gate-first-sparsity"> {
  let summary = "Skip the work that ReLU2-GLU and TopK zeros make useless";
  let description = [{
    BitNet a4.8's FFN is `down(quant(up(x) * relu(gate(x))^2))`: wherever the
    gate is not positive the product is 0, and the down projection's input
    codes are mostly zero; TopK zeroes half of the output projection's
    input. This pass makes that visible to the kernels (paper Sec. 2.2,
    DESIGN.md section 3):

    1. An elementwise chain `mul(mul(r, r), up)` with `r = max(gate, 0)` (the
       form the ONNX importer produces; operands in either order) becomes
       `bitnet.relu2_glu %gate, %up`.
    2. Gate-first: in `relu2_glu(bitlinear(...), bitlinear(...))` the up
       projection becomes `bitnet.gated_bitlinear` reading the gate, so its
       weight rows for closed channels are never read.
    3. Zero skipping: a BitLinear whose input codes quantize a `relu2_glu`
       result, or a `topk_sparsify` zeroing at least `min-topk-zeros` of its
       input, gets its weight stored column-contiguous
       (`!bitnet.packed_ternary<NxK, bits2_cols>`), for a kernel that walks
       the non-zero inputs only. On the CPU the column kernel does more
       work per weight than the row kernel and only pays from about 60%
       zeros on, so the paper's TopK 50% keeps the row layout by default.
       With `column-max-rows` N > 0, only BitLinears of at most N input
       rows (the product of the input's static leading dimensions) get the
       column layout: over a prefill chunk's rows the union of non-zero
       inputs is dense, and the row kernels are faster there. A model's
       decode and prefill entries then store the weight in both layouts.

    Every rewrite leaves the computed values unchanged (integer sums are
    exact; `0 * up` and the skipped products are zeros either way).

    ```mlir
    %g = bitnet.bitlinear %q, %s, %wg, %sg : (...) -> tensor<1x512xf32>
    %u = bitnet.bitlinear %q, %s, %wu, %su : (...) -> tensor<1x512xf32>
    %h = bitnet.relu2_glu %g, %u : tensor<1x512xf32>
    %c, %cs = bitnet.absmax_quant %h : tensor<1x512xf32> -> tensor<1x512xi8>, tensor<1xf32>
    %y = bitnet.bitlinear %c, %cs, %wd, %sd : (tensor<1x512xi8>, tensor<1xf32>, tensor<256x512xi8>, tensor<f32>) -> tensor<1x256xf32>
    // becomes
    %u = bitnet.gated_bitlinear %q, %s, %wu, %su, %g : (...) -> tensor<1x512xf32>
    %p = bitnet.pack_ternary %wd : tensor<256x512xi8> -> !bitnet.packed_ternary<256x512, bits2_cols>
    %y = bitnet.bitlinear %c, %cs, %p, %sd : (...) -> tensor<1x256xf32>
    ```
  }];
  let options = [
    Option<"gateFirst", "gate-first", "bool", /*default=*/"true",
           "compute the up projection only where relu(gate) is non-zero">,
    Option<"skipZeroInputs", "skip-zero-inputs", "bool", /*default=*/"true",
           "store weights column-contiguous behind ReLU2-GLU and TopK inputs">,
    Option<"minTopKZeros", "min-topk-zeros", "double", /*default=*/"0.6",
           "zero fraction from which a TopK input counts as sparse">,
    Option<"columnMaxRows", "column-max-rows", "int64_t", /*default=*/"0",
           "the column layout only for inputs of at most this many rows "
           "(0: any)">,
  ];
  let dependentDialects = ["::mlir::bitnet::BitNetDialect"];
}

#endif // BITNET_DIALECT_BITNET_TRANSFORMS_PASSES_TD
