// RUN: bitnet-opt %s --bitnet-fuse-elementwise --split-input-file | FileCheck %s

// RMSNorm in front of an absmax quantizer, as the importer emits it (one
// generic per ONNX node): the squares fuse into the mean, and the normalized
// activations (x * r * w, two users) are recomputed inside the quantizer's
// scale reduction and its code map instead of being stored. The per-row
// 1 / rms is not fused into the per-element product (it would be recomputed
// for every element of its row).
#row = affine_map<(d0, d1) -> (d0, d1)>
#bcast = affine_map<(d0, d1) -> (d0, 0)>
#vec = affine_map<(d0, d1) -> (d1)>
#red = affine_map<(d0, d1) -> (d0)>
#one = affine_map<(d0) -> (d0)>
// CHECK-LABEL: func.func @rmsnorm_quant
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>, %[[W:.*]]: tensor<64xf32>)
// The mean of squares reads x directly:
// CHECK: %[[MS:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<4x64xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.mulf
// CHECK-NEXT: arith.addf
// 1 / sqrt(ms / 64 + eps), once per row:
// CHECK: %[[R:.*]] = linalg.generic {{.*}} ins(%[[MS]] : tensor<4xf32>)
// CHECK: math.sqrt
// CHECK: arith.divf
// The scale: max |x * r * w|, from x:
// CHECK: %[[G:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[R]], %[[W]] : {{.*}}) outs
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK: math.absf
// CHECK: arith.maximumf
// The codes, from x as well: nothing in between is stored.
// CHECK: linalg.generic {{.*}} ins(%[[X]], %[[R]], %[[W]], %[[G]] : {{.*}}) outs({{.*}} : tensor<4x64xi8>)
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK: math.roundeven
// CHECK: arith.fptosi
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @rmsnorm_quant(%x: tensor<4x64xf32>, %w: tensor<64xf32>) -> tensor<4x64xi8> {
  %e = tensor.empty() : tensor<4x64xf32>
  %sq = linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    linalg.yield %m : f32
  } -> tensor<4x64xf32>
  %zero = arith.constant 0.0 : f32
  %er = tensor.empty() : tensor<4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%er : tensor<4xf32>) -> tensor<4xf32>
  %ms = linalg.generic {indexing_maps = [#row, #red], iterator_types = ["parallel", "reduction"]}
      ins(%sq : tensor<4x64xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  %r = linalg.generic {indexing_maps = [#one, #one], iterator_types = ["parallel"]}
      ins(%ms : tensor<4xf32>) outs(%er : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %n = arith.constant 64.0 : f32
    %eps = arith.constant 1.0e-5 : f32
    %one = arith.constant 1.0 : f32
    %mean = arith.divf %a, %n : f32
    %v = arith.addf %mean, %eps : f32
    %sqrt = math.sqrt %v : f32
    %inv = arith.divf %one, %sqrt : f32
    linalg.yield %inv : f32
  } -> tensor<4xf32>
  %xr = linalg.generic {indexing_maps = [#row, #red, #row], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r : tensor<4x64xf32>, tensor<4xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x64xf32>
  %xn = linalg.generic {indexing_maps = [#row, #vec, #row], iterator_types = ["parallel", "parallel"]}
      ins(%xr, %w : tensor<4x64xf32>, tensor<64xf32>) outs(%e : tensor<4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4x64xf32>
  %g = linalg.generic {indexing_maps = [#row, #red], iterator_types = ["parallel", "reduction"]}
      ins(%xn : tensor<4x64xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %abs = math.absf %a : f32
    %mx = arith.maximumf %o, %abs : f32
    linalg.yield %mx : f32
  } -> tensor<4xf32>
  %ec = tensor.empty() : tensor<4x64xi8>
  %codes = linalg.generic {indexing_maps = [#row, #red, #row], iterator_types = ["parallel", "parallel"]}
      ins(%xn, %g : tensor<4x64xf32>, tensor<4xf32>) outs(%ec : tensor<4x64xi8>) {
  ^bb0(%a: f32, %s: f32, %o: i8):
    %q = arith.constant 127.0 : f32
    %lo = arith.constant -128.0 : f32
    %m = arith.divf %q, %s : f32
    %v = arith.mulf %a, %m : f32
    %rd = math.roundeven %v : f32
    %c1 = arith.maximumf %rd, %lo : f32
    %c2 = arith.minimumf %c1, %q : f32
    %i = arith.fptosi %c2 : f32 to i8
    linalg.yield %i : i8
  } -> tensor<4x64xi8>
  return %codes : tensor<4x64xi8>
}

// -----

// A generic tagged for a runtime kernel keeps its operands, even one its
// body ignores (the attention kernels read `start` from it), and nothing is
// fused into or out of it.
#m3 = affine_map<(d0, d1) -> (d0, d1)>
#s = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func.func @tagged
// CHECK: %[[P:.*]] = linalg.generic
// CHECK: arith.mulf
// CHECK: %[[T:.*]] = linalg.generic {{.*}} ins(%[[P]], %arg1 : tensor<4x8xf32>, tensor<i64>) {{.*}} attrs = {bitnet.ukernel = "attn_scores_cached"}
// CHECK: linalg.generic {{.*}} ins(%[[T]] : tensor<4x8xf32>)
// CHECK: arith.negf
func.func @tagged(%x: tensor<4x8xf32>, %start: tensor<i64>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %p = linalg.generic {indexing_maps = [#m3, #m3], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    linalg.yield %m : f32
  } -> tensor<4x8xf32>
  %t = linalg.generic {indexing_maps = [#m3, #s, #m3], iterator_types = ["parallel", "parallel"]}
      ins(%p, %start : tensor<4x8xf32>, tensor<i64>) outs(%e : tensor<4x8xf32>)
      attrs = {bitnet.ukernel = "attn_scores_cached"} {
  ^bb0(%a: f32, %st: i64, %o: f32):
    %s2 = arith.addf %a, %o : f32
    linalg.yield %s2 : f32
  } -> tensor<4x8xf32>
  %n = linalg.generic {indexing_maps = [#m3, #m3], iterator_types = ["parallel", "parallel"]}
      ins(%t : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %ng = arith.negf %a : f32
    linalg.yield %ng : f32
  } -> tensor<4x8xf32>
  return %n : tensor<4x8xf32>
}

// -----

// An exp with two users is computed once and stored (softmax): only cheap
// bodies are recomputed per user.
#m4 = affine_map<(d0, d1) -> (d0, d1)>
#r4 = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @shared_exp
// CHECK: %[[E:.*]] = linalg.generic
// CHECK: math.exp
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%[[E]] : tensor<2x16xf32>)
// CHECK-NOT: math.exp
// CHECK: linalg.generic {{.*}} ins(%[[E]], %[[S]] : tensor<2x16xf32>, tensor<2xf32>)
// CHECK-NOT: math.exp
// CHECK: arith.divf
func.func @shared_exp(%x: tensor<2x16xf32>) -> tensor<2x16xf32> {
  %e = tensor.empty() : tensor<2x16xf32>
  %ex = linalg.generic {indexing_maps = [#m4, #m4], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<2x16xf32>) outs(%e : tensor<2x16xf32>) {
  ^bb0(%a: f32, %o: f32):
    %v = math.exp %a : f32
    linalg.yield %v : f32
  } -> tensor<2x16xf32>
  %zero = arith.constant 0.0 : f32
  %er = tensor.empty() : tensor<2xf32>
  %init = linalg.fill ins(%zero : f32) outs(%er : tensor<2xf32>) -> tensor<2xf32>
  %sum = linalg.generic {indexing_maps = [#m4, #r4], iterator_types = ["parallel", "reduction"]}
      ins(%ex : tensor<2x16xf32>) outs(%init : tensor<2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  } -> tensor<2xf32>
  %d = linalg.generic {indexing_maps = [#m4, #r4, #m4], iterator_types = ["parallel", "parallel"]}
      ins(%ex, %sum : tensor<2x16xf32>, tensor<2xf32>) outs(%e : tensor<2x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %q = arith.divf %a, %b : f32
    linalg.yield %q : f32
  } -> tensor<2x16xf32>
  return %d : tensor<2x16xf32>
}

// -----

// A cheap op with several users is recomputed only in sinks (reductions,
// bodies that are not cheap): a chain of residual adds stays stored, so
// later ops do not recompute (and carry the operands of) the whole chain.
#m5 = affine_map<(d0) -> (d0)>
// (x2 has one user and fuses into it; x1, used twice by cheap ops, stays.)
// CHECK-LABEL: func.func @residual_chain
// CHECK: %[[X1:.*]] = linalg.generic
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.addf
// CHECK: linalg.generic {{.*}} ins(%[[X1]], %arg2 : tensor<16xf32>, tensor<16xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: %[[S:.*]] = arith.addf
// CHECK-NEXT: arith.mulf %{{.*}}, %[[S]]
// CHECK-NOT: linalg.generic
func.func @residual_chain(%x0: tensor<16xf32>, %a1: tensor<16xf32>, %a2: tensor<16xf32>) -> tensor<16xf32> {
  %e = tensor.empty() : tensor<16xf32>
  %x1 = linalg.generic {indexing_maps = [#m5, #m5, #m5], iterator_types = ["parallel"]}
      ins(%x0, %a1 : tensor<16xf32>, tensor<16xf32>) outs(%e : tensor<16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<16xf32>
  %x2 = linalg.generic {indexing_maps = [#m5, #m5, #m5], iterator_types = ["parallel"]}
      ins(%x1, %a2 : tensor<16xf32>, tensor<16xf32>) outs(%e : tensor<16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<16xf32>
  %p = linalg.generic {indexing_maps = [#m5, #m5, #m5], iterator_types = ["parallel"]}
      ins(%x1, %x2 : tensor<16xf32>, tensor<16xf32>) outs(%e : tensor<16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<16xf32>
  return %p : tensor<16xf32>
}
