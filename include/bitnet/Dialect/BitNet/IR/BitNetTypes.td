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

    Its storage form in the reference lowering is `tensor<... x P x i8>` with
    `P` the packed byte count per row.

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
