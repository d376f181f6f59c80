// RUN: bitnet-opt %s --split-input-file --bitnet-convert-to-linalg | FileCheck %s

// absmax: max-reduction of |x| over the last dim, one per-token generic for
// Q/d and d/Q, one elementwise generic that rounds half to even and clamps.
// CHECK-LABEL: func @absmax_quant
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK:   math.absf
// CHECK:   arith.maximumf
// (The multiplier's arithmetic is bitnet::buildQuantMultiplierAndScale,
// shared with the GPU kernels' prologue: its constants live in the body.)
// CHECK: %[[MS:.*]]:2 = linalg.generic
// CHECK-DAG: %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK-DAG: %[[Q:.*]] = arith.constant 1.270000e+02 : f32
// CHECK:   %[[D:.*]] = arith.addf %{{.*}}, %[[EPS]] : f32
// CHECK:   arith.divf %[[Q]], %[[D]]
// CHECK:   arith.divf %[[D]], %[[Q]]
// CHECK: %[[CODES:.*]] = linalg.generic {{.*}} ins(%arg0, %[[MS]]#0 : tensor<4x64xf32>, tensor<4xf32>) outs(%{{.*}} : tensor<4x64xi8>)
// CHECK:   arith.mulf
// CHECK:   math.roundeven
// CHECK:   arith.maximumf %{{.*}}, %{{.*}}
// CHECK:   arith.minimumf
// CHECK:   arith.fptosi %{{.*}} : f32 to i8
// CHECK: return %[[CODES]], %[[MS]]#1
// CHECK-NOT: bitnet.
func.func @absmax_quant(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4xf32>) {
  %q, %s = bitnet.absmax_quant %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  return %q, %s : tensor<4x64xi8>, tensor<4xf32>
}

// -----

// clamp(min=eps) uses maximumf instead of addf; dynamic token counts flow
// through tensor.dim.
// CHECK-LABEL: func @absmax_quant_clamp_dynamic
// CHECK: tensor.dim %arg0, %{{.*}} : tensor<?x64xf32>
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK-NOT: arith.addf
// CHECK:   arith.maximumf
// CHECK: -> tensor<?x64xi8>
func.func @absmax_quant_clamp_dynamic(%x: tensor<?x64xf32>) -> (tensor<?x64xi8>, tensor<?xf32>) {
  %q, %s = bitnet.absmax_quant %x {eps_mode = #bitnet.eps_mode<clamp>} : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<?xf32>
  return %q, %s : tensor<?x64xi8>, tensor<?xf32>
}

// -----

// mult_form = recip_mul: the multiplier is (1 / d) * Q, as exported graphs
// compute it.
// CHECK-LABEL: func @absmax_quant_recip_mul
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK:   %[[D:.*]] = arith.addf
// CHECK:   %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK:   %[[R:.*]] = arith.divf %[[ONE]], %[[D]] : f32
// CHECK:   arith.mulf %[[R]], %{{.*}} : f32
func.func @absmax_quant_recip_mul(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4xf32>) {
  %q, %s = bitnet.absmax_quant %x {mult_form = #bitnet.mult_form<recip_mul>} : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  return %q, %s : tensor<4x64xi8>, tensor<4xf32>
}

// -----

// absmean sums |x| in f64 (order-independent mean) and scales by sqrt(7).
// CHECK-LABEL: func @absmean_quant
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<4xf64>)
// CHECK:   arith.extf %{{.*}} : f32 to f64
// CHECK:   arith.addf %{{.*}} : f64
// CHECK: linalg.generic
// CHECK:   arith.divf %{{.*}} : f64
// CHECK:   arith.truncf %{{.*}} : f64 to f32
// CHECK:   arith.constant 2.64575124 : f32
// CHECK-DAG: arith.constant -8.000000e+00 : f32
// CHECK-DAG: arith.constant 7.000000e+00 : f32
// CHECK: linalg.generic
func.func @absmean_quant(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4xf32>) {
  %q, %s = bitnet.absmean_quant %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
  return %q, %s : tensor<4x64xi8>, tensor<4xf32>
}

// -----

// FP4: 6/d multiplier, grid index by midpoint comparisons (ties to even
// alternate ogt/oge), sign bit, 4-bit code bitcast to f4E2M1FN.
// CHECK-LABEL: func @fp4_quant
// CHECK: arith.constant 6.000000e+00 : f32
// CHECK: linalg.generic
// CHECK:   arith.cmpf ogt, %{{.*}}, %{{.*}} : f32
// CHECK:   arith.cmpf oge, %{{.*}}, %{{.*}} : f32
// CHECK:   arith.bitcast %{{.*}} : f32 to i32
// CHECK:   arith.trunci %{{.*}} : i32 to i4
// CHECK:   arith.bitcast %{{.*}} : i4 to f4E2M1FN
// CHECK: -> tensor<4x64xf4E2M1FN>
func.func @fp4_quant(%x: tensor<4x64xf32>) -> (tensor<4x64xf4E2M1FN>, tensor<4xf32>) {
  %q, %s = bitnet.fp4_quant %x : tensor<4x64xf32> -> tensor<4x64xf4E2M1FN>, tensor<4xf32>
  return %q, %s : tensor<4x64xf4E2M1FN>, tensor<4xf32>
}

// -----

// CHECK-LABEL: func @ternary_quant
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]
// CHECK-SAME: outs(%{{.*}} : tensor<f64>)
// CHECK: arith.constant -1.000000e+00 : f32
// CHECK: linalg.generic {{.*}} ins(%arg0, %{{.*}} : tensor<8x16xf32>, tensor<f32>)
func.func @ternary_quant(%w: tensor<8x16xf32>) -> (tensor<8x16xi8>, tensor<f32>) {
  %c, %s = bitnet.ternary_quant %w : tensor<8x16xf32> -> tensor<8x16xi8>, tensor<f32>
  return %c, %s : tensor<8x16xi8>, tensor<f32>
}

// -----

// Per-tensor scales broadcast with a map to ().
// CHECK: #[[SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func @dequantize_per_tensor
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[SCALAR]], #{{.*}}]
// CHECK:   arith.sitofp %{{.*}} : i8 to f32
// CHECK:   arith.mulf
func.func @dequantize_per_tensor(%c: tensor<8x16xi8>, %s: tensor<f32>) -> tensor<8x16xf32> {
  %d = bitnet.dequantize %c, %s : tensor<8x16xi8>, tensor<f32> -> tensor<8x16xf32>
  return %d : tensor<8x16xf32>
}

// -----

// TopK counts, per element, the entries that beat it (3 loops, 1 reduction),
// then keeps those beaten fewer than k = 32 times.
// CHECK-LABEL: func @topk_sparsify
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]{{.*}} attrs = {bitnet.ukernel = "topk_rank_f32"}
// CHECK:   linalg.index 1
// CHECK:   linalg.index 2
// CHECK:   arith.cmpf ogt
// CHECK:   arith.cmpf oeq
// CHECK: linalg.generic
// CHECK:   arith.cmpi slt
// CHECK:   arith.select
func.func @topk_sparsify(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %y = bitnet.topk_sparsify %x {ratio = 0.5 : f64} : tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

// Packed weights in a signature become their i8 storage; with 2-bit packing
// bitlinear reads the bytes directly: x grouped by 4, loops (m, n, kq, j),
// weight j of byte kq is (byte >> 2j & 3) - 1. The generic is tagged for the
// CPU kernel (bitnet-lower-ukernels).
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
// CHECK-LABEL: func @bitlinear_packed
// CHECK-SAME: %[[WARG:[a-z0-9]+]]: tensor<32x16xi8>
// CHECK: %[[XG:.*]] = tensor.expand_shape %arg0 {{\[}}[0], [1, 2]] output_shape [4, 16, 4] : tensor<4x64xi8> into tensor<4x16x4xi8>
// CHECK: %[[ACC:.*]] = linalg.generic {indexing_maps = [#[[X]], #[[W]], #{{.*}}], iterator_types = ["parallel", "parallel", "reduction", "reduction"]} ins(%[[XG]], %[[WARG]] : tensor<4x16x4xi8>, tensor<32x16xi8>) outs(%{{.*}} : tensor<4x32xi32>) attrs = {bitnet.ukernel = "bitlinear_i8_bits2"}
// CHECK:   linalg.index 3
// CHECK:   arith.shrui
// CHECK:   arith.andi
// CHECK:   arith.subi
// CHECK:   arith.muli
// CHECK: linalg.generic {{.*}} ins(%[[ACC]], %arg1, %arg3 : tensor<4x32xi32>, tensor<4xf32>, tensor<f32>)
// CHECK:   arith.sitofp %{{.*}} : i32 to f32
func.func @bitlinear_packed(%q: tensor<4x64xi8>, %s: tensor<4xf32>, %w: !bitnet.packed_ternary<32x64, bits2>, %ws: tensor<f32>) -> tensor<4x32xf32> {
  %y = bitnet.bitlinear %q, %s, %w, %ws : (tensor<4x64xi8>, tensor<4xf32>, !bitnet.packed_ternary<32x64, bits2>, tensor<f32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// K = 67 is padded with zero codes to 68 before grouping; 5-trit packing
// still unpacks the bytes first (byte k floordiv 5).
// CHECK-LABEL: func @bitlinear_packed_padded
// CHECK: tensor.pad %arg0 low[0, 0] high[0, 1]
// CHECK: tensor.expand_shape {{.*}} output_shape [2, 17, 4] : tensor<2x68xi8> into tensor<2x17x4xi8>
// CHECK-LABEL: func @bitlinear_trits5
// CHECK: linalg.generic {{.*}} ins(%arg2 : tensor<8x13xi8>) outs(%{{.*}} : tensor<8x64xi8>)
// CHECK-NOT: bitnet.ukernel
func.func @bitlinear_packed_padded(%q: tensor<2x67xi8>, %s: tensor<2xf32>, %w: !bitnet.packed_ternary<8x67, bits2>, %ws: tensor<f32>) -> tensor<2x8xf32> {
  %y = bitnet.bitlinear %q, %s, %w, %ws : (tensor<2x67xi8>, tensor<2xf32>, !bitnet.packed_ternary<8x67, bits2>, tensor<f32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
func.func @bitlinear_trits5(%q: tensor<2x64xi8>, %s: tensor<2xf32>, %w: !bitnet.packed_ternary<8x64, trits5>, %ws: tensor<f32>) -> tensor<2x8xf32> {
  %y = bitnet.bitlinear %q, %s, %w, %ws : (tensor<2x64xi8>, tensor<2xf32>, !bitnet.packed_ternary<8x64, trits5>, tensor<f32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// A packed result in a signature becomes storage too; trits5 packs with the
// base-3 slot multipliers and ceil(v * 256 / 243).
// CHECK-LABEL: func @pack_trits5
// CHECK-SAME: -> tensor<8x3xi8>
// CHECK: arith.constant dense<[81, 27, 9, 3, 1]> : tensor<5xi32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:   tensor.extract
// CHECK: linalg.generic
// CHECK:   arith.divui
func.func @pack_trits5(%c: tensor<8x13xi8>) -> !bitnet.packed_ternary<8x13, trits5> {
  %p = bitnet.pack_ternary %c : tensor<8x13xi8> -> !bitnet.packed_ternary<8x13, trits5>
  return %p : !bitnet.packed_ternary<8x13, trits5>
}

// -----

// CHECK-LABEL: func @packed_constant
// CHECK: %[[C:.*]] = arith.constant dense<{{\[\[}}26, 6]]> : tensor<1x2xi8>
// CHECK: return %[[C]] : tensor<1x2xi8>
func.func @packed_constant() -> !bitnet.packed_ternary<1x7, bits2> {
  %p = bitnet.packed_constant dense<[[26, 6]]> : tensor<1x2xi8> -> !bitnet.packed_ternary<1x7, bits2>
  return %p : !bitnet.packed_ternary<1x7, bits2>
}

// -----

// fused_bitlinear is decomposed first, then every piece is lowered (no
// bitnet op is left; `bitnet.ukernel` tags are attributes, not ops).
// CHECK-LABEL: func @fused_bitlinear
// CHECK-NOT: bitnet.{{[a-z_]+}} %
// CHECK: math.roundeven
// CHECK-NOT: bitnet.{{[a-z_]+}} %
// CHECK: return
func.func @fused_bitlinear(%x: tensor<4x64xf32>, %w: tensor<32x64xi8>, %ws: tensor<f32>) -> tensor<4x32xf32> {
  %y = bitnet.fused_bitlinear %x, %w, %ws {act = #bitnet.act<int4_absmean>, topk_ratio = 0.5 : f64}
      : (tensor<4x64xf32>, tensor<32x64xi8>, tensor<f32>) -> tensor<4x32xf32>
  return %y : tensor<4x32xf32>
}

// -----

// CHECK-LABEL: func @relu2_glu
// CHECK: linalg.generic
// CHECK:   %[[R:.*]] = arith.maximumf %{{.*}}, %{{.*}} : f32
// CHECK:   %[[SQ:.*]] = arith.mulf %[[R]], %[[R]] : f32
// CHECK:   arith.mulf %{{.*}}, %[[SQ]] : f32
func.func @relu2_glu(%g: tensor<4x64xf32>, %u: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %h = bitnet.relu2_glu %g, %u : tensor<4x64xf32>
  return %h : tensor<4x64xf32>
}

// -----

// The BOS row (absolute position start + t == 0) gets Q = 7, others Q = 3.
// CHECK-LABEL: func @kv_quant_bos
// CHECK: linalg.generic
// CHECK:   %[[T:.*]] = linalg.index 0 : index
// CHECK:   %[[POS:.*]] = arith.addi %[[T]], %arg1 : index
// CHECK:   arith.cmpi eq, %[[POS]]
// CHECK:   arith.select %{{.*}}, %{{.*}}, %{{.*}} : i32
func.func @kv_quant_bos(%k: tensor<5x2x8xf32>, %pos: index) -> (tensor<5x2x8xi8>, tensor<5x2xf32>) {
  %c, %s = bitnet.kv_quant %k start %pos {bits = 3 : i32, bos_bits = 4 : i32} : tensor<5x2x8xf32> -> tensor<5x2x8xi8>, tensor<5x2xf32>
  return %c, %s : tensor<5x2x8xi8>, tensor<5x2xf32>
}

// -----

// Without bos_bits no position is computed.
// CHECK-LABEL: func @kv_dequant_plain
// CHECK-NOT: linalg.index
// CHECK: arith.extui %{{.*}} : i8 to i32
// CHECK: arith.subi
func.func @kv_dequant_plain(%c: tensor<5x2x8xi8>, %s: tensor<5x2xf32>) -> tensor<5x2x8xf32> {
  %k = bitnet.kv_dequant %c, %s {bits = 4 : i32} : tensor<5x2x8xi8>, tensor<5x2xf32> -> tensor<5x2x8xf32>
  return %k : tensor<5x2x8xf32>
}

// -----

// Functions without bitnet ops are left as they are.
// CHECK-LABEL: func @no_bitnet
// CHECK-NEXT: %[[A:.*]] = arith.addf %arg0, %arg0 : tensor<4xf32>
// CHECK-NEXT: return %[[A]]
func.func @no_bitnet(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = arith.addf %x, %x : tensor<4xf32>
  return %a : tensor<4xf32>
}

// -----

// gated_bitlinear on 2-bit rows: the contraction reads the gate and sums
// only where it is open (tagged for the gated kernel); the scaling zeroes
// closed outputs.
// CHECK-LABEL: func @gated_bits2
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}}, %{{.*}}, %arg4 : tensor<1x16x4xi8>, tensor<32x16xi8>, tensor<1x32xf32>)
// CHECK-SAME: bitnet.ukernel = "bitlinear_i8_bits2_gated"
// CHECK: arith.cmpf ogt
// CHECK: arith.select
// CHECK: linalg.generic
// CHECK: arith.cmpf ogt
// CHECK: arith.select
func.func @gated_bits2(%q: tensor<1x64xi8>, %s: tensor<1xf32>, %w: !bitnet.packed_ternary<32x64, bits2>, %ws: tensor<f32>, %g: tensor<1x32xf32>) -> tensor<1x32xf32> {
  %y = bitnet.gated_bitlinear %q, %s, %w, %ws, %g : (tensor<1x64xi8>, tensor<1xf32>, !bitnet.packed_ternary<32x64, bits2>, tensor<f32>, tensor<1x32xf32>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// -----

// bits2_cols: the [K, NB, 64] storage read at (k, n floordiv 256, n mod 64),
// tagged for the column kernel.
// CHECK: #[[WMAP:.*]] = affine_map<(d0, d1, d2) -> (d2, d1 floordiv 256, d1 mod 64)>
// CHECK: func @cols
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[WMAP]], #{{.*}}]
// CHECK-SAME: ins(%arg0, %arg2 : tensor<2x40xi8>, tensor<40x2x64xi8>)
// CHECK-SAME: bitnet.ukernel = "bitlinear_i8_bits2_cols"
func.func @cols(%q: tensor<2x40xi8>, %s: tensor<2xf32>, %w: !bitnet.packed_ternary<300x40, bits2_cols>, %ws: tensor<f32>) -> tensor<2x300xf32> {
  %y = bitnet.bitlinear %q, %s, %w, %ws : (tensor<2x40xi8>, tensor<2xf32>, !bitnet.packed_ternary<300x40, bits2_cols>, tensor<f32>) -> tensor<2x300xf32>
  return %y : tensor<2x300xf32>
}
