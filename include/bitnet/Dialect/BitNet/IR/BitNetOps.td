//===- BitNetOps.td - bitnet operations --------------------*- tablegen -*-===//
//
// Ops are grouped: weights (quantize, pack, unpack), activation quantizers,
// sparsification, the BitLinear family, FFN activation, KV cache.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_DIALECT_BITNET_IR_BITNETOPS_TD
#define BITNET_DIALECT_BITNET_IR_BITNETOPS_TD

include "bitnet/Dialect/BitNet/IR/BitNetTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def BitNet_F32Tensor : RankedTensorOf<[F32]>;
def BitNet_I8Tensor : RankedTensorOf<[I8]>;
def BitNet_CodeTensor : RankedTensorOf<[I8, F4E2M1FN]>;
def BitNet_ScalarF32Tensor : 0DTensorOf<[F32]>;
def BitNet_TernaryWeight
    : AnyTypeOf<[RankedTensorOf<[I8], [HasAnyRankOfPred<[2]>]>,
                 BitNet_PackedTernaryType],
                "2-D tensor of i8 ternary codes or !bitnet.packed_ternary">;

defvar BitNet_EpsAttrs = (ins DefaultValuedAttr<F32Attr, "1.0e-5">:$eps,
                             DefaultValuedAttr<BitNet_EpsModeAttr,
                                 "::mlir::bitnet::EpsMode::add">:$eps_mode,
                             DefaultValuedAttr<BitNet_MultFormAttr,
                                 "::mlir::bitnet::MultForm::div">:$mult_form);

//===----------------------------------------------------------------------===//
// Ternary weights
//===----------------------------------------------------------------------===//

def BitNet_TernaryQuantOp : BitNet_Op<"ternary_quant", [Pure]> {
  let summary = "absmean ternary quantization of a weight tensor (per tensor)";
  let description = [{
    Quantizes float weights to ternary codes with one scale for the whole
    tensor (paper Eq. 2):

    ```
    a     = mean(|W|)                        over every element
    d     = a + eps | max(a, eps)            per `eps_mode`
    codes = clip(round(W * (1 / d)), -1, 1)  as i8
    scale = d                                so that W ~= scale * codes
    ```

    With `mult_form = recip_mul` the multiplier is `(1 / d) * 1` instead
    (every quantizer has this attribute; see docs/RationaleBitNet.md). The
    mean is accumulated in f64 and rounded once to f32, so it does not
    depend on summation order. Multiplying by the reciprocal (rather than
    dividing) is what the reference BitNet code does
    (`w * (1 / mean.clamp(min=eps))`).

    Example:

    ```mlir
    %codes, %scale = bitnet.ternary_quant %w : tensor<64x128xf32> -> tensor<64x128xi8>, tensor<f32>
    ```
  }];
  let arguments = !con((ins BitNet_F32Tensor:$input), BitNet_EpsAttrs);
  let results = (outs BitNet_I8Tensor:$codes, BitNet_ScalarF32Tensor:$scale);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($codes) `,` type($scale)
  }];
  let hasVerifier = 1;
}

def BitNet_PackTernaryOp : BitNet_Op<"pack_ternary", [Pure]> {
  let summary = "pack i8 ternary codes into a packed layout";
  let description = [{
    Packs codes in {-1, 0, 1} along the last dimension into the layout named by
    the result type (see `!bitnet.packed_ternary`). Codes outside {-1, 0, 1}
    are clamped to it first. A constant operand folds into a
    `bitnet.packed_constant`.

    Example:

    ```mlir
    %p = bitnet.pack_ternary %codes : tensor<64x128xi8> -> !bitnet.packed_ternary<64x128, bits2>
    ```
  }];
  let arguments = (ins BitNet_I8Tensor:$input);
  let results = (outs BitNet_PackedTernaryType:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `->` qualified(type($result))";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def BitNet_UnpackTernaryOp : BitNet_Op<"unpack_ternary", [Pure]> {
  let summary = "unpack ternary weights to i8 codes";
  let description = [{
    The inverse of `bitnet.pack_ternary`: produces i8 codes in {-1, 0, 1} of the
    packed tensor's logical shape. `unpack(pack(x))` folds to `x` when `x` is
    known to be ternary (it comes from `bitnet.ternary_quant`).

    Example:

    ```mlir
    %codes = bitnet.unpack_ternary %p : !bitnet.packed_ternary<64x128, trits5> -> tensor<64x128xi8>
    ```
  }];
  let arguments = (ins BitNet_PackedTernaryType:$input);
  let results = (outs BitNet_I8Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `->` qualified(type($result))";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def BitNet_PackedConstantOp
    : BitNet_Op<"packed_constant", [ConstantLike, Pure]> {
  let summary = "a constant of packed ternary weights";
  let description = [{
    Holds the packed bytes of constant ternary weights, in the storage form of
    the result type (`tensor<... x P x i8>`). This is what compile-time weight
    packing leaves in the program: BitLinear weights never stay float.

    Example:

    ```mlir
    %p = bitnet.packed_constant dense<[[26, 6]]> : tensor<1x2xi8> -> !bitnet.packed_ternary<1x8, bits2>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs BitNet_PackedTernaryType:$result);
  let assemblyFormat = "$value attr-dict `->` qualified(type($result))";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Activation quantizers (per token: over the last dimension)
//===----------------------------------------------------------------------===//

class BitNet_PerTokenQuantOp<string mnemonic, string summaryText,
                             Type codeType, dag extraAttrs>
    : BitNet_Op<mnemonic, [Pure]> {
  let summary = summaryText;
  let arguments = !con((ins BitNet_F32Tensor:$input), extraAttrs,
                       BitNet_EpsAttrs);
  let results = (outs codeType:$codes, BitNet_F32Tensor:$scale);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($codes) `,` type($scale)
  }];
  let hasVerifier = 1;
}

def BitNet_AbsmaxQuantOp : BitNet_PerTokenQuantOp<"absmax_quant",
    "symmetric absmax quantization to signed integers, per token",
    BitNet_I8Tensor, (ins DefaultValuedAttr<I32Attr, "8">:$bits)> {
  let description = [{
    With `Q = 2^(bits-1) - 1` (127 for INT8; paper Eq. 3), per token:

    ```
    g     = max(|x|)                         over the last dimension
    d     = g + eps | max(g, eps)            per `eps_mode`
    codes = clip(round(x * (Q / d)), -Q-1, Q) as i8
    scale = d / Q                            so that x ~= scale * codes
    ```

    `scale` has the input's shape without its last dimension. `bits` is in
    [2, 8].

    Example:

    ```mlir
    %q, %s = bitnet.absmax_quant %x {bits = 8 : i32} : tensor<4x256xf32> -> tensor<4x256xi8>, tensor<4xf32>
    ```
  }];
}

def BitNet_AbsmeanQuantOp : BitNet_PerTokenQuantOp<"absmean_quant",
    "symmetric absmean quantization to signed integers, per token",
    BitNet_I8Tensor, (ins DefaultValuedAttr<I32Attr, "4">:$bits)> {
  let description = [{
    With `Q = 2^(bits-1) - 1` (7 for INT4; paper Eq. 7), per token:

    ```
    b     = mean(|x|)                                over the last dimension
    d     = b + eps | max(b, eps)                    per `eps_mode`
    codes = clip(round(x * (sqrt(Q) / d)), -Q-1, Q)  as i8
    scale = d / sqrt(Q)                              so that x ~= scale * codes
    ```

    `sqrt(Q)` is rounded once to f32; the mean is accumulated in f64 and
    rounded once to f32.

    Example:

    ```mlir
    %q, %s = bitnet.absmean_quant %x : tensor<4x256xf32> -> tensor<4x256xi8>, tensor<4xf32>
    ```
  }];
}

def BitNet_FP4QuantOp : BitNet_PerTokenQuantOp<"fp4_quant",
    "FP4 E2M1 MinMax quantization, per token",
    RankedTensorOf<[F4E2M1FN]>, (ins)> {
  let description = [{
    Paper Eq. 8-9 with E = 2, M = 1. Per token, the scale maps max(|x|) to 6,
    the largest E2M1 magnitude, and every element rounds to the nearest point
    of the E2M1 grid {0, 0.5, 1, 1.5, 2, 3, 4, 6} (ties to the even mantissa,
    i.e. IEEE round-half-to-even on the E2M1 format):

    ```
    g     = max(|x|)                  over the last dimension
    d     = g + eps | max(g, eps)     per `eps_mode`
    codes = rne_e2m1(x * (6 / d))     as f4E2M1FN
    scale = d / 6                     so that x ~= scale * codes
    ```

    Eq. 8's per-element exponent `2^max(floor(log2|X|) + b, 1)` with Eq. 9's
    bias is exactly this: it picks the E2M1 binade of each scaled element and
    rounds within it (docs/RationaleBitNet.md works it through). Values that
    round to zero keep their sign (code 0b1000 is -0).

    Example:

    ```mlir
    %q, %s = bitnet.fp4_quant %x : tensor<4x256xf32> -> tensor<4x256xf4E2M1FN>, tensor<4xf32>
    ```
  }];
}

def BitNet_DequantizeOp : BitNet_Op<"dequantize", [Pure]> {
  let summary = "codes times scale, back to f32";
  let description = [{
    `result = scale * codes`, the scale broadcast over the last dimension
    (per-token scales, shape = codes' shape without its last dimension) or
    over everything (a per-tensor `tensor<f32>` scale). Codes are signed i8
    integers or f4E2M1FN values.

    Example:

    ```mlir
    %x = bitnet.dequantize %q, %s : tensor<4x256xi8>, tensor<4xf32> -> tensor<4x256xf32>
    ```
  }];
  let arguments = (ins BitNet_CodeTensor:$codes, BitNet_F32Tensor:$scale);
  let results = (outs BitNet_F32Tensor:$result);
  let assemblyFormat = [{
    $codes `,` $scale attr-dict `:` type($codes) `,` type($scale) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Sparsification
//===----------------------------------------------------------------------===//

def BitNet_TopKSparsifyOp
    : BitNet_Op<"topk_sparsify", [Pure, SameOperandsAndResultType]> {
  let summary = "keep the largest-magnitude fraction of each token, zero the rest";
  let description = [{
    Paper Eq. 1's mask. Per token (last dimension, size `d`), keeps the
    `k = max(1, floor(ratio * d))` entries of largest `|x|` and sets the others
    to 0. Among equal magnitudes the lower index wins, so the result is
    deterministic. `ratio` is in (0, 1]; `ratio = 1` folds away.

    It is its own op (rather than topk + scatter) so that the BitLinear that
    consumes it can skip the zeroed columns.

    Example:

    ```mlir
    %y = bitnet.topk_sparsify %x {ratio = 5.000000e-01 : f64} : tensor<4x256xf32>
    ```
  }];
  let arguments = (ins BitNet_F32Tensor:$input, F64Attr:$ratio);
  let results = (outs BitNet_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let extraClassDeclaration = [{
    /// Entries kept per token for a last dimension of `size` elements.
    static int64_t getKeptCount(double ratio, int64_t size);
  }];
}

//===----------------------------------------------------------------------===//
// BitLinear
//===----------------------------------------------------------------------===//

def BitNet_BitLinearOp : BitNet_Op<"bitlinear", [Pure]> {
  let summary = "quantized activations times ternary weights, integer accumulation";
  let description = [{
    `y[..., n] = f32(sum_k x[..., k] * w[n, k]) * (input_scale[...] * weight_scale)`

    The input codes are i8 integers (INT8 / INT4 codes) or f4E2M1FN values; the
    weights are i8 ternary codes `[N, K]` or `!bitnet.packed_ternary<NxK, ...>`.
    For integer codes the sum is exact in i32. For FP4 codes the sum is taken
    over `2 * x` (an integer for every E2M1 value) in i32 and halved, so it is
    exact too: the only float rounding is in the final scaling.

    Example:

    ```mlir
    %y = bitnet.bitlinear %q, %s, %w, %ws
        : (tensor<4x256xi8>, tensor<4xf32>, !bitnet.packed_ternary<512x256, bits2>, tensor<f32>) -> tensor<4x512xf32>
    ```
  }];
  let arguments = (ins BitNet_CodeTensor:$input, BitNet_F32Tensor:$input_scale,
                       BitNet_TernaryWeight:$weight,
                       BitNet_ScalarF32Tensor:$weight_scale);
  let results = (outs BitNet_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $input_scale `,` $weight `,` $weight_scale attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def BitNet_GatedBitLinearOp : BitNet_Op<"gated_bitlinear", [Pure]> {
  let summary = "bitlinear computed only where a gate is positive (gate-first sparsity)";
  let description = [{
    `y[..., n] = gate[..., n] > 0 ? bitlinear(input, ...)[..., n] : 0`

    The up projection of a ReLU2-GLU after `--bitnet-gate-first-sparsity`:
    `relu(gate)^2` is zero wherever the gate is not positive, so those output
    channels of the up projection are never needed, and a kernel does not
    read their weight rows. `relu2_glu(gate, gated_bitlinear(..., gate))`
    equals `relu2_glu(gate, bitlinear(...))` (a NaN gate gives NaN either way).

    Example:

    ```mlir
    %u = bitnet.gated_bitlinear %q, %s, %w, %ws, %gate
        : (tensor<1x256xi8>, tensor<1xf32>, !bitnet.packed_ternary<512x256, bits2>, tensor<f32>, tensor<1x512xf32>) -> tensor<1x512xf32>
    ```
  }];
  let arguments = (ins BitNet_CodeTensor:$input, BitNet_F32Tensor:$input_scale,
                       BitNet_TernaryWeight:$weight,
                       BitNet_ScalarF32Tensor:$weight_scale,
                       BitNet_F32Tensor:$gate);
  let results = (outs BitNet_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $input_scale `,` $weight `,` $weight_scale `,` $gate attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def BitNet_FusedBitLinearOp : BitNet_Op<"fused_bitlinear", [Pure]> {
  let summary = "BitLinear on float activations: optional TopK, quantize, multiply";
  let description = [{
    The whole BitLinear of one projection as a single op, the unit that
    quantize-into-GEMM fusion produces and that fused kernels implement:

    ```
    x' = topk_sparsify(x, topk_ratio)     if topk_ratio is present
    q, s = <act>(x')                      int8_absmax | int4_absmean | fp4_minmax
    y  = bitlinear(q, s, weight, weight_scale)
    ```

    `eps` and `eps_mode` belong to the activation quantizer.
    `--bitnet-decompose-fused-bitlinear` expands it into those three ops.

    Example:

    ```mlir
    %y = bitnet.fused_bitlinear %x, %w, %ws {act = #bitnet.act<int8_absmax>, topk_ratio = 5.000000e-01 : f64}
        : (tensor<4x256xf32>, tensor<512x256xi8>, tensor<f32>) -> tensor<4x512xf32>
    ```
  }];
  let arguments = !con((ins BitNet_F32Tensor:$input,
                            BitNet_TernaryWeight:$weight,
                            BitNet_ScalarF32Tensor:$weight_scale,
                            BitNet_ActSchemeAttr:$act,
                            OptionalAttr<F64Attr>:$topk_ratio),
                       BitNet_EpsAttrs);
  let results = (outs BitNet_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $weight_scale attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// FFN activation
//===----------------------------------------------------------------------===//

def BitNet_ReLU2GLUOp
    : BitNet_Op<"relu2_glu", [Pure, SameOperandsAndResultType]> {
  let summary = "squared-ReLU gated linear unit: up * relu(gate)^2";
  let description = [{
    Paper Eq. 5 applied to the two projection outputs:
    `result = up * relu(gate)^2`, elementwise. Gate-first sparsity reads the
    zeros of `relu(gate)` to skip rows of the up projection.

    Example:

    ```mlir
    %h = bitnet.relu2_glu %gate, %up : tensor<4x1024xf32>
    ```
  }];
  let arguments = (ins BitNet_F32Tensor:$gate, BitNet_F32Tensor:$up);
  let results = (outs BitNet_F32Tensor:$result);
  let assemblyFormat = "$gate `,` $up attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// KV cache
//===----------------------------------------------------------------------===//

defvar BitNet_KVAttrs = (ins I32Attr:$bits, OptionalAttr<I32Attr>:$bos_bits);

def BitNet_KVQuantOp : BitNet_Op<"kv_quant", [Pure]> {
  let summary = "per-head absmax quantization of post-RoPE K/V to unsigned codes";
  let description = [{
    The input is laid out `[..., T, H, D]` (tokens, heads, head dim). Every
    head vector of `D` values gets its own scale. With `B` the bit width of the
    token (`bos_bits` for the token at absolute position 0 when `bos_bits` is
    set, else `bits`) and `Q = 2^(B-1) - 1`:

    ```
    g     = max(|x|) + eps                over the head dimension
    codes = clip(round(x * (Q / g)), -Q-1, Q) + 2^(B-1)   unsigned, as i8
    scale = g / Q
    ```

    `start` is the absolute position of the first token (0 when absent), so a
    decode step that appends at position p > 0 uses `bits` everywhere. In
    3-bit mode with `bos_bits = 4` the BOS token's heads stay at 4 bits, as
    the paper does.

    Example:

    ```mlir
    %c, %s = bitnet.kv_quant %k start %pos {bits = 3 : i32, bos_bits = 4 : i32}
        : tensor<1x16x4x64xf32> -> tensor<1x16x4x64xi8>, tensor<1x16x4xf32>
    ```
  }];
  let arguments = !con((ins BitNet_F32Tensor:$input, Optional<Index>:$start),
                       BitNet_KVAttrs,
                       (ins DefaultValuedAttr<F32Attr, "1.0e-5">:$eps));
  let results = (outs BitNet_I8Tensor:$codes, BitNet_F32Tensor:$scale);
  let assemblyFormat = [{
    $input (`start` $start^)? attr-dict `:` type($input) `->` type($codes) `,` type($scale)
  }];
  let hasVerifier = 1;
}

def BitNet_KVDequantOp : BitNet_Op<"kv_dequant", [Pure]> {
  let summary = "unsigned KV-cache codes back to f32";
  let description = [{
    The inverse of `bitnet.kv_quant` with the same `bits`, `bos_bits` and
    `start`: `result = (codes - 2^(B-1)) * scale`.

    Example:

    ```mlir
    %k = bitnet.kv_dequant %c, %s {bits = 4 : i32}
        : tensor<1x16x4x64xi8>, tensor<1x16x4xf32> -> tensor<1x16x4x64xf32>
    ```
  }];
  let arguments = !con((ins BitNet_I8Tensor:$codes, BitNet_F32Tensor:$scale,
                            Optional<Index>:$start),
                       BitNet_KVAttrs);
  let results = (outs BitNet_F32Tensor:$result);
  let assemblyFormat = [{
    $codes `,` $scale (`start` $start^)? attr-dict `:` type($codes) `,` type($scale) `->` type($result)
  }];
  let hasVerifier = 1;
}

def BitNet_CachedAttentionOp : BitNet_Op<"cached_attention", [Pure,
    AllTypesMatch<["q", "result"]>, AllTypesMatch<["k", "v"]>,
    AllTypesMatch<["k_cache", "v_cache"]>]> {
  let summary = "causal attention of new tokens over a KV cache and themselves";
  let description = [{
    One attention layer of a KV-cached step (prefill chunk or decode), as
    the ONNX importer derives it (ImporterKVCache.cpp) when the graph's
    scores reach the softmax through scale factors and a causal mask only.
    `q` is `[1, H, S, D]` (S new tokens at absolute positions `start + i`),
    `k` and `v` the new keys and values `[1, KVH, S, D]`, `k_cache` and
    `v_cache` the cached ones `[1, KVH, C, D]` (f32 or f16), `start` the
    number of filled cache rows. Query head `h` reads KV head
    `h / (H / KVH)`. Query `i` attends to cached rows `j < start` and new
    rows `t <= i`:

    ```
    s_u = scale * (q[0, h, i, :] . key_u)
    result[0, h, i, :] = sum_u softmax(s)_u * value_u
    ```

    Cache rows at or past `start` are never read. It is one op so that a
    target can run the whole of it as one kernel (bitnet-launch-attention-kernel);
    the reference lowering computes the scores, the mask and the softmax
    over the cached and new columns as the unfused import does.

    Example:

    ```mlir
    %o = bitnet.cached_attention %q, %k, %v, %kc, %vc start %pos
        {scale = 0.0883883461 : f32}
        : tensor<1x20x1x128xf32>, tensor<1x5x1x128xf32>,
          tensor<1x5x256x128xf32>, tensor<i64> -> tensor<1x20x1x128xf32>
    ```
  }];
  let arguments = (ins BitNet_F32Tensor:$q, BitNet_F32Tensor:$k,
                       BitNet_F32Tensor:$v,
                       RankedTensorOf<[F32, F16]>:$k_cache,
                       RankedTensorOf<[F32, F16]>:$v_cache,
                       0DTensorOf<[I64]>:$start, F32Attr:$scale);
  let results = (outs BitNet_F32Tensor:$result);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $k_cache `,` $v_cache `start` $start attr-dict `:`
    type($q) `,` type($k) `,` type($k_cache) `,` type($start) `->` type($result)
  }];
  let hasVerifier = 1;
}

#endif // BITNET_DIALECT_BITNET_IR_BITNETOPS_TD
