// RUN: bitnet-opt %s | bitnet-opt | FileCheck %s
// RUN: bitnet-opt %s --mlir-print-op-generic | bitnet-opt | FileCheck %s

// Round trip of every bitnet op, attribute and type.

// CHECK-LABEL: func @weights
func.func @weights(%w: tensor<64x128xf32>) -> (!bitnet.packed_ternary<64x128, bits2>, tensor<64x128xi8>) {
  // CHECK: %[[C:.*]], %[[S:.*]] = bitnet.ternary_quant %{{.*}} : tensor<64x128xf32> -> tensor<64x128xi8>, tensor<f32>
  %c, %s = bitnet.ternary_quant %w : tensor<64x128xf32> -> tensor<64x128xi8>, tensor<f32>
  // CHECK: bitnet.ternary_quant %{{.*}} {eps = 9.99999997E-7 : f32, eps_mode = #bitnet.eps_mode<clamp>}
  %c2, %s2 = bitnet.ternary_quant %w {eps = 1.0e-6 : f32, eps_mode = #bitnet.eps_mode<clamp>} : tensor<64x128xf32> -> tensor<64x128xi8>, tensor<f32>
  // CHECK: bitnet.pack_ternary %[[C]] : tensor<64x128xi8> -> !bitnet.packed_ternary<64x128, bits2>
  %p = bitnet.pack_ternary %c : tensor<64x128xi8> -> !bitnet.packed_ternary<64x128, bits2>
  // CHECK: bitnet.pack_ternary %{{.*}} : tensor<64x128xi8> -> !bitnet.packed_ternary<64x128, trits5>
  %p5 = bitnet.pack_ternary %c2 : tensor<64x128xi8> -> !bitnet.packed_ternary<64x128, trits5>
  // CHECK: bitnet.unpack_ternary %{{.*}} : !bitnet.packed_ternary<64x128, trits5> -> tensor<64x128xi8>
  %u = bitnet.unpack_ternary %p5 : !bitnet.packed_ternary<64x128, trits5> -> tensor<64x128xi8>
  return %p, %u : !bitnet.packed_ternary<64x128, bits2>, tensor<64x128xi8>
}

// CHECK-LABEL: func @packed_constant
func.func @packed_constant() -> !bitnet.packed_ternary<2x7, trits5> {
  // CHECK: bitnet.packed_constant dense<{{\[\[}}26, 6], [-128, -128]]> : tensor<2x2xi8> -> !bitnet.packed_ternary<2x7, trits5>
  %p = bitnet.packed_constant dense<[[26, 6], [-128, -128]]> : tensor<2x2xi8> -> !bitnet.packed_ternary<2x7, trits5>
  return %p : !bitnet.packed_ternary<2x7, trits5>
}

// CHECK-LABEL: func @quantizers
func.func @quantizers(%x: tensor<2x16x256xf32>) {
  // CHECK: bitnet.absmax_quant %{{.*}} : tensor<2x16x256xf32> -> tensor<2x16x256xi8>, tensor<2x16xf32>
  %a, %as = bitnet.absmax_quant %x : tensor<2x16x256xf32> -> tensor<2x16x256xi8>, tensor<2x16xf32>
  // CHECK: bitnet.absmax_quant %{{.*}} {bits = 6 : i32, eps_mode = #bitnet.eps_mode<clamp>}
  %a6, %a6s = bitnet.absmax_quant %x {bits = 6 : i32, eps_mode = #bitnet.eps_mode<clamp>} : tensor<2x16x256xf32> -> tensor<2x16x256xi8>, tensor<2x16xf32>
  // CHECK: bitnet.absmean_quant %{{.*}} : tensor<2x16x256xf32> -> tensor<2x16x256xi8>, tensor<2x16xf32>
  %b, %bs = bitnet.absmean_quant %x : tensor<2x16x256xf32> -> tensor<2x16x256xi8>, tensor<2x16xf32>
  // CHECK: bitnet.absmean_quant %{{.*}} {mult_form = #bitnet.mult_form<recip_mul>}
  %b2, %b2s = bitnet.absmean_quant %x {mult_form = #bitnet.mult_form<recip_mul>} : tensor<2x16x256xf32> -> tensor<2x16x256xi8>, tensor<2x16xf32>
  // CHECK: %[[F:.*]], %[[FS:.*]] = bitnet.fp4_quant %{{.*}} : tensor<2x16x256xf32> -> tensor<2x16x256xf4E2M1FN>, tensor<2x16xf32>
  %f, %fs = bitnet.fp4_quant %x : tensor<2x16x256xf32> -> tensor<2x16x256xf4E2M1FN>, tensor<2x16xf32>
  // CHECK: bitnet.dequantize %[[F]], %[[FS]] : tensor<2x16x256xf4E2M1FN>, tensor<2x16xf32> -> tensor<2x16x256xf32>
  %d = bitnet.dequantize %f, %fs : tensor<2x16x256xf4E2M1FN>, tensor<2x16xf32> -> tensor<2x16x256xf32>
  return
}

// CHECK-LABEL: func @dynamic_tokens
func.func @dynamic_tokens(%x: tensor<?x256xf32>, %w: !bitnet.packed_ternary<512x256, bits2>, %ws: tensor<f32>) -> tensor<?x512xf32> {
  // CHECK: bitnet.absmean_quant %{{.*}} : tensor<?x256xf32> -> tensor<?x256xi8>, tensor<?xf32>
  %q, %s = bitnet.absmean_quant %x : tensor<?x256xf32> -> tensor<?x256xi8>, tensor<?xf32>
  // CHECK: bitnet.bitlinear %{{.*}} : (tensor<?x256xi8>, tensor<?xf32>, !bitnet.packed_ternary<512x256, bits2>, tensor<f32>) -> tensor<?x512xf32>
  %y = bitnet.bitlinear %q, %s, %w, %ws : (tensor<?x256xi8>, tensor<?xf32>, !bitnet.packed_ternary<512x256, bits2>, tensor<f32>) -> tensor<?x512xf32>
  return %y : tensor<?x512xf32>
}

// CHECK-LABEL: func @gate_first_forms
func.func @gate_first_forms(%q: tensor<1x256xi8>, %s: tensor<1xf32>, %w: !bitnet.packed_ternary<512x256, bits2>, %wc: !bitnet.packed_ternary<512x256, bits2_cols>, %ws: tensor<f32>, %g: tensor<1x512xf32>) {
  // CHECK: bitnet.gated_bitlinear %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : (tensor<1x256xi8>, tensor<1xf32>, !bitnet.packed_ternary<512x256, bits2>, tensor<f32>, tensor<1x512xf32>) -> tensor<1x512xf32>
  %u = bitnet.gated_bitlinear %q, %s, %w, %ws, %g : (tensor<1x256xi8>, tensor<1xf32>, !bitnet.packed_ternary<512x256, bits2>, tensor<f32>, tensor<1x512xf32>) -> tensor<1x512xf32>
  // CHECK: bitnet.bitlinear %{{.*}} : (tensor<1x256xi8>, tensor<1xf32>, !bitnet.packed_ternary<512x256, bits2_cols>, tensor<f32>) -> tensor<1x512xf32>
  %y = bitnet.bitlinear %q, %s, %wc, %ws : (tensor<1x256xi8>, tensor<1xf32>, !bitnet.packed_ternary<512x256, bits2_cols>, tensor<f32>) -> tensor<1x512xf32>
  return
}

// CHECK-LABEL: func @sparsity_and_ffn
func.func @sparsity_and_ffn(%x: tensor<4x256xf32>, %g: tensor<4x1024xf32>, %u: tensor<4x1024xf32>) {
  // CHECK: bitnet.topk_sparsify %{{.*}} {ratio = 5.000000e-01 : f64} : tensor<4x256xf32>
  %t = bitnet.topk_sparsify %x {ratio = 0.5 : f64} : tensor<4x256xf32>
  // CHECK: bitnet.relu2_glu %{{.*}}, %{{.*}} : tensor<4x1024xf32>
  %h = bitnet.relu2_glu %g, %u : tensor<4x1024xf32>
  return
}

// CHECK-LABEL: func @bitlinear_family
func.func @bitlinear_family(%x: tensor<4x256xf32>, %q: tensor<4x256xf4E2M1FN>, %s: tensor<4xf32>,
                            %w: tensor<512x256xi8>, %ws: tensor<f32>) {
  // CHECK: bitnet.bitlinear %{{.*}} : (tensor<4x256xf4E2M1FN>, tensor<4xf32>, tensor<512x256xi8>, tensor<f32>) -> tensor<4x512xf32>
  %y = bitnet.bitlinear %q, %s, %w, %ws : (tensor<4x256xf4E2M1FN>, tensor<4xf32>, tensor<512x256xi8>, tensor<f32>) -> tensor<4x512xf32>
  // CHECK: bitnet.fused_bitlinear %{{.*}} {act = #bitnet.act<int8_absmax>, topk_ratio = 5.000000e-01 : f64}
  %y1 = bitnet.fused_bitlinear %x, %w, %ws {act = #bitnet.act<int8_absmax>, topk_ratio = 0.5 : f64} : (tensor<4x256xf32>, tensor<512x256xi8>, tensor<f32>) -> tensor<4x512xf32>
  // CHECK: bitnet.fused_bitlinear %{{.*}} {act = #bitnet.act<int4_absmean>, eps_mode = #bitnet.eps_mode<clamp>}
  %y2 = bitnet.fused_bitlinear %x, %w, %ws {act = #bitnet.act<int4_absmean>, eps_mode = #bitnet.eps_mode<clamp>} : (tensor<4x256xf32>, tensor<512x256xi8>, tensor<f32>) -> tensor<4x512xf32>
  // CHECK: bitnet.fused_bitlinear %{{.*}} {act = #bitnet.act<fp4_minmax>}
  %y3 = bitnet.fused_bitlinear %x, %w, %ws {act = #bitnet.act<fp4_minmax>} : (tensor<4x256xf32>, tensor<512x256xi8>, tensor<f32>) -> tensor<4x512xf32>
  return
}

// CHECK-LABEL: func @kv_cache
func.func @kv_cache(%k: tensor<1x16x4x64xf32>, %pos: index) {
  // CHECK: %[[C:.*]], %[[S:.*]] = bitnet.kv_quant %{{.*}} start %{{.*}} {bits = 3 : i32, bos_bits = 4 : i32} : tensor<1x16x4x64xf32> -> tensor<1x16x4x64xi8>, tensor<1x16x4xf32>
  %c, %s = bitnet.kv_quant %k start %pos {bits = 3 : i32, bos_bits = 4 : i32} : tensor<1x16x4x64xf32> -> tensor<1x16x4x64xi8>, tensor<1x16x4xf32>
  // CHECK: bitnet.kv_quant %{{.*}} {bits = 4 : i32} : tensor<1x16x4x64xf32>
  %c4, %s4 = bitnet.kv_quant %k {bits = 4 : i32} : tensor<1x16x4x64xf32> -> tensor<1x16x4x64xi8>, tensor<1x16x4xf32>
  // CHECK: bitnet.kv_dequant %[[C]], %[[S]] start %{{.*}} {bits = 3 : i32, bos_bits = 4 : i32} : tensor<1x16x4x64xi8>, tensor<1x16x4xf32> -> tensor<1x16x4x64xf32>
  %d = bitnet.kv_dequant %c, %s start %pos {bits = 3 : i32, bos_bits = 4 : i32} : tensor<1x16x4x64xi8>, tensor<1x16x4xf32> -> tensor<1x16x4x64xf32>
  return
}

// CHECK-LABEL: func @attention
func.func @attention(%q: tensor<1x4x2x32xf32>, %k: tensor<1x2x2x32xf32>, %v: tensor<1x2x2x32xf32>,
                     %kc: tensor<1x2x64x32xf16>, %vc: tensor<1x2x64x32xf16>, %start: tensor<i64>) -> tensor<1x4x2x32xf32> {
  // CHECK: bitnet.cached_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} start %{{.*}} {scale = 1.250000e-01 : f32} : tensor<1x4x2x32xf32>, tensor<1x2x2x32xf32>, tensor<1x2x64x32xf16>, tensor<i64> -> tensor<1x4x2x32xf32>
  %o = bitnet.cached_attention %q, %k, %v, %kc, %vc start %start {scale = 0.125 : f32}
      : tensor<1x4x2x32xf32>, tensor<1x2x2x32xf32>, tensor<1x2x64x32xf16>, tensor<i64> -> tensor<1x4x2x32xf32>
  return %o : tensor<1x4x2x32xf32>
}
