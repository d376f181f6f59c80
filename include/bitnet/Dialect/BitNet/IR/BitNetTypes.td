//===- BitNetTypes.td - bitnet types -----------------------*- tablegen -*-===//

#ifndef BITNET_DIALECT_BITNET_IR_BITNETTYPES_TD
#define BITNET_DIALECT_BITNET_IR_BITNETTYPES_TD

include "bitnet/Dialect/BitNet/IR/BitNetAttrs.td"

def BitNet_PackedTernaryType : TypeDef<BitNet_Dialect, "PackedTernary"> {
  let mnemonic = "packed_ternary";
  let summary = "ternary weights packed along their last dimension";
  let description = [{
    A tensor of ternary weights {-1, 0, 1} of the given logical shape, packed
    along the last (reduction) dimension `K` into bytes. The per-tensor float
    scale travels beside it as a separate `tensor<f32>` value.

    Layouts (bit-exact; `docs/RationaleBitNet.md` has the reasoning):
    - `bits2`: 4 weights per byte, `ceil(K/4)` bytes per row. Weight `j` of a
      group of four sits in bits `[2j, 2j+2)` as the code `w + 1` (0, 1, 2).
      Padding weights are 0 (code 1).
    - `trits5`: 5 weights per byte (1.6 bits per weight), `ceil(K/5)` bytes per
      row. With digits `t_j = w_j + 1`, `v = 81 t0 + 27 t1 + 9 t2 + 3 t3 + t4`
      and the byte is `ceil(v * 256 / 243)`; digit `j` comes back as
      `(((byte * 3^j) mod 256) * 3) >> 8`, which kernels evaluate with two
      multiplies and a shift. Padding weights are 0.

    - `bits2_cols`: 2-bit codes `w + 1` stored so that one input column's
      weights are contiguous, for kernels that skip zero inputs (gate-first
      sparsity's down projection, the TopK output projection). Rank 2
      (`[N, K]`) only. Each input column's weights are contiguous: output
      rows go in blocks of 256, block `b` of column `k` is 64 bytes, and its
      byte `j` holds rows `256 b + 64 p + j` (`p = 0..3`) at bits
      `[2p, 2p+2)`. Rows past `N` are 0.

    Its storage form in the reference lowering is `tensor<... x P x i8>` with
    `P` the packed byte count per row (row layouts), or
    `tensor<K x ceil(N/256) x 64 x i8>` (`bits2_cols`).

    Example:

    ```mlir
    !bitnet.packed_ternary<2560x6912, bits2>
    ```
  }];
  let parameters = (ins ArrayRefParameter<"int64_t", "logical shape">:$shape,
                        "::mlir::bitnet::TernaryLayout":$layout);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Logical number of weights along the packed (last) dimension.
    int64_t getReductionSize() const { return getShape().back(); }
    /// Number of bytes one row of `getReductionSize()` weights packs into.
    int64_t getPackedRowBytes() const;
    /// The builtin tensor type this packed tensor is stored as.
    ::mlir::RankedTensorType getStorageType() const;
  }];
}

#endif // BITNET_DIALECT_BITNET_IR_BITNETTYPES_TD
