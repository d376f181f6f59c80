//===- BitNetAttrs.td - bitnet enums and attributes --------*- tablegen -*-===//

#ifndef BITNET_DIALECT_BITNET_IR_BITNETATTRS_TD
#define BITNET_DIALECT_BITNET_IR_BITNETATTRS_TD

include "bitnet/Dialect/BitNet/IR/BitNetDialect.td"
include "mlir/IR/EnumAttr.td"

// How eps guards a scale division. Importers keep the source graph's form so
// that the quantized codes are reproduced exactly.
def BitNet_EpsModeAdd   : I32EnumAttrCase<"add", 0>;
def BitNet_EpsModeClamp : I32EnumAttrCase<"clamp", 1>;
def BitNet_EpsMode : I32EnumAttr<"EpsMode",
    "how eps guards a scale: `s + eps` or `clamp(s, min=eps)`",
    [BitNet_EpsModeAdd, BitNet_EpsModeClamp]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::bitnet";
}
def BitNet_EpsModeAttr : EnumAttr<BitNet_Dialect, BitNet_EpsMode, "eps_mode"> {
  let assemblyFormat = "`<` $value `>`";
}

// How the quantization multiplier is formed from the guarded statistic d:
// `Q / d` (one division) or `(1 / d) * Q` (what torch.onnx.export writes for
// `Q / d` on tensors). The two round differently, and codes at near-ties
// follow the multiplier's last bit.
def BitNet_MultFormDiv      : I32EnumAttrCase<"div", 0>;
def BitNet_MultFormRecipMul : I32EnumAttrCase<"recip_mul", 1>;
def BitNet_MultForm : I32EnumAttr<"MultForm",
    "how the quantization multiplier is computed: `Q / d` or `(1 / d) * Q`",
    [BitNet_MultFormDiv, BitNet_MultFormRecipMul]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::bitnet";
}
def BitNet_MultFormAttr : EnumAttr<BitNet_Dialect, BitNet_MultForm, "mult_form"> {
  let assemblyFormat = "`<` $value `>`";
}

// Packed layouts of ternary weights along the last (reduction) dimension.
def BitNet_LayoutBits2  : I32EnumAttrCase<"bits2", 0>;
def BitNet_LayoutTrits5 : I32EnumAttrCase<"trits5", 1>;
def BitNet_LayoutBits2Cols : I32EnumAttrCase<"bits2_cols", 2>;
def BitNet_TernaryLayout : I32EnumAttr<"TernaryLayout",
    "packed layout of ternary weights: 4 weights of 2 bits per byte, 5 trits per byte, or 2 bits column-contiguous",
    [BitNet_LayoutBits2, BitNet_LayoutTrits5, BitNet_LayoutBits2Cols]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::bitnet";
}
def BitNet_TernaryLayoutAttr
    : EnumAttr<BitNet_Dialect, BitNet_TernaryLayout, "layout"> {
  let assemblyFormat = "`<` $value `>`";
}

// Activation schemes of a fused BitLinear.
def BitNet_ActInt8Absmax  : I32EnumAttrCase<"int8_absmax", 0>;
def BitNet_ActInt4Absmean : I32EnumAttrCase<"int4_absmean", 1>;
def BitNet_ActFp4MinMax   : I32EnumAttrCase<"fp4_minmax", 2>;
def BitNet_ActScheme : I32EnumAttr<"ActScheme",
    "activation quantization scheme of a BitLinear input",
    [BitNet_ActInt8Absmax, BitNet_ActInt4Absmean, BitNet_ActFp4MinMax]> {
  let genSpecializedAttr = 0;
  let cppNamespace = "::mlir::bitnet";
}
def BitNet_ActSchemeAttr : EnumAttr<BitNet_Dialect, BitNet_ActScheme, "act"> {
  let assemblyFormat = "`<` $value `>`";
}

#endif // BITNET_DIALECT_BITNET_IR_BITNETATTRS_TD
